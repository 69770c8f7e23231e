import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { NotifyLanguage } from '../shared/facts.ts';
import {
  ALARM_PERIOD_SECONDS,
  ALARM_SOURCES,
  type AlarmCause,
  type AlarmSource,
  alarmName,
  WATCHED_CAUSES,
} from '../shared/notify/alarms.ts';
import { alarmDescription } from '../shared/notify/messages.ts';
import type { AppFunction } from './app-function.ts';

/** The dead-letter queues the alarms watch. */
type DeadLetterCause = Extract<AlarmCause, 'dead-letters' | 'queue-dead-letters'>;

export interface FailureAlarmsProps {
  /** The stack's name: the alarms' names and the log metrics' namespace start with it. */
  readonly stackName: string;
  /** The language of the alarms' descriptions (what an e-mail shows). */
  readonly language: NotifyLanguage;
  /** Also e-mail every alarm here. */
  readonly email: string | undefined;
  readonly functions: Readonly<Record<AlarmSource, AppFunction>>;
  readonly deadLetterQueues: Readonly<Partial<Record<AlarmSource, Partial<Record<DeadLetterCause, IQueue>>>>>;
  /** Told of every alarm through the topic. */
  readonly notifier: IFunction;
}

/**
 * Lambda's lines for a failure no line of ours can tell, as CloudWatch Logs filter patterns (terms, each in quotes,
 * all of them on one line): an invocation that ran out of time, and an init phase that failed or ran out of time.
 */
export const PLATFORM_LINE_PATTERNS: Readonly<Record<'timeout' | 'init-failure', readonly string[]>> = {
  timeout: ['"Task timed out"'],
  'init-failure': ['"INIT_REPORT" "Status: error"', '"INIT_REPORT" "Status: timeout"'],
};

/**
 * One CloudWatch alarm per function and cause (`WATCHED_CAUSES`), each on a 10-minute period with a threshold of one, so
 * that it goes off at the first failure and, since it must see a quiet period before it goes off again, at most once per
 * 10 minutes; each publishes to one SNS topic, which invokes the notifier (Telegram) and, when an address is given,
 * e-mails it. A webhook's timeouts and failed starts are counted from Lambda's platform lines by metric filters; its
 * `error` alarm counts the errors that are neither (Lambda's `Errors` includes both).
 */
export class FailureAlarms extends Construct {
  readonly topic: Topic;
  /** By name. */
  readonly alarms: ReadonlyMap<string, Alarm>;

  constructor(scope: Construct, id: string, props: FailureAlarmsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const period = Duration.seconds(ALARM_PERIOD_SECONDS);

    this.topic = new Topic(this, 'Topic', { displayName: `${props.stackName} alarms`, enforceSSL: true });
    // The topic's policy replaces SNS's default one, which CloudWatch publishes through: allow this stack's alarms.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'StackAlarmsPublish',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: `${props.stackName}-*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    this.topic.addSubscription(new LambdaSubscription(props.notifier));
    if (props.email !== undefined) this.topic.addSubscription(new EmailSubscription(props.email));

    const logMetric = (source: AlarmSource, cause: 'timeout' | 'init-failure'): Metric => {
      const metricName = `${source}-${cause}`;
      PLATFORM_LINE_PATTERNS[cause].forEach((pattern, index) => {
        new MetricFilter(this, `${pascal(metricName)}Lines${index === 0 ? '' : index + 1}`, {
          logGroup: props.functions[source].logGroup,
          filterPattern: FilterPattern.literal(pattern),
          metricNamespace: props.stackName,
          metricName,
          metricValue: '1',
        });
      });
      return new Metric({ namespace: props.stackName, metricName, statistic: 'Sum', period });
    };

    const metricOf = (source: AlarmSource, cause: AlarmCause): IMetric => {
      const fn = props.functions[source].function;
      switch (cause) {
        case 'timeout':
        case 'init-failure':
          return logMetric(source, cause);
        case 'throttle':
          return fn.metricThrottles({ statistic: 'Sum', period });
        case 'error': {
          const errors = fn.metricErrors({ statistic: 'Sum', period });
          if (!WATCHED_CAUSES[source].includes('timeout')) return errors;
          return new MathExpression({
            expression: 'FILL(errors, 0) - FILL(timeouts, 0) - FILL(initFailures, 0)',
            usingMetrics: {
              errors,
              timeouts: new Metric({ namespace: props.stackName, metricName: `${source}-timeout`, statistic: 'Sum' }),
              initFailures: new Metric({
                namespace: props.stackName,
                metricName: `${source}-init-failure`,
                statistic: 'Sum',
              }),
            },
            period,
            label: 'Errors other than timeouts and failed starts',
          });
        }
        case 'dead-letters':
        case 'queue-dead-letters': {
          const queue = props.deadLetterQueues[source]?.[cause];
          if (queue === undefined) throw new Error(`${this.node.path}: no dead-letter queue for ${source} ${cause}`);
          return queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period });
        }
      }
    };

    const action = new SnsAction(this.topic);
    const alarms = new Map<string, Alarm>();
    for (const source of ALARM_SOURCES) {
      for (const cause of WATCHED_CAUSES[source]) {
        const name = alarmName(props.stackName, source, cause);
        const alarm = new Alarm(this, `${pascal(source)}${pascal(cause)}`, {
          alarmName: name,
          alarmDescription: alarmDescription(source, cause, props.language),
          metric: metricOf(source, cause),
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          datapointsToAlarm: 1,
          // No failure logged, no datapoint: that is a quiet period.
          treatMissingData: TreatMissingData.NOT_BREACHING,
        });
        alarm.addAlarmAction(action);
        alarms.set(name, alarm);
      }
    }
    this.alarms = alarms;
  }
}

/** `alor-webhook` → `AlorWebhook`. */
function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) => letter.toUpperCase());
}
