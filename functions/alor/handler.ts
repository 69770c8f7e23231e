import { AlorClient } from '#shared/brokers/alor/client.ts';
import { orderToAlorLimitOrder, tickerToAlorSymbol } from '#shared/brokers/alor/mapping.ts';
import { type AlorConfig, loadAlorConfig } from '#shared/config.ts';
import { readBrokerCredentials } from '#shared/credentials.ts';
import { brokerAgent } from '#shared/http/client.ts';
import { type BrokerHandlerDeps, createWebhookHandler, type WebhookHandler } from '#shared/http/handler.ts';
import { brokerRequestId } from '#shared/idempotency.ts';
import { AlorOrderSchema } from '#shared/payload.ts';
import { initSecretStore, SecretStore } from '#shared/secrets.ts';

const NOT_CONFIGURED = {
  credential: 'Не задан refresh-токен Alor Open API',
  account: 'Не задан портфель ФР Alor',
};

/** Alor webhook: refresh token → access token (cached) → limit order. */
export function createAlorHandler(config: AlorConfig, deps: BrokerHandlerDeps = {}): WebhookHandler {
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
      const limitOrder = orderToAlorLimitOrder(order, account, config.exchange);
      return alor.placeLimitOrder({
        refreshToken: credential,
        order: limitOrder,
        requestId: brokerRequestId('alor', account, idempotencyKey, limitOrder),
        deadline,
        dryRun: config.dryRun,
      });
    },
  });
}

const config = loadAlorConfig();

export const handler = createAlorHandler(config, { store: await initSecretStore(config, config.portfolio) });
