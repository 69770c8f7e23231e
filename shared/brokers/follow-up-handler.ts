import type { SQSEvent } from 'aws-lambda';
import type { CommonConfig } from '../config.ts';
import {
  BrokerCredentialRejectedError,
  BrokerTimeoutError,
  BrokerUnavailableError,
  describeError,
  NotConfiguredError,
} from '../errors.ts';
import {
  type Broker,
  FOLLOW_UP_LOG_MESSAGE,
  PROTECTION_LOG_MESSAGE,
  PROTECTION_WATCH_ATTEMPTS,
  PROTECTION_WATCH_SECONDS,
} from '../facts.ts';
import { parseJsonText } from '../http/outbound/client.ts';
import { createDeadline, type Deadline } from '../http/outbound/deadline.ts';
import { type LogFields, logger } from '../logging.ts';
import {
  type FollowUpRequest,
  FollowUpRequestSchema,
  type ProtectionJob,
  ProtectionJobSchema,
} from '../notify/queue.ts';
import type { SecretStore } from '../secrets.ts';
import { type BrokerCredentialSources, readBrokerCredentials } from './credentials.ts';
import type { FollowUpQueue } from './follow-up-queue.ts';
import type { OrderState } from './order-state.ts';

/**
 * The recipe of both follow-up functions: for each placed order on the broker's follow-up queue, read the broker's
 * token and account, look the order up once (a read: never a new, changed or cancelled order), and write one JSON
 * line with what was found. The notifier's log subscription turns that line into the message. Nothing is retried:
 * a lookup that fails is itself the result ("could not reach the broker").
 */

export interface FollowUpLookup {
  readonly credential: string;
  readonly account: string;
  readonly request: FollowUpRequest;
  readonly deadline: Deadline;
}

/** What one check of a protected entry's watch did (shared/brokers/tinkoff/protection.ts). */
export interface WatchOutcome {
  /** What happened, for the line and the messages (executed, cancelled, protected, failed). */
  readonly events: readonly LogFields[];
  readonly filled: number;
  readonly next: ProtectionJob | undefined;
  readonly delaySeconds: number;
}

export interface FollowUpRecipe {
  readonly broker: Broker;
  /** Where this broker's token and account are stored: the only values the function reads. */
  readonly stored: BrokerCredentialSources;
  readonly lookUp: (lookup: FollowUpLookup) => Promise<OrderState>;
  /** One check of a protected entry's watch (T-Invest), and the queue its next check goes on. */
  readonly watch?: {
    readonly check: (
      job: ProtectionJob,
      credential: string,
      account: string,
      deadline: Deadline,
    ) => Promise<WatchOutcome>;
    readonly queue: FollowUpQueue;
  };
}

export type FollowUpHandler = (event: SQSEvent) => Promise<void>;

/** Why a lookup could not be made: a status or an error code, never a text from outside. */
function unreachableDetail(error: unknown): string {
  if (error instanceof BrokerUnavailableError || error instanceof BrokerTimeoutError) return error.detail;
  if (error instanceof BrokerCredentialRejectedError) return 'credential rejected';
  if (error instanceof NotConfiguredError) return `${error.missing} not configured`;
  const { name, code } = describeError(error);
  return code ?? name;
}

function stateFields(state: OrderState): LogFields {
  return state.status === 'not-found'
    ? { result: 'not-found' }
    : { result: state.status, lots: state.lots, filledLots: state.filledLots };
}

export function createFollowUpHandler(
  recipe: FollowUpRecipe,
  config: Pick<CommonConfig, 'brokerTimeoutMs'>,
  store: SecretStore,
): FollowUpHandler {
  const log = logger.child({ broker: recipe.broker });
  const notConfigured = { credential: 'credential not configured', account: 'account not configured' };

  const followUp = async (request: FollowUpRequest): Promise<void> => {
    const { ticker, ...order } = request.order ?? { ticker: undefined };
    const line: LogFields = {
      requestId: request.requestId,
      brokerOrderId: request.brokerOrderId,
      delaySeconds: request.delaySeconds,
      ...(request.order === undefined ? {} : { order, ticker }),
    };
    try {
      const { credential, account } = await readBrokerCredentials(store, recipe.stored, notConfigured);
      const state = await recipe.lookUp({
        credential,
        account,
        request,
        deadline: createDeadline(config.brokerTimeoutMs),
      });
      log.info(FOLLOW_UP_LOG_MESSAGE, { ...line, ...stateFields(state) });
    } catch (error) {
      log.warn(FOLLOW_UP_LOG_MESSAGE, { ...line, result: 'unreachable', upstream: unreachableDetail(error) });
    }
  };

  /**
   * One check of a protected entry's watch, and its next message while anything is open. A check that cannot reach
   * the broker is tried again at the next one (the watch never ends on a failure: the position may be open); its
   * line says so, and the third in a row is told. A next message that cannot be queued fails the record, so SQS
   * delivers this one again.
   */
  const watchOnce = async (job: ProtectionJob, watch: NonNullable<FollowUpRecipe['watch']>): Promise<void> => {
    const line: LogFields = { requestId: job.requestId, ticker: job.ticker, instrumentId: job.instrumentId };
    let outcome: WatchOutcome;
    try {
      const { credential, account } = await readBrokerCredentials(store, recipe.stored, notConfigured);
      outcome = await watch.check(job, credential, account, createDeadline(config.brokerTimeoutMs));
    } catch (error) {
      const unreachable = job.unreachable + 1;
      log.warn(PROTECTION_LOG_MESSAGE, {
        ...line,
        result: 'unreachable',
        upstream: unreachableDetail(error),
        attempt: unreachable,
        told: unreachable === PROTECTION_WATCH_ATTEMPTS,
      });
      await watch.queue.send({ ...job, unreachable }, PROTECTION_WATCH_SECONDS);
      return;
    }
    const { next } = outcome;
    log.info(PROTECTION_LOG_MESSAGE, {
      ...line,
      result: next === undefined ? 'done' : 'watching',
      filled: outcome.filled,
      lots: job.entry.lots,
      side: job.entry.side,
      events: outcome.events,
      checks: job.checks + 1,
    });
    if (next !== undefined) await watch.queue.send({ ...next, unreachable: 0 }, outcome.delaySeconds);
  };

  return async (event) => {
    for (const record of event.Records) {
      const body = parseJsonText(record.body);
      const job = ProtectionJobSchema.safeParse(body);
      if (job.success && job.data.broker === recipe.broker && recipe.watch !== undefined) {
        await watchOnce(job.data, recipe.watch);
        continue;
      }
      const request = FollowUpRequestSchema.safeParse(body);
      if (!request.success || request.data.broker !== recipe.broker) {
        log.warn('follow-up dropped a queue message it does not know', { messageId: record.messageId });
        continue;
      }
      await followUp(request.data);
    }
  };
}
