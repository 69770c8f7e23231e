import { createTinkoffClient } from '#shared/brokers/tinkoff/client.ts';
import { tickerToTinkoffTicker } from '#shared/brokers/tinkoff/mapping.ts';
import { loadTinkoffConfig, type TinkoffConfig } from '#shared/config.ts';
import { readBrokerCredentials } from '#shared/credentials.ts';
import { brokerAgent } from '#shared/http/client.ts';
import { type BrokerHandlerDeps, createWebhookHandler, type WebhookHandler } from '#shared/http/handler.ts';
import { brokerRequestId } from '#shared/idempotency.ts';
import { TinkoffOrderSchema } from '#shared/payload.ts';
import { initSecretStore, SecretStore } from '#shared/secrets.ts';

const NOT_CONFIGURED = {
  credential: 'Не задан торговый токен',
  account: 'Не задан номер счёта',
};

/** T-Invest webhook: a limit order on API v2 (`PostOrder`), or on v1 with `TINKOFF_API=v1`. */
export function createTinkoffHandler(config: TinkoffConfig, deps: BrokerHandlerDeps = {}): WebhookHandler {
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
      const { figi, side, lots, price } = order;
      return tinkoff.placeLimitOrder({
        token: credential,
        accountId: account,
        order,
        requestId: brokerRequestId('tinkoff', account, idempotencyKey, { figi, side, lots, price }),
        deadline,
        dryRun: config.dryRun,
      });
    },
  });
}

const config = loadTinkoffConfig();

export const handler = createTinkoffHandler(config, { store: await initSecretStore(config, config.accountId) });
