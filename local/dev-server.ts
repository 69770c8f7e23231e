import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { fromApiGatewayResult, type GatewayAnswer, toApiGatewayEvent } from '#local/api-gateway-event.ts';
import { CallLog } from '#local/call-log.ts';
import { loadEnvFile } from '#local/env-file.ts';
import {
  PAPER_ALOR,
  PAPER_INSTRUMENTS,
  PAPER_TINKOFF,
  type PaperBrokers,
  startPaperBrokers,
} from '#local/paper-broker/index.ts';
import { generateWebhookSecret, noAcceptedSecretWarning, parseAcceptedSecrets } from '#shared/auth/webhook-secrets.ts';
import { loadAlorConfig, loadTinkoffConfig } from '#shared/config.ts';
import { ConfigError } from '#shared/config-error.ts';
import { BROKERS, type Broker, ENV, isProductionBrokerUrl, LOCAL_ENV } from '#shared/facts.ts';
import type { WebhookHandler } from '#shared/http/inbound/webhook-handler.ts';

/**
 * `npm start`: the two webhook functions on this machine, behind a local stand-in for API Gateway, trading on the
 * paper brokers (or on a real broker whose token is configured), with a console page.
 *
 * The functions run exactly as on Lambda: the environment is prepared first, then each function's module is
 * imported and its exported `handler` is called with an HTTP API payload 2.0 event. So the module-scope
 * `loadAlorConfig()` / `loadTinkoffConfig()` runs as in a cold container, and nothing here builds a config or
 * a handler of its own. Everything listens on 127.0.0.1 only.
 */

export const HOST = '127.0.0.1';
export const DEFAULT_PORT = 3000;
/** The line a script (or a test) waits for; the rest of the line is JSON. */
export const READY_PREFIX = 'PPP_DEV_SERVER_READY ';
/** Bodies bigger than this are refused before any function runs (API Gateway's own limit is 10 MB). */
const MAX_REQUEST_BYTES = 1024 * 1024;
const CALL_LOG_SIZE = 100;
/** Orders per paper book sent to the console. */
const BOOK_SHOWN = 200;
export type BrokerMode = 'paper' | 'real';

export interface BrokerSetup {
  readonly mode: BrokerMode;
  /** Where the function sends orders: the paper broker's loopback URL or the configured broker URL. */
  readonly brokerUrl: string;
  readonly webhookUrl: string;
}

export interface DevServer {
  readonly url: string;
  readonly port: number;
  /** The first accepted webhook secret: the one to use. */
  readonly secret: string;
  readonly secretGenerated: boolean;
  readonly brokers: Readonly<Record<Broker, BrokerSetup>>;
  readonly notes: readonly string[];
  /** Settings that make the run fail closed: shown in the banner and on stderr. */
  readonly warnings: readonly string[];
  close(): Promise<void>;
}

export interface DevServerOptions {
  /** The environment to read and prepare for the functions; must be `process.env` for the functions to see it. */
  readonly env?: NodeJS.ProcessEnv;
  /** @default PORT, else 3000; 0 picks a free port. */
  readonly port?: number;
}

function isSet(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

export function parsePort(value: string | undefined): number {
  if (!isSet(value)) return DEFAULT_PORT;
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port > 65_535) {
    throw new ConfigError(`${LOCAL_ENV.port} must be a port number (0-65535)`);
  }
  return port;
}

/** A broker is real when its token is configured (as a value or a Secrets Manager id), paper otherwise. */
export function brokerModes(env: NodeJS.ProcessEnv): Record<Broker, BrokerMode> {
  return {
    alor: isSet(env[ENV.alorRefreshToken]) || isSet(env[ENV.alorRefreshTokenSecretId]) ? 'real' : 'paper',
    tinkoff: isSet(env[ENV.tinkoffToken]) || isSet(env[ENV.tinkoffTokenSecretId]) ? 'real' : 'paper',
  };
}

/** Points a paper broker's settings at the local paper broker, replacing whatever partial settings were there. */
function usePaperSettings(env: NodeJS.ProcessEnv, broker: Broker, paper: PaperBrokers): string {
  if (broker === 'alor') {
    delete env[ENV.alorRefreshTokenSecretId];
    delete env[ENV.alorPortfolioParameter];
    env[ENV.alorRefreshToken] = PAPER_ALOR.refreshToken;
    env[ENV.alorPortfolio] = PAPER_ALOR.portfolio;
    env[ENV.alorOauthUrl] = paper.alor.url;
    env[ENV.alorApiUrl] = paper.alor.url;
    return paper.alor.url;
  }
  delete env[ENV.tinkoffTokenSecretId];
  delete env[ENV.tinkoffAccountIdParameter];
  env[ENV.tinkoffToken] = PAPER_TINKOFF.token;
  env[ENV.tinkoffAccountId] = PAPER_TINKOFF.accountId;
  // The paper T-Invest serves v2 under /rest and the retired v1 at its root.
  const url = env[ENV.tinkoffApi] === 'v1' ? paper.tinkoff.url : paper.tinkoff.v2Url;
  env[ENV.tinkoffApiUrl] = url;
  return url;
}

/** The broker URLs a real broker's function will call, with the functions' own defaults. */
function realBrokerUrls(env: NodeJS.ProcessEnv, broker: Broker): string[] {
  if (broker === 'alor') {
    const config = loadAlorConfig(env);
    return [config.apiUrl, config.oauthUrl];
  }
  return [loadTinkoffConfig(env).apiUrl];
}

/** Real-broker notes: production hosts trade real money, and a missing account is answered 404 by the function. */
function realBrokerNotes(env: NodeJS.ProcessEnv, broker: Broker, urls: readonly string[]): string[] {
  const notes: string[] = [];
  const production = urls.filter(isProductionBrokerUrl);
  if (production.length > 0) {
    notes.push(`${broker}: ${production.join(' and ')}: the PRODUCTION broker: orders are real and use real money`);
  }
  const accountSet =
    broker === 'alor'
      ? isSet(env[ENV.alorPortfolio]) || isSet(env[ENV.alorPortfolioParameter])
      : isSet(env[ENV.tinkoffAccountId]) || isSet(env[ENV.tinkoffAccountIdParameter]);
  if (!accountSet) notes.push(`${broker}: the token is set but the account is not: orders are answered 404`);
  return notes;
}

function readRequestBody(request: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > MAX_REQUEST_BYTES) tooBig = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(tooBig ? undefined : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, answer: GatewayAnswer): void {
  response.writeHead(answer.statusCode, { ...answer.headers, 'content-length': answer.body.byteLength });
  response.end(answer.body);
}

function sendJson(response: ServerResponse, statusCode: number, value: unknown): void {
  send(response, {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: Buffer.from(JSON.stringify(value), 'utf8'),
  });
}

/** API Gateway's own answers when no function answers. */
const NOT_FOUND = { message: 'Not Found' };
const TOO_LARGE = { message: 'Request Entity Too Large' };
const INTERNAL = { message: 'Internal Server Error' };

const CONSOLE_DIR = fileURLToPath(new URL('./console/', import.meta.url));
const CONSOLE_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
};
const CONSOLE_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/** Starts the paper brokers (where needed), the webhook routes and the console. One per process. */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const env = options.env ?? process.env;
  const port = options.port ?? parsePort(env[LOCAL_ENV.port]);
  const notes: string[] = [];

  // The console has to know the webhook secret to send test signals, so the local run takes it as a value.
  if (isSet(env[ENV.webhookSecretId])) {
    notes.push(`${ENV.webhookSecretId} is ignored by the local run: it uses ${ENV.webhookSecret} (or a generated one)`);
    delete env[ENV.webhookSecretId];
  }
  const secretGenerated = !isSet(env[ENV.webhookSecret]);
  if (secretGenerated) env[ENV.webhookSecret] = generateWebhookSecret();
  const acceptedSecrets = parseAcceptedSecrets(env[ENV.webhookSecret]);
  const warnings = acceptedSecrets.length === 0 ? [noAcceptedSecretWarning(ENV.webhookSecret)] : [];
  const secret = acceptedSecrets[0] ?? '';

  const modes = brokerModes(env);
  const brokerUrls = {} as Record<Broker, string>;
  for (const broker of BROKERS.filter((candidate) => modes[candidate] === 'real')) {
    const urls = realBrokerUrls(env, broker);
    brokerUrls[broker] = urls[0] ?? '';
    notes.push(...realBrokerNotes(env, broker, urls));
  }
  const paper = BROKERS.some((broker) => modes[broker] === 'paper') ? await startPaperBrokers() : undefined;
  for (const broker of BROKERS) {
    if (modes[broker] === 'paper' && paper !== undefined) brokerUrls[broker] = usePaperSettings(env, broker, paper);
  }
  // Never shown in the console, wherever they turn up.
  const hiddenValues = [...acceptedSecrets, env[ENV.alorRefreshToken], env[ENV.tinkoffToken]].filter(isSet);

  // The environment is ready: load the functions as Lambda does, module-scope config and all.
  let handlers: Record<Broker, WebhookHandler>;
  try {
    const [alor, tinkoff] = await Promise.all([
      import('#functions/alor/handler.ts'),
      import('#functions/tinkoff/handler.ts'),
    ]);
    handlers = { alor: alor.handler, tinkoff: tinkoff.handler };
  } catch (error) {
    await paper?.close();
    throw error;
  }

  const alorExchange = loadAlorConfig(env).exchange;
  const calls = new CallLog({ limit: CALL_LOG_SIZE, secrets: () => hiddenValues });
  const sockets = new Set<Socket>();
  let boundPort = port;
  const localHosts = () => new Set([`${HOST}:${boundPort}`, `localhost:${boundPort}`]);

  const invoke = async (broker: Broker, request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const receivedAt = new Date();
    const startedAt = performance.now();
    const body = await readRequestBody(request);
    if (body === undefined) return sendJson(response, 413, TOO_LARGE);
    const event = toApiGatewayEvent({
      method: request.method ?? 'POST',
      url: request.url ?? '/',
      headers: request.headersDistinct,
      body,
      routeKey: `POST /${broker}`,
      sourceIp: request.socket.remoteAddress?.replace(/^::ffff:/, '') ?? HOST,
      protocol: `HTTP/${request.httpVersion}`,
      receivedAt,
    });
    let answer: GatewayAnswer;
    try {
      const result: APIGatewayProxyResultV2 = await handlers[broker](event);
      answer = fromApiGatewayResult(result);
    } catch {
      // As API Gateway answers a function error; the function logged its own line.
      answer = fromApiGatewayResult({
        statusCode: 500,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(INTERNAL),
      });
    }
    const latencyMs = Math.round((performance.now() - startedAt) * 10) / 10;
    calls.record({
      event,
      receivedAt,
      broker,
      method: request.method ?? 'POST',
      status: answer.statusCode,
      answer: answer.body.toString('utf8'),
      latencyMs,
    });
    send(response, answer);
  };

  const state = () => ({
    calls: calls.list(),
    books: {
      // The latest orders, oldest first; the paper brokers keep them all.
      alor: modes.alor === 'paper' ? (paper?.alor.orders.slice(-BOOK_SHOWN) ?? []) : null,
      tinkoff: modes.tinkoff === 'paper' ? (paper?.tinkoff.orders.slice(-BOOK_SHOWN) ?? []) : null,
    },
  });

  const session = (url: string) => ({
    // Only for this page on this machine: it sends test signals through the real webhook routes.
    secret,
    brokers: Object.fromEntries(
      BROKERS.map((broker) => [
        broker,
        {
          mode: modes[broker],
          webhookUrl: `${url}/${broker}`,
          brokerUrl: brokerUrls[broker],
          instruments: modes[broker] === 'paper' ? PAPER_INSTRUMENTS[broker] : null,
        },
      ]),
    ),
    alorExchange,
  });

  const serveConsole = async (path: string, response: ServerResponse): Promise<void> => {
    const entry = CONSOLE_FILES[path];
    if (entry === undefined) return sendJson(response, 404, NOT_FOUND);
    const content = await readFile(`${CONSOLE_DIR}${entry.file}`);
    send(response, { statusCode: 200, headers: { 'content-type': entry.type, ...CONSOLE_HEADERS }, body: content });
  };

  const server: Server = createServer(async (request, response) => {
    try {
      const path = (request.url ?? '/').split('?')[0] ?? '/';
      const webhook = BROKERS.find((broker) => path === `/${broker}`);
      if (webhook !== undefined) {
        if (request.method === 'POST') return await invoke(webhook, request, response);
        request.resume();
        return sendJson(response, 404, NOT_FOUND);
      }
      request.resume();
      // The console and its API answer only to this machine's names: a page elsewhere that rebinds its own
      // DNS name to 127.0.0.1 would send its own Host header and get nothing.
      if (!localHosts().has(request.headers.host ?? '')) return sendJson(response, 403, { message: 'Forbidden' });
      if (request.method !== 'GET') return sendJson(response, 404, NOT_FOUND);
      if (path === '/api/state') return sendJson(response, 200, state());
      if (path === '/api/session') return sendJson(response, 200, session(`http://${request.headers.host}`));
      return await serveConsole(path, response);
    } catch {
      if (!response.headersSent) sendJson(response, 500, INTERNAL);
      else response.destroy();
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await paper?.close();
    throw error;
  }
  boundPort = (server.address() as AddressInfo).port;
  const url = `http://${HOST}:${boundPort}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    port: boundPort,
    secret,
    secretGenerated,
    notes,
    warnings,
    brokers: Object.fromEntries(
      BROKERS.map((broker) => [
        broker,
        { mode: modes[broker], brokerUrl: brokerUrls[broker], webhookUrl: `${url}/${broker}` },
      ]),
    ) as Record<Broker, BrokerSetup>,
    close: () => {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await Promise.all([closed, paper?.close()]);
      })();
      return closing;
    },
  };
}

/** A value as one shell word. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Ready-to-paste requests: a check ping and an order per broker, and the `?secret=` form. */
export function curlExamples(server: Pick<DevServer, 'secret' | 'brokers'>, alorExchange: string): string[] {
  const json = "-H 'content-type: application/json'";
  const auth = `-H ${shellQuote(`x-webhook-secret: ${server.secret}`)}`;
  const alorOrder = {
    t: alorExchange === 'MOEX' ? 'SBER' : 'AAPL',
    p: alorExchange === 'MOEX' ? 250.5 : 150.5,
    v: 1,
    d: 'buy',
  };
  const tinkoffOrder = { t: 'SBER', p: 250.5, v: 1, d: 'buy', f: 'BBG004730N88' };
  const lines: string[] = [];
  for (const [broker, order] of [
    ['alor', alorOrder],
    ['tinkoff', tinkoffOrder],
  ] as const) {
    const url = server.brokers[broker].webhookUrl;
    lines.push(
      `curl -sS -X POST ${url} ${auth} ${json} -d '{"check":true}'`,
      `curl -sS -X POST ${url} ${auth} ${json} -d ${shellQuote(JSON.stringify(order))}`,
    );
  }
  const alorUrl = server.brokers.alor.webhookUrl;
  lines.push(
    `curl -sS -X POST ${shellQuote(`${alorUrl}?secret=${encodeURIComponent(server.secret)}`)} ${json} -d '{"check":true}'`,
  );
  return lines;
}

function banner(server: DevServer, alorExchange: string): string {
  const describe = (broker: Broker) => {
    const setup = server.brokers[broker];
    return setup.mode === 'paper' ? `paper broker at ${setup.brokerUrl}` : `REAL broker at ${setup.brokerUrl}`;
  };
  return [
    '',
    'ppp-webhooks local run',
    `  console          ${server.url}/`,
    `  Alor webhook     ${server.brokers.alor.webhookUrl}      (${describe('alor')})`,
    `  T-Invest webhook ${server.brokers.tinkoff.webhookUrl}   (${describe('tinkoff')})`,
    `  webhook secret   ${server.secret}${server.secretGenerated ? `   (generated for this run; set ${ENV.webhookSecret} in .env to keep one)` : ''}`,
    ...server.warnings.map((warning) => `  ${warning}`),
    ...server.notes.map((note) => `  NOTE: ${note}`),
    '',
    'Try it:',
    ...curlExamples(server, alorExchange).map((line) => `  ${line}`),
    '',
    'Ctrl+C stops it.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const envFile = process.env[LOCAL_ENV.envFile] ?? fileURLToPath(new URL('../.env', import.meta.url));
  const loaded = envFile === 'none' || envFile === '' ? undefined : loadEnvFile(envFile);

  let server: DevServer;
  try {
    server = await startDevServer();
  } catch (error) {
    // Configuration errors name the variable, never its value; other errors are reported by name and code only.
    const { name, code } = error as NodeJS.ErrnoException;
    const text =
      error instanceof ConfigError
        ? error.message
        : code === 'EADDRINUSE'
          ? `the port is in use (set ${LOCAL_ENV.port})`
          : `${name} ${code ?? ''}`;
    process.stderr.write(`npm start failed: ${text}\n`);
    process.exit(1);
  }
  const alorExchange = loadAlorConfig().exchange;
  if (loaded !== undefined) process.stdout.write(`read ${loaded.length} setting(s) from ${envFile}\n`);
  for (const warning of server.warnings) process.stderr.write(`${warning}\n`);
  process.stdout.write(banner(server, alorExchange));
  process.stdout.write(
    `${READY_PREFIX}${JSON.stringify({
      url: server.url,
      alor: server.brokers.alor.webhookUrl,
      tinkoff: server.brokers.tinkoff.webhookUrl,
      modes: { alor: server.brokers.alor.mode, tinkoff: server.brokers.tinkoff.mode },
    })}\n`,
  );

  const stop = (signal: NodeJS.Signals) => {
    process.stdout.write(`\n${signal}: stopping\n`);
    // Keep-alive sockets to a real broker would keep the process alive: exit once the servers are closed.
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
