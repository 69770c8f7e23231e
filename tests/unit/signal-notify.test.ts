import { describe, expect, it } from 'vitest';
import { logLineToEvent } from '#shared/notify/events.ts';
import { eventToMessage, type SingleEvent } from '#shared/notify/messages.ts';

/** The notifier's reading of a v2 signal's log lines, and the messages of its failures (Russian and English). */

const line = (fields: Record<string, unknown>) =>
  JSON.stringify({
    level: 'info',
    time: '2026-12-01T10:00:00.000Z',
    message: 'webhook answered',
    broker: 'alor',
    requestId: 'r-1',
    latencyMs: 12,
    ticker: 'SBER',
    ...fields,
  });

const message = (fields: Record<string, unknown>, language: 'ru' | 'en') =>
  eventToMessage(logLineToEvent(line(fields)) as SingleEvent, language);

describe('v2 signal events', () => {
  it('reads a placed signal as a signal event with its numbers', () => {
    expect(
      logLineToEvent(
        line({
          status: 200,
          outcome: 'placed',
          signal: { intent: 'position', position: 0, working: 0, target: 3, cancelled: 0 },
          order: { symbol: 'SBER', exchange: 'MOEX', side: 'buy', lots: 3, type: 'market' },
          brokerOrderId: '1',
          replayed: false,
        }),
      ),
    ).toMatchObject({ kind: 'signal', result: 'placed', brokerOrderId: '1', signal: { target: 3 } });
  });

  it.each([
    [
      'ru',
      '❌ <b>Инструмент занят другим сигналом (409)</b> · Alor\n' +
        'Другой сигнал по этому инструменту ещё исполнялся. Заявка не выставлена: повторите сигнал, если он ещё нужен.',
    ],
    [
      'en',
      '❌ <b>Instrument busy with another signal (409)</b> · Alor\n' +
        'Another signal on this instrument was still running. No order was placed: resend the signal if it still applies.',
    ],
  ] as const)('tells position-locked (%s) as a failure to resend', (language, text) => {
    expect(message({ status: 409, outcome: 'position-locked', lock: 'held' }, language)).toBe(text);
  });

  it.each([
    [
      'ru',
      '⛔ <b>Брокер отклонил заявку</b> · Alor\nПокупка SBER (MOEX) · 1 лот · 250\nПричина: <i>Недостаточно средств</i>\nСнято заявок: 2',
    ],
    [
      'en',
      '⛔ <b>The broker refused the order</b> · Alor\nBuy SBER (MOEX) · 1 lot · 250\nReason: <i>Недостаточно средств</i>\nOrders cancelled: 2',
    ],
  ] as const)('tells a refusal after cancels with their count (%s)', (language, text) => {
    expect(
      message(
        {
          status: 400,
          outcome: 'refused',
          reason: 'Недостаточно средств',
          signal: { intent: 'position', position: 0, working: 0, target: 1, cancelled: 2 },
          order: { symbol: 'SBER', exchange: 'MOEX', side: 'buy', lots: 1, price: '250', type: 'limit' },
        },
        language,
      ),
    ).toBe(text);
  });
});
