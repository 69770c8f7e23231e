import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import type { CommonConfig } from '../config.ts';
import type { Broker } from '../facts.ts';
import { createWebhookHandler, type WebhookHandler } from '../http/inbound/webhook-handler.ts';
import { brokerAgent } from '../http/outbound/client.ts';
import type { Deadline } from '../http/outbound/deadline.ts';
import type { LogFields } from '../logging.ts';
import { SecretStore } from '../secrets.ts';
import { type BrokerCredentialSources, type NotConfiguredMessages, readBrokerCredentials } from './credentials.ts';
import type { OrderOutcome } from './outcome.ts';
import { brokerRequestId } from './request-id.ts';

/**
 * The recipe every broker module follows, in one place: read the stored credential and account (404 rows), put
 * the order in the broker's terms, name the broker request id after them, and let the broker's client place it.
 */

/** One limit order as a broker client receives it. */
export interface BrokerOrderCall<TTerms> {
  /** Alor's refresh token, T-Invest's trading token. */
  readonly credential: string;
  /** Alor's portfolio, T-Invest's account id. */
  readonly account: string;
  readonly terms: TTerms;
  /** The broker's idempotency key: Alor's `X-REQID`, T-Invest's `orderId`. */
  readonly requestId: string;
  readonly deadline: Deadline;
  /** Everything up to the order call runs; the order is not sent. */
  readonly dryRun: boolean;
}

/** Maps the order to the broker's wire format, sends it, and maps the answer to an outcome. */
export interface BrokerClient<TTerms> {
  placeLimitOrder(call: BrokerOrderCall<TTerms>): Promise<OrderOutcome>;
}

/** What a broker call before the order needs: the credential, and the request's one deadline. */
export interface BrokerAccess {
  readonly credential: string;
  readonly deadline: Deadline;
}

export interface BrokerRecipe<TOrder extends { idempotencyKey?: string | undefined }, TTerms extends LogFields> {
  readonly broker: Broker;
  readonly orderSchema: z.ZodType<TOrder>;
  /** Where the broker credential (a secret) and the account (a parameter) are stored. */
  readonly stored: BrokerCredentialSources;
  /** The contract's 404 texts. */
  readonly notConfigured: NotConfiguredMessages;
  /**
   * What the broker is asked to do, in its own terms (the instrument as sent, side, lots, price): it names the
   * broker request id, so a key reused for another order is another request, and it is what the log line shows.
   * It may ask the broker first (T-Invest: the instrument a ticker names), within the request's deadline.
   */
  readonly orderTerms: (order: TOrder, access: BrokerAccess) => TTerms | Promise<TTerms>;
  readonly client: BrokerClient<TTerms>;
}

/** What a broker handler takes from outside: tests inject a store or an undici `MockAgent`. */
export interface BrokerHandlerDeps {
  /** @default a store over the real AWS SDK clients, with the configured TTL */
  readonly store?: SecretStore;
  /** @default the container's one keep-alive agent, `brokerAgent()` of shared/http/outbound/client.ts */
  readonly dispatcher?: Dispatcher;
}

/** `recipe` is made once per handler, with the dispatcher every broker call of the container goes through. */
export function createBrokerHandler<TOrder extends { idempotencyKey?: string | undefined }, TTerms extends LogFields>(
  recipe: (dispatcher: Dispatcher) => BrokerRecipe<TOrder, TTerms>,
  config: CommonConfig,
  deps: BrokerHandlerDeps,
): WebhookHandler {
  const store = deps.store ?? new SecretStore({ ttlMs: config.secretsCacheTtlMs });
  const { broker, orderSchema, stored, notConfigured, orderTerms, client } = recipe(deps.dispatcher ?? brokerAgent());

  return createWebhookHandler({
    broker,
    config,
    store,
    orderSchema,
    placeOrder: async ({ order, idempotencyKey, deadline }) => {
      const { credential, account } = await readBrokerCredentials(store, stored, notConfigured);
      const terms = await orderTerms(order, { credential, deadline });
      const outcome = await client.placeLimitOrder({
        credential,
        account,
        terms,
        requestId: brokerRequestId(broker, account, idempotencyKey, terms),
        deadline,
        dryRun: config.dryRun,
      });
      return { outcome, terms };
    },
  });
}
