import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

/**
 * What makes each outcome reach the trader once, although CloudWatch Logs and SQS deliver at least once: a claim per
 * (request id, kind), taken before a message is sent; and, for unauthorized calls, a counting window per function
 * that is told once, when it is flushed. Two implementations of one small interface: DynamoDB (deployed: conditional
 * writes, a TTL attribute) and memory (`npm start`, tests).
 */

export interface CountingWindow {
  /** When the window opened (ms since the epoch). */
  readonly windowStart: number;
  readonly count: number;
  /** True for the event that opened the window: it schedules the window's flush. */
  readonly opened: boolean;
}

export interface NotifyStore {
  /** True the first time `key` is claimed; false while an earlier claim lives (until `expiresAt`, ms). */
  claim(key: string, now: number, expiresAt: number): Promise<boolean>;
  /** Undoes a claim whose action failed, so a redelivery can do it. */
  release(key: string): Promise<void>;
  /**
   * Counts one event in the window of `key`. A window stays open until it is flushed, or until it is `staleAfterMs`
   * old (its flush was lost); then the next event opens a new one.
   */
  countInWindow(key: string, now: number, staleAfterMs: number): Promise<CountingWindow>;
  /** Closes the window that opened at `windowStart` and returns its count; `undefined` when it was flushed before. */
  flushWindow(key: string, windowStart: number): Promise<number | undefined>;
}

/** One process's store: `npm start`, the bench and the tests. */
export class MemoryNotifyStore implements NotifyStore {
  readonly #claims = new Map<string, number>();
  readonly #windows = new Map<string, { windowStart: number; count: number; flushed: boolean }>();

  async claim(key: string, now: number, expiresAt: number): Promise<boolean> {
    const held = this.#claims.get(key);
    if (held !== undefined && held > now) return false;
    this.#claims.set(key, expiresAt);
    return true;
  }

  async release(key: string): Promise<void> {
    this.#claims.delete(key);
  }

  async countInWindow(key: string, now: number, staleAfterMs: number): Promise<CountingWindow> {
    const window = this.#windows.get(key);
    if (window !== undefined && !window.flushed && window.windowStart > now - staleAfterMs) {
      window.count += 1;
      return { windowStart: window.windowStart, count: window.count, opened: false };
    }
    this.#windows.set(key, { windowStart: now, count: 1, flushed: false });
    return { windowStart: now, count: 1, opened: true };
  }

  async flushWindow(key: string, windowStart: number): Promise<number | undefined> {
    const window = this.#windows.get(key);
    if (window === undefined || window.flushed || window.windowStart !== windowStart) return undefined;
    window.flushed = true;
    return window.count;
  }
}

/** Items live a day past their use, then DynamoDB's TTL removes them. */
const ITEM_LIFETIME_SECONDS = 24 * 60 * 60;

const seconds = (ms: number) => Math.floor(ms / 1000);

/**
 * The deployed store: one DynamoDB table with partition key `pk` (string) and TTL attribute `expiresAt` (epoch
 * seconds). DynamoDB removes expired items lazily, so every condition also treats an expired item as absent.
 */
export class DynamoNotifyStore implements NotifyStore {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #table: string;

  constructor(client: Pick<DynamoDBClient, 'send'>, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async claim(key: string, now: number, expiresAt: number): Promise<boolean> {
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: { pk: { S: key }, expiresAt: { N: String(seconds(expiresAt)) } },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': { N: String(seconds(now)) } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async release(key: string): Promise<void> {
    await this.#client.send(new DeleteItemCommand({ TableName: this.#table, Key: { pk: { S: key } } }));
  }

  async countInWindow(key: string, now: number, staleAfterMs: number): Promise<CountingWindow> {
    const counted = await this.#countInOpenWindow(key, now, staleAfterMs);
    if (counted !== undefined) return counted;
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#table,
          Item: {
            pk: { S: key },
            windowStart: { N: String(now) },
            eventCount: { N: '1' },
            flushed: { BOOL: false },
            expiresAt: { N: String(seconds(now + staleAfterMs) + ITEM_LIFETIME_SECONDS) },
          },
          ConditionExpression: 'attribute_not_exists(pk) OR flushed = :true OR windowStart <= :staleBefore',
          ExpressionAttributeValues: { ':true': { BOOL: true }, ':staleBefore': { N: String(now - staleAfterMs) } },
        }),
      );
      return { windowStart: now, count: 1, opened: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // Another invocation opened the window between the two writes: count in it.
    const raced = await this.#countInOpenWindow(key, now, staleAfterMs);
    if (raced === undefined) throw new Error('counting window changed twice during one event');
    return raced;
  }

  async #countInOpenWindow(key: string, now: number, staleAfterMs: number): Promise<CountingWindow | undefined> {
    try {
      const output = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { pk: { S: key } },
          UpdateExpression: 'SET eventCount = eventCount + :one',
          ConditionExpression: 'attribute_exists(pk) AND flushed = :false AND windowStart > :staleBefore',
          ExpressionAttributeValues: {
            ':one': { N: '1' },
            ':false': { BOOL: false },
            ':staleBefore': { N: String(now - staleAfterMs) },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return {
        windowStart: Number(output.Attributes?.windowStart?.N),
        count: Number(output.Attributes?.eventCount?.N),
        opened: false,
      };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async flushWindow(key: string, windowStart: number): Promise<number | undefined> {
    try {
      const output = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { pk: { S: key } },
          UpdateExpression: 'SET flushed = :true',
          ConditionExpression: 'windowStart = :windowStart AND flushed = :false',
          ExpressionAttributeValues: {
            ':true': { BOOL: true },
            ':false': { BOOL: false },
            ':windowStart': { N: String(windowStart) },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Number(output.Attributes?.eventCount?.N);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }
}
