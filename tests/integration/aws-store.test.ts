import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FakeAwsStore, GET_PARAMETER, GET_SECRET_VALUE, startFakeAwsStore } from '#local/aws-store.ts';
import { loadAlorConfig } from '#shared/brokers/alor/config.ts';
import { createAlorHandler } from '#shared/brokers/alor/index.ts';
import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { createTinkoffHandler } from '#shared/brokers/tinkoff/index.ts';
import { loadedStoreSdk } from '#shared/store/sdk-modules.ts';
import { ValueStore } from '#shared/store/value-store.ts';
import { apiGatewayEvent } from '../helpers/events.ts';
import { allOutput, logLines } from '../helpers/logs.ts';
import { useMockAgent } from '../helpers/mock-agent.ts';

/**
 * The handlers with the real @aws-sdk/client-secrets-manager and @aws-sdk/client-ssm clients, against the
 * fake AWS store of local/aws-store.ts on 127.0.0.1: what the deployed functions do with their secrets and
 * parameters, down to the AWS JSON protocol. Dry runs and a MockAgent stand in for the brokers.
 */

const WEBHOOK_SECRET_ID = 'ppp/webhook-secret';
const ALOR_TOKEN_ID = 'ppp/alor-refresh-token';
const ALOR_PORTFOLIO_PARAMETER = '/ppp/alor/portfolio';
const TINKOFF_TOKEN_ID = 'ppp/tinkoff-token';
const TINKOFF_ACCOUNT_PARAMETER = '/ppp/tinkoff/account-id';

const WEBHOOK_SECRET = 'JP-store-webhook-secret-1';
const ALOR_REFRESH_TOKEN = 'alor-refresh-from-store-7c1d';
const TINKOFF_TOKEN = 't.tinkoff-token-from-store-9e2b';
const ORDER = { t: 'BRK.B', p: '300.5', v: 2, d: 'buy', f: 'BBG000MM2P62' };
const ALOR_ORIGIN = 'https://oauth.alor.test';

let store: FakeAwsStore;
const agent = useMockAgent();

beforeAll(async () => {
  store = await startFakeAwsStore();
});
afterAll(async () => {
  await store.close();
});

beforeEach(() => {
  store.failWith(undefined);
  store.resetRequests();
  store.setSecret(WEBHOOK_SECRET_ID, WEBHOOK_SECRET);
  store.setSecret(ALOR_TOKEN_ID, ALOR_REFRESH_TOKEN);
  store.setParameter(ALOR_PORTFOLIO_PARAMETER, 'D71111');
  store.setSecret(TINKOFF_TOKEN_ID, TINKOFF_TOKEN);
  store.setParameter(TINKOFF_ACCOUNT_PARAMETER, '2000123456');
  useStoreAt(store.env());
});

/** Points the SDK clients (built on the first store read of each handler) at an endpoint. */
function useStoreAt(env: Record<string, string>): void {
  for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS', 'AWS_ENDPOINT_URL']) {
    vi.stubEnv(name, undefined);
  }
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
}

const ALOR_ENV = {
  WEBHOOK_SECRET_ID,
  ALOR_REFRESH_TOKEN_SECRET_ID: ALOR_TOKEN_ID,
  ALOR_PORTFOLIO_PARAMETER,
  ALOR_OAUTH_URL: ALOR_ORIGIN,
  ALOR_API_URL: 'https://api.alor.test',
  DRY_RUN: 'true',
};
const TINKOFF_ENV = {
  WEBHOOK_SECRET_ID,
  TINKOFF_TOKEN_SECRET_ID: TINKOFF_TOKEN_ID,
  TINKOFF_ACCOUNT_ID_PARAMETER: TINKOFF_ACCOUNT_PARAMETER,
  TINKOFF_API_URL: 'https://invest.tinkoff.test/rest',
  DRY_RUN: 'true',
};

function alorHandler(env: Record<string, string> = {}) {
  return createAlorHandler(loadAlorConfig({ ...ALOR_ENV, ...env }), { dispatcher: agent() });
}

function tinkoffHandler(env: Record<string, string> = {}, store?: ValueStore) {
  return createTinkoffHandler(loadTinkoffConfig({ ...TINKOFF_ENV, ...env }), { dispatcher: agent(), store });
}

function signal(route: 'POST /alor' | 'POST /tinkoff', body: unknown = ORDER, secret = WEBHOOK_SECRET) {
  return apiGatewayEvent({ route, body: JSON.stringify(body), headers: { 'x-webhook-secret': secret } });
}

function answerOf(response: { statusCode: number; body: string }) {
  return { status: response.statusCode, body: response.body };
}

/** A JWT that expires in an hour. */
function accessToken(): string {
  const claims = Buffer.from(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url');
  return `eyJhbGciOiJSUzI1NiJ9.${claims}.c2lnbmF0dXJl`;
}

/** Alor's refresh endpoint, answering only for the refresh token read from the store. */
function expectAlorRefresh(): void {
  agent()
    .get(ALOR_ORIGIN)
    .intercept({ path: '/refresh', method: 'POST', query: { token: ALOR_REFRESH_TOKEN } })
    .reply(200, { AccessToken: accessToken() });
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function expectNoSecretsInLogs(): void {
  const output = allOutput();
  for (const value of [WEBHOOK_SECRET, ALOR_REFRESH_TOKEN, TINKOFF_TOKEN]) expect(output).not.toContain(value);
}

describe('webhook secret from Secrets Manager', () => {
  it('accepts a call with the stored secret (Alor dry run: secrets read, token refreshed, no order)', async () => {
    expectAlorRefresh();

    const response = await alorHandler()(signal('POST /alor'));

    expect(answerOf(response)).toEqual({ status: 200, body: '200 OK' });
    expect(store.count(GET_SECRET_VALUE, WEBHOOK_SECRET_ID)).toBe(1);
    expect(store.count(GET_SECRET_VALUE, ALOR_TOKEN_ID)).toBe(1);
    expect(store.count(GET_PARAMETER, ALOR_PORTFOLIO_PARAMETER)).toBe(1);
    expect(logLines()).toContainEqual(expect.objectContaining({ outcome: 'dry-run', status: 200, dryRun: true }));
    expectNoSecretsInLogs();
  });

  it('accepts a call with the stored secret (Tinkoff dry run: secrets read, nothing sent)', async () => {
    const response = await tinkoffHandler()(signal('POST /tinkoff'));

    expect(answerOf(response)).toEqual({ status: 200, body: '200 OK' });
    expect(store.count(GET_SECRET_VALUE, TINKOFF_TOKEN_ID)).toBe(1);
    expect(store.count(GET_PARAMETER, TINKOFF_ACCOUNT_PARAMETER)).toBe(1);
    expectNoSecretsInLogs();
  });

  it.each([
    ['Alor', 'POST /alor', alorHandler],
    ['Tinkoff', 'POST /tinkoff', tinkoffHandler],
  ] as const)(
    '%s: denies a wrong secret with 401 and reads no secret beyond the webhook secret',
    async (_b, route, build) => {
      const response = await build()(signal(route, ORDER, 'JP-wrong-secret-000000'));

      expect(answerOf(response)).toEqual({ status: 401, body: 'Unauthorized' });
      expect(store.requests).toEqual([{ target: GET_SECRET_VALUE, id: WEBHOOK_SECRET_ID, via: 'api' }]);
      expectNoSecretsInLogs();
    },
  );

  it('denies every call with 401 when the webhook secret is absent from the store', async () => {
    store.setSecret(WEBHOOK_SECRET_ID, undefined);

    const response = await tinkoffHandler()(signal('POST /tinkoff', { check: true }, ''));

    expect(answerOf(response)).toEqual({ status: 401, body: 'Unauthorized' });
    expect(store.requests).toEqual([{ target: GET_SECRET_VALUE, id: WEBHOOK_SECRET_ID, via: 'api' }]);
  });

  it('accepts any value of a JSON-array secret (rotation)', async () => {
    store.setSecret(WEBHOOK_SECRET_ID, JSON.stringify(['JP-old-secret-00001', WEBHOOK_SECRET]));
    const handler = tinkoffHandler();

    const withOld = await handler(signal('POST /tinkoff', { check: true }, 'JP-old-secret-00001'));
    const withNew = await handler(signal('POST /tinkoff', { check: true }, WEBHOOK_SECRET));

    expect(answerOf(withOld)).toEqual({ status: 200, body: '200 OK' });
    expect(answerOf(withNew)).toEqual({ status: 200, body: '200 OK' });
    expect(allOutput()).not.toContain('JP-old-secret-00001');
  });

  it('answers check: true after reading only the webhook secret', async () => {
    const response = await alorHandler()(signal('POST /alor', { check: true }));

    expect(answerOf(response)).toEqual({ status: 200, body: '200 OK' });
    expect(store.requests).toEqual([{ target: GET_SECRET_VALUE, id: WEBHOOK_SECRET_ID, via: 'api' }]);
  });

  it('reads each value once per container: a second call is served from the cache', async () => {
    const handler = tinkoffHandler();

    await handler(signal('POST /tinkoff'));
    await handler(signal('POST /tinkoff'));

    expect(store.count(GET_SECRET_VALUE, WEBHOOK_SECRET_ID)).toBe(1);
    expect(store.count(GET_SECRET_VALUE, TINKOFF_TOKEN_ID)).toBe(1);
    expect(store.count(GET_PARAMETER, TINKOFF_ACCOUNT_PARAMETER)).toBe(1);
  });
});

describe('source allow-list (ALLOWED_SOURCE_IPS): refused before the store is read', () => {
  const from = (sourceIp: string, route: 'POST /alor' | 'POST /tinkoff' = 'POST /alor', body: unknown = ORDER) =>
    apiGatewayEvent({ route, body: JSON.stringify(body), headers: { 'x-webhook-secret': WEBHOOK_SECRET }, sourceIp });

  it.each([
    ['Alor', 'POST /alor', alorHandler],
    ['Tinkoff', 'POST /tinkoff', tinkoffHandler],
  ] as const)(
    '%s: answers a call from elsewhere 403 "Forbidden" without reading any secret',
    async (_b, route, build) => {
      const response = await build({ ALLOWED_SOURCE_IPS: 'tradingview' })(from('203.0.113.7', route));

      expect(response).toMatchObject({
        statusCode: 403,
        body: 'Forbidden',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      });
      expect(store.requests).toEqual([]);
      expect(logLines()).toEqual([
        expect.objectContaining({ status: 403, outcome: 'forbidden-source', sourceIp: '203.0.113.7' }),
      ]);
    },
  );

  it('refuses a call from elsewhere whatever it presents: the right secret, a check, no body', async () => {
    const handler = alorHandler({ ALLOWED_SOURCE_IPS: '52.89.214.238, 10.0.0.0/8' });
    const events = [
      from('52.89.214.239'),
      from('11.0.0.1', 'POST /alor', { check: true }),
      apiGatewayEvent({ route: 'POST /alor', body: undefined, sourceIp: '2001:db8::1' }),
    ];

    const statuses = [];
    for (const event of events) statuses.push((await handler(event)).statusCode);

    expect(statuses).toEqual([403, 403, 403]);
    expect(store.requests).toEqual([]);
  });

  it.each([
    ['one of TradingView’s addresses, with the preset', { ALLOWED_SOURCE_IPS: 'tradingview' }, '54.218.53.128'],
    ['an address in a listed range', { ALLOWED_SOURCE_IPS: '10.0.0.0/8' }, '10.1.2.3'],
    ['any address, with the setting unset', {}, '203.0.113.7'],
    ['any address, with the setting empty', { ALLOWED_SOURCE_IPS: '' }, '198.51.100.1'],
  ])('goes on as before for %s', async (_case, env, sourceIp) => {
    expectAlorRefresh();

    const response = await alorHandler(env)(from(sourceIp));

    expect(answerOf(response)).toEqual({ status: 200, body: '200 OK' });
    expect(store.count(GET_SECRET_VALUE, WEBHOOK_SECRET_ID)).toBe(1);
    expect(logLines()).toContainEqual(expect.objectContaining({ outcome: 'dry-run', auth: 'header' }));
  });

  it('still checks the secret of a call from a listed address', async () => {
    const response = await tinkoffHandler({ ALLOWED_SOURCE_IPS: 'tradingview' })(
      apiGatewayEvent({
        route: 'POST /tinkoff',
        body: JSON.stringify(ORDER),
        headers: { 'x-webhook-secret': 'JP-wrong-secret-000000' },
        sourceIp: '52.32.178.7',
      }),
    );

    expect(answerOf(response)).toEqual({ status: 401, body: 'Unauthorized' });
    expect(store.requests).toEqual([{ target: GET_SECRET_VALUE, id: WEBHOOK_SECRET_ID, via: 'api' }]);
  });
});

describe('broker credentials from the store: the 404 rows', () => {
  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['blank', ' \n'],
  ])(
    'Alor: answers a refresh token that is %s with 404 "Не задан refresh-токен Alor Open API"',
    async (_case, value) => {
      store.setSecret(ALOR_TOKEN_ID, value);

      const response = await alorHandler()(signal('POST /alor'));

      expect(answerOf(response)).toEqual({ status: 404, body: 'Не задан refresh-токен Alor Open API' });
    },
  );

  it.each([
    ['absent', undefined],
    ['empty', ''],
  ])('Tinkoff: answers a trading token that is %s with 404 "Не задан торговый токен"', async (_case, value) => {
    store.setSecret(TINKOFF_TOKEN_ID, value);

    const response = await tinkoffHandler()(signal('POST /tinkoff'));

    expect(answerOf(response)).toEqual({ status: 404, body: 'Не задан торговый токен' });
  });

  it('Alor: answers an absent portfolio parameter with 404 "Не задан портфель ФР Alor"', async () => {
    store.setParameter(ALOR_PORTFOLIO_PARAMETER, undefined);

    const response = await alorHandler()(signal('POST /alor'));

    expect(answerOf(response)).toEqual({ status: 404, body: 'Не задан портфель ФР Alor' });
  });

  it('Tinkoff: answers an absent account parameter with 404 "Не задан номер счёта"', async () => {
    store.setParameter(TINKOFF_ACCOUNT_PARAMETER, undefined);

    const response = await tinkoffHandler()(signal('POST /tinkoff'));

    expect(answerOf(response)).toEqual({ status: 404, body: 'Не задан номер счёта' });
  });

  it('answers a missing token before a missing account', async () => {
    store.setSecret(TINKOFF_TOKEN_ID, undefined);
    store.setParameter(TINKOFF_ACCOUNT_PARAMETER, undefined);

    const response = await tinkoffHandler()(signal('POST /tinkoff'));

    expect(answerOf(response)).toEqual({ status: 404, body: 'Не задан торговый токен' });
  });

  it('answers a bad payload with 400 before reading any broker credential', async () => {
    const response = await alorHandler()(signal('POST /alor', { ...ORDER, v: 'abc' }));

    expect(answerOf(response)).toEqual({ status: 400, body: 'Некорректные данные в заявке' });
    expect(store.requests).toEqual([{ target: GET_SECRET_VALUE, id: WEBHOOK_SECRET_ID, via: 'api' }]);
  });
});

describe('store failures', () => {
  it.each([
    ['Alor', 'POST /alor', alorHandler],
    ['Tinkoff', 'POST /tinkoff', tinkoffHandler],
  ] as const)(
    '%s: answers 500 "Внутренняя ошибка" when the store is unreachable, with no AWS text',
    async (_b, route, build) => {
      useStoreAt({ ...store.env(), AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${await closedPort()}` });

      const response = await build()(signal(route));

      expect(answerOf(response)).toEqual({ status: 500, body: 'Внутренняя ошибка' });
      expect(response.headers).toMatchObject({ 'content-type': 'text/plain; charset=utf-8' });
      expect(logLines()).toContainEqual(
        expect.objectContaining({
          level: 'error',
          status: 500,
          outcome: 'error',
          error: { name: 'Error', code: 'ECONNREFUSED' },
        }),
      );
      expect(allOutput()).not.toMatch(/127\.0\.0\.1|ppp\/webhook-secret|at .*node_modules/);
    },
  );

  it('answers 500 with no AWS text when the store fails reading a broker token', async () => {
    const handler = tinkoffHandler();
    await handler(signal('POST /tinkoff', { check: true })); // the webhook secret is cached now
    store.failWith('InternalServiceError');

    const response = await handler(signal('POST /tinkoff'));

    expect(answerOf(response)).toEqual({ status: 500, body: 'Внутренняя ошибка' });
    expect(allOutput()).not.toContain('injected failure');
    expect(allOutput()).not.toContain(TINKOFF_TOKEN_ID);
  });

  it('keeps serving cached values when the store fails after the TTL', async () => {
    let now = 0;
    const handler = tinkoffHandler({}, new ValueStore({ ttlMs: 1, now: () => now, sdk: loadedStoreSdk }));
    await handler(signal('POST /tinkoff'));
    now += 2;
    store.failWith('InternalServiceError');

    const response = await handler(signal('POST /tinkoff'));

    expect(answerOf(response)).toEqual({ status: 200, body: '200 OK' });
    expect(logLines()).toContainEqual(
      expect.objectContaining({ level: 'warn', message: 'secret store read failed, serving the cached value' }),
    );
    expectNoSecretsInLogs();
  });
});
