import { type Broker, UNAUTHORIZED_WINDOW_SECONDS } from '../facts.ts';
import { createLogger, type Logger } from '../logging.ts';
import type { SecretStore } from '../secrets.ts';
import type { NotifierConfig } from './config.ts';
import { logLineToEvent, type NotifyEvent } from './events.ts';
import { eventToMessage, type SingleEvent, unauthorizedMessage } from './messages.ts';
import type { NotifyStore } from './notify-store.ts';
import type { MessageQueue, WindowFlush } from './queue.ts';
import type { TelegramClient, TelegramTarget } from './telegram.ts';

/**
 * The notifier: the functions' log lines in, Telegram messages out, off the answer path. For each event it claims
 * (request id, kind) in the store before sending, so an event delivered twice is told once; a message Telegram does
 * not take after its retries goes to the dead-letter queue. A placed order is also put on its broker's follow-up
 * queue, with a delay. Unauthorized calls are counted per function and told once per window, when its flush (a
 * delayed message on the notifier's own queue) arrives. It is off, doing nothing, while the bot token or the chat
 * id holds no value.
 */

export interface NotifierDeps {
  readonly config: NotifierConfig;
  /** Reads the bot token (a secret, redacted from every log line once read) and the chat id. */
  readonly secrets: SecretStore;
  readonly telegram: Pick<TelegramClient, 'sendMessage'>;
  readonly store: NotifyStore;
  readonly followUpQueues: Readonly<Record<Broker, MessageQueue>>;
  /** The notifier's own queue: the flushes of unauthorized-calls windows. */
  readonly queue: MessageQueue;
  readonly deadLetters: MessageQueue;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default the JSON logger */
  readonly log?: Logger;
}

export interface Notifier {
  /** Handles log lines (one CloudWatch Logs delivery, or the local run's lines). Throws when a claimed action failed. */
  handleLogLines(lines: readonly string[]): Promise<void>;
  /** Handles a message of the notifier's own queue (a window flush). */
  handleFlush(flush: WindowFlush): Promise<void>;
}

/** A claim outlives any redelivery: CloudWatch Logs and Lambda retry within hours. */
const CLAIM_LIFETIME_MS = 24 * 60 * 60_000;
const WINDOW_MS = UNAUTHORIZED_WINDOW_SECONDS * 1000;
/** A window whose flush never came is replaced after this long (SQS delays by up to 15 minutes). */
const STALE_WINDOW_MS = WINDOW_MS + 15 * 60_000;

const windowKey = (broker: Broker) => `unauthorized#${broker}`;

export function createNotifier(deps: NotifierDeps): Notifier {
  const { config, secrets, telegram, store } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.log ?? createLogger();

  /** The bot and the chat, or `undefined` while either is not configured. */
  const target = async (): Promise<TelegramTarget | undefined> => {
    const [botToken, chatId] = await Promise.all([
      secrets.readSecret(config.botToken),
      secrets.readParameter(config.chatId),
    ]);
    return botToken === undefined || chatId === undefined ? undefined : { botToken, chatId };
  };

  /** Runs `action` once per `key`: a redelivered event finds the claim and does nothing. */
  const once = async (key: string, action: () => Promise<void>): Promise<void> => {
    const at = now();
    if (!(await store.claim(key, at, at + CLAIM_LIFETIME_MS))) {
      log.info('notifier skipped a repeated event', { key });
      return;
    }
    try {
      await action();
    } catch (error) {
      // Nothing was told: let the redelivery of this event try again.
      await store.release(key);
      throw error;
    }
  };

  const send = async (to: TelegramTarget, key: string, html: string): Promise<void> => {
    const result = await telegram.sendMessage(to, html);
    if (result.delivered) {
      log.info('notifier sent a message', { key, attempts: result.attempts });
      return;
    }
    log.warn('notifier could not send a message', { key, attempts: result.attempts, reason: result.reason });
    await deps.deadLetters.send({ type: 'undelivered', key, reason: result.reason, html }, 0);
  };

  const scheduleFollowUp = async (event: Extract<NotifyEvent, { kind: 'placed' | 'signal' }>): Promise<void> => {
    if (!config.kinds.has('follow-up') || event.replayed || event.brokerOrderId === undefined) return;
    const { brokerOrderId } = event;
    await once(`${event.requestId}#follow-up-scheduled`, () =>
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

  const countUnauthorized = async (event: NotifyEvent): Promise<void> => {
    await once(`${event.requestId}#unauthorized`, async () => {
      const window = await store.countInWindow(windowKey(event.broker), now(), STALE_WINDOW_MS);
      if (!window.opened) return;
      await deps.queue.send(
        { type: 'unauthorized-flush', broker: event.broker, windowStart: window.windowStart },
        UNAUTHORIZED_WINDOW_SECONDS,
      );
    });
  };

  const handle = async (event: NotifyEvent, to: TelegramTarget): Promise<void> => {
    if (event.kind === 'unauthorized') {
      if (config.kinds.has('unauthorized')) await countUnauthorized(event);
      return;
    }
    // A v2 signal carried out is told as NOTIFY_KINDS `placed` says: one kind for every signal that went through.
    const kind = event.kind === 'signal' ? 'placed' : event.kind;
    if (config.kinds.has(kind)) {
      const single: SingleEvent = event;
      const key = `${event.requestId}#${kind}`;
      await once(key, () => send(to, key, eventToMessage(single, config.language)));
    }
    if (event.kind === 'placed' || event.kind === 'signal') await scheduleFollowUp(event);
  };

  return {
    async handleLogLines(lines) {
      const events = lines.map(logLineToEvent).filter((event) => event !== undefined);
      if (events.length === 0) return;
      const to = await target();
      if (to === undefined) {
        log.info('notifier is off: the Telegram bot token or chat id is not set', { events: events.length });
        return;
      }
      const failures: unknown[] = [];
      for (const event of events) {
        // One failed event does not keep the others of the delivery from being told.
        await handle(event, to).catch((error: unknown) => failures.push(error));
      }
      if (failures.length > 0) throw new AggregateError(failures, `${failures.length} event(s) not handled`);
    },

    async handleFlush(flush) {
      const count = await store.flushWindow(windowKey(flush.broker), flush.windowStart);
      if (count === undefined) return;
      const to = await target();
      if (to === undefined) return;
      const key = `unauthorized#${flush.broker}#${flush.windowStart}`;
      const html = unauthorizedMessage(
        {
          broker: flush.broker,
          count,
          from: new Date(flush.windowStart).toISOString(),
          to: new Date(now()).toISOString(),
        },
        config.language,
      );
      await send(to, key, html);
    },
  };
}
