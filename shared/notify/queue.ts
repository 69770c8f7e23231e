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

export type QueueMessage = FollowUpRequest | WindowFlush | Undelivered;
