import { type AddressInfo, createServer, type Socket } from 'node:net';
import type { Agent, buildConnector, Dispatcher } from 'undici';
import buildUndiciConnector from 'undici/lib/core/connect.js';
// Modules of undici instead of its index, which loads all of undici (fetch, WebSocket, EventSource, caches, mocks) into
// the bundle and every cold start (docs/performance.md#alternatives-tried), for an agent and its connector. The agent is exactly what
// the index exports; tests/integration/performance-invariants.test.ts fails if an undici upgrade moves or changes it.
import UndiciAgent from 'undici/lib/dispatcher/agent.js';
import { BrokerTimeoutError, BrokerUnavailableError, describeError } from '../../errors.ts';
import { createDeadline, type Deadline, DeadlineSignal } from './deadline.ts';

/**
 * The one way to send an HTTP request (to a broker, to Telegram, to the store extension, and the init's warm-up): a
 * deadline on every call, the body always consumed, a size cap on it, and transport failures turned into typed upstream
 * errors that never quote a URL (it may hold a token).
 */

/** The brokers' and Telegram's documented answers are a few hundred bytes; anything far bigger is not one of them. */
export const MAX_RESPONSE_BODY_BYTES = 1024 * 1024;
/** A retry is only worth starting with this much of the deadline left. */
const MIN_RETRY_BUDGET_MS = 100;
/** Undici's timers only back up the deadline's own signal. */
const UNDICI_TIMEOUT_SLACK_MS = 1000;

/**
 * Undici's own connector (TCP, TLS, its session cache), shared by the agent and {@link preconnect}, so a socket opened
 * ahead is set up exactly as one the agent would open.
 */
const connectSocket = buildUndiciConnector({ timeout: 2000 });

/** Sockets opened by {@link preconnect}, by origin, until a request takes them. */
const socketsOpenedAhead = new Map<string, Promise<Socket | undefined>>();

function originKey(protocol: string, host: string): string {
  return `${protocol}//${host}`;
}

/** The agent's connector: the socket opened ahead for this origin when it is still open, else a new one. */
const connectPreferringOpened: buildConnector.connector = (options, callback) => {
  const key = originKey(options.protocol, options.host ?? options.hostname);
  const openedAhead = socketsOpenedAhead.get(key);
  if (openedAhead === undefined) return connectSocket(options, callback);
  socketsOpenedAhead.delete(key);
  void openedAhead.then((socket) => {
    if (socket !== undefined && !socket.destroyed && socket.readyState === 'open') callback(null, socket);
    else connectSocket(options, callback);
  });
};

/**
 * Opens TCP+TLS to each broker origin before any request needs it (a function's init, beside the secret prefetch):
 * a cold container's first order then waits for no handshake. Nothing is sent on these connections; one that fails
 * or closes is simply opened again by the request that needs it. Resolves when all are open, or after `maxWaitMs`;
 * a handshake still running then is joined by the first request to that origin.
 */
export async function preconnect(origins: readonly string[], maxWaitMs: number): Promise<void> {
  const opening = [...new Set(origins.map((origin) => new URL(origin).origin))].map((origin) => {
    const url = new URL(origin);
    const socket = new Promise<Socket | undefined>((resolve) => {
      connectSocket(
        { hostname: url.hostname, host: url.host, protocol: url.protocol, port: url.port },
        (error, opened) => resolve(error === null ? (opened ?? undefined) : undefined),
      );
    });
    socketsOpenedAhead.set(originKey(url.protocol, url.host), socket);
    return socket;
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, maxWaitMs);
    timer.unref();
  });
  await Promise.race([Promise.all(opening), timeout]);
  clearTimeout(timer);
}

/**
 * Opens a connection ahead (as {@link preconnect}) to each origin the agent holds no open connection to: a keep-warm
 * invocation's way of having one ready for the next order. A dispatcher that is not an agent (a test's mock) is left
 * alone.
 */
export function reconnectIdleOrigins(
  dispatcher: Dispatcher,
  origins: readonly string[],
  maxWaitMs: number,
): Promise<void> {
  if (!(dispatcher instanceof UndiciAgent)) return Promise.resolve();
  const stats = dispatcher.stats as Record<string, { connected?: number | boolean } | undefined>;
  const idle = origins.filter((origin) => {
    const url = new URL(origin);
    return !stats[url.origin]?.connected && !socketsOpenedAhead.has(originKey(url.protocol, url.host));
  });
  return preconnect(idle, maxWaitMs);
}

/**
 * A keep-alive agent with one connection per host. The broker agent ({@link brokerAgent}) is one, shared by every
 * invocation of a container: a warm order opens no new connection; the notifier's Telegram client, the preflight and
 * the scripts make their own.
 *
 * `connections: 1` makes the agent use a single undici `Client` per origin instead of a `Pool`. A Lambda container
 * serves one invocation at a time, so a pool buys no parallelism, and it costs connections: after a response undici
 * waits one event-loop turn (`setImmediate`) before it reuses the socket (client-h1.js, "non-spec compliant servers"),
 * so a request sent right after the previous body was read (the Alor order right after its token refresh, or a
 * busy container) finds the pooled client busy and the pool opens a second socket. A single `Client` queues that
 * request for the same socket instead: Alor's refresh and order take one connection (docs/performance.md#alternatives-tried).
 */
export function createKeepAliveAgent(): Agent {
  return new UndiciAgent({
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 10 * 60_000,
    connections: 1,
    connect: connectPreferringOpened,
  });
}

let sharedAgent: Agent | undefined;
/** The container's one agent for the broker calls (see {@link createKeepAliveAgent}). */
export function brokerAgent(): Agent {
  sharedAgent ??= createKeepAliveAgent();
  return sharedAgent;
}

const readsAgents: Agent[] = [];
/**
 * More keep-alive agents, for the state reads of a v2 signal: a signal reads its position, its active orders and its
 * stop orders at once, and the broker agent's one connection per host (see {@link createKeepAliveAgent}) would take them
 * one after the other. `slot` 0 carries the orders, 1 the stop orders (and a protective pair's second order). Each is
 * made, and connected, only when a signal first needs it.
 */
export function stateReadsAgent(slot = 0): Agent {
  readsAgents[slot] ??= createKeepAliveAgent();
  return readsAgents[slot];
}

let marketAgent: Agent | undefined;
/**
 * The agent of the reads of sizing and the guards (a lot's price and the account's lots, the portfolio, the trading
 * status): up to four connections per origin, so that those reads run at once beside the state reads and take one
 * round trip, not one each. Made when first asked for: a container whose signals read none opens none.
 */
export function marketReadsAgent(): Agent {
  marketAgent ??= new UndiciAgent({
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 10 * 60_000,
    connections: 4,
    connect: connectPreferringOpened,
  });
  return marketAgent;
}

export interface HttpEndpoint {
  readonly origin: string;
  readonly path: string;
}

/** `https://host/rest` + `/Service/Method` → origin and full path, computed once per client. */
export function endpoint(baseUrl: string, path: string): HttpEndpoint {
  const url = new URL(baseUrl);
  return { origin: url.origin, path: `${url.pathname.replace(/\/+$/, '')}${path}` };
}

export interface HttpRequest {
  readonly endpoint: HttpEndpoint;
  /** Appended to the endpoint path, already encoded. */
  readonly query?: string;
  readonly method?: 'POST' | 'GET' | 'DELETE';
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly deadline: Deadline;
  /** The broker deduplicates this request (an idempotency key, or no side effect): a reset or 5xx may be resent. */
  readonly idempotent: boolean;
}

export interface HttpResponse {
  readonly statusCode: number;
  readonly text: string;
  /**
   * The answer to the resend of {@link sendHttpRequest} after a first send the broker may have received (a reset, a
   * 502/503/504): a broker's "already handled" then answers this very call's first send, not an earlier signal.
   */
  readonly resent?: boolean;
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const RETRIABLE_STATUSES = new Set([502, 503, 504]);

/**
 * A failure on the way that a second attempt may not meet: the request was not sent (refused, no route, no name, a
 * connect timeout), or its connection broke. Whether a broker request may be resent after a break is
 * {@link sendHttpRequest}'s to decide (only when the broker deduplicates it).
 */
export function isTransientTransportFailure(error: unknown): boolean {
  const { code } = describeError(error);
  if (code === undefined) return false;
  return NOT_SENT_CODES.has(code) || RESET_CODES.has(code) || code === 'UND_ERR_CONNECT_TIMEOUT';
}

function transportError(error: unknown, deadline: Deadline): Error {
  if (error instanceof BrokerUnavailableError || error instanceof BrokerTimeoutError) return error;
  const { name, code } = describeError(error);
  if (deadline.signal.aborted || name === 'TimeoutError' || name === 'AbortError' || TIMEOUT_CODES.has(code ?? '')) {
    return new BrokerTimeoutError(code ?? name, { cause: error });
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || NOT_SENT_CODES.has(code ?? '')) {
    return new BrokerUnavailableError(code ?? name, { retriable: true, cause: error });
  }
  return new BrokerUnavailableError(code ?? name, { retriable: false, cause: error });
}

/**
 * Resolves once the requests made before it are written: undici writes a request on a kept-alive connection in the
 * event-loop turn after it is made (it first checks that the server has not closed the idle socket), and a request made
 * a few promise steps after the call (a broker read that awaits its token) is made in this turn's microtasks, so two
 * turns on. Work that need not come first (a DynamoDB call beside a signal's broker reads, signed at some CPU cost)
 * then delays none of them.
 */
export async function afterRequestsWritten(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
}

/** Calls `listener` once when `signal` aborts; gives the way to stop listening. */
function onAbort(signal: DeadlineSignal | AbortSignal, listener: () => void): () => void {
  if (signal instanceof DeadlineSignal) {
    signal.once('abort', listener);
    return () => signal.removeListener('abort', listener);
  }
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}

/**
 * One request through the dispatcher, its answer collected as it arrives: the status, and the body as text, refused
 * past {@link MAX_RESPONSE_BODY_BYTES} however it is framed (a chunked answer declares no length). undici's `request()`
 * would hand the body over as a stream and call back within an async resource, which costs a warm order more
 * (docs/performance.md#alternatives-tried). The deadline aborts the
 * request wherever it is, as an abort signal given to `request()` would. `onWritten` is called once the request is
 * written to its connection, before any answer.
 */
export function dispatchForText(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: DeadlineSignal | AbortSignal,
  onWritten?: () => void,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let statusCode = 0;
    let chunks: Buffer[] = [];
    let size = 0;
    const abortOnDeadline = () => controller?.abort(signal.reason as Error);
    const stopListening = onAbort(signal, abortOnDeadline);
    const tooLarge = () => new BrokerUnavailableError('body too large', { retriable: false });
    dispatcher.dispatch(options, {
      onRequestStart(started) {
        // Again from the start if undici retries the request on a new connection.
        controller = started;
        statusCode = 0;
        chunks = [];
        size = 0;
        if (signal.aborted) started.abort(signal.reason as Error);
        // undici writes the request in the same turn, right after this call: a microtask later it is on the socket.
        else if (onWritten !== undefined) queueMicrotask(onWritten);
      },
      onResponseStart(started, status, headers) {
        // An informational answer (1xx): the final one follows.
        if (status < 200) return;
        statusCode = status;
        if (Number(headers['content-length']) > MAX_RESPONSE_BODY_BYTES) started.abort(tooLarge());
      },
      onResponseData(started, chunk) {
        size += chunk.byteLength;
        if (size <= MAX_RESPONSE_BODY_BYTES) chunks.push(chunk);
        else started.abort(tooLarge());
      },
      onResponseEnd(started) {
        // Aborted (a body past the cap, the deadline): the error follows; never a cut body as an answer.
        if (started.aborted) return;
        stopListening();
        resolve({ statusCode, text: Buffer.concat(chunks).toString('utf8') });
      },
      onResponseError(_started, error) {
        stopListening();
        reject(error);
      },
    });
  });
}

async function sendOnce(dispatcher: Dispatcher, request: HttpRequest): Promise<HttpResponse> {
  const { deadline } = request;
  const remaining = deadline.remainingMs();
  if (remaining <= 0) throw new BrokerTimeoutError('deadline passed before sending');
  try {
    return await dispatchForText(
      dispatcher,
      {
        origin: request.endpoint.origin,
        path: request.query === undefined ? request.endpoint.path : `${request.endpoint.path}?${request.query}`,
        method: request.method ?? 'POST',
        headers:
          request.body === undefined ? request.headers : { 'content-type': 'application/json', ...request.headers },
        body: request.body,
        headersTimeout: remaining + UNDICI_TIMEOUT_SLACK_MS,
        bodyTimeout: remaining + UNDICI_TIMEOUT_SLACK_MS,
      },
      deadline.signal,
    );
  } catch (error) {
    throw transportError(error, deadline);
  }
}

function mayResend(error: unknown, request: HttpRequest): boolean {
  if (!(error instanceof BrokerUnavailableError)) return false;
  // A reset may come after the broker read the request: resent only when the broker deduplicates it.
  return error.retriable || (request.idempotent && RESET_CODES.has(error.detail));
}

/**
 * Sends a broker request. A failure that cannot place an order twice is retried once, the same request
 * (so the same idempotency key), while the deadline allows: nothing was sent; or, for an idempotent
 * request, a reset or a 502/503/504 from a proxy in front of the broker. A timeout is never re-sent.
 */
export async function sendHttpRequest(dispatcher: Dispatcher, request: HttpRequest): Promise<HttpResponse> {
  let firstMayHaveArrived = true;
  try {
    const response = await sendOnce(dispatcher, request);
    const resend = request.idempotent && RETRIABLE_STATUSES.has(response.statusCode);
    if (!resend || request.deadline.remainingMs() < MIN_RETRY_BUDGET_MS) return response;
  } catch (error) {
    if (!mayResend(error, request) || request.deadline.remainingMs() < MIN_RETRY_BUDGET_MS) throw error;
    firstMayHaveArrived = !(error instanceof BrokerUnavailableError && error.retriable);
  }
  const response = await sendOnce(dispatcher, request);
  return firstMayHaveArrived ? { ...response, resent: true } : response;
}

/**
 * What {@link warmUpHttpClient} sends: a POST with a JSON body, as an order is, so that undici's path for a request
 * body runs once too (docs/performance.md#alternatives-tried).
 */
const WARM_UP_REQUEST_BODY = '{"warm":"up"}';
/** What the responder of {@link warmUpHttpClient} answers: a small JSON body, as the store and the brokers send. */
const WARM_UP_ANSWER = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}';

/**
 * One request through undici, during a container's init, to a responder of this very process on loopback that answers
 * with a canned JSON body: the HTTP client's first request (undici's WebAssembly parser compiled and instantiated, its
 * code and this module's run once) is then not the first invocation's store read or order. Nothing leaves the process
 * and no credential is involved. Through the Parameters and Secrets extension the store cannot be read during init
 * (shared/brokers/container.ts), so without this the first order would pay it. Never throws: a failure only
 * leaves the first real request cold. Measured by `npm run bench` (first order over a network).
 *
 * The connection is closed by this side, without an error, before the agent: undici closing a socket itself passes an
 * error to its `destroy`, whose stack Node's streams then format, which with `--enable-source-maps` means reading
 * the bundle's source map (docs/performance.md#alternatives-tried).
 */
export async function warmUpHttpClient(maxWaitMs: number): Promise<void> {
  const responder = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.once('data', () => socket.write(WARM_UP_ANSWER));
  });
  let opened: Socket | undefined;
  const agent = new UndiciAgent({
    connections: 1,
    connect: (options, callback) =>
      connectSocket(options, (...connected) => {
        opened = connected[1] ?? undefined;
        callback(...connected);
      }),
  });
  try {
    await new Promise<void>((resolve, reject) => {
      responder.once('error', reject);
      responder.listen(0, '127.0.0.1', resolve);
    });
    const { port } = responder.address() as AddressInfo;
    await sendHttpRequest(agent, {
      endpoint: endpoint(`http://127.0.0.1:${port}`, '/'),
      body: WARM_UP_REQUEST_BODY,
      deadline: createDeadline(maxWaitMs),
      idempotent: true,
    });
  } catch {
    // Only slower: the first real request does this work instead.
  } finally {
    if (opened !== undefined && !opened.destroyed) {
      const closed = new Promise((resolve) => opened?.once('close', resolve));
      opened.destroy();
      await closed;
    }
    await agent.close().catch(() => undefined);
    // Called back once its one connection has ended too (or at once if it never listened).
    await new Promise((resolve) => responder.close(resolve));
  }
}

/** Parses a broker's JSON text; `undefined` when it is not JSON (HTML error pages, truncated bodies). */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
