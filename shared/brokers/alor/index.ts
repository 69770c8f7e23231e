import { InstrumentRefusedError } from '../../errors.ts';
import { orderSignal } from '../../signal.ts';
import * as z from '../../zod.ts';
import {
  type BrokerDescription,
  type BrokerHandlerDeps,
  type BrokerLambdaHandler,
  createBrokerHandler,
  initBrokerContainer,
} from '../broker-handler.ts';
import { rememberedMarketReads } from '../guards.ts';
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

/** An instrument's lot size is kept an hour per container: a `pos` in shares, a size or a guard costs one extra read an hour. */
const LOT_TTL_MS = 60 * 60_000;
const MAX_LOTS_REMEMBERED = 500;

/** Alor's part of the v2 signal recipe: the symbol and exchange as today's order names them, its lot when needed. */
function alorSignalCalls(
  client: AlorClient,
  config: AlorConfig,
): BrokerSignalCalls<AlorSignalFields, AlorInstrument, AlorSignalTerms> {
  const lots = new Remembered<{ readonly lot: number; readonly currency: string | undefined }>(MAX_LOTS_REMEMBERED);
  const instrumentKey = (instrument: AlorInstrument) => `${instrument.exchange}:${instrument.symbol}`;
  return {
    instrument: async (signal, access, needs) => {
      const symbol = tickerToAlorSymbol(signal.ticker);
      const exchange = signal.exchange ?? config.exchange;
      const inShares = signal.intent.kind === 'position' && signal.intent.unit === 'shares';
      if (!inShares && needs?.lot !== true) return { symbol, exchange };
      const key = `${exchange}:${symbol}`;
      let known = lots.get(key);
      if (known === undefined) {
        const { credential, deadline } = await access();
        known = await client.lotSize(credential, exchange, symbol, deadline);
        if (known === undefined)
          throw new InstrumentRefusedError(`Инструмент не найден: ${symbol} (${exchange})`, 'not found');
        lots.set(key, known, LOT_TTL_MS);
      }
      return { symbol, exchange, lot: known.lot, currency: known.currency };
    },
    instrumentKey,
    lot: (instrument) => instrument.lot,
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
