import { describe, expect, it } from 'vitest';
import { parseTelegramHtml } from '#local/fake-telegram.ts';
import { alarmNotification } from '#local/sns-event.ts';
import type { NotifyLanguage } from '#shared/facts.ts';
import { NOTIFY_LANGUAGES } from '#shared/facts.ts';
import {
  ALARM_SOURCES,
  alarmName,
  parseAlarmName,
  parseAlarmNotification,
  WATCHED_CAUSES,
} from '#shared/notify/alarms.ts';
import { logLineToEvent, type NotifyEvent } from '#shared/notify/events.ts';
import {
  alarmDescription,
  alarmMessage,
  eventToMessage,
  type SingleEvent,
  testMessage,
  windowMessage,
} from '#shared/notify/messages.ts';

/** What the chat shows: the message's text once Telegram has parsed its HTML (which must parse). */
function shown(html: string): string {
  const parsed = parseTelegramHtml(html);
  if (!parsed.ok) throw new Error(parsed.description);
  return parsed.text;
}

const base = { requestId: 'req-1', time: '2025-01-31T10:00:01.000Z' } as const;
const alorOrder = { symbol: 'AAPL', exchange: 'SPBX', side: 'buy', lots: 1, price: '150.5' } as const;
const tinkoffOrder = { figi: 'BBG004730N88', ticker: 'SBER', side: 'sell', lots: 3, price: '250.5' } as const;

const cases: [string, NotifyLanguage, SingleEvent, string][] = [
  [
    'placed',
    'ru',
    {
      ...base,
      broker: 'alor',
      order: alorOrder,
      kind: 'placed',
      brokerOrderId: '4090000001',
      replayed: false,
      latencyMs: 12.4,
    },
    '✅ Заявка выставлена · Alor\nПокупка AAPL (SPBX) · 1 лот · 150.5\nзаявка брокера № 4090000001 · ответ за 12 мс',
  ],
  [
    'placed, replayed',
    'en',
    {
      ...base,
      broker: 'tinkoff',
      order: tinkoffOrder,
      kind: 'placed',
      brokerOrderId: '77',
      replayed: true,
      latencyMs: 8,
    },
    '✅ Order placed · T-Invest\nSell SBER (BBG004730N88) · 3 lots · 250.5\nbroker order № 77 · answered in 8 ms\n' +
      'Resent signal: the broker returned the first order, no second one was placed.',
  ],
  [
    'dry-run',
    'ru',
    { ...base, broker: 'alor', order: alorOrder, kind: 'dry-run', latencyMs: 3 },
    '🧪 Проверка без заявки (DRY_RUN) · Alor\nПокупка AAPL (SPBX) · 1 лот · 150.5\nВсё проверено, заявка брокеру не отправлялась.',
  ],
  [
    'refused, with markup in the reason',
    'ru',
    {
      ...base,
      broker: 'tinkoff',
      order: tinkoffOrder,
      kind: 'refused',
      reason: 'Недостаточно <b>средств</b> & лимита',
    },
    '⛔ Брокер отклонил заявку · T-Invest\nПродажа SBER (BBG004730N88) · 3 лота · 250.5\nПричина: Недостаточно <b>средств</b> & лимита',
  ],
  [
    'invalid',
    'en',
    { ...base, broker: 'alor', order: undefined, kind: 'invalid', issues: ['p: must be a finite number above zero'] },
    '⚠️ Signal refused: invalid data (400) · Alor\nNo order was placed. Check the fields of the signal in the widget:\n' +
      '• p: must be a finite number above zero',
  ],
  [
    'failed, 504',
    'ru',
    {
      ...base,
      broker: 'alor',
      order: alorOrder,
      kind: 'failed',
      status: 504,
      cause: 'broker-timeout',
      detail: 'UND_ERR_HEADERS_TIMEOUT',
    },
    '❌ Брокер не ответил вовремя (504) · Alor\nПокупка AAPL (SPBX) · 1 лот · 150.5\n' +
      'Заявка могла быть выставлена: проверьте терминал брокера, прежде чем повторять сигнал.',
  ],
  [
    'failed, 504 from the store (docs/contract.md#store-timeout)',
    'ru',
    {
      ...base,
      broker: 'tinkoff',
      order: tinkoffOrder,
      kind: 'failed',
      status: 504,
      cause: 'store-timeout',
      detail: undefined,
    },
    '❌ Хранилище секретов не ответило вовремя (504) · T-Invest\nПродажа SBER (BBG004730N88) · 3 лота · 250.5\n' +
      'Заявка не выставлена: функция не дождалась Secrets Manager или SSM. Если повторится — проверьте: ' +
      'npm run preflight -- --deployed',
  ],
  [
    'failed, 504 from the store, in English',
    'en',
    {
      ...base,
      broker: 'alor',
      order: undefined,
      kind: 'failed',
      status: 504,
      cause: 'store-timeout',
      detail: undefined,
    },
    '❌ The secret store did not answer in time (504) · Alor\n' +
      'No order was placed: the function could not wait longer for Secrets Manager or SSM. If it happens again, check: ' +
      'npm run preflight -- --deployed',
  ],
  [
    'failed, 502',
    'en',
    {
      ...base,
      broker: 'tinkoff',
      order: tinkoffOrder,
      kind: 'failed',
      status: 502,
      cause: 'broker-unavailable',
      detail: 'PostOrder HTTP 503',
    },
    '❌ Broker unavailable (502) · T-Invest\nSell SBER (BBG004730N88) · 3 lots · 250.5\n' +
      "Most likely no order was placed (PostOrder HTTP 503). Check the broker's terminal before resending the signal.",
  ],
  [
    'failed, credential rejected',
    'ru',
    {
      ...base,
      broker: 'alor',
      order: alorOrder,
      kind: 'failed',
      status: 403,
      cause: 'credential-rejected',
      detail: undefined,
    },
    '❌ Брокер не принял токен · Alor\nПокупка AAPL (SPBX) · 1 лот · 150.5\n' +
      'Заявка не выставлена. Выпустите новый токен у брокера и сохраните его: npm run secrets -- set alor-refresh-token',
  ],
  [
    'failed, 500',
    'ru',
    {
      ...base,
      broker: 'tinkoff',
      order: undefined,
      kind: 'failed',
      status: 500,
      cause: 'internal-error',
      detail: 'ThrottlingException',
    },
    '❌ Внутренняя ошибка (500) · T-Invest\nПроверьте журнал функции (ThrottlingException) и терминал брокера, прежде чем повторять сигнал.',
  ],
  [
    'not configured',
    'ru',
    { ...base, broker: 'tinkoff', order: tinkoffOrder, kind: 'not-configured', missing: 'account' },
    '⚙️ Не настроено (404) · T-Invest\nНе задан счёт (портфель). Задайте его: npm run secrets -- set tinkoff-account-id',
  ],
  [
    'check',
    'en',
    { ...base, broker: 'alor', order: undefined, kind: 'check' },
    '🔔 Health check (check): 200 OK · Alor',
  ],
];

const followUp = (result: Extract<NotifyEvent, { kind: 'follow-up' }>['result'], extra: object = {}): SingleEvent => ({
  ...base,
  broker: 'tinkoff',
  order: tinkoffOrder,
  kind: 'follow-up',
  brokerOrderId: '77',
  result,
  lots: 3,
  filledLots: result === 'filled' ? 3 : result === 'partly-filled' ? 1 : 0,
  reason: undefined,
  detail: undefined,
  delaySeconds: 10,
  ...extra,
});

const followUps: [string, SingleEvent, string][] = [
  ['filled', followUp('filled'), '✅ Заявка исполнена'],
  ['partly filled', followUp('partly-filled'), '🌓 Заявка исполнена частично'],
  ['working', followUp('working'), '⏳ Заявка ещё не исполнена'],
  ['canceled', followUp('canceled'), '🚫 Заявка снята'],
];

describe('eventToMessage', () => {
  it.each(cases)('tells %s (%s)', (_case, language, event, text) => {
    expect(shown(eventToMessage(event, language))).toBe(text);
  });

  it.each(followUps)('tells a follow-up: %s', (_case, event, heading) => {
    const [title, order, facts] = shown(eventToMessage(event, 'ru')).split('\n');
    expect(title).toBe(`${heading} · T-Invest`);
    expect(order).toBe('Продажа SBER (BBG004730N88) · 3 лота · 250.5');
    expect(facts).toMatch(/^заявка брокера № 77 · исполнено \d из 3 · через 10 с после выставления$/);
  });

  it('tells a rejection after acceptance with its reason, or that the broker gave none', () => {
    expect(
      shown(eventToMessage(followUp('rejected', { reason: 'Risk <limit>' }), 'en'))
        .split('\n')
        .at(-1),
    ).toBe('Reason: Risk <limit>');
    expect(
      shown(eventToMessage(followUp('rejected'), 'ru'))
        .split('\n')
        .at(-1),
    ).toBe('Причина: брокер не сообщил причину');
  });

  it('tells a follow-up that could not reach the broker', () => {
    const text = shown(
      eventToMessage(followUp('unreachable', { detail: 'ECONNREFUSED', filledLots: undefined }), 'en'),
    );
    expect(text.split('\n').at(-1)).toBe(
      "The broker did not answer the order lookup: check the order in the broker's terminal. (ECONNREFUSED)",
    );
  });

  it('quotes a broker reason of any length within the message limit', () => {
    const event = cases[3]?.[2] as SingleEvent;
    const text = shown(eventToMessage({ ...event, kind: 'refused', reason: 'x'.repeat(10_000) } as SingleEvent, 'ru'));
    expect(text.length).toBeLessThan(1200);
  });
});

describe('windowMessage and testMessage', () => {
  const window = {
    broker: 'alor',
    count: 20,
    from: '2025-01-31T10:00:00.000Z',
    to: '2025-01-31T10:10:00.000Z',
  } as const;

  it('tells the count of 401s in a window with its times', () => {
    expect(shown(windowMessage({ ...window, kind: 'unauthorized' }, 'ru'))).toBe(
      '🚫 Вызовы без верного секрета: 20 · Alor\n' +
        'С 10:00:00 по 10:10:00 (UTC). Если это вы — проверьте секрет в виджете; если нет — кто-то подбирает ссылку.',
    );
  });

  it.each([
    [
      'ru',
      '🛡️ Вызовы с адресов вне списка (403): 20 · Alor\n' +
        'С 10:00:00 по 10:10:00 (UTC), последний — с 203.0.113.5. Если это ваш виджет или TradingView сменил адреса — ' +
        'добавьте их в allowedSourceIps (локально ALLOWED_SOURCE_IPS) и разверните стек заново; если нет — ссылку вызывает кто-то другой.',
    ],
    [
      'en',
      '🛡️ Calls from addresses outside the allow-list (403): 20 · Alor\n' +
        'From 10:00:00 to 10:10:00 (UTC), the last from 203.0.113.5. If it was your widget, or TradingView changed its ' +
        'addresses, add them to allowedSourceIps (ALLOWED_SOURCE_IPS locally) and deploy again; if not, someone else is calling the URL.',
    ],
  ] as const)('tells the count of 403s in a window, with the latest address (%s)', (language, text) => {
    expect(shown(windowMessage({ ...window, kind: 'forbidden-source', detail: '203.0.113.5' }, language))).toBe(text);
  });

  it('has a test message in both languages', () => {
    expect(shown(testMessage('en'))).toBe('🔔 ppp-webhooks\nTest message: the notifications are set up.');
    expect(shown(testMessage('ru'))).toContain('Проверочное сообщение');
  });
});

describe('alarmMessage', () => {
  const time = new Date('2025-01-31T10:07:12.000Z');
  const alarm = (name: string, value = 3, queueName?: string) => {
    const parsed = parseAlarmNotification(
      alarmNotification({
        alarmName: name,
        value,
        time,
        ...(queueName === undefined ? {} : { metric: { kind: 'queue', queueName } as const }),
      }),
    );
    if (parsed === undefined) throw new Error('not parsed');
    return parsed;
  };

  it('tells a webhook timeout with its count, what it means and what to do', () => {
    expect(shown(alarmMessage(alarm('PppWebhooks-alor-webhook-timeout'), 'ru'))).toBe(
      '⏱️ Функция не уложилась в тайм-аут · вебхук Alor\n' +
        '3 раза за 10 мин до 10:07:12 (UTC)\n' +
        'Сигнал остался без ответа функции. Заявка могла быть выставлена: проверьте терминал брокера, прежде чем повторять сигнал, и журнал функции.\n' +
        'Пока это продолжается, повторных сообщений не будет.',
    );
    expect(shown(alarmMessage(alarm('PppWebhooks-tinkoff-webhook-init-failure', 1), 'en'))).toBe(
      '🛑 The function failed to start · T-Invest webhook\n' +
        '1 time in the 10 minutes up to 10:07:12 UTC\n' +
        "The function could not start (settings or code); a call it did not start for got an error and placed no order. Check the function's log and run npm run preflight -- --deployed.\n" +
        'While it goes on, no further message comes about it.',
    );
  });

  it('tells messages waiting in a dead-letter queue with the queue and how many', () => {
    const html = alarmMessage(alarm('PppWebhooks-notifier-dead-letters', 2, 'PppWebhooks-DeadLetters'), 'en');
    expect(shown(html)).toBe(
      '📥 Messages wait in a dead-letter queue · notifier\n' +
        '2 waiting in PppWebhooks-DeadLetters\n' +
        'Messages Telegram did not take, and events that could not be handled, are kept for 14 days. Check the bot: npm run notify -- test --deployed.\n' +
        'While it goes on, no further message comes about it.',
    );
    expect(html).toContain('<code>npm run notify -- test --deployed</code>');
  });

  it.each(
    ALARM_SOURCES.flatMap((source) =>
      WATCHED_CAUSES[source].flatMap((cause) => NOTIFY_LANGUAGES.map((language) => [source, cause, language] as const)),
    ),
  )('has a message Telegram accepts, with a note, for %s %s (%s)', (source, cause, language) => {
    const text = shown(alarmMessage(alarm(alarmName('PppWebhooks', source, cause)), language));
    expect(text.split('\n')).toHaveLength(4);
    expect(alarmDescription(source, cause, language)).not.toMatch(/[`<>]/);
  });

  it("tells an alarm that is not the stack's by its name and CloudWatch's reason, escaped", () => {
    expect(shown(alarmMessage(alarm('someone-elses <alarm>'), 'en'))).toMatch(
      /^🚨 CloudWatch alarm · someone-elses <alarm>\nThreshold Crossed: 1 out of the last 1 datapoints \[3\.0 /,
    );
  });
});

describe('parseAlarmNotification', () => {
  it('reads the alarm, its state, time, count and period as CloudWatch writes them', () => {
    const text = alarmNotification({
      alarmName: 'my-stack-with-dashes-tinkoff-follow-up-dead-letters',
      value: 4,
      time: new Date('2025-01-31T10:07:12.345Z'),
      metric: { kind: 'queue', queueName: 'q-dlq' },
      periodSeconds: 300,
    });
    expect(parseAlarmNotification(text)).toEqual({
      name: 'my-stack-with-dashes-tinkoff-follow-up-dead-letters',
      source: 'tinkoff-follow-up',
      cause: 'dead-letters',
      state: 'ALARM',
      time: '2025-01-31T10:07:12.345Z',
      count: 4,
      periodSeconds: 300,
      queue: 'q-dlq',
      reason: expect.stringContaining('[4.0 (31/01/25 10:07:12)]'),
    });
  });

  it('reads the count of the other reason CloudWatch writes, and none when there is none', () => {
    const base = JSON.parse(alarmNotification({ alarmName: 'a', value: 1, time: new Date(0) }));
    const reason = (NewStateReason: string) => parseAlarmNotification(JSON.stringify({ ...base, NewStateReason }));
    expect(
      reason('Threshold Crossed: 1 datapoint (10.0) was greater than or equal to the threshold (1.0).')?.count,
    ).toBe(10);
    expect(reason('Alarm set to ALARM by hand')?.count).toBeUndefined();
  });

  it.each([
    ['no JSON', 'hello'],
    ['no alarm name', JSON.stringify({ NewStateValue: 'ALARM', StateChangeTime: '2025-01-31T10:00:00.000+0000' })],
    ['a time that is no time', JSON.stringify({ AlarmName: 'a', NewStateValue: 'ALARM', StateChangeTime: 'soon' })],
  ])('reads nothing from %s', (_case, text) => {
    expect(parseAlarmNotification(text)).toBeUndefined();
  });

  it("names the function and cause of the stack's alarms only", () => {
    expect(parseAlarmName('PppWebhooks-notifier-queue-dead-letters')).toEqual({
      source: 'notifier',
      cause: 'queue-dead-letters',
    });
    expect(parseAlarmName('PppWebhooks-notifier-disk-full')).toBeUndefined();
  });
});

describe('logLineToEvent', () => {
  const line = {
    level: 'info',
    time: '2025-01-31T10:00:01.000Z',
    message: 'webhook answered',
    broker: 'tinkoff',
    requestId: 'req-9',
    status: 200,
    latencyMs: 9.5,
    outcome: 'placed',
    brokerOrderId: '77',
    replayed: false,
    order: { figi: 'BBG004730N88', side: 'buy', lots: 1, price: '250.5' },
    ticker: 'SBER',
  };

  it('reads a webhook line, also behind the prefix console.log would add', () => {
    const event = {
      kind: 'placed',
      broker: 'tinkoff',
      requestId: 'req-9',
      brokerOrderId: '77',
      order: { ...line.order, ticker: 'SBER' },
    };
    expect(logLineToEvent(JSON.stringify(line))).toMatchObject(event);
    expect(logLineToEvent(`2025-01-31T10:00:01.000Z\treq-9\tINFO\t${JSON.stringify(line)}`)).toMatchObject(event);
  });

  it.each([
    ['a Lambda platform line', 'START RequestId: 1 Version: $LATEST'],
    ['another log line', JSON.stringify({ ...line, message: 'secret store read failed, serving the cached value' })],
    ['a line without a request id', JSON.stringify({ ...line, requestId: undefined })],
    ['an unknown outcome', JSON.stringify({ ...line, outcome: 'something-new' })],
    [
      "a keep-warm line (the schedule's turn, no order)",
      JSON.stringify({ ...line, message: 'keep-warm', outcome: 'keep-warm', latencyMs: 12 }),
    ],
    ['a keep-warm line, even if its message were the webhook one', JSON.stringify({ ...line, outcome: 'keep-warm' })],
    ['broken JSON', '{"message":"webhook answered",'],
  ])('ignores %s', (_case, text) => {
    expect(logLineToEvent(text)).toBeUndefined();
  });

  it("reads a 403 from outside the allow-list with the caller's address", () => {
    const forbidden = { ...line, status: 403, outcome: 'forbidden-source', sourceIp: '203.0.113.5', order: undefined };
    expect(logLineToEvent(JSON.stringify(forbidden))).toMatchObject({
      kind: 'forbidden-source',
      broker: 'tinkoff',
      sourceIp: '203.0.113.5',
    });
  });

  it("reads a T-Invest instrument refusal as the broker's refusal, with the lookup's reason", () => {
    const refusal = { ...line, status: 400, outcome: 'instrument-refused', reason: 'not found', order: undefined };
    expect(logLineToEvent(JSON.stringify(refusal))).toMatchObject({ kind: 'refused', reason: 'instrument not found' });
  });

  it.each([
    ['broker_timeout', 504, { upstream: 'UND_ERR_HEADERS_TIMEOUT' }, 'broker-timeout', 'UND_ERR_HEADERS_TIMEOUT'],
    ['broker_unavailable', 502, { upstream: 'order HTTP 503' }, 'broker-unavailable', 'order HTTP 503'],
    ['store_timeout', 504, { store: 'secret:ppp-webhooks/webhook-secret', budgetMs: 2700 }, 'store-timeout', undefined],
    ['credential_rejected', 403, {}, 'credential-rejected', undefined],
    ['error', 500, { error: { name: 'Error', code: 'EACCES' } }, 'internal-error', 'EACCES'],
  ])('reads the failure %s', (outcome, status, extra, cause, detail) => {
    expect(logLineToEvent(JSON.stringify({ ...line, outcome, status, ...extra }))).toMatchObject({
      kind: 'failed',
      status,
      cause,
      detail,
    });
  });
});
