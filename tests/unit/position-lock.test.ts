import { describe, expect, it } from 'vitest';
import { PositionLockedError } from '#shared/errors.ts';
import { createDeadline } from '#shared/http/outbound/deadline.ts';
import { CLOCK_SKEW_MS, LeasedPositionLock, type LeaseStore, MemoryLeaseStore } from '#shared/lock/position-lock.ts';

/** docs/contract.md#position-lock: one holder per name, waiting bounded by the deadline, never by a clock in the test. */

describe('LeasedPositionLock', () => {
  it('gives a name to one holder at a time, and the next one once it is given back', async () => {
    const lock = new LeasedPositionLock(new MemoryLeaseStore());
    const first = await lock.acquire('a', { deadline: createDeadline(10_000), keepMs: 0 });
    const order: string[] = [];
    const second = lock.acquire('a', { deadline: createDeadline(10_000), keepMs: 0 }).then((lease) => {
      order.push('second');
      return lease;
    });
    const other = await lock.acquire('b', { deadline: createDeadline(10_000), keepMs: 0 });
    order.push('other name');
    await first.release();
    await (await second).release();
    await other.release();

    expect(order).toEqual(['other name', 'second']);
  });

  it('stops waiting once only keepMs of the deadline is left: position-locked, the lease untouched', async () => {
    const store = new MemoryLeaseStore();
    const lock = new LeasedPositionLock(store);
    await lock.acquire('a', { deadline: createDeadline(60_000), keepMs: 0 });

    await expect(lock.acquire('a', { deadline: createDeadline(100), keepMs: 50 })).rejects.toThrow(PositionLockedError);
    const now = Date.now();
    expect(await store.take('a', { holder: 'x', container: 'c', now, leaseUntil: now + 1 })).toEqual({ taken: false });
  });

  it('never waits when the deadline leaves nothing to wait', async () => {
    let takes = 0;
    const store: LeaseStore = {
      take: async () => {
        takes += 1;
        return { taken: false };
      },
      give: async () => undefined,
    };
    await expect(
      new LeasedPositionLock(store).acquire('a', { deadline: createDeadline(1000), keepMs: 1000 }),
    ).rejects.toThrow(PositionLockedError);
    expect(takes).toBe(0);
  });

  it('reads a take the store did not answer in time as the lock not acquired (unanswered)', async () => {
    const store: LeaseStore = {
      take: (_name, _lease, signal) =>
        new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      give: async () => undefined,
    };
    const attempt = new LeasedPositionLock(store).acquire('a', { deadline: createDeadline(60), keepMs: 30 });

    await expect(attempt).rejects.toMatchObject({ name: 'PositionLockedError', detail: 'unanswered', statusCode: 409 });
  });

  it('gives a take the store answers a little after the wait ends its answer, within the deadline', async () => {
    // 5 ms of wait left, an answer in 20 ms: the lease is taken, not called unanswered.
    const store: LeaseStore = {
      take: () => new Promise((resolve) => setTimeout(() => resolve({ taken: true }), 20)),
      give: async () => undefined,
    };

    const lease = await new LeasedPositionLock(store).acquire('a', { deadline: createDeadline(1000), keepMs: 995 });

    expect(lease.release).toBeTypeOf('function');
  });

  it('gives the lease back within the deadline it was taken under, and sends nothing once it has passed', async () => {
    const gives: AbortSignal[] = [];
    const store: LeaseStore = {
      take: async () => ({ taken: true }),
      give: async (_name, _holder, _endedAt, signal) => void gives.push(signal),
    };
    let now = 0;
    const deadline = createDeadline(1000, () => now);
    const lock = new LeasedPositionLock(store);

    await (await lock.acquire('a', { deadline, keepMs: 0 })).release();
    const late = await lock.acquire('b', { deadline, keepMs: 0 });
    now = 1000;
    await late.release();

    expect(gives).toHaveLength(1);
    expect(gives[0]?.aborted).toBe(false);
  });

  it('passes a failure of the store on as it is', async () => {
    const failure = new Error('store down');
    const store: LeaseStore = { take: () => Promise.reject(failure), give: async () => undefined };

    await expect(
      new LeasedPositionLock(store).acquire('a', { deadline: createDeadline(5000), keepMs: 0 }),
    ).rejects.toBe(failure);
  });

  it('takes a lease whose holder died once it expired', async () => {
    let now = 1_000;
    const store = new MemoryLeaseStore();
    const lock = new LeasedPositionLock(store, () => now);
    await lock.acquire('a', { deadline: createDeadline(2_000), keepMs: 0 });
    now += 10_000;

    await expect(lock.acquire('a', { deadline: createDeadline(2_000), keepMs: 0 })).resolves.toBeDefined();
  });
});

describe('LeasedPositionLock: the reads sent beside the first take', () => {
  const wait = () => ({ deadline: createDeadline(10_000), keepMs: 0 });
  /** A read that counts its sends and answers with the send's number. */
  const countingRead = () => {
    let sends = 0;
    return { read: async () => ++sends, sends: () => sends };
  };

  it('keeps them when no signal held the name before', async () => {
    const { read, sends } = countingRead();

    const held = await new LeasedPositionLock(new MemoryLeaseStore()).acquireWithRead('a', wait(), read);

    expect({ value: held.value, readAgain: held.readAgain, sends: sends() }).toEqual({
      value: 1,
      readAgain: false,
      sends: 1,
    });
  });

  it('keeps them when the last holder in this container gave the lease back before they were sent', async () => {
    let now = 1_000;
    const lock = new LeasedPositionLock(new MemoryLeaseStore(), () => now);
    await (await lock.acquire('a', wait())).release();
    now += 1;
    const { read, sends } = countingRead();

    const held = await lock.acquireWithRead('a', wait(), read);

    expect({ readAgain: held.readAgain, sends: sends() }).toEqual({ readAgain: false, sends: 1 });
  });

  it('reads again under the lease when the last holder gave it back at the moment they were sent', async () => {
    const now = 1_000;
    const lock = new LeasedPositionLock(new MemoryLeaseStore(), () => now);
    await (await lock.acquire('a', wait())).release();
    const { read, sends } = countingRead();

    const held = await lock.acquireWithRead('a', wait(), read);

    expect({ value: held.value, readAgain: held.readAgain, sends: sends() }).toEqual({
      value: 2,
      readAgain: true,
      sends: 2,
    });
  });

  it('reads again when another container gave the lease back less than the clocks may differ before', async () => {
    let now = 1_000;
    const store = new MemoryLeaseStore();
    await store.take('a', { holder: 'h', container: 'another', now, leaseUntil: now + 5_000 });
    await store.give('a', 'h', now);
    const lock = new LeasedPositionLock(store, () => now);
    now += CLOCK_SKEW_MS;
    const near = await lock.acquireWithRead('a', wait(), countingRead().read);
    await store.take('b', { holder: 'h', container: 'another', now, leaseUntil: now + 5_000 });
    await store.give('b', 'h', now);
    now += CLOCK_SKEW_MS + 1;
    const far = await lock.acquireWithRead('b', wait(), countingRead().read);

    expect([near.readAgain, far.readAgain]).toEqual([true, false]);
  });

  it('reads again when the lease was taken only after waiting for it', async () => {
    const lock = new LeasedPositionLock(new MemoryLeaseStore());
    const first = await lock.acquire('a', wait());
    const { read, sends } = countingRead();
    const waiting = lock.acquireWithRead('a', wait(), read);
    // The second take is refused at least once before the first holder gives the lease back.
    await new Promise((resolve) => setTimeout(resolve, 10));
    await first.release();

    const held = await waiting;

    expect({ value: held.value, readAgain: held.readAgain, sends: sends() }).toEqual({
      value: 2,
      readAgain: true,
      sends: 2,
    });
  });

  it('drops the read when the lease is refused (position-locked), and gives the lease back when the read fails', async () => {
    const store = new MemoryLeaseStore();
    const lock = new LeasedPositionLock(store);
    await lock.acquire('held', { deadline: createDeadline(60_000), keepMs: 0 });
    const failure = new Error('broker down');

    await expect(
      lock.acquireWithRead('held', { deadline: createDeadline(100), keepMs: 50 }, () => Promise.reject(failure)),
    ).rejects.toThrow(PositionLockedError);
    await expect(lock.acquireWithRead('free', wait(), () => Promise.reject(failure))).rejects.toBe(failure);
    const now = Date.now();
    expect(await store.take('free', { holder: 'next', container: 'c', now, leaseUntil: now + 1 })).toMatchObject({
      taken: true,
    });
  });
});
