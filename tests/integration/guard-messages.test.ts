import { describe, expect, it } from 'vitest';
import { NOTIFY_ENV } from '#shared/facts.ts';
import { apiGatewayEvent } from '../helpers/events.ts';
import { alorPaperEnv, importHandler, TEST_WEBHOOK_SECRET, tinkoffPaperEnv } from '../helpers/handlers.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { deliverWebhookLines, notifierHarness } from '../helpers/notify.ts';
import { flatten, signalEvent } from '../helpers/signals.ts';

/**
 * The Telegram messages of the guards' refusals and of a size of no lot (docs/telegram.md), end to end in one process:
 * the real exported handler on a paper broker, its log line delivered to the notifier as CloudWatch Logs delivers it,
 * the message read back from the fake Telegram. Russian (the default) and English; told as NOTIFY_KINDS `refused`.
 */

const paper = usePaperBrokers();
const harness = notifierHarness();

const deliver = deliverWebhookLines;

const texts = () => harness.telegram().messages.map((message) => message.text);

describe('Telegram messages of the guards, through the real handlers', () => {
  it.each([
    [
      'ru',
      '🚧 Выключатель торговли включён: вход не исполнен (423) · Alor\nSBER\n' +
        'Торговля остановлена выключателем (kill switch): входы не исполняются, выходы проходят\n' +
        'Заявка не выставлена; выходы (закрытие, сокращение позиции) этот запрет не задерживает.',
    ],
    [
      'en',
      '🚧 Kill switch on: entry not placed (423) · Alor\nSBER\nEntries are refused until npm run kill -- off.\n' +
        'No order was placed; exits (a close, a smaller position) are not held back by this.',
    ],
  ] as const)('kill-switch (%s): the entry refused, and how to turn it off', async (language, text) => {
    const under = harness.build({ [NOTIFY_ENV.language]: language });
    const handler = await importHandler('alor', { ...alorPaperEnv(paper), KILL_SWITCH: 'on' });
    await handler(signalEvent('alor', { t: 'MOEX:SBER', d: 'buy', v: 1, o: 'market' }));

    await deliver(under);

    expect(texts()).toEqual([text]);
  });

  it.each([
    [
      'ru',
      '🚧 Заявка больше лимита (422) · T-Invest\nПокупка SBER (BBG004730N88) · 2147483647 лотов · 250\n' +
        'Заявка больше лимита: 2147483647 лотов при лимите 1000000 (MAX_LOTS_PER_ORDER)\n' +
        'Заявка не выставлена; выходы (закрытие, сокращение позиции) этот запрет не задерживает.',
    ],
    [
      'en',
      '🚧 Order over the limit (422) · T-Invest\nBuy SBER (BBG004730N88) · 2147483647 lots · 250\n' +
        '2147483647 lots, limit 1000000 (MAX_LOTS_PER_ORDER).\n' +
        'No order was placed; exits (a close, a smaller position) are not held back by this.',
    ],
  ] as const)("order-limit (%s): today's absurd order, with the order and the limit", async (language, text) => {
    const under = harness.build({ [NOTIFY_ENV.language]: language });
    const handler = await importHandler('tinkoff', tinkoffPaperEnv(paper));
    await handler(
      apiGatewayEvent({
        route: 'POST /tinkoff',
        body: JSON.stringify({ t: 'SBER', p: 250, v: 2_147_483_647, d: 'buy', f: 'BBG004730N88' }),
        headers: { 'x-webhook-secret': TEST_WEBHOOK_SECRET },
      }),
    );

    await deliver(under);

    expect(texts()).toEqual([text]);
  });

  it.each([
    ['ru', 'Дневной лимит убытка достигнут (422)', 'Дневной убыток достиг лимита: -100 000 ₽ (-9.09%) при лимите 5%'],
    ['en', 'Daily loss limit reached (422)', "Today's result -100 000 ₽ (-9.09%), limit 5%."],
  ] as const)("daily-loss (%s): the day's result and the limit", async (language, title, detail) => {
    paper.tinkoff.setScenario('daily-loss-reached');
    try {
      const under = harness.build({ [NOTIFY_ENV.language]: language });
      const handler = await importHandler('tinkoff', { ...tinkoffPaperEnv(paper), DAILY_LOSS_LIMIT: '5%' });
      await handler(signalEvent('tinkoff', { t: 'MOEX:SBER', d: 'buy', v: 1, o: 'market' }));

      await deliver(under);

      expect(texts()).toEqual([expect.stringContaining(title)]);
      expect(texts()[0]).toContain(detail);
    } finally {
      paper.tinkoff.setScenario(undefined);
    }
  });

  it.each([
    ['ru', 'Размер заявки — 0 лотов (400)'],
    ['en', 'Order sized to 0 lots (400)'],
  ] as const)('size-zero (%s): the numbers it came from', async (language, title) => {
    flatten(paper, 'alor', 'SBER');
    const under = harness.build({ [NOTIFY_ENV.language]: language });
    const handler = await importHandler('alor', alorPaperEnv(paper));
    await handler(signalEvent('alor', { t: 'MOEX:SBER', d: 'buy', v: 1000, vt: 'rub', p: 250 }));

    await deliver(under);

    expect(texts()).toEqual([
      `🚧 ${title} · Alor\nSBER\nРазмер заявки 0 лотов: 1 000 ₽ меньше цены лота 2 500 ₽ (250 × 10 шт.)\n` +
        (language === 'ru'
          ? 'Заявка не выставлена; выходы (закрытие, сокращение позиции) этот запрет не задерживает.'
          : 'No order was placed; exits (a close, a smaller position) are not held back by this.'),
    ]);
  });

  it('is not told when NOTIFY_KINDS leaves refused out', async () => {
    const under = harness.build({ [NOTIFY_ENV.kinds]: 'placed,failed' });
    const handler = await importHandler('alor', { ...alorPaperEnv(paper), KILL_SWITCH: 'on' });
    await handler(signalEvent('alor', { t: 'MOEX:SBER', d: 'buy', v: 1, o: 'market' }));

    await deliver(under);

    expect(texts()).toEqual([]);
  });
});
