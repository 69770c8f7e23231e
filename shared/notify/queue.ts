import * as z from 'zod';
import { BROKERS } from '../facts.ts';
import { OrderSummarySchema, WINDOW_KINDS } from './events.ts';

/**
 * The messages the notifier puts on queues, and the one way it sends them. Deployed, a queue is SQS (a delay of up to
 * 15 minutes per message, shared/notify/lambda.ts); `npm start` and the tests deliver them in the process. Schemas
 * only: the follow-up functions read these without bundling an SQS client.
 */

export interface MessageQueue {
  send(body: QueueMessage, delaySeconds: number): Promise<void>;
}

/** A placed order to look up at its broker: what the follow-up function reads from its queue. */
export const FollowUpRequestSchema = z.object({
  type: z.literal('follow-up'),
  broker: z.enum(BROKERS),
  /** The webhook call's request id: the follow-up's log line carries it, so its message is deduplicated by it. */
  requestId: z.string().min(1),
  brokerOrderId: z.string().min(1),
  order: OrderSummarySchema.optional(),
  delaySeconds: z.number().int().nonnegative(),
});
export type FollowUpRequest = z.infer<typeof FollowUpRequestSchema>;

/** The end of a window of refused calls (401 or 403) to one function: its count is told then (the notifier's own queue). */
export const WindowFlushSchema = z.object({
  type: z.literal('window-flush'),
  kind: z.enum(WINDOW_KINDS),
  broker: z.enum(BROKERS),
  windowStart: z.number().int(),
});
export type WindowFlush = z.infer<typeof WindowFlushSchema>;

/**
 * A message Telegram refused for good (a 4xx other than 429), or could not take in any of its attempts: kept on the
 * dead-letter queue with why, whose alarm tells the trader (and the e-mail address, when one is set).
 */
export const UndeliveredSchema = z.object({
  type: z.literal('undelivered'),
  key: z.string(),
  reason: z.string(),
  /** The invocations that tried it. */
  attempts: z.number().int().positive(),
  html: z.string(),
});
export type Undelivered = z.infer<typeof UndeliveredSchema>;

const LevelSchema = z.object({ kind: z.enum(['price', 'percent']), value: z.string().min(1) });

/**
 * A protected entry's watch (docs/contract.md#protection), the message its broker's follow-up function reads and sends
 * again to itself, delayed, while anything of it is open: the entry still working, or a pair of its stop orders
 * active. Everything the next check needs is in it. At T-Invest the webhook puts the first on the queue before it
 * places the entry (an entry is never placed without its watch), and the watch places the stops; at Alor, whose
 * servers hold the stops and their groups, it tells what they did and cancels a stop its pair left behind.
 */
export const ProtectionJobSchema = z.object({
  type: z.literal('protect'),
  broker: z.enum(BROKERS),
  /** The webhook call's request id: the watch's lines carry it, and its messages are deduplicated by it. */
  requestId: z.string().min(1),
  ticker: z.string().optional(),
  /** What a stop order names: `f`, or the uid found for the ticker. */
  instrumentId: z.string().min(1),
  entry: z.object({
    /** The entry's key (its `orderId`): it is looked up by it, and its protective legs' keys derive from it. */
    requestId: z.string().min(1),
    /** Alor: the entry's order number (looked up by it); its stops' are the pair's. */
    orderId: z.string().optional(),
    side: z.enum(['buy', 'sell']),
    lots: z.number().int().positive(),
    /** Lots of the entry that close a position held against it: never protected. */
    closing: z.number().int().nonnegative(),
    /** A limit entry's price: the base of a percentage; a market entry's comes from its fill. */
    price: z.string().optional(),
    filled: z.number().int().nonnegative(),
    /** Nothing more can fill: the entry is filled, cancelled or rejected. */
    done: z.boolean(),
  }),
  levels: z.object({ sl: LevelSchema.optional(), tp: LevelSchema.optional(), trail: LevelSchema.optional() }),
  step: z.string().optional(),
  closeUnprotected: z.boolean(),
  /** Opened lots covered by the pairs below (or closed after their protection failed). */
  protectedLots: z.number().int().nonnegative(),
  /** Each fill's stop-loss and take-profit, by the entry's lots they cover (`from` exclusive, `to` inclusive). */
  pairs: z.array(
    z.object({
      from: z.number().int().nonnegative(),
      to: z.number().int().positive(),
      sl: z.string().optional(),
      tp: z.string().optional(),
      done: z.boolean(),
      /** Checks in a row the stop-order list did not show one of them. */
      unseen: z.number().int().nonnegative(),
    }),
  ),
  /** Failed attempts to protect the latest fill: at the limit, the urgent message (and the close). */
  failures: z.number().int().nonnegative(),
  /** When the watch began: the stop orders are listed from then. */
  since: z.string(),
  checks: z.number().int().nonnegative(),
  /** Checks in a row that could not reach the broker. */
  unreachable: z.number().int().nonnegative(),
});
export type ProtectionJob = z.infer<typeof ProtectionJobSchema>;

export type QueueMessage = FollowUpRequest | WindowFlush | Undelivered | ProtectionJob;
