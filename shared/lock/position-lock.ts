import { randomUUID } from 'node:crypto';
import { describeError, PositionLockedError } from '../errors.ts';
import type { Deadline } from '../http/outbound/deadline.ts';
import { type LockSdk, LockTable } from './sdk.ts';

/**
 * The lock a position-dependent signal holds from its position read to its order (docs/contract.md#position-lock): a
 * lease per account and instrument, taken with a conditional write, given back after the order, and expiring by
 * itself when its holder dies. Deployed, the lease is a DynamoDB item (the stack's position-locks table); without a
 * table (a local run, a test of one process) it is kept in the process. One waiting algorithm for both.
 */

export interface PositionLease {
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
}

/** Where leases live: one conditional take, one conditional give-back. */
export interface LeaseStore {
  /** True when `holder` now holds `name` until `leaseUntil` (ms since the epoch): it was free or its lease had expired. */
  take(name: string, holder: string, now: number, leaseUntil: number, signal: AbortSignal): Promise<boolean>;
  /** Removes the lease if `holder` still holds it. */
  give(name: string, holder: string, signal: AbortSignal): Promise<void>;
}

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

/** Leases in a {@link LeaseStore}, taken by polling with a growing, jittered wait. */
export class LeasedPositionLock implements PositionLock {
  readonly #store: LeaseStore;
  readonly #now: () => number;

  constructor(store: LeaseStore, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  async acquire(name: string, wait: LockWait): Promise<PositionLease> {
    const holder = randomUUID();
    const waitLeft = () => wait.deadline.remainingMs() - wait.keepMs;
    for (let pause = FIRST_WAIT_MS; ; pause = Math.min(LONGEST_WAIT_MS, pause * 1.5)) {
      const left = waitLeft();
      if (left <= 0) throw new PositionLockedError();
      const now = this.#now();
      const leaseUntil = now + wait.deadline.remainingMs() + LEASE_MARGIN_MS;
      if (await this.#take(name, holder, now, leaseUntil, left, wait.deadline)) {
        return { release: () => this.#give(name, holder, wait.deadline) };
      }
      const jittered = pause / 2 + Math.random() * pause;
      if (waitLeft() <= jittered) throw new PositionLockedError();
      await sleep(jittered);
    }
  }

  /** Nothing is sent once the deadline has passed: every call of a request ends by it. */
  async #give(name: string, holder: string, deadline: Deadline): Promise<void> {
    const leftMs = deadline.remainingMs();
    if (leftMs <= 0) return;
    await this.#store.give(name, holder, AbortSignal.timeout(Math.ceil(leftMs)));
  }

  /**
   * One attempt, bounded by what is left of the wait, or {@link MIN_TAKE_MS} within the deadline when less is left. A
   * take the store did not answer in time did not give the lock; if the store wrote it after all, the lease expires as
   * a dead holder's would.
   */
  async #take(
    name: string,
    holder: string,
    now: number,
    leaseUntil: number,
    leftMs: number,
    deadline: Deadline,
  ): Promise<boolean> {
    const signal = AbortSignal.timeout(Math.ceil(Math.min(Math.max(leftMs, MIN_TAKE_MS), deadline.remainingMs())));
    try {
      return await this.#store.take(name, holder, now, leaseUntil, signal);
    } catch (error) {
      if (signal.aborted) throw new PositionLockedError('unanswered');
      throw error;
    }
  }
}

/** Leases kept in this process: the lock of a local run or a test, where every signal runs in one process. */
export class MemoryLeaseStore implements LeaseStore {
  readonly #leases = new Map<string, { holder: string; leaseUntil: number }>();

  async take(name: string, holder: string, now: number, leaseUntil: number): Promise<boolean> {
    const held = this.#leases.get(name);
    if (held !== undefined && held.leaseUntil >= now) return false;
    this.#leases.set(name, { holder, leaseUntil });
    return true;
  }

  async give(name: string, holder: string): Promise<void> {
    if (this.#leases.get(name)?.holder === holder) this.#leases.delete(name);
  }
}

const seconds = (ms: number) => Math.ceil(ms / 1000);

/**
 * Leases as items of a DynamoDB table (partition key `pk`, TTL attribute `expiresAt`): `PutItem` when absent or
 * expired, `DeleteItem` when still ours. DynamoDB's TTL removes an expired item lazily, so the condition treats one
 * past `leaseUntil` (ms) as free; `expiresAt` only tidies the table.
 */
export class DynamoLeaseStore implements LeaseStore {
  readonly #table: LockTable;

  /** `sdk` is loaded the first time a lease is taken: a container that never locks never loads it. */
  constructor(sdk: () => Promise<LockSdk>, table: string) {
    this.#table = new LockTable(sdk, table);
  }

  async take(name: string, holder: string, now: number, leaseUntil: number, signal: AbortSignal): Promise<boolean> {
    const { sdk, client } = await this.#table.ready();
    const command = new sdk.PutItemCommand({
      TableName: this.#table.name,
      Item: {
        pk: { S: name },
        holder: { S: holder },
        leaseUntil: { N: String(leaseUntil) },
        expiresAt: { N: String(seconds(leaseUntil)) },
      },
      ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now',
      ExpressionAttributeValues: { ':now': { N: String(now) } },
    });
    try {
      await client.send(command, { abortSignal: signal });
      return true;
    } catch (error) {
      if (describeError(error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async give(name: string, holder: string, signal: AbortSignal): Promise<void> {
    const { sdk, client } = await this.#table.ready();
    const command = new sdk.DeleteItemCommand({
      TableName: this.#table.name,
      Key: { pk: { S: name } },
      ConditionExpression: 'holder = :holder',
      ExpressionAttributeValues: { ':holder': { S: holder } },
    });
    try {
      await client.send(command, { abortSignal: signal });
    } catch (error) {
      if (describeError(error).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
}
