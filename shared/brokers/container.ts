import type { APIGatewayProxyEventV2, Context, ScheduledEvent } from 'aws-lambda';
import type { Dispatcher } from 'undici';
import { checkWebhookSecret } from '../auth/secret.ts';
import type { CommonConfig, ValueSource } from '../config.ts';
import { describeError } from '../errors.ts';
import { MAX_KEEP_WARM_MINUTES } from '../facts.ts';
import { parseWebhookBody } from '../http/inbound/payload.ts';
import { OK_BODY, textResponse, type WebhookResponse } from '../http/inbound/response.ts';
import type { WebhookOrder } from '../http/inbound/webhook-handler.ts';
import { preconnect, reconnectIdleOrigins, warmUpHttpClient } from '../http/outbound/client.ts';
import { createDeadline, type Deadline } from '../http/outbound/deadline.ts';
import { logger, prepareLogOutput } from '../logging.ts';
import { loadStoreSdkOnDemand } from '../store/sdk-on-demand.ts';
import { isSelfTestEvent, runStoreSelfTest, type SELF_TEST_EVENT, type SelfTestReport } from '../store/self-test.ts';
import { INIT_PREFETCH_MAX_WAIT_MS, ValueStore } from '../store/value-store.ts';
import { readBrokerCredentials } from './credentials.ts';
import type { BrokerClient, BrokerDescription, BrokerHandlerDeps } from './order-recipe.ts';
import { brokerRequestId } from './request-id.ts';

/**
 * The container of a broker function, around the order (shared/brokers/order-recipe.ts): its init (the store's
 * prefetch, the handshakes, the warm-up), the keep-warm schedule's invocations, the store self-test, and the entry that
 * tells these from webhook calls.
 */

/** What a keep-warm invocation gives a broker client: the credential, and how long the container must stay ready. */
export interface KeepWarmCall {
  readonly credential: string;
  readonly deadline: Deadline;
  /** Until the next keep-warm: what the client prepares (Alor's access token) must stay valid this long. */
  readonly validForMs: number;
}

/** An order both brokers' schemas accept, for {@link warmUpSteps}. */
const WARM_UP_BODY = Buffer.from('{"t":"SBER","p":"250.5","v":1,"d":"buy","f":"BBG004730N88"}');

/**
 * The pure steps of an order, run once on a sample during a container's init: V8 compiles them and zod builds the
 * schema's parser then, instead of during the first real order; and the log output is opened then, instead of in
 * the first call's log line. No I/O, nothing logged.
 */
function warmUpSteps<TOrder extends WebhookOrder, TFields>(
  description: BrokerDescription<TOrder, TFields>,
): (() => void)[] {
  return [
    prepareLogOutput,
    () => checkWebhookSecret({ header: 'warm-up', rawBody: WARM_UP_BODY }, ['warm-up-accepted']),
    () => {
      const parsed = parseWebhookBody(WARM_UP_BODY, description.orderSchema);
      if (parsed.success && parsed.data.kind === 'order') {
        brokerRequestId(description.broker, 'warm-up', 'warm-up', parsed.data.order);
      }
    },
    description.warmUpAnswers,
  ];
}

/**
 * Runs each step in an event-loop turn of its own, so that what init waits for meanwhile (the store's answers, the
 * handshakes) is handled between steps as it arrives, not after all of them: the steps fill that wait.
 */
async function runInTurns(steps: readonly (() => void)[]): Promise<void> {
  for (const step of steps) {
    await new Promise((resolve) => setImmediate(resolve));
    step();
  }
}

/** What a keep-warm prepares must stay valid until the next one, at the longest interval the stack allows. */
const KEEP_WARM_VALID_FOR_MS = MAX_KEEP_WARM_MINUTES * 60_000;

/** An EventBridge schedule's event: only IAM can deliver one (API Gateway wraps whatever a caller sends). */
function isKeepWarmEvent(event: unknown): event is ScheduledEvent {
  const fields = event as Partial<ScheduledEvent> | null;
  return fields?.source === 'aws.events' && fields['detail-type'] === 'Scheduled Event';
}

/**
 * The function's entry: webhook calls through API Gateway, the optional keep-warm schedule, and the store self-test of
 * `npm run preflight -- --deployed` (a direct Invoke: shared/store/self-test.ts).
 */
export interface BrokerLambdaHandler {
  (event: APIGatewayProxyEventV2 | ScheduledEvent, context?: Pick<Context, 'awsRequestId'>): Promise<WebhookResponse>;
  (event: typeof SELF_TEST_EVENT, context?: Pick<Context, 'awsRequestId'>): Promise<SelfTestReport>;
}

/** What the container's own invocations work with: the broker's description, and the handler's store and client. */
export interface ContainerParts {
  readonly description: Pick<BrokerDescription<WebhookOrder>, 'broker' | 'stored' | 'notConfigured' | 'origins'>;
  readonly config: CommonConfig;
  readonly store: ValueStore;
  /** The agent every broker call of the container goes through: keep-warm reopens its idle origins. */
  readonly dispatcher: Dispatcher;
  readonly client: Pick<BrokerClient<never>, 'keepWarm'>;
}

/**
 * The function's entry: keep-warm and the store self-test handled here, every other event handed to `webhook`.
 */
export function createBrokerEntry(
  parts: ContainerParts,
  webhook: (event: APIGatewayProxyEventV2, context?: Pick<Context, 'awsRequestId'>) => Promise<WebhookResponse>,
): BrokerLambdaHandler {
  const { description, config, store, dispatcher, client } = parts;
  const { broker, stored, notConfigured, origins } = description;
  const log = logger.child({ broker });

  /**
   * Keep-warm (an IAM-invoked schedule, never the public API): a connection open to each broker origin, the values
   * the next order reads from the store in the cache, and what the client prepares ahead (Alor's access token) valid
   * until the next turn. It places nothing; a failure is logged and the next order simply does the work itself.
   */
  const keepWarm = async (): Promise<WebhookResponse> => {
    const startedAt = performance.now();
    const deadline = createDeadline(config.brokerTimeoutMs);
    const prepareClient = async () => {
      if (client.keepWarm === undefined) return;
      const { credential } = await readBrokerCredentials(store, stored, notConfigured, deadline);
      await client.keepWarm({ credential, deadline, validForMs: KEEP_WARM_VALID_FOR_MS });
    };
    // What the next order reads from the store, cached ahead: through the extension an invocation is the only time
    // it can be read (see initWebhookStore). Reads the client's preparation also makes are joined, not repeated.
    const fillStore = () =>
      store.prefetch(
        { secrets: [config.webhookSecret, stored.credential], parameters: [stored.account] },
        config.brokerTimeoutMs,
      );
    const fields = { outcome: 'keep-warm' };
    try {
      await Promise.all([
        fillStore(),
        prepareClient(),
        reconnectIdleOrigins(dispatcher, origins, config.brokerTimeoutMs),
      ]);
      log.info('keep-warm', { ...fields, latencyMs: Math.round(performance.now() - startedAt) });
    } catch (error) {
      log.warn('keep-warm', { ...fields, error: describeError(error) });
    }
    return textResponse(200, OK_BODY);
  };

  /** The store self-test: each value read once through the extension, once through the runtime's SDK. */
  const selfTest = async (): Promise<SelfTestReport> => {
    const report = await runStoreSelfTest({
      broker,
      values: { webhookSecret: config.webhookSecret, credential: stored.credential, account: stored.account },
      extension: config.storeExtension,
      sdk: loadStoreSdkOnDemand,
    });
    log.info('store self-test', { outcome: 'self-test', extension: report.extension, sdk: report.sdk });
    return report;
  };

  const handler = (event: unknown, context?: Pick<Context, 'awsRequestId'>) => {
    if (isKeepWarmEvent(event)) return keepWarm();
    if (isSelfTestEvent(event)) return selfTest();
    return webhook(event as APIGatewayProxyEventV2, context);
  };
  return handler as BrokerLambdaHandler;
}

/** A webhook function's store: through the extension when it has the layer, the SDK loaded only when needed. */
export function webhookStore(config: CommonConfig): ValueStore {
  return new ValueStore({
    ttlMs: config.secretsCacheTtlMs,
    extension: config.storeExtension,
    sdk: loadStoreSdkOnDemand,
  });
}

/**
 * The store of a webhook container. Read with the AWS SDK, it is filled during init (module scope, once per
 * container): the webhook secret and the broker account (an SSM parameter, not a secret) in parallel, so the first
 * invocation pays no store round trip for them: a `check` answers from the cache, and the first order reads only the
 * broker token. Through the Parameters and Secrets extension nothing is read during init: AWS documents that the
 * extension can be called during the INVOKE phase only, not during INIT (Systems Manager User Guide, "Using Parameter
 * Store parameters in AWS Lambda functions"), so each value is read by the first invocation that needs it, or by a
 * keep-warm. The broker token is never read here: on a 401 no secret but the webhook secret may be read from the
 * store (docs/contract.md#order-of-checks), and a container's first call may well be unauthenticated. Bounded by
 * {@link INIT_PREFETCH_MAX_WAIT_MS}, so a slow store cannot stall init.
 */
async function initWebhookStore(config: CommonConfig, account: ValueSource): Promise<ValueStore> {
  const store = webhookStore(config);
  if (config.storeExtension === undefined) {
    await store.prefetch({ secrets: [config.webhookSecret], parameters: [account] }, INIT_PREFETCH_MAX_WAIT_MS);
  }
  return store;
}

/**
 * A container's init (the module scope of functions/<broker>/handler.ts), in parallel and bounded: the store
 * prefetch when the store is read with the SDK (webhook secret and account, never the broker token; see
 * {@link initWebhookStore}), TCP+TLS to each broker origin (nothing sent), one request of the HTTP client within this
 * process ({@link warmUpHttpClient}), and the order path's warm-up in the turns between. The first order then waits
 * for no handshake, and runs compiled code.
 */
export async function initBrokerContainer<TOrder extends WebhookOrder, TFields>(
  config: CommonConfig,
  description: BrokerDescription<TOrder, TFields>,
): Promise<BrokerHandlerDeps> {
  const initStartedAt = performance.now();
  const [store] = await Promise.all([
    initWebhookStore(config, description.stored.account),
    preconnect(description.origins, INIT_PREFETCH_MAX_WAIT_MS),
    warmUpHttpClient(INIT_PREFETCH_MAX_WAIT_MS),
    runInTurns(warmUpSteps(description)),
  ]);
  return { store, initStartedAt };
}
