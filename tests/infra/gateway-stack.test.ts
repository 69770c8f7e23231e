import { Token } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { BROKERS, type Broker } from '#shared/facts.ts';
import { ACCESS_LOG_FIELDS } from '../../infra/gateway-stack.ts';
import { logicalId, synth } from './synth.ts';

/** `arn:${Partition}:<service>:${Region}:${AccountId}:<rest>` as CloudFormation renders it. */
const arn = (service: string, ...rest: unknown[]) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      `:${service}:`,
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      ...rest,
    ],
  ],
});

/** What the Parameters and Secrets extension's binding sets (storeExtension, on by default): its cache off. */
const STORE_EXTENSION_ENV = {
  PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED: 'false',
  PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE: '1000',
  PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '2773',
  PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL: 'warn',
  PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS: '3',
  SECRETS_MANAGER_TIMEOUT_MILLIS: '900',
  SECRETS_MANAGER_TTL: '300',
  SSM_PARAMETER_STORE_TIMEOUT_MILLIS: '900',
  SSM_PARAMETER_STORE_TTL: '300',
};
/** The guards of cdk.json's defaults: the kill switch, the signal's age and the per-order lot limit. */
const GUARD_ENV = {
  KILL_SWITCH_PARAMETER: '/ppp-webhooks/kill-switch',
  KILL_SWITCH_TTL_SECONDS: '5',
  SIGNAL_MAX_AGE_SECONDS: '60',
  MAX_LOTS_PER_ORDER: '1000000',
};
const ALOR_ENV_NAMES = [
  ...Object.keys(STORE_EXTENSION_ENV),
  ...Object.keys(GUARD_ENV),
  'ALOR_EXCHANGE',
  'ALOR_FOLLOW_UP_QUEUE_URL',
  'ALOR_PORTFOLIO_PARAMETER',
  'ALOR_REFRESH_TOKEN_SECRET_ID',
  'BROKER_TIMEOUT_MS',
  'CLOSE_UNPROTECTED',
  'DRY_RUN',
  'POSITION_LOCK_TABLE',
  'WEBHOOK_SECRET_ID',
];
const TINKOFF_ENV_NAMES = [
  ...Object.keys(STORE_EXTENSION_ENV),
  ...Object.keys(GUARD_ENV),
  'BROKER_TIMEOUT_MS',
  'CLOSE_UNPROTECTED',
  'DRY_RUN',
  'POSITION_LOCK_TABLE',
  'TINKOFF_ACCOUNT_ID_PARAMETER',
  'TINKOFF_API',
  'TINKOFF_FOLLOW_UP_QUEUE_URL',
  'TINKOFF_TOKEN_SECRET_ID',
  'WEBHOOK_SECRET_ID',
];

/** What a protected entry's watch is queued with (docs/contract.md#protection): the broker's follow-up queue, named ahead. */
const queueUrl = (name: string) => ({
  'Fn::Join': [
    '',
    [
      'https://sqs.',
      { Ref: 'AWS::Region' },
      '.',
      { Ref: 'AWS::URLSuffix' },
      '/',
      { Ref: 'AWS::AccountId' },
      `/${name}`,
    ],
  ],
});

function functionProps(built: ReturnType<typeof synth>, broker: Broker) {
  const id = logicalId(built.stack, built.stack[broker].function);
  const resource = built.template.toJSON().Resources[id];
  expect(resource?.Type).toBe('AWS::Lambda::Function');
  return resource.Properties;
}

function rolePolicies(built: ReturnType<typeof synth>, broker: Broker) {
  const id = logicalId(built.stack, built.stack[broker].role);
  const resource = built.template.toJSON().Resources[id];
  expect(resource?.Type).toBe('AWS::IAM::Role');
  return resource.Properties;
}

describe('GatewayStack with the defaults of cdk.json', () => {
  const built = synth();
  const { template, stack } = built;

  it('runs one arm64 function per broker with 512 MB and a 10 s timeout (its runtime: tests/infra/runtime.test.ts)', () => {
    template.resourceCountIs('AWS::Lambda::Function', 2);
    for (const broker of ['alor', 'tinkoff'] as const) {
      expect(functionProps(built, broker)).toMatchObject({
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 512,
        Timeout: 10,
      });
    }
  });

  it('gives each function its own log group with 30-day retention, and the stage an access-log group', () => {
    template.resourceCountIs('AWS::Logs::LogGroup', 3);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    for (const broker of ['alor', 'tinkoff'] as const) {
      expect(functionProps(built, broker).LoggingConfig).toEqual({
        LogGroup: { Ref: logicalId(stack, stack[broker].logGroup) },
      });
    }
  });

  it('exposes exactly POST /alor and POST /tinkoff on one HTTP API, as Lambda proxy integrations with payload 2.0', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    const routeKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (route) => route.Properties.RouteKey,
    );
    expect(routeKeys.sort()).toEqual(['POST /alor', 'POST /tinkoff']);
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', 2);
    template.allResourcesProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
    for (const [broker, path] of [
      ['alor', '/alor'],
      ['tinkoff', '/tinkoff'],
    ] as const) {
      template.hasResourceProperties('AWS::Lambda::Permission', {
        FunctionName: { 'Fn::GetAtt': [logicalId(stack, stack[broker].function), 'Arn'] },
        Principal: 'apigateway.amazonaws.com',
        SourceArn: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([`/*/*${path}`])] }),
      });
    }
  });

  it('throttles the $default stage at 10 requests/s with a burst of 20', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
    });
  });

  it('writes JSON access logs with the path and route but never the query string, headers or body', () => {
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    const settings = stage?.Properties.AccessLogSettings;
    expect(settings.DestinationArn).toEqual({
      'Fn::GetAtt': [logicalId(stack, stack.node.findChild('AccessLogs')), 'Arn'],
    });

    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format).toEqual(ACCESS_LOG_FIELDS);
    expect(format).toMatchObject({
      path: '$context.path',
      routeKey: '$context.routeKey',
      requestId: '$context.requestId',
    });
    expect(settings.Format).not.toMatch(/requestOverride|querystring|rawQueryString|queryString|header|body|\$input/i);
    expect(stage?.Properties.DefaultRouteSettings?.DataTraceEnabled).toBeUndefined();
  });

  it('passes each function only its own broker variables plus the webhook secret id', () => {
    expect(Object.keys(functionProps(built, 'alor').Environment.Variables).sort()).toEqual(ALOR_ENV_NAMES.sort());
    expect(Object.keys(functionProps(built, 'tinkoff').Environment.Variables).sort()).toEqual(TINKOFF_ENV_NAMES.sort());
  });

  it('sets the documented defaults and passes secrets by ARN and parameters by name', () => {
    expect(functionProps(built, 'alor').Environment.Variables).toEqual({
      WEBHOOK_SECRET_ID: { Ref: logicalId(stack, stack.node.findChild('WebhookSecret')) },
      ALOR_REFRESH_TOKEN_SECRET_ID: { Ref: 'AlorRefreshToken' },
      ALOR_PORTFOLIO_PARAMETER: '/ppp-webhooks/alor/portfolio',
      ALOR_EXCHANGE: 'SPBX',
      ALOR_FOLLOW_UP_QUEUE_URL: queueUrl('PppWebhooks-AlorFollowUp'),
      BROKER_TIMEOUT_MS: '2500',
      CLOSE_UNPROTECTED: 'true',
      DRY_RUN: 'false',
      POSITION_LOCK_TABLE: { Ref: logicalId(stack, stack.positionLocks) },
      ...GUARD_ENV,
      ...STORE_EXTENSION_ENV,
    });
    expect(functionProps(built, 'tinkoff').Environment.Variables).toEqual({
      WEBHOOK_SECRET_ID: { Ref: logicalId(stack, stack.node.findChild('WebhookSecret')) },
      TINKOFF_TOKEN_SECRET_ID: { Ref: 'TinkoffToken' },
      TINKOFF_ACCOUNT_ID_PARAMETER: '/ppp-webhooks/tinkoff/account-id',
      TINKOFF_API: 'v2',
      BROKER_TIMEOUT_MS: '2500',
      CLOSE_UNPROTECTED: 'true',
      DRY_RUN: 'false',
      POSITION_LOCK_TABLE: { Ref: logicalId(stack, stack.positionLocks) },
      TINKOFF_FOLLOW_UP_QUEUE_URL: queueUrl('PppWebhooks-TinkoffFollowUp'),
      ...GUARD_ENV,
      ...STORE_EXTENSION_ENV,
    });
  });

  it('gives both webhook functions the AWS Parameters and Secrets extension layer, and only them', () => {
    for (const broker of BROKERS) {
      const layers = functionProps(built, broker).Layers;
      expect(layers).toHaveLength(1);
      expect(JSON.stringify(layers)).toMatch(/Paramsandsecrets/i);
    }
    const withLayers = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (resource) => resource.Properties.Layers !== undefined,
    );
    expect(withLayers).toHaveLength(2);
  });

  it('reads the store with the SDK and adds no layer with storeExtension false', () => {
    const without = synth({ storeExtension: false });
    for (const broker of BROKERS) {
      const props = functionProps(without, broker);
      expect(props.Layers).toBeUndefined();
      expect(Object.keys(props.Environment.Variables).filter((name) => name.includes('SECRETS_'))).toEqual([]);
    }
  });

  it('creates the broker token secrets without any value and the webhook secret with a generated one', () => {
    const webhookSecretId = logicalId(stack, stack.node.findChild('WebhookSecret'));
    const secrets = template.findResources('AWS::SecretsManager::Secret');
    expect(Object.keys(secrets).sort()).toEqual(['AlorRefreshToken', 'TinkoffToken', webhookSecretId].sort());
    expect(secrets.AlorRefreshToken?.Properties).toEqual({
      Name: 'ppp-webhooks/alor/refresh-token',
      Description: 'Alor Open API refresh token',
    });
    expect(secrets.TinkoffToken?.Properties).toEqual({
      Name: 'ppp-webhooks/tinkoff/token',
      Description: 'T-Invest API trading token',
    });
    expect(secrets[webhookSecretId]?.Properties).toEqual({
      Name: 'ppp-webhooks/webhook-secret',
      Description: 'Shared secret(s) of the PPP webhooks, one per line',
      GenerateSecretString: { PasswordLength: 40, ExcludePunctuation: true, IncludeSpace: false },
    });
  });

  it('creates no SSM parameter when context gives no portfolio or account id (the secrets script creates them)', () => {
    template.resourceCountIs('AWS::SSM::Parameter', 0);
  });

  it.each([
    { broker: 'alor', role: 'Alor', token: 'AlorRefreshToken', parameter: 'ppp-webhooks/alor/portfolio' },
    { broker: 'tinkoff', role: 'Tinkoff', token: 'TinkoffToken', parameter: 'ppp-webhooks/tinkoff/account-id' },
  ] as const)(
    'grants the $role role exactly its own log streams, two secrets, its parameter, the kill switch, its own locks and its watch queue',
    (row) => {
      const logGroup = logicalId(stack, stack[row.broker].logGroup);
      const webhookSecret = logicalId(stack, stack.node.findChild('WebhookSecret'));
      expect(rolePolicies(built, row.broker)).toMatchObject({ Policies: expect.any(Array) });
      expect(rolePolicies(built, row.broker).ManagedPolicyArns).toBeUndefined();
      expect(rolePolicies(built, row.broker).Policies).toEqual([
        {
          PolicyName: 'LeastPrivilege',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'WriteOwnLogs',
                Effect: 'Allow',
                Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
                Resource: arn('logs', ':log-group:', { Ref: logGroup }, ':log-stream:*'),
              },
              {
                Sid: 'ReadOwnSecrets',
                Effect: 'Allow',
                Action: 'secretsmanager:GetSecretValue',
                Resource: [{ Ref: row.token }, { Ref: webhookSecret }],
              },
              {
                Sid: 'ReadOwnParameters',
                Effect: 'Allow',
                Action: 'ssm:GetParameter',
                // CDK's policy minimizing sorts the resources.
                Resource: [row.parameter, 'ppp-webhooks/kill-switch']
                  .sort()
                  .map((name) => arn('ssm', `:parameter/${name}`)),
              },
              {
                Sid: 'LockPositions',
                Effect: 'Allow',
                Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
                Resource: { 'Fn::GetAtt': [logicalId(stack, stack.positionLocks), 'Arn'] },
                Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${row.broker}#*`] } },
              },
              {
                Sid: 'QueueProtectionWatch',
                Effect: 'Allow',
                Action: 'sqs:SendMessage',
                Resource: arn('sqs', `:PppWebhooks-${row.role}FollowUp`),
              },
            ],
          },
        },
      ]);
    },
  );

  it('has no IAM principal other than the two execution roles, and no separate or managed policies', () => {
    template.resourceCountIs('AWS::IAM::Role', 2);
    template.resourceCountIs('AWS::IAM::Policy', 0);
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    template.resourceCountIs('AWS::IAM::User', 0);
    template.allResourcesProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
      },
    });
  });

  it('outputs the two webhook URLs, the name of the webhook secret and the log groups', () => {
    const api = logicalId(stack, stack.api);
    const url = (path: string) => ({
      'Fn::Join': [
        '',
        ['https://', { Ref: api }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, path],
      ],
    });
    template.hasOutput('AlorWebhookUrl', { Value: url('/alor') });
    template.hasOutput('TinkoffWebhookUrl', { Value: url('/tinkoff') });
    template.hasOutput('WebhookSecretName', { Value: 'ppp-webhooks/webhook-secret' });
    template.hasOutput('AlorLogGroup', { Value: { Ref: logicalId(stack, stack.alor.logGroup) } });
    template.hasOutput('TinkoffLogGroup', { Value: { Ref: logicalId(stack, stack.tinkoff.logGroup) } });
    template.hasOutput('AccessLogGroup', { Value: { Ref: logicalId(stack, stack.node.findChild('AccessLogs')) } });
    template.hasOutput('AlorFunctionName', { Value: { Ref: logicalId(stack, stack.alor.function) } });
    template.hasOutput('TinkoffFunctionName', { Value: { Ref: logicalId(stack, stack.tinkoff.function) } });
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual([
      'AccessLogGroup',
      'AlorFunctionName',
      'AlorLogGroup',
      'AlorWebhookUrl',
      'TinkoffFunctionName',
      'TinkoffLogGroup',
      'TinkoffWebhookUrl',
      'WebhookSecretName',
    ]);
  });

  it("lets only API Gateway invoke the webhooks: the preflight's self-test is a direct Invoke with the trader's credentials", () => {
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')) as {
      Properties: { Principal: string; Action: string };
    }[];
    expect(permissions.map((permission) => permission.Properties.Principal)).toEqual([
      'apigateway.amazonaws.com',
      'apigateway.amazonaws.com',
    ]);
  });
});

describe('GatewayStack configured through context', () => {
  it('imports existing secrets by name, passing the name and granting the name followed by "-??????"', () => {
    const built = synth({
      webhookSecretName: 'shared/webhook',
      alorRefreshTokenSecretName: 'brokers/alor',
      tinkoffTokenSecretName: 'brokers/tinkoff',
    });
    built.template.resourceCountIs('AWS::SecretsManager::Secret', 0);

    const alor = functionProps(built, 'alor').Environment.Variables;
    expect(alor).toMatchObject({ WEBHOOK_SECRET_ID: 'shared/webhook', ALOR_REFRESH_TOKEN_SECRET_ID: 'brokers/alor' });
    const tinkoff = functionProps(built, 'tinkoff').Environment.Variables;
    expect(tinkoff).toMatchObject({ WEBHOOK_SECRET_ID: 'shared/webhook', TINKOFF_TOKEN_SECRET_ID: 'brokers/tinkoff' });

    const statement = (broker: Broker) =>
      rolePolicies(built, broker).Policies[0].PolicyDocument.Statement.find(
        (s: { Sid: string }) => s.Sid === 'ReadOwnSecrets',
      );
    expect(statement('alor').Resource).toEqual([
      arn('secretsmanager', ':secret:brokers/alor-??????'),
      arn('secretsmanager', ':secret:shared/webhook-??????'),
    ]);
    expect(statement('tinkoff').Resource).toEqual([
      arn('secretsmanager', ':secret:brokers/tinkoff-??????'),
      arn('secretsmanager', ':secret:shared/webhook-??????'),
    ]);
  });

  it('adds no schedule by default: keep-warm is off', () => {
    synth().template.resourceCountIs('AWS::Events::Rule', 0);
  });

  it('invokes both functions on the keepWarmMinutes schedule through EventBridge, never through the API', () => {
    const { stack, template } = synth({ keepWarmMinutes: 5 });
    const ruleId = logicalId(stack, stack.node.findChild('KeepWarm'));
    const functionArn = (fn: 'alor' | 'tinkoff') => ({
      'Fn::GetAtt': [logicalId(stack, stack[fn].function), 'Arn'],
    });

    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({ Arn: functionArn('alor'), RetryPolicy: { MaximumRetryAttempts: 0 } }),
        Match.objectLike({ Arn: functionArn('tinkoff'), RetryPolicy: { MaximumRetryAttempts: 0 } }),
      ],
    });
    for (const fn of ['alor', 'tinkoff'] as const) {
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: functionArn(fn),
        Principal: 'events.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
      });
    }
  });

  it('creates the portfolio and account parameters as String parameters when context gives their values', () => {
    const { template } = synth({ alorPortfolio: 'D71111', tinkoffAccountId: '2000123456' });
    template.resourceCountIs('AWS::SSM::Parameter', 2);
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/ppp-webhooks/alor/portfolio',
      Type: 'String',
      Value: 'D71111',
    });
    template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/ppp-webhooks/tinkoff/account-id',
      Type: 'String',
      Value: '2000123456',
    });
  });

  it('derives every secret and parameter name from resourcePrefix', () => {
    const built = synth({ resourcePrefix: 'paper' });
    const names = Object.values(built.template.findResources('AWS::SecretsManager::Secret'))
      .map((secret) => secret.Properties.Name)
      .sort();
    expect(names).toEqual(['paper/alor/refresh-token', 'paper/tinkoff/token', 'paper/webhook-secret']);
    expect(functionProps(built, 'alor').Environment.Variables.ALOR_PORTFOLIO_PARAMETER).toBe('/paper/alor/portfolio');
    expect(functionProps(built, 'tinkoff').Environment.Variables.TINKOFF_ACCOUNT_ID_PARAMETER).toBe(
      '/paper/tinkoff/account-id',
    );
  });

  it('passes broker settings, the optional URLs and function sizing from context', () => {
    const built = synth({
      alorExchange: 'MOEX',
      alorOauthUrl: 'https://oauthdev.alor.ru',
      alorApiUrl: 'https://apidev.alor.ru',
      tinkoffApi: 'v1',
      tinkoffApiUrl: 'https://sandbox-invest-public-api.tbank.ru/rest',
      tinkoffClassCode: 'TQTF',
      brokerTimeoutMs: '2000',
      dryRun: 'true',
      memorySize: 1024,
      timeoutSeconds: 15,
      throttlingRateLimit: 2,
      throttlingBurstLimit: 4,
      logRetentionDays: 7,
    });
    expect(functionProps(built, 'alor')).toMatchObject({
      MemorySize: 1024,
      Timeout: 15,
      Environment: {
        Variables: {
          ALOR_EXCHANGE: 'MOEX',
          ALOR_OAUTH_URL: 'https://oauthdev.alor.ru',
          ALOR_API_URL: 'https://apidev.alor.ru',
          BROKER_TIMEOUT_MS: '2000',
          DRY_RUN: 'true',
        },
      },
    });
    expect(functionProps(built, 'tinkoff').Environment.Variables).toMatchObject({
      TINKOFF_API: 'v1',
      TINKOFF_API_URL: 'https://sandbox-invest-public-api.tbank.ru/rest',
      TINKOFF_CLASS_CODE: 'TQTF',
    });
    expect(Object.keys(functionProps(built, 'tinkoff').Environment.Variables)).not.toContain('ALOR_API_URL');
    built.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 2, ThrottlingBurstLimit: 4 },
    });
    built.template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  it('passes the source allow-list to both functions, as the context lists it', () => {
    const built = synth({ allowedSourceIps: ['tradingview', '203.0.113.0/24'] });

    for (const broker of ['alor', 'tinkoff'] as const) {
      expect(functionProps(built, broker).Environment.Variables.ALLOWED_SOURCE_IPS).toBe('tradingview,203.0.113.0/24');
    }
  });

  it('is environment-agnostic unless context names an account and region', () => {
    const agnostic = synth().stack;
    expect([Token.isUnresolved(agnostic.account), Token.isUnresolved(agnostic.region)]).toEqual([true, true]);
    const pinned = synth({ account: '123456789012', region: 'eu-central-1' });
    expect([pinned.stack.account, pinned.stack.region]).toEqual(['123456789012', 'eu-central-1']);
  });
});
