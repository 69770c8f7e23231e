import { describe, expect, it } from 'vitest';
import { PAPER_ALOR, PAPER_TINKOFF } from '#local/paper-broker/index.ts';
import { alarmNotification, toSnsEvent } from '#local/sns-event.ts';
import { toSqsEvent } from '#local/sqs-event.ts';
import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { createTinkoffHandler } from '#shared/brokers/tinkoff/index.ts';
import { type Broker, ENV, NOTIFY_ENV, NOTIFY_LANGUAGES, NOTIFY_WINDOW_SECONDS } from '#shared/facts.ts';
import { ALARM_SOURCES, alarmName, WATCHED_CAUSES } from '#shared/notify/alarms.ts';
import type { WindowKind } from '#shared/notify/events.ts';
import { handleNotifierEvent } from '#shared/notify/lambda.ts';
import { DELIVERY_ATTEMPTS } from '#shared/notify/notifier.ts';
import { WindowFlushSchema } from '#shared/notify/queue.ts';
import { MAX_ATTEMPTS, type SendResult, type TelegramClient } from '#shared/notify/telegram.ts';
import { loadedStoreSdk } from '#shared/store/sdk-modules.ts';
import { ValueStore } from '#shared/store/value-store.ts';
import { apiGatewayEvent, SCHEDULED_EVENT } from '../helpers/events.ts';
import { alorPaperEnv, type Env, importHandler, TEST_WEBHOOK_SECRET, tinkoffPaperEnv } from '../helpers/handlers.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { logLines } from '../helpers/logs.ts';
import {
  cloudWatchLogsEvent,
  INVOCATION_MS,
  logLineTexts,
  type NotifierUnderTest,
  notifierHarness,
} from '../helpers/notify.ts';

/**
 * The notifier end to end, as deployed but in one process: a signal goes through the real exported handler (paper
 * brokers on 127.0.0.1), the handler's log lines go to the notifier as a CloudWatch Logs delivery (gzip, base64), and
 * the messages go to the fake Telegram, which parses them as Telegram does. What the chat shows is asserted.
 */

const AUTH = { 'x-webhook-secret': TEST_WEBHOOK_SECRET };
const ORDERS: Record<Broker, Record<string, unknown>> = {
  alor: { t: 'AAPL', p: 150.5, v: 2, d: 'buy' },
  tinkoff: { t: 'SBER', p: '250.5', v: 1, d: 'sell', f: 'BBG004730N88' },
};

const paper = usePaperBrokers();
const harness = notifierHarness();

const paperEnv = (broker: Broker): Env => (broker === 'alor' ? alorPaperEnv(paper) : tinkoffPaperEnv(paper));

/** Sends a signal through the broker's handler (a cold container with the paper settings plus `overrides`). */
async function call(broker: Broker, body: unknown, overrides: Env = {}, headers: Record<string, string> = AUTH) {
  const handler = await importHandler(broker, { ...paperEnv(broker), ...overrides });
  return handler(apiGatewayEvent({ route: `POST /${broker}`, body: JSON.stringify(body), headers }));
}

/** The webhook lines of this test so far, as one CloudWatch Logs delivery. */
function webhookLines() {
  return cloudWatchLogsEvent(logLineTexts().filter((line) => line.includes('"message":"webhook answered"')));
}

/** The webhook lines of this test so far, delivered to the notifier once (one invocation of its Lambda entry). */
async function deliver(under: NotifierUnderTest): Promise<void> {
  await under.invoke(webhookLines());
}

/** Lambda's retries of a failed asynchronous invocation come after about a minute, then two. */
const ASYNC_RETRY_DELAY_MS = 60_000;
/** The window the harness's clock starts in. */
const FIRST_WINDOW = Date.parse('2025-01-31T10:00:00Z');

/** One flush queued for the first window of `kind` at `broker`, delayed to the window's end. */
function expectOneFlushQueued(under: NotifierUnderTest, kind: WindowKind, broker: Broker): void {
  expect(under.queues.own.sent).toEqual([
    { delaySeconds: NOTIFY_WINDOW_SECONDS, body: { type: 'window-flush', kind, broker, windowStart: FIRST_WINDOW } },
  ]);
}

const texts = () => harness.telegram().messages.map((message) => message.text);

const REPLAY_NOTE = 'Повтор сигнала: брокер вернул первую заявку, вторая не выставлялась.';

/** One order placed for the 5 resends of this test: one "placed" message, 4 told as replays, one follow-up queued. */
function expectToldOnce(under: NotifierUnderTest, broker: Broker): void {
  const placedLines = logLines().filter((line) => line.outcome === 'placed');
  expect(placedLines.map((line) => line.replayed)).toEqual([false, true, true, true, true]);
  expect(new Set(placedLines.map((line) => line.brokerOrderId)).size).toBe(1);
  const orderId = placedLines[0]?.brokerOrderId;
  const orders =
    broker === 'alor'
      ? paper.alor.orders.filter((order) => order.orderNumber === orderId)
      : paper.tinkoff.orders.filter((order) => order.orderId === orderId);
  expect(orders).toHaveLength(1);
  expect(texts()).toHaveLength(5);
  expect(texts().filter((text) => !text.includes(REPLAY_NOTE))).toHaveLength(1);
  expect(texts().filter((text) => text.includes(REPLAY_NOTE))).toHaveLength(4);
  expect(under.queues[broker].sent).toHaveLength(1);
}

describe('notifier: one message per outcome, through the real handlers', () => {
  it.each([
    ['alor', '✅ Заявка выставлена · Alor\nПокупка AAPL (SPBX) · 2 лота · 150.5\nзаявка брокера № '],
    ['tinkoff', '✅ Заявка выставлена · T-Invest\nПродажа SBER (BBG004730N88) · 1 лот · 250.5\nзаявка брокера № '],
  ] as const)(
    'placed at %s: the order, its broker id and the time to answer; a follow-up is queued',
    async (broker, text) => {
      const under = harness.build();
      const answer = await call(broker, ORDERS[broker]);
      expect(answer.statusCode).toBe(200);

      await deliver(under);

      const orderId = broker === 'alor' ? paper.alor.orders.at(-1)?.orderNumber : paper.tinkoff.orders.at(-1)?.orderId;
      expect(texts()).toEqual([
        expect.stringMatching(new RegExp(`^${escapeRegExp(text)}${orderId} · ответ за \\d+ мс$`)),
      ]);
      expect(under.queues[broker].sent).toEqual([
        {
          delaySeconds: 10,
          body: expect.objectContaining({ type: 'follow-up', broker, brokerOrderId: orderId, delaySeconds: 10 }),
        },
      ]);
    },
  );

  const outcomes: [string, Broker, () => Promise<unknown>, string][] = [
    [
      'refused, with the broker reason',
      'alor',
      () => call('alor', { ...ORDERS.alor, t: 'NOPE' }),
      '⛔ Брокер отклонил заявку · Alor\nПокупка NOPE (SPBX) · 2 лота · 150.5\nПричина: Инструмент NOPE не найден на SPBX',
    ],
    [
      'invalid payload',
      'tinkoff',
      () => call('tinkoff', { t: 'SBER', p: -1, v: 1, d: 'buy', f: 'BBG004730N88' }),
      '⚠️ Сигнал отклонён: некорректные данные (400) · T-Invest\nЗаявка не выставлена. Проверьте поля сигнала в виджете:\n' +
        '• p: must be a finite number above zero',
    ],
    [
      'broker unavailable (502)',
      'tinkoff',
      () => {
        paper.tinkoff.injectFault({ route: 'order', fault: { kind: 'status', status: 500, body: '' } });
        return call('tinkoff', ORDERS.tinkoff);
      },
      '❌ Брокер недоступен (502) · T-Invest\nПродажа SBER (BBG004730N88) · 1 лот · 250.5\n' +
        'Заявка, скорее всего, не выставлена (PostOrder HTTP 500). Проверьте терминал брокера, прежде чем повторять сигнал.',
    ],
    [
      'broker timeout (504)',
      'alor',
      () => {
        paper.alor.injectFault({ route: 'order', fault: { kind: 'hang-before-headers' } });
        return call('alor', ORDERS.alor, { [ENV.brokerTimeoutMs]: '300' });
      },
      '❌ Брокер не ответил вовремя (504) · Alor\nПокупка AAPL (SPBX) · 2 лота · 150.5\n' +
        'Заявка могла быть выставлена: проверьте терминал брокера, прежде чем повторять сигнал.',
    ],
    [
      'credential rejected',
      'alor',
      () => call('alor', ORDERS.alor, { [ENV.alorRefreshToken]: 'revoked-refresh-token' }),
      '❌ Брокер не принял токен · Alor\nПокупка AAPL (SPBX) · 2 лота · 150.5\n' +
        'Заявка не выставлена. Выпустите новый токен у брокера и сохраните его: npm run secrets -- set alor-refresh-token',
    ],
    [
      'internal error (500)',
      'tinkoff',
      async () => {
        // The real handler with a secret store that fails: the token cannot be read, no value is known.
        const failing = Object.assign(new Error('store down'), { name: 'InternalServiceError' });
        const store = new ValueStore({
          ttlMs: 1000,
          sdk: loadedStoreSdk,
          clients: () => ({
            secretsManager: { send: () => Promise.reject(failing) },
            ssm: { send: () => Promise.reject(failing) },
          }),
        });
        const config = loadTinkoffConfig({ ...paperEnv('tinkoff'), [ENV.tinkoffTokenSecretId]: 'ppp/tinkoff/token' });
        const handler = createTinkoffHandler(config, { store });
        return handler(
          apiGatewayEvent({ route: 'POST /tinkoff', body: JSON.stringify(ORDERS.tinkoff), headers: AUTH }),
        );
      },
      '❌ Внутренняя ошибка (500) · T-Invest\nПродажа SBER (BBG004730N88) · 1 лот · 250.5\n' +
        'Проверьте журнал функции (InternalServiceError) и терминал брокера, прежде чем повторять сигнал.',
    ],
    [
      'not configured (404)',
      'alor',
      () => call('alor', ORDERS.alor, { [ENV.alorPortfolio]: '' }),
      '⚙️ Не настроено (404) · Alor\nНе задан счёт (портфель). Задайте его: npm run secrets -- set alor-portfolio',
    ],
    [
      'dry run',
      'tinkoff',
      () => call('tinkoff', ORDERS.tinkoff, { [ENV.dryRun]: 'true' }),
      '🧪 Проверка без заявки (DRY_RUN) · T-Invest\nПродажа SBER (BBG004730N88) · 1 лот · 250.5\n' +
        'Всё проверено, заявка брокеру не отправлялась.',
    ],
  ];

  it.each(outcomes)('%s at %s: exactly one message with the right text', async (_case, _broker, act, text) => {
    const under = harness.build();
    await act();

    await deliver(under);

    expect(texts()).toEqual([text]);
    expect(under.queues.alor.sent).toEqual([]);
    expect(under.queues.tinkoff.sent).toEqual([]);
  });

  it('tells check pings only when NOTIFY_KINDS asks for them (not by default)', async () => {
    const quiet = harness.build();
    await call('alor', { check: true });
    await deliver(quiet);
    expect(texts()).toEqual([]);

    const all = harness.build({ [NOTIFY_ENV.kinds]: 'all' });
    await deliver(all);
    expect(texts()).toEqual(['🔔 Проверка связи (check): 200 OK · Alor']);
  });

  it('tells in English with NOTIFY_LANGUAGE=en, and only the kinds NOTIFY_KINDS names', async () => {
    const under = harness.build({ [NOTIFY_ENV.language]: 'en', [NOTIFY_ENV.kinds]: 'refused' });
    await call('alor', ORDERS.alor);
    await call('alor', { ...ORDERS.alor, t: 'NOPE' });

    await deliver(under);

    expect(texts()).toEqual([
      '⛔ The broker refused the order · Alor\nBuy NOPE (SPBX) · 2 lots · 150.5\nReason: Инструмент NOPE не найден на SPBX',
    ]);
    expect(under.queues.alor.sent).toEqual([]);
  });
});

describe('notifier: keep-warm', () => {
  it("says nothing of a keep-warm turn (outcome 'keep-warm'), even with every kind asked for", async () => {
    const under = harness.build({ [NOTIFY_ENV.kinds]: 'all' });
    const handler = await importHandler('alor', paperEnv('alor'));
    expect(await handler(SCHEDULED_EVENT)).toMatchObject({ statusCode: 200 });
    expect(logLines()).toEqual([expect.objectContaining({ message: 'keep-warm', outcome: 'keep-warm' })]);

    await handleNotifierEvent(under.notifier, cloudWatchLogsEvent(logLineTexts()));

    expect(texts()).toEqual([]);
    expect(under.queues.alor.sent).toEqual([]);
  });
});

describe('notifier: at most once, whatever is delivered twice', () => {
  it('tells one log event delivered twice once, and queues its follow-up once', async () => {
    const under = harness.build();
    await call('tinkoff', ORDERS.tinkoff);

    await deliver(under);
    await deliver(under);

    expect(texts()).toHaveLength(1);
    expect(under.queues.tinkoff.sent).toHaveLength(1);
  });

  it('tells a resent signal (same key, no second order) as a replay, and queues no second follow-up', async () => {
    const under = harness.build();
    const keyed = { ...ORDERS.alor, id: `replay-${Date.now()}` };
    await call('alor', keyed);
    await call('alor', keyed);

    await deliver(under);

    expect(texts()).toHaveLength(2);
    expect(texts()[1]).toContain('Повтор сигнала: брокер вернул первую заявку, вторая не выставлялась.');
    expect(under.queues.alor.sent).toHaveLength(1);
  });

  it('tells 5 resends of one T-Invest signal (one container) as 1 order, 1 placed message, 4 replays and 1 follow-up', async () => {
    const under = harness.build();
    const handler = await importHandler('tinkoff', paperEnv('tinkoff'));
    const keyed = { ...ORDERS.tinkoff, id: `tinvest-replay-${Date.now()}` };
    for (let resend = 0; resend < 5; resend += 1) {
      const answer = await handler(
        apiGatewayEvent({ route: 'POST /tinkoff', body: JSON.stringify(keyed), headers: AUTH }),
      );
      expect(answer.statusCode).toBe(200);
    }

    await deliver(under);

    expectToldOnce(under, 'tinkoff');
  });

  it('tells 20 unauthorized calls within a minute as one message with the count, when the window is flushed', async () => {
    const under = harness.build();
    for (let call = 0; call < 20; call += 1) {
      const handler = await importHandler('alor', paperEnv('alor'));
      await handler(
        apiGatewayEvent({ route: 'POST /alor', body: '{"check":true}', headers: { 'x-webhook-secret': 'wrong' } }),
      );
    }

    await deliver(under);
    await deliver(under);
    expect(texts()).toEqual([]);
    expectOneFlushQueued(under, 'unauthorized', 'alor');

    under.advance(NOTIFY_WINDOW_SECONDS * 1000);
    const flush = WindowFlushSchema.parse(under.queues.own.sent[0]?.body);
    await under.notifier.handleFlush(flush);
    await under.notifier.handleFlush(flush);

    expect(texts()).toEqual([
      '🚫 Вызовы без верного секрета: 20 · Alor\n' +
        'С 10:00:00 по 10:10:00 (UTC). Если это вы — проверьте секрет в виджете; если нет — кто-то подбирает ссылку.',
    ]);
  });

  it('opens a new window for a call after the flush, told after its own window', async () => {
    const under = harness.build();
    const unauthorized = async () => {
      const handler = await importHandler('tinkoff', paperEnv('tinkoff'));
      await handler(apiGatewayEvent({ route: 'POST /tinkoff', body: '{}', headers: {} }));
      await deliver(under);
    };
    await unauthorized();
    under.advance(NOTIFY_WINDOW_SECONDS * 1000);
    await under.notifier.handleFlush(WindowFlushSchema.parse(under.queues.own.sent[0]?.body));
    await unauthorized();

    expect(texts()).toHaveLength(1);
    expect(under.queues.own.sent).toHaveLength(2);
  });
});

describe('notifier: Telegram on a bad day', () => {
  it('waits retry_after on 429, then delivers', async () => {
    const under = harness.build();
    harness.telegram().injectFault({ kind: 'rate-limited', retryAfter: 5 });
    await call('alor', ORDERS.alor);

    await deliver(under);

    expect(under.waits).toEqual([5000]);
    expect(texts()).toHaveLength(1);
  });

  it('with Telegram down, the order is still answered 200 and placed; the delivery fails so that it comes again', async () => {
    const under = harness.build();
    harness.telegram().injectFault({ kind: 'down' }, 100);
    const before = paper.tinkoff.orders.length;

    const answer = await call('tinkoff', ORDERS.tinkoff);
    await expect(deliver(under)).rejects.toThrow('1 event(s) not handled');

    expect(answer).toMatchObject({ statusCode: 200, body: '200 OK' });
    expect(paper.tinkoff.orders.length).toBe(before + 1);
    expect(texts()).toEqual([]);
    expect(under.queues.deadLetters.sent).toEqual([]);
    // The follow-up does not wait for the message.
    expect(under.queues.tinkoff.sent).toHaveLength(1);
  });

  it('lets a failed dead-letter write fail the delivery, so it comes again and is told then', async () => {
    const under = harness.build();
    harness.telegram().injectFault({ kind: 'status', status: 400 });
    under.queues.deadLetters.failing = true;
    await call('alor', ORDERS.alor);

    await expect(deliver(under)).rejects.toThrow('1 event(s) not handled');
    under.queues.deadLetters.failing = false;
    await deliver(under);

    expect(texts()).toHaveLength(1);
  });

  it('is off while the bot token or chat id holds no value: no message, no follow-up', async () => {
    const under = harness.build({ [NOTIFY_ENV.telegramBotToken]: '' });
    await call('alor', ORDERS.alor);

    await deliver(under);

    expect(harness.telegram().requests).toEqual([]);
    expect(under.queues.alor.sent).toEqual([]);
    expect(logLines()).toContainEqual(expect.objectContaining({ message: expect.stringMatching(/^notifier is off/) }));
  });
});

describe('notifier: at least once, whatever crashes', () => {
  /** A Telegram stand-in for an invocation Lambda ends at its timeout: the send never returns, nothing after it runs. */
  const frozenSend = (then?: (send: () => Promise<SendResult>) => Promise<unknown>) => {
    let reached: () => void = () => undefined;
    const sendReached = new Promise<void>((resolve) => {
      reached = resolve;
    });
    return {
      sendReached,
      telegram: (client: Pick<TelegramClient, 'sendMessage'>) => ({
        sendMessage: async (...args: Parameters<typeof client.sendMessage>) => {
          await then?.(() => client.sendMessage(...args));
          reached();
          return new Promise<SendResult>(() => undefined);
        },
      }),
    };
  };

  it('a timeout after the claim: the message arrives on the retry, once the lease has run out with the invocation', async () => {
    await call('alor', ORDERS.alor);
    const freeze = frozenSend();
    const frozen = harness.build({}, { telegram: freeze.telegram });
    void frozen.invoke(webhookLines(), 30_000);
    await freeze.sendReached;
    expect(texts()).toEqual([]);

    // The same event delivered again meanwhile: the live lease says someone is at it, and nothing is sent twice.
    const concurrent = harness.build({}, { store: frozen.store, startAt: frozen.now() + 1000 });
    await concurrent.invoke(webhookLines());
    expect(texts()).toEqual([]);
    expect(logLines()).toContainEqual(
      expect.objectContaining({ message: 'notifier skipped a repeated event', status: 'held' }),
    );

    // Lambda's retry of the timed-out invocation, a minute after its timeout: the lease ran out with it.
    const retry = harness.build({}, { store: frozen.store, startAt: frozen.now() + 30_000 + ASYNC_RETRY_DELAY_MS });
    await retry.invoke(webhookLines());
    expect(texts()).toEqual([expect.stringMatching(/^✅ Заявка выставлена · Alor\n/)]);

    await retry.invoke(webhookLines());
    expect(texts()).toHaveLength(1);
  });

  it("a timeout between Telegram's answer and the mark: the retry sends it again (a duplicate, never a loss)", async () => {
    await call('tinkoff', ORDERS.tinkoff);
    const freeze = frozenSend((send) => send());
    const frozen = harness.build({}, { telegram: freeze.telegram });
    void frozen.invoke(webhookLines(), 30_000);
    await freeze.sendReached;
    expect(texts()).toHaveLength(1);

    const retry = harness.build({}, { store: frozen.store, startAt: frozen.now() + 30_000 + ASYNC_RETRY_DELAY_MS });
    await retry.invoke(webhookLines());
    expect(texts()).toEqual([texts()[0], texts()[0]]);
  });

  it('a send that cannot finish in the time left (429 asking for longer) goes back for the retry, and is told then', async () => {
    const under = harness.build();
    harness.telegram().injectFault({ kind: 'rate-limited', retryAfter: 20 });
    await call('alor', { ...ORDERS.alor, t: 'NOPE' });

    // 25 s left: the notifier keeps 10 s for its writes, so a 20 s wait does not fit.
    await expect(under.invoke(webhookLines(), 25_000)).rejects.toThrow('1 event(s) not handled');
    expect(under.waits).toEqual([]);
    expect(logLines()).toContainEqual(
      expect.objectContaining({ message: 'notifier could not send a message', invocation: 1, next: 'retry' }),
    );

    under.advance(ASYNC_RETRY_DELAY_MS);
    await under.invoke(webhookLines());
    expect(texts()).toEqual([expect.stringMatching(/^⛔ Брокер отклонил заявку · Alor/)]);
  });

  it('Telegram down for the whole retry budget: the message in the dead-letter queue, and its alarm told once Telegram is back', async () => {
    const under = harness.build();
    harness.telegram().injectFault({ kind: 'down' }, 100);
    await call('alor', ORDERS.alor);

    // The invocation and Lambda's two retries of it: the first two fail (the notifier's error alarm counts them) ...
    await expect(deliver(under)).rejects.toThrow('1 event(s) not handled');
    under.advance(ASYNC_RETRY_DELAY_MS);
    await expect(deliver(under)).rejects.toThrow('1 event(s) not handled');
    under.advance(2 * ASYNC_RETRY_DELAY_MS);
    // ... the last puts the message on the dead-letter queue.
    await deliver(under);

    expect(harness.telegram().requests).toHaveLength(DELIVERY_ATTEMPTS * MAX_ATTEMPTS);
    expect(under.queues.deadLetters.sent).toEqual([
      {
        delaySeconds: 0,
        body: {
          type: 'undelivered',
          key: expect.stringMatching(/#placed$/),
          reason: expect.stringMatching(/^network /),
          attempts: DELIVERY_ATTEMPTS,
          html: expect.stringContaining('Заявка выставлена'),
        },
      },
    ]);
    await deliver(under);
    expect(under.queues.deadLetters.sent).toHaveLength(1);

    // The dead-letter queue's alarm, through SNS, once Telegram answers again.
    harness.telegram().clearFaults();
    const alarm = alarmNotification({
      alarmName: alarmName('PppWebhooks', 'notifier', 'dead-letters'),
      value: 1,
      time: new Date(under.now()),
      metric: { kind: 'queue', queueName: 'PppWebhooks-NotificationsDeadLetters' },
    });
    await under.invoke(toSnsEvent([alarm]));
    expect(texts()).toEqual([
      '📥 Сообщения в очереди недоставленных · уведомления\n' +
        'В очереди PppWebhooks-NotificationsDeadLetters: 1\n' +
        'Сообщения, которые Telegram не принял, и события, которые не удалось обработать, хранятся 14 дней. ' +
        'Проверьте бота: npm run notify -- test --deployed.\n' +
        'Пока это продолжается, повторных сообщений не будет.',
    ]);
  });

  it('a Telegram refusal meant for good (400) goes to the dead-letter queue at once', async () => {
    const under = harness.build({ [NOTIFY_ENV.telegramChatId]: '42' });
    await call('alor', ORDERS.alor);

    await deliver(under);

    expect(under.queues.deadLetters.sent).toEqual([
      {
        delaySeconds: 0,
        body: expect.objectContaining({ reason: 'HTTP 400 Bad Request: chat not found', attempts: 1 }),
      },
    ]);
  });

  it('a failed flush: the count arrives later, and calls after the window closed count in the next one', async () => {
    const under = harness.build();
    const unauthorized = async () => {
      const handler = await importHandler('alor', paperEnv('alor'));
      await handler(apiGatewayEvent({ route: 'POST /alor', body: '{}', headers: { 'x-webhook-secret': 'wrong' } }));
    };
    for (let count = 0; count < 20; count += 1) await unauthorized();
    await deliver(under);
    const flush = toSqsEvent([under.queues.own.sent[0]?.body]);

    under.advance(NOTIFY_WINDOW_SECONDS * 1000);
    harness.telegram().injectFault({ kind: 'status', status: 502 }, 100);
    expect(await under.invoke(flush)).toEqual({ batchItemFailures: [{ itemIdentifier: flush.Records[0]?.messageId }] });
    expect(texts()).toEqual([]);

    await unauthorized();
    await deliver(under);
    expect(under.queues.own.sent.map((sent) => sent.body)).toEqual([
      expect.objectContaining({ windowStart: FIRST_WINDOW }),
      expect.objectContaining({ windowStart: Date.parse('2025-01-31T10:10:00Z') }),
    ]);

    // SQS hands the flush over again once its visibility timeout is over.
    harness.telegram().clearFaults();
    under.advance(12 * 60_000);
    expect(await under.invoke(flush)).toEqual({ batchItemFailures: [] });
    expect(await under.invoke(flush)).toEqual({ batchItemFailures: [] });
    expect(texts()).toEqual([
      '🚫 Вызовы без верного секрета: 20 · Alor\n' +
        'С 10:00:00 по 10:10:00 (UTC). Если это вы — проверьте секрет в виджете; если нет — кто-то подбирает ссылку.',
    ]);
  });

  it('a flush that times out after closing its window: the retry tells the same count', async () => {
    const first = harness.build();
    await call('tinkoff', {}, {}, {});
    await first.invoke(webhookLines());
    const flush = toSqsEvent([first.queues.own.sent[0]?.body]);

    const freeze = frozenSend();
    const frozen = harness.build(
      {},
      { store: first.store, startAt: first.now() + NOTIFY_WINDOW_SECONDS * 1000, telegram: freeze.telegram },
    );
    void frozen.invoke(flush, 30_000);
    await freeze.sendReached;

    const retry = harness.build({}, { store: first.store, startAt: frozen.now() + 12 * 60_000 });
    expect(await retry.invoke(flush)).toEqual({ batchItemFailures: [] });
    expect(texts()).toEqual([expect.stringMatching(/^🚫 Вызовы без верного секрета: 1 · T-Invest\n/)]);
  });

  it('tells 403s from outside the allow-list as one message per window, with the count and the latest address', async () => {
    const under = harness.build();
    for (const sourceIp of ['198.51.100.7', '198.51.100.8', '198.51.100.9']) {
      const handler = await importHandler('tinkoff', { ...paperEnv('tinkoff'), [ENV.allowedSourceIps]: 'tradingview' });
      const answer = await handler(
        apiGatewayEvent({ route: 'POST /tinkoff', body: JSON.stringify(ORDERS.tinkoff), headers: AUTH, sourceIp }),
      );
      expect(answer).toMatchObject({ statusCode: 403 });
    }

    await deliver(under);
    await deliver(under);
    expect(texts()).toEqual([]);
    expectOneFlushQueued(under, 'forbidden-source', 'tinkoff');

    under.advance(NOTIFY_WINDOW_SECONDS * 1000);
    const flush = toSqsEvent(under.queues.own.sent.map((sent) => sent.body));
    await under.invoke(flush);
    await under.invoke(flush);
    expect(texts()).toEqual([
      '🛡️ Вызовы с адресов вне списка (403): 3 · T-Invest\n' +
        'С 10:00:00 по 10:10:00 (UTC), последний — с 198.51.100.9. Если это ваш виджет или TradingView сменил адреса — ' +
        'добавьте их в allowedSourceIps (локально ALLOWED_SOURCE_IPS) и разверните стек заново; если нет — ссылку вызывает кто-то другой.',
    ]);
  });
});

describe("notifier: the stack's alarms, through SNS", () => {
  const alarmEvent = (source: (typeof ALARM_SOURCES)[number], cause: string, time: number, state?: 'OK') =>
    toSnsEvent([
      alarmNotification({
        alarmName: `PppWebhooks-${source}-${cause}`,
        value: 2,
        time: new Date(time),
        ...(state === undefined ? {} : { state }),
        ...(cause.endsWith('dead-letters') ? { metric: { kind: 'queue', queueName: `${source}-dlq` } as const } : {}),
      }),
    ]);

  it.each(ALARM_SOURCES.flatMap((source) => WATCHED_CAUSES[source].map((cause) => [source, cause] as const)))(
    '%s %s: one message, however often SNS delivers the notification',
    async (source, cause) => {
      const under = harness.build();
      const event = alarmEvent(source, cause, under.now());

      await under.invoke(event);
      await under.invoke(event);

      expect(texts()).toHaveLength(1);
      const [titleLine, countLine] = texts()[0]?.split('\n') ?? [];
      expect(titleLine).toMatch(/ · (вебхук|проверка заявок|уведомления)/);
      expect(countLine).toMatch(
        cause.endsWith('dead-letters') ? /^В очереди .+-dlq: 2$/ : /^2 раза за 10 мин до 10:00:00 \(UTC\)$/,
      );
    },
  );

  it('says nothing of an alarm going back to OK, nor of any alarm when NOTIFY_KINDS leaves alarms out', async () => {
    const under = harness.build();
    await under.invoke(alarmEvent('alor-webhook', 'timeout', under.now(), 'OK'));
    const quiet = harness.build({ [NOTIFY_ENV.kinds]: 'placed' });
    await quiet.invoke(alarmEvent('alor-webhook', 'timeout', under.now()));
    expect(harness.telegram().requests).toEqual([]);
  });

  it('tells the same alarm again when it goes off again later, in English too', async () => {
    const under = harness.build({ [NOTIFY_ENV.language]: NOTIFY_LANGUAGES[1] });
    await under.invoke(alarmEvent('notifier', 'error', under.now()));
    await under.invoke(alarmEvent('notifier', 'error', under.now() + 25 * 60_000));
    expect(texts()).toEqual([
      expect.stringMatching(/^❌ The function failed · notifier\n2 times in the 10 minutes up to 10:00:00 UTC\n/),
      expect.stringMatching(/^❌ The function failed · notifier\n2 times in the 10 minutes up to 10:25:00 UTC\n/),
    ]);
  });

  it("an alarm that cannot be told in this invocation fails it, and Lambda's retry tells it", async () => {
    const under = harness.build();
    harness.telegram().injectFault({ kind: 'rate-limited', retryAfter: 45 });
    const event = alarmEvent('tinkoff-webhook', 'timeout', under.now());

    await expect(under.invoke(event, INVOCATION_MS)).rejects.toThrow('1 alarm(s) not handled');
    under.advance(ASYNC_RETRY_DELAY_MS);
    await under.invoke(event);

    expect(texts()).toEqual([expect.stringMatching(/^⏱️ Функция не уложилась в тайм-аут · вебхук T-Invest\n/)]);
  });
});

describe('notifier: canary', () => {
  it('puts no secret, JWT or broker token into any request to Telegram or any notifier log line', async () => {
    const under = harness.build({ [NOTIFY_ENV.kinds]: 'all' });
    harness.telegram().injectFault({ kind: 'status', status: 502 });
    await call('alor', ORDERS.alor);
    await call('alor', { ...ORDERS.alor, t: 'NOPE' });
    await call('alor', ORDERS.alor, { [ENV.alorRefreshToken]: 'revoked-refresh-token-0001' });
    await call('tinkoff', ORDERS.tinkoff);
    await call('tinkoff', { check: true }, {}, {});
    await call('tinkoff', ORDERS.tinkoff, { [ENV.tinkoffToken]: 't.rejected-token-0002' });
    const linesBefore = logLines().length;

    await deliver(under);

    const secrets = [
      TEST_WEBHOOK_SECRET,
      PAPER_ALOR.refreshToken,
      PAPER_TINKOFF.token,
      'revoked-refresh-token-0001',
      't.rejected-token-0002',
      ...paper.alor.issuedAccessTokens,
      'eyJhbGciOi',
    ];
    const botToken = harness.telegram().botToken;
    const toTelegram = harness
      .telegram()
      .requests.map((request) => `${request.path.replace(`/bot${botToken}/`, '/bot/')} ${request.body}`);
    const notifierLines = logLines()
      .slice(linesBefore)
      .map((line) => JSON.stringify(line));
    expect(texts().length).toBeGreaterThanOrEqual(5);
    expect(notifierLines.length).toBeGreaterThanOrEqual(5);
    for (const text of [...toTelegram, ...notifierLines]) {
      for (const secret of [...secrets, botToken]) expect(text).not.toContain(secret);
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('notifier: a T-Invest replay answered 30057, as T-Invest answers a repeated orderId', () => {
  const duplicates = usePaperBrokers({ tinkoff: { duplicateAsError: true } });

  it('tells 5 resends, each to a new container, as 1 order, 1 placed message, 4 replays and 1 follow-up', async () => {
    const under = harness.build();
    const keyed = { ...ORDERS.tinkoff, id: `tinvest-30057-${Date.now()}` };
    for (let resend = 0; resend < 5; resend += 1) {
      const handler = await importHandler('tinkoff', tinkoffPaperEnv(duplicates));
      const answer = await handler(
        apiGatewayEvent({ route: 'POST /tinkoff', body: JSON.stringify(keyed), headers: AUTH }),
      );
      expect(answer.statusCode).toBe(200);
    }

    await deliver(under);

    const placedLines = logLines().filter((line) => line.outcome === 'placed');
    expect(placedLines.map((line) => line.replayed)).toEqual([false, true, true, true, true]);
    const orderId = placedLines[0]?.brokerOrderId;
    expect(duplicates.tinkoff.orders.filter((order) => order.orderId === orderId)).toHaveLength(1);
    expect(texts().filter((text) => !text.includes(REPLAY_NOTE))).toHaveLength(1);
    expect(texts().filter((text) => text.includes(REPLAY_NOTE))).toHaveLength(4);
    expect(under.queues.tinkoff.sent).toHaveLength(1);
  });
});
