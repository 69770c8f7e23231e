import { numberToCanonicalDecimal } from '../../decimal.ts';
import { InstrumentRefusedError } from '../../errors.ts';
import { orderSignal } from '../../signal.ts';
import * as z from '../../zod.ts';
import { type BrokerLambdaHandler, initBrokerContainer } from '../container.ts';
import { followUpQueue } from '../follow-up-queue.ts';
import { rememberedMarketReads } from '../guards.ts';
import { type BrokerDescription, type BrokerHandlerDeps, createBrokerHandler } from '../order-recipe.ts';
import { Remembered } from '../remembered.ts';
import type { BrokerSignalCalls } from '../signal-recipe.ts';
import { AlorClient } from './client.ts';
import type { AlorConfig } from './config.ts';
import {
  ALOR_NOT_CONFIGURED,
  ALOR_SIGNAL_SUPPORT,
  type AlorInstrument,
  type AlorOrderTerms,
  type AlorSignalTerms,
  orderToAlorTerms,
  signalTermsOf,
  tickerToAlorSymbol,
  warmUpAlorAnswers,
} from './mapping.ts';
import { type AlorOrder, AlorOrderSchema } from './order.ts';

/** What Alor reads of a v2 body beyond the shared keys: nothing (`f` is ignored, as in today's body). */
const AlorSignalFieldsSchema = z.object({ f: z.optional(z.unknown()) });
type AlorSignalFields = z.output<typeof AlorSignalFieldsSchema>;

/** Alor as the recipe sees it: both hosts (OAuth for the token refresh, the API for the order), its stored values. */
function alorDescription(config: AlorConfig): BrokerDescription<AlorOrder, AlorSignalFields> {
  return {
    broker: 'alor',
    orderSchema: AlorOrderSchema,
    stored: { credential: config.refreshToken, account: config.portfolio },
    notConfigured: ALOR_NOT_CONFIGURED,
    origins: [config.oauthUrl, config.apiUrl],
    orderSignal: (order) => orderSignal(order, {}),
    warmUpAnswers: warmUpAlorAnswers,
    signals: {
      fields: AlorSignalFieldsSchema,
      support: ALOR_SIGNAL_SUPPORT,
      exchange: (signal) => signal.exchange ?? config.exchange,
    },
  };
}

/**
 * An instrument's lot size, price step and price currency are kept an hour per container: a `pos` in shares, a
 * protected entry, a size or a guard costs one extra read an hour.
 */
const SECURITY_TTL_MS = 60 * 60_000;
const MAX_SECURITIES_REMEMBERED = 500;

/** What a signal needs of a security: its lot, its price step and the currency of its price (sizing in roubles). */
interface SecurityFacts {
  readonly lot: number;
  readonly step: string | undefined;
  readonly currency: string | undefined;
}

/**
 * Alor's part of the v2 signal recipe: the symbol and exchange as today's order names them, and its security's lot,
 * price step and currency when the signal needs them (a `pos` in shares, a protected entry, a size or a guard).
 */
function alorSignalCalls(
  client: AlorClient,
  config: AlorConfig,
): BrokerSignalCalls<AlorSignalFields, AlorInstrument, AlorSignalTerms> {
  const securities = new Remembered<SecurityFacts>(MAX_SECURITIES_REMEMBERED);
  const instrumentKey = (instrument: AlorInstrument) => `${instrument.exchange}:${instrument.symbol}`;
  return {
    instrument: async (signal, access, needs) => {
      const symbol = tickerToAlorSymbol(signal.ticker);
      const exchange = signal.exchange ?? config.exchange;
      const shares = signal.intent.kind === 'position' && signal.intent.unit === 'shares';
      if (!shares && signal.options.protection === undefined && needs?.lot !== true) return { symbol, exchange };
      const key = `${exchange}:${symbol}`;
      let facts = securities.get(key);
      if (facts === undefined) {
        const { credential, deadline } = await access();
        const security = await client.securityOf(credential, exchange, symbol, deadline);
        if (security === undefined)
          throw new InstrumentRefusedError(`Инструмент не найден: ${symbol} (${exchange})`, 'not found');
        facts = {
          lot: security.lotsize ?? 1,
          step: numberToCanonicalDecimal(security.minstep ?? 0),
          currency: security.currency ?? undefined,
        };
        securities.set(key, facts, SECURITY_TTL_MS);
      }
      return { symbol, exchange, lot: facts.lot, step: facts.step, currency: facts.currency };
    },
    instrumentKey,
    lot: (instrument) => instrument.lot,
    step: (instrument) => instrument.step,
    terms: signalTermsOf,
    client,
    reads: rememberedMarketReads(client, {
      instrument: instrumentKey,
      portfolio: (call) => `${call.instrument.exchange}:${call.account}`,
    }),
  };
}

/** Alor webhook: refresh token → access token (cached) → limit order. Importing this module runs nothing. */
export function createAlorHandler(config: AlorConfig, deps: BrokerHandlerDeps = {}): BrokerLambdaHandler {
  return createBrokerHandler<AlorOrder, AlorOrderTerms, AlorSignalFields, AlorInstrument, AlorSignalTerms>(
    alorDescription(config),
    (dispatcher, readsDispatcher, marketReadsDispatcher) => {
      const client = new AlorClient({
        dispatcher,
        readsDispatcher,
        marketReadsDispatcher,
        oauthUrl: config.oauthUrl,
        apiUrl: config.apiUrl,
        followUpQueue: deps.followUpQueue ?? followUpQueue(config.followUpQueueUrl),
      });
      return {
        orderTerms: (order) => orderToAlorTerms(order, config.exchange),
        client,
        signals: alorSignalCalls(client, config),
      };
    },
    config,
    deps,
  );
}

/** Init of an Alor container (initBrokerContainer): handshakes with both Alor hosts (OAuth, API), and the warm-ups. */
export function initAlorContainer(config: AlorConfig): Promise<BrokerHandlerDeps> {
  return initBrokerContainer(config, alorDescription(config));
}
