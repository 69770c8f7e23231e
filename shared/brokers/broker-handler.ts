import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import { checkWebhookSecret } from '../auth/secret.ts';
import type { CommonConfig, ValueSource } from '../config.ts';
import type { Broker } from '../facts.ts';
import { createWebhookHandler, type WebhookHandler } from '../http/inbound/webhook-handler.ts';
import { brokerAgent, preconnect } from '../http/outbound/client.ts';
import type { Deadline } from '../http/outbound/deadline.ts';
import type { LogFields } from '../logging.ts';
import { parseWebhookBody } from '../payload.ts';
import { INIT_PREFETCH_MAX_WAIT_MS, initSecretStore, SecretStore } from '../secrets.ts';
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
   */
  readonly orderTerms: (order: TOrder) => TTerms;
  readonly createClient: (dispatcher: Dispatcher) => BrokerClient<TTerms>;
}

/** What a broker handler takes from outside: tests inject a store or an undici `MockAgent`. */
export interface BrokerHandlerDeps {
  /** @default a store over the real AWS SDK clients, with the configured TTL */
  readonly store?: SecretStore;
  /** @default the container's one keep-alive agent, `brokerAgent()` of shared/http/outbound/client.ts */
  readonly dispatcher?: Dispatcher;
}

/** An order both brokers' schemas accept, for {@link warmUpOrderPath}. */
const WARM_UP_BODY = Buffer.from('{"t":"SBER","p":"250.5","v":1,"d":"buy","f":"BBG004730N88"}');

/**
 * Runs the pure steps of an order once, on a sample, while the handler is made (a container's init): V8 compiles
 * them and zod builds the schema's parser then, instead of during the first real order. No I/O, nothing logged.
 */
function warmUpOrderPath<TOrder extends { idempotencyKey?: string | undefined }, TTerms extends LogFields>(
  recipe: BrokerRecipe<TOrder, TTerms>,
): void {
  checkWebhookSecret({ header: 'warm-up', rawBody: WARM_UP_BODY }, ['warm-up-accepted']);
  const parsed = parseWebhookBody(WARM_UP_BODY, recipe.orderSchema);
  if (parsed.success && parsed.data.kind === 'order') {
    brokerRequestId(recipe.broker, 'warm-up', 'warm-up', recipe.orderTerms(parsed.data.order));
  }
}

export function createBrokerHandler<TOrder extends { idempotencyKey?: string | undefined }, TTerms extends LogFields>(
  recipe: BrokerRecipe<TOrder, TTerms>,
  config: CommonConfig,
  deps: BrokerHandlerDeps,
): WebhookHandler {
  const store = deps.store ?? new SecretStore({ ttlMs: config.secretsCacheTtlMs });
  const client = recipe.createClient(deps.dispatcher ?? brokerAgent());
  warmUpOrderPath(recipe);

  return createWebhookHandler({
    broker: recipe.broker,
    config,
    store,
    orderSchema: recipe.orderSchema,
    describeOrder: recipe.orderTerms,
    placeOrder: async ({ order, idempotencyKey, deadline }) => {
      const { credential, account } = await readBrokerCredentials(store, recipe.stored, recipe.notConfigured);
      const terms = recipe.orderTerms(order);
      return client.placeLimitOrder({
        credential,
        account,
        terms,
        requestId: brokerRequestId(recipe.broker, account, idempotencyKey, terms),
        deadline,
        dryRun: config.dryRun,
      });
    },
  });
}

/**
 * A container's init (the module scope of functions/<broker>/handler.ts), both halves in parallel and bounded: the
 * store prefetch (webhook secret and account, never the broker token) and TCP+TLS to each broker origin (nothing
 * sent). The first order then waits for neither a store read of those values nor a handshake.
 */
export async function initBrokerContainer(
  config: CommonConfig,
  account: ValueSource,
  brokerOrigins: readonly string[],
): Promise<BrokerHandlerDeps> {
  const [store] = await Promise.all([
    initSecretStore(config, account),
    preconnect(brokerOrigins, INIT_PREFETCH_MAX_WAIT_MS),
  ]);
  return { store };
}
