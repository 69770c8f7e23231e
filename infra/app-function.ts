import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { Effect, PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  Architecture,
  ParamsAndSecretsLayerVersion,
  ParamsAndSecretsLogLevel,
  ParamsAndSecretsVersions,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { type CfnLogGroup, LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS, STORE_EXTENSION_READ_TIMEOUT_MS } from '../shared/facts.ts';
import { cdkBundlingOptions, LAMBDA_RUNTIME } from './bundling.ts';

/** Root of the repository: where `package.json` and `package-lock.json` live. */
const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface AppFunctionProps {
  /**
   * Absolute path of the handler module; it must export an async `handler` (a webhook's takes API Gateway HTTP API
   * payload 2.0 events; the notifier's and the follow-ups' their SNS, CloudWatch Logs and SQS events).
   */
  readonly entry: string;

  /**
   * Environment variables of the function: settings and the NAMES/ARNs of secrets and parameters, never a secret
   * value.
   */
  readonly environment: Readonly<Record<string, string>>;

  /**
   * Secrets the function may read with `secretsmanager:GetSecretValue`: exact secret ARNs, or, for a secret
   * imported by name, its ARN followed by `-??????` (Secrets Manager appends six random characters to the name).
   */
  readonly readableSecretArns: readonly string[];

  /**
   * SSM parameters the function may read with `ssm:GetParameter`, as exact parameter ARNs.
   * @default - none
   */
  readonly readableParameterArns?: readonly string[];

  /**
   * Memory in MB. CPU is allotted in proportion, so more memory also means a faster cold start.
   * @default 512
   */
  readonly memorySize?: number;

  /**
   * Function timeout; must be below API Gateway's 30 s integration timeout so the caller gets the function's answer.
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;

  /**
   * Retention of the function's log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;

  /**
   * Bundle the AWS SDK v3 into the asset (`true`) or leave `@aws-sdk/*` and `@smithy/*` external and use the copy
   * the Lambda runtime ships (`false`).
   * @default true
   */
  readonly bundleAwsSdk?: boolean;

  /**
   * Read the secrets and parameters through the AWS Parameters and Secrets Lambda Extension (an AWS-managed layer on
   * localhost) instead of the AWS SDK, which is then only the fallback for what the extension does not answer and is
   * left external (the runtime's copy), so a cold start never loads it (docs/performance.md#store-reads). Overrides
   * `bundleAwsSdk`.
   * @default false
   */
  readonly storeExtension?: boolean;

  /**
   * Description of the function.
   * @default - no description
   */
  readonly description?: string;

  /**
   * Whether API Gateway calls the function, which caps its timeout below the 30 s integration timeout.
   * @default true
   */
  readonly apiGateway?: boolean;

  /**
   * More that the role may do (queues, tables), each on exact resources.
   * @default - none
   */
  readonly statements?: readonly PolicyStatement[];

  /**
   * Where an asynchronous invocation goes after Lambda's two retries failed.
   * @default - none
   */
  readonly deadLetterQueue?: IQueue;
}

/**
 * One function of the project (a broker webhook, the notifier, a follow-up) with all project defaults: the project's
 * runtime (`LAMBDA_RUNTIME`, `infra/bundling.ts`) on arm64, ESM bundle (minified, its source map beside it, not read
 * at run time), an explicit log group with a retention period, and an execution role that may do exactly this: write
 * to its own log group, read the listed secrets, read the listed parameters, and the listed statements (queues, a
 * table) on exact resources.
 *
 * The role is built here instead of letting Lambda attach the managed `AWSLambdaBasicExecutionRole` (which may
 * create and write any log group in the account).
 */
export class AppFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    super(scope, id);

    const memorySize = props.memorySize ?? 512;
    const timeout = props.timeout ?? Duration.seconds(10);
    validate(this.node.path, props, memorySize, timeout);

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      // Logs are diagnostics of a stack that can be removed and redeployed at will; they go with it.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Lambda names its log streams at run time (`2025/01/31/[$LATEST]…`), so the stream part is the one
    // unavoidable wildcard; the log group itself is exact.
    const logStreams = Stack.of(this).formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${this.logGroup.logGroupName}:log-stream:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    const statements = [
      new PolicyStatement({
        sid: 'WriteOwnLogs',
        effect: Effect.ALLOW,
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logStreams],
      }),
      new PolicyStatement({
        sid: 'ReadOwnSecrets',
        effect: Effect.ALLOW,
        actions: ['secretsmanager:GetSecretValue'],
        resources: [...props.readableSecretArns],
      }),
    ];
    if (props.readableParameterArns !== undefined && props.readableParameterArns.length > 0) {
      statements.push(
        new PolicyStatement({
          sid: 'ReadOwnParameters',
          effect: Effect.ALLOW,
          actions: ['ssm:GetParameter'],
          resources: [...props.readableParameterArns],
        }),
      );
    }

    statements.push(...(props.statements ?? []));
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${this.node.path}: own logs, own secrets and parameters, nothing else`,
      inlinePolicies: { LeastPrivilege: new PolicyDocument({ statements }) },
    });
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArnPattern(Stack.of(this), this.logGroup)}]`,
      reason:
        "Lambda creates its log streams with names chosen at run time, so only the stream part of the ARN is a wildcard; the log group is this function's own, exact group, and the actions are only CreateLogStream and PutLogEvents.",
    });

    const storeExtension = props.storeExtension ?? false;
    const bundleAwsSdk = !storeExtension && (props.bundleAwsSdk ?? true);
    this.function = new NodejsFunction(this, 'Handler', {
      entry: props.entry,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize,
      timeout,
      role: this.role,
      logGroup: this.logGroup,
      // X-Ray would need xray:PutTraceSegments on "*"; the access log and function logs carry the request id instead.
      tracing: Tracing.DISABLED,
      description: props.description,
      // No `--enable-source-maps`: reading the map slows every cold start (docs/performance.md#alternatives-tried), and no
      // log line carries a stack trace; the map ships in the asset for the rare init failure worth mapping.
      environment: props.environment,
      bundling: cdkBundlingOptions({ bundleAwsSdk }),
      ...(storeExtension ? { paramsAndSecrets: storeExtensionLayer() } : {}),
      ...(props.deadLetterQueue === undefined ? {} : { deadLetterQueue: props.deadLetterQueue, retryAttempts: 2 }),
    });
  }
}

/** How long the extension waits for Secrets Manager or SSM: under the function's own wait for it, then the SDK's turn. */
const STORE_EXTENSION_AWS_TIMEOUT_MS = STORE_EXTENSION_READ_TIMEOUT_MS - 100;

/**
 * The extension with its cache off: the function keeps its own cache (`SECRETS_CACHE_TTL_MS`, the stale-on-error
 * rule), and a second cache behind it would delay a rotated secret by up to another TTL.
 */
function storeExtensionLayer(): ParamsAndSecretsLayerVersion {
  return ParamsAndSecretsLayerVersion.fromVersion(ParamsAndSecretsVersions.V1_0_103, {
    cacheEnabled: false,
    logLevel: ParamsAndSecretsLogLevel.WARN,
    secretsManagerTimeout: Duration.millis(STORE_EXTENSION_AWS_TIMEOUT_MS),
    parameterStoreTimeout: Duration.millis(STORE_EXTENSION_AWS_TIMEOUT_MS),
  });
}

/**
 * The log-stream ARN as cdk-nag spells it in a finding id: pseudo parameters as `<AWS::Region>` (or their value when
 * the stack's environment is known), references as `<LogicalId>`.
 */
function nagArnPattern(stack: Stack, logGroup: LogGroup): string {
  const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
  const logGroupId = stack.getLogicalId(logGroup.node.defaultChild as CfnLogGroup);
  return `arn:${shown(stack.partition, 'Partition')}:logs:${shown(stack.region, 'Region')}:${shown(stack.account, 'AccountId')}:log-group:<${logGroupId}>:log-stream:*`;
}

function validate(path: string, props: AppFunctionProps, memorySize: number, timeout: Duration): void {
  if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10_240) {
    throw new Error(`${path}: memorySize must be an integer from 128 to 10240 MB; got ${memorySize}`);
  }
  if ((props.apiGateway ?? true) && timeout.toSeconds() >= API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS) {
    throw new Error(
      `${path}: timeout must be below the API Gateway integration timeout of ${API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS} s; got ${timeout.toSeconds()} s`,
    );
  }
  if (props.readableSecretArns.length === 0) {
    throw new Error(`${path}: readableSecretArns must name at least the webhook secret`);
  }
  const resources = [...props.readableSecretArns, ...(props.readableParameterArns ?? [])];
  const wildcard = resources.find((arn) => arn.includes('*'));
  if (wildcard !== undefined) {
    throw new Error(`${path}: secret and parameter ARNs must be exact, without "*"; got "${wildcard}"`);
  }
}
