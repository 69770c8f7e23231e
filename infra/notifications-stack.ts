import { fileURLToPath } from 'node:url';
import { Duration, NestedStack, type NestedStackProps, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { FilterPattern, type ILogGroup, type RetentionDays, SubscriptionFilter } from 'aws-cdk-lib/aws-logs';
import { LambdaDestination } from 'aws-cdk-lib/aws-logs-destinations';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  BROKERS,
  type Broker,
  ENV,
  FOLLOW_UP_LOG_MESSAGE,
  followUpQueueName,
  NOTIFY_ENV,
  PROTECTION_LOG_MESSAGE,
  WEBHOOK_LOG_MESSAGE,
} from '../shared/facts.ts';
import { BrokerFunction } from './broker-function.ts';
import type { NotifyConfig, WebhooksConfig } from './config.ts';
import { FailureAlarms } from './failure-alarms.ts';
import { storedParameter, storedSecret } from './stored-values.ts';

/** What one broker's functions read: its settings (names and ARNs, never values), its token and its account. */
export interface BrokerAccess {
  readonly environment: Readonly<Record<string, string>>;
  readonly secretArn: string;
  readonly parameterArn: string;
}

export interface NotificationsStackProps extends NestedStackProps {
  readonly config: WebhooksConfig;
  readonly notify: NotifyConfig;
  readonly brokers: Readonly<Record<Broker, BrokerAccess>>;
  /**
   * The webhook functions: their log groups' one line per invocation is what the notifier reads, and their failures
   * that write no such line (timeouts, failed starts, crashes, throttles) have alarms here.
   */
  readonly webhooks: Readonly<Record<Broker, BrokerFunction>>;
}

const entry = (name: string) => fileURLToPath(new URL(`../functions/${name}/handler.ts`, import.meta.url));

/**
 * The notifier sends a few messages per delivery; 429 waits and retries (shared/notify/telegram.ts) fit in this, and
 * what does not is left to the retry, within what the invocation has left (shared/notify/notifier.ts).
 */
const NOTIFIER_TIMEOUT = Duration.seconds(120);
/** A follow-up delivery is at most 10 lookups, each within the broker deadline. */
const FOLLOW_UP_TIMEOUT = Duration.seconds(60);
/** Lambda's advice for a queue that feeds a function: a visibility timeout of six times the function's timeout. */
const visibilityFor = (timeout: Duration) => Duration.seconds(timeout.toSeconds() * 6);
/** Messages nobody could handle are kept this long for a look. */
const DEAD_LETTER_RETENTION = Duration.days(14);

/**
 * The Telegram messages and the order follow-ups, beside the webhooks and off their answer path:
 * - a CloudWatch Logs subscription on each webhook's and each follow-up's log group feeds the notifier function their
 *   JSON lines (the answer path is unchanged: the functions write the line they always wrote);
 * - the notifier (functions/notifier) reads only the Telegram bot token and chat id, claims each event in a DynamoDB
 *   table (TTL) so it is told once, puts undeliverable messages on a dead-letter queue (also its asynchronous
 *   on-failure queue), queues each placed order for its broker's follow-up with a delay, and flushes the
 *   windows of refused calls (401, 403) from a queue of its own;
 * - one follow-up function per broker (functions/<broker>-follow-up) reads only that broker's token and account and
 *   looks the order up once;
 * - a CloudWatch alarm for every failure no log line tells (infra/failure-alarms.ts): through an SNS topic to the
 *   notifier and, when context `alarmEmail` gives an address, to that e-mail address.
 * Everything is deployed always; while the bot token or chat id holds no value the notifier does nothing (the e-mail
 * still comes).
 */
export class NotificationsStack extends NestedStack {
  readonly notifier: BrokerFunction;
  readonly followUps: Readonly<Record<Broker, BrokerFunction>>;
  readonly table: Table;
  readonly deadLetters: Queue;
  readonly alarms: FailureAlarms;

  constructor(scope: Construct, id: string, props: NotificationsStackProps) {
    super(scope, id, { ...props, description: 'PPP webhooks: Telegram messages and order follow-ups' });
    const { config, notify, brokers } = props;

    const botToken = storedSecret(this, 'TelegramBotToken', notify.telegramBotToken, 'Telegram bot token', false);
    const chatId = storedParameter(this, 'TelegramChatId', notify.telegramChatId, 'Telegram chat id');

    this.table = new Table(this, 'Claims', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.deadLetters = this.queue('DeadLetters', DEAD_LETTER_RETENTION);
    const ownQueue = this.queue('NotifierQueue', undefined, NOTIFIER_TIMEOUT);
    // The follow-up queues also carry the watches of protected entries, which the webhooks put there: they have names
    // known ahead (a webhook, in the parent stack, cannot take this stack's outputs without a cycle).
    const followUpQueues = Object.fromEntries(
      BROKERS.map((broker) => [
        broker,
        this.queue(
          `${pascal(broker)}FollowUpQueue`,
          undefined,
          FOLLOW_UP_TIMEOUT,
          followUpQueueName(config.stackName, broker),
        ),
      ]),
    ) as Record<Broker, Queue>;

    const common = {
      memorySize: config.memorySize,
      logRetention: config.logRetentionDays as RetentionDays,
      bundleAwsSdk: config.bundleAwsSdk,
      apiGateway: false,
    };

    this.followUps = Object.fromEntries(
      BROKERS.map((broker) => {
        // It also watches protected entries (docs/contract.md#protection): at T-Invest it places their stop orders
        // and cancels one of a pair, at Alor it tells what Alor's servers did with the pair; and it sends its next
        // check to its own queue.
        const fn = new BrokerFunction(this, `${pascal(broker)}FollowUp`, {
          ...common,
          entry: entry(`${broker}-follow-up`),
          description: `PPP webhooks: looks a placed ${broker} order up once; watches protected entries (their stop orders)`,
          timeout: FOLLOW_UP_TIMEOUT,
          environment: {
            ...brokers[broker].environment,
            [broker === 'alor' ? ENV.alorFollowUpQueueUrl : ENV.tinkoffFollowUpQueueUrl]:
              followUpQueues[broker].queueUrl,
          },
          readableSecretArns: [brokers[broker].secretArn],
          readableParameterArns: [brokers[broker].parameterArn],
          statements: [
            new PolicyStatement({
              sid: 'WatchProtection',
              effect: Effect.ALLOW,
              actions: ['sqs:SendMessage'],
              resources: [followUpQueues[broker].queueArn],
            }),
          ],
        });
        fn.function.addEventSource(new SqsEventSource(followUpQueues[broker], { batchSize: 10 }));
        return [broker, fn];
      }),
    ) as Record<Broker, BrokerFunction>;

    this.notifier = new BrokerFunction(this, 'Notifier', {
      ...common,
      entry: entry('notifier'),
      description: 'PPP webhooks: Telegram messages from the functions’ log lines',
      timeout: NOTIFIER_TIMEOUT,
      environment: {
        [NOTIFY_ENV.telegramBotTokenSecretId]: botToken.envValue,
        [NOTIFY_ENV.telegramChatIdParameter]: notify.telegramChatId.name,
        [NOTIFY_ENV.language]: notify.language,
        [NOTIFY_ENV.kinds]: notify.kinds.join(','),
        [NOTIFY_ENV.followUpDelaySeconds]: String(notify.followUpDelaySeconds),
        [NOTIFY_ENV.tableName]: this.table.tableName,
        [NOTIFY_ENV.queueUrl]: ownQueue.queueUrl,
        [NOTIFY_ENV.deadLetterQueueUrl]: this.deadLetters.queueUrl,
        [NOTIFY_ENV.alorFollowUpQueueUrl]: followUpQueues.alor.queueUrl,
        [NOTIFY_ENV.tinkoffFollowUpQueueUrl]: followUpQueues.tinkoff.queueUrl,
      },
      readableSecretArns: [botToken.policyArn],
      readableParameterArns: [chatId],
      statements: [
        new PolicyStatement({
          sid: 'ClaimEvents',
          effect: Effect.ALLOW,
          actions: ['dynamodb:UpdateItem'],
          resources: [this.table.tableArn],
        }),
        new PolicyStatement({
          sid: 'SendToQueues',
          effect: Effect.ALLOW,
          actions: ['sqs:SendMessage'],
          resources: [ownQueue, this.deadLetters, ...Object.values(followUpQueues)].map((queue) => queue.queueArn),
        }),
      ],
      deadLetterQueue: this.deadLetters,
    });
    this.notifier.function.addEventSource(
      new SqsEventSource(ownQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );

    // The lines the notifier reads, and nothing else: the one line per invocation of each webhook and follow-up.
    const lines = FilterPattern.any(
      FilterPattern.stringValue('$.message', '=', WEBHOOK_LOG_MESSAGE),
      FilterPattern.stringValue('$.message', '=', FOLLOW_UP_LOG_MESSAGE),
      FilterPattern.stringValue('$.message', '=', PROTECTION_LOG_MESSAGE),
    );
    const sources: [string, ILogGroup][] = [
      ...BROKERS.map((broker): [string, ILogGroup] => [`${pascal(broker)}Webhook`, props.webhooks[broker].logGroup]),
      ...BROKERS.map((broker): [string, ILogGroup] => [`${pascal(broker)}FollowUp`, this.followUps[broker].logGroup]),
    ];
    const destination = new LambdaDestination(this.notifier.function);
    for (const [name, logGroup] of sources) {
      new SubscriptionFilter(this, `${name}Lines`, { logGroup, destination, filterPattern: lines });
    }

    const deadLettersOf = (queue: Queue) => {
      const found = queue.deadLetterQueue?.queue;
      if (found === undefined) throw new Error(`${queue.node.path} has no dead-letter queue`);
      return found;
    };
    this.alarms = new FailureAlarms(this, 'Alarms', {
      stackName: config.stackName,
      language: notify.language,
      email: notify.alarmEmail,
      functions: {
        'alor-webhook': props.webhooks.alor,
        'tinkoff-webhook': props.webhooks.tinkoff,
        'alor-follow-up': this.followUps.alor,
        'tinkoff-follow-up': this.followUps.tinkoff,
        notifier: this.notifier,
      },
      deadLetterQueues: {
        'alor-follow-up': { 'dead-letters': deadLettersOf(followUpQueues.alor) },
        'tinkoff-follow-up': { 'dead-letters': deadLettersOf(followUpQueues.tinkoff) },
        notifier: { 'dead-letters': this.deadLetters, 'queue-dead-letters': deadLettersOf(ownQueue) },
      },
      notifier: this.notifier.function,
    });

    this.acknowledgeAcceptedFindings();
  }

  /** An encrypted, TLS-only queue; a feeding queue gets a dead-letter queue after three failed receives. */
  private queue(id: string, retention?: Duration, feeds?: Duration, queueName?: string): Queue {
    const secure = { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true };
    if (feeds === undefined) return new Queue(this, id, { ...secure, retentionPeriod: retention });
    const deadLetters = new Queue(this, `${id}DeadLetters`, { ...secure, retentionPeriod: DEAD_LETTER_RETENTION });
    return new Queue(this, id, {
      ...secure,
      ...(queueName === undefined ? {} : { queueName }),
      visibilityTimeout: visibilityFor(feeds),
      deadLetterQueue: { queue: deadLetters, maxReceiveCount: 3 },
    });
  }

  /** The cdk-nag findings of this stack that are accepted, each with its reason. */
  private acknowledgeAcceptedFindings(): void {
    const botToken = this.node.tryFindChild('TelegramBotToken');
    if (botToken !== undefined) {
      Validations.of(botToken).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'A rotation function cannot rotate a Telegram bot token: @BotFather issues it. It is replaced by hand with `npm run secrets -- set telegram-bot-token` when revoked.',
      });
    }
    Validations.of(this.table).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'The table holds only short-lived claims ("this event was told") and unauthorized-call counters, each removed by its TTL within a day; there is nothing to restore to a point in time.',
    });
  }
}

function pascal(broker: Broker): string {
  return broker === 'alor' ? 'Alor' : 'Tinkoff';
}
