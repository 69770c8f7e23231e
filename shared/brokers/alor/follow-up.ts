import { brokerAgent } from '../../http/outbound/client.ts';
import { SecretStore } from '../../secrets.ts';
import { loadedStoreSdk } from '../../store/sdk-modules.ts';
import type { BrokerHandlerDeps } from '../broker-handler.ts';
import { createFollowUpHandler, type FollowUpHandler } from '../follow-up-handler.ts';
import { followUpQueue } from '../follow-up-queue.ts';
import { AlorClient } from './client.ts';
import type { AlorConfig } from './config.ts';
import { watchAlorProtection } from './protection.ts';

/**
 * Alor's follow-up: the order looked up by its number (`GET /md/v2/Clients/{exchange}/{portfolio}/orders/{orderId}`),
 * with the refresh token and portfolio the webhook uses; and the watch of a protected entry, which tells what Alor's
 * servers did with its pair. Importing this module runs nothing.
 */
export function createAlorFollowUpHandler(config: AlorConfig, deps: BrokerHandlerDeps = {}): FollowUpHandler {
  const queue = deps.followUpQueue ?? followUpQueue(config.followUpQueueUrl);
  const client = new AlorClient({
    dispatcher: deps.dispatcher ?? brokerAgent(),
    oauthUrl: config.oauthUrl,
    apiUrl: config.apiUrl,
    followUpQueue: queue,
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
      watch: {
        // A protected entry's watch (shared/brokers/alor/protection.ts): what Alor's servers did with its pair.
        check: (job, credential, account, deadline) =>
          watchAlorProtection(job, client, { credential, account, deadline }),
        queue,
      },
    },
    config,
    deps.store ??
      new SecretStore({ ttlMs: config.secretsCacheTtlMs, extension: config.storeExtension, sdk: loadedStoreSdk }),
  );
}
