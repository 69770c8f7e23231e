import { describe, expect, it } from 'vitest';
import { NOTIFY_ENV } from '#shared/facts.ts';
import { alorPaperEnv, importHandler, tinkoffPaperEnv } from '../helpers/handlers.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { deliverWebhookLines, notifierHarness } from '../helpers/notify.ts';
import { orderSignal } from '../helpers/resilience.ts';
import { flatten, holdPosition, signalEvent, workingOrdersOf } from '../helpers/signals.ts';

/**
 * The Telegram messages of v2 signals (docs/contract.md#answers-to-a-v2-signal), end to end as deployed but in one
 * process: the real exported handler on a paper broker, its log line delivered to the notifier as CloudWatch Logs
 * delivers it, the message read back from the fake Telegram. Russian (the default) and English.
 */

const paper = usePaperBrokers();
const harness = notifierHarness();

const deliver = deliverWebhookLines;

const texts = () => harness.telegram().messages.map((message) => message.text);
/** The broker's order id and the time to answer vary: stand-ins for them. */
const normalise = (text: string | undefined) => (text ?? '').replace(/№ \d+/g, '№ N').replace(/\d+ (мс|ms)$/, 'T $1');

describe('Telegram messages of v2 signals, through the real handlers', () => {
  it.each([
    [
      'ru',
      '✅ Целевая позиция: заявка выставлена · Alor\nПокупка SBER (MOEX) · 3 лота · по рынку\n' +
        'позиция 0 → 3 лота · заявка брокера № N · ответ за T мс',
    ],
    [
      'en',
      '✅ Target position: order placed · Alor\nBuy SBER (MOEX) · 3 lots · at market\n' +
        'position 0 → 3 lots · broker order № N · answered in T ms',
    ],
  ] as const)(
    'position reached (%s): the order, the position it moves, and a follow-up queued',
    async (language, text) => {
      flatten(paper, 'alor', 'SBER');
      const under = harness.build({ [NOTIFY_ENV.language]: language });
      const handler = await importHandler('alor', alorPaperEnv(paper));
      await handler(signalEvent('alor', { t: 'MOEX:SBER', pos: 3, o: 'market' }));

      await deliver(under);

      expect(texts().map(normalise)).toEqual([text]);
      expect(under.queues.alor.sent).toEqual([
        expect.objectContaining({ body: expect.objectContaining({ type: 'follow-up', broker: 'alor' }) }),
      ]);
    },
  );

  it.each([
    ['ru', '☑️ Позиция уже достигнута: заявка не нужна · T-Invest\nSBER\nпозиция 2 лота · ответ за T мс'],
    ['en', '☑️ Position already reached: nothing to do · T-Invest\nSBER\nposition 2 lots · answered in T ms'],
  ] as const)('nothing to do (%s): the position it found, and no follow-up', async (language, text) => {
    flatten(paper, 'tinkoff', 'SBER');
    holdPosition(paper, 'tinkoff', 'SBER', 2);
    const under = harness.build({ [NOTIFY_ENV.language]: language });
    const handler = await importHandler('tinkoff', tinkoffPaperEnv(paper));
    await handler(signalEvent('tinkoff', { t: 'MOEX:SBER', pos: 2, o: 'market' }));

    await deliver(under);

    expect(texts().map(normalise)).toEqual([text]);
    expect(under.queues.tinkoff.sent).toEqual([]);
  });

  it.each([
    [
      'ru',
      '🏁 Позиция закрыта: заявка по рынку выставлена · T-Invest\nПродажа SBER (e6123145-9665-43e0-8413-cd61b8aa9b13) · 4 лота · по рынку\n' +
        'позиция 4 → 0 лотов · снято заявок: 1 · заявка брокера № N · ответ за T мс',
    ],
    [
      'en',
      '🏁 Position closed: market order placed · T-Invest\nSell SBER (e6123145-9665-43e0-8413-cd61b8aa9b13) · 4 lots · at market\n' +
        'position 4 → 0 lots · orders cancelled: 1 · broker order № N · answered in T ms',
    ],
  ] as const)('closed (%s): the close, the orders cancelled before it', async (language, text) => {
    flatten(paper, 'tinkoff', 'SBER');
    holdPosition(paper, 'tinkoff', 'SBER', 4);
    const handler = await importHandler('tinkoff', tinkoffPaperEnv(paper));
    await handler(signalEvent('tinkoff', { t: 'MOEX:SBER', d: 'buy', v: 1, p: '200' }));
    const under = harness.build({ [NOTIFY_ENV.language]: language });
    await deliver(under);
    harness.telegram().reset();
    await handler(signalEvent('tinkoff', { t: 'MOEX:SBER', x: 'close' }));

    await deliver(under);

    expect(texts().map(normalise)).toEqual([text]);
  });

  it.each([
    ['ru', '🧹 Снято заявок: 2 · Alor\nSBER\nответ за T мс'],
    ['en', '🧹 Orders cancelled: 2 · Alor\nSBER\nanswered in T ms'],
  ] as const)('cancelled N (%s)', async (language, text) => {
    flatten(paper, 'alor', 'SBER');
    const handler = await importHandler('alor', alorPaperEnv(paper));
    await handler(signalEvent('alor', { t: 'MOEX:SBER', d: 'buy', v: 1, p: '200' }));
    await handler(signalEvent('alor', { t: 'MOEX:SBER', d: 'sell', v: 1, p: '400' }));
    expect(workingOrdersOf(paper, 'alor', 'SBER')).toHaveLength(2);
    const under = harness.build({ [NOTIFY_ENV.language]: language, [NOTIFY_ENV.kinds]: 'placed' });
    await deliver(under);
    harness.telegram().reset();
    await handler(signalEvent('alor', { t: 'MOEX:SBER', x: 'cancel' }));

    await deliver(under);

    expect(texts().map(normalise)).toEqual([text]);
  });

  it("tells a refusal by the signal's rules as an invalid signal, naming what the broker lacks", async () => {
    const under = harness.build({ [NOTIFY_ENV.language]: 'en' });
    const handler = await importHandler('alor', alorPaperEnv(paper));
    await handler(signalEvent('alor', { t: 'MOEX:SBER', pos: 1, o: 'best' }));

    await deliver(under);

    expect(texts()).toEqual([
      '⚠️ Signal refused: invalid data (400) · Alor\nNo order was placed. Check the fields of the signal in the widget:\n' +
        '• Alor не поддерживает o: best',
    ]);
  });

  it("keeps today's messages as they were: a placed order of today's body", async () => {
    const under = harness.build();
    const handler = await importHandler('alor', alorPaperEnv(paper));
    await handler(orderSignal('alor', { body: { t: 'AAPL', p: 150.5, v: 2, d: 'buy' } }));

    await deliver(under);

    expect(texts().map(normalise)).toEqual([
      '✅ Заявка выставлена · Alor\nПокупка AAPL (SPBX) · 2 лота · 150.5\nзаявка брокера № N · ответ за T мс',
    ]);
  });
});
