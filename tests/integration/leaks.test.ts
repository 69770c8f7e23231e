import { createHmac, randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fault, PAPER_ALOR, PAPER_INSTRUMENTS, PAPER_TINKOFF } from '#local/paper-broker/index.ts';
import { AlorClient } from '#shared/brokers/alor/client.ts';
import { loadAlorConfig } from '#shared/brokers/alor/config.ts';
import { createAlorHandler } from '#shared/brokers/alor/index.ts';
import type { BrokerClient, BrokerOrderCall } from '#shared/brokers/order-recipe.ts';
import { TinkoffV2Client } from '#shared/brokers/tinkoff/client.ts';
import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { createTinkoffHandler } from '#shared/brokers/tinkoff/index.ts';
import type { Broker } from '#shared/facts.ts';
import type { WebhookHandler } from '#shared/http/inbound/webhook-handler.ts';
import { createKeepAliveAgent } from '#shared/http/outbound/client.ts';
import { createDeadline } from '#shared/http/outbound/deadline.ts';
import type { StoreClients } from '#shared/store/sdk.ts';
import { loadedStoreSdk } from '#shared/store/sdk-modules.ts';
import { ValueStore } from '#shared/store/value-store.ts';
import { apiGatewayEvent } from '../helpers/events.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { allOutput } from '../helpers/logs.ts';
import { ORDERS } from '../helpers/resilience.ts';

/**
 * Secrets (docs/contract.md#logs-and-secrets): every secret and token is a unique canary; every scenario we can produce runs; all log output
 * (stdout and console), every answer and every error thrown is searched → no canary, no access token the paper
 * Alor issued, no `Authorization` value and no query string appears anywhere.
 *
 * Each test collects what it saw; `afterEach` searches it together with that test's captured output.
 */

const CANARY = {
  webhook: 'CANARY-webhook-7f3a9c1e5b2d',
  alorRefresh: 'CANARY-alor-refresh-4e8b2a6d0c1f',
  tinkoffToken: 'CANARY-tinvest-token-9d1c3b5a7e2f',
  /** Credentials the paper brokers do not know: their rejection paths. */
  alorRefreshRejected: 'CANARY-alor-refresh-rejected-2b4d6f8a',
  tinkoffTokenRejected: 'CANARY-tinvest-token-rejected-1a3c5e7b',
  /** A value a caller puts in a refused body: refusals name fields, never values. */
  bodyValue: 'CANARY-body-value-5c7e9a1b3d',
  /** What the secret store's errors quote (AWS error texts may name resources and values). */
  storeError: 'CANARY-store-error-text-6e8a0c2d',
} as const;
/** A webhook secret presented wrongly, sharing the real one as a prefix: a log of the attempt would show it. */
const NEAR_MISS = `${CANARY.webhook}x`;

const paper = usePaperBrokers({
  alor: { accounts: { [CANARY.alorRefresh]: [PAPER_ALOR.portfolio] }, instruments: PAPER_INSTRUMENTS.alor },
  tinkoff: { accounts: { [CANARY.tinkoffToken]: [PAPER_TINKOFF.accountId] }, instruments: PAPER_INSTRUMENTS.tinkoff },
});
const seen: string[] = [];

beforeEach(() => {
  seen.length = 0;
});
afterEach(() => {
  const output = allOutput();
  const haystack = [output, ...seen].join('\n');
  // The capture works: every handler answer came with its log line.
  if (seen.some((text) => text.startsWith('{"statusCode"'))) expect(output).toContain('"message":"webhook answered"');
  const needles = [
    ...Object.values(CANARY),
    NEAR_MISS,
    ...paper.alor.issuedAccessTokens,
    // The signature part alone, should a JWT ever be printed cut or wrapped.
    ...paper.alor.issuedAccessTokens.map((jwt) => jwt.split('.')[2] ?? jwt),
    // Any JWT header at all (base64url of `{"alg":`), and any Authorization value.
    'eyJhbGciOi',
    'Bearer',
    'secret=',
    'token=',
  ];
  for (const needle of needles) expect(haystack, `found ${needle}`).not.toContain(needle);
  expect(paper.alor.issuedAccessTokens.length + seen.length).toBeGreaterThan(0);
});

function env(broker: Broker, overrides: Record<string, string> = {}): Record<string, string> {
  const common = { WEBHOOK_SECRET: CANARY.webhook, BROKER_TIMEOUT_MS: '600' };
  return broker === 'alor'
    ? {
        ...common,
        ALOR_REFRESH_TOKEN: CANARY.alorRefresh,
        ALOR_PORTFOLIO: PAPER_ALOR.portfolio,
        ALOR_OAUTH_URL: paper.alor.url,
        ALOR_API_URL: paper.alor.url,
        ...overrides,
      }
    : {
        ...common,
        TINKOFF_TOKEN: CANARY.tinkoffToken,
        TINKOFF_ACCOUNT_ID: PAPER_TINKOFF.accountId,
        TINKOFF_API_URL: paper.tinkoff.v2Url,
        ...overrides,
      };
}

function handlerOf(broker: Broker, overrides: Record<string, string> = {}, store?: ValueStore): WebhookHandler {
  const deps = store === undefined ? {} : { store };
  return broker === 'alor'
    ? createAlorHandler(loadAlorConfig(env(broker, overrides)), deps)
    : createTinkoffHandler(loadTinkoffConfig(env(broker, overrides)), deps);
}

function signal(
  broker: Broker,
  body: unknown = ORDERS[broker],
  headers: Record<string, string> = { 'x-webhook-secret': CANARY.webhook },
) {
  return apiGatewayEvent({ route: `POST /${broker}`, body: JSON.stringify(body), headers });
}

/** Invokes and records the answer, or the error should the handler ever throw (it must not). */
async function invoke(handler: WebhookHandler, event: APIGatewayProxyEventV2): Promise<number> {
  try {
    const response = await handler(event);
    seen.push(JSON.stringify(response));
    return response.statusCode;
  } catch (error) {
    seen.push(errorText(error));
    throw error;
  }
}

/** Message, stack and every own property of an error and its causes. */
function errorText(error: unknown, depth = 0): string {
  if (!(error instanceof Error) || depth > 5) return String(error);
  const own = Object.getOwnPropertyNames(error).map((name) => {
    const value = (error as unknown as Record<string, unknown>)[name];
    return typeof value === 'object' ? safeJson(value) : String(value);
  });
  return [error.name, error.message, error.stack, ...own, errorText(error.cause, depth + 1)].join('\n');
}

/** An order call through a broker client whose broker is made to fail; a fresh request id for each. */
function failingOrderCall<TTerms>(credential: string, account: string, terms: TTerms): BrokerOrderCall<TTerms> {
  return { credential, account, terms, requestId: randomUUID(), deadline: createDeadline(400), dryRun: false };
}

/** Places the call, which must fail, and keeps the error's full text for the no-token check. */
async function recordFailure<TTerms>(client: BrokerClient<TTerms>, call: BrokerOrderCall<TTerms>): Promise<void> {
  const error = await client.placeLimitOrder(call).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(Error);
  seen.push(errorText(error));
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return String(value);
  }
}

describe.each(['alor', 'tinkoff'] as const)('%s webhook: no secret anywhere', (broker: Broker) => {
  it('on success, by header, by ?secret= and by signature, and on check', async () => {
    const handler = handlerOf(broker);
    const body = JSON.stringify(ORDERS[broker]);
    const signature = `sha256=${createHmac('sha256', CANARY.webhook).update(body).digest('hex')}`;

    const statuses = [
      await invoke(handler, signal(broker)),
      await invoke(handler, apiGatewayEvent({ route: `POST /${broker}`, body, query: { secret: CANARY.webhook } })),
      await invoke(
        handler,
        apiGatewayEvent({ route: `POST /${broker}`, body, headers: { 'x-hook-signature': signature } }),
      ),
      await invoke(handler, signal(broker, { check: true })),
      await invoke(handler, signal(broker, { ...ORDERS[broker], secret: CANARY.webhook }, {})),
      await invoke(handler, signal(broker, { check: true, secret: CANARY.webhook }, { 'content-type': 'text/plain' })),
    ];

    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
  });

  it('on 401: wrong, near-miss, empty and absent secrets, in every form', async () => {
    const handler = handlerOf(broker);
    const body = JSON.stringify(ORDERS[broker]);
    const forged = `sha256=${createHmac('sha256', NEAR_MISS).update(body).digest('hex')}`;
    const events = [
      signal(broker, ORDERS[broker], { 'x-webhook-secret': NEAR_MISS }),
      signal(broker, ORDERS[broker], { 'x-webhook-secret': '' }),
      apiGatewayEvent({ route: `POST /${broker}`, body, query: { secret: NEAR_MISS } }),
      apiGatewayEvent({ route: `POST /${broker}`, body, query: `secret=${NEAR_MISS}&secret=${CANARY.webhook}` }),
      apiGatewayEvent({ route: `POST /${broker}`, body, headers: { 'x-hook-signature': forged } }),
      apiGatewayEvent({ route: `POST /${broker}`, body, headers: { authorization: `Bearer ${CANARY.webhook}` } }),
      apiGatewayEvent({ route: `POST /${broker}`, body }),
      signal(broker, { ...ORDERS[broker], secret: NEAR_MISS }, {}),
      signal(broker, { ...ORDERS[broker], secret: { value: CANARY.webhook } }, {}),
      signal(broker, { ...ORDERS[broker], secret: CANARY.webhook }, { 'x-webhook-secret': NEAR_MISS }),
      apiGatewayEvent({ route: `POST /${broker}`, body: `{"secret":"${CANARY.webhook}",`, headers: {} }),
    ];

    const statuses = [];
    for (const event of events) statuses.push(await invoke(handler, event));

    expect(statuses).toEqual(Array(events.length).fill(401));
  });

  it('on refused payloads, including one that carries a secret-looking value', async () => {
    const handler = handlerOf(broker);
    const bodies: unknown[] = [
      { ...ORDERS[broker], t: `${CANARY.bodyValue}Ж` },
      { ...ORDERS[broker], p: CANARY.bodyValue },
      { ...ORDERS[broker], d: CANARY.bodyValue },
      { ...ORDERS[broker], id: `${CANARY.bodyValue}\u0001` },
      { ...ORDERS[broker], f: CANARY.bodyValue.repeat(3) },
      `{"t":"${CANARY.bodyValue}","__proto__":{"x":1}}`,
      // Authenticated by the header: a body secret is taken out whatever it holds, never reported.
      { ...ORDERS[broker], d: 'hold', secret: NEAR_MISS },
    ];

    const statuses = [];
    for (const body of bodies) {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      statuses.push(
        await invoke(
          handler,
          apiGatewayEvent({ route: `POST /${broker}`, body: text, headers: { 'x-webhook-secret': CANARY.webhook } }),
        ),
      );
    }
    statuses.push(
      await invoke(
        handler,
        apiGatewayEvent({
          route: `POST /${broker}`,
          body: JSON.stringify(ORDERS[broker]),
          headers: { 'x-webhook-secret': CANARY.webhook, 'idempotency-key': `${CANARY.bodyValue}${'k'.repeat(64)}` },
        }),
      ),
    );

    // Alor ignores f, so the long f is an order there.
    expect(statuses).toEqual(broker === 'alor' ? [400, 400, 400, 400, 200, 400, 400, 400] : Array(8).fill(400));
  });

  it('on 404s: credential or account not configured', async () => {
    const [credential, account] =
      broker === 'alor' ? ['ALOR_REFRESH_TOKEN', 'ALOR_PORTFOLIO'] : ['TINKOFF_TOKEN', 'TINKOFF_ACCOUNT_ID'];

    const statuses = [
      await invoke(handlerOf(broker, { [credential]: '' }), signal(broker)),
      await invoke(handlerOf(broker, { [account]: '' }), signal(broker)),
    ];

    expect(statuses).toEqual([404, 404]);
  });

  it('on a credential the broker rejects, and on a refusal by the broker', async () => {
    const rejected: Record<string, string> =
      broker === 'alor'
        ? { ALOR_REFRESH_TOKEN: CANARY.alorRefreshRejected }
        : { TINKOFF_TOKEN: CANARY.tinkoffTokenRejected };
    const unknown = broker === 'alor' ? { ...ORDERS.alor, t: 'NOPE' } : { ...ORDERS.tinkoff, f: 'BBG000000000' };

    const statuses = [
      await invoke(handlerOf(broker, rejected), signal(broker)),
      await invoke(handlerOf(broker), signal(broker, unknown)),
    ];

    expect(statuses).toEqual([broker === 'alor' ? 403 : 400, 400]);
  });

  it('on every broker fault', async () => {
    const faults: Fault[] = [
      { kind: 'hang-before-headers' },
      { kind: 'hang-mid-body' },
      { kind: 'reset' },
      { kind: 'status', status: 500, body: `{"message":"internal"}` },
      { kind: 'status', status: 502, body: '<html>bad gateway</html>', contentType: 'text/html' },
      { kind: 'status', status: 429, body: '' },
      { kind: 'status', status: 200, body: '{"message":' },
      { kind: 'huge-body', bytes: 2 * 1024 * 1024 },
    ];
    const routes = broker === 'alor' ? ['refresh', 'order'] : ['order'];
    const statuses = [];

    for (const route of routes) {
      for (const fault of faults) {
        paper[broker].injectFault({ route, fault, times: 2 });
        statuses.push(await invoke(handlerOf(broker), signal(broker)));
        paper[broker].clearFaults();
      }
    }

    expect(statuses.every((status) => status === 502 || status === 504)).toBe(true);
  });

  it('in a dry run', async () => {
    expect(await invoke(handlerOf(broker, { DRY_RUN: 'true' }), signal(broker))).toBe(200);
  });

  it('on T-Invest API v1, and on an Alor token revoked early', async () => {
    if (broker === 'tinkoff') {
      const v1 = { TINKOFF_API: 'v1', TINKOFF_API_URL: paper.tinkoff.url };
      const statuses = [
        await invoke(handlerOf(broker, v1), signal(broker)),
        await invoke(handlerOf(broker, { ...v1, TINKOFF_TOKEN: CANARY.tinkoffTokenRejected }), signal(broker)),
      ];
      expect(statuses).toEqual([200, 400]);
    } else {
      const handler = handlerOf(broker);
      await invoke(handler, signal(broker));
      paper.alor.revokeAccessTokens();
      expect(await invoke(handler, signal(broker))).toBe(200);
    }
  });
});

/** Secrets Manager and SSM stand-ins whose failures quote secret ids and values, as AWS error texts can. */
function storeWith(values: Record<string, string>, failing: ReadonlySet<string> = new Set()) {
  const reads: string[] = [];
  const answer = async (id: string) => {
    reads.push(id);
    if (failing.has(id)) {
      const error = new Error(`User is not authorized to read ${id}: ${CANARY.storeError} ${values[id] ?? ''}`);
      error.name = 'AccessDeniedException';
      throw Object.assign(error, { $metadata: { httpStatusCode: 400 }, Value: values[id] });
    }
    return values[id];
  };
  const clients = {
    secretsManager: {
      send: async (command: { input: { SecretId: string } }) => ({
        SecretString: await answer(command.input.SecretId),
      }),
    },
    ssm: {
      send: async (command: { input: { Name: string } }) => ({
        Parameter: { Value: await answer(command.input.Name) },
      }),
    },
  } as unknown as StoreClients;
  return { store: new ValueStore({ ttlMs: 60_000, sdk: loadedStoreSdk, clients: () => clients }), reads };
}

describe.each(['alor', 'tinkoff'] as const)('%s webhook: secrets from the store', (broker: Broker) => {
  const ids: Record<string, string> =
    broker === 'alor'
      ? {
          WEBHOOK_SECRET_ID: 'webhook-id',
          ALOR_REFRESH_TOKEN_SECRET_ID: 'credential-id',
          ALOR_PORTFOLIO_PARAMETER: 'account-param',
        }
      : {
          WEBHOOK_SECRET_ID: 'webhook-id',
          TINKOFF_TOKEN_SECRET_ID: 'credential-id',
          TINKOFF_ACCOUNT_ID_PARAMETER: 'account-param',
        };
  const values = {
    'webhook-id': CANARY.webhook,
    'credential-id': broker === 'alor' ? CANARY.alorRefresh : CANARY.tinkoffToken,
    'account-param': broker === 'alor' ? PAPER_ALOR.portfolio : PAPER_TINKOFF.accountId,
  };

  it('reads no secret but the webhook secret before the caller is authenticated', async () => {
    const { store, reads } = storeWith(values);
    const handler = handlerOf(broker, ids, store);

    const status = await invoke(handler, signal(broker, ORDERS[broker], { 'x-webhook-secret': NEAR_MISS }));

    expect(status).toBe(401);
    expect(reads).toEqual(['webhook-id']);
  });

  it('trades with store values, and answers 500 with no AWS error text when a read fails', async () => {
    const ok = storeWith(values);
    const webhookFails = storeWith(values, new Set(['webhook-id']));
    const credentialFails = storeWith(values, new Set(['credential-id']));
    const accountFails = storeWith(values, new Set(['account-param']));

    const statuses = [
      await invoke(handlerOf(broker, ids, ok.store), signal(broker)),
      await invoke(handlerOf(broker, ids, webhookFails.store), signal(broker)),
      await invoke(handlerOf(broker, ids, credentialFails.store), signal(broker)),
      await invoke(handlerOf(broker, ids, accountFails.store), signal(broker)),
    ];

    expect(statuses).toEqual([200, 500, 500, 500]);
    expect(seen.join('\n')).not.toContain('AccessDenied');
  });
});

describe('errors thrown below the handler', () => {
  const faults: [string, Fault][] = [
    ['refresh', { kind: 'reset' }],
    ['refresh', { kind: 'hang-before-headers' }],
    ['refresh', { kind: 'status', status: 403, body: '' }],
    ['refresh', { kind: 'huge-body', bytes: 2 * 1024 * 1024 }],
    ['order', { kind: 'reset' }],
    ['order', { kind: 'hang-mid-body' }],
    ['order', { kind: 'status', status: 401, body: '' }],
    ['order', { kind: 'status', status: 502, body: '<html></html>', contentType: 'text/html' }],
  ];

  it.each(faults)('hold no token: Alor client, %s fault %o', async (route, fault) => {
    const client = new AlorClient({
      dispatcher: createKeepAliveAgent(),
      oauthUrl: paper.alor.url,
      apiUrl: paper.alor.url,
    });
    paper.alor.injectFault({ route, fault, times: 2 });

    await recordFailure(
      client,
      failingOrderCall(CANARY.alorRefresh, PAPER_ALOR.portfolio, {
        symbol: 'AAPL',
        exchange: 'SPBX',
        side: 'buy',
        lots: 1,
        price: '1',
      }),
    );
  });

  it.each(faults.filter(([route]) => route === 'order'))(
    'hold no token: T-Invest client, %s fault %o',
    async (route, fault) => {
      const client = new TinkoffV2Client({ dispatcher: createKeepAliveAgent(), apiUrl: paper.tinkoff.v2Url });
      paper.tinkoff.injectFault({ route, fault, times: 2 });

      await recordFailure(
        client,
        failingOrderCall(CANARY.tinkoffToken, PAPER_TINKOFF.accountId, {
          figi: 'BBG004730N88',
          side: 'buy',
          lots: 1,
          price: '1',
        }),
      );
    },
  );

  it('hold no value: configuration errors name the variable only', () => {
    const attempts = [
      () => loadAlorConfig({ BROKER_TIMEOUT_MS: CANARY.alorRefresh }),
      () => loadAlorConfig({ ALOR_EXCHANGE: CANARY.alorRefresh }),
      () => loadAlorConfig({ ALOR_OAUTH_URL: CANARY.alorRefresh }),
      () => loadTinkoffConfig({ TINKOFF_API: CANARY.tinkoffToken }),
      () => loadTinkoffConfig({ TINKOFF_API_URL: `ftp://${CANARY.tinkoffToken}@example.com` }),
      () => loadTinkoffConfig({ DRY_RUN: CANARY.tinkoffToken }),
    ];

    for (const attempt of attempts) {
      expect(attempt).toThrow(/Invalid configuration/);
      try {
        attempt();
      } catch (error) {
        seen.push(errorText(error));
      }
    }
  });
});
