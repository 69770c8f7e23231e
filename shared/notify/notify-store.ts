import { ConditionalCheckFailedException, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';

/**
 * What makes each outcome reach the trader at least once and, short of a crash between a send and its mark, once,
 * although CloudWatch Logs, SNS and SQS deliver at least once:
 * - a claim per (request id, kind): a lease, taken before a message is sent and running out before the invocation that
 *   took it can (so the retry of a crashed invocation finds it lapsed), marked done only once Telegram took the
 *   message, given back when the send failed; it counts its attempts, so the last one can put the message on the
 *   dead-letter queue instead of failing again;
 * - a counting window per (cause, function, 10 minutes) for refused calls, closed when its flush starts (later calls
 *   count in the next window) and told under a claim of its own, so a flush that fails is told by its retry.
 * Two implementations of one small interface: DynamoDB (deployed: conditional updates, a TTL attribute) and memory
 * (`npm start`, tests).
 */

export type Claim =
  /** The lease is this invocation's; `attempt`: how many times the key was claimed, this time included. */
  | { readonly status: 'claimed'; readonly attempt: number }
  /** Told already. */
  | { readonly status: 'done' }
  /** Another invocation holds a lease that has not run out: it is telling it (or its own retry will). */
  | { readonly status: 'held' };

export interface WindowCount {
  /** The window's count, this event included. */
  readonly count: number;
  /** Whether the window's flush was put on the queue already. */
  readonly flushQueued: boolean;
}

export interface ClosedWindow {
  readonly count: number;
  /** What the latest counted event left (a caller's address), if anything. */
  readonly detail: string | undefined;
}

export interface NotifyStore {
  /** Takes the lease on `key` until `leaseUntil` (ms) when nobody holds a live one and it was not told yet. */
  claim(key: string, now: number, leaseUntil: number): Promise<Claim>;
  /** Marks `key` told: every later claim finds it done (for a day). */
  markDone(key: string, now: number): Promise<void>;
  /** Gives back a lease whose action failed, so a retry can claim it at once; its attempts stay counted. */
  release(key: string): Promise<void>;
  /**
   * Counts one event in the window `key` that opens at `windowStart` (ms); `undefined` when that window is closed,
   * its count being told: the event belongs to the next window. `detail`, when given, becomes the window's latest.
   */
  countInWindow(key: string, windowStart: number, detail?: string): Promise<WindowCount | undefined>;
  /** Notes that the window's flush is on the queue. */
  markFlushQueued(key: string, windowStart: number): Promise<void>;
  /**
   * Closes the window (no event counts in it any more) and returns its count: the same count every time it is called
   * again, so a retried flush tells what the first one would have. `undefined` for a window nothing opened.
   */
  closeWindow(key: string, windowStart: number): Promise<ClosedWindow | undefined>;
}

/** A told key, and a lease nobody came back to, are kept this long: every redelivery comes within hours. */
const ITEM_LIFETIME_MS = 24 * 60 * 60_000;

const windowItem = (key: string, windowStart: number) => `${key}#${windowStart}`;

/** One process's store: `npm start`, the bench and the tests. */
export class MemoryNotifyStore implements NotifyStore {
  readonly #claims = new Map<
    string,
    { state: 'leased' | 'free' | 'done'; leaseUntil: number; attempts: number; expiresAt: number }
  >();
  readonly #windows = new Map<string, { count: number; closed: boolean; flushQueued: boolean; detail?: string }>();

  async claim(key: string, now: number, leaseUntil: number): Promise<Claim> {
    const held = this.#claims.get(key);
    const live = held !== undefined && held.expiresAt > now ? held : undefined;
    if (live?.state === 'done') return { status: 'done' };
    if (live?.state === 'leased' && live.leaseUntil > now) return { status: 'held' };
    const attempts = (live?.attempts ?? 0) + 1;
    this.#claims.set(key, { state: 'leased', leaseUntil, attempts, expiresAt: now + ITEM_LIFETIME_MS });
    return { status: 'claimed', attempt: attempts };
  }

  async markDone(key: string, now: number): Promise<void> {
    const attempts = this.#claims.get(key)?.attempts ?? 1;
    this.#claims.set(key, { state: 'done', leaseUntil: 0, attempts, expiresAt: now + ITEM_LIFETIME_MS });
  }

  async release(key: string): Promise<void> {
    const held = this.#claims.get(key);
    if (held?.state === 'leased') held.state = 'free';
  }

  async countInWindow(key: string, windowStart: number, detail?: string): Promise<WindowCount | undefined> {
    const id = windowItem(key, windowStart);
    const window = this.#windows.get(id) ?? { count: 0, closed: false, flushQueued: false };
    if (window.closed) return undefined;
    window.count += 1;
    if (detail !== undefined) window.detail = detail;
    this.#windows.set(id, window);
    return { count: window.count, flushQueued: window.flushQueued };
  }

  async markFlushQueued(key: string, windowStart: number): Promise<void> {
    const window = this.#windows.get(windowItem(key, windowStart));
    if (window !== undefined) window.flushQueued = true;
  }

  async closeWindow(key: string, windowStart: number): Promise<ClosedWindow | undefined> {
    const window = this.#windows.get(windowItem(key, windowStart));
    if (window === undefined) return undefined;
    window.closed = true;
    return { count: window.count, detail: window.detail };
  }
}

const seconds = (ms: number) => Math.floor(ms / 1000);
const isConditionFailure = (error: unknown): error is ConditionalCheckFailedException =>
  error instanceof ConditionalCheckFailedException;

/**
 * The deployed store: one DynamoDB table with partition key `pk` (string) and TTL attribute `expiresAt` (epoch
 * seconds), written with `UpdateItem` only. DynamoDB removes expired items lazily, so a claim also treats an expired
 * item as absent. A claim: `state` (`leased`, `free`, `done`), `leaseUntil` (ms), `attempts`. A window:
 * `eventCount`, `windowClosed`, `flushQueued`, `lastDetail`.
 */
export class DynamoNotifyStore implements NotifyStore {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;

  constructor(client: Pick<DynamoDBClient, 'send'>, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async claim(key: string, now: number, leaseUntil: number): Promise<Claim> {
    try {
      const output = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { pk: { S: key } },
          UpdateExpression: 'SET #state = :leased, leaseUntil = :until, expiresAt = :expires ADD attempts :one',
          ConditionExpression:
            'attribute_not_exists(pk) OR expiresAt < :nowSeconds OR #state = :free OR (#state = :leased AND leaseUntil < :now)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':leased': { S: 'leased' },
            ':free': { S: 'free' },
            ':until': { N: String(leaseUntil) },
            ':now': { N: String(now) },
            ':nowSeconds': { N: String(seconds(now)) },
            ':expires': { N: String(seconds(now + ITEM_LIFETIME_MS)) },
            ':one': { N: '1' },
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { status: 'claimed', attempt: Number(output.Attributes?.attempts?.N ?? '1') };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return error.Item?.state?.S === 'done' ? { status: 'done' } : { status: 'held' };
    }
  }

  async markDone(key: string, now: number): Promise<void> {
    await this.#client.send(
      new UpdateItemCommand({
        TableName: this.#table,
        Key: { pk: { S: key } },
        UpdateExpression: 'SET #state = :done, expiresAt = :expires REMOVE leaseUntil',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':done': { S: 'done' },
          ':expires': { N: String(seconds(now + ITEM_LIFETIME_MS)) },
        },
      }),
    );
  }

  async release(key: string): Promise<void> {
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { pk: { S: key } },
          UpdateExpression: 'SET #state = :free REMOVE leaseUntil',
          // Never undo a mark another invocation made meanwhile.
          ConditionExpression: '#state = :leased',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':free': { S: 'free' }, ':leased': { S: 'leased' } },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async countInWindow(key: string, windowStart: number, detail?: string): Promise<WindowCount | undefined> {
    try {
      const output = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { pk: { S: windowItem(key, windowStart) } },
          UpdateExpression: `SET expiresAt = :expires${detail === undefined ? '' : ', lastDetail = :detail'} ADD eventCount :one`,
          ConditionExpression: 'attribute_not_exists(windowClosed)',
          ExpressionAttributeValues: {
            ':one': { N: '1' },
            ':expires': { N: String(seconds(windowStart + ITEM_LIFETIME_MS)) },
            ...(detail === undefined ? {} : { ':detail': { S: detail } }),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return {
        count: Number(output.Attributes?.eventCount?.N),
        flushQueued: output.Attributes?.flushQueued?.BOOL === true,
      };
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async markFlushQueued(key: string, windowStart: number): Promise<void> {
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { pk: { S: windowItem(key, windowStart) } },
          UpdateExpression: 'SET flushQueued = :true',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':true': { BOOL: true } },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async closeWindow(key: string, windowStart: number): Promise<ClosedWindow | undefined> {
    try {
      const output = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { pk: { S: windowItem(key, windowStart) } },
          UpdateExpression: 'SET windowClosed = :true',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':true': { BOOL: true } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { count: Number(output.Attributes?.eventCount?.N), detail: output.Attributes?.lastDetail?.S };
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }
}
