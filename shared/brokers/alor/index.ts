import type { AlorConfig } from '../../config.ts';
import { type AlorOrder, AlorOrderSchema } from '../../payload.ts';
import {
  type BrokerHandlerDeps,
  type BrokerLambdaHandler,
  createBrokerHandler,
  initBrokerContainer,
} from '../broker-handler.ts';
import { AlorClient } from './client.ts';
import { ALOR_NOT_CONFIGURED, type AlorOrderTerms, orderToAlorTerms, warmUpAlorAnswers } from './mapping.ts';

/** Alor's two hosts: OAuth (the token refresh) and the API (the order). */
function alorOrigins(config: AlorConfig): string[] {
  return [config.oauthUrl, config.apiUrl];
}

/** Alor webhook: refresh token → access token (cached) → limit order. Importing this module runs nothing. */
export function createAlorHandler(config: AlorConfig, deps: BrokerHandlerDeps = {}): BrokerLambdaHandler {
  return createBrokerHandler<AlorOrder, AlorOrderTerms>(
    (dispatcher) => ({
      broker: 'alor',
      orderSchema: AlorOrderSchema,
      stored: { credential: config.refreshToken, account: config.portfolio },
      notConfigured: ALOR_NOT_CONFIGURED,
      orderTerms: (order) => orderToAlorTerms(order, config.exchange),
      client: new AlorClient({ dispatcher, oauthUrl: config.oauthUrl, apiUrl: config.apiUrl }),
      origins: alorOrigins(config),
    }),
    config,
    deps,
  );
}

/** Init of an Alor container (initBrokerContainer): handshakes with both Alor hosts (OAuth, API), and the warm-ups. */
export function initAlorContainer(config: AlorConfig): Promise<BrokerHandlerDeps> {
  return initBrokerContainer(config, config.portfolio, alorOrigins(config), {
    broker: 'alor',
    orderSchema: AlorOrderSchema,
    warmUpAnswers: warmUpAlorAnswers,
  });
}
