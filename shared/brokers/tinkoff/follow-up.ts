import { BrokerUnavailableError } from '../../errors.ts';
import { brokerAgent } from '../../http/outbound/client.ts';
import { SecretStore } from '../../secrets.ts';
import { loadedStoreSdk } from '../../store/sdk-modules.ts';
import type { BrokerHandlerDeps } from '../broker-handler.ts';
import { createFollowUpHandler, type FollowUpHandler } from '../follow-up-handler.ts';
import { followUpQueue } from '../follow-up-queue.ts';
import { TinkoffV2Client } from './client.ts';
import type { TinkoffConfig } from './config.ts';
import { watchCalls, watchProtection } from './protection.ts';

/**
 * T-Invest's follow-up: `OrdersService/GetOrderState` by the broker's order id, with the token and account the webhook
 * uses; and the watch of a protected entry, which places its stop orders as it fills and cancels the other of a pair
 * when one executes. The retired v1 API has no such call: there a follow-up says it could not check. Importing this
 * module runs nothing.
 */
export function createTinkoffFollowUpHandler(config: TinkoffConfig, deps: BrokerHandlerDeps = {}): FollowUpHandler {
  const client = new TinkoffV2Client({ dispatcher: deps.dispatcher ?? brokerAgent(), apiUrl: config.apiUrl });
  const queue = deps.followUpQueue ?? followUpQueue(config.followUpQueueUrl);
  return createFollowUpHandler(
    {
      broker: 'tinkoff',
      stored: { credential: config.token, account: config.accountId },
      lookUp: async ({ credential, account, request, deadline }) => {
        if (config.api === 'v1') throw new BrokerUnavailableError('API v1 has no order lookup', { retriable: false });
        return client.lookUpOrder({ credential, account, orderId: request.brokerOrderId, deadline });
      },
      watch: {
        // A protected entry's watch (shared/brokers/tinkoff/protection.ts): its fills protected, its pairs watched.
        check: (job, credential, account, deadline) =>
          watchProtection(job, watchCalls(client, { credential, account, deadline }, job.instrumentId), account),
        queue,
      },
    },
    config,
    deps.store ??
      new SecretStore({ ttlMs: config.secretsCacheTtlMs, extension: config.storeExtension, sdk: loadedStoreSdk }),
  );
}
