import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError } from '#shared/config-error.ts';
import type { Broker } from '#shared/facts.ts';
import { ALARM_SOURCES, type AlarmSource, alarmName, WATCHED_CAUSES } from '#shared/notify/alarms.ts';
import { alarmDescription } from '#shared/notify/messages.ts';
import { PLATFORM_LINE_PATTERNS } from '../../infra/failure-alarms.ts';
import { logicalId, synth } from './synth.ts';

/**
 * The nested stack of the Telegram messages and order follow-ups: what each function may read and send, how the log
 * lines reach the notifier, and that the webhooks' own resources do not change for it.
 */

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown };

function notifications(overrides: Record<string, unknown> = {}) {
  const built = synth(overrides);
  const nested = built.stack.notifications;
  return { built, nested, template: Template.fromStack(nested) };
}

function resource(template: Template, id: string) {
  const found = template.toJSON().Resources[id];
  expect(found).toBeDefined();
  return found;
}

function inlineStatements(template: Template, roleId: string): Statement[] {
  return resource(template, roleId).Properties.Policies.flatMap(
    (policy: { PolicyDocument: { Statement: Statement[] } }) => policy.PolicyDocument.Statement,
  );
}

describe('NotificationsStack with the defaults of cdk.json', () => {
  const { built, nested, template } = notifications();
  const id = (construct: Parameters<typeof logicalId>[1]) => logicalId(nested, construct);

  it('runs the notifier and one follow-up per broker on arm64, each with its own 30-day log group', () => {
    template.resourceCountIs('AWS::Lambda::Function', 3);
    template.allResourcesProperties('AWS::Lambda::Function', { Architectures: ['arm64'] });
    expect(resource(template, id(nested.notifier.function)).Properties.Timeout).toBe(120);
    for (const broker of ['alor', 'tinkoff'] as const) {
      expect(resource(template, id(nested.followUps[broker].function)).Properties.Timeout).toBe(60);
    }
    template.resourceCountIs('AWS::Logs::LogGroup', 3);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('gives the notifier the Telegram references and the queue and table names, never a value', () => {
    const variables = resource(template, id(nested.notifier.function)).Properties.Environment.Variables;
    expect(Object.keys(variables).sort()).toEqual([
      'ALOR_FOLLOW_UP_QUEUE_URL',
      'FOLLOW_UP_DELAY_SECONDS',
      'NOTIFY_DEAD_LETTER_QUEUE_URL',
      'NOTIFY_KINDS',
      'NOTIFY_LANGUAGE',
      'NOTIFY_QUEUE_URL',
      'NOTIFY_TABLE_NAME',
      'TELEGRAM_BOT_TOKEN_SECRET_ID',
      'TELEGRAM_CHAT_ID_PARAMETER',
      'TINKOFF_FOLLOW_UP_QUEUE_URL',
    ]);
    expect(variables).toMatchObject({
      TELEGRAM_BOT_TOKEN_SECRET_ID: { Ref: 'TelegramBotToken' },
      TELEGRAM_CHAT_ID_PARAMETER: '/ppp-webhooks/telegram/chat-id',
      NOTIFY_LANGUAGE: 'ru',
      NOTIFY_KINDS:
        'placed,dry-run,refused,invalid,failed,not-configured,unauthorized,forbidden-source,follow-up,alarm',
      FOLLOW_UP_DELAY_SECONDS: '10',
    });
  });

  it.each([
    [
      'alor',
      [
        'ALOR_EXCHANGE',
        'ALOR_FOLLOW_UP_QUEUE_URL',
        'ALOR_PORTFOLIO_PARAMETER',
        'ALOR_REFRESH_TOKEN_SECRET_ID',
        'BROKER_TIMEOUT_MS',
        'CLOSE_UNPROTECTED',
      ],
    ],
    [
      'tinkoff',
      [
        'BROKER_TIMEOUT_MS',
        'CLOSE_UNPROTECTED',
        'TINKOFF_ACCOUNT_ID_PARAMETER',
        'TINKOFF_API',
        'TINKOFF_FOLLOW_UP_QUEUE_URL',
        'TINKOFF_TOKEN_SECRET_ID',
      ],
    ],
  ] as const)(
    'gives the %s follow-up only its broker settings: no webhook secret, no other broker',
    (broker, names) => {
      const variables = resource(template, id(nested.followUps[broker].function)).Properties.Environment.Variables;
      expect(Object.keys(variables).sort()).toEqual([...names].sort());
    },
  );

  it('lets the notifier read only the bot token and chat id, claim in its table and send to its queues', () => {
    const statements = inlineStatements(template, id(nested.notifier.role));
    const bySid = Object.fromEntries(statements.map((statement) => [statement.Sid, statement]));
    expect(Object.keys(bySid).sort()).toEqual([
      'ClaimEvents',
      'ReadOwnParameters',
      'ReadOwnSecrets',
      'SendToQueues',
      'WriteOwnLogs',
    ]);
    expect(bySid.ReadOwnSecrets).toMatchObject({
      Action: 'secretsmanager:GetSecretValue',
      Resource: { Ref: 'TelegramBotToken' },
    });
    expect(JSON.stringify(bySid.ReadOwnParameters?.Resource)).toContain('parameter/ppp-webhooks/telegram/chat-id');
    expect(bySid.ClaimEvents).toMatchObject({
      Action: 'dynamodb:UpdateItem',
      Resource: { 'Fn::GetAtt': [id(nested.table), 'Arn'] },
    });
    expect(bySid.SendToQueues?.Action).toBe('sqs:SendMessage');
    expect(bySid.SendToQueues?.Resource).toHaveLength(4);
  });

  it.each(['alor', 'tinkoff'] as const)(
    'lets the %s follow-up read only its own broker token and account',
    (broker) => {
      const statements = inlineStatements(template, id(nested.followUps[broker].role));
      const text = JSON.stringify(statements);
      const other: Broker = broker === 'alor' ? 'tinkoff' : 'alor';
      // It also sends a protected entry's next check to its own queue, and to no other.
      expect(statements.map((statement) => statement.Sid).sort()).toEqual(
        ['ReadOwnParameters', 'ReadOwnSecrets', 'WatchProtection', 'WriteOwnLogs'].sort(),
      );
      expect(text).not.toContain(other === 'alor' ? 'alor/portfolio' : 'tinkoff/account-id');
      expect(text).not.toMatch(/WebhookSecret|TelegramBotToken|telegram/);
      const sends = statements.filter((statement) => JSON.stringify(statement.Action).includes('sqs:SendMessage'));
      const queue = nested.node.findChild(broker === 'alor' ? 'AlorFollowUpQueue' : 'TinkoffFollowUpQueue');
      expect(sends.map((statement) => statement.Resource)).toEqual([{ 'Fn::GetAtt': [id(queue as never), 'Arn'] }]);
    },
  );

  it('subscribes the notifier to the webhook and follow-up log groups, for their one line per invocation only', () => {
    template.resourceCountIs('AWS::Logs::SubscriptionFilter', 4);
    template.allResourcesProperties('AWS::Logs::SubscriptionFilter', {
      FilterPattern:
        '{ ($.message = "webhook answered") || ($.message = "order followed up") || ($.message = "protection checked") }',
      DestinationArn: { 'Fn::GetAtt': [id(nested.notifier.function), 'Arn'] },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'logs.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [id(nested.notifier.function), 'Arn'] },
    });
    // The notifier's own log group feeds nothing back into it.
    const groups = JSON.stringify(Object.values(template.findResources('AWS::Logs::SubscriptionFilter')));
    expect(groups).not.toContain(id(nested.notifier.logGroup));
  });

  it('feeds each follow-up from its queue and the notifier from its own, with dead-letter queues and TLS-only, encrypted queues', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: id(nested.notifier.function) },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.resourceCountIs('AWS::SQS::QueuePolicy', 7);
    const queues = Object.values(template.findResources('AWS::SQS::Queue'));
    expect(queues.filter((queue) => queue.Properties.RedrivePolicy?.maxReceiveCount === 3)).toHaveLength(3);
  });

  it('sends the notifier’s failed asynchronous invocations, after two retries, to the dead-letter queue', () => {
    const props = resource(template, id(nested.notifier.function)).Properties;
    expect(props.DeadLetterConfig).toEqual({ TargetArn: { 'Fn::GetAtt': [id(nested.deadLetters), 'Arn'] } });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 2 });
  });

  it('keeps the claims in an on-demand table with a TTL attribute', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('creates the bot token secret without a value, and the chat id parameter only from context', () => {
    expect(resource(template, 'TelegramBotToken').Properties).toEqual({
      Name: 'ppp-webhooks/telegram/bot-token',
      Description: 'Telegram bot token',
    });
    template.resourceCountIs('AWS::SSM::Parameter', 0);
    const withChat = notifications({ telegramChatId: '-1001234567890' }).template;
    withChat.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/ppp-webhooks/telegram/chat-id',
      Type: 'String',
      Value: '-1001234567890',
    });
  });

  it('is a nested stack of the webhooks stack, with no CDK error or warning annotation', () => {
    expect(Object.keys(built.template.findResources('AWS::CloudFormation::Stack'))).toEqual([
      expect.stringMatching(/^NotificationsNestedStack/),
    ]);
    const annotations = nested.node
      .findAll()
      .flatMap((construct) => construct.node.metadata)
      .filter((entry) => entry.type === 'aws:cdk:error' || entry.type === 'aws:cdk:warning');
    expect(annotations).toEqual([]);
  });
});

describe('NotificationsStack alarms: every failure reaches the trader', () => {
  const { built, nested, template } = notifications();
  const id = (construct: Parameters<typeof logicalId>[1]) => logicalId(nested, construct);
  const topicId = id(nested.alarms.topic);
  const alarms = () => Object.values(template.findResources('AWS::CloudWatch::Alarm'));
  const alarmNamed = (name: string) => {
    const found = alarms().find((alarm) => alarm.Properties.AlarmName === name);
    expect(found, name).toBeDefined();
    return found?.Properties;
  };
  /** The function a source names, as the nested stack refers to it. */
  const functionRef = (source: AlarmSource) => {
    const parentFunctions = { 'alor-webhook': built.stack.alor, 'tinkoff-webhook': built.stack.tinkoff };
    if (source in parentFunctions) return expect.objectContaining({ Ref: expect.stringMatching(/^referenceto/) });
    const own =
      source === 'notifier' ? nested.notifier : nested.followUps[source === 'alor-follow-up' ? 'alor' : 'tinkoff'];
    return { Ref: id(own.function) };
  };

  it('has one alarm per function and cause, each going off at the first failure in 10 minutes, to the alarm topic', () => {
    const expected = ALARM_SOURCES.flatMap((source) =>
      WATCHED_CAUSES[source].map((cause) => alarmName('PppWebhooks', source, cause)),
    );
    expect(expected).toHaveLength(18);
    expect(
      alarms()
        .map((alarm) => alarm.Properties.AlarmName)
        .sort(),
    ).toEqual([...expected].sort());
    for (const source of ALARM_SOURCES) {
      for (const cause of WATCHED_CAUSES[source]) {
        expect(alarmNamed(alarmName('PppWebhooks', source, cause))).toMatchObject({
          AlarmDescription: alarmDescription(source, cause, 'ru'),
          AlarmActions: [{ Ref: topicId }],
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          Threshold: 1,
          EvaluationPeriods: 1,
          DatapointsToAlarm: 1,
          TreatMissingData: 'notBreaching',
        });
      }
    }
    template.allResourcesProperties('AWS::CloudWatch::Alarm', { OKActions: Match.absent() });
  });

  it("watches every function of the stack, the webhooks' and its own (no other function is deployed)", () => {
    const functions = [built.template, template].flatMap((each) =>
      Object.keys(each.findResources('AWS::Lambda::Function')),
    );
    expect(functions.sort()).toEqual(
      [
        logicalId(built.stack, built.stack.alor.function),
        logicalId(built.stack, built.stack.tinkoff.function),
        id(nested.notifier.function),
        id(nested.followUps.alor.function),
        id(nested.followUps.tinkoff.function),
      ].sort(),
    );
    expect(ALARM_SOURCES).toHaveLength(functions.length);
    for (const source of ALARM_SOURCES)
      expect(WATCHED_CAUSES[source]).toEqual(expect.arrayContaining(['error', 'throttle']));
  });

  it.each(ALARM_SOURCES.flatMap((source) => (['error', 'throttle'] as const).map((cause) => [source, cause] as const)))(
    "watches %s's Lambda metric for %s",
    (source, cause) => {
      const props = alarmNamed(alarmName('PppWebhooks', source, cause));
      const metricName = cause === 'error' ? 'Errors' : 'Throttles';
      const plain = { Namespace: 'AWS/Lambda', MetricName: metricName, Statistic: 'Sum', Period: 600 };
      if (source.endsWith('-webhook') && cause === 'error') {
        // Lambda's Errors counts timeouts and failed starts too: those have alarms of their own.
        expect(props.Metrics).toEqual([
          expect.objectContaining({
            Id: 'expr_1',
            Expression: 'FILL(errors, 0) - FILL(timeouts, 0) - FILL(initFailures, 0)',
          }),
          expect.objectContaining({
            Id: 'errors',
            MetricStat: {
              Metric: {
                Namespace: 'AWS/Lambda',
                MetricName: 'Errors',
                Dimensions: [{ Name: 'FunctionName', Value: functionRef(source) }],
              },
              Period: 600,
              Stat: 'Sum',
            },
          }),
          expect.objectContaining({
            Id: 'timeouts',
            MetricStat: expect.objectContaining({
              Metric: { Namespace: 'PppWebhooks', MetricName: `${source}-timeout` },
            }),
          }),
          expect.objectContaining({
            Id: 'initFailures',
            MetricStat: expect.objectContaining({
              Metric: { Namespace: 'PppWebhooks', MetricName: `${source}-init-failure` },
            }),
          }),
        ]);
        return;
      }
      expect(props).toMatchObject({ ...plain, Dimensions: [{ Name: 'FunctionName', Value: functionRef(source) }] });
    },
  );

  it.each(['alor', 'tinkoff'] as const)(
    "counts the %s webhook's timeouts and failed starts from Lambda's platform lines in its log group",
    (broker) => {
      const filters = Object.values(template.findResources('AWS::Logs::MetricFilter')).map(
        (filter) => filter.Properties,
      );
      const ofWebhook = filters.filter((filter) =>
        String(filter.MetricTransformations[0].MetricName).startsWith(`${broker}-webhook-`),
      );
      expect(ofWebhook.map((filter) => [filter.FilterPattern, filter.MetricTransformations]).sort()).toEqual(
        [
          ...PLATFORM_LINE_PATTERNS.timeout.map((pattern) => [pattern, `${broker}-webhook-timeout`]),
          ...PLATFORM_LINE_PATTERNS['init-failure'].map((pattern) => [pattern, `${broker}-webhook-init-failure`]),
        ]
          .map(([pattern, metricName]) => [
            pattern,
            [{ MetricName: metricName, MetricNamespace: 'PppWebhooks', MetricValue: '1' }],
          ])
          .sort(),
      );
      for (const filter of ofWebhook) {
        expect(filter.LogGroupName).toEqual({
          Ref: expect.stringMatching(
            new RegExp(`^referencetoWebhooks${broker === 'alor' ? 'Alor' : 'Tinkoff'}FunctionLogs`),
          ),
        });
      }
      expect(PLATFORM_LINE_PATTERNS).toEqual({
        timeout: ['"Task timed out"'],
        'init-failure': ['"INIT_REPORT" "Status: error"', '"INIT_REPORT" "Status: timeout"'],
      });
      for (const cause of ['timeout', 'init-failure'] as const) {
        expect(alarmNamed(alarmName('PppWebhooks', `${broker}-webhook`, cause))).toMatchObject({
          Namespace: 'PppWebhooks',
          MetricName: `${broker}-webhook-${cause}`,
          Statistic: 'Sum',
          Period: 600,
        });
      }
      template.resourceCountIs('AWS::Logs::MetricFilter', 6);
    },
  );

  it('watches every dead-letter queue for a message waiting', () => {
    const cases: [AlarmSource, 'dead-letters' | 'queue-dead-letters'][] = [
      ['notifier', 'dead-letters'],
      ['notifier', 'queue-dead-letters'],
      ['alor-follow-up', 'dead-letters'],
      ['tinkoff-follow-up', 'dead-letters'],
    ];
    const watched = cases.map(([source, cause]) => {
      const props = alarmNamed(alarmName('PppWebhooks', source, cause));
      expect(props).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Statistic: 'Maximum',
        Period: 600,
      });
      return props.Dimensions[0].Value['Fn::GetAtt'][0];
    });
    expect(watched[0]).toBe(id(nested.deadLetters));
    // Every dead-letter queue of the stack is watched, each once.
    const deadLetterQueues = Object.entries(template.findResources('AWS::SQS::Queue'))
      .filter(([, queue]) => queue.Properties.MessageRetentionPeriod === 14 * 24 * 3600)
      .map(([logical]) => logical);
    expect([...watched].sort()).toEqual([...deadLetterQueues].sort());
  });

  it("sends the alarms to the notifier through an SNS topic that takes TLS only, and only from this stack's alarms", () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      TopicArn: { Ref: topicId },
      Endpoint: { 'Fn::GetAtt': [id(nested.notifier.function), 'Arn'] },
    });
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'sns.amazonaws.com',
      SourceArn: { Ref: topicId },
      FunctionName: { 'Fn::GetAtt': [id(nested.notifier.function), 'Arn'] },
    });
    const [policy] = Object.values(template.findResources('AWS::SNS::TopicPolicy'));
    expect(policy?.Properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Sid: 'AllowPublishThroughSSLOnly',
        Effect: 'Deny',
        Action: 'sns:Publish',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
      {
        Sid: 'StackAlarmsPublish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: topicId },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', expect.arrayContaining([':alarm:PppWebhooks-*'])] } },
        },
      },
    ]);
  });

  it('keeps least privilege: the notifier reads no broker token and no webhook secret, and needs nothing new for SNS', () => {
    const statements = inlineStatements(template, id(nested.notifier.role));
    expect(statements.map((statement) => statement.Sid).sort()).toEqual([
      'ClaimEvents',
      'ReadOwnParameters',
      'ReadOwnSecrets',
      'SendToQueues',
      'WriteOwnLogs',
    ]);
    const text = JSON.stringify(statements);
    expect(text).not.toMatch(/WebhookSecret|AlorRefreshToken|TinkoffToken|webhook-secret|refresh-token|tinkoff\/token/);
    expect(text).not.toMatch(/sns:|cloudwatch:/);
  });

  it('e-mails the alarms when context alarmEmail gives an address, and refuses one that is not an address', () => {
    const withEmail = notifications({ alarmEmail: 'trader@example.com' });
    withEmail.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'trader@example.com',
      TopicArn: { Ref: logicalId(withEmail.nested, withEmail.nested.alarms.topic) },
    });
    withEmail.template.resourceCountIs('AWS::SNS::Subscription', 2);
    for (const [value, message] of [
      ['trader', 'Context "alarmEmail" must be one e-mail address, such as trader@example.com; got "trader"'],
      ['a@b.com,c@d.com', 'Context "alarmEmail" must be one e-mail address'],
    ]) {
      expect(() => synth({ alarmEmail: value })).toThrow(ConfigError);
      expect(() => synth({ alarmEmail: value })).toThrow(message);
    }
  });

  it('names the alarms after the stack and describes them in the notify language', () => {
    const { template: other } = notifications({ stackName: 'Trader2', notifyLanguage: 'en' });
    const names = Object.values(other.findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => alarm.Properties.AlarmName,
    );
    expect(names).toContain('Trader2-notifier-error');
    other.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Trader2-alor-webhook-timeout',
      AlarmDescription: alarmDescription('alor-webhook', 'timeout', 'en'),
      Namespace: 'Trader2',
    });
  });
});

describe('NotificationsStack configured through context', () => {
  it('passes the language, kinds and follow-up delay', () => {
    const { nested, template } = notifications({
      notifyLanguage: 'en',
      notifyKinds: 'refused,failed',
      followUpDelaySeconds: '30',
    });
    const variables = resource(template, logicalId(nested, nested.notifier.function)).Properties.Environment.Variables;
    expect(variables).toMatchObject({
      NOTIFY_LANGUAGE: 'en',
      NOTIFY_KINDS: 'refused,failed',
      FOLLOW_UP_DELAY_SECONDS: '30',
    });
  });

  it('imports an existing bot token secret by name, granting the name followed by "-??????"', () => {
    const { nested, template } = notifications({ telegramBotTokenSecretName: 'mine/telegram' });
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(JSON.stringify(inlineStatements(template, logicalId(nested, nested.notifier.role)))).toContain(
      'secret:mine/telegram-??????',
    );
  });

  it.each([
    [{ notifyKinds: 'placed,fills' }, 'Context "notifyKinds" must be a comma list of'],
    [{ notifyLanguage: 'de' }, 'Context "notifyLanguage" must be one of ru, en; got "de"'],
    [{ followUpDelaySeconds: 901 }, 'Context "followUpDelaySeconds" must be an integer from 0 to 900; got 901'],
    [{ telegramBotToken: '123:abc' }, 'npm run secrets -- set telegram-bot-token'],
  ])('refuses %j', (context, message) => {
    expect(() => synth(context)).toThrow(ConfigError);
    expect(() => synth(context)).toThrow(message);
  });

  it('never puts a bot token from the shell into the template', () => {
    vi.stubEnv('TELEGRAM_BOT_TOKEN', '123456789:SENTINEL-telegram-token-abcdefghijk');
    const { built, template } = notifications();
    for (const text of [JSON.stringify(template.toJSON()), JSON.stringify(built.template.toJSON())]) {
      expect(text).not.toContain('SENTINEL-telegram');
    }
  });
});
