import type { TinkoffConfig } from '../../config.ts';
import { TinkoffFigiOrderSchema, type TinkoffOrder, TinkoffOrderSchema } from '../../payload.ts';
import {
  type BrokerHandlerDeps,
  type BrokerLambdaHandler,
  createBrokerHandler,
  initBrokerContainer,
} from '../broker-handler.ts';
import { TinkoffV1Client, TinkoffV2Client } from './client.ts';
import { TinkoffInstruments } from './instruments.ts';
import {
  listedOrderToTinkoffTerms,
  orderToListing,
  orderToTinkoffTerms,
  TINKOFF_NOT_CONFIGURED,
  type TinkoffOrderTerms,
  warmUpTinkoffAnswers,
} from './mapping.ts';

/** v1 has no instrument lookup, so `f` is required there. */
function tinkoffOrderSchema(config: TinkoffConfig) {
  return config.api === 'v1' ? TinkoffFigiOrderSchema : TinkoffOrderSchema;
}

/**
 * T-Invest webhook: a limit order on API v2 (`PostOrder`), or on v1 with `TINKOFF_API=v1`. An order without `f` is for
 * the instrument its ticker names in the class code of its exchange (v2 only: v1 has no instrument lookup, so `f` is
 * required there). Importing this module runs nothing.
 */
export function createTinkoffHandler(config: TinkoffConfig, deps: BrokerHandlerDeps = {}): BrokerLambdaHandler {
  return createBrokerHandler<TinkoffOrder, TinkoffOrderTerms>(
    (dispatcher) => {
      const options = { dispatcher, apiUrl: config.apiUrl };
      const instruments = new TinkoffInstruments(options);
      return {
        broker: 'tinkoff',
        orderSchema: tinkoffOrderSchema(config),
        stored: { credential: config.token, account: config.accountId },
        notConfigured: TINKOFF_NOT_CONFIGURED,
        orderTerms: async (order, access) => {
          const { figi } = order;
          if (figi !== undefined) return orderToTinkoffTerms({ ...order, figi });
          const listing = orderToListing(order, config.classCode);
          return listedOrderToTinkoffTerms(order, listing, await instruments.lookup(listing, await access()));
        },
        client: config.api === 'v1' ? new TinkoffV1Client(options) : new TinkoffV2Client(options),
        origins: [config.apiUrl],
      };
    },
    config,
    deps,
  );
}

/** Init of a T-Invest container (initBrokerContainer): a handshake with the API host, and the warm-ups. */
export function initTinkoffContainer(config: TinkoffConfig): Promise<BrokerHandlerDeps> {
  return initBrokerContainer(config, config.accountId, [config.apiUrl], {
    broker: 'tinkoff',
    orderSchema: tinkoffOrderSchema(config),
    warmUpAnswers: warmUpTinkoffAnswers,
  });
}
