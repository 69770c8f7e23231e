import type { AlorConfig } from '../../config.ts';
import type { WebhookHandler } from '../../http/inbound/webhook-handler.ts';
import { AlorOrderSchema } from '../../payload.ts';
import { type BrokerHandlerDeps, createBrokerHandler } from '../broker-handler.ts';
import type { NotConfiguredMessages } from '../credentials.ts';
import { AlorClient } from './client.ts';
import { orderToAlorTerms } from './mapping.ts';

/** The contract's 404 texts (docs/contract.md#no-credential, docs/contract.md#no-account). */
export const ALOR_NOT_CONFIGURED: NotConfiguredMessages = {
  credential: 'Не задан refresh-токен Alor Open API',
  account: 'Не задан портфель ФР Alor',
};

/** Alor webhook: refresh token → access token (cached) → limit order. Importing this module runs nothing. */
export function createAlorHandler(config: AlorConfig, deps: BrokerHandlerDeps = {}): WebhookHandler {
  return createBrokerHandler(
    {
      broker: 'alor',
      orderSchema: AlorOrderSchema,
      stored: { credential: config.refreshToken, account: config.portfolio },
      notConfigured: ALOR_NOT_CONFIGURED,
      orderTerms: (order) => orderToAlorTerms(order, config.exchange),
      createClient: (dispatcher) => new AlorClient({ dispatcher, oauthUrl: config.oauthUrl, apiUrl: config.apiUrl }),
    },
    config,
    deps,
  );
}
