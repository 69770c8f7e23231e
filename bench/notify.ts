import { pathToFileURL } from 'node:url';
import { FAKE_TELEGRAM, type FakeTelegram } from '#local/fake-telegram.ts';
import { type Broker, NOTIFY_ENV } from '#shared/facts.ts';
import type { WebhookHandler } from '#shared/http/inbound/webhook-handler.ts';
import { createKeepAliveAgent } from '#shared/http/outbound/client.ts';
import { loadNotifierConfig } from '#shared/notify/config.ts';
import { createNotifier, type Notifier } from '#shared/notify/notifier.ts';
import { MemoryNotifyStore } from '#shared/notify/notify-store.ts';
import type { MessageQueue } from '#shared/notify/queue.ts';
import { TelegramClient } from '#shared/notify/telegram.ts';
import { loadedStoreSdk } from '#shared/store/sdk-modules.ts';
import { ValueStore } from '#shared/store/value-store.ts';
import { round, type Spread, spread } from './stats.ts';
import { ORDER_BODIES, webhookEvent } from './warm.ts';

/**
 * The webhook's answer latency with Telegram messages off and on, side by side in one run. Two fresh instances of
 * the same bundle (two containers) answer alternately, one call each in turn, so both see the same machine noise; the
 * log lines written during the "on" instance's calls go to the notifier, here in this same process (its work, its
 * calls to the fake Telegram and the fake Telegram's answers all share the one event loop with the handlers: on AWS
 * the notifier is another function, fed by a log subscription, so this is the unfavourable case). Follow-ups are
 * queued nowhere here: their lookups run in their own functions.
 */

export interface NotifyOptions {
  readonly invocations: number;
  readonly warmupOrders: number;
  readonly maxPhaseMs: number;
}

export interface LatencyFigures {
  /** The instance's first order: Alor refreshes its access token here. */
  readonly firstOrderMs: number;
  readonly warmMs: Spread;
}

export interface NotifyFigures {
  readonly off: LatencyFigures;
  readonly on: LatencyFigures;
  readonly invocations: number;
  /** Calls of the "on" instance, warm-up and first order included. */
  readonly onCalls: number;
  /** Messages the fake Telegram accepted: one per "on" call, or the notifier missed some. */
  readonly messages: number;
}

/** Where the benchmark's stdout tap sends the functions' log lines; set while the "on" instance answers. */
export interface LineTap {
  feed: ((line: string) => void) | undefined;
}

const noQueue: MessageQueue = { send: async () => undefined };

export function createBenchNotifier(telegram: FakeTelegram): Notifier {
  const config = loadNotifierConfig({
    [NOTIFY_ENV.telegramBotToken]: FAKE_TELEGRAM.botToken,
    [NOTIFY_ENV.telegramChatId]: FAKE_TELEGRAM.chatId,
    [NOTIFY_ENV.telegramApiUrl]: telegram.url,
    [NOTIFY_ENV.kinds]: 'all',
  });
  return createNotifier({
    config,
    secrets: new ValueStore({ ttlMs: config.secretsCacheTtlMs, sdk: loadedStoreSdk }),
    telegram: new TelegramClient({ dispatcher: createKeepAliveAgent(), apiUrl: config.apiUrl }),
    store: new MemoryNotifyStore(),
    followUpQueues: { alor: noQueue, tinkoff: noQueue },
    queue: noQueue,
    deadLetters: noQueue,
  });
}

/** A fresh instance of the bundle: its own module graph, as a new container has. */
async function freshInstance(file: string, name: string): Promise<WebhookHandler> {
  const module = (await import(`${pathToFileURL(file).href}?instance=${name}`)) as { handler: WebhookHandler };
  return module.handler;
}

export async function measureNotify(
  broker: Broker,
  file: string,
  secret: string,
  notifier: Notifier,
  telegram: FakeTelegram,
  tap: LineTap,
  options: NotifyOptions,
): Promise<NotifyFigures> {
  const pending = new Set<Promise<void>>();
  const feed = (line: string) => {
    const handled = notifier.handleLogLines([line]).finally(() => pending.delete(handled));
    pending.add(handled);
  };
  const handlers = { off: await freshInstance(file, `${broker}-off`), on: await freshInstance(file, `${broker}-on`) };
  const messagesBefore = telegram.messages.length;
  let onCalls = 0;

  const call = async (which: 'off' | 'on'): Promise<number> => {
    tap.feed = which === 'on' ? feed : undefined;
    const startedAt = performance.now();
    const response = await handlers[which](webhookEvent(broker, ORDER_BODIES[broker], secret));
    const ms = performance.now() - startedAt;
    tap.feed = undefined;
    if (response.statusCode !== 200) throw new Error(`order answered ${response.statusCode} ${response.body}`);
    if (which === 'on') onCalls += 1;
    return ms;
  };

  const firstOff = await call('off');
  const firstOn = await call('on');
  const warmupStartedAt = performance.now();
  for (let i = 0; i < options.warmupOrders && performance.now() - warmupStartedAt < options.maxPhaseMs; i += 1) {
    await call('off');
    await call('on');
  }
  const samples = { off: [] as number[], on: [] as number[] };
  const startedAt = performance.now();
  while (samples.on.length < options.invocations && performance.now() - startedAt < options.maxPhaseMs) {
    // Alternate which goes first, so neither always follows the other's notifier work.
    const order: ('off' | 'on')[] = samples.on.length % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
    for (const which of order) samples[which].push(await call(which));
  }
  while (pending.size > 0) await Promise.all(pending);

  return {
    off: { firstOrderMs: round(firstOff), warmMs: spread(samples.off) },
    on: { firstOrderMs: round(firstOn), warmMs: spread(samples.on) },
    invocations: samples.on.length,
    onCalls,
    messages: telegram.messages.length - messagesBefore,
  };
}
