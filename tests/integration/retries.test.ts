import { describe, expect, it } from 'vitest';
import type { Broker } from '#shared/facts.ts';
import type { WebhookResponse } from '#shared/http/inbound/response.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import {
  allExchangesSettled,
  BROKER_TIMEOUT_MS,
  expectedRequestId,
  maxOrdersPerKey,
  ORDERS,
  orderSignal,
  ordersWithRequestId,
  paperHandler,
  receivedOrderIds,
  uniqueKey,
} from '../helpers/resilience.ts';

/**
 * Idempotency and retries (docs/contract.md#idempotency, docs/contract.md#deadline-and-retries): one key is one order and one answer, however often the signal comes;
 * without a key, an internal resend reuses the invocation's own request id; only what cannot double an
 * order is ever resent. The broker's own duplicate answers (Alor "already handled", T-Invest 30057) count
 * as the first outcome.
 */

const OK = { statusCode: 200, body: '200 OK' };

/** Three paper setups, so both duplicate styles of each broker are exercised. */
const paper = usePaperBrokers();
// Alor replays `oldResponse.body` as a JSON string; T-Invest answers a repeated orderId with error 30057.
const paperDuplicates = usePaperBrokers({ alor: { replayBodyAsString: true }, tinkoff: { duplicateAsError: true } });

function answerOf(response: WebhookResponse) {
  return { statusCode: response.statusCode, body: response.body, headers: response.headers };
}

describe.each([
  ['alor', 'replayed answer body as an object'],
  ['alor', 'replayed answer body as a JSON string'],
  ['tinkoff', 'first report returned again'],
  ['tinkoff', 'duplicate as error 30057'],
] as const)('%s webhook, broker duplicates: %s', (broker: Broker, mode) => {
  const brokers = () => (mode.includes('JSON string') || mode.includes('30057') ? paperDuplicates : paper);

  it('places exactly one order for the same signal sent 5 times with one Idempotency-Key, with 5 identical answers', async () => {
    const handler = paperHandler(broker, brokers());
    const key = uniqueKey('five-header');

    const answers: ReturnType<typeof answerOf>[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      answers.push(answerOf(await handler(orderSignal(broker, { headerKey: key }))));
    }

    expect(answers[0]).toMatchObject(OK);
    expect(answers).toEqual(Array(5).fill(answers[0]));
    const requestId = expectedRequestId(broker, key);
    expect(ordersWithRequestId(broker, brokers(), requestId)).toBe(1);
    expect(receivedOrderIds(broker, brokers())).toEqual(Array(5).fill(requestId));
  });

  it('places exactly one order for the same signal sent 5 times with one body id, from 5 containers at once', async () => {
    const key = uniqueKey('five-body');
    // A resend may land on another container (a cold token cache) while the first is still in flight.
    const handlers = Array.from({ length: 5 }, () => paperHandler(broker, brokers()));

    const answers = await Promise.all(
      handlers.map(async (handler) => answerOf(await handler(orderSignal(broker, { bodyKey: key })))),
    );

    expect(answers).toEqual(Array(5).fill(answers[0]));
    expect(answers[0]).toMatchObject(OK);
    expect(ordersWithRequestId(broker, brokers(), expectedRequestId(broker, key))).toBe(1);
    expect(brokers()[broker].orders.length).toBeGreaterThan(0);
    expect(maxOrdersPerKey(broker, brokers())).toBe(1);
  });

  it('treats the header key and the body id of the same value as one key', async () => {
    const handler = paperHandler(broker, brokers());
    const key = uniqueKey('both');

    const byHeader = answerOf(await handler(orderSignal(broker, { headerKey: key })));
    const byBody = answerOf(await handler(orderSignal(broker, { bodyKey: key })));
    const byBoth = answerOf(await handler(orderSignal(broker, { headerKey: key, bodyKey: key })));

    expect([byBody, byBoth]).toEqual([byHeader, byHeader]);
    expect(ordersWithRequestId(broker, brokers(), expectedRequestId(broker, key))).toBe(1);
  });

  it('places two orders for two different keys', async () => {
    const handler = paperHandler(broker, brokers());
    const [first, second] = [uniqueKey('two-a'), uniqueKey('two-b')];

    const answers = [
      answerOf(await handler(orderSignal(broker, { headerKey: first }))),
      answerOf(await handler(orderSignal(broker, { headerKey: second }))),
      answerOf(await handler(orderSignal(broker, { headerKey: first }))),
      answerOf(await handler(orderSignal(broker, { headerKey: second }))),
    ];

    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200, 200]);
    expect(ordersWithRequestId(broker, brokers(), expectedRequestId(broker, first))).toBe(1);
    expect(ordersWithRequestId(broker, brokers(), expectedRequestId(broker, second))).toBe(1);
  });

  it('places the other order when a key is reused for an order of the other side, not a replay of the first', async () => {
    const handler = paperHandler(broker, brokers());
    const key = uniqueKey('reused');
    const other = { ...ORDERS[broker], d: ORDERS[broker].d === 'buy' ? 'sell' : 'buy' };
    const before = brokers()[broker].orders.length;

    const first = answerOf(await handler(orderSignal(broker, { headerKey: key })));
    const second = answerOf(await handler(orderSignal(broker, { headerKey: key, body: other })));

    expect([first, second]).toMatchObject([OK, OK]);
    expect(brokers()[broker].orders.length - before).toBe(2);
    expect(ordersWithRequestId(broker, brokers(), expectedRequestId(broker, key))).toBe(1);
    expect(ordersWithRequestId(broker, brokers(), expectedRequestId(broker, key, other))).toBe(1);
  });

  it('answers a refused order the same way every time its key is resent', async () => {
    const handler = paperHandler(broker, brokers());
    const key = uniqueKey('refused');
    const unknown =
      broker === 'alor' ? { t: 'NOPE', p: '1', v: 1, d: 'buy' } : { t: 'X', p: '1', v: 1, d: 'buy', f: 'BBG000000000' };

    const answers = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      answers.push(answerOf(await handler(orderSignal(broker, { headerKey: key, body: unknown }))));
    }

    expect(answers[0]?.statusCode).toBe(400);
    expect(answers).toEqual(Array(3).fill(answers[0]));
    expect(ordersWithRequestId(broker, brokers(), expectedRequestId(broker, key, unknown))).toBe(0);
  });

  it('answers a signal resent after a 504 from the order the late first call placed', async () => {
    const handler = paperHandler(broker, brokers());
    const key = uniqueKey('after-504');
    brokers()[broker].injectFault({ route: 'order', fault: { kind: 'hang-mid-body' } });

    const first = answerOf(await handler(orderSignal(broker, { headerKey: key })));
    const resent = answerOf(await handler(orderSignal(broker, { headerKey: key })));

    expect(first).toMatchObject({ statusCode: 504 });
    expect(resent).toMatchObject(OK);
    expect(ordersWithRequestId(broker, brokers(), expectedRequestId(broker, key))).toBe(1);
  });
});

describe.each(['alor', 'tinkoff'] as const)('%s webhook: internal retries', (broker: Broker) => {
  it('resends after a reset with the same request id when the caller gave no key', async () => {
    const handler = paperHandler(broker, paper);
    paper[broker].injectFault({ route: 'order', fault: { kind: 'reset' } });

    const response = await handler(orderSignal(broker));

    expect(answerOf(response)).toMatchObject(OK);
    const ids = receivedOrderIds(broker, paper);
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
    expect(ordersWithRequestId(broker, paper, ids[0] ?? '')).toBe(1);
  });

  it('resends after a reset mid-answer with the same id, and the broker places no second order', async () => {
    const handler = paperHandler(broker, paper);
    paper[broker].injectFault({ route: 'order', fault: { kind: 'reset-mid-body' } });

    const response = await handler(orderSignal(broker));

    expect(answerOf(response)).toMatchObject(OK);
    const ids = receivedOrderIds(broker, paper);
    expect(ids).toEqual([ids[0], ids[0]]);
    expect(ordersWithRequestId(broker, paper, ids[0] ?? '')).toBe(1);
  });

  it('makes a new request id for each keyless invocation', async () => {
    const handler = paperHandler(broker, paper);

    await handler(orderSignal(broker));
    await handler(orderSignal(broker));

    const ids = receivedOrderIds(broker, paper);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
  });

  it.each([502, 503, 504])('resends once after a %i before an answer, with the same id', async (status) => {
    const handler = paperHandler(broker, paper);
    paper[broker].injectFault({ route: 'order', fault: { kind: 'status', status, body: '' } });

    const response = await handler(orderSignal(broker));

    expect(answerOf(response)).toMatchObject(OK);
    const ids = receivedOrderIds(broker, paper);
    expect(ids).toEqual([ids[0], ids[0]]);
  });

  it.each([
    ['hung before headers', { kind: 'hang-before-headers' }],
    ['hung mid-body', { kind: 'hang-mid-body' }],
    ['answered after the deadline', { kind: 'delay', ms: BROKER_TIMEOUT_MS + 100 }],
  ] as const)('answers 504 and never resends an order %s', async (_name, fault) => {
    const handler = paperHandler(broker, paper);
    paper[broker].injectFault({ route: 'order', fault });

    const response = await handler(orderSignal(broker, { headerKey: uniqueKey('no-resend') }));
    await allExchangesSettled(paper, broker);

    expect(answerOf(response)).toMatchObject({ statusCode: 504, body: 'Брокер не ответил вовремя' });
    expect(paper[broker].stats.byRoute.order).toBe(1);
  });

  it.each([500, 429])('does not resend after a %i', async (status) => {
    const handler = paperHandler(broker, paper);
    paper[broker].injectFault({ route: 'order', fault: { kind: 'status', status, body: '{}' } });

    const response = await handler(orderSignal(broker));

    expect(answerOf(response)).toMatchObject({ statusCode: 502 });
    expect(paper[broker].stats.byRoute.order).toBe(1);
  });

  it('resends at most once', async () => {
    const handler = paperHandler(broker, paper);
    paper[broker].injectFault({ route: 'order', fault: { kind: 'reset' }, times: 5 });

    const response = await handler(orderSignal(broker));

    expect(answerOf(response)).toMatchObject({ statusCode: 502 });
    expect(paper[broker].stats.byRoute.order).toBe(2);
  });
});

describe('tinkoff webhook on API v1 (no idempotency key at the broker)', () => {
  it.each([
    ['a reset', { kind: 'reset' }, 0],
    ['a reset mid-body', { kind: 'reset-mid-body' }, 1],
    ['a 502', { kind: 'status', status: 502, body: '' }, 0],
  ] as const)('does not resend an order after %s: it may have been placed', async (_name, fault, placed) => {
    const handler = paperHandler('tinkoff', paper, { TINKOFF_API: 'v1', TINKOFF_API_URL: paper.tinkoff.url });
    const booked = paper.tinkoff.orders.length;
    paper.tinkoff.injectFault({ route: 'v1-order', fault });

    const response = await handler(orderSignal('tinkoff'));

    expect(answerOf(response)).toMatchObject({ statusCode: 502, body: 'Брокер недоступен' });
    expect(paper.tinkoff.stats.byRoute['v1-order']).toBe(1);
    expect(paper.tinkoff.orders.length - booked).toBe(placed);
  });
});

describe('alor webhook: a revoked access token', () => {
  it('refreshes once and resends with the same X-REQID, placing one order', async () => {
    const handler = paperHandler('alor', paper);
    await handler(orderSignal('alor'));
    paper.alor.revokeAccessTokens();
    paper.alor.resetStats();

    const response = await handler(orderSignal('alor'));

    expect(answerOf(response)).toMatchObject(OK);
    expect(paper.alor.stats.byRoute).toEqual({ order: 2, refresh: 1 });
    const ids = receivedOrderIds('alor', paper);
    expect(ids[1]).toBe(ids[0]);
    expect(ordersWithRequestId('alor', paper, ids[0] ?? '')).toBe(1);
  });
});

describe('tinkoff webhook, a 30057 duplicate that reaches another container', () => {
  it('asks GetOrderState and answers 200 "200 OK" for the order the first container placed', async () => {
    const key = uniqueKey('state-placed');
    const first = answerOf(await paperHandler('tinkoff', paperDuplicates)(orderSignal('tinkoff', { headerKey: key })));

    const resent = answerOf(await paperHandler('tinkoff', paperDuplicates)(orderSignal('tinkoff', { headerKey: key })));

    expect([first, resent]).toMatchObject([OK, OK]);
    expect(ordersWithRequestId('tinkoff', paperDuplicates, expectedRequestId('tinkoff', key))).toBe(1);
    expect(paperDuplicates.tinkoff.stats.byRoute).toEqual({ order: 2, 'order-state': 1 });
  });

  it('answers 502 "Брокер недоступен", never "200 OK", when the broker has no order for the key', async () => {
    const key = uniqueKey('state-missing');
    const unknown = { t: 'X', p: '1', v: 1, d: 'buy', f: 'BBG000000000' };
    const first = answerOf(
      await paperHandler('tinkoff', paperDuplicates)(orderSignal('tinkoff', { headerKey: key, body: unknown })),
    );

    const resent = answerOf(
      await paperHandler('tinkoff', paperDuplicates)(orderSignal('tinkoff', { headerKey: key, body: unknown })),
    );

    expect(first).toMatchObject({ statusCode: 400, body: 'Instrument not found' });
    expect(resent).toMatchObject({ statusCode: 502, body: 'Брокер недоступен' });
    expect(
      paperDuplicates.tinkoff.orders.filter(
        (order) => order.orderRequestId === expectedRequestId('tinkoff', key, unknown),
      ),
    ).toEqual([]);
  });
});
