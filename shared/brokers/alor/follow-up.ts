import { brokerAgent } from '../../http/outbound/client.ts';
import { SecretStore } from '../../secrets.ts';
import { loadedStoreSdk } from '../../store/sdk-modules.ts';
import type { BrokerHandlerDeps } from '../broker-handler.ts';
import { createFollowUpHandler, type FollowUpHandler } from '../follow-up-handler.ts';
import { AlorClient } from './client.ts';
import type { AlorConfig } from './config.ts';

/**
 * Alor's follow-up: the order looked up by its number (`GET /md/v2/Clients/{exchange}/{portfolio}/orders/{orderId}`),
 * with the refresh token and portfolio the webhook uses. Importing this module runs nothing.
 */
export function createAlorFollowUpHandler(config: AlorConfig, deps: BrokerHandlerDeps = {}): FollowUpHandler {
  const client = new AlorClient({
    dispatcher: deps.dispatcher ?? brokerAgent(),
    oauthUrl: config.oauthUrl,
    apiUrl: config.apiUrl,
  });
  return createFollowUpHandler(
    {
      broker: 'alor',
      stored: { credential: config.refreshToken, account: config.portfolio },
      lookUp: ({ credential, account, request, deadline }) =>
        client.lookUpOrder({
          credential,
          account,
          exchange: request.order?.exchange ?? config.exchange,
          orderId: request.brokerOrderId,
          deadline,
        }),
    },
    config,
    deps.store ??
      new SecretStore({ ttlMs: config.secretsCacheTtlMs, extension: config.storeExtension, sdk: loadedStoreSdk }),
  );
}
