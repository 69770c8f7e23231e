import { createServer } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import type { Fault } from '#local/paper-broker/index.ts';
import type { Broker } from '#shared/facts.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { logLines } from '../helpers/logs.ts';
import {
  allExchangesSettled,
  answerOf,
  BROKER_TIMEOUT_MS,
  expectedRequestId,
  maxOrdersPerKey,
  orderSignal,
  ordersWithRequestId,
  paperHandler,
  receivedOrderIds,
  uniqueKey,
} from '../helpers/resilience.ts';

/**
 * Fault injection (docs/contract.md#deadline-and-retries): whatever the paper broker does (hang, reset, 5xx, 429, HTML, broken or huge JSON,
 * a slow token refresh), the handler gives the contract's answer, having called the broker as many times as the
 * contract allows, and the book holds at most one order per key. No test here bounds the wall-clock time: the
 * deadline that ends a hung call is shown on a fake clock (tests/unit/http-client.test.ts,
 * tests/integration/store-deadline.test.ts).
 *
 * The answers pinned here, from the rows docs/contract.md#broker-timeout and docs/contract.md#broker-unavailable:
 * - no answer by the deadline (hung before headers or mid-body, or too slow) → 504 `Брокер не ответил вовремя`,
 *   never re-sent: the broker may have acted on it, and resending the same key later is the caller's safe move;
 * - a reset, or a 502/503/504 from a gateway, is resent once with the same request id: one such fault is
 *   absorbed (200, one order), two give 502 `Брокер недоступен`;
 * - 500, 429, HTML, malformed or wrong-shaped JSON, a body over the cap → 502 `Брокер недоступен`, not retried
 *   (the broker answered; 429 says "not now", and a resend inside the same 3 s would only be throttled again).
 */

const UNAVAILABLE = { status: 502, body: 'Брокер недоступен' };
const TIMED_OUT = { status: 504, body: 'Брокер не ответил вовремя' };
const OK = { status: 200, body: '200 OK' };
const HTML_502 = '<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>';
const FIVE_MB = 5 * 1024 * 1024;

const paper = usePaperBrokers();

interface FaultCase {
  readonly name: string;
  readonly fault: Fault;
  /** Consecutive requests the fault applies to. */
  readonly times: number;
  readonly answer: { status: number; body: string };
  /** Order calls the broker received: 2 means one resend, with the same id. */
  readonly orderCalls: number;
  /** Orders in the book under this signal's key afterwards. */
  readonly orders: number;
}

const ORDER_FAULTS: readonly FaultCase[] = [
  {
    name: 'hang before headers',
    fault: { kind: 'hang-before-headers' },
    times: 1,
    answer: TIMED_OUT,
    orderCalls: 1,
    orders: 0,
  },
  // The broker placed it and its answer stalled: 504, not resent; the same key resent later is answered from it.
  { name: 'hang mid-body', fault: { kind: 'hang-mid-body' }, times: 1, answer: TIMED_OUT, orderCalls: 1, orders: 1 },
  {
    name: 'an answer slower than the deadline',
    fault: { kind: 'delay', ms: BROKER_TIMEOUT_MS + 300 },
    times: 1,
    answer: TIMED_OUT,
    orderCalls: 1,
    orders: 0,
  },
  { name: 'one connection reset', fault: { kind: 'reset' }, times: 1, answer: OK, orderCalls: 2, orders: 1 },
  // The broker placed it, then the connection broke mid-answer: the resend carries the same id and is answered
  // from the first call (Alor "already handled", T-Invest the first report), so still one order.
  {
    name: 'a reset mid-body, after the broker acted',
    fault: { kind: 'reset-mid-body' },
    times: 1,
    answer: OK,
    orderCalls: 2,
    orders: 1,
  },
  {
    name: 'a reset on the resend too',
    fault: { kind: 'reset' },
    times: 2,
    answer: UNAVAILABLE,
    orderCalls: 2,
    orders: 0,
  },
  {
    name: '500',
    fault: { kind: 'status', status: 500, body: '{"message":"Internal Server Error"}' },
    times: 1,
    answer: UNAVAILABLE,
    orderCalls: 1,
    orders: 0,
  },
  {
    name: 'one 502 with an HTML body',
    fault: { kind: 'status', status: 502, body: HTML_502, contentType: 'text/html' },
    times: 1,
    answer: OK,
    orderCalls: 2,
    orders: 1,
  },
  {
    name: '502 with an HTML body on the resend too',
    fault: { kind: 'status', status: 502, body: HTML_502, contentType: 'text/html' },
    times: 2,
    answer: UNAVAILABLE,
    orderCalls: 2,
    orders: 0,
  },
  {
    name: '503 twice',
    fault: { kind: 'status', status: 503, body: '' },
    times: 2,
    answer: UNAVAILABLE,
    orderCalls: 2,
    orders: 0,
  },
  {
    name: '504 from a gateway, twice',
    fault: { kind: 'status', status: 504, body: HTML_502, contentType: 'text/html' },
    times: 2,
    answer: UNAVAILABLE,
    orderCalls: 2,
    orders: 0,
  },
  {
    name: '429',
    fault: { kind: 'status', status: 429, body: '{"code":8,"message":"resource exhausted","description":"80002"}' },
    times: 1,
    answer: UNAVAILABLE,
    orderCalls: 1,
    orders: 0,
  },
  {
    name: 'malformed JSON',
    fault: { kind: 'status', status: 200, body: '{"message":"success","orderNumber":' },
    times: 1,
    answer: UNAVAILABLE,
    orderCalls: 1,
    orders: 0,
  },
  {
    name: 'JSON of the wrong shape',
    fault: { kind: 'status', status: 200, body: '{"result":[1,2,3]}' },
    times: 1,
    answer: UNAVAILABLE,
    orderCalls: 1,
    orders: 0,
  },
  {
    name: 'an HTML 400',
    fault: { kind: 'status', status: 400, body: HTML_502, contentType: 'text/html' },
    times: 1,
    answer: UNAVAILABLE,
    orderCalls: 1,
    orders: 0,
  },
  {
    name: 'a 5 MB body',
    fault: { kind: 'huge-body', bytes: FIVE_MB },
    times: 1,
    answer: UNAVAILABLE,
    orderCalls: 1,
    orders: 0,
  },
];

describe.each(['alor', 'tinkoff'] as const)('%s webhook: broker faults on the order call', (broker: Broker) => {
  it.each(ORDER_FAULTS)('answers $name with $answer.status', async (testCase) => {
    const handler = paperHandler(broker, paper);
    const key = uniqueKey(`fault-${broker}`);
    paper[broker].injectFault({ route: 'order', fault: testCase.fault, times: testCase.times });

    const result = await answerOf(handler, orderSignal(broker, { headerKey: key }));

    expect({ status: result.status, body: result.body }).toEqual(testCase.answer);
    const requestId = expectedRequestId(broker, key);
    expect(receivedOrderIds(broker, paper)).toEqual(Array(testCase.orderCalls).fill(requestId));
    expect(ordersWithRequestId(broker, paper, requestId)).toBe(testCase.orders);
    expect(maxOrdersPerKey(broker, paper)).toBeLessThanOrEqual(1);
  });

  it('tells the order its own resend found already placed (a reset mid-body) as placed, not as a replay', async () => {
    const handler = paperHandler(broker, paper);
    paper[broker].injectFault({ route: 'order', fault: { kind: 'reset-mid-body' } });

    const result = await answerOf(handler, orderSignal(broker, { headerKey: uniqueKey(`own-resend-${broker}`) }));

    expect(result).toEqual(OK);
    expect(logLines()).toEqual([expect.objectContaining({ outcome: 'placed', replayed: false })]);
  });

  it('never re-sends an order whose answer came too late, and the late order is the only one', async () => {
    const handler = paperHandler(broker, paper);
    const key = uniqueKey(`late-${broker}`);
    paper[broker].injectFault({ route: 'order', fault: { kind: 'delay', ms: BROKER_TIMEOUT_MS + 100 } });

    const result = await answerOf(handler, orderSignal(broker, { headerKey: key }));
    await vi.waitFor(() => expect(ordersWithRequestId(broker, paper, expectedRequestId(broker, key))).toBe(1), {
      timeout: 5_000,
      interval: 5,
    });
    await allExchangesSettled(paper, broker);

    expect({ status: result.status, body: result.body }).toEqual(TIMED_OUT);
    // The broker finished the request after we gave up: one order, one call, nothing resent.
    expect(receivedOrderIds(broker, paper)).toHaveLength(1);
    expect(ordersWithRequestId(broker, paper, expectedRequestId(broker, key))).toBe(1);
  });

  it('answers an unreachable broker with 502, having tried twice at most', async () => {
    const closedPort = await freePort();
    const url = `http://127.0.0.1:${closedPort}`;
    const handler = paperHandler(
      broker,
      paper,
      broker === 'alor' ? { ALOR_OAUTH_URL: url, ALOR_API_URL: url } : { TINKOFF_API_URL: `${url}/rest` },
    );

    const result = await answerOf(handler, orderSignal(broker, { headerKey: uniqueKey('unreachable') }));

    expect({ status: result.status, body: result.body }).toEqual(UNAVAILABLE);
  });
});

const REFRESH_FAULTS: readonly (Omit<FaultCase, 'orderCalls' | 'orders'> & { refreshCalls: number; orders: number })[] =
  [
    {
      name: 'a refresh slower than the deadline',
      fault: { kind: 'delay', ms: BROKER_TIMEOUT_MS * 2 },
      times: 1,
      answer: TIMED_OUT,
      refreshCalls: 1,
      orders: 0,
    },
    {
      name: 'a slow refresh that leaves time for the order',
      fault: { kind: 'delay', ms: Math.round(BROKER_TIMEOUT_MS * 0.4) },
      times: 1,
      answer: OK,
      refreshCalls: 1,
      orders: 1,
    },
    {
      name: 'a refresh hung before headers',
      fault: { kind: 'hang-before-headers' },
      times: 1,
      answer: TIMED_OUT,
      refreshCalls: 1,
      orders: 0,
    },
    {
      name: 'a refresh hung mid-body',
      fault: { kind: 'hang-mid-body' },
      times: 1,
      answer: TIMED_OUT,
      refreshCalls: 1,
      orders: 0,
    },
    { name: 'one reset of the refresh', fault: { kind: 'reset' }, times: 1, answer: OK, refreshCalls: 2, orders: 1 },
    {
      name: 'a refresh reset twice',
      fault: { kind: 'reset' },
      times: 2,
      answer: UNAVAILABLE,
      refreshCalls: 2,
      orders: 0,
    },
    {
      name: 'a refresh 500',
      fault: { kind: 'status', status: 500, body: '' },
      times: 1,
      answer: UNAVAILABLE,
      refreshCalls: 1,
      orders: 0,
    },
    {
      name: 'a refresh 502 with HTML, twice',
      fault: { kind: 'status', status: 502, body: HTML_502, contentType: 'text/html' },
      times: 2,
      answer: UNAVAILABLE,
      refreshCalls: 2,
      orders: 0,
    },
    {
      name: 'a refresh 429',
      fault: { kind: 'status', status: 429, body: '' },
      times: 1,
      answer: UNAVAILABLE,
      refreshCalls: 1,
      orders: 0,
    },
    {
      name: 'a refresh answer of malformed JSON',
      fault: { kind: 'status', status: 200, body: '{"AccessToken":"ey' },
      times: 1,
      answer: UNAVAILABLE,
      refreshCalls: 1,
      orders: 0,
    },
    {
      name: 'a refresh answer in HTML',
      fault: { kind: 'status', status: 200, body: HTML_502, contentType: 'text/html' },
      times: 1,
      answer: UNAVAILABLE,
      refreshCalls: 1,
      orders: 0,
    },
    {
      name: 'a 5 MB refresh answer',
      fault: { kind: 'huge-body', bytes: FIVE_MB },
      times: 1,
      answer: UNAVAILABLE,
      refreshCalls: 1,
      orders: 0,
    },
    // docs/contract.md#credential-rejected: a JSON answer without AccessToken is how the original recognised a rejected
    // refresh token.
    {
      name: 'a refresh answer without AccessToken',
      fault: { kind: 'status', status: 200, body: '{"token":"x"}' },
      times: 1,
      answer: { status: 403, body: 'Refresh-токен неверный, заблокирован либо истёк' },
      refreshCalls: 1,
      orders: 0,
    },
  ];

describe('alor webhook: faults on the token refresh', () => {
  it.each(REFRESH_FAULTS)('answers $name with $answer.status', async (testCase) => {
    const handler = paperHandler('alor', paper);
    const key = uniqueKey('refresh-fault');
    paper.alor.injectFault({ route: 'refresh', fault: testCase.fault, times: testCase.times });

    const result = await answerOf(handler, orderSignal('alor', { headerKey: key }));

    expect({ status: result.status, body: result.body }).toEqual(testCase.answer);
    expect(paper.alor.stats.byRoute.refresh).toBe(testCase.refreshCalls);
    expect(paper.alor.stats.byRoute.order ?? 0).toBe(testCase.orders);
    expect(ordersWithRequestId('alor', paper, expectedRequestId('alor', key))).toBe(testCase.orders);
  });

  it('recovers on the next signal once the refresh works again', async () => {
    const handler = paperHandler('alor', paper);
    paper.alor.injectFault({ route: 'refresh', fault: { kind: 'hang-before-headers' } });

    const first = await answerOf(handler, orderSignal('alor', { headerKey: uniqueKey('recover') }));
    const second = await answerOf(handler, orderSignal('alor', { headerKey: uniqueKey('recover') }));

    expect([first.status, second.status]).toEqual([504, 200]);
    expect(paper.alor.stats.byRoute.refresh).toBe(2);
  });
});

/** A loopback port with nothing listening on it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
