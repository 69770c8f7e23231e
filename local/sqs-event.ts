import { randomUUID } from 'node:crypto';
import type { SQSEvent } from 'aws-lambda';

/**
 * What Lambda's SQS event source hands a function, for the local run and the tests: one record per message, its body
 * the JSON text of the message, the attributes SQS sets.
 */
export function toSqsEvent(
  bodies: readonly unknown[],
  queueArn = 'arn:aws:sqs:eu-central-1:000000000000:local',
): SQSEvent {
  const now = String(Date.now());
  return {
    Records: bodies.map((body) => {
      const messageId = randomUUID();
      return {
        messageId,
        receiptHandle: `local-${messageId}`,
        body: JSON.stringify(body),
        attributes: {
          ApproximateReceiveCount: '1',
          SentTimestamp: now,
          SenderId: 'local',
          ApproximateFirstReceiveTimestamp: now,
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn,
        awsRegion: queueArn.split(':')[3] ?? 'eu-central-1',
      };
    }),
  };
}
