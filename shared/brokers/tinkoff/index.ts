import { orderSignal } from '../../signal.ts';
import * as z from '../../zod.ts';
import { type BrokerLambdaHandler, initBrokerContainer } from '../container.ts';
import { followUpQueue } from '../follow-up-queue.ts';
import { rememberedMarketReads } from '../guards.ts';
import { type BrokerDescription, type BrokerHandlerDeps, createBrokerHandler } from '../order-recipe.ts';
import type { BrokerSignalCalls } from '../signal-recipe.ts';
import { TinkoffV1Client, TinkoffV2Client } from './client.ts';
import type { TinkoffConfig } from './config.ts';
import { TinkoffInstruments } from './instruments.ts';
import {
  foundToSignalInstrument,
  instrumentIdToRequest,
  instrumentOfId,
  listedOrderToTinkoffTerms,
  listingToInstrumentRequest,
  orderToListing,
  orderToTinkoffTerms,
  signalTermsOf,
  TINKOFF_NOT_CONFIGURED,
  TINKOFF_SIGNAL_SUPPORT,
  type TinkoffInstrument,
  type TinkoffOrderTerms,
  type TinkoffSignalTerms,
  warmUpTinkoffAnswers,
} from './mapping.ts';
import { InstrumentIdSchema, TinkoffFigiOrderSchema, type TinkoffOrder, TinkoffOrderSchema } from './order.ts';

/** What T-Invest reads of a v2 body beyond the shared keys: `f`, the instrument, as in today's body. */
const TinkoffSignalFieldsSchema = z.object({ f: z.optional(InstrumentIdSchema) });
type TinkoffSignalFields = z.output<typeof TinkoffSignalFieldsSchema>;

/** T-Invest as the recipe sees it: its API host, its stored values (v1 has no instrument lookup: `f` is required). */
function tinkoffDescription(config: TinkoffConfig): BrokerDescription<TinkoffOrder, TinkoffSignalFields> {
  return {
    broker: 'tinkoff',
    orderSchema: config.api === 'v1' ? TinkoffFigiOrderSchema : TinkoffOrderSchema,
    stored: { credential: config.token, account: config.accountId },
    notConfigured: TINKOFF_NOT_CONFIGURED,
    origins: [config.apiUrl],
    orderSignal: (order) => orderSignal(order, { f: order.figi }),
    warmUpAnswers: warmUpTinkoffAnswers,
    // API v1 has no positions, active orders or market orders: it takes no v2 signals.
    signals:
      config.api === 'v1'
        ? undefined
        : {
            fields: TinkoffSignalFieldsSchema,
            support: TINKOFF_SIGNAL_SUPPORT,
            exchange: (signal) => signal.exchange ?? 'MOEX',
          },
  };
}

/**
 * T-Invest's part of the v2 signal recipe. The instrument is asked of T-Invest (and remembered) whenever the signal
 * needs more of it than `f`: its uid and lot for a position, its uid for a ticker; an order or a cancel with `f` sends
 * `f` as it is, as today's order does.
 */
function tinkoffSignalCalls(
  client: TinkoffV2Client,
  instruments: TinkoffInstruments,
  config: TinkoffConfig,
): BrokerSignalCalls<TinkoffSignalFields, TinkoffInstrument, TinkoffSignalTerms> {
  return {
    instrument: async (signal, access, needs) => {
      const { f } = signal.fields;
      // A position needs the lot; a protected entry the lot (its position) and the price step; a size or a guard what
      // it reads (`needs`).
      const needsLot =
        signal.intent.kind === 'position' ||
        signal.intent.kind === 'close' ||
        signal.options.protection !== undefined ||
        needs?.lot === true ||
        needs?.position === true;
      if (f !== undefined && !needsLot) return instrumentOfId(f);
      if (f !== undefined)
        return foundToSignalInstrument(await instruments.instrument(instrumentIdToRequest(f), await access()), {
          id: f,
        });
      const listing = orderToListing(signal, config.classCode);
      const found = await instruments.instrument(listingToInstrumentRequest(listing), await access());
      return foundToSignalInstrument(found, { listing });
    },
    instrumentKey: (instrument) => instrument.uid ?? instrument.id,
    lot: (instrument) => instrument.lot,
    step: (instrument) => instrument.step,
    terms: signalTermsOf,
    client,
    reads: rememberedMarketReads(client, {
      instrument: (instrument) => instrument.uid ?? instrument.id,
      portfolio: (call) => call.account,
    }),
  };
}

/**
 * T-Invest webhook: a limit order on API v2 (`PostOrder`), or on v1 with `TINKOFF_API=v1`. An order without `f` is for
 * the instrument its ticker names in the class code of its exchange (v2 only: v1 has no instrument lookup, so `f` is
 * required there). Importing this module runs nothing.
 */
export function createTinkoffHandler(config: TinkoffConfig, deps: BrokerHandlerDeps = {}): BrokerLambdaHandler {
  return createBrokerHandler<
    TinkoffOrder,
    TinkoffOrderTerms,
    TinkoffSignalFields,
    TinkoffInstrument,
    TinkoffSignalTerms
  >(
    tinkoffDescription(config),
    (dispatcher, readsDispatcher, marketReadsDispatcher) => {
      const options = { dispatcher, apiUrl: config.apiUrl };
      const instruments = new TinkoffInstruments(options);
      const v2 = new TinkoffV2Client({
        ...options,
        readsDispatcher,
        marketReadsDispatcher,
        followUpQueue: deps.followUpQueue ?? followUpQueue(config.followUpQueueUrl),
      });
      return {
        orderTerms: async (order, access) => {
          const { figi } = order;
          if (figi !== undefined) return orderToTinkoffTerms({ ...order, figi });
          const listing = orderToListing(order, config.classCode);
          return listedOrderToTinkoffTerms(order, listing, await instruments.lookup(listing, await access()));
        },
        client: config.api === 'v1' ? new TinkoffV1Client(options) : v2,
        signals: config.api === 'v1' ? undefined : tinkoffSignalCalls(v2, instruments, config),
      };
    },
    config,
    deps,
  );
}

/** Init of a T-Invest container (initBrokerContainer): a handshake with the API host, and the warm-ups. */
export function initTinkoffContainer(config: TinkoffConfig): Promise<BrokerHandlerDeps> {
  return initBrokerContainer(config, tinkoffDescription(config));
}
