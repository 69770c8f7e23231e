import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { PAPER_ALOR, PAPER_TINKOFF } from '#local/paper-broker/index.ts';
import { alorPaperEnv, importHandler, tinkoffPaperEnv } from '../helpers/handlers.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { useHeldFollowUpQueue } from '../helpers/protection.ts';
import { flatten, signalEvent } from '../helpers/signals.ts';
import { checkedSchema, specSchema, specViolations } from '../unit/broker-spec.ts';

/**
 * Every request a v2 signal makes, as the paper brokers received it, checked against the brokers' official specs
 * (docs/broker-specs/), and the paper brokers' answers to them checked the same way: the paper brokers answer what the
 * specs say, and the functions send nothing the specs do not have.
 */

const paper = usePaperBrokers();
/** Where a protected T-Invest entry's watch goes; its checks are not run here (tests/integration/protection.test.ts). */
useHeldFollowUpQueue();

/** Every intent and option, so that every kind of request goes out at least once. */
const SIGNALS: readonly Record<string, unknown>[] = [
  { t: 'MOEX:SBER', pos: 2, o: 'market' },
  { t: 'MOEX:SBER', pos: 4, p: '250.5', tif: 'ioc' },
  { t: 'MOEX:SBER', d: 'sell', v: 1, p: '300', tif: 'day', cancel: true },
  { t: 'MOEX:SBER', pos: 30, pu: 'shares', o: 'market' },
  { t: 'MOEX:SBER', x: 'cancel' },
  { t: 'MOEX:SBER', d: 'buy', v: 1, p: '200', tif: 'fok' },
  { t: 'MOEX:SBER', x: 'close' },
];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Sends `signals` (and `extra`) one after the other from flat, each with a key of its own; their results. */
async function runSignals(
  broker: 'alor' | 'tinkoff',
  extra: readonly Record<string, unknown>[] = [],
  signals: readonly Record<string, unknown>[] = SIGNALS,
  keyPrefix = 'wire',
  settings: Record<string, string> = {},
) {
  flatten(paper, broker, 'SBER');
  const env = broker === 'alor' ? alorPaperEnv(paper) : tinkoffPaperEnv(paper);
  const handler = await importHandler(broker, { ...env, ...settings });
  paper[broker].resetStats();
  const results: unknown[] = [];
  for (const [index, body] of [...signals, ...extra].entries()) {
    const response = await handler(signalEvent(broker, body, { key: `${keyPrefix}-${broker}-${index}` }));
    results.push(JSON.parse(response.body).result);
  }
  return results;
}

/** Reads of the paper Alor as a client makes them: an access token, a GET in the `Simple` format, the portfolio's path. */
async function alorReads() {
  const token: string = JSON.parse(
    await (await request(`${paper.alor.url}/refresh?token=${PAPER_ALOR.refreshToken}`, { method: 'POST' })).body.text(),
  ).AccessToken;
  const read = async (path: string) =>
    JSON.parse(
      await (
        await request(`${paper.alor.url}${path}?format=Simple`, { headers: { authorization: `Bearer ${token}` } })
      ).body.text(),
    );
  return { token, read, base: `/md/v2/Clients/MOEX/${PAPER_ALOR.portfolio}` };
}

describe('Alor: a v2 signal’s requests against the spec', () => {
  it('sends market and limit orders, position and order reads and cancels as the spec has them', async () => {
    const results = await runSignals('alor');

    expect(results).toEqual(['placed', 'placed', 'placed', 'placed', 'cancelled', 'placed', 'placed']);
    const byRoute = paper.alor.stats.byRoute;
    expect(byRoute).toMatchObject({ 'market-order': 3, order: 3, position: 4, orders: 6, cancel: 3, security: 1 });
    for (const received of paper.alor.received) {
      const url = new URL(received.target, 'http://paper.local');
      switch (received.route) {
        case 'order':
        case 'market-order': {
          const body = JSON.parse(received.rawBody);
          const schema = checkedSchema(received.route === 'order' ? 'alorLimitOrderRequest' : 'alorMarketOrderRequest');
          expect(specViolations(body, schema), received.rawBody).toEqual([]);
          const reqId = String(received.headers['x-reqid']);
          expect(reqId).toMatch(UUID);
          expect(received.headers['x-alor-reqid']).toBe(reqId);
          expect(body.comment).toBe(`ppp-webhooks ${reqId}`);
          break;
        }
        case 'position':
        case 'orders':
        case 'stop-orders':
        case 'security':
          expect(Object.fromEntries(url.searchParams)).toEqual({ format: 'Simple' });
          break;
        case 'cancel':
          expect(Object.fromEntries(url.searchParams)).toEqual({
            portfolio: PAPER_ALOR.portfolio,
            exchange: 'MOEX',
            stop: 'false',
          });
          break;
        case 'refresh':
          break;
        default:
          throw new Error(`a request the test does not know: ${received.route}`);
      }
    }
  });

  it('answers the reads as the spec has them', async () => {
    await runSignals('alor', [{ t: 'MOEX:SBER', pos: 3, p: '250' }]);
    const { read, base } = await alorReads();

    expect(specViolations(await read(`${base}/positions/SBER`), checkedSchema('alorPosition'))).toEqual([]);
    const positions = await read(`${base}/positions`);
    expect(positions.length).toBeGreaterThan(0);
    for (const position of positions) expect(specViolations(position, checkedSchema('alorPosition'))).toEqual([]);
    const orders = await read(`${base}/orders`);
    expect(orders.map((order: { type: string }) => order.type).sort()).toContain('market');
    for (const order of orders) {
      const { iceberg: _nullable, ...rest } = order;
      expect(specViolations(rest, checkedSchema('alorOrder'))).toEqual([]);
    }
  });
});

/**
 * Every request the paper T-Invest received, each checked against its schema in the spec (a request of a route the
 * test does not know fails it); their routes and bodies.
 */
function tinkoffRequestsAgainstTheSpec(): { route: string; body: Record<string, string> }[] {
  const schemas: Record<string, ReturnType<typeof specSchema>> = {
    order: checkedSchema('tinvestPostOrderRequest'),
    positions: specSchema('tinvest-v2-openapi.yaml', 'v1PositionsRequest'),
    orders: checkedSchema('tinvestGetOrdersRequest'),
    cancel: checkedSchema('tinvestCancelOrderRequest'),
    instrument: checkedSchema('tinvestInstrumentRequest'),
    'stop-order': checkedSchema('tinvestPostStopOrderRequest'),
    'stop-orders': checkedSchema('tinvestGetStopOrdersRequest'),
    'cancel-stop': checkedSchema('tinvestCancelStopOrderRequest'),
    'trading-status': specSchema('tinvest-v2-openapi.yaml', 'v1GetTradingStatusRequest'),
    portfolio: checkedSchema('tinvestPortfolioRequest'),
    'max-lots': checkedSchema('tinvestMaxLotsRequest'),
    'last-prices': checkedSchema('tinvestLastPricesRequest'),
  };
  return paper.tinkoff.received.map((received) => {
    const schema = schemas[received.route];
    if (schema === undefined) throw new Error(`a request the test does not know: ${received.route}`);
    const body = JSON.parse(received.rawBody);
    expect(specViolations(body, schema), received.rawBody).toEqual([]);
    return { route: received.route, body };
  });
}

describe('T-Invest: a v2 signal’s requests against the spec', () => {
  it('sends PostOrder of every type, GetPositions, GetOrders and CancelOrder as the spec has them', async () => {
    const results = await runSignals('tinkoff', [{ t: 'MOEX:SBER', pos: -1, o: 'best' }]);

    expect(results).toEqual(['placed', 'placed', 'placed', 'placed', 'cancelled', 'placed', 'placed', 'placed']);
    expect(paper.tinkoff.stats.byRoute).toMatchObject({ order: 7, positions: 5, orders: 7, cancel: 3, instrument: 1 });
    const types = new Set<string>();
    for (const { route, body } of tinkoffRequestsAgainstTheSpec()) {
      if (route === 'order') {
        types.add(String(body.orderType));
        expect(body.orderId).toMatch(UUID);
        expect(body.accountId).toBe(PAPER_TINKOFF.accountId);
        if (body.orderType !== 'ORDER_TYPE_LIMIT') expect(body).not.toHaveProperty('price');
        if (body.orderType !== 'ORDER_TYPE_LIMIT') expect(body).not.toHaveProperty('timeInForce');
      }
    }
    expect([...types].sort()).toEqual(['ORDER_TYPE_BESTPRICE', 'ORDER_TYPE_LIMIT', 'ORDER_TYPE_MARKET']);
  });

  it('answers GetPositions, GetOrders and CancelOrder as the spec has them', async () => {
    await runSignals('tinkoff', [
      { t: 'MOEX:SBER', pos: 3, p: '250' },
      { t: 'MOEX:GAZP', pos: 2, o: 'market' },
    ]);
    const post = async (method: string, body: unknown) => {
      const response = await request(`${paper.tinkoff.v2Url}/tinkoff.public.invest.api.contract.v1.${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PAPER_TINKOFF.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.statusCode, json: JSON.parse(await response.body.text()) };
    };
    const account = { accountId: PAPER_TINKOFF.accountId };

    const positions = await post('OperationsService/GetPositions', account);
    expect(specViolations(positions.json, checkedSchema('tinvestPositionsResponse'))).toEqual([]);
    expect(positions.json.securities.length).toBeGreaterThan(0);
    const orders = await post('OrdersService/GetOrders', account);
    expect(specViolations(orders.json, specSchema('tinvest-v2-openapi.yaml', 'v1GetOrdersResponse'))).toEqual([]);
    expect(orders.json.orders).toHaveLength(1);
    const cancel = await post('OrdersService/CancelOrder', {
      ...account,
      orderId: orders.json.orders[0].orderId,
      orderIdType: 'ORDER_ID_TYPE_EXCHANGE',
    });
    expect(cancel.status).toBe(200);
    expect(specViolations(cancel.json, checkedSchema('tinvestCancelOrderResponse'))).toEqual([]);
    const again = await post('OrdersService/CancelOrder', {
      ...account,
      orderId: orders.json.orders[0].orderId,
      orderIdType: 'ORDER_ID_TYPE_EXCHANGE',
    });
    expect(again).toMatchObject({ status: 400, json: { description: 30059 } });
  });
});

/** Every sizing mode and every guard that reads the broker, so that each of their reads goes out. */
const GUARDED_ENV = {
  CHECK_TRADING_STATUS: 'true',
  DAILY_LOSS_LIMIT: '5%',
  MAX_ORDER_RUB: '1000000',
  MAX_POSITION_LOTS: '1000',
};
const SIZED: readonly Record<string, unknown>[] = [
  { t: 'MOEX:SBER', d: 'buy', v: 10_000, vt: 'rub', p: '250' },
  { t: 'MOEX:SBER', d: 'buy', v: 1, vt: 'pct', o: 'market' },
  { t: 'MOEX:SBER', pos: 2, vt: 'pct', o: 'market' },
  { t: 'MOEX:SBER', d: 'buy', v: 0.5, vt: 'risk', sl: '240', p: '250' },
];

const runSized = (broker: 'alor' | 'tinkoff') => runSignals(broker, [], SIZED, 'sized', GUARDED_ENV);

describe('sizing and the guards’ reads against the spec', () => {
  it('Alor: the order estimate, the summary and the security, each read as the spec has it', async () => {
    expect(await runSized('alor')).toEqual(['placed', 'placed', 'placed', 'placed']);
    expect(paper.alor.stats.byRoute).toMatchObject({ estimate: 4, summary: 1, security: 1 });
    for (const received of paper.alor.received.filter((item) => item.route === 'estimate')) {
      expect(specViolations(JSON.parse(received.rawBody), checkedSchema('alorEstimateRequest'))).toEqual([]);
    }
    const { token } = await alorReads();
    const estimate = await request(`${paper.alor.url}/commandapi/warptrans/TRADE/v2/client/orders/estimate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ portfolio: PAPER_ALOR.portfolio, ticker: 'SBER', exchange: 'MOEX', lotQuantity: 1 }),
    });
    const { buyPrice: _nullable, ...answer } = JSON.parse(await estimate.body.text());
    expect(specViolations(answer, checkedSchema('alorEstimateResponse'))).toEqual([]);
    paper.alor.setTrading('MOEX', 'SBER', false);
    const security = await request(`${paper.alor.url}/md/v2/Securities/MOEX/SBER?format=Simple`, {
      headers: { authorization: `Bearer ${token}` },
    });
    paper.alor.setTrading('MOEX', 'SBER', true);
    const stopped = JSON.parse(await security.body.text());
    expect(stopped.tradingStatus).toBe(18);
    expect(specViolations(stopped, checkedSchema('alorSecurity'))).toEqual([]);
  });

  it('T-Invest: GetTradingStatus, GetPortfolio, GetMaxLots and GetLastPrices, each sent and answered as the spec has them', async () => {
    expect(await runSized('tinkoff')).toEqual(['placed', 'placed', 'placed', 'placed']);
    expect(paper.tinkoff.stats.byRoute).toMatchObject({
      'trading-status': 1,
      portfolio: 1,
      'max-lots': 4,
      'last-prices': 2,
    });
    const answers: Record<string, ReturnType<typeof specSchema>> = {
      'trading-status': checkedSchema('tinvestTradingStatusResponse'),
      portfolio: checkedSchema('tinvestPortfolioResponse'),
      'max-lots': checkedSchema('tinvestMaxLotsResponse'),
      'last-prices': specSchema('tinvest-v2-openapi.yaml', 'v1GetLastPricesResponse'),
    };
    const methods: Record<string, string> = {
      'trading-status': 'MarketDataService/GetTradingStatus',
      portfolio: 'OperationsService/GetPortfolio',
      'max-lots': 'OrdersService/GetMaxLots',
      'last-prices': 'MarketDataService/GetLastPrices',
    };
    const sent = tinkoffRequestsAgainstTheSpec();
    for (const [route, method] of Object.entries(methods)) {
      const body = JSON.stringify(sent.find((item) => item.route === route)?.body ?? {});
      const response = await request(`${paper.tinkoff.v2Url}/tinkoff.public.invest.api.contract.v1.${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PAPER_TINKOFF.token}`, 'content-type': 'application/json' },
        body,
      });
      expect(response.statusCode, route).toBe(200);
      const schema = answers[route];
      if (schema !== undefined) {
        expect(specViolations(JSON.parse(await response.body.text()), schema), route).toEqual([]);
      }
    }
  });
});

/** Protected entries of every kind: a limit and a market entry, a reversal, and an exit with protection open. */
const PROTECTED: readonly Record<string, unknown>[] = [
  { t: 'MOEX:SBER', d: 'buy', v: 2, p: '100', sl: '95', tp: '2%' },
  { t: 'MOEX:SBER', d: 'buy', v: 1, o: 'market', sl: '1.5%', tp: '110' },
  { t: 'MOEX:SBER', pos: -1, o: 'market', sl: '104', tp: '90' },
  { t: 'MOEX:SBER', x: 'close' },
];

const runProtected = (broker: 'alor' | 'tinkoff', extra: readonly Record<string, unknown>[] = []) =>
  runSignals(broker, extra, PROTECTED, 'protected');

describe('Alor: a protected entry’s requests against the spec', () => {
  it('sends stop orders, order groups, the trades read and stop cancels as the spec has them', async () => {
    const results = await runProtected('alor');

    expect(results).toEqual(['placed', 'placed', 'placed', 'placed']);
    expect(paper.alor.stats.byRoute).toMatchObject({ 'stop-order': 6, 'order-group': 4, trades: 2 });
    const policies: string[] = [];
    for (const received of paper.alor.received) {
      const url = new URL(received.target, 'http://paper.local');
      switch (received.route) {
        case 'stop-order': {
          const body = JSON.parse(received.rawBody);
          expect(specViolations(body, checkedSchema('alorStopOrderRequest')), received.rawBody).toEqual([]);
          const reqId = String(received.headers['x-reqid']);
          expect(reqId).toMatch(UUID);
          expect(received.headers['x-alor-reqid']).toBe(reqId);
          expect(body.comment).toBe(`ppp-webhooks ${reqId}`);
          break;
        }
        case 'order-group': {
          const body = JSON.parse(received.rawBody);
          // Only the spec's own inconsistency: `required` spells the two properties with capitals.
          expect(specViolations(body, checkedSchema('alorOrderGroupRequest'))).toEqual([
            '$.Orders: required',
            '$.ExecutionPolicy: required',
          ]);
          policies.push(body.executionPolicy);
          break;
        }
        case 'cancel':
          expect(Object.fromEntries(url.searchParams)).toMatchObject({ stop: expect.stringMatching(/^(true|false)$/) });
          break;
        case 'trades':
        case 'position':
        case 'orders':
        case 'stop-orders':
        case 'security':
          expect(Object.fromEntries(url.searchParams)).toEqual({ format: 'Simple' });
          break;
        case 'order':
        case 'market-order':
        case 'order-lookup':
        case 'refresh':
          break;
        default:
          throw new Error(`a request the test does not know: ${received.route}`);
      }
    }
    expect(policies).toEqual(['TriggerBracketOrders', 'OnExecuteOrCancel', 'OnExecuteOrCancel', 'OnExecuteOrCancel']);
  });

  it('answers the stop orders, trades and groups as the spec has them', async () => {
    await runProtected('alor', [{ t: 'MOEX:SBER', d: 'buy', v: 1, o: 'market', sl: '90', tp: '120' }]);
    const { token, read, base } = await alorReads();
    const stops = await read(`${base}/stoporders`);
    expect(stops.length).toBeGreaterThan(0);
    for (const stop of stops) expect(specViolations(stop, checkedSchema('alorStopOrder'))).toEqual([]);
    const trades = await read(`${base}/SBER/trades`);
    expect(trades.length).toBeGreaterThan(0);
    for (const trade of trades) expect(specViolations(trade, checkedSchema('alorTrade'))).toEqual([]);
    const group = await request(`${paper.alor.url}/commandapi/api/orderGroups`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        orders: [{ portfolio: PAPER_ALOR.portfolio, exchange: 'MOEX', orderId: stops[0].id, type: 'Stop' }],
        executionPolicy: 'OnExecuteOrCancel',
      }),
    });
    expect(specViolations(JSON.parse(await group.body.text()), checkedSchema('alorOrderGroupResponse'))).toEqual([]);
    const refused = await request(`${paper.alor.url}/commandapi/api/orderGroups`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        orders: [{ portfolio: PAPER_ALOR.portfolio, exchange: 'MOEX', orderId: '1', type: 'Stop' }],
        executionPolicy: 'OnExecuteOrCancel',
      }),
    });
    expect(refused.statusCode).toBe(400);
    expect(specViolations(JSON.parse(await refused.body.text()), checkedSchema('alorOrderGroupError'))).toEqual([]);
  });
});

describe('T-Invest: a protected entry’s requests against the spec', () => {
  it('sends PostStopOrder, GetStopOrders and CancelStopOrder as the spec has them', async () => {
    const results = await runProtected('tinkoff', [{ t: 'MOEX:SBER', d: 'buy', v: 1, o: 'market', trail: '2%' }]);

    expect(results).toEqual(['placed', 'placed', 'placed', 'placed', 'placed']);
    expect(paper.tinkoff.stats.byRoute).toMatchObject({ 'stop-order': 5, 'cancel-stop': 4 });
    const kinds = new Set<string>();
    for (const { route, body } of tinkoffRequestsAgainstTheSpec()) {
      if (route === 'stop-order') {
        kinds.add(`${body.stopOrderType}/${body.takeProfitType ?? ''}`);
        expect(body.orderId).toMatch(UUID);
        expect(body).not.toHaveProperty('confirmMarginTrade');
      }
    }
    expect([...kinds].sort()).toEqual([
      'STOP_ORDER_TYPE_STOP_LOSS/',
      'STOP_ORDER_TYPE_TAKE_PROFIT/TAKE_PROFIT_TYPE_REGULAR',
      'STOP_ORDER_TYPE_TAKE_PROFIT/TAKE_PROFIT_TYPE_TRAILING',
    ]);
  });

  it('answers PostStopOrder, GetStopOrders and CancelStopOrder as the spec has them', async () => {
    await runProtected('tinkoff', [{ t: 'MOEX:SBER', d: 'buy', v: 1, o: 'market', sl: '90', tp: '120' }]);
    const post = async (method: string, body: unknown) => {
      const response = await request(`${paper.tinkoff.v2Url}/tinkoff.public.invest.api.contract.v1.${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PAPER_TINKOFF.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.statusCode, json: JSON.parse(await response.body.text()) };
    };
    const account = { accountId: PAPER_TINKOFF.accountId };
    const all = await post('StopOrdersService/GetStopOrders', { ...account, status: 'STOP_ORDER_STATUS_ALL' });
    expect(specViolations(all.json, specSchema('tinvest-v2-openapi.yaml', 'v1GetStopOrdersResponse'))).toEqual([]);
    const active = await post('StopOrdersService/GetStopOrders', account);
    expect(active.json.stopOrders).toHaveLength(2);
    for (const stop of active.json.stopOrders) {
      expect(specViolations(stop, checkedSchema('tinvestStopOrder'))).toEqual([]);
    }
    const cancel = await post('StopOrdersService/CancelStopOrder', {
      ...account,
      stopOrderId: active.json.stopOrders[0].stopOrderId,
    });
    expect(cancel.status).toBe(200);
    expect(specViolations(cancel.json, specSchema('tinvest-v2-openapi.yaml', 'v1CancelStopOrderResponse'))).toEqual([]);
    const placed = await post('StopOrdersService/PostStopOrder', {
      ...account,
      instrumentId: 'BBG004730N88',
      quantity: '1',
      stopPrice: { units: '80', nano: 0 },
      direction: 'STOP_ORDER_DIRECTION_SELL',
      expirationType: 'STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_CANCEL',
      stopOrderType: 'STOP_ORDER_TYPE_STOP_LOSS',
      exchangeOrderType: 'EXCHANGE_ORDER_TYPE_MARKET',
      orderId: '6f0e3bd4-8d0c-4f45-9f4c-2b9d1c0f0a11',
    });
    expect(specViolations(placed.json, checkedSchema('tinvestPostStopOrderResponse'))).toEqual([]);
  });
});
