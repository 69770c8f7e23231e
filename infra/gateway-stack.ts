import { fileURLToPath } from 'node:url';
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, type HttpRoute, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnSecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { type Broker, ENV, WEBHOOK_SECRET_LENGTH } from '../shared/facts.ts';
import { BrokerFunction } from './broker-function.ts';
import type { ParameterRef, SecretRef, WebhooksConfig } from './config.ts';

const entry = (broker: Broker) => fileURLToPath(new URL(`../functions/${broker}/handler.ts`, import.meta.url));

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
}

/** How a function finds one secret (env value) and what its role is granted on (policy resource). */
interface SecretAccess {
  readonly envValue: string;
  readonly policyArn: string;
}

/**
 * One HTTP API with `POST /alor` and `POST /tinkoff`, each backed by its own {@link BrokerFunction}, plus the
 * secrets and parameters those functions read. Secret values never pass through here: the stack creates empty
 * (broker tokens) or generated (webhook secret) secrets, and hands the functions names/ARNs only.
 */
export class GatewayStack extends Stack {
  readonly api: HttpApi;
  readonly alor: BrokerFunction;
  readonly tinkoff: BrokerFunction;

  constructor(scope: Construct, id: string, props: GatewayStackProps) {
    super(scope, id, props);
    const { config } = props;

    // The webhook secret gets a random value at creation: the user reads it with `npm run secrets -- get
    // webhook-secret` and pastes it into the widget. Alphanumeric only, so it can go into `?secret=` unescaped.
    const webhookSecret = this.secret(
      'WebhookSecret',
      config.webhookSecret,
      'Shared secret(s) of the PPP webhooks, one per line',
      true,
    );
    // Broker tokens are created WITHOUT a value: until `npm run secrets -- set` fills them, GetSecretValue fails
    // and the function answers its 404 "token not configured", rather than sending a placeholder to a broker.
    const alorToken = this.secret('AlorRefreshToken', config.alorRefreshToken, 'Alor Open API refresh token', false);
    const tinkoffToken = this.secret('TinkoffToken', config.tinkoffToken, 'T-Invest API trading token', false);
    const alorPortfolio = this.parameter('AlorPortfolio', config.alorPortfolio, 'Alor portfolio, e.g. D71111');
    const tinkoffAccountId = this.parameter('TinkoffAccountId', config.tinkoffAccountId, 'T-Invest account id');

    const common = {
      memorySize: config.memorySize,
      timeout: Duration.seconds(config.timeoutSeconds),
      logRetention: config.logRetentionDays as RetentionDays,
      bundleAwsSdk: config.bundleAwsSdk,
    };
    const shared = {
      [ENV.webhookSecretId]: webhookSecret.envValue,
      [ENV.brokerTimeoutMs]: String(config.brokerTimeoutMs),
      [ENV.dryRun]: String(config.dryRun),
      ...optional(ENV.allowedSourceIps, config.allowedSourceIps),
    };

    this.alor = new BrokerFunction(this, 'AlorFunction', {
      ...common,
      entry: entry('alor'),
      description: 'PPP webhook: limit orders at Alor',
      environment: {
        ...shared,
        [ENV.alorRefreshTokenSecretId]: alorToken.envValue,
        [ENV.alorPortfolioParameter]: config.alorPortfolio.name,
        [ENV.alorExchange]: config.alorExchange,
        ...optional(ENV.alorOauthUrl, config.alorOauthUrl),
        ...optional(ENV.alorApiUrl, config.alorApiUrl),
      },
      readableSecretArns: [webhookSecret.policyArn, alorToken.policyArn],
      readableParameterArns: [alorPortfolio],
    });

    this.tinkoff = new BrokerFunction(this, 'TinkoffFunction', {
      ...common,
      entry: entry('tinkoff'),
      description: 'PPP webhook: limit orders at T-Invest',
      environment: {
        ...shared,
        [ENV.tinkoffTokenSecretId]: tinkoffToken.envValue,
        [ENV.tinkoffAccountIdParameter]: config.tinkoffAccountId.name,
        [ENV.tinkoffApi]: config.tinkoffApi,
        ...optional(ENV.tinkoffApiUrl, config.tinkoffApiUrl),
        ...optional(ENV.tinkoffClassCode, config.tinkoffClassCode),
      },
      readableSecretArns: [webhookSecret.policyArn, tinkoffToken.policyArn],
      readableParameterArns: [tinkoffAccountId],
    });

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
    new CfnOutput(this, 'AccessLogGroup', {
      description: 'API access logs (no query strings, headers or bodies)',
      value: accessLogs.logGroupName,
    });
    new CfnOutput(this, 'WebhookSecretName', {
      description:
        'Secrets Manager secret holding the webhook secret(s); read it with `npm run secrets -- get webhook-secret`',
      value: config.webhookSecret.name,
    });

    this.acknowledgeAcceptedFindings(routes);
  }

  /** Creates the secret, or references an existing one by name (the policy then needs the `-??????` suffix). */
  private secret(id: string, ref: SecretRef, description: string, generateValue: boolean): SecretAccess {
    if (!ref.created) {
      const partialArn = this.formatArn({
        service: 'secretsmanager',
        resource: 'secret',
        resourceName: ref.name,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      return { envValue: ref.name, policyArn: `${partialArn}-??????` };
    }
    if (generateValue) {
      const secret = new Secret(this, id, {
        secretName: ref.name,
        description,
        generateSecretString: { passwordLength: WEBHOOK_SECRET_LENGTH, excludePunctuation: true, includeSpace: false },
        removalPolicy: RemovalPolicy.DESTROY,
      });
      return { envValue: secret.secretArn, policyArn: secret.secretArn };
    }
    // CfnSecret, because the Secret construct always adds a GenerateSecretString.
    const secret = new CfnSecret(this, id, { name: ref.name, description });
    secret.applyRemovalPolicy(RemovalPolicy.DESTROY);
    return { envValue: secret.ref, policyArn: secret.ref };
  }

  /** Creates the parameter when context gives its value; otherwise only its exact ARN is used. */
  private parameter(id: string, ref: ParameterRef, description: string): string {
    if (ref.value !== undefined) {
      const parameter = new StringParameter(this, id, { parameterName: ref.name, stringValue: ref.value, description });
      parameter.applyRemovalPolicy(RemovalPolicy.DESTROY);
    }
    return this.formatArn({ service: 'ssm', resource: 'parameter', resourceName: ref.name.slice(1) });
  }

  /**
   * The cdk-nag findings this stack accepts, each with its reason. (The log-stream wildcard of the execution roles
   * is acknowledged where it is made, in {@link BrokerFunction}.)
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
    for (const fn of [this.alor, this.tinkoff]) {
      Validations.of(fn.function).acknowledge({
        id: 'AwsSolutions-L1',
        reason:
          'The project targets the nodejs22.x runtime on purpose (it is what the functions are built, bundled and tested for: esbuild target node22). Moving to a newer runtime is a deliberate change of BrokerFunction and the bundling target, not a side effect.',
      });
    }
  }
}

function optional(name: string, value: string | undefined): Record<string, string> {
  return value === undefined ? {} : { [name]: value };
}
