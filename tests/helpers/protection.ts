import { afterEach, beforeEach } from 'vitest';
import { toSqsEvent } from '#local/sqs-event.ts';
import type { FollowUpHandler } from '#shared/brokers/follow-up-handler.ts';
import { setLocalFollowUpQueue } from '#shared/brokers/follow-up-queue.ts';
import type { QueueMessage } from '#shared/notify/queue.ts';

/**
 * The follow-up queue of a protected entry's watch (docs/contract.md#protection), as a test holds it: every message
 * the webhook and the follow-up put on it is kept with its delay, and `deliver` hands what is queued to the follow-up
 * function, as SQS would once the delay passed; no time passes in the test.
 */
export interface HeldQueue {
  readonly messages: { readonly body: QueueMessage; readonly delaySeconds: number }[];
  /** Delivers what is queued now (each in one SQS event of its own) to `handler`; what it queues waits for the next. */
  deliver(handler: FollowUpHandler): Promise<number>;
  /** Delivers until nothing is queued, at most `rounds` times. */
  drain(handler: FollowUpHandler, rounds?: number): Promise<void>;
}

/** A held queue for each test of the file, set as the process's follow-up queue. */
export function useHeldFollowUpQueue(): HeldQueue {
  const messages: { body: QueueMessage; delaySeconds: number }[] = [];
  beforeEach(() => {
    messages.length = 0;
    setLocalFollowUpQueue({
      send: async (body, delaySeconds) => {
        messages.push({ body, delaySeconds });
      },
    });
  });
  afterEach(() => setLocalFollowUpQueue(undefined));
  const deliver = async (handler: FollowUpHandler) => {
    const due = messages.splice(0, messages.length);
    for (const message of due) await handler(toSqsEvent([message.body]));
    return due.length;
  };
  return {
    messages,
    deliver,
    drain: async (handler, rounds = 10) => {
      for (let round = 0; round < rounds; round++) {
        if ((await deliver(handler)) === 0) return;
      }
    },
  };
}
