import { createHmac, randomUUID } from 'node:crypto';
import * as z from 'zod';
import { nextOrderState, type OrderStateChange, type PaperOrderStatus } from './order-state.ts';
import { type BrokerRequest, type JsonAnswer, type PaperServer, type Route, startPaperServer } from './server.ts';

/**
 * A paper Alor: `POST /refresh?token=` (oauth host), the limit-order command, the order lookup of the follow-up and
 * the two read calls of the preflight (portfolio summary, instrument) on one loopback server, checked field by field against
 * docs/broker-specs/alor-WarpOpenAPIv2.yml. It keeps a book of accepted orders, answers a repeated `X-REQID` from its
 * first answer, and refuses what Alor would. Its schemas are its own, written from the spec, so the client's mistakes
 * are not mirrored here. A scenario makes it fail the way a misconfigured account does, for the preflight to find;
 * an order's state (filled, partly filled, rejected, canceled) is changed from outside, as the exchange would.
 */

export const ALOR_LIMIT_PATH = '/commandapi/warptrans/TRADE/v2/client/orders/actions/limit';
export const ALOR_SUMMARY_PATH = '/md/v2/Clients/{exchange}/{portfolio}/summary';
export const ALOR_SECURITY_PATH = '/md/v2/Securities/{exchange}/{symbol}';
/** `MdV2ClientsExchangePortfolioOrdersOrderIdGet`: one order of a portfolio. */
const ALOR_ORDER_LOOKUP_PATH = '/md/v2/Clients/{exchange}/{portfolio}/orders/{orderId}';
const ALREADY_HANDLED = 'Request with such X-ALOR-REQID was already handled. We return the response to that request.';

/** Ways an Alor setup goes wrong, each one switchable on a paper broker. */
export const ALOR_PAPER_SCENARIOS = [
  /** The refresh token was revoked (or expired): `/refresh` answers 403. */
  'revoked-refresh-token',
  /** The token carries other portfolios than the configured one: orders for it are refused with 403. */
  'portfolio-not-in-token',
  /** The portfolio is not one of the exchange's (a currency or derivatives portfolio): its summary answers 403. */
  'portfolio-not-on-exchange',
  /** The exchange lists no instrument of that symbol: 404. */
  'instrument-not-tradable',
] as const;
export type AlorPaperScenario = (typeof ALOR_PAPER_SCENARIOS)[number];

/** What a token carries under `portfolio-not-in-token`. */
const OTHER_PORTFOLIOS = ['D99999', 'G99999'];
/** `field_TradingStatusCode` 17: normal trading. */
const NORMAL_TRADING = 17;

export interface AlorPaperOptions {
  /** Refresh token → the portfolios it may trade. */
  readonly accounts: Readonly<Record<string, readonly string[]>>;
  /** Tradeable symbols per exchange; any symbol when absent. */
  readonly instruments?: Readonly<Record<'MOEX' | 'SPBX', readonly string[]>>;
  /** Lifetime of issued JWTs. */
  readonly accessTokenTtlSeconds?: number;
  /** Lot size per symbol; 1 when absent. */
  readonly lotSizes?: Readonly<Record<string, number>>;
  /** Send `oldResponse.body` as a JSON string, as some Alor gateways do. */
  readonly replayBodyAsString?: boolean;
  readonly scenario?: AlorPaperScenario | undefined;
  readonly port?: number;
}

export interface AlorPaperOrder {
  readonly orderNumber: string;
  readonly requestId: string;
  readonly portfolio: string;
  readonly symbol: string;
  readonly exchange: 'MOEX' | 'SPBX';
  readonly side: 'buy' | 'sell';
  readonly quantity: number;
  readonly price: number;
  readonly placedAt: string;
  /** Working when placed; changed by {@link AlorPaperBroker.setOrderState}. */
  status: PaperOrderStatus;
  filledQuantity: number;
}

export interface AlorPaperBroker extends PaperServer {
  readonly orders: readonly AlorPaperOrder[];
  /** Fills, partly fills, rejects or cancels an order by its number; an error text when it cannot. */
  setOrderState(orderNumber: string, change: OrderStateChange): string | undefined;
  /** Every access token (JWT) issued, oldest first: lets a test look for them where they must not be. */
  readonly issuedAccessTokens: readonly string[];
  /** Issued access tokens stop working now, as when Alor revokes them early. */
  revokeAccessTokens(): void;
  /** Switches a failure scenario on (or all off, with undefined) for the requests that follow. */
  setScenario(scenario: AlorPaperScenario | undefined): void;
}

/** `query_Format_Optional` and `query_JsonResponse_Optional`: the only query parameters of the two read calls. */
const ReadQuerySchema = z.strictObject({
  format: z.enum(['Simple', 'Slim', 'Heavy']).optional(),
  jsonResponse: z.enum(['true', 'false']).optional(),
});
const ExchangeSchema = z.enum(['MOEX', 'SPBX']);

/** `OrdersActionsLimitTVPost`: the documented fields, nothing else. */
const LimitOrderBodySchema = z.strictObject({
  side: z.enum(['buy', 'sell']),
  quantity: z.number().int().min(-2_147_483_648).max(2_147_483_647),
  price: z.number(),
  instrument: z.strictObject({
    symbol: z.string().min(1),
    exchange: z.enum(['MOEX', 'SPBX']),
    instrumentGroup: z.string().optional(),
  }),
  comment: z.string().optional(),
  user: z.strictObject({ portfolio: z.string().min(1) }),
  timeInForce: z.string().optional(),
  allowMargin: z.boolean().optional(),
  icebergFixed: z.number().int().optional(),
  icebergVariance: z.number().optional(),
});

const JWT_SECRET = randomUUID();

/** An access token with the claims Alor's carry: `sub` (the user), `portfolios` (space-separated), `exp`. */
function issueJwt(ttlSeconds: number, generation: number, portfolios: readonly string[]): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = encode({ alg: 'HS256', typ: 'JWT' });
  const payload = encode({
    sub: 'P000000',
    portfolios: portfolios.join(' '),
    gen: generation,
    jti: randomUUID(),
    exp: Math.floor(Date.now() / 1000) + ttlSeconds,
  });
  const signature = createHmac('sha256', JWT_SECRET).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

export async function startAlorPaperBroker(options: AlorPaperOptions): Promise<AlorPaperBroker> {
  const ttlSeconds = options.accessTokenTtlSeconds ?? 1800;
  const orders: AlorPaperOrder[] = [];
  /** JWT → the portfolios it may trade; revocation bumps the generation. */
  const accessTokens = new Map<string, { portfolios: readonly string[]; expiresAt: number; generation: number }>();
  const firstAnswers = new Map<string, JsonAnswer>();
  const issuedAccessTokens: string[] = [];
  let generation = 0;
  let orderSequence = 4_090_000_000;
  let scenario = options.scenario;

  const refresh = (request: BrokerRequest): JsonAnswer => {
    const token = request.url.searchParams.get('token') ?? '';
    const known = options.accounts[token];
    if (known === undefined || scenario === 'revoked-refresh-token') return { status: 403 };
    const portfolios = scenario === 'portfolio-not-in-token' ? OTHER_PORTFOLIOS : known;
    const jwt = issueJwt(ttlSeconds, generation, portfolios);
    issuedAccessTokens.push(jwt);
    accessTokens.set(jwt, { portfolios, expiresAt: Date.now() + ttlSeconds * 1000, generation });
    return { status: 200, body: { AccessToken: jwt } };
  };

  /** The access token's session: undefined when the request has none that is valid now (the documented 401). */
  const sessionOf = (request: BrokerRequest) => {
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const session = bearer === undefined ? undefined : accessTokens.get(bearer);
    if (session === undefined || session.expiresAt <= Date.now() || session.generation !== generation) return undefined;
    return session;
  };

  /** `MdV2ClientsExchangePortfolioSummaryGet`, in the `Simple` format. */
  const portfolioSummary = (request: BrokerRequest): JsonAnswer => {
    const session = sessionOf(request);
    if (session === undefined) return { status: 401 };
    const query = ReadQuerySchema.safeParse(Object.fromEntries(request.url.searchParams));
    const exchange = ExchangeSchema.safeParse(request.params.exchange);
    if (!query.success || !exchange.success) return { status: 400 };
    const portfolio = request.params.portfolio ?? '';
    if (!session.portfolios.includes(portfolio) || scenario === 'portfolio-not-on-exchange') return { status: 403 };
    return {
      status: 200,
      body: {
        buyingPowerAtMorning: 100_000,
        buyingPower: 100_000,
        profit: 0,
        profitRate: 0,
        portfolioEvaluation: 100_000,
        portfolioLiquidationValue: 100_000,
        initialMargin: 0,
        riskBeforeForcePositionClosing: 100_000,
        commission: 0,
      },
    };
  };

  /** `MdV2SecuritiesExchangeSymbolGet`, in the `Simple` format; the documented 404 (no body) for an unknown symbol. */
  const security = (request: BrokerRequest): JsonAnswer => {
    if (sessionOf(request) === undefined) return { status: 401 };
    const query = ReadQuerySchema.safeParse(Object.fromEntries(request.url.searchParams));
    const exchange = ExchangeSchema.safeParse(request.params.exchange);
    if (!query.success || !exchange.success) return { status: 400 };
    const symbol = request.params.symbol ?? '';
    const listed = options.instruments?.[exchange.data].includes(symbol) ?? true;
    if (!listed || scenario === 'instrument-not-tradable') return { status: 404 };
    return {
      status: 200,
      body: {
        symbol,
        shortname: symbol,
        description: `${symbol} (paper)`,
        exchange: exchange.data,
        type: 'CS',
        lotsize: options.lotSizes?.[symbol] ?? 1,
        minstep: 0.01,
        currency: exchange.data === 'MOEX' ? 'RUB' : 'USD',
        board: exchange.data === 'MOEX' ? 'TQBR' : 'SPBXM',
        tradingStatus: NORMAL_TRADING,
        tradingStatusInfo: 'нормальный период торгов',
      },
    };
  };

  const placeLimitOrder = (request: BrokerRequest): JsonAnswer => {
    const session = sessionOf(request);
    if (session === undefined) return { status: 401 };
    const requestId = request.headers['x-reqid'];
    if (typeof requestId !== 'string' || requestId === '') {
      return { status: 400, body: { message: 'X-REQID header is required' } };
    }
    const legacyId = request.headers['x-alor-reqid'];
    if (legacyId !== undefined && legacyId !== requestId) {
      return { status: 400, body: { message: 'X-REQID and X-ALOR-REQID differ' } };
    }
    if (!String(request.headers['content-type']).startsWith('application/json')) {
      return { status: 400, body: { message: 'Content-Type must be application/json' } };
    }
    const first = firstAnswers.get(requestId);
    if (first !== undefined) {
      const body = options.replayBodyAsString ? JSON.stringify(first.body) : first.body;
      return { status: 400, body: { message: ALREADY_HANDLED, oldResponse: { statusCode: first.status, body } } };
    }
    const answer = decideLimitOrder(request, session.portfolios);
    firstAnswers.set(requestId, answer);
    if (answer.status === 200) {
      const body = LimitOrderBodySchema.parse(request.json);
      orders.push({
        orderNumber: (answer.body as { orderNumber: string }).orderNumber,
        requestId,
        portfolio: body.user.portfolio,
        symbol: body.instrument.symbol,
        exchange: body.instrument.exchange,
        side: body.side,
        quantity: body.quantity,
        price: body.price,
        placedAt: new Date().toISOString(),
        status: 'working',
        filledQuantity: 0,
      });
    }
    return answer;
  };

  /** `GET /md/v2/Clients/{exchange}/{portfolio}/orders/{orderId}` in the `Simple` format (`response_Order_Simple`). */
  const lookUpOrder = (request: BrokerRequest): JsonAnswer => {
    const session = sessionOf(request);
    if (session === undefined) return { status: 401 };
    const { exchange, portfolio = '', orderId } = request.params;
    if (!session.portfolios.includes(portfolio)) return { status: 403 };
    const order = orders.find(
      (candidate) =>
        candidate.orderNumber === orderId && candidate.exchange === exchange && candidate.portfolio === portfolio,
    );
    if (order === undefined) return { status: 404 };
    const filled = order.filledQuantity;
    return {
      status: 200,
      body: {
        id: order.orderNumber,
        symbol: order.symbol,
        brokerSymbol: `${order.exchange}:${order.symbol}`,
        portfolio: order.portfolio,
        exchange: order.exchange,
        type: 'limit',
        side: order.side,
        // Alor has no partly filled status: a working order with fills.
        status: order.status === 'partly-filled' ? 'working' : order.status,
        transTime: order.placedAt,
        updateTime: new Date().toISOString(),
        qtyUnits: order.quantity,
        qtyBatch: order.quantity,
        qty: order.quantity,
        filledQtyUnits: filled,
        filledQtyBatch: filled,
        filled,
        price: order.price,
        existing: true,
        timeInForce: 'oneday',
        iceberg: null,
        volume: order.price * order.quantity,
      },
    };
  };

  const decideLimitOrder = (request: BrokerRequest, portfolios: readonly string[]): JsonAnswer => {
    const parsed = LimitOrderBodySchema.safeParse(request.json);
    if (!parsed.success)
      return { status: 400, body: { message: `Invalid request body: ${parsed.error.issues[0]?.path.join('.')}` } };
    const order = parsed.data;
    if (!portfolios.includes(order.user.portfolio)) {
      return { status: 403, body: { message: `Portfolio ${order.user.portfolio} is not available for this token` } };
    }
    if (order.quantity <= 0) return { status: 400, body: { message: 'Количество должно быть больше нуля' } };
    if (order.price <= 0) return { status: 400, body: { message: 'Цена должна быть больше нуля' } };
    const symbols = options.instruments?.[order.instrument.exchange];
    if (symbols !== undefined && !symbols.includes(order.instrument.symbol)) {
      return {
        status: 400,
        body: { message: `Инструмент ${order.instrument.symbol} не найден на ${order.instrument.exchange}` },
      };
    }
    orderSequence += 1;
    return { status: 200, body: { message: 'success', orderNumber: String(orderSequence) } };
  };

  const routes: Route[] = [
    { name: 'refresh', method: 'POST', path: '/refresh', handle: refresh },
    { name: 'order', method: 'POST', path: ALOR_LIMIT_PATH, handle: placeLimitOrder },
    { name: 'summary', method: 'GET', path: ALOR_SUMMARY_PATH, handle: portfolioSummary },
    { name: 'security', method: 'GET', path: ALOR_SECURITY_PATH, handle: security },
    { name: 'order-lookup', method: 'GET', path: ALOR_ORDER_LOOKUP_PATH, handle: lookUpOrder },
  ];
  const server = await startPaperServer(routes, options.port);
  return Object.assign(server, {
    orders,
    issuedAccessTokens,
    revokeAccessTokens: () => {
      generation += 1;
    },
    setOrderState: (orderNumber: string, change: OrderStateChange) => {
      const order = orders.find((candidate) => candidate.orderNumber === orderNumber);
      if (order === undefined) return `no order ${orderNumber}`;
      const next = nextOrderState(order.quantity, change);
      if (!next.ok) return next.reason;
      order.status = next.state.status;
      order.filledQuantity = next.state.filledLots;
      return undefined;
    },
    setScenario: (next: AlorPaperScenario | undefined) => {
      scenario = next;
    },
  });
}
