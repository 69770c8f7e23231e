import type { Dispatcher } from 'undici';
import {
  createKeepAliveAgent,
  dispatchForText,
  type HttpResponse,
  isTransientTransportFailure,
} from '../http/outbound/client.ts';
import { type AwsCredentials, JsonRequestSigner } from './sigv4.ts';

/**
 * The position lock's table as its users reach it (the leases, the day's order count): DynamoDB's JSON API called over
 * undici with a signed request (shared/lock/sigv4.ts), rather than through the AWS SDK's client, whose own work per call
 * is about a millisecond on a signal's path (docs/performance.md#target-position). It makes the three writes the lock
 * and the count need, with the SDK's defaults where they matter: the credentials, the region and the endpoint from the
 * environment (Lambda's, or `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL` for the fake store), one retry of a call
 * that failed on the way or was throttled, each attempt bounded (1 s) within the caller's signal.
 */

/**
 * A DynamoDB attribute value as the JSON protocol carries it: `{ "S": "…" }`, `{ "N": "12" }`, `{ "SS": ["…"] }`,
 * `{ "BOOL": true }` (the fake store's expressions read the same, local/dynamodb-expressions.ts).
 */
export type AttributeValue =
  | { readonly S: string }
  | { readonly N: string }
  | { readonly SS: readonly string[] }
  | { readonly BOOL: boolean };
export type Item = Readonly<Record<string, AttributeValue>>;

export type DynamoOperation = 'PutItem' | 'UpdateItem';

/** What a write sends: the operation's documented input (TableName, Key or Item, expressions…). */
export type DynamoInput = Readonly<Record<string, unknown>>;

/** A write's answer: the item as it was, when asked for (`ReturnValues: ALL_OLD`) and there was one. */
export interface DynamoOutput {
  readonly Attributes?: Item;
}

/**
 * DynamoDB refused the call: `name` is its error type as the SDK names it (`ConditionalCheckFailedException`), `item`
 * the item as it was when a failed condition asked for it (`ReturnValuesOnConditionCheckFailure: ALL_OLD`).
 */
export class DynamoDbError extends Error {
  override readonly name: string;
  readonly statusCode: number;
  readonly item: Item | undefined;

  constructor(type: string, statusCode: number, item?: Item) {
    super(`DynamoDB ${type} (HTTP ${statusCode})`);
    this.name = type;
    this.statusCode = statusCode;
    this.item = item;
  }
}

/** A conditional write whose condition did not hold. */
export function isConditionFailed(error: unknown): error is DynamoDbError {
  return error instanceof DynamoDbError && error.name === 'ConditionalCheckFailedException';
}

/** An attempt's answer is waited for this long at most (the SDK client's request timeout was the same). */
const ATTEMPT_TIMEOUT_MS = 1000;
/** Error types DynamoDB documents as worth a retry, beside any 5xx. */
const RETRIED_TYPES = new Set([
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'ThrottlingException',
  'LimitExceededException',
]);
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';

/** Where the client calls and as whom: Lambda's environment, which stays as it is for a container's life. */
interface Target {
  readonly url: URL;
  readonly region: string;
  readonly credentials: AwsCredentials;
}

function environment(env: NodeJS.ProcessEnv): Target {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (region === undefined || accessKeyId === undefined || secretAccessKey === undefined) {
    throw new DynamoDbError('MissingCredentials', 0);
  }
  const endpoint = env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL ?? `https://dynamodb.${region}.amazonaws.com`;
  return {
    url: new URL(endpoint),
    region,
    credentials: { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN },
  };
}

function parsed(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** DynamoDB's error answer: `{"__type": "com.amazonaws.dynamodb.v20120810#Type", "message": …, "Item": …}`. */
function errorOf(response: HttpResponse): DynamoDbError {
  const body = parsed(response.text);
  const type = typeof body.__type === 'string' ? (body.__type.split('#').at(-1) ?? '') : '';
  return new DynamoDbError(type || `HTTP${response.statusCode}`, response.statusCode, body.Item as Item | undefined);
}

/** Every write here is conditional on its own holder or key, so a resend after a break changes nothing more. */
function mayRetry(error: unknown): boolean {
  if (error instanceof DynamoDbError) return error.statusCode >= 500 || RETRIED_TYPES.has(error.name);
  return isTransientTransportFailure(error);
}

export class DynamoDbClient {
  readonly #env: NodeJS.ProcessEnv;
  /** Read from the environment at the first call that finds it complete. */
  #target: Target | undefined;
  readonly #signer = new JsonRequestSigner();
  readonly #now: () => number;
  #dispatcher: Dispatcher | undefined;

  constructor(options: { env?: NodeJS.ProcessEnv; now?: () => number } = {}) {
    this.#env = options.env ?? process.env;
    this.#now = options.now ?? Date.now;
  }

  /** One write, retried once when that may help, ended by `signal`. */
  async send(
    operation: DynamoOperation,
    input: DynamoInput,
    signal: AbortSignal,
    onWritten?: () => void,
  ): Promise<DynamoOutput> {
    try {
      return await this.#attempt(operation, input, signal, onWritten);
    } catch (error) {
      if (signal.aborted || !mayRetry(error)) throw error;
      return this.#attempt(operation, input, signal);
    }
  }

  /**
   * A write sent without waiting for its answer: resolves once it is written to the connection, and rejects only when
   * it failed before that. Its answer, and the retry it may need, follow in the background (in a later invocation if
   * Lambda freezes the container first); their failures are dropped.
   */
  post(operation: DynamoOperation, input: DynamoInput, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      this.send(operation, input, signal, resolve).then(() => resolve(), reject);
    });
  }

  async #attempt(
    operation: DynamoOperation,
    input: DynamoInput,
    signal: AbortSignal,
    onWritten?: () => void,
  ): Promise<DynamoOutput> {
    this.#target ??= environment(this.#env);
    const { url, region, credentials } = this.#target;
    const body = JSON.stringify(input);
    const { headers } = this.#signer.sign({
      url,
      target: `DynamoDB_20120810.${operation}`,
      contentType: JSON_CONTENT_TYPE,
      body,
      region,
      service: 'dynamodb',
      credentials,
      now: this.#now(),
    });
    this.#dispatcher ??= createKeepAliveAgent();
    const response = await dispatchForText(
      this.#dispatcher,
      {
        origin: url.origin,
        path: url.pathname || '/',
        method: 'POST',
        headers,
        body,
        headersTimeout: ATTEMPT_TIMEOUT_MS,
        bodyTimeout: ATTEMPT_TIMEOUT_MS,
      },
      AbortSignal.any([signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
      onWritten,
    );
    if (response.statusCode !== 200) throw errorOf(response);
    return parsed(response.text) as DynamoOutput;
  }
}
