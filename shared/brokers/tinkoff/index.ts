import {
  type BrokerDescription,
  type BrokerHandlerDeps,
  type BrokerLambdaHandler,
  createBrokerHandler,
  initBrokerContainer,
} from '../broker-handler.ts';
import { TinkoffV1Client, TinkoffV2Client } from './client.ts';
import type { TinkoffConfig } from './config.ts';
import { TinkoffInstruments } from './instruments.ts';
import {
  listedOrderToTinkoffTerms,
  orderToListing,
  orderToTinkoffTerms,
  TINKOFF_NOT_CONFIGURED,
  type TinkoffOrderTerms,
  warmUpTinkoffAnswers,
} from './mapping.ts';
import { TinkoffFigiOrderSchema, type TinkoffOrder, TinkoffOrderSchema } from './order.ts';

/** T-Invest as the recipe sees it: its API host, its stored values (v1 has no instrument lookup: `f` is required). */
function tinkoffDescription(config: TinkoffConfig): BrokerDescription<TinkoffOrder> {
  return {
    broker: 'tinkoff',
    orderSchema: config.api === 'v1' ? TinkoffFigiOrderSchema : TinkoffOrderSchema,
    stored: { credential: config.token, account: config.accountId },
    notConfigured: TINKOFF_NOT_CONFIGURED,
    origins: [config.apiUrl],
    warmUpAnswers: warmUpTinkoffAnswers,
  };
}

/**
 * T-Invest webhook: a limit order on API v2 (`PostOrder`), or on v1 with `TINKOFF_API=v1`. An order without `f` is for
 * the instrument its ticker names in the class code of its exchange (v2 only: v1 has no instrument lookup, so `f` is
 * required there). Importing this module runs nothing.
 */
export function createTinkoffHandler(config: TinkoffConfig, deps: BrokerHandlerDeps = {}): BrokerLambdaHandler {
  return createBrokerHandler<TinkoffOrder, TinkoffOrderTerms>(
    tinkoffDescription(config),
    (dispatcher) => {
      const options = { dispatcher, apiUrl: config.apiUrl };
      const instruments = new TinkoffInstruments(options);
      return {
        orderTerms: async (order, access) => {
          const { figi } = order;
          if (figi !== undefined) return orderToTinkoffTerms({ ...order, figi });
          const listing = orderToListing(order, config.classCode);
          return listedOrderToTinkoffTerms(order, listing, await instruments.lookup(listing, await access()));
        },
        client: config.api === 'v1' ? new TinkoffV1Client(options) : new TinkoffV2Client(options),
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
