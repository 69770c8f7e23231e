import * as z from 'zod';
import type { FollowUpRequest, ProtectionJob } from '../brokers/follow-up-messages.ts';
import { BROKERS } from '../facts.ts';
import { WINDOW_KINDS } from './events.ts';

/**
 * The messages the notifier puts on queues, and the one way it sends them. Deployed, a queue is SQS (a delay of up to
 * 15 minutes per message, shared/notify/lambda.ts); `npm start` and the tests deliver them in the process. The
 * follow-up queues' messages are the brokers' (shared/brokers/follow-up-messages.ts).
 */

export interface MessageQueue {
  send(body: QueueMessage, delaySeconds: number): Promise<void>;
}

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

export type QueueMessage = FollowUpRequest | WindowFlush | Undelivered | ProtectionJob;
