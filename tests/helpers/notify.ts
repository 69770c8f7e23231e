import { gzipSync } from 'node:zlib';
import type { CloudWatchLogsDecodedData, CloudWatchLogsEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { FAKE_TELEGRAM, type FakeTelegram, startFakeTelegram } from '#local/fake-telegram.ts';
import { toSqsEvent } from '#local/sqs-event.ts';
import { NOTIFY_ENV } from '#shared/facts.ts';
import { createKeepAliveAgent } from '#shared/http/outbound/client.ts';
import { loadNotifierConfig } from '#shared/notify/config.ts';
import { handleNotifierEvent, type NotifierEvent } from '#shared/notify/lambda.ts';
import { createNotifier, type Notifier } from '#shared/notify/notifier.ts';
import { MemoryNotifyStore, type NotifyStore } from '#shared/notify/notify-store.ts';
import type { MessageQueue, QueueMessage } from '#shared/notify/queue.ts';
import { TelegramClient } from '#shared/notify/telegram.ts';
import { loadedStoreSdk } from '#shared/store/sdk-modules.ts';
import { ValueStore } from '#shared/store/value-store.ts';
import { logLines } from './logs.ts';

/** A queue that keeps what is sent to it, for a test to read or deliver; it can be made to fail. */
export class RecordingQueue implements MessageQueue {
  readonly sent: { body: QueueMessage; delaySeconds: number }[] = [];
  failing = false;

  async send(body: QueueMessage, delaySeconds: number): Promise<void> {
    if (this.failing) throw Object.assign(new Error('queue unavailable'), { name: 'ServiceUnavailable' });
    this.sent.push({ body, delaySeconds });
  }
}

/** One CloudWatch Logs subscription delivery of `lines`, encoded as CloudWatch encodes it (gzip, base64). */
export function cloudWatchLogsEvent(
  lines: readonly string[],
  logGroup = '/aws/lambda/PppWebhooks-Alor',
): CloudWatchLogsEvent {
  const data: CloudWatchLogsDecodedData = {
    owner: '000000000000',
    logGroup,
    logStream: '2025/01/31/[$LATEST]0123456789abcdef',
    subscriptionFilters: ['notifier'],
    messageType: 'DATA_MESSAGE',
    logEvents: lines.map((message, index) => ({ id: String(index), timestamp: Date.now(), message })),
  };
  return { awslogs: { data: gzipSync(JSON.stringify(data)).toString('base64') } };
}

/** An SQS delivery of queue messages, as Lambda hands it to a function. */
export function sqsEvent(bodies: readonly QueueMessage[]): SQSEvent {
  return toSqsEvent(bodies);
}

/** The JSON lines written to stdout during the current test, as text. */
export function logLineTexts(): string[] {
  return logLines().map((line) => JSON.stringify(line));
}

export interface NotifierUnderTest {
  readonly notifier: Notifier;
  /** Its claims and windows: pass it to another `build` to have a second invocation (a retry) share them. */
  readonly store: NotifyStore;
  readonly queues: {
    readonly alor: RecordingQueue;
    readonly tinkoff: RecordingQueue;
    readonly own: RecordingQueue;
    readonly deadLetters: RecordingQueue;
  };
  /** What the Telegram client was asked to wait before retries (no real waiting). */
  readonly waits: number[];
  /** The notifier's clock: a fixed start, moved by `advance` and by every wait of the Telegram client. */
  advance(ms: number): void;
  now(): number;
  /** One invocation of the notifier's Lambda entry with `event`, its context saying `remainingMs` are left. */
  invoke(event: NotifierEvent, remainingMs?: number): Promise<SQSBatchResponse | undefined>;
}

export interface BuildOptions {
  /** Shared with an earlier build: the same table, as a retry on another container sees it. */
  readonly store?: NotifyStore;
  /** The clock to go on from (another build's `now()`). */
  readonly startAt?: number;
  /** Instead of the Telegram client on the fake: a stand-in (one that never answers, as a frozen container). */
  readonly telegram?: (client: TelegramClient) => Pick<TelegramClient, 'sendMessage'>;
}

/** What a notifier invocation has left by default in these tests: the deployed timeout, less a little. */
export const INVOCATION_MS = 110_000;

/**
 * The fake Telegram for a test file (reset before each test), and `build()`: the notifier as the function builds it,
 * with the in-memory store, recording queues, an injected clock and a sleep that returns at once (moving the clock).
 * `env` overrides the notifier's settings (the bot token and chat id default to the fake's).
 */
export function notifierHarness() {
  const state: { telegram?: FakeTelegram } = {};
  const telegram = (): FakeTelegram => {
    if (state.telegram === undefined) throw new Error('notifierHarness: used outside its tests');
    return state.telegram;
  };
  beforeAll(async () => {
    state.telegram = await startFakeTelegram();
  });
  afterAll(async () => {
    await state.telegram?.close();
  });
  beforeEach(() => {
    telegram().reset();
  });

  const build = (env: Record<string, string> = {}, options: BuildOptions = {}): NotifierUnderTest => {
    const waits: number[] = [];
    let clock = options.startAt ?? Date.parse('2025-01-31T10:00:00.000Z');
    const store = options.store ?? new MemoryNotifyStore();
    const queues = {
      alor: new RecordingQueue(),
      tinkoff: new RecordingQueue(),
      own: new RecordingQueue(),
      deadLetters: new RecordingQueue(),
    };
    const config = loadNotifierConfig({
      [NOTIFY_ENV.telegramBotToken]: FAKE_TELEGRAM.botToken,
      [NOTIFY_ENV.telegramChatId]: FAKE_TELEGRAM.chatId,
      [NOTIFY_ENV.telegramApiUrl]: telegram().url,
      ...env,
    });
    const client = new TelegramClient({
      dispatcher: createKeepAliveAgent(),
      apiUrl: config.apiUrl,
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
      now: () => clock,
    });
    const notifier = createNotifier({
      config,
      secrets: new ValueStore({ ttlMs: config.secretsCacheTtlMs, sdk: loadedStoreSdk }),
      telegram: options.telegram?.(client) ?? client,
      store,
      followUpQueues: { alor: queues.alor, tinkoff: queues.tinkoff },
      queue: queues.own,
      deadLetters: queues.deadLetters,
      now: () => clock,
    });
    return {
      notifier,
      store,
      queues,
      waits,
      advance: (ms) => {
        clock += ms;
      },
      now: () => clock,
      invoke: (event, remainingMs = INVOCATION_MS) =>
        handleNotifierEvent(notifier, event, { getRemainingTimeInMillis: () => remainingMs }),
    };
  };

  return { telegram, build };
}

/** The functions' log lines of this test delivered to the notifier, as CloudWatch Logs delivers them. */
export async function deliverWebhookLines(under: NotifierUnderTest): Promise<void> {
  const lines = logLineTexts().filter((line) => line.includes('"message":"webhook answered"'));
  await handleNotifierEvent(under.notifier, cloudWatchLogsEvent(lines));
}
