import { describe, expect, it } from 'vitest';
import { PAPER_ALOR, PAPER_TINKOFF } from '#local/paper-broker/index.ts';
import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { createTinkoffHandler } from '#shared/brokers/tinkoff/index.ts';
import { type Broker, ENV, NOTIFY_ENV, UNAUTHORIZED_WINDOW_SECONDS } from '#shared/facts.ts';
import { handleNotifierEvent } from '#shared/notify/lambda.ts';
import { WindowFlushSchema } from '#shared/notify/queue.ts';
import { SecretStore } from '#shared/secrets.ts';
import { loadedStoreSdk } from '#shared/store/sdk-modules.ts';
import { apiGatewayEvent, SCHEDULED_EVENT } from '../helpers/events.ts';
import { alorPaperEnv, type Env, importHandler, TEST_WEBHOOK_SECRET, tinkoffPaperEnv } from '../helpers/handlers.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { logLines } from '../helpers/logs.ts';
import { cloudWatchLogsEvent, logLineTexts, type NotifierUnderTest, notifierHarness } from '../helpers/notify.ts';

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

/** The webhook lines of this test so far, delivered to the notifier once. */
async function deliver(under: NotifierUnderTest): Promise<void> {
  const lines = logLineTexts().filter((line) => line.includes('"message":"webhook answered"'));
  await handleNotifierEvent(under.notifier, cloudWatchLogsEvent(lines));
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
        const store = new SecretStore({
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
    expect(under.queues.own.sent).toEqual([
      {
        delaySeconds: UNAUTHORIZED_WINDOW_SECONDS,
        body: expect.objectContaining({ type: 'unauthorized-flush', broker: 'alor' }),
      },
    ]);

    under.advance(UNAUTHORIZED_WINDOW_SECONDS * 1000);
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
    under.advance(UNAUTHORIZED_WINDOW_SECONDS * 1000);
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

  it('with Telegram down, the order is still answered 200 and placed, and the message goes to the dead-letter queue', async () => {
    const under = harness.build();
    harness.telegram().injectFault({ kind: 'down' }, 100);
    const before = paper.tinkoff.orders.length;

    const answer = await call('tinkoff', ORDERS.tinkoff);
    await deliver(under);

    expect(answer).toMatchObject({ statusCode: 200, body: '200 OK' });
    expect(paper.tinkoff.orders.length).toBe(before + 1);
    expect(texts()).toEqual([]);
    expect(under.queues.deadLetters.sent).toEqual([
      {
        delaySeconds: 0,
        body: {
          type: 'undelivered',
          key: expect.stringMatching(/#placed$/),
          reason: expect.stringMatching(/^network /),
          html: expect.stringContaining('Заявка выставлена'),
        },
      },
    ]);
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
