import { type Broker, MAX_FOLLOW_UP_DELAY_SECONDS, NOTIFY_WINDOW_SECONDS } from '../facts.ts';
import { createLogger, type Logger } from '../logging.ts';
import type { ValueStore } from '../store/value-store.ts';
import type { AlarmEvent } from './alarms.ts';
import type { NotifierConfig } from './config.ts';
import { logLineToEvents, type NotifyEvent, type WindowKind } from './events.ts';
import { alarmMessage, eventToMessage, type SingleEvent, windowMessage } from './messages.ts';
import type { NotifyStore } from './notify-store.ts';
import type { MessageQueue, WindowFlush } from './queue.ts';
import { MIN_ATTEMPT_MS, type TelegramClient, type TelegramTarget } from './telegram.ts';

/**
 * The notifier: the functions' log lines and the stack's alarms in, Telegram messages out, off the answer path.
 *
 * At least once: each message is sent under a claim (a lease) on its key that runs out before the invocation can, and
 * is marked sent only once Telegram took it. A send that cannot finish in this invocation (Telegram down, a 429 asking
 * for a longer wait than is left) gives the lease back and fails the event, so that the delivery is tried again (Lambda
 * retries an asynchronous invocation twice, SQS receives a message three times); the last of those tries puts the
 * message on the dead-letter queue instead, as does a refusal Telegram means for good. A crash at any point leaves at
 * worst the lease, which has run out by the time the retry comes; a crash between Telegram's answer and the mark makes
 * the retry send it again: a duplicate, never a loss (docs/alerts.md#crash-points).
 *
 * Once, otherwise: a delivery of an event already told finds its key marked and sends nothing. Refused calls (401,
 * 403) are counted per function and 10-minute window and told once per window, when its flush (a delayed message on
 * the notifier's own queue) arrives; a placed order is also put on its broker's follow-up queue, with a delay. It is
 * off, doing nothing, while the bot token or the chat id holds no value.
 */

export interface NotifierDeps {
  readonly config: NotifierConfig;
  /** Reads the bot token (a secret, redacted from every log line once read) and the chat id. */
  readonly secrets: ValueStore;
  readonly telegram: Pick<TelegramClient, 'sendMessage'>;
  readonly store: NotifyStore;
  readonly followUpQueues: Readonly<Record<Broker, MessageQueue>>;
  /** The notifier's own queue: the flushes of the windows of refused calls. */
  readonly queue: MessageQueue;
  readonly deadLetters: MessageQueue;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default the JSON logger */
  readonly log?: Logger;
}

/**
 * `remainingMs`: the time the invocation has left (the Lambda entry reads it from its context; without one, the
 * deployed timeout). Each handler throws when something must be tried again: the entry lets the invocation, or the
 * record, fail.
 */
export interface Notifier {
  /** Handles log lines (one CloudWatch Logs delivery, or the local run's lines). */
  handleLogLines(lines: readonly string[], remainingMs?: number): Promise<void>;
  /** Handles a message of the notifier's own queue (a window flush). */
  handleFlush(flush: WindowFlush, remainingMs?: number): Promise<void>;
  /** Handles a CloudWatch alarm notification (through SNS). */
  handleAlarm(alarm: AlarmEvent, remainingMs?: number): Promise<void>;
}

/**
 * Invocations that may try one message: an asynchronous invocation and Lambda's two retries of it (infra sets
 * `retryAttempts: 2`), or SQS's three receives (`maxReceiveCount: 3`). The last one puts it on the dead-letter queue.
 */
export const DELIVERY_ATTEMPTS = 3;
/** Kept at the end of an invocation for the writes after a send: the mark, the dead-letter queue, the release. */
export const WRITE_RESERVE_MS = 10_000;
/** A lease runs out this long before the invocation that took it can end. */
export const LEASE_MARGIN_MS = 1000;
/** What an invocation without a Lambda context has (the local run, the bench): the deployed notifier's timeout. */
const DEFAULT_BUDGET_MS = 120_000;
const WINDOW_MS = NOTIFY_WINDOW_SECONDS * 1000;

/** Thrown so that the delivery comes again: what failed is retried by Lambda or SQS, and told then. */
export class RetryLaterError extends Error {
  override readonly name = 'RetryLaterError';
}

const windowKey = (kind: WindowKind, broker: Broker) => `window#${kind}#${broker}`;
/** Windows start at whole 10 minutes (UTC): every function's and cause's window is the same span of time. */
const windowOf = (time: number) => Math.floor(time / WINDOW_MS) * WINDOW_MS;

export function createNotifier(deps: NotifierDeps): Notifier {
  const { config, secrets, telegram, store } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.log ?? createLogger();
  /** When the invocation ends, on this notifier's clock. */
  const deadlineOf = (remainingMs: number | undefined) => now() + (remainingMs ?? DEFAULT_BUDGET_MS);

  /** The bot and the chat, or `undefined` while either is not configured. */
  const target = async (): Promise<TelegramTarget | undefined> => {
    const [botToken, chatId] = await Promise.all([
      secrets.readSecret(config.botToken),
      secrets.readParameter(config.chatId),
    ]);
    return botToken === undefined || chatId === undefined ? undefined : { botToken, chatId };
  };

  /** A failed release or mark is logged, not thrown: the lease runs out by itself, a missed mark costs a duplicate. */
  const quietly = async (what: string, key: string, write: () => Promise<void>): Promise<void> => {
    await write().catch((error: unknown) => {
      log.warn(`notifier could not ${what}`, { key, error: error instanceof Error ? error.name : typeof error });
    });
  };

  /** Takes the lease on `key`: which attempt this is, or `undefined` when another holds it or it was told. */
  const lease = async (key: string, deadline: number): Promise<number | undefined> => {
    const at = now();
    if (deadline - at < WRITE_RESERVE_MS + MIN_ATTEMPT_MS) {
      throw new RetryLaterError(`too little time left in this invocation for ${key}`);
    }
    const claim = await store.claim(key, at, deadline - LEASE_MARGIN_MS);
    if (claim.status === 'claimed') return claim.attempt;
    log.info('notifier skipped a repeated event', { key, status: claim.status });
    return undefined;
  };

  /** Runs `action` once per `key` (a queue write, a count): a failed one is given back for the retry. */
  const once = async (key: string, deadline: number, action: () => Promise<void>): Promise<void> => {
    if ((await lease(key, deadline)) === undefined) return;
    try {
      await action();
    } catch (error) {
      await quietly('release a claim', key, () => store.release(key));
      throw error;
    }
    await quietly('mark a claim done', key, () => store.markDone(key, now()));
  };

  /** Sends one message under its key's lease: marked once Telegram took it; given back, or dead-lettered, if not. */
  const deliver = async (to: TelegramTarget, key: string, html: string, deadline: number): Promise<void> => {
    const attempt = await lease(key, deadline);
    if (attempt === undefined) return;
    const result = await telegram
      .sendMessage(to, html, { sendBy: deadline - WRITE_RESERVE_MS })
      .catch(async (error: unknown) => {
        await quietly('release a claim', key, () => store.release(key));
        throw error;
      });
    if (result.delivered) {
      log.info('notifier sent a message', { key, attempts: result.attempts });
      await quietly('mark a message sent', key, () => store.markDone(key, now()));
      return;
    }
    const lastTry = !result.retryable || attempt >= DELIVERY_ATTEMPTS;
    log.warn('notifier could not send a message', {
      key,
      attempts: result.attempts,
      invocation: attempt,
      reason: result.reason,
      next: lastTry ? 'dead-letter queue' : 'retry',
    });
    if (!lastTry) {
      await quietly('release a claim', key, () => store.release(key));
      throw new RetryLaterError(`${key}: ${result.reason}`);
    }
    try {
      await deps.deadLetters.send({ type: 'undelivered', key, reason: result.reason, attempts: attempt, html }, 0);
    } catch (error) {
      await quietly('release a claim', key, () => store.release(key));
      throw error;
    }
    await quietly('mark a message dead-lettered', key, () => store.markDone(key, now()));
  };

  const scheduleFollowUp = async (event: Extract<NotifyEvent, { kind: 'placed' | 'signal' }>, deadline: number) => {
    if (!config.kinds.has('follow-up') || event.replayed || event.brokerOrderId === undefined) return;
    const { brokerOrderId } = event;
    await once(`${event.requestId}#follow-up-scheduled`, deadline, () =>
      deps.followUpQueues[event.broker].send(
        {
          type: 'follow-up',
          broker: event.broker,
          requestId: event.requestId,
          brokerOrderId,
          order: event.order,
          delaySeconds: config.followUpDelaySeconds,
        },
        config.followUpDelaySeconds,
      ),
    );
  };

  /** Counts a refused call in its function's window; the call that finds the window's flush not queued queues it. */
  const countRefused = async (event: Extract<NotifyEvent, { kind: WindowKind }>, deadline: number) => {
    const detail = event.kind === 'forbidden-source' ? event.sourceIp : undefined;
    await once(`${event.requestId}#${event.kind}`, deadline, async () => {
      const key = windowKey(event.kind, event.broker);
      let windowStart = windowOf(now());
      // A window whose flush has begun takes no more calls: this one counts in the next.
      let counted = await store.countInWindow(key, windowStart, detail);
      if (counted === undefined) {
        windowStart += WINDOW_MS;
        counted = await store.countInWindow(key, windowStart, detail);
      }
      if (counted === undefined) throw new Error('the next counting window is closed too');
      if (counted.flushQueued) return;
      const delaySeconds = Math.ceil((windowStart + WINDOW_MS - now()) / 1000);
      await deps.queue.send(
        { type: 'window-flush', kind: event.kind, broker: event.broker, windowStart },
        Math.min(MAX_FOLLOW_UP_DELAY_SECONDS, Math.max(0, delaySeconds)),
      );
      await store.markFlushQueued(key, windowStart);
    });
  };

  const handle = async (event: NotifyEvent, to: TelegramTarget, deadline: number): Promise<void> => {
    if (event.kind === 'unauthorized' || event.kind === 'forbidden-source') {
      if (config.kinds.has(event.kind)) await countRefused(event, deadline);
      return;
    }
    let failure: unknown;
    if (event.kind === 'protection') {
      // A position left unprotected is told whatever NOTIFY_KINDS says: it is the most urgent news there is. The
      // watch's other events come from the follow-up, and are told as its lookups are.
      const urgent = event.event === 'failed' || event.event === 'unreachable';
      if (!urgent && !config.kinds.has('follow-up')) return;
      const key = `${event.requestId}#protection#${event.key}`;
      await deliver(to, key, eventToMessage(event, config.language), deadline);
      return;
    }
    // A v2 signal carried out is told as NOTIFY_KINDS `placed` says: one kind for every signal that went through.
    // A guard's refusal is told as NOTIFY_KINDS `refused` says: an entry refused, whoever refused it.
    const kind = event.kind === 'signal' ? 'placed' : event.kind === 'guarded' ? 'refused' : event.kind;
    if (config.kinds.has(kind)) {
      const single: SingleEvent = event;
      await deliver(to, `${event.requestId}#${kind}`, eventToMessage(single, config.language), deadline).catch(
        (error: unknown) => {
          failure = error;
        },
      );
    }
    // The follow-up is queued even when the message has to wait for a retry.
    if (event.kind === 'placed' || event.kind === 'signal') await scheduleFollowUp(event, deadline);
    if (failure !== undefined) throw failure;
  };

  return {
    async handleLogLines(lines, remainingMs) {
      const events = lines.flatMap(logLineToEvents);
      if (events.length === 0) return;
      const to = await target();
      if (to === undefined) {
        log.info('notifier is off: the Telegram bot token or chat id is not set', { events: events.length });
        return;
      }
      const ends = deadlineOf(remainingMs);
      const failures: unknown[] = [];
      for (const event of events) {
        // One failed event does not keep the others of the delivery from being told.
        await handle(event, to, ends).catch((error: unknown) => failures.push(error));
      }
      if (failures.length > 0) throw new AggregateError(failures, `${failures.length} event(s) not handled`);
    },

    async handleFlush(flush, remainingMs) {
      const deadline = deadlineOf(remainingMs);
      const to = await target();
      if (to === undefined) return;
      const key = windowKey(flush.kind, flush.broker);
      const closed = await store.closeWindow(key, flush.windowStart);
      if (closed === undefined) return;
      const html = windowMessage(
        {
          kind: flush.kind,
          broker: flush.broker,
          count: closed.count,
          from: new Date(flush.windowStart).toISOString(),
          to: new Date(flush.windowStart + WINDOW_MS).toISOString(),
          detail: closed.detail,
        },
        config.language,
      );
      await deliver(to, `${key}#${flush.windowStart}#told`, html, deadline);
    },

    async handleAlarm(alarm, remainingMs) {
      const deadline = deadlineOf(remainingMs);
      // Only the way into ALARM is news; the stack sends nothing else, but a hand-made action might.
      if (alarm.state !== 'ALARM' || !config.kinds.has('alarm')) return;
      const to = await target();
      if (to === undefined) {
        log.info('notifier is off: the Telegram bot token or chat id is not set', { alarm: alarm.name });
        return;
      }
      await deliver(to, `alarm#${alarm.name}#${alarm.time}`, alarmMessage(alarm, config.language), deadline);
    },
  };
}
