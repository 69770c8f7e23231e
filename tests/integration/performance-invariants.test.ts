import diagnosticsChannel from 'node:diagnostics_channel';
import { Agent, buildConnector, Dispatcher } from 'undici';
import undiciRequest from 'undici/lib/api/api-request.js';
import buildUndiciConnector from 'undici/lib/core/connect.js';
import UndiciAgent from 'undici/lib/dispatcher/agent.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FakeAwsStore, GET_PARAMETER, GET_SECRET_VALUE, startFakeAwsStore } from '#local/aws-store.ts';
import { PAPER_ALOR, PAPER_TINKOFF, type PaperBrokers, startPaperBrokers } from '#local/paper-broker/index.ts';
import type { Broker } from '#shared/facts.ts';
import { warmUpHttpClient } from '#shared/http/outbound/client.ts';
import { apiGatewayEvent } from '../helpers/events.ts';
import { importHandler } from '../helpers/handlers.ts';

/**
 * What `npm run bench` relies on, pinned with counts (never times): one broker request and no new connection per
 * warm order, the Alor access token reused, and the init phase reading exactly the webhook secret and the account
 * parameter, never a broker token. The timings themselves are the benchmark's business.
 */

const WEBHOOK_SECRET = 'perf-invariants-webhook-secret-1';
const IDS = {
  webhookSecret: 'ppp/webhook-secret',
  alorToken: 'ppp/alor-refresh-token',
  alorPortfolio: '/ppp/alor/portfolio',
  tinkoffToken: 'ppp/tinkoff-token',
  tinkoffAccount: '/ppp/tinkoff/account-id',
};
const ORDERS = {
  alor: { t: 'AAPL', p: '190.5', v: 1, d: 'buy' },
  tinkoff: { t: 'AAPL', p: '190.5', v: 1, d: 'buy', f: 'BBG000B9XRY4' },
};

let paper: PaperBrokers;
let store: FakeAwsStore;

beforeAll(async () => {
  [paper, store] = await Promise.all([
    startPaperBrokers(),
    startFakeAwsStore({
      secrets: {
        [IDS.webhookSecret]: WEBHOOK_SECRET,
        [IDS.alorToken]: PAPER_ALOR.refreshToken,
        [IDS.tinkoffToken]: PAPER_TINKOFF.token,
      },
      parameters: { [IDS.alorPortfolio]: PAPER_ALOR.portfolio, [IDS.tinkoffAccount]: PAPER_TINKOFF.accountId },
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([paper.close(), store.close()]);
});

beforeEach(() => {
  store.failWith(undefined);
  store.resetRequests();
  paper.alor.resetStats();
  paper.tinkoff.resetStats();
  for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', 'AWS_ENDPOINT_URL']) {
    vi.stubEnv(name, undefined);
  }
});

/** A cold container of the function, configured as deployed: every value from the (fake) store. */
function coldContainer(broker: Broker) {
  const common = { ...store.env(), WEBHOOK_SECRET_ID: IDS.webhookSecret };
  return importHandler(
    broker,
    broker === 'alor'
      ? {
          ...common,
          ALOR_REFRESH_TOKEN_SECRET_ID: IDS.alorToken,
          ALOR_PORTFOLIO_PARAMETER: IDS.alorPortfolio,
          ALOR_OAUTH_URL: paper.alor.url,
          ALOR_API_URL: paper.alor.url,
        }
      : {
          ...common,
          TINKOFF_TOKEN_SECRET_ID: IDS.tinkoffToken,
          TINKOFF_ACCOUNT_ID_PARAMETER: IDS.tinkoffAccount,
          TINKOFF_API_URL: paper.tinkoff.v2Url,
        },
  );
}

function signal(broker: Broker, body: unknown, secret = WEBHOOK_SECRET) {
  return apiGatewayEvent({
    route: `POST /${broker}`,
    body: JSON.stringify(body),
    headers: { 'x-webhook-secret': secret },
  });
}

/** The store reads so far, as `target id` strings, in any order. */
function storeReads(): string[] {
  return store.requests.map((request) => `${request.target} ${request.id}`).sort();
}

describe('warm orders', () => {
  it('Alor: refreshes the access token once and opens one connection for five back-to-back orders', async () => {
    const handler = await coldContainer('alor');

    const answers = [];
    for (let i = 0; i < 5; i += 1) answers.push((await handler(signal('alor', ORDERS.alor))).statusCode);

    expect(answers).toEqual([200, 200, 200, 200, 200]);
    expect(paper.alor.stats.byRoute).toEqual({ refresh: 1, order: 5 });
    // Refresh and orders go to one paper server (one origin): one keep-alive connection for all six requests.
    expect(paper.alor.stats.connections).toBe(1);
  });

  it('T-Invest: one broker request per order and one connection for five back-to-back orders', async () => {
    const handler = await coldContainer('tinkoff');

    const answers = [];
    for (let i = 0; i < 5; i += 1) answers.push((await handler(signal('tinkoff', ORDERS.tinkoff))).statusCode);

    expect(answers).toEqual([200, 200, 200, 200, 200]);
    expect(paper.tinkoff.stats.requests).toBe(5);
    expect(paper.tinkoff.stats.connections).toBe(1);
  });
});

describe.each(['alor', 'tinkoff'] as const)('%s init phase', (broker) => {
  const token = broker === 'alor' ? IDS.alorToken : IDS.tinkoffToken;
  const account = broker === 'alor' ? IDS.alorPortfolio : IDS.tinkoffAccount;

  it('reads the webhook secret and the account parameter, once each, and no broker token', async () => {
    await coldContainer(broker);

    expect(storeReads()).toEqual([`${GET_PARAMETER} ${account}`, `${GET_SECRET_VALUE} ${IDS.webhookSecret}`].sort());
  });

  it('lets a check answer with no store read, and the first order read only the broker token', async () => {
    const handler = await coldContainer(broker);
    store.resetRequests();

    expect((await handler(signal(broker, { check: true }))).statusCode).toBe(200);
    expect(storeReads()).toEqual([]);
    expect((await handler(signal(broker, ORDERS[broker]))).statusCode).toBe(200);
    expect(storeReads()).toEqual([`${GET_SECRET_VALUE} ${token}`]);
  });

  it('reads no broker token for an unauthenticated first call', async () => {
    const handler = await coldContainer(broker);

    expect((await handler(signal(broker, ORDERS[broker], 'wrong-secret'))).statusCode).toBe(401);
    expect(store.count(GET_SECRET_VALUE, token)).toBe(0);
  });

  it('still loads when the store fails at init, and the first call reads the webhook secret again', async () => {
    store.failWith('InternalServiceError');
    const handler = await coldContainer(broker);
    store.failWith(undefined);
    store.resetRequests();

    expect((await handler(signal(broker, { check: true }))).statusCode).toBe(200);
    expect(storeReads()).toEqual([`${GET_SECRET_VALUE} ${IDS.webhookSecret}`]);
  });
});

describe('the HTTP client warm-up at init', () => {
  const openTcpHandles = () =>
    process.getActiveResourcesInfo().filter((name) => name === 'TCPServerWrap' || name === 'TCPSocketWrap').length;

  it('sends one request, to a responder of its own on loopback, and leaves no server or socket open', async () => {
    const origins: string[] = [];
    const methods: string[] = [];
    const onCreate = (message: unknown) => {
      const { request } = message as { request: { origin: string; method: string } };
      origins.push(request.origin);
      methods.push(request.method);
    };
    const before = openTcpHandles();
    diagnosticsChannel.subscribe('undici:request:create', onCreate);
    try {
      await warmUpHttpClient(1000);
    } finally {
      diagnosticsChannel.unsubscribe('undici:request:create', onCreate);
    }

    // A closed handle is released in the close phase of the event loop's next turn.
    for (let turn = 0; turn < 2; turn += 1) await new Promise((resolve) => setImmediate(resolve));

    expect(origins).toHaveLength(1);
    expect(origins[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // A POST with a body, as an order is: undici's path for a request body runs once too.
    expect(methods).toEqual(['POST']);
    expect(openTcpHandles()).toBe(before);
  });

  it("formats no error's stack: with --enable-source-maps, the first one would read the bundle's source map", async () => {
    const formatted: unknown[] = [];
    const previous = Error.prepareStackTrace;
    Error.prepareStackTrace = (error, frames) => {
      formatted.push(error);
      return previous === undefined ? `${error}\n${frames.join('\n')}` : previous(error, frames);
    };
    try {
      await warmUpHttpClient(1000);
      for (let turn = 0; turn < 2; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    } finally {
      Error.prepareStackTrace = previous;
    }

    expect(formatted).toEqual([]);
  });

  it('never throws, even when its deadline has passed before it starts', async () => {
    await expect(warmUpHttpClient(0)).resolves.toBeUndefined();
  });
});

describe('undici modules imported directly, not through its index', () => {
  it('are what undici exports: the Agent and connector (shared/http/outbound/client.ts), request (bench/floor.ts)', () => {
    expect(UndiciAgent).toBe(Agent);
    expect(buildUndiciConnector).toBe(buildConnector);
    expect(undiciRequest).toBe(Dispatcher.prototype.request);
  });
});
