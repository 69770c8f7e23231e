import { type DynamoDbClient, isConditionFailed } from './dynamodb.ts';

/**
 * The day's count of a deployment's orders per account (docs/contract.md#orders-per-day), shared by every container:
 * an item of the position lock's table per broker, account and Moscow day, written with one conditional update that
 * adds the order's key and counts it only while the count is below the limit. A key counted once is never counted
 * again (a resent signal), and a count the order did not use (nothing sent) is given back. Without a table (a local
 * run, a test of one process), the count is kept in the process.
 */

/** What a reservation found: counted now, counted by an earlier delivery of the same order, or the day is full. */
export type CountResult =
  | { readonly status: 'counted' | 'counted-before' }
  | { readonly status: 'full'; readonly count: number };

export interface OrderCounter {
  /** Counts `id` in the day `name` if fewer than `limit` orders are counted; `expiresAt` (s) tidies the item. */
  reserve(name: string, id: string, limit: number, expiresAt: number, signal: AbortSignal): Promise<CountResult>;
  /** Takes back a count {@link reserve} made (`counted`): the order was not sent. */
  release(name: string, id: string, signal: AbortSignal): Promise<void>;
}

/** Moscow keeps UTC+3 all year: a trading day's orders count under its date there. */
const MOSCOW_OFFSET_MS = 3 * 3_600_000;
const DAY_MS = 86_400_000;

/** The Moscow date of `now` (`2026-12-01`), and when its count may go (seconds since the epoch): a day after it ends. */
export function moscowDay(now: number): { readonly day: string; readonly expiresAt: number } {
  const local = now + MOSCOW_OFFSET_MS;
  const day = new Date(local).toISOString().slice(0, 10);
  const endsAt = Math.floor(local / DAY_MS) * DAY_MS + DAY_MS - MOSCOW_OFFSET_MS;
  return { day, expiresAt: Math.ceil((endsAt + DAY_MS) / 1000) };
}

export class MemoryOrderCounter implements OrderCounter {
  readonly #days = new Map<string, Set<string>>();

  async reserve(name: string, id: string, limit: number): Promise<CountResult> {
    const ids = this.#days.get(name) ?? new Set<string>();
    this.#days.set(name, ids);
    if (ids.has(id)) return { status: 'counted-before' };
    if (ids.size >= limit) return { status: 'full', count: ids.size };
    ids.add(id);
    return { status: 'counted' };
  }

  async release(name: string, id: string): Promise<void> {
    this.#days.get(name)?.delete(id);
  }
}

/** The day's count as an item of the lock's table: `placed` (a number) and `ids` (the string set of counted keys). */
export class DynamoOrderCounter implements OrderCounter {
  readonly #client: DynamoDbClient;
  readonly #table: string;

  constructor(client: DynamoDbClient, table: string) {
    this.#client = client;
    this.#table = table;
  }

  async reserve(name: string, id: string, limit: number, expiresAt: number, signal: AbortSignal): Promise<CountResult> {
    try {
      await this.#client.send(
        'UpdateItem',
        {
          TableName: this.#table,
          Key: { pk: { S: name } },
          UpdateExpression: 'ADD placed :one, ids :ids SET expiresAt = :expiresAt',
          ConditionExpression: '(attribute_not_exists(placed) OR placed < :limit) AND NOT contains(ids, :id)',
          ExpressionAttributeValues: {
            ':one': { N: '1' },
            ':ids': { SS: [id] },
            ':id': { S: id },
            ':limit': { N: String(limit) },
            ':expiresAt': { N: String(expiresAt) },
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
        signal,
      );
      return { status: 'counted' };
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      const item = error.item;
      const ids = item?.ids !== undefined && 'SS' in item.ids ? item.ids.SS : [];
      if (ids.includes(id)) return { status: 'counted-before' };
      const placed = item?.placed !== undefined && 'N' in item.placed ? item.placed.N : String(limit);
      return { status: 'full', count: Number(placed) };
    }
  }

  async release(name: string, id: string, signal: AbortSignal): Promise<void> {
    try {
      await this.#client.send(
        'UpdateItem',
        {
          TableName: this.#table,
          Key: { pk: { S: name } },
          UpdateExpression: 'ADD placed :minusOne DELETE ids :ids',
          ConditionExpression: 'contains(ids, :id)',
          ExpressionAttributeValues: { ':minusOne': { N: '-1' }, ':ids': { SS: [id] }, ':id': { S: id } },
        },
        signal,
      );
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
  }
}
