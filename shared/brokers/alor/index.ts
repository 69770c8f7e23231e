import { InstrumentRefusedError } from '../../errors.ts';
import * as z from '../../zod.ts';
import {
  type BrokerDescription,
  type BrokerHandlerDeps,
  type BrokerLambdaHandler,
  createBrokerHandler,
  initBrokerContainer,
} from '../broker-handler.ts';
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
    warmUpAnswers: warmUpAlorAnswers,
    signals: {
      fields: AlorSignalFieldsSchema,
      support: ALOR_SIGNAL_SUPPORT,
      exchange: (signal) => signal.exchange ?? config.exchange,
    },
  };
}

/** An instrument's lot size is kept an hour per container: a `pos` in shares costs one extra read a day or so. */
const LOT_TTL_MS = 60 * 60_000;
const MAX_LOTS_REMEMBERED = 500;

/** Alor's part of the v2 signal recipe: the symbol and exchange as today's order names them, its lot when needed. */
function alorSignalCalls(
  client: AlorClient,
  config: AlorConfig,
): BrokerSignalCalls<AlorSignalFields, AlorInstrument, AlorSignalTerms> {
  const lots = new Remembered<number>(MAX_LOTS_REMEMBERED);
  return {
    instrument: async (signal, access) => {
      const symbol = tickerToAlorSymbol(signal.ticker);
      const exchange = signal.exchange ?? config.exchange;
      if (signal.intent.kind !== 'position' || signal.intent.unit !== 'shares') return { symbol, exchange };
      const key = `${exchange}:${symbol}`;
      let lot = lots.get(key);
      if (lot === undefined) {
        const { credential, deadline } = await access();
        lot = await client.lotSize(credential, exchange, symbol, deadline);
        if (lot === undefined)
          throw new InstrumentRefusedError(`Инструмент не найден: ${symbol} (${exchange})`, 'not found');
        lots.set(key, lot, LOT_TTL_MS);
      }
      return { symbol, exchange, lot };
    },
    instrumentKey: (instrument) => `${instrument.exchange}:${instrument.symbol}`,
    lot: (instrument) => instrument.lot,
    terms: signalTermsOf,
    client,
  };
}

/** Alor webhook: refresh token → access token (cached) → limit order. Importing this module runs nothing. */
export function createAlorHandler(config: AlorConfig, deps: BrokerHandlerDeps = {}): BrokerLambdaHandler {
  return createBrokerHandler<AlorOrder, AlorOrderTerms, AlorSignalFields, AlorInstrument, AlorSignalTerms>(
    alorDescription(config),
    (dispatcher, readsDispatcher) => {
      const client = new AlorClient({ dispatcher, readsDispatcher, oauthUrl: config.oauthUrl, apiUrl: config.apiUrl });
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
