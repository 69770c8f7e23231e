import { randomUUID } from 'node:crypto';
import { PositionLockedError } from '../errors.ts';
import { afterRequestsWritten } from '../http/outbound/client.ts';
import type { Deadline } from '../http/outbound/deadline.ts';
import { type DynamoDbClient, isConditionFailed } from './dynamodb.ts';

/**
 * The lock a position-dependent signal holds from its position read to its order (docs/contract.md#position-lock): a
 * lease per account and instrument, taken with a conditional write, given back after the order, and expiring by
 * itself when its holder dies. Deployed, the lease is a DynamoDB item (the stack's position-locks table); without a
 * table (a local run, a test of one process) it is kept in the process. One waiting algorithm for both.
 *
 * The first take is sent beside the signal's reads rather than before them, so that a signal on an instrument nobody
 * else is trading waits for no lock: the lease then says whether those reads may have missed an order of its previous
 * holder (given back after the reads were sent), and the signal reads again under the lease if so.
 */

export interface PositionLease {
  /**
   * True when reads sent at `sentAt` (ms since the epoch, this process's clock) may not show every order of the
   * lease's earlier holders: the lease was taken only after waiting, or its last holder gave it back (or its lease
   * expired) too close to `sentAt` to tell, given the clocks of two containers.
   */
  mayPredate(sentAt: number): boolean;
  /**
   * Gives the lease back, within the deadline it was taken under (one not given back by then expires by itself); a
   * lease already expired and taken by another signal is left to it.
   */
  release(): Promise<void>;
}

export interface LockWait {
  readonly deadline: Deadline;
  /** Waiting stops while this much of the deadline is still left, for the signal's broker calls. */
  readonly keepMs: number;
}

export interface PositionLock {
  /** The lease of `name`, once free; throws {@link PositionLockedError} when it stayed taken as long as `wait` allows. */
  acquire(name: string, wait: LockWait): Promise<PositionLease>;
  /**
   * The lease of `name` and what `read` gave under it: `read` is sent beside the first take and its answer kept when
   * the lease shows that nothing can have changed since it was sent (see {@link PositionLease.mayPredate}), else sent
   * again once the lease is held. A refused lease drops the read; a failed read gives the lease back.
   */
  acquireWithRead<T>(name: string, wait: LockWait, read: () => Promise<T>): Promise<HeldRead<T>>;
}

export interface HeldRead<T> {
  readonly lease: PositionLease;
  readonly value: T;
  /** The read was sent again under the lease. */
  readonly readAgain: boolean;
}

/** The lease a take replaced: when it ended (given back, or expired), and which container held it. */
export interface EndedLease {
  /** ms since the epoch, by the clock of the container that held it. */
  readonly endedAt: number;
  readonly container: string;
}

/** What a take found: the lease taken (and the one it replaced, if any), or held by another. */
export type TakeResult = { readonly taken: false } | { readonly taken: true; readonly replaced?: EndedLease };

/** Where leases live: one conditional take, one conditional give-back. */
export interface LeaseStore {
  /**
   * Takes `name` for `holder` until `leaseUntil` (ms since the epoch) when it is free, expired, or already `holder`'s (a
   * take resent after a lost answer).
   */
  take(name: string, lease: LeaseTerms, signal: AbortSignal): Promise<TakeResult>;
  /**
   * Ends the lease at `endedAt` if `holder` still holds it; may resolve once that is on its way rather than done (a
   * lease not given back expires by itself).
   */
  give(name: string, holder: string, endedAt: number, signal: AbortSignal): Promise<void>;
}

export interface LeaseTerms {
  readonly holder: string;
  readonly container: string;
  readonly now: number;
  readonly leaseUntil: number;
}

/** This process: leases it gave back are compared with its own reads on one clock. */
const CONTAINER = randomUUID();
/**
 * How far two containers' clocks may be taken to differ (Lambda's are kept by the Amazon Time Sync Service, within
 * milliseconds): a lease another container gave back less than this before a signal's reads were sent is read again.
 */
export const CLOCK_SKEW_MS = 1000;

/** A lease outlives its holder's deadline by this much: a holder that died is waited for no longer than that. */
export const LEASE_MARGIN_MS = 1000;
/** Between attempts: from the first wait, growing to the longest, each with jitter so waiters do not march together. */
const FIRST_WAIT_MS = 4;
const LONGEST_WAIT_MS = 40;
/**
 * An attempt is given at least this long for the store's answer (never past the deadline), even when less of the wait
 * is left: a DynamoDB write answers within milliseconds, so a late poll cut short by a sliver of the wait would call a
 * held lease unanswered, and a take already written would stand for nothing.
 */
export const MIN_TAKE_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * ms since the epoch to a fraction of a millisecond, never going back within the process: a signal that reads in the
 * millisecond another one of this container gave the lease back in is still told which came first.
 */
const wallClockMs = () => performance.timeOrigin + performance.now();

/** Leases in a {@link LeaseStore}, taken by polling with a growing, jittered wait. */
export class LeasedPositionLock implements PositionLock {
  readonly #store: LeaseStore;
  readonly #now: () => number;

  constructor(store: LeaseStore, now: () => number = wallClockMs) {
    this.#store = store;
    this.#now = now;
  }

  async acquire(name: string, wait: LockWait): Promise<PositionLease> {
    const holder = randomUUID();
    const waitLeft = () => wait.deadline.remainingMs() - wait.keepMs;
    for (let pause = FIRST_WAIT_MS, attempt = 1; ; pause = Math.min(LONGEST_WAIT_MS, pause * 1.5), attempt += 1) {
      const left = waitLeft();
      if (left <= 0) throw new PositionLockedError();
      const now = this.#now();
      const leaseUntil = now + wait.deadline.remainingMs() + LEASE_MARGIN_MS;
      const taken = await this.#take(name, { holder, container: CONTAINER, now, leaseUntil }, left, wait.deadline);
      if (taken.taken) {
        const { replaced } = taken;
        return {
          mayPredate: (sentAt) =>
            attempt > 1 ||
            (replaced !== undefined &&
              replaced.endedAt + (replaced.container === CONTAINER ? 0 : CLOCK_SKEW_MS) >= sentAt),
          release: () => this.#give(name, holder, wait.deadline),
        };
      }
      const jittered = pause / 2 + Math.random() * pause;
      if (waitLeft() <= jittered) throw new PositionLockedError();
      await sleep(jittered);
    }
  }

  async acquireWithRead<T>(name: string, wait: LockWait, read: () => Promise<T>): Promise<HeldRead<T>> {
    const sentAt = this.#now();
    const early = read();
    // Its failure is met below, or it is dropped with a refused lease.
    early.catch(() => undefined);
    // The reads wait a round trip to the broker, the take an in-region one: the take's own work goes after them.
    await afterRequestsWritten();
    const lease = await this.acquire(name, wait);
    const readAgain = lease.mayPredate(sentAt);
    try {
      return { lease, value: await (readAgain ? read() : early), readAgain };
    } catch (error) {
      await lease.release().catch(() => undefined);
      throw error;
    }
  }

  /** Nothing is sent once the deadline has passed: every call of a request ends by it. */
  async #give(name: string, holder: string, deadline: Deadline): Promise<void> {
    const leftMs = deadline.remainingMs();
    if (leftMs <= 0) return;
    await this.#store.give(name, holder, this.#now(), AbortSignal.timeout(Math.ceil(leftMs)));
  }

  /**
   * One attempt, bounded by what is left of the wait, or {@link MIN_TAKE_MS} within the deadline when less is left. A
   * take the store did not answer in time did not give the lock; if the store wrote it after all, the lease expires as
   * a dead holder's would.
   */
  async #take(name: string, lease: LeaseTerms, leftMs: number, deadline: Deadline): Promise<TakeResult> {
    const signal = AbortSignal.timeout(Math.ceil(Math.min(Math.max(leftMs, MIN_TAKE_MS), deadline.remainingMs())));
    try {
      return await this.#store.take(name, lease, signal);
    } catch (error) {
      if (signal.aborted) throw new PositionLockedError('unanswered');
      throw error;
    }
  }
}

/** Leases kept in this process: the lock of a local run or a test, where every signal runs in one process. */
export class MemoryLeaseStore implements LeaseStore {
  readonly #leases = new Map<string, LeaseTerms & { endedAt?: number }>();

  async take(name: string, lease: LeaseTerms): Promise<TakeResult> {
    const held = this.#leases.get(name);
    if (
      held !== undefined &&
      held.holder !== lease.holder &&
      held.endedAt === undefined &&
      held.leaseUntil >= lease.now
    ) {
      return { taken: false };
    }
    this.#leases.set(name, lease);
    return held === undefined
      ? { taken: true }
      : { taken: true, replaced: { endedAt: held.endedAt ?? held.leaseUntil, container: held.container } };
  }

  async give(name: string, holder: string, endedAt: number): Promise<void> {
    const held = this.#leases.get(name);
    if (held?.holder === holder) this.#leases.set(name, { ...held, endedAt });
  }
}

const seconds = (ms: number) => Math.ceil(ms / 1000);
/**
 * An item stays an hour past its lease's end before DynamoDB's TTL may remove it: a take that finds no item knows its
 * last holder is long gone, not given back a moment ago (the lease it would replace says when).
 */
const KEPT_AFTER_END_S = 3600;

type LeaseItem = Partial<Record<'holder' | 'container' | 'leaseUntil' | 'endedAt', { S?: string; N?: string }>>;

/**
 * Leases as items of a DynamoDB table (partition key `pk`, TTL attribute `expiresAt`): `PutItem` when absent, expired,
 * given back or already ours, returning the item it replaced; `UpdateItem` when still ours, ending it (`endedAt`) and
 * keeping the item, so that the next take can tell when it ended. DynamoDB's TTL removes an item lazily, so the
 * condition reads one past `leaseUntil` (ms) as free; `expiresAt` only tidies the table.
 */
export class DynamoLeaseStore implements LeaseStore {
  readonly #client: DynamoDbClient;
  readonly #table: string;

  constructor(client: DynamoDbClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async take(name: string, lease: LeaseTerms, signal: AbortSignal): Promise<TakeResult> {
    try {
      const { Attributes: old } = await this.#client.send(
        'PutItem',
        {
          TableName: this.#table,
          Item: {
            pk: { S: name },
            holder: { S: lease.holder },
            container: { S: lease.container },
            leaseUntil: { N: String(lease.leaseUntil) },
            expiresAt: { N: String(seconds(lease.leaseUntil) + KEPT_AFTER_END_S) },
          },
          ConditionExpression:
            'attribute_not_exists(pk) OR attribute_exists(endedAt) OR leaseUntil < :now OR holder = :holder',
          ExpressionAttributeValues: { ':now': { N: String(lease.now) }, ':holder': { S: lease.holder } },
          ReturnValues: 'ALL_OLD',
        },
        signal,
      );
      const replaced = endedLease(old as LeaseItem | undefined, lease.holder);
      return replaced === undefined ? { taken: true } : { taken: true, replaced };
    } catch (error) {
      if (isConditionFailed(error)) return { taken: false };
      throw error;
    }
  }

  /**
   * Sent, not waited for: resolves once the write is on its way to DynamoDB. Its answer adds nothing the signal needs
   * (a give-back whose condition failed found the lease expired and taken by another), and one that never arrives
   * leaves the lease to expire by itself, which delays the next signal on the instrument but never lets two hold it.
   */
  give(name: string, holder: string, endedAt: number, signal: AbortSignal): Promise<void> {
    return this.#client.post(
      'UpdateItem',
      {
        TableName: this.#table,
        Key: { pk: { S: name } },
        UpdateExpression: 'SET endedAt = :endedAt, expiresAt = :expiresAt',
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: {
          ':holder': { S: holder },
          ':endedAt': { N: String(endedAt) },
          ':expiresAt': { N: String(seconds(endedAt) + KEPT_AFTER_END_S) },
        },
      },
      signal,
    );
  }
}

/** The lease an item held before a take: when it ended (given back, else its lease's end), and by whom. */
function endedLease(item: LeaseItem | undefined, holder: string): EndedLease | undefined {
  if (item === undefined) return undefined;
  // This very holder's: the take was resent after its answer was lost, and what the first write replaced is unknown.
  if (item.holder?.S === holder) return { endedAt: Number.POSITIVE_INFINITY, container: '' };
  return {
    endedAt: Number(item.endedAt?.N ?? item.leaseUntil?.N ?? Number.POSITIVE_INFINITY),
    container: item.container?.S ?? '',
  };
}
