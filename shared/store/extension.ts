import type { Agent, Dispatcher } from 'undici';
import UndiciAgent from 'undici/lib/dispatcher/agent.js';
import { describeError } from '../errors.ts';
import {
  EXTENSION_PARAMETER_PATH,
  EXTENSION_SECRET_PATH,
  EXTENSION_TOKEN_HEADER,
  STORE_EXTENSION_READ_TIMEOUT_MS,
} from '../facts.ts';
import { endpoint, parseJsonText, sendHttpRequest } from '../http/outbound/client.ts';
import { createDeadline } from '../http/outbound/deadline.ts';
import { logger } from '../logging.ts';
import * as z from '../zod.ts';

/**
 * The AWS Parameters and Secrets Lambda Extension: a layer whose local HTTP server reads Secrets Manager and SSM
 * with the function's role, so the function reads its store with undici, already loaded, instead of the AWS SDK
 * (whose evaluation was most of a cold import; docs/performance.md#store-reads). It is a fast path only: whatever the extension
 * does not answer with a value (not started yet, an AWS error, an absent secret, a malformed answer) the caller reads
 * again with the SDK, which alone tells an absent value (the 404 rows) from a failure (500).
 */

/** Where the extension listens, and the token it asks for (the container's `AWS_SESSION_TOKEN`). */
export interface StoreExtension {
  /** `http://127.0.0.1:<PARAMETERS_SECRETS_EXTENSION_HTTP_PORT>` */
  readonly url: string;
  readonly token: string;
}

/**
 * The container's agent for the extension's port: two connections, so that the two values an order reads at once (the
 * broker credential and the account, docs/contract.md#order-of-checks) are asked for at once. With its cache off (the
 * function keeps its own), each read is a call the extension makes to AWS: on one connection the second read would
 * wait for the first.
 */
let sharedExtensionAgent: Agent | undefined;
export function storeExtensionAgent(): Agent {
  sharedExtensionAgent ??= new UndiciAgent({ connections: 2, keepAliveTimeout: 60_000 });
  return sharedExtensionAgent;
}

/** The fields read of the extension's answers: the same JSON as GetSecretValue and GetParameter. */
const SecretAnswerSchema = z.object({ SecretString: z.nullish(z.string()) });
const ParameterAnswerSchema = z.object({ Parameter: z.object({ Value: z.nullish(z.string()) }) });

/** What the extension said: a value (absent when the secret holds none as a string), or nothing to rely on. */
export type ExtensionAnswer = { readonly value: string | undefined } | undefined;

/** What the extension said, told apart: a value (absent when the secret holds none as a string), or why not. */
export type ExtensionReply =
  | { readonly value: string | undefined }
  | { readonly noValue: { readonly status?: number; readonly malformed?: true; readonly error?: unknown } };

async function ask<TAnswer>(
  dispatcher: Dispatcher,
  extension: StoreExtension,
  request: ExtensionRequest,
  answerSchema: z.ZodMiniType<TAnswer>,
  pickValue: (answer: TAnswer) => string | null | undefined,
): Promise<ExtensionReply> {
  try {
    const response = await sendHttpRequest(dispatcher, {
      endpoint: endpoint(extension.url, request.path),
      query: request.query,
      method: 'GET',
      headers: { [EXTENSION_TOKEN_HEADER]: extension.token },
      deadline: createDeadline(STORE_EXTENSION_READ_TIMEOUT_MS),
      idempotent: true,
    });
    // Its error text is not read: absent and failed are told apart by the SDK, not by the extension's wording.
    if (response.statusCode !== 200) return { noValue: { status: response.statusCode } };
    const answer = answerSchema.safeParse(parseJsonText(response.text));
    if (!answer.success) return { noValue: { status: response.statusCode, malformed: true } };
    return { value: pickValue(answer.data) ?? undefined };
  } catch (error) {
    return { noValue: { error: describeError(error) } };
  }
}

interface ExtensionRequest {
  readonly path: string;
  readonly query: string;
}

const secretRequest = (secretId: string): ExtensionRequest => ({
  path: EXTENSION_SECRET_PATH,
  query: `secretId=${encodeURIComponent(secretId)}`,
});
const parameterRequest = (name: string): ExtensionRequest => ({
  path: EXTENSION_PARAMETER_PATH,
  query: `name=${encodeURIComponent(name)}&withDecryption=true`,
});

async function read<TAnswer>(
  dispatcher: Dispatcher,
  extension: StoreExtension,
  request: ExtensionRequest,
  answerSchema: z.ZodMiniType<TAnswer>,
  pickValue: (answer: TAnswer) => string | null | undefined,
): Promise<ExtensionAnswer> {
  const reply = await ask(dispatcher, extension, request, answerSchema, pickValue);
  if ('value' in reply) return reply;
  // Debug only: the invocation writes one line, and `npm run preflight -- --deployed` says whether the extension works.
  logger.debug('store extension gave no value, reading with the SDK', { ...reply.noValue, path: request.path });
  return undefined;
}

export function readSecretThroughExtension(
  dispatcher: Dispatcher,
  extension: StoreExtension,
  secretId: string,
): Promise<ExtensionAnswer> {
  return read(dispatcher, extension, secretRequest(secretId), SecretAnswerSchema, (answer) => answer.SecretString);
}

export function readParameterThroughExtension(
  dispatcher: Dispatcher,
  extension: StoreExtension,
  name: string,
): Promise<ExtensionAnswer> {
  return read(dispatcher, extension, parameterRequest(name), ParameterAnswerSchema, (answer) => answer.Parameter.Value);
}

/** One read through the extension, its failure told (the self-test's: shared/store/self-test.ts), nothing logged. */
export function askExtension(
  dispatcher: Dispatcher,
  extension: StoreExtension,
  kind: 'secret' | 'parameter',
  id: string,
): Promise<ExtensionReply> {
  return kind === 'secret'
    ? ask(dispatcher, extension, secretRequest(id), SecretAnswerSchema, (answer) => answer.SecretString)
    : ask(dispatcher, extension, parameterRequest(id), ParameterAnswerSchema, (answer) => answer.Parameter.Value);
}
