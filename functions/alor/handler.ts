import type { Dispatcher } from 'undici';
import { AlorClient } from '#shared/brokers/alor/client.ts';
import { orderToAlorLimitOrder, tickerToAlorSymbol } from '#shared/brokers/alor/mapping.ts';
import { type AlorConfig, loadAlorConfig } from '#shared/config.ts';
import { readBrokerCredentials } from '#shared/credentials.ts';
import { brokerAgent } from '#shared/http/client.ts';
import { createWebhookHandler, type WebhookHandler } from '#shared/http/handler.ts';
import { brokerRequestId } from '#shared/idempotency.ts';
import { AlorOrderSchema } from '#shared/payload.ts';
import { INIT_PREFETCH_MAX_WAIT_MS, SecretStore } from '#shared/secrets.ts';

const NOT_CONFIGURED = {
  credential: 'Не задан refresh-токен Alor Open API',
  account: 'Не задан портфель ФР Alor',
};

export interface AlorHandlerDeps {
  readonly store?: SecretStore;
  readonly dispatcher?: Dispatcher;
}

/** Alor webhook: refresh token → access token (cached) → limit order. */
export function createAlorHandler(config: AlorConfig, deps: AlorHandlerDeps = {}): WebhookHandler {
  const store = deps.store ?? new SecretStore({ ttlMs: config.secretsCacheTtlMs });
  const alor = new AlorClient({
    dispatcher: deps.dispatcher ?? brokerAgent(),
    oauthUrl: config.oauthUrl,
    apiUrl: config.apiUrl,
  });
  const sources = { credential: config.refreshToken, account: config.portfolio };

  return createWebhookHandler({
    broker: 'alor',
    config,
    store,
    orderSchema: AlorOrderSchema,
    describeOrder: (order) => ({
      symbol: tickerToAlorSymbol(order.ticker),
      exchange: config.exchange,
      side: order.side,
      lots: order.lots,
      price: order.price,
    }),
    placeOrder: async ({ order, idempotencyKey, deadline }) => {
      const { credential, account } = await readBrokerCredentials(store, sources, NOT_CONFIGURED);
      return alor.placeLimitOrder({
        refreshToken: credential,
        order: orderToAlorLimitOrder(order, account, config.exchange),
        requestId: brokerRequestId('alor', account, idempotencyKey),
        deadline,
        dryRun: config.dryRun,
      });
    },
  });
}

const config = loadAlorConfig();
const store = new SecretStore({ ttlMs: config.secretsCacheTtlMs });
/**
 * Init phase (module scope, once per container): the webhook secret and the Alor portfolio (an SSM parameter, not a
 * secret) are read here, in parallel, so the first invocation pays no store round trip for them: a `check` answers from
 * the cache, and the first order reads only the broker token. The broker token is deliberately NOT read here: on a 401
 * no secret but the webhook secret may be read from the store (CONTRACT.md), and a container's first call may well be
 * unauthenticated. Bounded, so a slow store cannot stall init; a read still running then is joined by the invocation
 * that needs it, and a failed one is simply read again by it. Measured by `npm run bench`.
 */
await store.prefetch({ secrets: [config.webhookSecret], parameters: [config.portfolio] }, INIT_PREFETCH_MAX_WAIT_MS);

export const handler = createAlorHandler(config, { store });
