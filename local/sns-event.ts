import { randomUUID } from 'node:crypto';
import type { SNSEvent } from 'aws-lambda';

/**
 * What CloudWatch publishes when an alarm changes state, and what Lambda's SNS subscription hands a function, for the
 * local run and the tests: the notification's JSON as CloudWatch writes it (its time with a `+0000` offset, the
 * crossing datapoint in the reason, the alarm's trigger), one SNS record per message.
 */

export interface AlarmNotificationFields {
  readonly alarmName: string;
  /** @default 'ALARM' */
  readonly state?: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';
  /** The datapoint that crossed the threshold (a count). */
  readonly value: number;
  readonly time: Date;
  /** @default 600 */
  readonly periodSeconds?: number;
  /** The metric: a Lambda function's, a queue's (with its name), or one of the stack's log metric filters. */
  readonly metric?:
    | { readonly kind: 'lambda'; readonly name: 'Errors' | 'Throttles'; readonly functionName: string }
    | { readonly kind: 'queue'; readonly queueName: string }
    | { readonly kind: 'log'; readonly namespace: string; readonly name: string };
  readonly region?: string;
}

const two = (value: number) => String(value).padStart(2, '0');

/** `31/01/25 10:00:00`: how a reason dates its datapoints. */
function datapointTime(time: Date): string {
  return `${two(time.getUTCDate())}/${two(time.getUTCMonth() + 1)}/${two(time.getUTCFullYear() % 100)} ${time.toISOString().slice(11, 19)}`;
}

function trigger(fields: AlarmNotificationFields): Record<string, unknown> {
  const metric = fields.metric ?? { kind: 'log', namespace: 'PppWebhooks', name: 'alarm' };
  const [MetricName, Namespace, Statistic, Dimensions] =
    metric.kind === 'lambda'
      ? [metric.name, 'AWS/Lambda', 'SUM', [{ value: metric.functionName, name: 'FunctionName' }]]
      : metric.kind === 'queue'
        ? ['ApproximateNumberOfMessagesVisible', 'AWS/SQS', 'MAXIMUM', [{ value: metric.queueName, name: 'QueueName' }]]
        : [metric.name, metric.namespace, 'SUM', []];
  return {
    MetricName,
    Namespace,
    StatisticType: 'Statistic',
    Statistic,
    Unit: null,
    Dimensions,
    Period: fields.periodSeconds ?? 600,
    EvaluationPeriods: 1,
    DatapointsToAlarm: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    Threshold: 1.0,
    TreatMissingData: 'notBreaching',
    EvaluateLowSampleCountPercentile: '',
  };
}

/** The JSON text CloudWatch publishes to the alarm's topic. */
export function alarmNotification(fields: AlarmNotificationFields): string {
  const region = fields.region ?? 'eu-central-1';
  const state = fields.state ?? 'ALARM';
  const crossed = state === 'ALARM';
  return JSON.stringify({
    AlarmName: fields.alarmName,
    AlarmDescription: null,
    AWSAccountId: '000000000000',
    AlarmConfigurationUpdatedTimestamp: fields.time.toISOString().replace('Z', '+0000'),
    NewStateValue: state,
    NewStateReason: `Threshold Crossed: 1 out of the last 1 datapoints [${fields.value.toFixed(1)} (${datapointTime(fields.time)})] was ${crossed ? '' : 'not '}greater than or equal to the threshold (1.0) (minimum 1 datapoint for ${crossed ? 'OK -> ALARM' : 'ALARM -> OK'} transition).`,
    StateChangeTime: fields.time.toISOString().replace('Z', '+0000'),
    Region: 'EU (Frankfurt)',
    AlarmArn: `arn:aws:cloudwatch:${region}:000000000000:alarm:${fields.alarmName}`,
    OldStateValue: crossed ? 'OK' : 'ALARM',
    OKActions: [],
    AlarmActions: [`arn:aws:sns:${region}:000000000000:alarms`],
    InsufficientDataActions: [],
    Trigger: trigger(fields),
  });
}

/** An SNS delivery of `messages` to a Lambda subscription. */
export function toSnsEvent(
  messages: readonly string[],
  topicArn = 'arn:aws:sns:eu-central-1:000000000000:alarms',
): SNSEvent {
  return {
    Records: messages.map((message) => ({
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: `${topicArn}:${randomUUID()}`,
      Sns: {
        Type: 'Notification',
        MessageId: randomUUID(),
        TopicArn: topicArn,
        Subject: 'ALARM',
        Message: message,
        Timestamp: new Date().toISOString(),
        SignatureVersion: '1',
        Signature: 'EXAMPLE',
        SigningCertUrl: 'https://sns.eu-central-1.amazonaws.com/SimpleNotificationService-0000.pem',
        UnsubscribeUrl: `https://sns.eu-central-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}`,
        MessageAttributes: {},
      },
    })),
  };
}
