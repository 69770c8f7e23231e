import { gzipSync } from 'node:zlib';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { toSqsEvent } from '#local/sqs-event.ts';
import { cloudWatchLogLines, handleNotifierEvent, SqsQueue } from '#shared/notify/lambda.ts';
import type { Notifier } from '#shared/notify/notifier.ts';
import { cloudWatchLogsEvent } from '../helpers/notify.ts';

describe('cloudWatchLogLines', () => {
  it('decodes a subscription delivery (base64 of gzip of JSON) into its log lines', () => {
    expect(cloudWatchLogLines(cloudWatchLogsEvent(['{"a":1}', 'START RequestId: x']))).toEqual([
      '{"a":1}',
      'START RequestId: x',
    ]);
  });

  it('reads nothing from the control message CloudWatch sends when the subscription is created', () => {
    const data = gzipSync(JSON.stringify({ messageType: 'CONTROL_MESSAGE', logEvents: [{ id: '1', message: 'x' }] }));
    expect(cloudWatchLogLines({ awslogs: { data: data.toString('base64') } })).toEqual([]);
  });
});

describe('handleNotifierEvent', () => {
  const calls: string[] = [];
  const notifier: Notifier = {
    handleLogLines: async (lines) => {
      calls.push(`lines ${lines.length}`);
    },
    handleFlush: async (flush) => {
      if (flush.windowStart === 2) throw new Error('store down');
      calls.push(`flush ${flush.broker}`);
    },
  };
  beforeEach(() => {
    calls.length = 0;
  });

  it('routes a log delivery to the lines and answers nothing', async () => {
    await expect(handleNotifierEvent(notifier, cloudWatchLogsEvent(['{}', '{}']))).resolves.toBeUndefined();
    expect(calls).toEqual(['lines 2']);
  });

  it('routes queue flushes, reports the ones that failed and drops what it does not know', async () => {
    const event = toSqsEvent([
      { type: 'unauthorized-flush', broker: 'alor', windowStart: 1 },
      { type: 'unauthorized-flush', broker: 'tinkoff', windowStart: 2 },
      { type: 'something-else' },
    ]);
    const answer = await handleNotifierEvent(notifier, event);
    expect(calls).toEqual(['flush alor']);
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[1]?.messageId }] });
  });
});

describe('SqsQueue', () => {
  const sqs = mockClient(SQSClient);
  beforeEach(() => {
    sqs.reset();
  });

  it('sends the message as JSON with its delay', async () => {
    const queue = new SqsQueue(new SQSClient({}), 'https://sqs.eu-central-1.amazonaws.com/000000000000/follow-up');
    await queue.send({ type: 'unauthorized-flush', broker: 'alor', windowStart: 5 }, 600);
    expect(sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input)).toEqual([
      {
        QueueUrl: 'https://sqs.eu-central-1.amazonaws.com/000000000000/follow-up',
        MessageBody: '{"type":"unauthorized-flush","broker":"alor","windowStart":5}',
        DelaySeconds: 600,
      },
    ]);
  });
});
