import { describe, expect, it } from 'vitest';
import type { OrderStateChange } from '#local/paper-broker/index.ts';
import { type FollowUpRequest, FollowUpRequestSchema } from '#shared/brokers/follow-up-messages.ts';
import { type Broker, FOLLOW_UP_LOG_MESSAGE, WEBHOOK_LOG_MESSAGE } from '#shared/facts.ts';
import { handleNotifierEvent } from '#shared/notify/lambda.ts';
import { apiGatewayEvent } from '../helpers/events.ts';
import {
  alorPaperEnv,
  type Env,
  importFollowUpHandler,
  importHandler,
  TEST_WEBHOOK_SECRET,
  tinkoffPaperEnv,
} from '../helpers/handlers.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { logLines } from '../helpers/logs.ts';
import {
  cloudWatchLogsEvent,
  logLineTexts,
  type NotifierUnderTest,
  notifierHarness,
  sqsEvent,
} from '../helpers/notify.ts';

/**
 * The follow-up of a placed order, end to end on both paper brokers: the webhook places it, the notifier queues its
 * follow-up, the paper broker moves the order on (filled, partly filled, still working, rejected after acceptance),
 * the broker's follow-up function looks it up once, and its log line becomes the message the chat shows.
 */

const ORDERS: Record<Broker, Record<string, unknown>> = {
  alor: { t: 'MSFT', p: '410.25', v: 2, d: 'buy' },
  tinkoff: { t: 'GAZP', p: '130.5', v: 2, d: 'sell', f: 'BBG004730RP0' },
};
const ORDER_LINES: Record<Broker, string> = {
  alor: 'Покупка MSFT (SPBX) · 2 лота · 410.25',
  tinkoff: 'Продажа GAZP (BBG004730RP0) · 2 лота · 130.5',
};
/** The paper broker routes a follow-up may use: a token refresh and the lookup, never an order. */
const READ_ROUTES: Record<Broker, readonly string[]> = { alor: ['refresh', 'order-lookup'], tinkoff: ['order-state'] };

const paper = usePaperBrokers();
const harness = notifierHarness();

const paperEnv = (broker: Broker): Env => (broker === 'alor' ? alorPaperEnv(paper) : tinkoffPaperEnv(paper));

/** Places the broker's order through its webhook and the notifier; returns the follow-up the notifier queued. */
async function placeAndQueue(broker: Broker, under: NotifierUnderTest): Promise<FollowUpRequest> {
  const handler = await importHandler(broker, paperEnv(broker));
  const answer = await handler(
    apiGatewayEvent({
      route: `POST /${broker}`,
      body: JSON.stringify(ORDERS[broker]),
      headers: { 'x-webhook-secret': TEST_WEBHOOK_SECRET },
    }),
  );
  expect(answer.statusCode).toBe(200);
  const lines = logLineTexts().filter((line) => line.includes(`"message":"${WEBHOOK_LOG_MESSAGE}"`));
  await handleNotifierEvent(under.notifier, cloudWatchLogsEvent(lines));
  const queued = under.queues[broker].sent.at(-1);
  expect(queued?.delaySeconds).toBe(10);
  return FollowUpRequestSchema.parse(queued?.body);
}

/** Runs the broker's follow-up function on the request and delivers its log line to the notifier. */
async function followUp(broker: Broker, request: FollowUpRequest, under: NotifierUnderTest): Promise<string[]> {
  paper[broker].resetStats();
  const handler = await importFollowUpHandler(broker, paperEnv(broker));
  await handler(sqsEvent([request]));
  const lines = logLineTexts().filter((line) => line.includes(`"message":"${FOLLOW_UP_LOG_MESSAGE}"`));
  expect(lines).toHaveLength(1);
  await handleNotifierEvent(under.notifier, cloudWatchLogsEvent(lines, `/aws/lambda/PppWebhooks-${broker}-follow-up`));
  expect(paper[broker].received.map((received) => received.route)).toEqual(
    expect.arrayContaining([READ_ROUTES[broker].at(-1)]),
  );
  for (const received of paper[broker].received) expect(READ_ROUTES[broker]).toContain(received.route);
  return harness.telegram().messages.map((message) => message.text);
}

const lastOrderId = (broker: Broker): string =>
  (broker === 'alor' ? paper.alor.orders.at(-1)?.orderNumber : paper.tinkoff.orders.at(-1)?.orderId) ?? '';

const cases: [Broker, string, OrderStateChange | undefined, string, string][] = [];
for (const broker of ['alor', 'tinkoff'] as const) {
  cases.push(
    [broker, 'filled', { status: 'filled' }, '✅ Заявка исполнена', 'исполнено 2 из 2'],
    [
      broker,
      'partly filled',
      { status: 'partly-filled', filledLots: 1 },
      '🌓 Заявка исполнена частично',
      'исполнено 1 из 2',
    ],
    [broker, 'still working', undefined, '⏳ Заявка ещё не исполнена', 'исполнено 0 из 2'],
    [
      broker,
      'rejected after acceptance',
      { status: 'rejected' },
      '⛔ Заявка отклонена после приёма',
      'исполнено 0 из 2',
    ],
  );
}

describe('follow-up of a placed order', () => {
  it.each(cases)(
    '%s: a %s order is told as such, after one lookup and no order call',
    async (broker, _case, change, heading, filled) => {
      const under = harness.build();
      const request = await placeAndQueue(broker, under);
      if (change !== undefined) expect(paper[broker].setOrderState(lastOrderId(broker), change)).toBeUndefined();

      const texts = await followUp(broker, request, under);

      const name = broker === 'alor' ? 'Alor' : 'T-Invest';
      expect(texts).toHaveLength(2);
      const [title, order, facts, ...rest] = texts[1]?.split('\n') ?? [];
      expect(title).toBe(`${heading} · ${name}`);
      expect(order).toBe(ORDER_LINES[broker]);
      expect(facts).toBe(`заявка брокера № ${lastOrderId(broker)} · ${filled} · через 10 с после выставления`);
      expect(rest).toEqual(change?.status === 'rejected' ? ['Причина: брокер не сообщил причину'] : []);
    },
  );

  it.each(['alor', 'tinkoff'] as const)('%s: a lookup the broker does not answer is told as such', async (broker) => {
    const under = harness.build();
    const request = await placeAndQueue(broker, under);
    paper[broker].injectFault({ route: READ_ROUTES[broker].at(-1), fault: { kind: 'status', status: 503 }, times: 2 });

    const texts = await followUp(broker, request, under);

    expect(texts[1]?.split('\n')[0]).toBe(
      `❓ Не удалось проверить заявку · ${broker === 'alor' ? 'Alor' : 'T-Invest'}`,
    );
    expect(texts[1]).toContain('Брокер не ответил на запрос о заявке: проверьте её в терминале брокера.');
    expect(logLines()).toContainEqual(
      expect.objectContaining({ message: FOLLOW_UP_LOG_MESSAGE, result: 'unreachable' }),
    );
  });

  it.each(['alor', 'tinkoff'] as const)('%s: an order the broker does not know is told as such', async (broker) => {
    const under = harness.build();
    const request = await placeAndQueue(broker, under);

    const texts = await followUp(broker, { ...request, brokerOrderId: '999000111' }, under);

    expect(texts[1]?.split('\n')[0]).toMatch(/^❓ Брокер не нашёл заявку/);
  });

  it('tells a follow-up delivered twice once', async () => {
    const under = harness.build();
    const request = await placeAndQueue('tinkoff', under);
    paper.tinkoff.setOrderState(lastOrderId('tinkoff'), { status: 'filled' });
    const handler = await importFollowUpHandler('tinkoff', paperEnv('tinkoff'));

    await handler(sqsEvent([request, request]));
    const lines = logLineTexts().filter((line) => line.includes(`"message":"${FOLLOW_UP_LOG_MESSAGE}"`));
    await handleNotifierEvent(under.notifier, cloudWatchLogsEvent(lines));

    expect(lines).toHaveLength(2);
    expect(harness.telegram().messages).toHaveLength(2);
  });
});
