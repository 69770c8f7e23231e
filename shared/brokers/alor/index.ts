import {
  type BrokerDescription,
  type BrokerHandlerDeps,
  type BrokerLambdaHandler,
  createBrokerHandler,
  initBrokerContainer,
} from '../broker-handler.ts';
import { AlorClient } from './client.ts';
import type { AlorConfig } from './config.ts';
import { ALOR_NOT_CONFIGURED, type AlorOrderTerms, orderToAlorTerms, warmUpAlorAnswers } from './mapping.ts';
import { type AlorOrder, AlorOrderSchema } from './order.ts';

/** Alor as the recipe sees it: both hosts (OAuth for the token refresh, the API for the order), its stored values. */
function alorDescription(config: AlorConfig): BrokerDescription<AlorOrder> {
  return {
    broker: 'alor',
    orderSchema: AlorOrderSchema,
    stored: { credential: config.refreshToken, account: config.portfolio },
    notConfigured: ALOR_NOT_CONFIGURED,
    origins: [config.oauthUrl, config.apiUrl],
    warmUpAnswers: warmUpAlorAnswers,
  };
}

/** Alor webhook: refresh token → access token (cached) → limit order. Importing this module runs nothing. */
export function createAlorHandler(config: AlorConfig, deps: BrokerHandlerDeps = {}): BrokerLambdaHandler {
  return createBrokerHandler<AlorOrder, AlorOrderTerms>(
    alorDescription(config),
    (dispatcher) => ({
      orderTerms: (order) => orderToAlorTerms(order, config.exchange),
      client: new AlorClient({ dispatcher, oauthUrl: config.oauthUrl, apiUrl: config.apiUrl }),
    }),
    config,
    deps,
  );
}

/** Init of an Alor container (initBrokerContainer): handshakes with both Alor hosts (OAuth, API), and the warm-ups. */
export function initAlorContainer(config: AlorConfig): Promise<BrokerHandlerDeps> {
  return initBrokerContainer(config, alorDescription(config));
}
