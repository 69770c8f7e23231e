import type { Agent } from 'undici';
import { type FakeTelegram, parseTelegramHtml, startFakeTelegram } from '#local/fake-telegram.ts';
import { alarmNotification, toSnsEvent } from '#local/sns-event.ts';
import { toSqsEvent } from '#local/sqs-event.ts';
import type { FollowUpHandler } from '#shared/brokers/follow-up-handler.ts';
import { setLocalFollowUpQueue } from '#shared/brokers/follow-up-queue.ts';
import {
  BROKERS,
  type Broker,
  DEFAULT_TELEGRAM_API_URL,
  FOLLOW_UP_LOG_MESSAGE,
  NOTIFY_ENV,
  PROTECTION_LOG_MESSAGE,
  WEBHOOK_LOG_MESSAGE,
} from '#shared/facts.ts';
import { createKeepAliveAgent } from '#shared/http/outbound/client.ts';
import { addLogListener } from '#shared/logging.ts';
import { ALARM_PERIOD_SECONDS, type AlarmCause, type AlarmSource, alarmName } from '#shared/notify/alarms.ts';
import { loadNotifierConfig } from '#shared/notify/config.ts';
import { handleNotifierEvent } from '#shared/notify/lambda.ts';
import { killSwitchMessage } from '#shared/notify/messages.ts';
import { createNotifier } from '#shared/notify/notifier.ts';
import { MemoryNotifyStore } from '#shared/notify/notify-store.ts';
import type { MessageQueue, QueueMessage } from '#shared/notify/queue.ts';
import { TelegramClient, type TelegramTarget } from '#shared/notify/telegram.ts';
import { loadedStoreSdk } from '#shared/store/sdk-modules.ts';
import { ValueStore } from '#shared/store/value-store.ts';

/**
 * The Telegram messages of `npm start`: the same notifier as on AWS, fed with the in-process functions' log lines
 * (shared/logging.ts `addLogListener`) instead of a log subscription, its queues timers in this process, the follow-up
 * functions imported and run here, and the fake Telegram on 127.0.0.1, unless `.env` gives a real bot's token and
 * chat id. Every message sent is kept for the console, delivered or not.
 *
 * CloudWatch's alarms have a small stand-in here: a function of this run that fails (a webhook or follow-up that
 * throws, a notifier delivery that fails) is told as its alarm would tell it, through the notifier's SNS door, at most
 * once per function and cause until a quiet alarm period has passed. There is no local stand-in for a timeout, a failed
 * start, a throttle or a dead-letter queue: the in-process functions have none of them.
 */

export type TelegramMode = 'fake' | 'real';

/** A message as the console shows it. */
export interface SentMessage {
  readonly id: number;
  readonly time: string;
  /** What the chat shows (the HTML parsed), or the HTML when it does not parse. */
  readonly text: string;
  readonly delivered: boolean;
  /** Why Telegram did not take it; it then went to the dead-letter queue. */
  readonly reason?: string;
}

export interface LocalNotifications {
  readonly mode: TelegramMode;
  /** The fake Telegram's URL, or the Bot API's. */
  readonly apiUrl: string;
  /** The bot token, to hide wherever it would show; empty with the fake. */
  readonly hiddenValues: readonly string[];
  /** Newest first. */
  messages(): SentMessage[];
  /** A function of this run failed: told as the stack's alarm for it would tell it. */
  reportFailure(source: AlarmSource, cause: AlarmCause): void;
  /** The console turned the local kill switch on or off: told as `npm run kill` tells it. */
  killSwitchTurned(on: boolean): Promise<void>;
  close(): Promise<void>;
}

/** The stack name the local alarms carry. */
const LOCAL_STACK_NAME = 'local';

/** Messages kept for the console. */
const KEPT = 100;

function isSet(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/** A queue whose messages are handed to `deliver` after their delay, in this process; `failed` hears of a failure. */
function timerQueue(
  deliver: (body: QueueMessage) => Promise<void>,
  timers: Set<NodeJS.Timeout>,
  failed: (error: unknown) => void,
): MessageQueue {
  return {
    async send(body, delaySeconds) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        deliver(body).catch(failed);
      }, delaySeconds * 1000);
      timers.add(timer);
    },
  };
}

function report(error: unknown): void {
  const name = error instanceof Error ? error.name : typeof error;
  process.stderr.write(`notifier: a message was not handled (${name})\n`);
}

/** Lambda runs a failed asynchronous invocation again after about 1 and 2 minutes (the notifier's retries). */
const ASYNC_RETRY_DELAYS_MS = [60_000, 120_000] as const;

/** Runs `run` as Lambda runs an asynchronous invocation: `failed` hears of each failure, and it is retried twice. */
function invokeAsync(
  run: () => Promise<unknown>,
  failed: (error: unknown) => void,
  timers: Set<NodeJS.Timeout>,
  retry = 0,
): void {
  run().catch((error: unknown) => {
    failed(error);
    const delay = ASYNC_RETRY_DELAYS_MS[retry];
    if (delay === undefined) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      invokeAsync(run, failed, timers, retry + 1);
    }, delay);
    timers.add(timer);
  });
}

/**
 * CloudWatch's alarm state, per alarm: a failure while it is quiet sets it off (one message), and it stays set off
 * until a whole period has passed without a failure.
 */
export function localAlarms(
  fire: (name: string, at: Date) => void,
  now: () => number = Date.now,
): (source: AlarmSource, cause: AlarmCause) => void {
  const lastFailure = new Map<string, number>();
  return (source: AlarmSource, cause: AlarmCause) => {
    const name = alarmName(LOCAL_STACK_NAME, source, cause);
    const at = now();
    const previous = lastFailure.get(name);
    lastFailure.set(name, at);
    if (previous !== undefined && at - previous < ALARM_PERIOD_SECONDS * 1000) return;
    fire(name, new Date(at));
  };
}

/**
 * Starts the local notifier. Call it once the functions' environment is prepared: it imports the follow-up functions,
 * which read their broker's settings at import as the webhook functions do.
 */
export async function startLocalNotifications(env: NodeJS.ProcessEnv): Promise<LocalNotifications> {
  const real = isSet(env[NOTIFY_ENV.telegramBotToken]) && isSet(env[NOTIFY_ENV.telegramChatId]);
  const fake: FakeTelegram | undefined = real ? undefined : await startFakeTelegram();
  const config = loadNotifierConfig({
    [NOTIFY_ENV.language]: env[NOTIFY_ENV.language],
    [NOTIFY_ENV.kinds]: env[NOTIFY_ENV.kinds],
    [NOTIFY_ENV.followUpDelaySeconds]: env[NOTIFY_ENV.followUpDelaySeconds],
    [NOTIFY_ENV.telegramBotToken]: fake?.botToken ?? env[NOTIFY_ENV.telegramBotToken],
    [NOTIFY_ENV.telegramChatId]: fake?.chatId ?? env[NOTIFY_ENV.telegramChatId],
    [NOTIFY_ENV.telegramApiUrl]: fake?.url ?? env[NOTIFY_ENV.telegramApiUrl] ?? DEFAULT_TELEGRAM_API_URL,
  });

  const [alor, tinkoff] = await Promise.all([
    import('#functions/alor-follow-up/handler.ts'),
    import('#functions/tinkoff-follow-up/handler.ts'),
  ]);
  const followUps: Record<Broker, FollowUpHandler> = { alor: alor.handler, tinkoff: tinkoff.handler };

  const sent: SentMessage[] = [];
  let sequence = 0;
  const agent: Agent = createKeepAliveAgent();
  const client = new TelegramClient({ dispatcher: agent, apiUrl: config.apiUrl });
  const telegram = {
    sendMessage: async (target: TelegramTarget, html: string) => {
      const result = await client.sendMessage(target, html);
      const parsed = parseTelegramHtml(html);
      sequence += 1;
      sent.push({
        id: sequence,
        time: new Date().toISOString(),
        text: parsed.ok ? parsed.text : html,
        delivered: result.delivered,
        ...(result.delivered ? {} : { reason: result.reason }),
      });
      if (sent.length > KEPT) sent.splice(0, sent.length - KEPT);
      return result;
    },
  };

  const timers = new Set<NodeJS.Timeout>();
  const reportFailure = localAlarms((name, at) => {
    const event = toSnsEvent([alarmNotification({ alarmName: name, value: 1, time: at })]);
    // The alarm's own delivery failing is no new alarm (CloudWatch's stays set off): it is only reported.
    invokeAsync(() => handleNotifierEvent(notifier, event), report, timers);
  });
  const failedIn = (source: AlarmSource) => (error: unknown) => {
    report(error);
    reportFailure(source, 'error');
  };
  const secrets = new ValueStore({ ttlMs: config.secretsCacheTtlMs, sdk: loadedStoreSdk });
  // A protected entry's watch (docs/contract.md#protection): the webhooks and follow-ups of this run put it here, and
  // its broker's follow-up gets it after its delay, as from its SQS queue.
  const watchQueues = Object.fromEntries(
    BROKERS.map((broker) => [
      broker,
      timerQueue((body) => followUps[broker](toSqsEvent([body])), timers, failedIn(`${broker}-follow-up`)),
    ]),
  ) as Record<Broker, MessageQueue>;
  setLocalFollowUpQueue({
    send: (body, delaySeconds) =>
      watchQueues[body.type === 'protect' ? body.broker : 'tinkoff'].send(body, delaySeconds),
  });
  const notifier = createNotifier({
    config,
    secrets,
    telegram,
    store: new MemoryNotifyStore(),
    followUpQueues: Object.fromEntries(
      BROKERS.map((broker) => [
        broker,
        timerQueue((body) => followUps[broker](toSqsEvent([body])), timers, failedIn(`${broker}-follow-up`)),
      ]),
    ) as Record<Broker, MessageQueue>,
    queue: timerQueue(
      async (body) => {
        if (body.type === 'window-flush') await notifier.handleFlush(body);
      },
      timers,
      failedIn('notifier'),
    ),
    // Undelivered messages are kept with their reason (above): the console is this run's dead-letter queue.
    deadLetters: { send: async () => undefined },
  });

  const removeListener = addLogListener((line) => {
    const read = [WEBHOOK_LOG_MESSAGE, FOLLOW_UP_LOG_MESSAGE, PROTECTION_LOG_MESSAGE];
    if (!read.some((message) => line.includes(`"message":"${message}"`))) return;
    invokeAsync(() => notifier.handleLogLines([line]), failedIn('notifier'), timers);
  });

  return {
    mode: real ? 'real' : 'fake',
    apiUrl: config.apiUrl,
    hiddenValues: real ? [env[NOTIFY_ENV.telegramBotToken] ?? ''] : [],
    messages: () => [...sent].reverse(),
    reportFailure,
    killSwitchTurned: async (on) => {
      const [botToken, chatId] = await Promise.all([
        secrets.readSecret(config.botToken),
        secrets.readParameter(config.chatId),
      ]);
      if (botToken === undefined || chatId === undefined) return;
      await telegram.sendMessage({ botToken, chatId }, killSwitchMessage(on, 'npm start', config.language));
    },
    close: async () => {
      removeListener();
      setLocalFollowUpQueue(undefined);
      for (const timer of timers) clearTimeout(timer);
      await Promise.all([fake?.close(), agent.close()]);
    },
  };
}
