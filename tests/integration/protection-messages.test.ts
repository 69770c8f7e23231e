import { describe, expect, it } from 'vitest';
import { PAPER_INSTRUMENTS } from '#local/paper-broker/index.ts';
import { type Broker, NOTIFY_ENV, PROTECTION_LOG_MESSAGE, WEBHOOK_LOG_MESSAGE } from '#shared/facts.ts';
import { handleNotifierEvent } from '#shared/notify/lambda.ts';
import { alorPaperEnv, type Env, importFollowUpHandler, importHandler, tinkoffPaperEnv } from '../helpers/handlers.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { cloudWatchLogsEvent, logLineTexts, notifierHarness } from '../helpers/notify.ts';
import { useHeldFollowUpQueue } from '../helpers/protection.ts';
import { flatten, jsonAnswer, signalEvent } from '../helpers/signals.ts';

/**
 * The Telegram messages of protection (docs/contract.md#protection, docs/telegram.md): a stop that executed and its
 * sibling cancelled, the protection placed after a fill, and, the most urgent of all, a position its protection could
 * not be placed for, closed or left open as CLOSE_UNPROTECTED says. The real handlers on the paper brokers, their log
 * lines delivered to the notifier as CloudWatch Logs delivers them, the messages read back from the fake Telegram, in
 * Russian and English.
 */

const paper = usePaperBrokers();
const queue = useHeldFollowUpQueue();
const harness = notifierHarness();

const SBER_UID = PAPER_INSTRUMENTS.tinkoff.find((instrument) => instrument.ticker === 'SBER')?.uid ?? '';
const texts = () => harness.telegram().messages.map((message) => message.text);

/** The lines the notifier reads (the webhook's and the watch's), from this test's output. */
const noticedLines = () =>
  logLineTexts().filter(
    (line) =>
      line.includes(`"message":"${WEBHOOK_LOG_MESSAGE}"`) || line.includes(`"message":"${PROTECTION_LOG_MESSAGE}"`),
  );

function envOf(broker: Broker, overrides: Env = {}): Env {
  return { ...(broker === 'alor' ? alorPaperEnv(paper) : tinkoffPaperEnv(paper)), ...overrides };
}

function start(broker: Broker) {
  flatten(paper, broker, 'SBER');
  if (broker === 'alor') {
    for (const stop of paper.alor.stopOrders) if (stop.status === 'working') stop.status = 'canceled';
    paper.alor.setLastPrice('SBER', 100);
  } else {
    for (const stop of paper.tinkoff.stopOrders) {
      if (stop.status === 'STOP_ORDER_STATUS_ACTIVE') stop.status = 'STOP_ORDER_STATUS_CANCELED';
    }
    paper.tinkoff.setLastPrice(SBER_UID, 100);
  }
}

describe('tinkoff: the watch tells', () => {
  it.each([
    [
      'ru',
      [
        '✅ Заявка выставлена · T-Invest',
        '🛡️ Защита выставлена · T-Invest\nSBER · 2 лота · стоп-лосс 95 · тейк-профит 110',
        '🛑 Сработал стоп-лосс · T-Invest\nSBER · 2 лота · 95',
        '🧹 Тейк-профит снят: сработал стоп-лосс · T-Invest\nSBER · 2 лота',
      ],
    ],
    [
      'en',
      [
        '✅ Order placed · T-Invest',
        '🛡️ Protection placed · T-Invest\nSBER · 2 lots · stop-loss 95 · take-profit 110',
        '🛑 Stop-loss executed · T-Invest\nSBER · 2 lots · 95',
        '🧹 Take-profit cancelled: the stop-loss executed · T-Invest\nSBER · 2 lots',
      ],
    ],
  ] as const)(
    'the protection placed, the stop-loss executed, its take-profit cancelled (%s)',
    async (language, expected) => {
      start('tinkoff');
      const under = harness.build({ [NOTIFY_ENV.language]: language });
      const handler = await importHandler('tinkoff', envOf('tinkoff'));
      const followUp = await importFollowUpHandler('tinkoff', envOf('tinkoff'));
      const answer = jsonAnswer(
        await handler(signalEvent('tinkoff', { t: 'MOEX:SBER', d: 'buy', v: 2, p: '100', sl: '95', tp: '110' })),
      );
      const entry = (answer.json.orders as { id: string }[])[0]?.id ?? '';
      paper.tinkoff.setOrderState(entry, { status: 'filled' });
      await queue.deliver(followUp);
      paper.tinkoff.setLastPrice(SBER_UID, 94);
      await queue.deliver(followUp);

      await handleNotifierEvent(under.notifier, cloudWatchLogsEvent(noticedLines()));

      const told = texts();
      expect(told).toHaveLength(4);
      expect(told[0]).toContain(expected[0]);
      expect(told.slice(1)).toEqual(expected.slice(1));
    },
  );

  it.each([
    ['', 'Позиция закрыта рыночной заявкой (CLOSE_UNPROTECTED).'],
    ['false', 'Позиция ОСТАВЛЕНА открытой (CLOSE_UNPROTECTED=false): выставьте стоп в терминале брокера сейчас.'],
  ] as const)('the urgent message, after the retries (CLOSE_UNPROTECTED=%s)', async (setting, outcome) => {
    start('tinkoff');
    const under = harness.build();
    const env = envOf('tinkoff', setting === '' ? {} : { CLOSE_UNPROTECTED: setting });
    const handler = await importHandler('tinkoff', env);
    const followUp = await importFollowUpHandler('tinkoff', env);
    paper.tinkoff.refuseStops('no stops today');
    await handler(signalEvent('tinkoff', { t: 'MOEX:SBER', d: 'buy', v: 2, o: 'market', sl: '90', tp: '110' }));
    for (let check = 0; check < 3; check++) await queue.deliver(followUp);
    paper.tinkoff.refuseStops(undefined);

    await handleNotifierEvent(under.notifier, cloudWatchLogsEvent(noticedLines()));

    const urgent = texts().filter((text) => text.startsWith('🚨🚨'));
    expect(urgent).toEqual([
      [
        '🚨🚨 ПОЗИЦИЯ БЕЗ ЗАЩИТЫ · T-Invest',
        'SBER: длинная позиция 2 лота открыта без стоп-лосса и тейк-профита.',
        'стоп-лосс 90 · тейк-профит 110',
        'Не удалось выставить: sl: Post stop_order error: no stops today; tp: Post stop_order error: no stops today',
        outcome,
      ].join('\n'),
    ]);
  });
});

describe('alor: the watch tells what Alor’s servers did', () => {
  it.each([
    [
      'ru',
      [
        '🎯 Сработал тейк-профит · Alor\nSBER · 2 лота · 110',
        '🧹 Стоп-лосс снят: сработал тейк-профит · Alor\nSBER · 2 лота',
      ],
    ],
    [
      'en',
      [
        '🎯 Take-profit executed · Alor\nSBER · 2 lots · 110',
        '🧹 Stop-loss cancelled: the take-profit executed · Alor\nSBER · 2 lots',
      ],
    ],
  ] as const)('the take-profit executed, its stop-loss cancelled by the group (%s)', async (language, expected) => {
    start('alor');
    const under = harness.build({ [NOTIFY_ENV.language]: language });
    const handler = await importHandler('alor', envOf('alor'));
    const followUp = await importFollowUpHandler('alor', envOf('alor'));
    const answer = jsonAnswer(
      await handler(signalEvent('alor', { t: 'MOEX:SBER', d: 'buy', v: 2, p: '100', sl: '95', tp: '110' })),
    );
    const entry = (answer.json.orders as { id: string }[])[0]?.id ?? '';
    paper.alor.setOrderState(entry, { status: 'filled' });
    await queue.deliver(followUp);
    paper.alor.setLastPrice('SBER', 111);
    await queue.deliver(followUp);

    await handleNotifierEvent(under.notifier, cloudWatchLogsEvent(noticedLines()));

    expect(texts().slice(1)).toEqual(expected);
  });
});

describe('alor: the request tells', () => {
  it.each([
    [
      'ru',
      [
        '🚨🚨 ПОЗИЦИЯ БЕЗ ЗАЩИТЫ · Alor',
        'SBER: длинная позиция 1 лот открыта без стоп-лосса и тейк-профита.',
        'стоп-лосс 90 · тейк-профит 110',
        'Не удалось выставить: sl: no stops; tp: no stops',
        'Позиция закрыта рыночной заявкой (CLOSE_UNPROTECTED).',
      ],
    ],
    [
      'en',
      [
        '🚨🚨 POSITION UNPROTECTED · Alor',
        'SBER: a long position of 1 lot is open without its stop-loss or take-profit.',
        'stop-loss 90 · take-profit 110',
        'Could not place: sl: no stops; tp: no stops',
        'The position was closed at market (CLOSE_UNPROTECTED).',
      ],
    ],
  ] as const)('the urgent message of a market entry it could not protect (%s)', async (language, expected) => {
    start('alor');
    const under = harness.build({ [NOTIFY_ENV.language]: language });
    const handler = await importHandler('alor', envOf('alor'));
    paper.alor.refuseStops('no stops');
    await handler(signalEvent('alor', { t: 'MOEX:SBER', d: 'buy', v: 1, o: 'market', sl: '90', tp: '110' }));
    paper.alor.refuseStops(undefined);

    await handleNotifierEvent(under.notifier, cloudWatchLogsEvent(noticedLines()));

    expect(texts().filter((text) => text.startsWith('🚨🚨'))).toEqual([expected.join('\n')]);
  });
});
