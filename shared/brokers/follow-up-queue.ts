import type { Deadline } from '../http/outbound/deadline.ts';
import type { MessageQueue, QueueMessage } from '../notify/queue.ts';

/**
 * The follow-up queue a function puts a protected entry's watch on (docs/contract.md#protection): SQS when the stack
 * names it (`ALOR_FOLLOW_UP_QUEUE_URL`, `TINKOFF_FOLLOW_UP_QUEUE_URL`), its client loaded the first time a message is
 * sent; otherwise the one the process set up (`npm start` delivers to its in-process follow-up functions; tests
 * deliver by hand). None: sending fails (at T-Invest a protected entry is then not placed).
 */

/** `globalThis`, so the dev server's queue reaches functions imported in module graphs of their own. */
const LOCAL_QUEUE = Symbol.for('ppp-webhooks.local-follow-up-queue');
type Holder = { [LOCAL_QUEUE]?: MessageQueue | undefined };

/** The queue of this process (`npm start`, tests); `undefined` removes it. */
export function setLocalFollowUpQueue(queue: MessageQueue | undefined): void {
  (globalThis as Holder)[LOCAL_QUEUE] = queue;
}

/** A queue that may be given a deadline: the webhook's send ends within the request's. */
export interface FollowUpQueue {
  send(body: QueueMessage, delaySeconds: number, deadline?: Deadline): Promise<void>;
}

type SqsSdk = typeof import('@aws-sdk/client-sqs');
let loading: Promise<SqsSdk> | undefined;

/** Loaded the first time a watch is queued: a container that never protects an entry never evaluates it. */
function loadSqsSdk(): Promise<SqsSdk> {
  loading ??= import('@aws-sdk/client-sqs');
  return loading;
}

/** A few short attempts: a send that cannot end within the deadline is abandoned, never left to run past it. */
const SQS_CLIENT_CONFIG = { maxAttempts: 2, requestHandler: { connectionTimeout: 1000, requestTimeout: 1500 } };

export function followUpQueue(url: string | undefined): FollowUpQueue {
  if (url === undefined) {
    return {
      async send(body, delaySeconds) {
        const queue = (globalThis as Holder)[LOCAL_QUEUE];
        if (queue === undefined) throw new Error('no follow-up queue: its URL is not set');
        await queue.send(body, delaySeconds);
      },
    };
  }
  let client: InstanceType<SqsSdk['SQSClient']> | undefined;
  return {
    async send(body, delaySeconds, deadline) {
      const sdk = await loadSqsSdk();
      client ??= new sdk.SQSClient(SQS_CLIENT_CONFIG);
      const command = new sdk.SendMessageCommand({
        QueueUrl: url,
        MessageBody: JSON.stringify(body),
        DelaySeconds: delaySeconds,
      });
      const abortSignal =
        deadline === undefined ? undefined : AbortSignal.timeout(Math.max(1, Math.floor(deadline.remainingMs())));
      await client.send(command, abortSignal === undefined ? {} : { abortSignal });
    },
  };
}
