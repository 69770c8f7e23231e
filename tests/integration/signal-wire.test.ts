import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { PAPER_ALOR, PAPER_TINKOFF } from '#local/paper-broker/index.ts';
import { alorPaperEnv, importHandler, tinkoffPaperEnv } from '../helpers/handlers.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { flatten, signalEvent } from '../helpers/signals.ts';
import { checkedSchema, specSchema, specViolations } from '../unit/broker-spec.ts';

/**
 * Every request a v2 signal makes, as the paper brokers received it, checked against the brokers' official specs
 * (docs/broker-specs/), and the paper brokers' answers to them checked the same way: the paper brokers answer what the
 * specs say, and the functions send nothing the specs do not have.
 */

const paper = usePaperBrokers();

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

async function runSignals(broker: 'alor' | 'tinkoff', extra: readonly Record<string, unknown>[] = []) {
  flatten(paper, broker, 'SBER');
  const handler = await importHandler(broker, broker === 'alor' ? alorPaperEnv(paper) : tinkoffPaperEnv(paper));
  paper[broker].resetStats();
  const results: unknown[] = [];
  for (const [index, body] of [...SIGNALS, ...extra].entries()) {
    const response = await handler(signalEvent(broker, body, { key: `wire-${broker}-${index}` }));
    results.push(JSON.parse(response.body).result);
  }
  return results;
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
    const token = JSON.parse(
      await (
        await request(`${paper.alor.url}/refresh?token=${PAPER_ALOR.refreshToken}`, { method: 'POST' })
      ).body.text(),
    ).AccessToken;
    const read = async (path: string) =>
      JSON.parse(
        await (
          await request(`${paper.alor.url}${path}?format=Simple`, { headers: { authorization: `Bearer ${token}` } })
        ).body.text(),
      );
    const base = `/md/v2/Clients/MOEX/${PAPER_ALOR.portfolio}`;

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

describe('T-Invest: a v2 signal’s requests against the spec', () => {
  it('sends PostOrder of every type, GetPositions, GetOrders and CancelOrder as the spec has them', async () => {
    const results = await runSignals('tinkoff', [{ t: 'MOEX:SBER', pos: -1, o: 'best' }]);

    expect(results).toEqual(['placed', 'placed', 'placed', 'placed', 'cancelled', 'placed', 'placed', 'placed']);
    expect(paper.tinkoff.stats.byRoute).toMatchObject({ order: 7, positions: 5, orders: 7, cancel: 3, instrument: 1 });
    const schemas: Record<string, ReturnType<typeof specSchema>> = {
      order: checkedSchema('tinvestPostOrderRequest'),
      positions: specSchema('tinvest-v2-openapi.yaml', 'v1PositionsRequest'),
      orders: checkedSchema('tinvestGetOrdersRequest'),
      cancel: checkedSchema('tinvestCancelOrderRequest'),
      instrument: checkedSchema('tinvestInstrumentRequest'),
    };
    const types = new Set<string>();
    for (const received of paper.tinkoff.received) {
      const schema = schemas[received.route];
      if (schema === undefined) throw new Error(`a request the test does not know: ${received.route}`);
      const body = JSON.parse(received.rawBody);
      expect(specViolations(body, schema), received.rawBody).toEqual([]);
      if (received.route === 'order') {
        types.add(body.orderType);
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

async function runSized(broker: 'alor' | 'tinkoff') {
  flatten(paper, broker, 'SBER');
  const env = { ...(broker === 'alor' ? alorPaperEnv(paper) : tinkoffPaperEnv(paper)), ...GUARDED_ENV };
  const handler = await importHandler(broker, env);
  paper[broker].resetStats();
  const results: unknown[] = [];
  for (const [index, body] of SIZED.entries()) {
    const response = await handler(signalEvent(broker, body, { key: `sized-${broker}-${index}` }));
    results.push(JSON.parse(response.body).result);
  }
  return results;
}

describe('sizing and the guards’ reads against the spec', () => {
  it('Alor: the order estimate, the summary and the security, each read as the spec has it', async () => {
    expect(await runSized('alor')).toEqual(['placed', 'placed', 'placed', 'placed']);
    expect(paper.alor.stats.byRoute).toMatchObject({ estimate: 4, summary: 1, security: 1 });
    for (const received of paper.alor.received.filter((item) => item.route === 'estimate')) {
      expect(specViolations(JSON.parse(received.rawBody), checkedSchema('alorEstimateRequest'))).toEqual([]);
    }
    const token = JSON.parse(
      await (
        await request(`${paper.alor.url}/refresh?token=${PAPER_ALOR.refreshToken}`, { method: 'POST' })
      ).body.text(),
    ).AccessToken;
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
    const requests: Record<string, ReturnType<typeof specSchema>> = {
      'trading-status': specSchema('tinvest-v2-openapi.yaml', 'v1GetTradingStatusRequest'),
      portfolio: checkedSchema('tinvestPortfolioRequest'),
      'max-lots': checkedSchema('tinvestMaxLotsRequest'),
      'last-prices': checkedSchema('tinvestLastPricesRequest'),
    };
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
    const sent = paper.tinkoff.received.filter((item) => item.route in requests);
    for (const received of sent) {
      const schema = requests[received.route];
      if (schema === undefined) continue;
      expect(specViolations(JSON.parse(received.rawBody), schema), received.rawBody).toEqual([]);
    }
    for (const [route, method] of Object.entries(methods)) {
      const body = sent.find((item) => item.route === route)?.rawBody ?? '{}';
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
