import { gunzipSync } from 'node:zlib';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type {
  CloudWatchLogsDecodedData,
  CloudWatchLogsEvent,
  Context,
  SNSEvent,
  SQSBatchResponse,
  SQSEvent,
} from 'aws-lambda';
import { BROKERS, type Broker } from '../facts.ts';
import { createKeepAliveAgent, parseJsonText } from '../http/outbound/client.ts';
import { logger } from '../logging.ts';
import { loadedStoreSdk } from '../store/sdk-modules.ts';
import { ValueStore } from '../store/value-store.ts';
import { parseAlarmNotification } from './alarms.ts';
import type { NotifierConfig, NotifierResources } from './config.ts';
import { createNotifier, type Notifier } from './notifier.ts';
import { DynamoNotifyStore } from './notify-store.ts';
import { type MessageQueue, type QueueMessage, WindowFlushSchema } from './queue.ts';
import { TelegramClient } from './telegram.ts';

/**
 * The notifier function's three doors: a CloudWatch Logs subscription delivery (gzip + base64 JSON of the webhook and
 * follow-up functions' log lines), the stack's alarm topic (SNS: CloudWatch alarm notifications) and its own SQS queue
 * (the flushes of the windows of refused calls). Each handler gets the time the invocation has left, from its context.
 */

export type NotifierEvent = CloudWatchLogsEvent | SNSEvent | SQSEvent;

/** What the entry reads of Lambda's context: the time left. */
export type NotifierContext = Pick<Context, 'getRemainingTimeInMillis'>;

/** The log lines of one subscription delivery; none for the control message CloudWatch sends when it is set up. */
export function cloudWatchLogLines(event: CloudWatchLogsEvent): string[] {
  const data = JSON.parse(
    gunzipSync(Buffer.from(event.awslogs.data, 'base64')).toString('utf8'),
  ) as CloudWatchLogsDecodedData;
  if (data.messageType !== 'DATA_MESSAGE') return [];
  return data.logEvents.map((logEvent) => logEvent.message);
}

/** An SQS queue by URL. */
export class SqsQueue implements MessageQueue {
  readonly #client: Pick<SQSClient, 'send'>;
  readonly #url: string;

  constructor(client: Pick<SQSClient, 'send'>, url: string) {
    this.#client = client;
    this.#url = url;
  }

  async send(body: QueueMessage, delaySeconds: number): Promise<void> {
    await this.#client.send(
      new SendMessageCommand({ QueueUrl: this.#url, MessageBody: JSON.stringify(body), DelaySeconds: delaySeconds }),
    );
  }
}

/** The SQS records the notifier could not handle are reported, so only they come back. */
async function handleQueue(
  notifier: Notifier,
  event: SQSEvent,
  remainingMs: number | undefined,
): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const flush = WindowFlushSchema.safeParse(parseJsonText(record.body));
    if (!flush.success) {
      logger.warn('notifier dropped a queue message it does not know', { messageId: record.messageId });
      continue;
    }
    await notifier
      .handleFlush(flush.data, remainingMs)
      .catch(() => batchItemFailures.push({ itemIdentifier: record.messageId }));
  }
  return { batchItemFailures };
}

/** Each alarm notification of an SNS delivery; one that fails fails the invocation, which Lambda then retries. */
async function handleAlarms(notifier: Notifier, event: SNSEvent, remainingMs: number | undefined): Promise<void> {
  const failures: unknown[] = [];
  for (const record of event.Records) {
    const alarm = parseAlarmNotification(record.Sns.Message);
    if (alarm === undefined) {
      logger.warn('notifier dropped an SNS message that is no alarm notification', {
        messageId: record.Sns.MessageId,
      });
      continue;
    }
    await notifier.handleAlarm(alarm, remainingMs).catch((error: unknown) => failures.push(error));
  }
  if (failures.length > 0) throw new AggregateError(failures, `${failures.length} alarm(s) not handled`);
}

const isSns = (event: SNSEvent | SQSEvent): event is SNSEvent =>
  event.Records.some((record) => 'Sns' in record && record.Sns !== undefined);

export function handleNotifierEvent(
  notifier: Notifier,
  event: NotifierEvent,
  context?: NotifierContext,
): Promise<SQSBatchResponse | undefined> {
  const remainingMs = context?.getRemainingTimeInMillis();
  if ('awslogs' in event) return notifier.handleLogLines(cloudWatchLogLines(event), remainingMs).then(() => undefined);
  if (isSns(event)) return handleAlarms(notifier, event, remainingMs).then(() => undefined);
  return handleQueue(notifier, event, remainingMs);
}

/** AWS calls of the notifier: a few short writes per event, retried by the SDK a little. */
const AWS_CLIENT_CONFIG = { maxAttempts: 3, requestHandler: { connectionTimeout: 1000, requestTimeout: 3000 } };

/** The deployed notifier: DynamoDB for the claims and windows, SQS for the queues, the real Telegram API. */
export function createNotifierHandler(
  config: NotifierConfig,
  resources: NotifierResources,
): (event: NotifierEvent, context?: NotifierContext) => Promise<SQSBatchResponse | undefined> {
  const sqs = new SQSClient(AWS_CLIENT_CONFIG);
  const queue = (url: string): MessageQueue => new SqsQueue(sqs, url);
  const notifier = createNotifier({
    config,
    secrets: new ValueStore({ ttlMs: config.secretsCacheTtlMs, sdk: loadedStoreSdk }),
    telegram: new TelegramClient({ dispatcher: createKeepAliveAgent(), apiUrl: config.apiUrl }),
    store: new DynamoNotifyStore(new DynamoDBClient(AWS_CLIENT_CONFIG), resources.tableName),
    followUpQueues: Object.fromEntries(
      BROKERS.map((broker) => [broker, queue(resources.followUpQueueUrls[broker])]),
    ) as Record<Broker, MessageQueue>,
    queue: queue(resources.queueUrl),
    deadLetters: queue(resources.deadLetterQueueUrl),
  });
  return (event, context) => handleNotifierEvent(notifier, event, context);
}
