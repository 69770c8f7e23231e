import type { AlorConfig } from '../../config.ts';
import type { WebhookHandler } from '../../http/inbound/webhook-handler.ts';
import { AlorOrderSchema } from '../../payload.ts';
import { type BrokerHandlerDeps, createBrokerHandler } from '../broker-handler.ts';
import { AlorClient } from './client.ts';
import { ALOR_NOT_CONFIGURED, orderToAlorTerms } from './mapping.ts';

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
