import { describe, expect, it } from 'vitest';
import { EXPIRY_MARGIN_MS } from '#shared/brokers/alor/access-token.ts';
import type { Broker } from '#shared/facts.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { maxOrdersPerKey, orderSignal, paperHandler, uniqueKey } from '../helpers/resilience.ts';

/**
 * Concurrency (docs/contract.md#deadline-and-retries, the Alor token): 50 invocations at once in one container (one handler instance, one token cache)
 * while the cache holds no usable Alor access token → exactly one refresh call, 50 orders.
 *
 * Three ways the cache can be without a usable token, all of which must end in one refresh:
 * - cold: nothing cached yet (the first 50 signals after a cold start);
 * - expired: the cached JWT is past its refresh point (its `exp` minus the margin);
 * - revoked: the cached JWT looks fresh but Alor answers 401, so every order learns it at once.
 */

const SIGNALS = 50;
/** Time is not under test here; the 50 orders share one connection per origin, so give them room. */
const RELAXED = { BROKER_TIMEOUT_MS: '10000' };

const paper = usePaperBrokers();
// A JWT that lives exactly the cache's margin is past its refresh point the moment it is issued,
// while the paper broker still accepts it: "expired in the cache".
const shortLived = usePaperBrokers({ alor: { accessTokenTtlSeconds: EXPIRY_MARGIN_MS / 1000 } });

async function fireAtOnce(handler: ReturnType<typeof paperHandler>, broker: Broker = 'alor') {
  const events = Array.from({ length: SIGNALS }, () => orderSignal(broker, { headerKey: uniqueKey('burst') }));
  const responses = await Promise.all(events.map((event) => handler(event)));
  return responses.map((response) => `${response.statusCode} ${response.body}`);
}

describe('alor webhook: 50 signals at once in one container', () => {
  it.each([
    ['for a cold cache', () => paper, false],
    ['when the cached token is past its refresh point', () => shortLived, true],
  ] as const)('makes one refresh call %s', async (_when, brokers, warmFirst) => {
    const handler = paperHandler('alor', brokers(), RELAXED);
    if (warmFirst) {
      await handler(orderSignal('alor'));
      brokers().alor.resetStats();
    }
    const booked = brokers().alor.orders.length;

    const answers = await fireAtOnce(handler);

    expect(answers).toEqual(Array(SIGNALS).fill('200 200 OK'));
    expect(brokers().alor.stats.byRoute.refresh).toBe(1);
    expect(brokers().alor.stats.byRoute.order).toBe(SIGNALS);
    expect(brokers().alor.orders.length - booked).toBe(SIGNALS);
  });

  it('makes one refresh call when the cached token was revoked and every order gets a 401', async () => {
    const handler = paperHandler('alor', paper, RELAXED);
    await handler(orderSignal('alor'));
    paper.alor.revokeAccessTokens();
    paper.alor.resetStats();
    const booked = paper.alor.orders.length;

    const answers = await fireAtOnce(handler);

    expect(answers).toEqual(Array(SIGNALS).fill('200 200 OK'));
    expect(paper.alor.stats.byRoute.refresh).toBe(1);
    // Each order went out twice (401, then with the fresh token and the same X-REQID); each was placed once.
    expect(paper.alor.stats.byRoute.order).toBe(SIGNALS * 2);
    expect(paper.alor.orders.length - booked).toBe(SIGNALS);
    expect(maxOrdersPerKey('alor', paper)).toBe(1);
  });

  it('makes one refresh call when the refresh is slow', async () => {
    const handler = paperHandler('alor', paper, RELAXED);
    paper.alor.injectFault({ route: 'refresh', fault: { kind: 'delay', ms: 300 } });

    const answers = await fireAtOnce(handler);

    expect(answers).toEqual(Array(SIGNALS).fill('200 200 OK'));
    expect(paper.alor.stats.byRoute.refresh).toBe(1);
  });

  it('answers all 50 from one failed refresh, then refreshes again for the next signal', async () => {
    const handler = paperHandler('alor', paper, RELAXED);
    paper.alor.injectFault({ route: 'refresh', fault: { kind: 'status', status: 500, body: '' } });

    const answers = await fireAtOnce(handler);
    const next = await handler(orderSignal('alor'));

    expect(answers).toEqual(Array(SIGNALS).fill('502 Брокер недоступен'));
    expect(next.statusCode).toBe(200);
    expect(paper.alor.stats.byRoute.refresh).toBe(2);
    expect(paper.alor.stats.byRoute.order).toBe(1);
  });

  it('keeps separate containers apart: each refreshes once', async () => {
    const handlers = [paperHandler('alor', paper, RELAXED), paperHandler('alor', paper, RELAXED)];

    const answers = (await Promise.all(handlers.map((handler) => fireAtOnce(handler)))).flat();

    expect(answers).toEqual(Array(SIGNALS * 2).fill('200 200 OK'));
    expect(paper.alor.stats.byRoute.refresh).toBe(2);
  });
});

describe('tinkoff webhook: 50 signals at once in one container', () => {
  it('places 50 orders, one per key', async () => {
    const handler = paperHandler('tinkoff', paper, RELAXED);
    paper.tinkoff.resetStats();

    const answers = await fireAtOnce(handler, 'tinkoff');

    expect(answers).toEqual(Array(SIGNALS).fill('200 200 OK'));
    expect(paper.tinkoff.stats.byRoute.order).toBe(SIGNALS);
    expect(maxOrdersPerKey('tinkoff', paper)).toBe(1);
  });
});
