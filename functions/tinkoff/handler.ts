import type { Dispatcher } from 'undici';
import { createTinkoffClient } from '#shared/brokers/tinkoff/client.ts';
import { tickerToTinkoffTicker } from '#shared/brokers/tinkoff/mapping.ts';
import { loadTinkoffConfig, type TinkoffConfig } from '#shared/config.ts';
import { readBrokerCredentials } from '#shared/credentials.ts';
import { brokerAgent } from '#shared/http/client.ts';
import { createWebhookHandler, type WebhookHandler } from '#shared/http/handler.ts';
import { brokerRequestId } from '#shared/idempotency.ts';
import { TinkoffOrderSchema } from '#shared/payload.ts';
import { INIT_PREFETCH_MAX_WAIT_MS, SecretStore } from '#shared/secrets.ts';

const NOT_CONFIGURED = {
  credential: 'Не задан торговый токен',
  account: 'Не задан номер счёта',
};

export interface TinkoffHandlerDeps {
  readonly store?: SecretStore;
  readonly dispatcher?: Dispatcher;
}

/** T-Invest webhook: a limit order on API v2 (`PostOrder`), or on v1 with `TINKOFF_API=v1`. */
export function createTinkoffHandler(config: TinkoffConfig, deps: TinkoffHandlerDeps = {}): WebhookHandler {
  const store = deps.store ?? new SecretStore({ ttlMs: config.secretsCacheTtlMs });
  const tinkoff = createTinkoffClient(config.api, {
    dispatcher: deps.dispatcher ?? brokerAgent(),
    apiUrl: config.apiUrl,
  });
  const sources = { credential: config.token, account: config.accountId };

  return createWebhookHandler({
    broker: 'tinkoff',
    config,
    store,
    orderSchema: TinkoffOrderSchema,
    describeOrder: (order) => ({
      ticker: tickerToTinkoffTicker(order.ticker),
      figi: order.figi,
      side: order.side,
      lots: order.lots,
      price: order.price,
    }),
    placeOrder: async ({ order, idempotencyKey, deadline }) => {
      const { credential, account } = await readBrokerCredentials(store, sources, NOT_CONFIGURED);
      return tinkoff.placeLimitOrder({
        token: credential,
        accountId: account,
        order,
        requestId: brokerRequestId('tinkoff', account, idempotencyKey),
        deadline,
        dryRun: config.dryRun,
      });
    },
  });
}

const config = loadTinkoffConfig();
const store = new SecretStore({ ttlMs: config.secretsCacheTtlMs });
/**
 * Init phase (module scope, once per container): the webhook secret and the T-Invest account id (an SSM parameter, not
 * a secret) are read here, in parallel, so the first invocation pays no store round trip for them: a `check` answers
 * from the cache, and the first order reads only the broker token. The broker token is deliberately NOT read here: on a
 * 401 no secret but the webhook secret may be read from the store (CONTRACT.md), and a container's first call may well
 * be unauthenticated. Bounded, so a slow store cannot stall init; a read still running then is joined by the invocation
 * that needs it, and a failed one is simply read again by it. Measured by `npm run bench`.
 */
await store.prefetch({ secrets: [config.webhookSecret], parameters: [config.accountId] }, INIT_PREFETCH_MAX_WAIT_MS);

export const handler = createTinkoffHandler(config, { store });
