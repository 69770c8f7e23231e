import { fileURLToPath } from 'node:url';
import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, type HttpRoute, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnSecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { type Broker, ENV, followUpQueueName } from '../shared/facts.ts';
import { AppFunction } from './app-function.ts';
import { brokerEnvironment, functionEnvironment, type NotifyConfig, type WebhooksConfig } from './config.ts';
import { type BrokerFunctionInputs, NotificationsStack } from './notifications-stack.ts';
import { storedParameter, storedSecret } from './stored-values.ts';

const entry = (broker: Broker) => fileURLToPath(new URL(`../functions/${broker}/handler.ts`, import.meta.url));

/**
 * A webhook function may take and give back leases of the position-locks table, and count the day's orders there
 * (docs/contract.md#orders-per-day), only its own broker's: the item names start with the function's broker
 * (shared/brokers/signal-recipe.ts, shared/brokers/order-recipe.ts), which `dynamodb:LeadingKeys` holds it to.
 */
function lockStatement(table: Table, broker: Broker): PolicyStatement {
  return new PolicyStatement({
    sid: 'LockPositions',
    effect: Effect.ALLOW,
    actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
    resources: [table.tableArn],
    conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${broker}#*`] } },
  });
}

/**
 * The access-log line of the API stage, one JSON object per request.
 *
 * It carries the route and the path but never the query string (`?secret=` is how Realm-era widgets authenticate),
 * nor headers (`x-webhook-secret`), nor the body. `$context.path` on an HTTP API is the path alone.
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
} as const;

export interface GatewayStackProps extends StackProps {
  readonly config: WebhooksConfig;
  readonly notify: NotifyConfig;
}

/**
 * One HTTP API with `POST /alor` and `POST /tinkoff`, each backed by its own {@link AppFunction}, plus the
 * secrets and parameters those functions read. Secret values never pass through here: the stack creates empty
 * (broker tokens) or generated (webhook secret) secrets, and hands the functions names/ARNs only.
 */
export class GatewayStack extends Stack {
  readonly api: HttpApi;
  readonly alor: AppFunction;
  readonly tinkoff: AppFunction;
  readonly notifications: NotificationsStack;
  /** The leases of the position lock (docs/contract.md#position-lock). */
  readonly positionLocks: Table;

  constructor(scope: Construct, id: string, props: GatewayStackProps) {
    super(scope, id, props);
    const { config } = props;

    // The webhook secret gets a random value at creation: the user reads it with `npm run secrets -- get
    // webhook-secret` and pastes it into the widget. Alphanumeric only, so it can go into `?secret=` unescaped.
    const webhookSecret = storedSecret(
      this,
      'WebhookSecret',
      config.webhookSecret,
      'Shared secret(s) of the PPP webhooks, one per line',
      true,
    );
    // Broker tokens are created WITHOUT a value: until `npm run secrets -- set` fills them, GetSecretValue fails
    // and the function answers its 404 "token not configured", rather than sending a placeholder to a broker.
    const alorToken = storedSecret(
      this,
      'AlorRefreshToken',
      config.alorRefreshToken,
      'Alor Open API refresh token',
      false,
    );
    const tinkoffToken = storedSecret(this, 'TinkoffToken', config.tinkoffToken, 'T-Invest API trading token', false);
    const alorPortfolio = storedParameter(this, 'AlorPortfolio', config.alorPortfolio, 'Alor portfolio, e.g. D71111');
    const tinkoffAccountId = storedParameter(this, 'TinkoffAccountId', config.tinkoffAccountId, 'T-Invest account id');

    const common = {
      memorySize: config.memorySize,
      timeout: Duration.seconds(config.timeoutSeconds),
      logRetention: config.logRetentionDays as RetentionDays,
      bundleAwsSdk: config.bundleAwsSdk,
    };
    // What each broker's functions (its webhook, and its follow-up) read: its settings, token and account.
    const brokers: Record<Broker, BrokerFunctionInputs> = {
      alor: {
        environment: brokerEnvironment(config, 'alor', alorToken.envValue),
        secretArn: alorToken.policyArn,
        parameterArn: alorPortfolio,
      },
      tinkoff: {
        environment: brokerEnvironment(config, 'tinkoff', tinkoffToken.envValue),
        secretArn: tinkoffToken.policyArn,
        parameterArn: tinkoffAccountId,
      },
    };
    // A v2 signal that depends on the position holds a lease here per account and instrument, from its read to its
    // order. On demand (a few writes per signal); point-in-time recovery on, though a lease outlives no deadline:
    // it costs nothing on a table this small and keeps cdk-nag's DynamoDB rule without an exception.
    this.positionLocks = new Table(this, 'PositionLocks', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // A protected entry's watch goes on its broker's follow-up queue (docs/contract.md#protection), named ahead.
    const followUpQueue = (broker: Broker) => {
      const name = followUpQueueName(config.stackName, broker);
      return {
        url: `https://sqs.${Aws.REGION}.${Aws.URL_SUFFIX}/${Aws.ACCOUNT_ID}/${name}`,
        arn: this.formatArn({ service: 'sqs', resource: name }),
        variable: broker === 'alor' ? ENV.alorFollowUpQueueUrl : ENV.tinkoffFollowUpQueueUrl,
      };
    };
    const webhook = (broker: Broker, id: string, description: string) =>
      new AppFunction(this, id, {
        ...common,
        entry: entry(broker),
        description,
        environment: {
          ...functionEnvironment(config, broker, {
            webhookSecret: webhookSecret.envValue,
            credential: { alor: alorToken, tinkoff: tinkoffToken }[broker].envValue,
          }),
          [ENV.positionLockTable]: this.positionLocks.tableName,
          [followUpQueue(broker).variable]: followUpQueue(broker).url,
        },
        readableSecretArns: [webhookSecret.policyArn, brokers[broker].secretArn],
        // The kill switch is not created by the stack: absent, it is off; `npm run kill -- on` writes it.
        readableParameterArns: [
          brokers[broker].parameterArn,
          ...(config.guards.killSwitchParameter === undefined
            ? []
            : [
                this.formatArn({
                  service: 'ssm',
                  resource: 'parameter',
                  resourceName: config.guards.killSwitchParameter.slice(1),
                }),
              ]),
        ],
        storeExtension: config.storeExtension,
        statements: [
          lockStatement(this.positionLocks, broker),
          new PolicyStatement({
            sid: 'QueueProtectionWatch',
            effect: Effect.ALLOW,
            actions: ['sqs:SendMessage'],
            resources: [followUpQueue(broker).arn],
          }),
        ],
      });
    this.alor = webhook('alor', 'AlorFunction', 'PPP webhook: limit orders at Alor');
    this.tinkoff = webhook('tinkoff', 'TinkoffFunction', 'PPP webhook: limit orders at T-Invest');

    this.api = new HttpApi(this, 'Api', {
      apiName: config.stackName,
      description: 'PPP webhooks: POST /alor and POST /tinkoff',
      createDefaultStage: false,
    });
    const routes = [
      ...this.api.addRoutes({
        path: '/alor',
        methods: [HttpMethod.POST],
        integration: new HttpLambdaIntegration('AlorIntegration', this.alor.function),
      }),
      ...this.api.addRoutes({
        path: '/tinkoff',
        methods: [HttpMethod.POST],
        integration: new HttpLambdaIntegration('TinkoffIntegration', this.tinkoff.function),
      }),
    ];

    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: config.logRetentionDays as RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: config.throttlingRateLimit, burstLimit: config.throttlingBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    new CfnOutput(this, 'AlorWebhookUrl', {
      description: 'Webhook URL for Alor: POST here with header x-webhook-secret (or ?secret=)',
      value: `${stage.url}alor`,
    });
    new CfnOutput(this, 'TinkoffWebhookUrl', {
      description: 'Webhook URL for T-Invest: POST here with header x-webhook-secret (or ?secret=)',
      value: `${stage.url}tinkoff`,
    });
    new CfnOutput(this, 'AlorLogGroup', {
      description: 'Logs of the Alor function: aws logs tail <name> --follow',
      value: this.alor.logGroup.logGroupName,
    });
    new CfnOutput(this, 'TinkoffLogGroup', {
      description: 'Logs of the T-Invest function: aws logs tail <name> --follow',
      value: this.tinkoff.logGroup.logGroupName,
    });
    // What `npm run preflight -- --deployed` invokes for its store self-test (a direct Invoke with the trader's own
    // credentials, which API Gateway cannot deliver): the functions' roles get nothing new for it.
    new CfnOutput(this, 'AlorFunctionName', {
      description: 'The Alor webhook function, for the store self-test of npm run preflight -- --deployed',
      value: this.alor.function.functionName,
    });
    new CfnOutput(this, 'TinkoffFunctionName', {
      description: 'The T-Invest webhook function, for the store self-test of npm run preflight -- --deployed',
      value: this.tinkoff.function.functionName,
    });
    new CfnOutput(this, 'AccessLogGroup', {
      description: 'API access logs (no query strings, headers or bodies)',
      value: accessLogs.logGroupName,
    });
    new CfnOutput(this, 'WebhookSecretName', {
      description:
        'Secrets Manager secret holding the webhook secret(s); read it with `npm run secrets -- get webhook-secret`',
      value: config.webhookSecret.name,
    });

    if (config.keepWarmMinutes > 0) {
      // EventBridge invokes the functions through their resource policy (events.amazonaws.com, this rule only);
      // the public API is not involved. The function tells the schedule's event apart from a webhook call.
      new Rule(this, 'KeepWarm', {
        description: `Keeps the webhook functions ready: every ${config.keepWarmMinutes} minute(s)`,
        schedule: Schedule.rate(Duration.minutes(config.keepWarmMinutes)),
        targets: [this.alor.function, this.tinkoff.function].map((fn) => new LambdaFunction(fn, { retryAttempts: 0 })),
      });
    }

    this.acknowledgeAcceptedFindings(routes);

    // The Telegram messages and order follow-ups: a nested stack of their own, so that the webhooks' resources
    // (the answer path) stay as they were; deployed always, off until the bot token and chat id hold values.
    this.notifications = new NotificationsStack(this, 'Notifications', {
      config,
      notify: props.notify,
      brokers,
      webhooks: { alor: this.alor, tinkoff: this.tinkoff },
    });
  }

  /**
   * The cdk-nag findings this stack accepts, each with its reason. (The log-stream wildcard of the execution roles
   * is acknowledged where it is made, in {@link AppFunction}.)
   */
  private acknowledgeAcceptedFindings(routes: readonly HttpRoute[]): void {
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'The widget can send neither SigV4 nor a JWT, so the routes have no API Gateway authorizer. Each function authenticates the caller itself with the shared webhook secret (header, ?secret= or HMAC signature, compared in constant time) before it reads any other secret or calls a broker.',
      });
    }
    for (const secret of this.node.children.filter((child) => child instanceof Secret || child instanceof CfnSecret)) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'No rotation function can rotate these values: broker tokens are issued by the brokers, and the webhook secret must change together with the widget configuration. Rotation is manual and without downtime (the webhook secret may hold several values, one per line; README.md#rotate-the-webhook-secret-without-downtime); broker tokens are replaced with `npm run secrets -- set`.',
      });
    }
  }
}
