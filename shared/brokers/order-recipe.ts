import type { Dispatcher } from 'undici';
import { type CommonConfig, closesUnprotected } from '../config.ts';
import type { Broker, SignalExchange } from '../facts.ts';
import { createWebhookHandler, type SignalHandling, type WebhookOrder } from '../http/inbound/webhook-handler.ts';
import { brokerAgent, marketReadsAgent, stateReadsAgent } from '../http/outbound/client.ts';
import type { Deadline } from '../http/outbound/deadline.ts';
import { DynamoDbClient } from '../lock/dynamodb.ts';
import { DynamoOrderCounter, MemoryOrderCounter, type OrderCounter } from '../lock/order-counter.ts';
import { DynamoLeaseStore, LeasedPositionLock, MemoryLeaseStore, type PositionLock } from '../lock/position-lock.ts';
import type { LogFields } from '../logging.ts';
import {
  parseProtectedOrder,
  parseSignal,
  type Signal,
  type SignalSupport,
  signalCapabilities,
  unsupportedBy,
} from '../signal.ts';
import type { ValueStore } from '../store/value-store.ts';
import type * as z from '../zod.ts';
import { type BrokerLambdaHandler, createBrokerEntry, type KeepWarmCall, webhookStore } from './container.ts';
import { type BrokerCredentialSources, type NotConfiguredMessages, readBrokerCredentials } from './credentials.ts';
import type { FollowUpQueue } from './follow-up-queue.ts';
import {
  type GuardContext,
  GuardRun,
  guardNeeds,
  instrumentNeeds,
  readKillSwitch,
  readsInstrument,
  readsNothing,
} from './guards.ts';
import type { OrderOutcome } from './outcome.ts';
import { brokerRequestId } from './request-id.ts';
import {
  type BrokerSignalCalls,
  createSignalRecipe,
  type InstrumentCall,
  type InstrumentNeeds,
} from './signal-recipe.ts';

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
  /** Keep-warm work beyond open connections, if the broker has any (Alor: a fresh access token). */
  keepWarm?(call: KeepWarmCall): Promise<void>;
}

/** What a broker call before the order needs: the credential, and the request's one deadline. */
export interface CredentialedCall {
  readonly credential: string;
  readonly deadline: Deadline;
}

/** How a broker reads v2 signals and what it offers them: pure, made once from the configuration. */
export interface BrokerSignalDescription<TFields> {
  /** What only this broker reads of a v2 body (T-Invest's `f`). */
  readonly fields: z.ZodMiniType<TFields>;
  readonly support: SignalSupport;
  /** Where the signal would trade: the exchange `t` names, or the broker's configured one. */
  readonly exchange: (signal: Signal<TFields>) => SignalExchange;
}

/**
 * What a broker is to the recipe, apart from its connections: made once from the configuration, it serves the
 * container's init (the origins to open, the samples to warm up on) and its handler alike.
 */
export interface BrokerDescription<TOrder extends WebhookOrder, TFields = unknown> {
  readonly broker: Broker;
  readonly orderSchema: z.ZodMiniType<TOrder>;
  /** Where the broker credential (a secret) and the account (a parameter) are stored. */
  readonly stored: BrokerCredentialSources;
  /** The contract's 404 texts. */
  readonly notConfigured: NotConfiguredMessages;
  /** The broker origins the client calls: opened during init and kept open by keep-warm. */
  readonly origins: readonly string[];
  /** Reads the broker's success answers once on samples, so the first order runs warm code ({@link warmUpSteps}). */
  readonly warmUpAnswers: () => void;
  /** Unset: the function takes no v2 signals (T-Invest API v1). */
  readonly signals?: BrokerSignalDescription<TFields> | undefined;
  /** Today's order as a v2 signal reads it (an order of `d` and `v` at `p`): what its guards check. */
  readonly orderSignal: (order: TOrder) => Signal<TFields>;
}

/** The parts of an order that call the broker, made with the dispatcher all of the container's broker calls use. */
export interface BrokerCalls<
  TOrder extends WebhookOrder,
  TTerms extends LogFields,
  TFields = unknown,
  TInstrument = unknown,
  TSignalTerms extends LogFields = LogFields,
> {
  /**
   * What the broker is asked to do, in its own terms (the instrument as sent, side, lots, price): it names the
   * broker request id, so a key reused for another order is another request, and it is what the log line shows.
   * It may ask the broker first (T-Invest: the instrument a ticker names), within the request's deadline; `access`
   * reads the credential then. Terms that need no broker call are known before the credential is read, so the log
   * line of a failure to read it (404, 500) still says which order it was.
   */
  readonly orderTerms: (order: TOrder, access: () => Promise<CredentialedCall>) => TTerms | Promise<TTerms>;
  readonly client: BrokerClient<TTerms>;
  /** The broker's part of the v2 signal recipe (shared/brokers/signal-recipe.ts), with its description's `signals`. */
  readonly signals?: BrokerSignalCalls<TFields, TInstrument, TSignalTerms> | undefined;
}

/** What a broker handler takes from outside: tests inject a store or an undici `MockAgent`. */
export interface BrokerHandlerDeps {
  /** @default a store over the real AWS SDK clients, with the configured TTL */
  readonly store?: ValueStore;
  /** @default the container's one keep-alive agent, `brokerAgent()` of shared/http/outbound/client.ts */
  readonly dispatcher?: Dispatcher;
  /** @default the DynamoDB lock of `POSITION_LOCK_TABLE`, else one within the process */
  readonly lock?: PositionLock;
  /** @default the day's order count in `POSITION_LOCK_TABLE`, else one within the process */
  readonly orderCounter?: OrderCounter;
  /** The guards' clock (a signal's age, the day of its count). @default Date.now */
  readonly now?: () => number;
  /** T-Invest: where a protected entry's watch goes. @default SQS at `TINKOFF_FOLLOW_UP_QUEUE_URL`, else the process's */
  readonly followUpQueue?: FollowUpQueue;
  /**
   * When the container's init started (`performance.now()`), set by {@link initBrokerContainer}: a first call that
   * arrives as init ends (it is what started the container) counts its deadline from there, so a cold start's wait
   * for the store is inside the signal's 2.9 s too.
   */
  readonly initStartedAt?: number;
}

/** The reads of a function that has none (T-Invest API v1): its configuration sets no guard that reads. */
const unavailableReads = {
  tradingStatus: () => Promise.reject(new Error('no broker reads')),
  portfolio: () => Promise.reject(new Error('no broker reads')),
  quote: () => Promise.reject(new Error('no broker reads')),
};

/** A first call this soon after the handler was made came with the container: Lambda hands it over as init ends. */
const CALL_THAT_STARTED_THE_CONTAINER_MS = 100;

let lockTableClient: DynamoDbClient | undefined;
/** The container's one client of the lock's table, for the leases and the day's count: one connection, made when first used. */
function lockTable(): DynamoDbClient {
  lockTableClient ??= new DynamoDbClient();
  return lockTableClient;
}

/**
 * The position lock of a function's container (docs/contract.md#position-lock): DynamoDB when the stack names its
 * table, else one within the process.
 */
function positionLock(config: CommonConfig): PositionLock {
  const table = config.positionLockTable;
  return new LeasedPositionLock(
    table === undefined ? new MemoryLeaseStore() : new DynamoLeaseStore(lockTable(), table),
  );
}

/** The day's order count of a function's container (docs/contract.md#orders-per-day): beside the position lock's leases. */
function orderCounter(config: CommonConfig): OrderCounter {
  const table = config.positionLockTable;
  return table === undefined ? new MemoryOrderCounter() : new DynamoOrderCounter(lockTable(), table);
}

/** What the guards of a function's orders read with, but the broker's reads (docs/contract.md#guards). */
function guardContext(
  broker: Broker,
  config: CommonConfig,
  store: ValueStore,
  deps: BrokerHandlerDeps,
): Omit<GuardContext<unknown>, 'reads' | 'readState'> {
  const source = config.guards.killSwitch;
  return {
    config: config.guards,
    killSwitch: (deadline) => (source === undefined ? false : readKillSwitch(source, store, deadline)),
    counter: deps.orderCounter ?? orderCounter(config),
    countName: (account) => `${broker}#${account}`,
    now: deps.now ?? (() => Date.now()),
  };
}

/** How a function reads and runs v2 signals: the shared parser and recipe, with the broker's description and calls. */
function signalHandling<TFields, TInstrument, TSignalTerms extends LogFields>(
  description: Pick<BrokerDescription<WebhookOrder, TFields>, 'broker' | 'stored' | 'notConfigured'>,
  signals: BrokerSignalDescription<TFields>,
  calls: BrokerSignalCalls<TFields, TInstrument, TSignalTerms>,
  config: CommonConfig,
  store: ValueStore,
  lock: PositionLock,
  guards: Omit<GuardContext<unknown>, 'reads' | 'readState'>,
): SignalHandling<TFields> {
  const { broker, stored, notConfigured } = description;
  const recipe = createSignalRecipe({
    broker,
    calls,
    lock,
    brokerTimeoutMs: config.brokerTimeoutMs,
    dryRun: config.dryRun,
    guards,
    closeUnprotected: closesUnprotected(config),
  });
  return {
    parse: (body) => parseSignal(body, signals.fields),
    parseProtected: (body) => parseProtectedOrder(body, signals.fields),
    unsupported: (signal) => unsupportedBy(signals.support, signal, signals.exchange(signal)),
    capabilities: () => signalCapabilities(signals.support, broker, config.dryRun, config.guards),
    run: (request) => {
      let credentials: ReturnType<typeof readBrokerCredentials> | undefined;
      return recipe({
        ...request,
        credentials: () => {
          credentials ??= readBrokerCredentials(store, stored, notConfigured, request.deadline);
          return credentials;
        },
      });
    },
  };
}

/**
 * `calls` are made once per handler, with the dispatcher every broker call of the container goes through (and the
 * one of a v2 signal's second state read, made when first asked for).
 */
export function createBrokerHandler<
  TOrder extends WebhookOrder,
  TTerms extends LogFields,
  TFields = unknown,
  TInstrument = unknown,
  TSignalTerms extends LogFields = LogFields,
>(
  description: BrokerDescription<TOrder, TFields>,
  calls: (
    dispatcher: Dispatcher,
    readsDispatcher: (slot?: number) => Dispatcher,
    marketReadsDispatcher: () => Dispatcher,
  ) => BrokerCalls<TOrder, TTerms, TFields, TInstrument, TSignalTerms>,
  config: CommonConfig,
  deps: BrokerHandlerDeps,
): BrokerLambdaHandler {
  const store = deps.store ?? webhookStore(config);
  const dispatcher = deps.dispatcher ?? brokerAgent();
  const { broker, orderSchema, stored, notConfigured } = description;
  // A v2 signal's second read goes over a connection of its own; a test's mock dispatcher takes both.
  const readsDispatcher = (slot?: number) => deps.dispatcher ?? stateReadsAgent(slot);
  // The reads of sizing and the guards go over connections of their own, at once.
  const marketReadsDispatcher = () => deps.dispatcher ?? marketReadsAgent();
  const { orderTerms, client, signals: signalCalls } = calls(dispatcher, readsDispatcher, marketReadsDispatcher);

  const signalDescription = description.signals;
  const createdAt = performance.now();
  let firstCall = true;
  const arrivedAt = (startedAt: number): number => {
    const startedTheContainer = firstCall && startedAt - createdAt <= CALL_THAT_STARTED_THE_CONTAINER_MS;
    firstCall = false;
    return startedTheContainer && deps.initStartedAt !== undefined ? deps.initStartedAt : startedAt;
  };

  const guards = guardContext(broker, config, store, deps);
  const signals =
    signalDescription === undefined || signalCalls === undefined
      ? undefined
      : signalHandling(
          description,
          signalDescription,
          signalCalls,
          config,
          store,
          deps.lock ?? positionLock(config),
          guards,
        );
  /**
   * Today's order's guards, when one may refuse it: a guard that reads is set, or its lots are over the per-order limit.
   * Otherwise nothing is read and today's requests are made.
   */
  const orderGuards = (order: TOrder, deadline: Deadline) => {
    const signal = description.orderSignal(order);
    const needs = guardNeeds(config.guards, signal);
    if (readsNothing(needs) && signal.intent.kind === 'order' && signal.intent.lots <= config.guards.maxLotsPerOrder) {
      return undefined;
    }
    const context: GuardContext<TInstrument> = {
      ...guards,
      reads: signalCalls?.reads ?? unavailableReads,
      readState: (call, stateNeeds) =>
        signalCalls === undefined
          ? Promise.reject(new Error('no state reads'))
          : signalCalls.client.readState(call, stateNeeds),
    };
    return { signal, run: new GuardRun(context, signal, deadline) };
  };

  const webhook = createWebhookHandler<TOrder, TFields>({
    broker,
    config,
    store,
    orderSchema,
    signals,
    arrivedAt,
    placeOrder: async ({ order, idempotencyKey, deadline, termsKnown }) => {
      let credentials: ReturnType<typeof readBrokerCredentials> | undefined;
      const readCredentials = () => {
        credentials ??= readBrokerCredentials(store, stored, notConfigured, deadline);
        return credentials;
      };
      const access = async () => ({ credential: (await readCredentials()).credential, deadline });
      // The kill switch is read from here on, beside the credentials and the order's terms.
      const guarded = orderGuards(order, deadline);
      const terms = await orderTerms(order, access);
      termsKnown(terms);
      const { credential, account } = await readCredentials();
      const requestId = brokerRequestId(broker, account, idempotencyKey, terms);
      if (guarded !== undefined) {
        const { signal, run } = guarded;
        const callOf = async (needs: InstrumentNeeds) =>
          signalCalls === undefined
            ? undefined
            : { credential, account, instrument: await signalCalls.instrument(signal, access, needs), deadline };
        const call = readsInstrument(run.needs) ? await callOf(instrumentNeeds(run.needs)) : undefined;
        const exitCall =
          signalCalls === undefined
            ? undefined
            : async () => (await callOf({ position: true })) as InstrumentCall<TInstrument>;
        run.start(call, account, requestId, exitCall);
        const intent = signal.intent as Extract<Signal['intent'], { kind: 'order' }>;
        try {
          await run.check({ side: intent.side, lots: intent.lots, type: 'limit' });
        } catch (error) {
          await run.settle(false);
          throw error;
        }
      }
      try {
        const outcome = await client.placeLimitOrder({
          credential,
          account,
          terms,
          requestId,
          deadline,
          dryRun: config.dryRun,
        });
        return { outcome, terms };
      } finally {
        await guarded?.run.settle(!config.dryRun);
      }
    },
  });

  return createBrokerEntry({ description, config, store, dispatcher, client }, webhook);
}
