import type { TinkoffConfig } from '../../config.ts';
import { TinkoffOrderSchema } from '../../payload.ts';
import {
  type BrokerHandlerDeps,
  type BrokerLambdaHandler,
  createBrokerHandler,
  initBrokerContainer,
} from '../broker-handler.ts';
import { TinkoffV1Client, TinkoffV2Client } from './client.ts';
import { orderToTinkoffTerms, TINKOFF_NOT_CONFIGURED } from './mapping.ts';

/**
 * T-Invest webhook: a limit order on API v2 (`PostOrder`), or on v1 with `TINKOFF_API=v1`. Importing this module
 * runs nothing.
 */
export function createTinkoffHandler(config: TinkoffConfig, deps: BrokerHandlerDeps = {}): BrokerLambdaHandler {
  const Client = config.api === 'v1' ? TinkoffV1Client : TinkoffV2Client;
  return createBrokerHandler(
    {
      broker: 'tinkoff',
      orderSchema: TinkoffOrderSchema,
      stored: { credential: config.token, account: config.accountId },
      notConfigured: TINKOFF_NOT_CONFIGURED,
      orderTerms: orderToTinkoffTerms,
      createClient: (dispatcher) => new Client({ dispatcher, apiUrl: config.apiUrl }),
      origins: [config.apiUrl],
    },
    config,
    deps,
  );
}

/** Init of a T-Invest container: the store prefetch, and a handshake with the API host. */
export function initTinkoffContainer(config: TinkoffConfig): Promise<BrokerHandlerDeps> {
  return initBrokerContainer(config, config.accountId, [config.apiUrl]);
}
