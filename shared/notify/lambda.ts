import { gunzipSync } from 'node:zlib';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { CloudWatchLogsDecodedData, CloudWatchLogsEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { BROKERS, type Broker } from '../facts.ts';
import { createBrokerAgent, parseJsonText } from '../http/outbound/client.ts';
import { logger } from '../logging.ts';
import { SecretStore } from '../secrets.ts';
import { loadedStoreSdk } from '../store/sdk-modules.ts';
import type { NotifierConfig, NotifierResources } from './config.ts';
import { createNotifier, type Notifier } from './notifier.ts';
import { DynamoNotifyStore } from './notify-store.ts';
import { type MessageQueue, type QueueMessage, WindowFlushSchema } from './queue.ts';
import { TelegramClient } from './telegram.ts';

/**
 * The notifier function's two doors: a CloudWatch Logs subscription delivery (gzip + base64 JSON of the webhook and
 * follow-up functions' log lines) and its own SQS queue (the flushes of unauthorized-calls windows).
 */

export type NotifierEvent = CloudWatchLogsEvent | SQSEvent;

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
async function handleQueue(notifier: Notifier, event: SQSEvent): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const flush = WindowFlushSchema.safeParse(parseJsonText(record.body));
    if (!flush.success) {
      logger.warn('notifier dropped a queue message it does not know', { messageId: record.messageId });
      continue;
    }
    await notifier.handleFlush(flush.data).catch(() => batchItemFailures.push({ itemIdentifier: record.messageId }));
  }
  return { batchItemFailures };
}

export function handleNotifierEvent(notifier: Notifier, event: NotifierEvent): Promise<SQSBatchResponse | undefined> {
  if ('awslogs' in event) return notifier.handleLogLines(cloudWatchLogLines(event)).then(() => undefined);
  return handleQueue(notifier, event);
}

/** AWS calls of the notifier: a few short writes per event, retried by the SDK a little. */
const AWS_CLIENT_CONFIG = { maxAttempts: 3, requestHandler: { connectionTimeout: 1000, requestTimeout: 3000 } };

/** The deployed notifier: DynamoDB for the claims and windows, SQS for the queues, the real Telegram API. */
export function createNotifierHandler(
  config: NotifierConfig,
  resources: NotifierResources,
): (event: NotifierEvent) => Promise<SQSBatchResponse | undefined> {
  const sqs = new SQSClient(AWS_CLIENT_CONFIG);
  const queue = (url: string): MessageQueue => new SqsQueue(sqs, url);
  const notifier = createNotifier({
    config,
    secrets: new SecretStore({ ttlMs: config.secretsCacheTtlMs, sdk: loadedStoreSdk }),
    telegram: new TelegramClient({ dispatcher: createBrokerAgent(), apiUrl: config.apiUrl }),
    store: new DynamoNotifyStore(new DynamoDBClient(AWS_CLIENT_CONFIG), resources.tableName),
    followUpQueues: Object.fromEntries(
      BROKERS.map((broker) => [broker, queue(resources.followUpQueueUrls[broker])]),
    ) as Record<Broker, MessageQueue>,
    queue: queue(resources.queueUrl),
    deadLetters: queue(resources.deadLetterQueueUrl),
  });
  return (event) => handleNotifierEvent(notifier, event);
}
