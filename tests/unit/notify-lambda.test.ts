import { gzipSync } from 'node:zlib';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { alarmNotification, toSnsEvent } from '#local/sns-event.ts';
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
    handleLogLines: async (lines, remainingMs) => {
      calls.push(`lines ${lines.length}, ${remainingMs} ms left`);
    },
    handleFlush: async (flush, remainingMs) => {
      if (flush.windowStart === 2) throw new Error('store down');
      calls.push(`flush ${flush.kind} ${flush.broker}, ${remainingMs} ms left`);
    },
    handleAlarm: async (alarm, remainingMs) => {
      if (alarm.name.endsWith('notifier-error')) throw new Error('telegram down');
      calls.push(`alarm ${alarm.source} ${alarm.cause} ${alarm.count}, ${remainingMs} ms left`);
    },
  };
  /** A Lambda context with 60 s left. */
  const context = { getRemainingTimeInMillis: () => 60_000 };
  beforeEach(() => {
    calls.length = 0;
  });

  it('routes a log delivery to the lines, with the time the invocation has left, and answers nothing', async () => {
    await expect(handleNotifierEvent(notifier, cloudWatchLogsEvent(['{}', '{}']), context)).resolves.toBeUndefined();
    expect(calls).toEqual(['lines 2, 60000 ms left']);
  });

  it('gives no time left when there is no Lambda context (the local run): the notifier assumes its timeout', async () => {
    await handleNotifierEvent(notifier, cloudWatchLogsEvent(['{}']));
    expect(calls).toEqual(['lines 1, undefined ms left']);
  });

  it('routes queue flushes, reports the ones that failed and drops what it does not know', async () => {
    const event = toSqsEvent([
      { type: 'window-flush', kind: 'unauthorized', broker: 'alor', windowStart: 1 },
      { type: 'window-flush', kind: 'forbidden-source', broker: 'tinkoff', windowStart: 2 },
      { type: 'something-else' },
    ]);
    const answer = await handleNotifierEvent(notifier, event, context);
    expect(calls).toEqual(['flush unauthorized alor, 60000 ms left']);
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: event.Records[1]?.messageId }] });
  });

  it('routes alarm notifications from SNS, drops other SNS messages, and fails the invocation when one failed', async () => {
    const time = new Date('2025-01-31T10:07:12.000Z');
    const ok = alarmNotification({ alarmName: 'PppWebhooks-alor-webhook-timeout', value: 3, time });
    await expect(
      handleNotifierEvent(notifier, toSnsEvent([ok, 'not json', '{"AlarmName":"x"}']), context),
    ).resolves.toBeUndefined();
    expect(calls).toEqual(['alarm alor-webhook timeout 3, 60000 ms left']);

    const failing = alarmNotification({ alarmName: 'PppWebhooks-notifier-error', value: 1, time });
    await expect(handleNotifierEvent(notifier, toSnsEvent([failing]), context)).rejects.toThrow(
      '1 alarm(s) not handled',
    );
  });
});

describe('SqsQueue', () => {
  const sqs = mockClient(SQSClient);
  beforeEach(() => {
    sqs.reset();
  });

  it('sends the message as JSON with its delay', async () => {
    const queue = new SqsQueue(new SQSClient({}), 'https://sqs.eu-central-1.amazonaws.com/000000000000/follow-up');
    await queue.send({ type: 'window-flush', kind: 'unauthorized', broker: 'alor', windowStart: 5 }, 600);
    expect(sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input)).toEqual([
      {
        QueueUrl: 'https://sqs.eu-central-1.amazonaws.com/000000000000/follow-up',
        MessageBody: '{"type":"window-flush","kind":"unauthorized","broker":"alor","windowStart":5}',
        DelaySeconds: 600,
      },
    ]);
  });
});
