import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PAPER_ALOR } from '#local/paper-broker/index.ts';
import { apiGatewayEvent, invalidUtf8OrderEvent } from '../helpers/events.ts';
import { contractHarness, importHandler, TEST_WEBHOOK_SECRET } from '../helpers/handlers.ts';
import { allOutput, logLines } from '../helpers/logs.ts';

/**
 * docs/contract.md#answers, Alor column: one case per row, through the exported `handler`, against the paper Alor
 * on 127.0.0.1, with the exact status and body. Each test name starts with the anchor in docs/contract.md it pins.
 */

const VALID_ORDER = { t: 'BRK.B', p: '300.5', v: 2, d: 'Buy' };
const AUTH = { 'x-webhook-secret': TEST_WEBHOOK_SECRET };

const contract = contractHarness('alor');
const { signal, answer } = contract;

describe('Alor webhook: the contract table', () => {
  it('check: answers check: true with 200 "200 OK" and calls no broker', async () => {
    const result = await answer(signal({ check: true }));

    expect(result).toMatchObject({ status: 200, body: '200 OK' });
    expect(result.headers).toMatchObject({ 'content-type': 'text/plain; charset=utf-8' });
    expect(contract.paper().alor.stats.requests).toBe(0);
  });

  it.each([
    ['missing t', { p: 1, v: 1, d: 'buy' }],
    ['empty t', { t: '', p: 1, v: 1, d: 'buy' }],
    ['price zero', { t: 'SBER', p: 0, v: 1, d: 'buy' }],
    ['price negative string', { t: 'SBER', p: '-1', v: 1, d: 'buy' }],
    ['v of "abc"', { t: 'SBER', p: 1, v: 'abc', d: 'buy' }],
    ['fractional v', { t: 'SBER', p: 1, v: 1.5, d: 'buy' }],
    ['unknown side', { t: 'SBER', p: 1, v: 1, d: 'hold' }],
    ['missing d', { t: 'SBER', p: 1, v: 1 }],
  ])('bad-payload: answers %s with 400 "Некорректные данные в заявке"', async (_case, body) => {
    const result = await answer(signal(body));

    expect(result).toMatchObject({ status: 400, body: 'Некорректные данные в заявке' });
    expect(contract.paper().alor.stats.requests).toBe(0);
  });

  it.each(['text/plain', 'application/json', 'application/octet-stream'])(
    'bad-payload: answers invalid UTF-8 in an unknown field under %s with 400, as API Gateway delivers it',
    async (contentType) => {
      const event = invalidUtf8OrderEvent(
        'alor',
        { t: 'AAPL', p: '150.5', v: 1, d: 'buy' },
        contentType,
        TEST_WEBHOOK_SECRET,
      );

      const result = await answer(event);

      expect(result).toMatchObject({ status: 400, body: 'Некорректные данные в заявке' });
      expect(logLines().at(-1)).toMatchObject({ outcome: 'invalid', issues: ['body: not UTF-8'] });
      expect(contract.paper().alor.stats.requests).toBe(0);
    },
  );

  it('bad-payload: answers a body that repeats a key with 400 and places no order, whichever value came last', async () => {
    const body = '{"t":"AAPL","p":1,"v":1,"d":"buy","\\u0064":"sell"}';
    const event = apiGatewayEvent({ route: 'POST /alor', body, headers: { 'x-webhook-secret': TEST_WEBHOOK_SECRET } });

    expect(await answer(event)).toMatchObject({ status: 400, body: 'Некорректные данные в заявке' });
    expect(contract.paper().alor.stats.requests).toBe(0);
  });

  it('bad-payload: answers a body that is not JSON with 400', async () => {
    const event = apiGatewayEvent({ route: 'POST /alor', body: 't=SBER&p=1', headers: AUTH });

    expect(await answer(event)).toMatchObject({ status: 400, body: 'Некорректные данные в заявке' });
  });

  it('no-credential: answers a missing refresh token with 404 "Не задан refresh-токен Alor Open API"', async () => {
    const result = await answer(signal(VALID_ORDER), { ALOR_REFRESH_TOKEN: '' });

    expect(result).toMatchObject({ status: 404, body: 'Не задан refresh-токен Alor Open API' });
    expect(contract.paper().alor.stats.requests).toBe(0);
  });

  it('no-account: answers a missing portfolio with 404 "Не задан портфель ФР Alor"', async () => {
    const result = await answer(signal(VALID_ORDER), { ALOR_PORTFOLIO: '' });

    expect(result).toMatchObject({ status: 404, body: 'Не задан портфель ФР Alor' });
    expect(contract.paper().alor.stats.requests).toBe(0);
  });

  it('credential-rejected: answers a rejected refresh token with 403 "Refresh-токен неверный, заблокирован либо истёк"', async () => {
    const result = await answer(signal(VALID_ORDER), { ALOR_REFRESH_TOKEN: 'revoked-refresh-token' });

    expect(result).toMatchObject({ status: 403, body: 'Refresh-токен неверный, заблокирован либо истёк' });
    expect(contract.paper().alor.stats.byRoute).toEqual({ refresh: 1 });
    expect(contract.paper().alor.orders).toHaveLength(0);
  });

  it('placed: places an accepted order and answers 200 "200 OK"', async () => {
    const before = contract.paper().alor.orders.length;

    const result = await answer(signal(VALID_ORDER));

    expect(result).toMatchObject({ status: 200, body: '200 OK' });
    expect(contract.paper().alor.orders.slice(before)).toEqual([
      expect.objectContaining({
        portfolio: PAPER_ALOR.portfolio,
        symbol: 'BRK B',
        exchange: 'SPBX',
        side: 'buy',
        quantity: 2,
        price: 300.5,
      }),
    ]);
  });

  it.each([
    ['MOEX:SBER', 'SPBX', { symbol: 'SBER', exchange: 'MOEX' }],
    ['MOEX_DLY:GAZP', 'SPBX', { symbol: 'GAZP', exchange: 'MOEX' }],
    ['SPBX:BRK.B', 'MOEX', { symbol: 'BRK B', exchange: 'SPBX' }],
  ])('placed: sends %s to the exchange t names, whatever ALOR_EXCHANGE (%s) says', async (t, configured, expected) => {
    const before = contract.paper().alor.orders.length;

    const result = await answer(signal({ ...VALID_ORDER, t }), { ALOR_EXCHANGE: configured });

    expect(result).toMatchObject({ status: 200, body: '200 OK' });
    expect(contract.paper().alor.orders.slice(before)).toEqual([expect.objectContaining(expected)]);
  });

  it('bad-payload: answers an exchange Alor does not trade on with 400, logging the rule but not the exchange', async () => {
    const result = await answer(signal({ ...VALID_ORDER, t: 'NASDAQ:AAPL' }));

    expect(result).toMatchObject({ status: 400, body: 'Некорректные данные в заявке' });
    expect(contract.paper().alor.stats.requests).toBe(0);
    expect(logLines()).toEqual([
      expect.objectContaining({ outcome: 'invalid', issues: ['t: the exchange must be one of SPBX, MOEX'] }),
    ]);
    expect(allOutput()).not.toContain('NASDAQ');
  });

  it('refused: passes the refusal of the broker on as 400 with its message', async () => {
    const result = await answer(signal({ ...VALID_ORDER, t: 'NOPE' }));

    expect(result).toMatchObject({ status: 400, body: 'Инструмент NOPE не найден на SPBX' });
  });
});

describe('Alor webhook: checks run in the order of the rows', () => {
  it('order-of-checks: answers a bad payload before looking for the refresh token', async () => {
    const result = await answer(signal({ t: 'SBER' }), { ALOR_REFRESH_TOKEN: '', ALOR_PORTFOLIO: '' });

    expect(result).toMatchObject({ status: 400, body: 'Некорректные данные в заявке' });
  });

  it('order-of-checks: answers a missing token before a missing portfolio', async () => {
    const result = await answer(signal(VALID_ORDER), { ALOR_REFRESH_TOKEN: '', ALOR_PORTFOLIO: '' });

    expect(result).toMatchObject({ status: 404, body: 'Не задан refresh-токен Alor Open API' });
  });

  it('order-of-checks: answers check: true without any broker setting', async () => {
    const result = await answer(signal({ check: true }), { ALOR_REFRESH_TOKEN: '', ALOR_PORTFOLIO: '' });

    expect(result).toMatchObject({ status: 200, body: '200 OK' });
  });
});

describe('Alor webhook: shared secret', () => {
  it.each([
    ['no secret at all', {}],
    ['a wrong header', { 'x-webhook-secret': 'wrong-secret' }],
    ['a wrong signature', { 'x-hook-signature': `sha256=${'0'.repeat(64)}` }],
  ])('unauthorized: answers %s with 401 "Unauthorized", check included', async (_case, headers) => {
    const result = await answer(signal({ check: true }, headers));

    expect(result).toMatchObject({ status: 401, body: 'Unauthorized' });
  });

  it('unauthorized: answers every call with 401 when no webhook secret is configured', async () => {
    const result = await answer(signal({ check: true }, { 'x-webhook-secret': '' }), { WEBHOOK_SECRET: '' });

    expect(result).toMatchObject({ status: 401, body: 'Unauthorized' });
  });

  it('forbidden-source: answers a call from an address ALLOWED_SOURCE_IPS does not list with 403 "Forbidden"', async () => {
    // The fixture's caller is 203.0.113.10.
    const refused = await answer(signal(VALID_ORDER), { ALLOWED_SOURCE_IPS: 'tradingview' });
    const listed = await answer(signal(VALID_ORDER), { ALLOWED_SOURCE_IPS: 'tradingview, 203.0.113.0/24' });

    expect(refused).toMatchObject({ status: 403, body: 'Forbidden' });
    expect(refused.headers).toMatchObject({ 'content-type': 'text/plain; charset=utf-8' });
    expect(listed).toMatchObject({ status: 200, body: '200 OK' });
  });

  it('authentication: accepts the Realm-style ?secret= query parameter', async () => {
    const event = apiGatewayEvent({
      route: 'POST /alor',
      body: JSON.stringify({ check: true }),
      query: { secret: TEST_WEBHOOK_SECRET },
    });

    expect(await answer(event)).toMatchObject({ status: 200, body: '200 OK' });
  });

  it('authentication: accepts an HMAC-SHA256 signature of the raw body', async () => {
    const body = JSON.stringify(VALID_ORDER);
    const signature = createHmac('sha256', TEST_WEBHOOK_SECRET).update(body).digest('hex');
    const event = apiGatewayEvent({
      route: 'POST /alor',
      body,
      headers: { 'x-hook-signature': `sha256=${signature}` },
    });

    expect(await answer(event)).toMatchObject({ status: 200, body: '200 OK' });
  });

  it('authentication: accepts the secret in the body, with no header, and takes it out before the payload', async () => {
    const result = await answer(signal({ ...VALID_ORDER, secret: TEST_WEBHOOK_SECRET }, {}));

    expect(result).toMatchObject({ status: 200, body: '200 OK' });
    expect(logLines()).toEqual([expect.objectContaining({ outcome: 'placed', auth: 'body' })]);
    expect(allOutput()).not.toContain(TEST_WEBHOOK_SECRET);
  });

  it.each([
    ['a wrong body secret', { secret: 'wrong-secret' }, {}],
    ['a body secret that is not a string', { secret: [TEST_WEBHOOK_SECRET] }, {}],
    ['a right body secret behind a wrong header', { secret: TEST_WEBHOOK_SECRET }, { 'x-webhook-secret': 'wrong' }],
  ])('unauthorized: answers %s with 401, check included', async (_case, fields, headers) => {
    const result = await answer(signal({ check: true, ...fields }, headers));

    expect(result).toMatchObject({ status: 401, body: 'Unauthorized' });
  });

  it.each([
    ['not JSON', `secret=${TEST_WEBHOOK_SECRET}&t=SBER`],
    ['over 16 KiB', JSON.stringify({ secret: TEST_WEBHOOK_SECRET, check: true, pad: 'x'.repeat(16 * 1024) })],
    ['a key repeated', `{"secret":"${TEST_WEBHOOK_SECRET}","check":true,"check":true}`],
  ])(
    'order-of-checks: answers a body that is %s with 401 when it is the only place a secret could be',
    async (_case, body) => {
      const result = await answer(
        apiGatewayEvent({ route: 'POST /alor', body, headers: { 'content-type': 'text/plain' } }),
      );

      expect(result).toMatchObject({ status: 401, body: 'Unauthorized' });
    },
  );

  it('authentication: accepts either value of a secret being rotated', async () => {
    const rotating = { WEBHOOK_SECRET: `old-secret-value\n${TEST_WEBHOOK_SECRET}` };

    expect(await answer(signal({ check: true }, { 'x-webhook-secret': 'old-secret-value' }), rotating)).toMatchObject({
      status: 200,
    });
    expect(await answer(signal({ check: true }), rotating)).toMatchObject({ status: 200 });
  });
});

describe('Alor webhook: request forms', () => {
  it('request: accepts a base64-encoded body as API Gateway delivers some', async () => {
    const event = apiGatewayEvent({
      route: 'POST /alor',
      body: JSON.stringify(VALID_ORDER),
      base64: true,
      headers: AUTH,
    });

    expect(await answer(event)).toMatchObject({ status: 200, body: '200 OK' });
  });

  it('request: accepts EJSON number wrappers as the original EJSON.parse did', async () => {
    const body = { t: 'SBER', p: { $numberDouble: '310.25' }, v: { $numberInt: '3' }, d: 'sell' };

    const result = await answer(signal(body), { ALOR_EXCHANGE: 'MOEX' });

    expect(result).toMatchObject({ status: 200, body: '200 OK' });
    expect(contract.paper().alor.orders.at(-1)).toMatchObject({
      symbol: 'SBER',
      exchange: 'MOEX',
      side: 'sell',
      quantity: 3,
      price: 310.25,
    });
  });
});

describe('Alor webhook: access token and idempotency', () => {
  it('deadline-and-retries: refreshes once for two orders in one warm container', async () => {
    const handler = await importHandler('alor', contract.paperEnv());

    await handler(signal(VALID_ORDER));
    await handler(signal(VALID_ORDER));

    expect(contract.paper().alor.stats.byRoute).toEqual({ refresh: 1, order: 2 });
  });

  it('deadline-and-retries: refreshes once more and resends with the same X-REQID when the cached token is revoked', async () => {
    const handler = await importHandler('alor', contract.paperEnv());
    await handler(signal(VALID_ORDER));
    contract.paper().alor.revokeAccessTokens();
    const before = contract.paper().alor.orders.length;

    const result = await handler(signal(VALID_ORDER));

    expect(result).toMatchObject({ statusCode: 200, body: '200 OK' });
    expect(contract.paper().alor.stats.byRoute).toEqual({ refresh: 2, order: 3 });
    expect(contract.paper().alor.orders.length - before).toBe(1);
  });

  it('idempotency: answers a resent signal with the same key from the first answer and places one order', async () => {
    const handler = await importHandler('alor', contract.paperEnv());
    const before = contract.paper().alor.orders.length;

    const first = await handler(signal({ ...VALID_ORDER, id: 'alert-42' }));
    const second = await handler(signal({ ...VALID_ORDER, id: 'alert-42' }));

    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect(second.body).toBe(first.body);
    expect(contract.paper().alor.orders.length - before).toBe(1);
  });
});

describe('Alor webhook: broker failures', () => {
  it('broker-unavailable: answers an unreachable broker with 502 "Брокер недоступен"', async () => {
    const result = await answer(signal(VALID_ORDER), {
      ALOR_OAUTH_URL: 'http://127.0.0.1:9',
      ALOR_API_URL: 'http://127.0.0.1:9',
    });

    expect(result).toMatchObject({ status: 502, body: 'Брокер недоступен' });
  });

  it('broker-timeout: answers a broker that does not answer in time with 504 "Брокер не ответил вовремя"', async () => {
    contract.paper().alor.injectFault({ route: 'order', fault: { kind: 'hang-before-headers' } });

    const result = await answer(signal(VALID_ORDER), { BROKER_TIMEOUT_MS: '300' });

    expect(result).toMatchObject({ status: 504, body: 'Брокер не ответил вовремя' });
  });

  it('internal-error: answers an unexpected failure with 500 "Внутренняя ошибка" and no internals', async () => {
    const result = await answer(signal({ check: true }), {
      WEBHOOK_SECRET: '',
      WEBHOOK_SECRET_ID: 'ppp-webhooks/webhook-secret',
      AWS_REGION: 'eu-central-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:9',
    });

    expect(result).toMatchObject({ status: 500, body: 'Внутренняя ошибка' });
  });
});

describe('Alor webhook: dry run and logs', () => {
  it('dry-run: runs everything up to the order call in dry run, answers 200 and places nothing', async () => {
    const before = contract.paper().alor.orders.length;

    const result = await answer(signal(VALID_ORDER), { DRY_RUN: 'true' });

    expect(result).toMatchObject({ status: 200, body: '200 OK' });
    expect(contract.paper().alor.stats.byRoute).toEqual({ refresh: 1 });
    expect(contract.paper().alor.orders.length).toBe(before);
    expect(logLines().at(-1)).toMatchObject({ broker: 'alor', outcome: 'dry-run', dryRun: true });
  });

  it('logs-and-secrets: logs an invalid payload as schema paths and reasons, bounded, without the key names the caller chose', async () => {
    const keyName = 'caller-chosen-'.repeat(1_000);
    const body = `{"t":"SBER","p":{"$numberInt":"1","${keyName}":1},"v":1,"d":"buy"}`;
    const event = apiGatewayEvent({ route: 'POST /alor', body, headers: AUTH });

    expect(await answer(event)).toMatchObject({ status: 400, body: 'Некорректные данные в заявке' });
    const [line] = logLines();
    expect(line).toMatchObject({ outcome: 'invalid', issues: ['p: 1 unrecognized key(s)'] });
    expect(allOutput()).not.toContain('caller-chosen');
    expect(JSON.stringify(line).length).toBeLessThan(2_048);
  });

  it('logs-and-secrets: logs one JSON line per invocation with outcome, status, latency and order id, and no secret', async () => {
    await answer(signal(VALID_ORDER));

    const lines = logLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      broker: 'alor',
      outcome: 'placed',
      status: 200,
      latencyMs: expect.any(Number),
      brokerOrderId: contract.paper().alor.orders.at(-1)?.orderNumber,
    });
    const output = allOutput();
    expect(output).not.toContain(TEST_WEBHOOK_SECRET);
    expect(output).not.toContain(PAPER_ALOR.refreshToken);
    expect(output).not.toMatch(/eyJ[\w-]+\./);
  });
});
