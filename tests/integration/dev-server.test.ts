import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromApiGatewayResult, toApiGatewayEvent } from '#local/api-gateway-event.ts';
import { CallLog, HIDDEN } from '#local/call-log.ts';
import { parseEnvFile } from '#local/env-file.ts';
import { API_GATEWAY_MAX_PAYLOAD_BYTES } from '#shared/facts.ts';
import { type DevServerProcess, post, spawnDevServer } from '../e2e/dev-server-process.ts';

/**
 * `npm start` end to end: the dev server runs as a child process (as a developer runs it) and is driven over
 * HTTP on 127.0.0.1; the paper brokers' books are read through the console's state endpoint.
 */

const SECRET = 'dev-server-test-secret-0001';
const JSON_HEADERS = { 'content-type': 'application/json' };
const AUTH = { ...JSON_HEADERS, 'x-webhook-secret': SECRET };
const ALOR_ORDER = { t: 'AAPL', p: 150.5, v: 2, d: 'buy' };
const TINKOFF_ORDER = { t: 'SBER', p: '250.1', v: 1, d: 'sell', f: 'BBG004730N88' };
const MIB = 1024 * 1024;
const UNAUTHORIZED = { status: 401, text: 'Unauthorized' };
/** API Gateway's own answer to a payload over its 10 MB quota, before any function runs. */
const TOO_LARGE = { status: 413, text: '{"message":"Request Entity Too Large"}' };

interface State {
  calls: { broker: string; target: string; status: number; answer: string; headers: Record<string, string> }[];
  books: {
    alor: { symbol: string; exchange: string; side: string; quantity: number; price: number; portfolio: string }[];
    tinkoff: { instrumentId: string; direction: string; lots: number; price: string; orderRequestId: string }[];
  };
}

async function getState(server: DevServerProcess): Promise<{ state: State; text: string }> {
  const response = await fetch(`${server.url}/api/state`, { signal: AbortSignal.timeout(5000) });
  expect(response.status).toBe(200);
  const text = await response.text();
  return { state: JSON.parse(text) as State, text };
}

describe('npm start (local/dev-server.ts as a child process)', () => {
  let server: DevServerProcess | undefined;
  const running = () => {
    if (server === undefined) throw new Error('dev server not started');
    return server;
  };

  beforeAll(async () => {
    server = await spawnDevServer({ WEBHOOK_SECRET: SECRET });
  }, 30_000);

  afterAll(async () => {
    // Whatever happened in the tests, no child outlives the file.
    if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
    }
  });

  it('prints a ready line with its loopback URLs and paper brokers for both functions', () => {
    const { url, alor, tinkoff, modes } = running();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(alor).toBe(`${url}/alor`);
    expect(tinkoff).toBe(`${url}/tinkoff`);
    expect(modes).toEqual({ alor: 'paper', tinkoff: 'paper' });
    expect(running().output()).toContain(`x-webhook-secret: ${SECRET}`);
  });

  it('answers check: true with 200 "200 OK" on both routes', async () => {
    for (const route of [running().alor, running().tinkoff]) {
      expect(await post(route, '{"check":true}', AUTH)).toEqual({ status: 200, text: '200 OK' });
    }
  });

  it('answers 401 Unauthorized for a wrong or missing secret, check included, and places nothing', async () => {
    const before = (await getState(running())).state.books.alor.length;
    const wrong = { ...JSON_HEADERS, 'x-webhook-secret': `${SECRET}-wrong` };
    expect(await post(running().alor, '{"check":true}', wrong)).toEqual({ status: 401, text: 'Unauthorized' });
    expect(await post(running().alor, JSON.stringify(ALOR_ORDER), wrong)).toEqual({
      status: 401,
      text: 'Unauthorized',
    });
    expect(await post(running().tinkoff, JSON.stringify(TINKOFF_ORDER), JSON_HEADERS)).toEqual({
      status: 401,
      text: 'Unauthorized',
    });
    expect((await getState(running())).state.books.alor).toHaveLength(before);
  });

  it.each([
    ['2 MiB without a secret', 2 * MIB, JSON_HEADERS, UNAUTHORIZED],
    ['exactly 10 MiB without a secret', API_GATEWAY_MAX_PAYLOAD_BYTES, JSON_HEADERS, UNAUTHORIZED],
    ['10 MiB + 1 byte without a secret', API_GATEWAY_MAX_PAYLOAD_BYTES + 1, JSON_HEADERS, TOO_LARGE],
    ['10 MiB + 1 byte with the secret', API_GATEWAY_MAX_PAYLOAD_BYTES + 1, AUTH, TOO_LARGE],
  ])(
    "answers a body of %s: 413 over the gateway's 10 MiB quota, otherwise the contract's order (401 first)",
    async (_case, bytes, headers, expected) => {
      expect(await post(running().alor, 'x'.repeat(bytes), headers)).toEqual(expected);
    },
  );

  it('places a valid Alor signal in the paper book and answers 200 "200 OK"', async () => {
    expect(await post(running().alor, JSON.stringify(ALOR_ORDER), AUTH)).toEqual({ status: 200, text: '200 OK' });
    const { state } = await getState(running());
    expect(state.books.alor.at(-1)).toMatchObject({
      symbol: 'AAPL',
      exchange: 'SPBX',
      side: 'buy',
      quantity: 2,
      price: 150.5,
      portfolio: 'D00000',
    });
  });

  it('places a valid T-Invest signal sent with ?secret= and no content type (a base64 body)', async () => {
    const url = `${running().tinkoff}?secret=${encodeURIComponent(SECRET)}`;
    const body = new TextEncoder().encode(JSON.stringify(TINKOFF_ORDER));
    const response = await fetch(url, { method: 'POST', body, signal: AbortSignal.timeout(10_000) });
    expect({ status: response.status, text: await response.text() }).toEqual({ status: 200, text: '200 OK' });
    const { state } = await getState(running());
    expect(state.books.tinkoff.at(-1)).toMatchObject({
      instrumentId: 'BBG004730N88',
      direction: 'sell',
      lots: 1,
      price: '250.1',
    });
  });

  it('places no second order for a repeated Idempotency-Key (Alor) or body id (T-Invest)', async () => {
    const { state: before } = await getState(running());
    const keyed = { ...AUTH, 'idempotency-key': `dev-server-test-${Date.now()}` };
    const alorOrder = JSON.stringify({ ...ALOR_ORDER, t: 'MSFT' });
    const tinkoffOrder = JSON.stringify({ ...TINKOFF_ORDER, id: `dev-server-test-${Date.now()}` });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      expect(await post(running().alor, alorOrder, keyed)).toEqual({ status: 200, text: '200 OK' });
      expect(await post(running().tinkoff, tinkoffOrder, AUTH)).toEqual({ status: 200, text: '200 OK' });
    }
    const { state: after } = await getState(running());
    expect(after.books.alor).toHaveLength(before.books.alor.length + 1);
    expect(after.books.tinkoff).toHaveLength(before.books.tinkoff.length + 1);
  });

  it('answers a bad payload with 400 and an unknown route as API Gateway does', async () => {
    expect(await post(running().alor, '{"t":"AAPL","p":-1,"v":1,"d":"buy"}', AUTH)).toEqual({
      status: 400,
      text: 'Некорректные данные в заявке',
    });
    expect(await post(`${running().url}/nowhere`, '{}', AUTH)).toEqual({
      status: 404,
      text: '{"message":"Not Found"}',
    });
  });

  it('logs the calls for the console with the secret hidden, in the query and in the header', async () => {
    const { state, text } = await getState(running());
    expect(text).not.toContain(SECRET);
    expect(state.calls.length).toBeGreaterThan(5);
    expect(state.calls.some((call) => call.target === `/tinkoff?secret=${HIDDEN}` && call.status === 200)).toBe(true);
    expect(
      state.calls.find((call) => call.headers['x-webhook-secret'] !== undefined)?.headers['x-webhook-secret'],
    ).toBe(HIDDEN);
  });

  it('serves the console page and its API to 127.0.0.1 only by name (no DNS-rebinding reads)', async () => {
    const page = await fetch(`${running().url}/`, { signal: AbortSignal.timeout(5000) });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).toContain('signal-form');
    const { port } = new URL(running().url);
    const { request } = await import('node:http');
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const call = request(
        { host: '127.0.0.1', port, path: '/api/session', headers: { host: `attacker.example:${port}` }, timeout: 5000 },
        (response) => {
          response.resume();
          resolve(response.statusCode);
        },
      );
      call.on('error', reject);
      call.end();
    });
    expect(status).toBe(403);
  });

  it.each([
    ['a truncated escape in an order id', '/api/paper/alor/orders/%', '{"status":"filled"}', 400],
    ['an escape that is not UTF-8 in an order id', '/api/paper/tinkoff/orders/%FF', '{"status":"filled"}', 400],
    ['an escape cut short in an order id', '/api/paper/alor/orders/%E0%A4%A', '{"status":"filled"}', 400],
    ['a JSON null as the change of an order', '/api/paper/alor/orders/1', 'null', 400],
    ['a JSON array as the change of an order', '/api/paper/tinkoff/orders/1', '[]', 400],
  ])('answers %s with a 4xx, not a 500', async (_case, path, body, status) => {
    const response = await fetch(`${running().url}${path}`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body,
      signal: AbortSignal.timeout(5000),
    });
    await response.text();

    expect(response.status).toBe(status);
  });

  it('answers no malformed request with a 5xx: a bounded fuzz of the routes, methods, escapes and bodies', async () => {
    const paths = ['/', '/api/state', '/api/session', '/api/preflight', '/api/paper-scenario'];
    const orderPaths = ['/api/paper/alor/orders/', '/api/paper/tinkoff/orders/', '/alor', '/tinkoff', '/console.js'];
    const tails = ['', '%', '%2', '%FF', '%E0%A4%A', '%00', '?broker=%', '?lang=xx', '?secret=%', '/x', '1', '..'];
    const bodies = [undefined, '', 'null', '0', '[]', '{}', '"x"', 'true', '{', '{"status":null}', '{"broker":"alor"}'];
    const fiveHundreds: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        fc.constantFrom(...paths, ...orderPaths),
        fc.constantFrom(...tails),
        fc.constantFrom(...bodies),
        fc.constantFrom(undefined, 'application/json', 'text/plain'),
        async (method, path, tail, body, contentType) => {
          const response = await fetch(`${running().url}${path}${tail}`, {
            method,
            headers: contentType === undefined ? {} : { 'content-type': contentType },
            ...(method === 'GET' ? {} : { body }),
            signal: AbortSignal.timeout(5000),
          });
          await response.arrayBuffer();
          if (response.status >= 500) fiveHundreds.push(`${response.status} ${method} ${path}${tail} ${body}`);
        },
      ),
      { numRuns: 300, seed: 23 },
    );

    expect(fiveHundreds).toEqual([]);
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await running().stop('SIGTERM')).toBe(0);
    expect(running().output()).toContain('SIGTERM: stopping');
  });
});

describe('npm start with a webhook secret that holds no value', () => {
  it.each([
    ['an empty JSON array', '[]'],
    ['a JSON array of blank strings', '["", " "]'],
  ])(
    'with %s warns loudly, naming the setting but not its value, and answers every call 401',
    async (_case, secret) => {
      const server = await spawnDevServer({ WEBHOOK_SECRET: secret });
      try {
        const warning =
          'WARNING: WEBHOOK_SECRET holds no webhook secret (it is empty, or a list without a value): every call is answered 401 Unauthorized';
        expect(server.output()).toContain(warning);
        expect(server.output()).not.toContain(secret);
        expect(await post(server.alor, '{"check":true}', { ...JSON_HEADERS, 'x-webhook-secret': secret })).toEqual({
          status: 401,
          text: 'Unauthorized',
        });
      } finally {
        await server.stop();
      }
    },
  );
});

describe('npm start with a source allow-list', () => {
  it.each([
    ['without this machine warns, naming the setting, and answers 403', 'tradingview', true, 403],
    ['with this machine answers as before', 'tradingview, 127.0.0.1', false, 200],
  ])('%s', async (_case, list, warns, status) => {
    const server = await spawnDevServer({ WEBHOOK_SECRET: SECRET, ALLOWED_SOURCE_IPS: list });
    try {
      const warning = 'WARNING: ALLOWED_SOURCE_IPS does not list 127.0.0.1';
      expect(server.output().includes(warning)).toBe(warns);
      expect((await post(server.alor, '{"check":true}', AUTH)).status).toBe(status);
    } finally {
      await server.stop();
    }
  });
});

describe('npm start with a setting it cannot use', () => {
  it.each([
    [{ ALOR_EXCHANGE: 'NYSE' }, 'npm start failed: Invalid configuration: ALOR_EXCHANGE:'],
    [{ ALLOWED_SOURCE_IPS: 'localhost' }, 'npm start failed: Invalid configuration: ALLOWED_SOURCE_IPS: entry 1'],
    [{ PORT: 'eighty' }, 'npm start failed: PORT must be a port number (0-65535)'],
  ])('with %j exits before it is ready, naming the setting', async (env, message) => {
    await expect(spawnDevServer(env)).rejects.toThrow(message);
  });
});

describe('toApiGatewayEvent', () => {
  const request = {
    method: 'POST',
    url: '/alor?secret=a%2Bb&x=1&x=2',
    headers: {
      Host: '127.0.0.1:3000',
      'Content-Type': 'application/json',
      'User-Agent': 'Pantini-Warden/1.0',
      Cookie: 'a=1; b=2',
      'X-Multi': ['one', 'two'],
    },
    body: Buffer.from('{"check":true}'),
    routeKey: 'POST /alor',
    receivedAt: new Date(Date.UTC(2025, 1, 4, 10, 15, 30)),
  };

  it('builds an HTTP API payload 2.0 event as API Gateway delivers it', () => {
    const event = toApiGatewayEvent(request);
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /alor',
      rawPath: '/alor',
      rawQueryString: 'secret=a%2Bb&x=1&x=2',
      cookies: ['a=1', 'b=2'],
      queryStringParameters: { secret: 'a+b', x: '1,2' },
      body: '{"check":true}',
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'POST', path: '/alor', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1' },
        routeKey: 'POST /alor',
        stage: '$default',
        time: '04/Feb/2025:10:15:30 +0000',
        timeEpoch: Date.UTC(2025, 1, 4, 10, 15, 30),
      },
    });
    expect(event.headers).toMatchObject({
      host: '127.0.0.1:3000',
      'content-type': 'application/json',
      'user-agent': 'Pantini-Warden/1.0',
      'x-multi': 'one,two',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-port': '3000',
    });
    expect(event.headers.cookie).toBeUndefined();
    expect(event.requestContext.http.userAgent).toBe('Pantini-Warden/1.0');
    expect(event.requestContext.requestId).not.toBe(toApiGatewayEvent(request).requestContext.requestId);
  });

  it.each([
    ['text/plain; charset=utf-8', false],
    ['application/json', false],
    ['application/xml', false],
    ['application/octet-stream', true],
    ['application/x-www-form-urlencoded', true],
    [undefined, true],
  ])('delivers a %s body base64-encoded: %s', (contentType, base64) => {
    const event = toApiGatewayEvent({ ...request, headers: { 'content-type': contentType } });
    expect(event.isBase64Encoded).toBe(base64);
    const body = event.body ?? '';
    expect(base64 ? Buffer.from(body, 'base64').toString('utf8') : body).toBe('{"check":true}');
  });

  it('leaves the body and query out when there are none', () => {
    const event = toApiGatewayEvent({ ...request, url: '/tinkoff', body: new Uint8Array(), routeKey: 'POST /tinkoff' });
    expect(event.body).toBeUndefined();
    expect(event.isBase64Encoded).toBe(false);
    expect(event.queryStringParameters).toBeUndefined();
    expect(event.rawQueryString).toBe('');
  });

  it('turns a structured or bare result into the HTTP answer', () => {
    const text = fromApiGatewayResult({
      statusCode: 401,
      headers: { 'Content-Type': 'text/plain' },
      body: 'Unauthorized',
    });
    expect(text).toMatchObject({ statusCode: 401, headers: { 'content-type': 'text/plain' } });
    expect(text.body.toString('utf8')).toBe('Unauthorized');
    const binary = fromApiGatewayResult({
      statusCode: 200,
      body: Buffer.from('hi').toString('base64'),
      isBase64Encoded: true,
    });
    expect(binary.body.toString('utf8')).toBe('hi');
    const bare = fromApiGatewayResult({ ok: true } as never);
    expect({ status: bare.statusCode, body: bare.body.toString('utf8') }).toEqual({ status: 200, body: '{"ok":true}' });
  });
});

/** A call to `/alor` as the console's log records it, the secret `s3cret-value` known. */
function recordedCall(url: string, contentType: string, body: string) {
  const log = new CallLog({ secrets: () => ['s3cret-value'] });
  const event = toApiGatewayEvent({
    method: 'POST',
    url,
    headers: { 'content-type': contentType },
    body: Buffer.from(body),
    routeKey: 'POST /alor',
  });
  return log.record({
    event,
    receivedAt: new Date(),
    broker: 'alor',
    method: 'POST',
    status: 200,
    answer: 'x',
    latencyMs: 1,
  });
}

describe('CallLog', () => {
  it('hides secrets by name and by value, and keeps only the latest calls', () => {
    const log = new CallLog({ limit: 2, secrets: () => ['s3cret-value'] });
    const event = toApiGatewayEvent({
      method: 'POST',
      url: '/alor?Secret=s3cret-value&x=1',
      headers: {
        'x-webhook-secret': 's3cret-value',
        'x-hook-signature': 'sha256=00',
        'x-note': 'see s3cret-value',
        'content-type': 'text/plain',
      },
      body: Buffer.from('{"t":"s3cret-value"}'),
      routeKey: 'POST /alor',
    });
    for (let i = 0; i < 3; i += 1) {
      log.record({
        event,
        receivedAt: new Date(),
        broker: 'alor',
        method: 'POST',
        status: 401,
        answer: 'x',
        latencyMs: 1,
      });
    }
    const calls = log.list();
    expect(calls.map((call) => call.id)).toEqual([3, 2]);
    expect(JSON.stringify(calls)).not.toContain('s3cret-value');
    expect(calls[0]).toMatchObject({
      target: `/alor?Secret=${HIDDEN}&x=1`,
      auth: ['header', 'signature'],
      headers: { 'x-webhook-secret': HIDDEN, 'x-hook-signature': HIDDEN, 'x-note': `see ${HIDDEN}` },
      body: `{"t":"${HIDDEN}"}`,
    });
  });

  it.each([
    ['a right one', '{"secret":"s3cret-value","t":"SBER"}'],
    ['a wrong one, escapes included', '{"t":"SBER", "secret" : "wr\\"ong\\\\"}'],
    ['its key written with JSON escapes', '{"\\u0073ecret":"wrong-one","t":"SBER"}'],
    ['its key and value written with escapes', '{"t":"SBER","\\u0073\\u0065cret":"s\\u0033cret-value"}'],
  ])('hides the body secret by name, %s, and says the secret came in the body', (_case, body) => {
    const call = recordedCall('/alor', 'text/plain', body);

    expect(call.auth).toEqual(['body']);
    expect(call.body).toMatch(/"(secret|\\u0073ecret|\\u0073\\u0065cret)"/);
    expect(call.body).toContain(`"${HIDDEN}"`);
    expect(call.body).not.toMatch(/s3cret-value|s\\u0033cret|ong/);
  });

  it.each([
    ['written with JSON escapes in another field', '{"t":"SBER","note":"\\u0073\\u0033cret-value"}', 'body'],
    ['percent-encoded in the query', '{"t":"SBER"}', 'target'],
  ] as const)('hides a known secret %s', (_case, body, where) => {
    const call = recordedCall('/alor?x=%73%33cret-value&y=2', 'application/json', body);

    expect(JSON.stringify(call)).not.toMatch(/s3cret-value|s\\u0033cret|%73%33cret/);
    expect(call[where]).toContain(HIDDEN);
    expect(call.target).toBe(`/alor?x=${HIDDEN}&y=2`);
  });
});

describe('parseEnvFile', () => {
  it('reads names, quotes, export and comments', () => {
    const text = [
      '# comment',
      'export PORT=4000',
      'WEBHOOK_SECRET="two\\nvalues"',
      "ALOR_PORTFOLIO='D12345' ",
      'ALOR_EXCHANGE=MOEX # inline comment',
      'not a line',
      'EMPTY=',
    ].join('\n');
    expect(parseEnvFile(text)).toEqual({
      PORT: '4000',
      WEBHOOK_SECRET: 'two\nvalues',
      ALOR_PORTFOLIO: 'D12345',
      ALOR_EXCHANGE: 'MOEX',
      EMPTY: '',
    });
  });
});
