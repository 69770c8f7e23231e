import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  PAPER_ALOR,
  PAPER_SCENARIOS,
  PAPER_TINKOFF,
  type PaperBrokers,
  startPaperBrokers,
} from '#local/paper-broker/index.ts';
import { alorPreflight } from '#shared/brokers/alor/preflight.ts';
import { tinkoffPreflight } from '#shared/brokers/tinkoff/preflight.ts';
import { createKeepAliveAgent } from '#shared/http/outbound/client.ts';
import { createDeadline } from '#shared/http/outbound/deadline.ts';
import type { Check } from '#shared/preflight/checklist.ts';
import { catalogueEntry, checkedSchema, specSchema, specViolations } from '../unit/broker-spec.ts';

/**
 * The preflight's read calls against the brokers' specs (docs/broker-specs/): every request the broker modules send,
 * and every answer the paper brokers give, in every failure scenario, conform to the schemas; the error codes the
 * paper brokers answer with are the catalogue's.
 */

let paper: PaperBrokers;
const agent = createKeepAliveAgent();

beforeAll(async () => {
  paper = await startPaperBrokers();
});
afterAll(async () => {
  await Promise.all([paper.close(), agent.close()]);
});
beforeEach(() => {
  paper.alor.resetStats();
  paper.tinkoff.resetStats();
});

async function runBoth(): Promise<Check[]> {
  const checks: Check[] = [];
  const call = () => ({
    dispatcher: agent,
    deadline: createDeadline(5000),
    report: (item: Check) => checks.push(item),
  });
  await alorPreflight(
    {
      refreshToken: PAPER_ALOR.refreshToken,
      portfolio: PAPER_ALOR.portfolio,
      exchange: 'MOEX',
      oauthUrl: paper.alor.url,
      apiUrl: paper.alor.url,
      ticker: 'SBER',
    },
    call(),
  );
  await tinkoffPreflight(
    {
      token: PAPER_TINKOFF.token,
      accountId: PAPER_TINKOFF.accountId,
      api: 'v2',
      apiUrl: paper.tinkoff.v2Url,
      otherEnvironment: { url: paper.tinkoff.sandboxUrl, kind: 'sandbox' },
      figi: 'BBG004730N88',
      ticker: 'SBER',
    },
    call(),
  );
  return checks;
}

const TINVEST_REQUESTS: Readonly<Record<string, ReturnType<typeof specSchema>>> = {
  accounts: specSchema('tinvest-v2-openapi.yaml', 'v1GetAccountsRequest'),
  info: specSchema('tinvest-v2-openapi.yaml', 'v1GetInfoRequest'),
  instrument: checkedSchema('tinvestInstrumentRequest'),
  // The reads of a ver 2 signal and its protection, checked by default.
  positions: specSchema('tinvest-v2-openapi.yaml', 'v1PositionsRequest'),
  orders: checkedSchema('tinvestGetOrdersRequest'),
  'stop-orders': checkedSchema('tinvestGetStopOrdersRequest'),
  // The portfolio's value sizing would use and the day's result (docs/contract.md#guards).
  portfolio: checkedSchema('tinvestPortfolioRequest'),
};

async function post(url: string, body: unknown, token: string = PAPER_TINKOFF.token) {
  const response = await request(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    dispatcher: agent,
  });
  return { status: response.statusCode, json: (await response.body.json()) as unknown };
}

async function alorGet(path: string) {
  const refresh = await request(`${paper.alor.url}/refresh?token=${PAPER_ALOR.refreshToken}`, {
    method: 'POST',
    dispatcher: agent,
  });
  const { AccessToken } = (await refresh.body.json()) as { AccessToken: string };
  const response = await request(`${paper.alor.url}${path}`, {
    headers: { authorization: `Bearer ${AccessToken}` },
    dispatcher: agent,
  });
  const text = await response.body.text();
  return { status: response.statusCode, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

describe('the preflight read calls on the wire', () => {
  it('sends T-Invest request bodies that conform to the spec, and only read calls', async () => {
    const checks = await runBoth();

    expect(checks.map((item) => item.id)).toContain('tinkoff-instrument-tradable');
    const received = paper.tinkoff.received;
    expect(received.map((item) => item.route).sort()).toEqual([
      'accounts',
      'instrument',
      'orders',
      'portfolio',
      'positions',
      'stop-orders',
    ]);
    for (const item of received) {
      const schema = TINVEST_REQUESTS[item.route];
      expect(schema, item.route).toBeDefined();
      if (schema !== undefined) expect(specViolations(JSON.parse(item.rawBody), schema), item.route).toEqual([]);
    }
  });

  it('sends Alor reads as GETs with the documented path and format, with the access token', async () => {
    await runBoth();

    expect(paper.alor.received.map(({ route, target }) => [route, target])).toEqual([
      ['refresh', `/refresh?token=${PAPER_ALOR.refreshToken}`],
      ['summary', `/md/v2/Clients/MOEX/${PAPER_ALOR.portfolio}/summary?format=Simple`],
      // The reads of a ver 2 signal and its protection, checked by default, at once.
      ...(['positions', 'orders', 'stop-orders'] as const).map((route) => [
        route,
        `/md/v2/Clients/MOEX/${PAPER_ALOR.portfolio}/${route.replace('-', '')}?format=Simple`,
      ]),
      ['security', '/md/v2/Securities/MOEX/SBER?format=Simple'],
    ]);
    for (const item of paper.alor.received.slice(1))
      expect(item.headers.authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  });
});

describe.each([undefined, ...PAPER_SCENARIOS.tinkoff])('the paper T-Invest answers with scenario %s', (scenario) => {
  beforeEach(() => paper.tinkoff.setScenario(scenario));
  afterAll(() => paper.tinkoff.setScenario(undefined));

  const base = () => (scenario === 'sandbox-token' ? paper.tinkoff.sandboxUrl : paper.tinkoff.v2Url);
  const method = (name: string) => `${base()}/tinkoff.public.invest.api.contract.v1.${name}`;

  it('UsersService/GetAccounts as v1GetAccountsResponse', async () => {
    const { status, json } = await post(method('UsersService/GetAccounts'), {});
    expect(status).toBe(200);
    expect(specViolations(json, specSchema('tinvest-v2-openapi.yaml', 'v1GetAccountsResponse'))).toEqual([]);
  });

  it('UsersService/GetInfo as v1GetInfoResponse', async () => {
    const { status, json } = await post(method('UsersService/GetInfo'), {});
    expect(status).toBe(200);
    expect(specViolations(json, checkedSchema('tinvestGetInfoResponse'))).toEqual([]);
  });

  it('InstrumentsService/GetInstrumentBy as v1InstrumentResponse', async () => {
    const { status, json } = await post(method('InstrumentsService/GetInstrumentBy'), {
      idType: 'INSTRUMENT_ID_TYPE_FIGI',
      id: 'BBG004730N88',
    });
    expect(status).toBe(200);
    expect(specViolations(json, specSchema('tinvest-v2-openapi.yaml', 'v1InstrumentResponse'))).toEqual([]);
  });
});

/** Every Alor scenario but the revoked refresh token, which leaves no access token to read with (tested below). */
const ALOR_READ_SCENARIOS = PAPER_SCENARIOS.alor.filter((scenario) => scenario !== 'revoked-refresh-token');

describe.each([undefined, ...ALOR_READ_SCENARIOS])('the paper Alor answers with scenario %s', (scenario) => {
  beforeEach(() => paper.alor.setScenario(scenario));
  afterAll(() => paper.alor.setScenario(undefined));

  it('the portfolio summary as response_Summary_Simple, or the documented 403', async () => {
    const { status, json } = await alorGet(`/md/v2/Clients/MOEX/${PAPER_ALOR.portfolio}/summary?format=Simple`);
    if (scenario === 'portfolio-not-on-exchange' || scenario === 'portfolio-not-in-token') {
      expect({ status, json }).toEqual({ status: 403, json: undefined });
    } else {
      expect(status).toBe(200);
      expect(specViolations(json, checkedSchema('alorPortfolioSummary'))).toEqual([]);
    }
  });

  it('the instrument as response_Security_Simple, or the documented 404', async () => {
    const { status, json } = await alorGet('/md/v2/Securities/MOEX/SBER?format=Simple');
    if (scenario === 'instrument-not-tradable') {
      expect({ status, json }).toEqual({ status: 404, json: undefined });
    } else {
      expect(status).toBe(200);
      expect(specViolations(json, checkedSchema('alorSecurity'))).toEqual([]);
    }
  });
});

describe('the paper Alor refresh with a revoked refresh token', () => {
  afterAll(() => paper.alor.setScenario(undefined));

  it('answers the documented 403 without a body', async () => {
    paper.alor.setScenario('revoked-refresh-token');
    const response = await request(`${paper.alor.url}/refresh?token=${PAPER_ALOR.refreshToken}`, {
      method: 'POST',
      dispatcher: agent,
    });
    expect({ status: response.statusCode, text: await response.body.text() }).toEqual({ status: 403, text: '' });
  });
});

describe('the paper T-Invest errors', () => {
  const order = {
    instrumentId: 'BBG004730N88',
    quantity: '1',
    price: { units: '250', nano: 0 },
    direction: 'ORDER_DIRECTION_BUY',
    accountId: PAPER_TINKOFF.accountId,
    orderType: 'ORDER_TYPE_LIMIT',
    orderId: '6f1c2c58-3b8e-4d6a-9b1f-0c2d3e4f5a6b',
  };
  beforeEach(() => paper.tinkoff.setScenario(undefined));
  afterAll(() => paper.tinkoff.setScenario(undefined));

  it.each([
    ['read-only-token', '40002', 'PERMISSION_DENIED', 403],
    ['closed-account', '30081', 'INVALID_ARGUMENT', 400],
    ['instrument-not-tradable', '30052', 'INVALID_ARGUMENT', 400],
    ['wrong-account', '50004', 'NOT_FOUND', 404],
    ['sandbox-token', '40003', 'UNAUTHENTICATED', 401],
  ] as const)('refuse an order under %s with the catalogue code %s', async (scenario, code, type, status) => {
    paper.tinkoff.setScenario(scenario);
    const answer = await post(`${paper.tinkoff.v2Url}/tinkoff.public.invest.api.contract.v1.OrdersService/PostOrder`, {
      ...order,
      orderId: crypto.randomUUID(),
    });

    expect(answer.status).toBe(status);
    expect(answer.json).toMatchObject({ description: Number(code), message: catalogueEntry(code)?.message });
    expect(catalogueEntry(code)?.type).toBe(type);
    expect(paper.tinkoff.orders).toHaveLength(0);
  });

  it('knows no instrument of an unknown FIGI (50002)', async () => {
    const answer = await post(
      `${paper.tinkoff.v2Url}/tinkoff.public.invest.api.contract.v1.InstrumentsService/GetInstrumentBy`,
      { idType: 'INSTRUMENT_ID_TYPE_FIGI', id: 'BBG000000000' },
    );
    expect(answer).toEqual({
      status: 404,
      json: { code: 5, message: catalogueEntry('50002')?.message, description: 50002 },
    });
  });
});
