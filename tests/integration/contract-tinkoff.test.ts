import { describe, expect, it } from 'vitest';
import { PAPER_TINKOFF } from '#local/paper-broker/index.ts';
import { apiGatewayEvent, invalidUtf8OrderEvent } from '../helpers/events.ts';
import { contractHarness, importHandler, TEST_WEBHOOK_SECRET } from '../helpers/handlers.ts';
import { allOutput, logLines } from '../helpers/logs.ts';

/**
 * docs/contract.md#answers, T-Invest column: one case per row, through the exported `handler`, against the paper
 * T-Invest on 127.0.0.1 (API v2, and v1 behind TINKOFF_API=v1), with the exact status and body. Each test name
 * starts with the anchor in docs/contract.md it pins.
 */

const VALID_ORDER = { t: 'BRK B', p: 12.3, v: '2', d: 'SELL', f: 'BBG000DWG505' };
const AUTH = { 'x-webhook-secret': TEST_WEBHOOK_SECRET };

const contract = contractHarness('tinkoff');
const { signal, answer } = contract;

const rejectedReport = (message: string) =>
  JSON.stringify({ orderId: '1', executionReportStatus: 'EXECUTION_REPORT_STATUS_REJECTED', message });

describe('T-Invest webhook: the contract table', () => {
  it('check: answers check: true with 200 "200 OK" and calls no broker', async () => {
    const result = await answer(signal({ check: true }));

    expect(result).toMatchObject({ status: 200, body: '200 OK' });
    expect(result.headers).toMatchObject({ 'content-type': 'text/plain; charset=utf-8' });
    expect(contract.paper().tinkoff.stats.requests).toBe(0);
  });

  it.each([
    ['missing t', { p: 1, v: 1, d: 'buy', f: 'BBG004730N88' }],
    ['price zero', { t: 'SBER', p: '0', v: 1, d: 'buy', f: 'BBG004730N88' }],
    ['v of "abc"', { t: 'SBER', p: 1, v: 'abc', d: 'buy', f: 'BBG004730N88' }],
    ['a side other than buy or sell (the original sold)', { t: 'SBER', p: 1, v: 1, d: 'short', f: 'BBG004730N88' }],
  ])('bad-payload: answers %s with 400 "Некорректные данные в заявке"', async (_case, body) => {
    const result = await answer(signal(body));

    expect(result).toMatchObject({ status: 400, body: 'Некорректные данные в заявке' });
    expect(contract.paper().tinkoff.stats.requests).toBe(0);
  });

  it('bad-payload: answers an order without f with 400 on TINKOFF_API=v1, which has no instrument lookup', async () => {
    const result = await answer(signal({ t: 'SBER', p: 1, v: 1, d: 'buy' }), {
      TINKOFF_API: 'v1',
      TINKOFF_API_URL: contract.paper().tinkoff.url,
    });

    expect(result).toMatchObject({ status: 400, body: 'Некорректные данные в заявке' });
    expect(contract.paper().tinkoff.stats.requests).toBe(0);
  });

  it('bad-payload: answers an exchange T-Invest is not asked about (NASDAQ:AAPL) with 400 and asks nothing', async () => {
    const result = await answer(signal({ t: 'NASDAQ:AAPL', p: 1, v: 1, d: 'buy' }));

    expect(result).toMatchObject({ status: 400, body: 'Некорректные данные в заявке' });
    expect(contract.paper().tinkoff.stats.requests).toBe(0);
  });

  it.each(['text/plain', 'application/json', 'application/octet-stream'])(
    'bad-payload: answers invalid UTF-8 in an unknown field under %s with 400, as API Gateway delivers it',
    async (contentType) => {
      const order = { t: 'SBER', p: '250.5', v: 1, d: 'buy', f: 'BBG004730N88' };
      const event = invalidUtf8OrderEvent('tinkoff', order, contentType, TEST_WEBHOOK_SECRET);

      const result = await answer(event);

      expect(result).toMatchObject({ status: 400, body: 'Некорректные данные в заявке' });
      expect(logLines().at(-1)).toMatchObject({ outcome: 'invalid', issues: ['body: not UTF-8'] });
      expect(contract.paper().tinkoff.stats.requests).toBe(0);
    },
  );

  it('bad-payload: answers a body that repeats a key with 400 and places no order, whichever value came last', async () => {
    const body = '{"t":"AAPL","p":1,"v":1,"d":"buy","\\u0064":"sell","f":"BBG000B9XRY4"}';
    const event = apiGatewayEvent({
      route: 'POST /tinkoff',
      body,
      headers: { 'x-webhook-secret': TEST_WEBHOOK_SECRET },
    });

    expect(await answer(event)).toMatchObject({ status: 400, body: 'Некорректные данные в заявке' });
    expect(contract.paper().tinkoff.stats.requests).toBe(0);
  });

  it('no-credential: answers a missing trading token with 404 "Не задан торговый токен"', async () => {
    const result = await answer(signal(VALID_ORDER), { TINKOFF_TOKEN: '' });

    expect(result).toMatchObject({ status: 404, body: 'Не задан торговый токен' });
    expect(contract.paper().tinkoff.stats.requests).toBe(0);
  });

  it('no-account: answers a missing account with 404 "Не задан номер счёта"', async () => {
    const result = await answer(signal(VALID_ORDER), { TINKOFF_ACCOUNT_ID: '' });

    expect(result).toMatchObject({ status: 404, body: 'Не задан номер счёта' });
  });

  it('order-of-checks: answers a missing token before a missing account', async () => {
    const result = await answer(signal(VALID_ORDER), { TINKOFF_TOKEN: '', TINKOFF_ACCOUNT_ID: '' });

    expect(result).toMatchObject({ status: 404, body: 'Не задан торговый токен' });
  });

  it('credential-rejected: answers a rejected token (HTTP 401, description 40003) with 400 "Неверный торговый токен"', async () => {
    const result = await answer(signal(VALID_ORDER), { TINKOFF_TOKEN: 't.not-a-real-token' });

    expect(result).toMatchObject({ status: 400, body: 'Неверный торговый токен' });
  });

  it('placed: places an accepted order on API v2 with the exact price and answers 200 "200 OK"', async () => {
    const before = contract.paper().tinkoff.orders.length;

    const result = await answer(signal(VALID_ORDER));

    expect(result).toMatchObject({ status: 200, body: '200 OK' });
    expect(contract.paper().tinkoff.orders.slice(before)).toEqual([
      expect.objectContaining({
        api: 'v2',
        accountId: PAPER_TINKOFF.accountId,
        instrumentId: 'BBG000DWG505',
        direction: 'sell',
        lots: 2,
        price: '12.3',
        orderRequestId: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      }),
    ]);
  });

  it.each([
    ['SBER', {}, 'e6123145-9665-43e0-8413-cd61b8aa9b13'],
    ['MOEX:SBER', {}, 'e6123145-9665-43e0-8413-cd61b8aa9b13'],
    ['MOEX_DLY:GAZP', {}, 'd8c62303-8e77-4bbd-a89a-9e0df39dc5db'],
    ['SPBX:AAPL', {}, '2c2e4645-e9f4-48d7-a389-396bcfc944f9'],
    ['SPBX:BRK B', {}, 'f23ebb4c-8426-4332-a70c-8e5f6a50c189'],
    ['MOEX:TMOS', { TINKOFF_CLASS_CODE: 'TQTF' }, 'a9d1e60d-e4f3-4745-b150-576595a426d7'],
  ])('placed: places %s without f on the instrument T-Invest names for it (%j), by its uid', async (t, env, uid) => {
    const before = contract.paper().tinkoff.orders.length;

    const result = await answer(signal({ t, p: '250.5', v: 1, d: 'buy' }), env);

    expect(result).toMatchObject({ status: 200, body: '200 OK' });
    expect(contract.paper().tinkoff.orders.slice(before)).toEqual([
      expect.objectContaining({ instrumentId: uid, direction: 'buy', lots: 1, price: '250.5' }),
    ]);
    expect(contract.paper().tinkoff.stats.byRoute).toEqual({ instrument: 1, order: 1 });
  });

  it.each([
    ['a ticker T-Invest does not list', 'NOPE', {}, 'Инструмент не найден: NOPE (TQBR)'],
    ['a ticker of another class code', 'MOEX:TMOS', {}, 'Инструмент не найден: TMOS (TQBR)'],
    ['a MOEX ticker on SPBX', 'SPBX:SBER', {}, 'Инструмент не найден: SBER (SPBXM)'],
    [
      'a ticker on the configured class code',
      'GAZP',
      { TINKOFF_CLASS_CODE: 'TQTF' },
      'Инструмент не найден: GAZP (TQTF)',
    ],
  ])(
    'instrument-not-found: answers %s with 400 and the ticker and class code, placing nothing',
    async (_case, t, env, body) => {
      const result = await answer(signal({ t, p: 1, v: 1, d: 'buy' }), env);

      expect(result).toMatchObject({ status: 400, body });
      expect(contract.paper().tinkoff.stats.byRoute).toEqual({ instrument: 1 });
      expect(logLines()).toEqual([expect.objectContaining({ outcome: 'instrument-refused', reason: 'not found' })]);
    },
  );

  it('instrument-not-tradable: answers an instrument T-Invest does not let the API trade with 400, placing nothing', async () => {
    const result = await answer(signal({ t: 'NOAPI', p: 1, v: 1, d: 'buy' }));

    expect(result).toMatchObject({ status: 400, body: 'Инструмент недоступен для торговли через API: NOAPI' });
    expect(contract.paper().tinkoff.stats.byRoute).toEqual({ instrument: 1 });
  });

  it('refused: passes an error of the broker on as 400 with its message', async () => {
    const result = await answer(signal({ ...VALID_ORDER, f: 'BBG000000000' }));

    expect(result).toMatchObject({ status: 400, body: 'Instrument not found' });
  });

  it('refused: answers a REJECTED execution report with 400 and its message', async () => {
    contract.paper().tinkoff.injectFault({
      route: 'order',
      fault: { kind: 'status', status: 200, body: rejectedReport('Недостаточно средств') },
    });

    expect(await answer(signal(VALID_ORDER))).toMatchObject({ status: 400, body: 'Недостаточно средств' });
  });

  it('refused: answers a REJECTED execution report without a message with 400 "Запрос не выполнен"', async () => {
    contract
      .paper()
      .tinkoff.injectFault({ route: 'order', fault: { kind: 'status', status: 200, body: rejectedReport('') } });

    expect(await answer(signal(VALID_ORDER))).toMatchObject({ status: 400, body: 'Запрос не выполнен' });
  });
});

describe('T-Invest webhook: shared secret', () => {
  it('unauthorized: answers a wrong secret with 401 "Unauthorized" and reads no broker setting', async () => {
    const result = await answer(signal(VALID_ORDER, { 'x-webhook-secret': 'nope' }));

    expect(result).toMatchObject({ status: 401, body: 'Unauthorized' });
    expect(contract.paper().tinkoff.stats.requests).toBe(0);
  });
});

describe('T-Invest webhook: source allow-list', () => {
  it('forbidden-source: answers a call from an address ALLOWED_SOURCE_IPS does not list with 403 "Forbidden"', async () => {
    // The fixture's caller is 203.0.113.10.
    const refused = await answer(signal(VALID_ORDER), { ALLOWED_SOURCE_IPS: 'tradingview' });
    const listed = await answer(signal(VALID_ORDER), { ALLOWED_SOURCE_IPS: 'tradingview, 203.0.113.0/24' });

    expect(refused).toMatchObject({ status: 403, body: 'Forbidden' });
    expect(refused.headers).toMatchObject({ 'content-type': 'text/plain; charset=utf-8' });
    expect(listed).toMatchObject({ status: 200, body: '200 OK' });
  });
});

describe('T-Invest webhook: the secret in the body', () => {
  it('authentication: accepts the secret in the body, with no header, and never logs it', async () => {
    const result = await answer(signal({ ...VALID_ORDER, secret: TEST_WEBHOOK_SECRET }, {}));

    expect(result).toMatchObject({ status: 200, body: '200 OK' });
    expect(logLines()).toEqual([expect.objectContaining({ outcome: 'placed', auth: 'body' })]);
    expect(allOutput()).not.toContain(TEST_WEBHOOK_SECRET);
  });

  it('unauthorized: answers a wrong body secret with 401 and calls no broker', async () => {
    const result = await answer(signal({ ...VALID_ORDER, secret: 'wrong-secret' }, {}));

    expect(result).toMatchObject({ status: 401, body: 'Unauthorized' });
    expect(contract.paper().tinkoff.stats.requests).toBe(0);
  });
});

describe('T-Invest webhook: idempotency', () => {
  it('idempotency: places one order for a signal resent with the same Idempotency-Key', async () => {
    const handler = await importHandler('tinkoff', contract.paperEnv());
    const before = contract.paper().tinkoff.orders.length;
    const headers = { ...AUTH, 'idempotency-key': 'alert-7' };

    const first = await handler(signal(VALID_ORDER, headers));
    const second = await handler(signal(VALID_ORDER, headers));

    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect(contract.paper().tinkoff.orders.length - before).toBe(1);
  });
});

describe('T-Invest webhook: API v1 behind TINKOFF_API=v1', () => {
  it('placed: places the order on the v1 limit-order endpoint', async () => {
    const before = contract.paper().tinkoff.orders.length;

    const result = await answer(signal(VALID_ORDER), {
      TINKOFF_API: 'v1',
      TINKOFF_API_URL: contract.paper().tinkoff.url,
    });

    expect(result).toMatchObject({ status: 200, body: '200 OK' });
    expect(contract.paper().tinkoff.orders.slice(before)).toEqual([
      expect.objectContaining({ api: 'v1', instrumentId: 'BBG000DWG505', direction: 'sell', lots: 2, price: '12.3' }),
    ]);
  });

  it('refused: answers a v1 error with 400 and its message', async () => {
    const result = await answer(signal({ ...VALID_ORDER, f: 'BBG000000000' }), {
      TINKOFF_API: 'v1',
      TINKOFF_API_URL: contract.paper().tinkoff.url,
    });

    expect(result).toMatchObject({ status: 400, body: 'Instrument not found' });
  });

  it('credential-rejected: answers a rejected v1 token with 400 "Неверный торговый токен"', async () => {
    const result = await answer(signal(VALID_ORDER), {
      TINKOFF_API: 'v1',
      TINKOFF_API_URL: contract.paper().tinkoff.url,
      TINKOFF_TOKEN: 't.not-a-real-token',
    });

    expect(result).toMatchObject({ status: 400, body: 'Неверный торговый токен' });
  });
});

describe('T-Invest webhook: broker failures, dry run and logs', () => {
  it('broker-unavailable: answers a 503 from the broker with 502 "Брокер недоступен"', async () => {
    contract.paper().tinkoff.injectFault({
      route: 'order',
      fault: { kind: 'status', status: 503, body: '<html>down</html>' },
      times: 2,
    });

    expect(await answer(signal(VALID_ORDER))).toMatchObject({ status: 502, body: 'Брокер недоступен' });
  });

  it('credential-rejected: answers a token the instrument lookup rejects with 400 "Неверный торговый токен"', async () => {
    const result = await answer(signal({ t: 'SBER', p: 1, v: 1, d: 'buy' }), { TINKOFF_TOKEN: 't.not-a-real-token' });

    expect(result).toMatchObject({ status: 400, body: 'Неверный торговый токен' });
    expect(contract.paper().tinkoff.stats.byRoute).toEqual({ instrument: 1 });
  });

  it('broker-unavailable: answers an instrument lookup that fails twice with 502 "Брокер недоступен"', async () => {
    contract.paper().tinkoff.injectFault({ route: 'instrument', fault: { kind: 'status', status: 503 }, times: 2 });

    const result = await answer(signal({ t: 'SBER', p: 1, v: 1, d: 'buy' }));

    expect(result).toMatchObject({ status: 502, body: 'Брокер недоступен' });
    expect(contract.paper().tinkoff.stats.byRoute).toEqual({ instrument: 2 });
  });

  it('broker-timeout: answers an instrument lookup that does not answer in time with 504, sending no order', async () => {
    contract.paper().tinkoff.injectFault({ route: 'instrument', fault: { kind: 'hang-before-headers' } });

    expect(await answer(signal({ t: 'SBER', p: 1, v: 1, d: 'buy' }), { BROKER_TIMEOUT_MS: '300' })).toMatchObject({
      status: 504,
      body: 'Брокер не ответил вовремя',
    });
    expect(contract.paper().tinkoff.stats.byRoute).toEqual({ instrument: 1 });
  });

  it('broker-timeout: answers a broker that does not answer in time with 504 "Брокер не ответил вовремя"', async () => {
    contract.paper().tinkoff.injectFault({ route: 'order', fault: { kind: 'hang-before-headers' } });

    expect(await answer(signal(VALID_ORDER), { BROKER_TIMEOUT_MS: '300' })).toMatchObject({
      status: 504,
      body: 'Брокер не ответил вовремя',
    });
  });

  it('dry-run: builds the order but sends nothing in dry run', async () => {
    const before = contract.paper().tinkoff.orders.length;

    const result = await answer(signal(VALID_ORDER), { DRY_RUN: 'true' });

    expect(result).toMatchObject({ status: 200, body: '200 OK' });
    expect(contract.paper().tinkoff.stats.requests).toBe(0);
    expect(contract.paper().tinkoff.orders.length).toBe(before);
    expect(logLines().at(-1)).toMatchObject({ broker: 'tinkoff', outcome: 'dry-run' });
  });

  it('dry-run: looks the instrument of an order without f up, so a wrong ticker shows, but sends no order', async () => {
    const placed = await answer(signal({ t: 'SBER', p: 1, v: 1, d: 'buy' }), { DRY_RUN: 'true' });
    const unknown = await answer(signal({ t: 'NOPE', p: 1, v: 1, d: 'buy' }), { DRY_RUN: 'true' });

    expect([placed, unknown]).toMatchObject([
      { status: 200, body: '200 OK' },
      { status: 400, body: 'Инструмент не найден: NOPE (TQBR)' },
    ]);
    expect(contract.paper().tinkoff.stats.byRoute).toEqual({ instrument: 2 });
  });

  it('logs-and-secrets: logs one line with the order id and no token', async () => {
    await answer(signal(VALID_ORDER));

    expect(logLines()).toEqual([
      expect.objectContaining({
        broker: 'tinkoff',
        outcome: 'placed',
        status: 200,
        brokerOrderId: contract.paper().tinkoff.orders.at(-1)?.orderId,
      }),
    ]);
    expect(allOutput()).not.toContain(PAPER_TINKOFF.token);
    expect(allOutput()).not.toContain(TEST_WEBHOOK_SECRET);
  });
});
