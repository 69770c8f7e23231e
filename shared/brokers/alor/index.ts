import type { AlorConfig } from '../../config.ts';
import type { WebhookHandler } from '../../http/inbound/webhook-handler.ts';
import { type AlorOrder, AlorOrderSchema } from '../../payload.ts';
import { type BrokerHandlerDeps, createBrokerHandler } from '../broker-handler.ts';
import { AlorClient } from './client.ts';
import { type AlorOrderTerms, orderToAlorTerms } from './mapping.ts';

/** Alor webhook: refresh token → access token (cached) → limit order. Importing this module runs nothing. */
export function createAlorHandler(config: AlorConfig, deps: BrokerHandlerDeps = {}): WebhookHandler {
  return createBrokerHandler<AlorOrder, AlorOrderTerms>(
    (dispatcher) => ({
      broker: 'alor',
      orderSchema: AlorOrderSchema,
      stored: { credential: config.refreshToken, account: config.portfolio },
      notConfigured: { credential: 'Не задан refresh-токен Alor Open API', account: 'Не задан портфель ФР Alor' },
      orderTerms: (order) => orderToAlorTerms(order, config.exchange),
      client: new AlorClient({ dispatcher, oauthUrl: config.oauthUrl, apiUrl: config.apiUrl }),
    }),
    config,
    deps,
  );
}
