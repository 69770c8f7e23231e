import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FakeAwsStore, PUT_ITEM, startFakeAwsStore, UPDATE_ITEM } from '#local/aws-store.ts';
import { PAPER_ALOR, PAPER_INSTRUMENTS, PAPER_TINKOFF } from '#local/paper-broker/index.ts';
import { BROKERS, type Broker } from '#shared/facts.ts';
import { DynamoDbClient } from '#shared/lock/dynamodb.ts';
import { DynamoLeaseStore, LEASE_MARGIN_MS } from '#shared/lock/position-lock.ts';
import { alorPaperEnv, type Env, importHandler, tinkoffPaperEnv } from '../helpers/handlers.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { logLines } from '../helpers/logs.ts';
import { orderSignal } from '../helpers/resilience.ts';
import { flatten, jsonAnswer, ordersOf, positionOf, signalEvent, workingOrdersOf } from '../helpers/signals.ts';

/**
 * docs/contract.md#position-lock in the deployed code path: the exported handlers with `POSITION_LOCK_TABLE` set, their
 * DynamoDB client (signed requests, shared/lock/dynamodb.ts) pointed at the fake AWS store's DynamoDB, against both paper brokers. Concurrency is shown by
 * counts and by the order things happen in, never by time.
 */

const TABLE = 'ppp-webhooks-position-locks';
const paper = usePaperBrokers();
let store: FakeAwsStore;

beforeAll(async () => {
  store = await startFakeAwsStore({ tables: [TABLE] });
});
afterAll(async () => {
  await store.close();
});
/**
 * A signal answers once its lease's give-back is on its way to DynamoDB, not when it is applied
 * (docs/contract.md#position-lock): what the store shows of it is waited for, as long as it takes to arrive.
 */
const givenBack = (check: () => void) => vi.waitFor(check, { timeout: 10_000, interval: 2 });

/** Every lease a signal of the test took, given back: as many gives as takes. */
function everyLeaseGivenBack(): Promise<void> {
  return givenBack(() => {
    const writes = store.requests.filter(
      (request) => request.conditionMet === true && !request.key?.includes('#orders#'),
    );
    const takes = writes.filter((request) => request.target === PUT_ITEM).length;
    expect(writes.length - takes).toBe(takes);
  });
}

afterEach(everyLeaseGivenBack);
beforeEach(() => {
  store.resetRequests();
  for (const key of [...store.items(TABLE).keys()]) store.deleteItem(TABLE, key);
});

/** The paper brokers' routes of a signal's state reads. */
const READS = new Set(['position', 'positions', 'orders', 'stop-orders']);

/** Room for 20 signals in a row on one instrument: the lock may be waited for up to half of it. */
const ROOMY = { BROKER_TIMEOUT_MS: '20000' };

function deployedEnv(broker: Broker, overrides: Env = {}): Env {
  const brokerEnv = broker === 'alor' ? alorPaperEnv(paper) : tinkoffPaperEnv(paper);
  return { ...brokerEnv, ...store.env(), POSITION_LOCK_TABLE: TABLE, ...overrides };
}

/** The lock's item name of an instrument: the function, the account, the instrument in the broker's terms. */
function lockName(broker: Broker, ticker: string): string {
  if (broker === 'alor') return `alor#${PAPER_ALOR.portfolio}#MOEX:${ticker}`;
  const uid = PAPER_INSTRUMENTS.tinkoff.find((instrument) => instrument.ticker === ticker)?.uid;
  return `tinkoff#${PAPER_TINKOFF.accountId}#${uid}`;
}

/** A lease as another holder's: held until `leaseUntil` (ms since the epoch). */
function holdLease(broker: Broker, ticker: string, leaseUntil: number): void {
  store.putItem(TABLE, {
    pk: { S: lockName(broker, ticker) },
    holder: { S: 'another-container' },
    leaseUntil: { N: String(leaseUntil) },
    expiresAt: { N: String(Math.ceil(leaseUntil / 1000)) },
  });
}

/** The fake's log of successful lease writes on one name: never two takes without a give-back between them. */
function leaseHistory(name: string): ('take' | 'give')[] {
  return store.requests
    .filter((request) => request.key === name && request.conditionMet === true)
    .filter((request) => request.target === PUT_ITEM || request.target === UPDATE_ITEM)
    .map((request) => (request.target === PUT_ITEM ? 'take' : 'give'));
}

describe.each(BROKERS)('%s: 20 concurrent pos: 5 signals on one instrument, two containers', (broker) => {
  it.each(['market', 'limit'] as const)('reach exactly 5 lots, with one %s order', async (type) => {
    flatten(paper, broker, 'SBER');
    const containers = await Promise.all([
      importHandler(broker, deployedEnv(broker, ROOMY)),
      importHandler(broker, deployedEnv(broker, ROOMY)),
    ]);
    const booked = ordersOf(paper, broker, 'SBER').length;
    const body = { t: 'MOEX:SBER', pos: 5, ...(type === 'market' ? { o: 'market' } : { p: '250' }) };

    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        containers[index % 2]?.(signalEvent(broker, body, { key: `burst-${broker}-${type}-${index}` })),
      ),
    );

    const results = answers.map((response) => jsonAnswer(response ?? { statusCode: 0, body: '{}' }).json.result);
    expect(results.filter((result) => result === 'placed')).toHaveLength(1);
    expect(results.filter((result) => result === 'nothing-to-do')).toHaveLength(19);
    const placed = ordersOf(paper, broker, 'SBER').slice(booked);
    expect(placed).toEqual([expect.objectContaining({ side: 'buy', lots: 5, type })]);
    // Market: filled at once; limit: working, and counted by every later signal as if filled.
    expect(
      positionOf(paper, broker, 'SBER') + workingOrdersOf(paper, broker, 'SBER').reduce((sum, o) => sum + o.lots, 0),
    ).toBe(5);
    await givenBack(() =>
      expect(leaseHistory(lockName(broker, 'SBER'))).toEqual(Array.from({ length: 20 }, () => ['take', 'give']).flat()),
    );
    // The lease is kept, ended, for the next take to see when it was given back.
    expect(store.items(TABLE).get(lockName(broker, 'SBER'))).toHaveProperty('endedAt');
  });
});

describe.each(BROKERS)('%s: the lock per instrument', (broker) => {
  it('does not serialise two instruments: GAZP is placed while SBER waits for its lock', async () => {
    flatten(paper, broker, 'SBER');
    flatten(paper, broker, 'GAZP');
    const handler = await importHandler(broker, deployedEnv(broker, ROOMY));
    holdLease(broker, 'SBER', Date.now() + 60_000);
    const finished: string[] = [];

    const sber = handler(signalEvent(broker, { t: 'MOEX:SBER', pos: 1, o: 'market' })).then((response) => {
      finished.push('SBER');
      return response;
    });
    const gazp = await handler(signalEvent(broker, { t: 'MOEX:GAZP', pos: 1, o: 'market' }));
    finished.push('GAZP');
    const sberTriesBeforeRelease = store.requests.filter(
      (request) => request.key === lockName(broker, 'SBER') && request.target === PUT_ITEM,
    ).length;
    store.deleteItem(TABLE, lockName(broker, 'SBER'));
    const sberAnswer = await sber;

    expect(jsonAnswer(gazp).json).toMatchObject({ result: 'placed' });
    expect(jsonAnswer(sberAnswer).json).toMatchObject({ result: 'placed' });
    expect(finished).toEqual(['GAZP', 'SBER']);
    expect(sberTriesBeforeRelease).toBeGreaterThanOrEqual(1);
    expect(positionOf(paper, broker, 'GAZP')).toBe(1);
    expect(positionOf(paper, broker, 'SBER')).toBe(1);
  });

  it('position-locked: answers 409 when the lock stays held as long as the signal may wait, placing and cancelling nothing', async () => {
    flatten(paper, broker, 'SBER');
    const handler = await importHandler(broker, deployedEnv(broker, { BROKER_TIMEOUT_MS: '300' }));
    holdLease(broker, 'SBER', Date.now() + 60_000);
    // The container warm: its access token, the instrument, the lock table's connection.
    await handler(signalEvent(broker, { t: 'MOEX:SBER', x: 'cancel' }));
    await handler(signalEvent(broker, { t: 'MOEX:GAZP', pos: 0, o: 'market' }));
    paper[broker].resetStats();

    const answer = jsonAnswer(await handler(signalEvent(broker, { t: 'MOEX:SBER', pos: 1, o: 'market' })));

    expect(answer).toMatchObject({
      status: 409,
      json: {
        result: 'position-locked',
        message: 'Другой сигнал по этому инструменту ещё исполняется: сигнал не исполнен, повторите его',
      },
    });
    // Its reads went beside the first take, and were dropped.
    expect(Object.keys(paper[broker].stats.byRoute).filter((route) => !READS.has(route))).toEqual([]);
    expect(store.items(TABLE).get(lockName(broker, 'SBER'))?.holder).toEqual({ S: 'another-container' });
    expect(logLines().at(-1)).toMatchObject({ outcome: 'position-locked', lock: 'held', status: 409 });
  });

  it('takes the lease of a holder that died once it has expired', async () => {
    flatten(paper, broker, 'SBER');
    const handler = await importHandler(broker, deployedEnv(broker));
    holdLease(broker, 'SBER', Date.now() - 1);

    const answer = jsonAnswer(await handler(signalEvent(broker, { t: 'MOEX:SBER', pos: 2, o: 'market' })));

    expect(answer.json).toMatchObject({ result: 'placed' });
    await givenBack(() => expect(leaseHistory(lockName(broker, 'SBER'))).toEqual(['take', 'give']));
  });

  it("takes no lock for today's body, an order or a cancel: no DynamoDB request at all", async () => {
    const handler = await importHandler(broker, deployedEnv(broker));

    const legacy = await handler(orderSignal(broker));
    const order = jsonAnswer(await handler(signalEvent(broker, { t: 'MOEX:SBER', d: 'buy', v: 1, p: '100' })));
    const cancel = jsonAnswer(await handler(signalEvent(broker, { t: 'MOEX:SBER', x: 'cancel' })));

    expect(legacy).toMatchObject({ statusCode: 200, body: '200 OK' });
    expect(order.json.result).toBe('placed');
    expect(cancel.json.result).toBe('cancelled');
    expect(store.requests).toEqual([]);
  });
});

describe('DynamoLeaseStore through the lock table client', () => {
  const leases = () => new DynamoLeaseStore(new DynamoDbClient(), TABLE);
  const signal = () => AbortSignal.timeout(5000);
  const lease = (holder: string, now: number, leaseUntil: number) => ({
    holder,
    container: `c-${holder}`,
    now,
    leaseUntil,
  });

  it('takes a free name, refuses a held one, takes an expired one, gives back only its own, and says what it replaced', async () => {
    for (const [name, value] of Object.entries(store.env())) vi.stubEnv(name, value);
    const first = leases();
    const second = leases();

    expect(await first.take('n', lease('a', 1000, 5000), signal())).toEqual({ taken: true });
    // Resent (its answer lost): taken, and what the first write replaced is not known, so the reads are read again.
    expect(await first.take('n', lease('a', 1000, 5000), signal())).toEqual({
      taken: true,
      replaced: { endedAt: Number.POSITIVE_INFINITY, container: '' },
    });
    expect(await second.take('n', lease('b', 4999, 9000), signal())).toEqual({ taken: false });
    await second.give('n', 'b', 4999, signal());
    await givenBack(() => expect(store.count(UPDATE_ITEM, TABLE)).toBe(1));
    expect(store.items(TABLE).get('n')?.holder).toEqual({ S: 'a' });
    expect(await second.take('n', lease('b', 5001, 9000 + LEASE_MARGIN_MS), signal())).toEqual({
      taken: true,
      replaced: { endedAt: 5000, container: 'c-a' },
    });
    await first.give('n', 'a', 5002, signal());
    await givenBack(() => expect(store.count(UPDATE_ITEM, TABLE)).toBe(2));
    expect(store.items(TABLE).get('n')).toMatchObject({
      holder: { S: 'b' },
      leaseUntil: { N: String(9000 + LEASE_MARGIN_MS) },
      expiresAt: { N: String(10 + 3600) },
    });
    await second.give('n', 'b', 6000, signal());
    await givenBack(() => expect(store.count(UPDATE_ITEM, TABLE)).toBe(3));
    expect(store.items(TABLE).get('n')).toMatchObject({ endedAt: { N: '6000' }, expiresAt: { N: String(6 + 3600) } });
    expect(await first.take('n', lease('a', 6001, 12_000), signal())).toEqual({
      taken: true,
      replaced: { endedAt: 6000, container: 'c-b' },
    });
    // Its takes and gives on one name by hand are not a signal's: nothing for the check after each test.
    store.resetRequests();
  });
});
