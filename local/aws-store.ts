import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { EXTENSION_PARAMETER_PATH, EXTENSION_SECRET_PATH, EXTENSION_TOKEN_HEADER } from '#shared/facts.ts';
import { fromApiGatewayResult, toApiGatewayEvent } from './api-gateway-event.ts';
import { type AttributeValue, applyUpdate, evaluateCondition, type Item } from './dynamodb-expressions.ts';
import { readRequestBody } from './http-body.ts';

/**
 * A local stand-in for the AWS stores the functions use: Secrets Manager `GetSecretValue` and SSM Parameter Store
 * `GetParameter` and `PutParameter` (AWS JSON 1.1), and DynamoDB's `PutItem`, `GetItem`, `DeleteItem` and `UpdateItem`
 * with their condition and update expressions (AWS JSON 1.0; the position lock's table and the day's order counts), spoken as the real SDK v3 clients speak them. It is a loopback
 * `node:http` server with in-memory maps and a request log, for tests and local runs: point the SDK at it with
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER` / `AWS_ENDPOINT_URL_SSM` / `AWS_ENDPOINT_URL_DYNAMODB` (see `env()`). One request is
 * handled at a time, so a conditional write is atomic, as DynamoDB's is.
 *
 * It also answers as the AWS Parameters and Secrets Lambda Extension does on its local port (`GET
 * /secretsmanager/get?secretId=…`, `GET /systemsmanager/parameters/get?name=…`, the session token in a header; an
 * error is a non-200 status with a text body): `extensionEnv()` points a function at it.
 *
 * And SQS's `SendMessage` (AWS JSON 1.0, the MD5 of the body the SDK checks): the messages are kept per queue URL, for
 * a test or the bench to deliver as Lambda's event source would (`AWS_ENDPOINT_URL_SQS`).
 *
 * And, for `npm run preflight -- --deployed`, what a deployed stack adds around its functions: CloudFormation's
 * `DescribeStacks` (the stack's outputs, in the AWS Query protocol), Lambda's `Invoke` of a function by name, and the
 * HTTP API's routes (`POST /alor` → the function behind it, as API Gateway calls it); `env()` points the SDK's
 * CloudFormation and Lambda clients here too.
 *
 * It checks no signature: any credentials do. It never logs a value.
 */

/** A function as Lambda runs it: the event in, the result out (a thrown error is a function error). */
export type LocalFunction = (event: unknown) => Promise<unknown>;

export const GET_SECRET_VALUE = 'secretsmanager.GetSecretValue';
export const GET_PARAMETER = 'AmazonSSM.GetParameter';
export const PUT_ITEM = 'DynamoDB_20120810.PutItem';
export const GET_ITEM = 'DynamoDB_20120810.GetItem';
export const DELETE_ITEM = 'DynamoDB_20120810.DeleteItem';
export const UPDATE_ITEM = 'DynamoDB_20120810.UpdateItem';
export const PUT_PARAMETER = 'AmazonSSM.PutParameter';
export const SEND_MESSAGE = 'AmazonSQS.SendMessage';
export type StoreTarget =
  | typeof GET_SECRET_VALUE
  | typeof GET_PARAMETER
  | typeof PUT_PARAMETER
  | typeof PUT_ITEM
  | typeof GET_ITEM
  | typeof DELETE_ITEM
  | typeof UPDATE_ITEM
  | typeof SEND_MESSAGE;

/** One request as the store received it: which operation, for which secret id or parameter name. */
export interface StoreRequest {
  /** The `X-Amz-Target` header, e.g. `secretsmanager.GetSecretValue`. */
  readonly target: string;
  /** `SecretId`, `Name` or `TableName` from the body (the query, through the extension); empty when absent. */
  readonly id: string;
  /** A DynamoDB item's partition key `pk`, when the request names one. */
  readonly key?: string;
  /** A DynamoDB write's answer: whether its condition held. */
  readonly conditionMet?: boolean;
  /** Whether the read came through the extension's port or the AWS API. */
  readonly via: 'api' | 'extension';
}

export interface FakeAwsStoreOptions {
  /** Initial secrets, by name (a `SecretId` may also be the ARN the fake reports for it). */
  readonly secrets?: Readonly<Record<string, string>>;
  /** Initial parameters, by name. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** DynamoDB tables (partition key `pk`), empty at the start; another table is `ResourceNotFoundException`. */
  readonly tables?: readonly string[];
  /** @default 'eu-central-1' */
  readonly region?: string;
}

export interface FakeAwsStore {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly region: string;
  /** Every request received, in order (at most the latest 10 000). */
  readonly requests: readonly StoreRequest[];
  /** Sets a secret's `SecretString` (`''` is stored as is); `undefined` deletes it (`ResourceNotFoundException`). */
  setSecret(name: string, value: string | undefined): void;
  /** Sets a parameter's value; `undefined` deletes it (`ParameterNotFound`). */
  setParameter(name: string, value: string | undefined): void;
  /** How many requests matched the target and, if given, the secret id / parameter name / table. */
  count(target?: StoreTarget, id?: string): number;
  /** The items of a DynamoDB table, by partition key `pk`. */
  items(table: string): ReadonlyMap<string, Item>;
  /** Puts an item (`pk` among its attributes) as a writer that is not under test does. */
  putItem(table: string, item: Item): void;
  deleteItem(table: string, pk: string): void;
  /** Answer every request with HTTP 500 `InternalServiceError` (or `undefined` to behave again). */
  failWith(type: string | undefined): void;
  /**
   * Never answer the reads of these secret ids and parameter names (`'all'`: every read), through the API and the
   * extension alike: the connection is accepted, the request read and recorded, and nothing comes back. `[]` answers
   * again.
   */
  hang(ids: readonly string[] | 'all'): void;
  resetRequests(): void;
  /** The environment that points the AWS SDK v3 at this store, with dummy credentials and session token. */
  env(): Record<string, string>;
  /** With {@link env}: the environment of a function that has the Parameters and Secrets extension's layer. */
  extensionEnv(): Record<string, string>;
  /**
   * Holds each answer on the extension's port this long, as the real extension does while it calls AWS (its cache
   * off); 0 (the default) answers at once.
   */
  setExtensionLatency(ms: number): void;
  /** The most reads on the extension's port waiting for their answer at the same time, since the last reset. */
  readonly peakExtensionReadsAtOnce: number;
  /** A stack `DescribeStacks` knows, with its outputs; `undefined` removes it ("does not exist"). */
  setStack(name: string, outputs: Readonly<Record<string, string>> | undefined): void;
  /** A function `Invoke` runs by name, and the HTTP API route (`/alor`) that calls it, if any; `undefined` removes it. */
  setFunction(name: string, run: LocalFunction | undefined, route?: string): void;
  /** The events each function was invoked with (by Invoke or through its route), by name. */
  readonly invocations: ReadonlyMap<string, readonly unknown[]>;
  /** SQS messages sent (`SendMessage`) and not yet taken, by queue URL: their bodies and delays. */
  takeMessages(queueUrl: string): { body: string; delaySeconds: number }[];
  close(): Promise<void>;
}

const MAX_REQUEST_BYTES = 64 * 1024;
const MAX_REQUESTS_KEPT = 10_000;
const ACCOUNT = '000000000000';
const JSON_11 = 'application/x-amz-json-1.1';
const JSON_10 = 'application/x-amz-json-1.0';
const DYNAMODB_ERRORS = 'com.amazonaws.dynamodb.v20120810#';
const SESSION_TOKEN = 'fake-session-token';

interface Answer {
  readonly status: number;
  /** An answer on the extension's port: an error goes out as text, not as the API's JSON. */
  readonly extension?: boolean;
  readonly body: Record<string, unknown>;
}

function error(type: string, message: string, status = 400): Answer {
  return { status, body: { __type: type, message } };
}

function field(body: unknown, name: string): string {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : '';
}

export async function startFakeAwsStore(options: FakeAwsStoreOptions = {}): Promise<FakeAwsStore> {
  const region = options.region ?? 'eu-central-1';
  const secrets = new Map(Object.entries(options.secrets ?? {}));
  const parameters = new Map(Object.entries(options.parameters ?? {}));
  const tables = new Map((options.tables ?? []).map((table) => [table, new Map<string, Item>()]));
  const requests: StoreRequest[] = [];
  let failure: string | undefined;
  /** SQS messages by queue URL (`SendMessage`), kept until taken. */
  const queues = new Map<string, { body: string; delaySeconds: number }[]>();
  let hanging: readonly string[] | 'all' = [];
  const hangs = (id: string) => hanging === 'all' || hanging.includes(id);
  const never = new Promise<never>(() => undefined);
  let extensionLatencyMs = 0;
  let extensionReadsWaiting = 0;
  let peakExtensionReadsAtOnce = 0;

  const secretArn = (name: string) => `arn:aws:secretsmanager:${region}:${ACCOUNT}:secret:${name}-AbCdEf`;
  /** A SecretId is a name or the ARN this fake reports for it. */
  const secretName = (secretId: string) => {
    const arn = /^arn:aws:secretsmanager:[^:]+:\d+:secret:(.+)-[A-Za-z0-9]{6}$/.exec(secretId);
    return arn?.[1] ?? secretId;
  };

  const getSecretValue = (secretId: string): Answer => {
    const name = secretName(secretId);
    const value = secrets.get(name);
    if (value === undefined)
      return error('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return {
      status: 200,
      body: {
        ARN: secretArn(name),
        Name: name,
        SecretString: value,
        VersionId: '00000000-0000-4000-8000-000000000001',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: 1_738_664_130,
      },
    };
  };

  const getParameter = (name: string, withDecryption: boolean): Answer => {
    const value = parameters.get(name);
    if (value === undefined) return error('ParameterNotFound', '');
    return {
      status: 200,
      body: {
        Parameter: {
          Name: name,
          Type: withDecryption ? 'SecureString' : 'String',
          Value: value,
          Version: 1,
          ARN: `arn:aws:ssm:${region}:${ACCOUNT}:parameter/${name.replace(/^\//, '')}`,
          DataType: 'text',
          LastModifiedDate: 1_738_664_130,
        },
      },
    };
  };

  /** `PutParameter` of a `String`: a new value, or a changed one with `Overwrite`. */
  const putParameter = (body: Record<string, unknown>): Answer => {
    const name = field(body, 'Name');
    const value = body.Value;
    if (name === '' || typeof value !== 'string' || value === '' || body.Type !== 'String') {
      return error('ValidationException', 'Name, a non-empty Value and Type String are required');
    }
    if (parameters.has(name) && body.Overwrite !== true) {
      return error(
        'ParameterAlreadyExists',
        'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
      );
    }
    parameters.set(name, value);
    return { status: 200, body: { Version: 1, Tier: 'Standard' } };
  };

  const dynamoError = (type: string, message: string): Answer => ({
    status: 400,
    body: { __type: `${DYNAMODB_ERRORS}${type}`, message },
  });

  /**
   * `PutItem`, `GetItem`, `DeleteItem`, `UpdateItem` on a table of partition key `pk`, with a condition where given; a
   * failed condition returns the item as it was when `ReturnValuesOnConditionCheckFailure` is `ALL_OLD`, a write that
   * replaced or changed one returns it (`Attributes`) when `ReturnValues` is `ALL_OLD`.
   */
  const dynamo = (target: string, body: Record<string, unknown>): Answer => {
    const tableName = field(body, 'TableName');
    const table = tables.get(tableName);
    const keyItem = (target === PUT_ITEM ? body.Item : body.Key) as Item | undefined;
    const pk = keyItem?.pk !== undefined && 'S' in keyItem.pk ? keyItem.pk.S : undefined;
    const request: StoreRequest = { target, id: tableName, via: 'api', ...(pk === undefined ? {} : { key: pk }) };
    if (table === undefined) {
      record(request);
      return dynamoError('ResourceNotFoundException', 'Requested resource not found');
    }
    if (pk === undefined) {
      record(request);
      return dynamoError('ValidationException', 'The provided key element does not match the schema');
    }
    if (target === GET_ITEM) {
      record(request);
      const item = table.get(pk);
      return { status: 200, body: item === undefined ? {} : { Item: item } };
    }
    const condition = field(body, 'ConditionExpression');
    let met = true;
    try {
      met =
        condition === '' ||
        evaluateCondition(condition, table.get(pk), {
          names: (body.ExpressionAttributeNames ?? {}) as Record<string, string>,
          values: (body.ExpressionAttributeValues ?? {}) as Record<string, AttributeValue>,
        });
    } catch (problem) {
      record(request);
      return dynamoError('ValidationException', problem instanceof Error ? problem.message : 'invalid expression');
    }
    record({ ...request, conditionMet: met });
    if (!met) {
      const old = table.get(pk);
      const failed = dynamoError('ConditionalCheckFailedException', 'The conditional request failed');
      return body.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && old !== undefined
        ? { ...failed, body: { ...failed.body, Item: old } }
        : failed;
    }
    const before = table.get(pk);
    if (target === PUT_ITEM) table.set(pk, keyItem as Item);
    else if (target === DELETE_ITEM) table.delete(pk);
    else {
      try {
        table.set(
          pk,
          applyUpdate(field(body, 'UpdateExpression'), table.get(pk) ?? { pk: { S: pk } }, {
            names: (body.ExpressionAttributeNames ?? {}) as Record<string, string>,
            values: (body.ExpressionAttributeValues ?? {}) as Record<string, AttributeValue>,
          }),
        );
      } catch (problem) {
        return dynamoError('ValidationException', problem instanceof Error ? problem.message : 'invalid update');
      }
    }
    return { status: 200, body: body.ReturnValues === 'ALL_OLD' && before !== undefined ? { Attributes: before } : {} };
  };

  const record = (request: StoreRequest) => {
    if (requests.length >= MAX_REQUESTS_KEPT) requests.shift();
    requests.push(request);
  };

  /** The extension's answers: the same JSON as the API on success; its errors are a status and a text. */
  const extensionAnswer = (request: IncomingMessage): Answer | undefined => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const secretRead = url.pathname === EXTENSION_SECRET_PATH;
    if (request.method !== 'GET' || (!secretRead && url.pathname !== EXTENSION_PARAMETER_PATH)) return undefined;
    const id = url.searchParams.get(secretRead ? 'secretId' : 'name') ?? '';
    record({ target: secretRead ? GET_SECRET_VALUE : GET_PARAMETER, id, via: 'extension' });
    const read = () => {
      if (request.headers[EXTENSION_TOKEN_HEADER] !== SESSION_TOKEN) return error('Unauthorized', 'no token', 401);
      if (failure !== undefined) return error(failure, 'injected failure', 500);
      return secretRead ? getSecretValue(id) : getParameter(id, url.searchParams.get('withDecryption') === 'true');
    };
    return { ...read(), extension: true };
  };

  const stacks = new Map<string, Readonly<Record<string, string>>>();
  const functions = new Map<string, LocalFunction>();
  const routes = new Map<string, string>();
  const invocations = new Map<string, unknown[]>();
  const run = async (name: string, event: unknown): Promise<unknown> => {
    invocations.set(name, [...(invocations.get(name) ?? []), event]);
    const fn = functions.get(name);
    if (fn === undefined) throw new Error(`no function ${name}`);
    return fn(event);
  };

  /** Lambda `Invoke` (REST JSON): the function's result as the body; a thrown error as an unhandled function error. */
  const invoke = async (name: string, payload: Buffer, response: ServerResponse): Promise<void> => {
    if (!functions.has(name)) {
      response.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' });
      response.end(JSON.stringify({ Type: 'User', Message: `Function not found: ${name}` }));
      return;
    }
    let result: unknown;
    let functionError = false;
    try {
      result = await run(name, payload.byteLength === 0 ? {} : JSON.parse(payload.toString('utf8')));
    } catch (thrown) {
      functionError = true;
      result = { errorType: thrown instanceof Error ? thrown.name : 'Error', errorMessage: 'function error' };
    }
    response.writeHead(200, {
      'content-type': 'application/json',
      'x-amz-executed-version': '$LATEST',
      ...(functionError ? { 'x-amz-function-error': 'Unhandled' } : {}),
    });
    response.end(JSON.stringify(result ?? null));
  };

  /** CloudFormation `DescribeStacks` (AWS Query: a form in, XML out). */
  const describeStacks = (form: URLSearchParams, response: ServerResponse): void => {
    const name = form.get('StackName') ?? '';
    const outputs = stacks.get(name);
    const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const namespace = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
    if (form.get('Action') !== 'DescribeStacks' || outputs === undefined) {
      const message = outputs === undefined ? `Stack with id ${name} does not exist` : 'only DescribeStacks is served';
      response.writeHead(400, { 'content-type': 'text/xml' });
      response.end(
        `<ErrorResponse xmlns="${namespace}"><Error><Type>Sender</Type><Code>ValidationError</Code>` +
          `<Message>${xml(message)}</Message></Error><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>`,
      );
      return;
    }
    const members = Object.entries(outputs)
      .map(
        ([key, value]) => `<member><OutputKey>${xml(key)}</OutputKey><OutputValue>${xml(value)}</OutputValue></member>`,
      )
      .join('');
    response.writeHead(200, { 'content-type': 'text/xml' });
    response.end(
      `<DescribeStacksResponse xmlns="${namespace}"><DescribeStacksResult><Stacks><member>` +
        `<StackName>${xml(name)}</StackName>` +
        `<StackId>arn:aws:cloudformation:${region}:${ACCOUNT}:stack/${xml(name)}/00000000-0000-4000-8000-000000000002</StackId>` +
        `<CreationTime>2025-01-31T10:00:00.000Z</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus>` +
        `<Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult>` +
        `<ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000001</RequestId></ResponseMetadata></DescribeStacksResponse>`,
    );
  };

  /** A route of the HTTP API: the request as API Gateway's event to the function behind it, its result as the answer. */
  const callRoute = async (request: IncomingMessage, body: Buffer, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const name = routes.get(path) ?? '';
    const event = toApiGatewayEvent({
      method: request.method ?? 'POST',
      url: request.url ?? '/',
      headers: request.headersDistinct,
      body,
      routeKey: `POST ${path}`,
    });
    let answer: ReturnType<typeof fromApiGatewayResult>;
    try {
      answer = fromApiGatewayResult((await run(name, event)) as APIGatewayProxyResultV2);
    } catch {
      answer = { statusCode: 500, headers: {}, body: Buffer.from('{"message":"Internal Server Error"}') };
    }
    response.writeHead(answer.statusCode, answer.headers);
    response.end(answer.body);
  };

  /** What the stack around the functions answers: `true` when this request was one of its. */
  const answerAsStack = async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const invokeOf = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(path);
    const isRoute = request.method === 'POST' && routes.has(path);
    const isForm = String(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    if (invokeOf === null && !isRoute && !isForm) return false;
    const raw = await readRequestBody(request, MAX_REQUEST_BYTES);
    const body = raw.tooLarge ? Buffer.alloc(0) : raw.bytes;
    if (invokeOf !== null) await invoke(decodeURIComponent(invokeOf[1] ?? ''), body, response);
    else if (isRoute) await callRoute(request, body, response);
    else describeStacks(new URLSearchParams(body.toString('utf8')), response);
    return true;
  };

  const answer = async (request: IncomingMessage): Promise<Answer> => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const raw = await readRequestBody(request, MAX_REQUEST_BYTES);
    if (raw.tooLarge) return error('SerializationException', 'request too large');
    const throughExtension = extensionAnswer(request);
    if (throughExtension !== undefined && hangs(requests.at(-1)?.id ?? '')) return never;
    if (throughExtension !== undefined) {
      extensionReadsWaiting += 1;
      peakExtensionReadsAtOnce = Math.max(peakExtensionReadsAtOnce, extensionReadsWaiting);
      if (extensionLatencyMs > 0) await new Promise((resolve) => setTimeout(resolve, extensionLatencyMs));
      extensionReadsWaiting -= 1;
      return throughExtension;
    }
    const text = raw.bytes.toString('utf8');
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      return error('SerializationException', 'request body is not JSON');
    }
    if (target === SEND_MESSAGE) {
      const { QueueUrl: queueUrl, MessageBody: messageBody, DelaySeconds: delay } = body as Record<string, unknown>;
      if (typeof queueUrl !== 'string' || typeof messageBody !== 'string') {
        return error('com.amazonaws.sqs#MissingRequiredParameterException', 'QueueUrl and MessageBody are required');
      }
      record({ target, id: queueUrl, via: 'api' });
      if (failure !== undefined) return error(failure, 'injected failure', 500);
      const kept = queues.get(queueUrl) ?? [];
      kept.push({ body: messageBody, delaySeconds: typeof delay === 'number' ? delay : 0 });
      queues.set(queueUrl, kept);
      return {
        status: 200,
        body: { MessageId: randomUUID(), MD5OfMessageBody: createHash('md5').update(messageBody).digest('hex') },
      };
    }
    if (target.startsWith('DynamoDB_20120810.')) {
      if (failure !== undefined) return error(failure, 'injected failure', 500);
      return [PUT_ITEM, GET_ITEM, DELETE_ITEM, UPDATE_ITEM].includes(target)
        ? dynamo(target, body as Record<string, unknown>)
        : error('UnknownOperationException', 'only PutItem, GetItem, DeleteItem and UpdateItem are served');
    }
    const id = target === GET_SECRET_VALUE ? field(body, 'SecretId') : field(body, 'Name');
    record({ target, id, via: 'api' });
    if (hangs(id)) return never;
    if (request.method !== 'POST') return error('UnknownOperationException', 'POST only');
    if (failure !== undefined) return error(failure, 'injected failure', 500);
    if (target === GET_SECRET_VALUE) return getSecretValue(id);
    if (target === GET_PARAMETER) {
      return getParameter(id, (body as { WithDecryption?: unknown }).WithDecryption === true);
    }
    if (target === PUT_PARAMETER) return putParameter(body as Record<string, unknown>);
    return error('UnknownOperationException', 'only GetSecretValue, GetParameter and PutParameter are served');
  };

  // A body left unread (too large) means the connection cannot carry another request: `connection: close`.
  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    if (await answerAsStack(request, response).catch(() => false)) return;
    answer(request)
      .catch(() => error('InternalServiceError', 'fake store failure', 500))
      .then(({ status, body, extension }) => {
        const close = request.complete ? {} : { connection: 'close' };
        if (extension === true && status !== 200) {
          response.writeHead(status, { 'content-type': 'text/plain', ...close });
          response.end(`${String(body.__type)}: ${String(body.message)}`);
          return;
        }
        const type = typeof body.__type === 'string' ? { 'x-amzn-errortype': body.__type } : {};
        const amzTarget = String(request.headers['x-amz-target'] ?? '');
        const dynamoTarget = amzTarget.startsWith('DynamoDB_') || amzTarget.startsWith('AmazonSQS.');
        response.writeHead(status, {
          'content-type': dynamoTarget ? JSON_10 : JSON_11,
          'x-amzn-requestid': '00000000-0000-4000-8000-000000000000',
          ...type,
          ...close,
        });
        response.end(JSON.stringify(body));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    region,
    requests,
    takeMessages: (queueUrl) => {
      const kept = queues.get(queueUrl) ?? [];
      queues.delete(queueUrl);
      return kept;
    },
    setSecret: (name, value) => (value === undefined ? secrets.delete(name) : secrets.set(name, value)),
    setParameter: (name, value) => (value === undefined ? parameters.delete(name) : parameters.set(name, value)),
    count: (target, id) =>
      requests.filter(
        (request) => (target === undefined || request.target === target) && (id === undefined || request.id === id),
      ).length,
    items: (table) => tables.get(table) ?? new Map(),
    putItem: (table, item) => {
      const pk = item.pk;
      if (pk !== undefined && 'S' in pk) tables.get(table)?.set(pk.S, item);
    },
    deleteItem: (table, pk) => {
      tables.get(table)?.delete(pk);
    },
    failWith: (type) => {
      failure = type;
    },
    hang: (ids) => {
      hanging = ids;
    },
    resetRequests: () => {
      requests.length = 0;
      peakExtensionReadsAtOnce = extensionReadsWaiting;
    },
    setExtensionLatency: (ms) => {
      extensionLatencyMs = ms;
    },
    get peakExtensionReadsAtOnce() {
      return peakExtensionReadsAtOnce;
    },
    env: () => ({
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_SESSION_TOKEN: SESSION_TOKEN,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
      AWS_ENDPOINT_URL_SSM: url,
      AWS_ENDPOINT_URL_DYNAMODB: url,
      AWS_ENDPOINT_URL_SQS: url,
      AWS_ENDPOINT_URL_CLOUDFORMATION: url,
      AWS_ENDPOINT_URL_LAMBDA: url,
    }),
    setStack: (name, outputs) => (outputs === undefined ? stacks.delete(name) : stacks.set(name, outputs)),
    setFunction: (name, fn, route) => {
      if (fn === undefined) {
        functions.delete(name);
        for (const [path, target] of routes) if (target === name) routes.delete(path);
        return;
      }
      functions.set(name, fn);
      if (route !== undefined) routes.set(route, name);
    },
    invocations,
    extensionEnv: () => ({ PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(port) }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((closeError) => (closeError ? reject(closeError) : resolve()));
        server.closeAllConnections();
      }),
  };
}
