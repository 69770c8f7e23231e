import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { fromApiGatewayResult, type GatewayAnswer, toApiGatewayEvent } from '#local/api-gateway-event.ts';
import type { CallLog } from '#local/call-log.ts';
import { readRequestBody } from '#local/http-body.ts';
import {
  PAPER_ALOR,
  PAPER_INSTRUMENTS,
  PAPER_ORDER_STATUSES,
  PAPER_TINKOFF,
  type PaperOrderStatus,
} from '#local/paper-broker/index.ts';
import { switchState } from '#shared/config.ts';
import { type AlorExchange, API_GATEWAY_MAX_PAYLOAD_BYTES, BROKERS, type Broker, ENV } from '#shared/facts.ts';
import type { WebhookHandler } from '#shared/http/inbound/webhook-handler.ts';
import type { LocalEnvironment } from './environment.ts';
import type { LocalNotifications } from './notifications.ts';
import { ScenarioChangeSchema, type SetupCheck, SetupCheckQuerySchema } from './setup-check.ts';

/**
 * What the local server answers: `POST /alor` and `POST /tinkoff` as API Gateway would (an HTTP API payload 2.0
 * event to the function's exported handler, the gateway's own answers where no function answers), and the console
 * page with its API, to this machine only: its state, its session, "Check setup" (`GET /api/preflight`), the paper
 * brokers' failure scenarios (`POST /api/paper-scenario`), their orders, last prices, accounts and trading statuses
 * (`POST /api/paper/<broker>/…`), and the local run's kill switch (`POST /api/kill-switch`).
 */

/** Orders per paper book sent to the console. */
const BOOK_SHOWN = 200;
/** The console's changes (an order state, a scenario) are a few dozen bytes. */
const CONSOLE_CHANGE_MAX_BYTES = 1024;
const ORDER_STATE_PATH = /^\/api\/paper\/(alor|tinkoff)\/orders\/([^/]{1,64})$/;
const LAST_PRICE_PATH = /^\/api\/paper\/(alor|tinkoff)\/last-price$/;
const ACCOUNT_PATH = /^\/api\/paper\/(alor|tinkoff)\/account$/;
const TRADING_PATH = /^\/api\/paper\/(alor|tinkoff)\/trading$/;

/** API Gateway's own answers when no function answers. */
const NOT_FOUND = { message: 'Not Found' };
const TOO_LARGE = { message: 'Request Entity Too Large' };
const INTERNAL = { message: 'Internal Server Error' };

const CONSOLE_DIR = fileURLToPath(new URL('../console/', import.meta.url));
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

export interface RoutesOptions {
  readonly handlers: Readonly<Record<Broker, WebhookHandler>>;
  readonly environment: LocalEnvironment;
  readonly alorExchange: AlorExchange;
  readonly calls: CallLog;
  /** The Telegram messages of the run, for the console. */
  readonly notifications: Pick<LocalNotifications, 'messages' | 'reportFailure' | 'killSwitchTurned'>;
  /** The address the server listens on, for events whose caller address is unknown. */
  readonly host: string;
  /** The `Host` values this machine's own pages send: the console answers to these only. */
  readonly localHosts: () => ReadonlySet<string>;
  readonly setupCheck: SetupCheck;
}

export type Routes = (request: IncomingMessage, response: ServerResponse) => Promise<void>;

function send(response: ServerResponse, answer: GatewayAnswer): void {
  response.writeHead(answer.statusCode, { ...answer.headers, 'content-length': answer.body.byteLength });
  response.end(answer.body);
}

function sendJson(
  response: ServerResponse,
  statusCode: number,
  value: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  send(response, {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: Buffer.from(JSON.stringify(value), 'utf8'),
  });
}

/** A path segment's `%XX` escapes decoded; `undefined` for a malformed one (`%`, `%E0%A4%A`, `%FF`). */
function decodePathPart(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

export function createRoutes(options: RoutesOptions): Routes {
  const { handlers, environment, alorExchange, calls, notifications, host, localHosts, setupCheck } = options;
  const { modes, brokerUrls, paper } = environment;

  const invoke = async (broker: Broker, request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const receivedAt = new Date();
    const startedAt = performance.now();
    const body = await readRequestBody(request, API_GATEWAY_MAX_PAYLOAD_BYTES);
    // As the gateway does, before any function runs; the rest of the body is left unread, so the connection closes.
    if (body.tooLarge) return sendJson(response, 413, TOO_LARGE, { connection: 'close' });
    const event = toApiGatewayEvent({
      method: request.method ?? 'POST',
      url: request.url ?? '/',
      headers: request.headersDistinct,
      body: body.bytes,
      routeKey: `POST /${broker}`,
      sourceIp: request.socket.remoteAddress?.replace(/^::ffff:/, '') ?? host,
      protocol: `HTTP/${request.httpVersion}`,
      receivedAt,
    });
    let answer: GatewayAnswer;
    try {
      const result: APIGatewayProxyResultV2 = await handlers[broker](event);
      answer = fromApiGatewayResult(result);
    } catch {
      // As API Gateway answers a function error; the function logged its own line. Its alarm tells the trader.
      notifications.reportFailure(`${broker}-webhook`, 'error');
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
    messages: notifications.messages(),
    // Each paper account's positions, in lots (Alor by symbol, T-Invest by FIGI); null for a broker that is real here.
    positions: {
      alor:
        modes.alor === 'paper'
          ? (paper?.alor.positions(PAPER_ALOR.portfolio).map(({ instrument, lots }) => ({ instrument, lots })) ?? [])
          : null,
      tinkoff: modes.tinkoff === 'paper' ? (paper?.tinkoff.positions(PAPER_TINKOFF.accountId) ?? []) : null,
    },
    // Each paper account's money (what sizing and the day's-loss guard read); null for a broker that is real here.
    accounts: {
      alor: modes.alor === 'paper' ? (paper?.alor.money(PAPER_ALOR.portfolio) ?? null) : null,
      tinkoff: modes.tinkoff === 'paper' ? (paper?.tinkoff.money(PAPER_TINKOFF.accountId) ?? null) : null,
    },
    // The local run's kill switch (`KILL_SWITCH`, read by the functions at each signal).
    killSwitch: switchState(process.env[ENV.killSwitch]) ?? true,
  });

  /**
   * A console change to a paper broker: a small JSON object, or the answer already sent (404 for a broker that is real
   * here, 400 for anything else). JSON only, so a form on another site cannot send it.
   */
  const readPaperChange = async (
    broker: Broker,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<Record<string, unknown> | undefined> => {
    const body = await readRequestBody(request, CONSOLE_CHANGE_MAX_BYTES);
    if (modes[broker] !== 'paper' || paper === undefined) {
      sendJson(response, 404, NOT_FOUND);
      return undefined;
    }
    if (body.tooLarge || !String(request.headers['content-type']).startsWith('application/json')) {
      sendJson(response, 400, { message: 'a small JSON body is expected' }, { connection: 'close' });
      return undefined;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.bytes.toString('utf8'));
    } catch {
      sendJson(response, 400, { message: 'the body is not JSON' });
      return undefined;
    }
    // `null`, a number, an array: not the object asked for (a property read of `null` would throw).
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      sendJson(response, 400, { message: 'the body is not a JSON object' });
      return undefined;
    }
    return parsed as Record<string, unknown>;
  };

  const answerProblem = (response: ServerResponse, problem: string | undefined) =>
    problem === undefined ? sendJson(response, 200, { ok: true }) : sendJson(response, 400, { message: problem });

  /**
   * `POST /api/paper/<broker>/account` with any of `{"portfolioValue", "dailyResult", "cash"}` (roubles): the paper
   * account's money, as sizing (`vt`) and the day's-loss guard read it.
   */
  const setAccount = async (broker: Broker, request: IncomingMessage, response: ServerResponse) => {
    const change = await readPaperChange(broker, request, response);
    if (change === undefined || paper === undefined) return;
    const numbers = Object.entries(change).filter(([key]) => ['portfolioValue', 'dailyResult', 'cash'].includes(key));
    if (numbers.length !== Object.keys(change).length || numbers.some(([, value]) => typeof value !== 'number')) {
      return sendJson(response, 400, { message: 'expected numbers among {"portfolioValue", "dailyResult", "cash"}' });
    }
    const account = broker === 'alor' ? PAPER_ALOR.portfolio : PAPER_TINKOFF.accountId;
    return answerProblem(response, paper[broker].setMoney(account, Object.fromEntries(numbers)));
  };

  /**
   * `POST /api/paper/<broker>/trading` with `{"instrument", "trading"}`: whether the instrument trades now (at Alor on
   * both exchanges). The functions see it once the status they keep has expired (10 s).
   */
  const setTrading = async (broker: Broker, request: IncomingMessage, response: ServerResponse) => {
    const change = await readPaperChange(broker, request, response);
    if (change === undefined || paper === undefined) return;
    if (typeof change.instrument !== 'string' || change.instrument === '' || typeof change.trading !== 'boolean') {
      return sendJson(response, 400, { message: 'expected {"instrument": "<symbol or FIGI>", "trading": <boolean>}' });
    }
    if (broker === 'alor') {
      for (const exchange of ['MOEX', 'SPBX'] as const)
        paper.alor.setTrading(exchange, change.instrument, change.trading);
    } else {
      paper.tinkoff.setTrading(change.instrument, change.trading);
    }
    return sendJson(response, 200, { ok: true });
  };

  /**
   * `POST /api/paper/<broker>/last-price` with `{"instrument": …, "price": …}`: the price a paper market order fills at
   * (Alor by symbol, T-Invest by FIGI or uid). JSON only, as the order states.
   */
  const setLastPrice = async (broker: Broker, request: IncomingMessage, response: ServerResponse) => {
    const change = await readPaperChange(broker, request, response);
    if (change === undefined || paper === undefined) return;
    if (typeof change.instrument !== 'string' || change.instrument === '' || typeof change.price !== 'number') {
      return sendJson(response, 400, { message: 'expected {"instrument": "<symbol or FIGI>", "price": <number>}' });
    }
    return answerProblem(response, paper[broker].setLastPrice(change.instrument, change.price));
  };

  /**
   * `POST /api/paper/<broker>/orders/<id>` with `{"status": …, "filledLots"?: …}`: the console's buttons fill, partly
   * fill, reject or cancel a paper order. JSON only, so a form on another site cannot send it.
   */
  const changeOrderState = async (
    broker: Broker,
    orderId: string,
    request: IncomingMessage,
    response: ServerResponse,
  ) => {
    const change = await readPaperChange(broker, request, response);
    if (change === undefined || paper === undefined) return;
    const status = PAPER_ORDER_STATUSES.find((candidate) => candidate === change.status);
    if (status === undefined)
      return sendJson(response, 400, { message: `status: one of ${PAPER_ORDER_STATUSES.join(', ')}` });
    const filledLots = typeof change.filledLots === 'number' ? change.filledLots : undefined;
    return answerProblem(
      response,
      paper[broker].setOrderState(orderId, { status: status satisfies PaperOrderStatus, filledLots }),
    );
  };

  const session = (url: string) => ({
    // Only for this page on this machine: it sends test signals through the real webhook routes.
    secret: environment.secret,
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
    scenarios: setupCheck.scenarios(),
  });

  const checkSetup = async (url: URL, response: ServerResponse): Promise<void> => {
    const query = SetupCheckQuerySchema.safeParse(Object.fromEntries(url.searchParams));
    if (!query.success) return sendJson(response, 400, { message: 'broker is alor or tinkoff; lang ru or en' });
    sendJson(response, 200, await setupCheck.run(query.data));
  };

  /**
   * A change only this machine's page may make: the body is JSON (which a page elsewhere cannot send here without a
   * CORS preflight this server never grants), and an `Origin`, when sent, is the console's.
   */
  const fromThisConsole = (request: IncomingMessage) => {
    const origin = request.headers.origin;
    const fromConsole = origin === undefined || localHosts().has(origin.replace(/^https?:\/\//, ''));
    return fromConsole && String(request.headers['content-type']).startsWith('application/json');
  };

  /**
   * Only this machine's page may switch a scenario ({@link fromThisConsole}).
   */
  const changeScenario = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (!fromThisConsole(request)) {
      request.resume();
      return sendJson(response, 403, { message: 'Forbidden' });
    }
    const body = await readRequestBody(request, CONSOLE_CHANGE_MAX_BYTES);
    if (body.tooLarge) return sendJson(response, 413, TOO_LARGE, { connection: 'close' });
    let change: ReturnType<typeof ScenarioChangeSchema.safeParse>;
    try {
      change = ScenarioChangeSchema.safeParse(JSON.parse(body.bytes.toString('utf8')));
    } catch {
      return sendJson(response, 400, { message: 'not JSON' });
    }
    if (!change.success) return sendJson(response, 400, { message: 'expected {"broker", "scenario"}' });
    if (!setupCheck.setScenario(change.data)) {
      return sendJson(response, 409, { message: 'no such scenario for this broker, or the broker is real here' });
    }
    sendJson(response, 200, setupCheck.scenarios());
  };

  /**
   * `POST /api/kill-switch` with `{"on": true|false}`: the local run's kill switch, which the functions read at each
   * signal (`KILL_SWITCH`); turning it tells the Telegram chat. From this machine's page only, as a scenario switch.
   */
  const turnKillSwitch = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (!fromThisConsole(request)) {
      request.resume();
      return sendJson(response, 403, { message: 'Forbidden' });
    }
    const body = await readRequestBody(request, CONSOLE_CHANGE_MAX_BYTES);
    let change: unknown;
    try {
      change = body.tooLarge ? undefined : JSON.parse(body.bytes.toString('utf8'));
    } catch {
      change = undefined;
    }
    const on = (change as { on?: unknown } | undefined)?.on;
    if (typeof on !== 'boolean') return sendJson(response, 400, { message: 'expected {"on": true|false}' });
    const was = switchState(process.env[ENV.killSwitch]) ?? true;
    process.env[ENV.killSwitch] = on ? 'on' : 'off';
    if (was !== on) await notifications.killSwitchTurned(on);
    sendJson(response, 200, { killSwitch: on });
  };

  const serveConsole = async (path: string, response: ServerResponse): Promise<void> => {
    const entry = CONSOLE_FILES[path];
    if (entry === undefined) return sendJson(response, 404, NOT_FOUND);
    const content = await readFile(`${CONSOLE_DIR}${entry.file}`);
    send(response, { statusCode: 200, headers: { 'content-type': entry.type, ...CONSOLE_HEADERS }, body: content });
  };

  return async (request, response) => {
    try {
      const path = (request.url ?? '/').split('?')[0] ?? '/';
      const webhook = BROKERS.find((broker) => path === `/${broker}`);
      if (webhook !== undefined) {
        if (request.method === 'POST') return await invoke(webhook, request, response);
        request.resume();
        return sendJson(response, 404, NOT_FOUND);
      }
      // The console and its API answer only to this machine's names: a page elsewhere that rebinds its own
      // DNS name to 127.0.0.1 would send its own Host header and get nothing.
      if (!localHosts().has(request.headers.host ?? '')) {
        request.resume();
        return sendJson(response, 403, { message: 'Forbidden' });
      }
      if (request.method === 'POST' && path === '/api/paper-scenario') return await changeScenario(request, response);
      if (request.method === 'POST' && path === '/api/kill-switch') return await turnKillSwitch(request, response);
      const account = request.method === 'POST' ? ACCOUNT_PATH.exec(path) : null;
      if (account !== null) return await setAccount(account[1] as Broker, request, response);
      const trading = request.method === 'POST' ? TRADING_PATH.exec(path) : null;
      if (trading !== null) return await setTrading(trading[1] as Broker, request, response);
      const lastPrice = request.method === 'POST' ? LAST_PRICE_PATH.exec(path) : null;
      if (lastPrice !== null) return await setLastPrice(lastPrice[1] as Broker, request, response);
      const orderState = request.method === 'POST' ? ORDER_STATE_PATH.exec(path) : null;
      if (orderState !== null) {
        const [, broker, rawOrderId = ''] = orderState;
        const orderId = decodePathPart(rawOrderId);
        if (orderId === undefined) {
          request.resume();
          return sendJson(response, 400, { message: 'the order id is not a valid URL escape' });
        }
        return await changeOrderState(broker as Broker, orderId, request, response);
      }
      request.resume();
      if (request.method !== 'GET') return sendJson(response, 404, NOT_FOUND);
      if (path === '/api/state') return sendJson(response, 200, state());
      if (path === '/api/session') return sendJson(response, 200, session(`http://${request.headers.host}`));
      if (path === '/api/preflight')
        return await checkSetup(new URL(request.url ?? '/', 'http://console.local'), response);
      return await serveConsole(path, response);
    } catch {
      if (!response.headersSent) sendJson(response, 500, INTERNAL);
      else response.destroy();
    }
  };
}
