import { createHmac, randomUUID } from 'node:crypto';
import * as z from 'zod';
import { DAILY_LOSS_SCENARIO_SHARE, PaperBook, type PaperMoney } from './book.ts';
import { nextOrderState, type OrderStateChange, type PaperOrderStatus } from './order-state.ts';
import { type BrokerRequest, type JsonAnswer, type PaperServer, type Route, startPaperServer } from './server.ts';

/**
 * A paper Alor: `POST /refresh?token=` (oauth host), the limit- and market-order commands, the cancel, the order lookup
 * of the follow-up, a v2 signal's reads (the position in a symbol, the portfolio's orders, the order estimate of
 * sizing), the guards' (the portfolio summary, the instrument's trading status) and the preflight's (portfolio summary,
 * positions, instrument) on one loopback server, checked field by field against
 * docs/broker-specs/alor-WarpOpenAPIv2.yml. It keeps a book of accepted orders and of positions (in lots, as Alor
 * counts them), answers a repeated `X-REQID` from its first answer, and refuses what Alor would. A market order fills at
 * once at the symbol's last price (set from outside); a limit order works until it is filled, cancelled or changed from
 * outside, as the exchange would. Its schemas are its own, written from the spec, so the client's mistakes are not
 * mirrored here. A scenario makes it fail the way a misconfigured account does, for the preflight to find.
 */

export const ALOR_LIMIT_PATH = '/commandapi/warptrans/TRADE/v2/client/orders/actions/limit';
export const ALOR_MARKET_PATH = '/commandapi/warptrans/TRADE/v2/client/orders/actions/market';
/** `CommandapiWarptransTradeV2ClientOrdersOrderIdDelete`. */
const ALOR_CANCEL_PATH = '/commandapi/warptrans/TRADE/v2/client/orders/{orderId}';
/** `MdV2ClientsExchangePortfolioPositionsSymbolGet`, `MdV2ClientsExchangePortfolioPositionsGet`. */
const ALOR_POSITION_PATH = '/md/v2/Clients/{exchange}/{portfolio}/positions/{symbol}';
const ALOR_POSITIONS_PATH = '/md/v2/Clients/{exchange}/{portfolio}/positions';
/** `MdV2ClientsExchangePortfolioOrdersGet`. */
const ALOR_ORDERS_PATH = '/md/v2/Clients/{exchange}/{portfolio}/orders';
export const ALOR_SUMMARY_PATH = '/md/v2/Clients/{exchange}/{portfolio}/summary';
export const ALOR_SECURITY_PATH = '/md/v2/Securities/{exchange}/{symbol}';
/** `CommandapiWarptransTradeV2ClientOrdersEstimatePost`. */
export const ALOR_ESTIMATE_PATH = '/commandapi/warptrans/TRADE/v2/client/orders/estimate';
/** `MdV2ClientsExchangePortfolioOrdersOrderIdGet`: one order of a portfolio. */
const ALOR_ORDER_LOOKUP_PATH = '/md/v2/Clients/{exchange}/{portfolio}/orders/{orderId}';
/** `CommandapiWarptransTradeV2ClientOrdersActionsStopPost`. */
export const ALOR_STOP_PATH = '/commandapi/warptrans/TRADE/v2/client/orders/actions/stop';
/** `CommandapiApiOrderGroupsPost`, `CommandapiApiOrderGroupsGet`. */
export const ALOR_ORDER_GROUPS_PATH = '/commandapi/api/orderGroups';
/** `MdV2ClientsExchangePortfolioStopOrdersGet`. */
const ALOR_STOP_ORDERS_PATH = '/md/v2/Clients/{exchange}/{portfolio}/stoporders';
/** `MdV2ClientsExchangePortfolioSymbolTradesGet`. */
const ALOR_SYMBOL_TRADES_PATH = '/md/v2/Clients/{exchange}/{portfolio}/{symbol}/trades';
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
  /** No instrument trades now: `tradingStatus` 18, and orders are refused. */
  'instrument-not-trading',
  /** The portfolio has lost a tenth of its value today (the summary's `profit`). */
  'daily-loss-reached',
] as const;
export type AlorPaperScenario = (typeof ALOR_PAPER_SCENARIOS)[number];

/** What a token carries under `portfolio-not-in-token`. */
const OTHER_PORTFOLIOS = ['D99999', 'G99999'];
/** `field_TradingStatusCode` 17: normal trading; 18: no trading, or trading closed. */
const NORMAL_TRADING = 17;
const NOT_TRADING = 18;

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
  /** The limit price; a market order's fill price (the last price then). */
  readonly price: number;
  readonly type: 'limit' | 'market';
  readonly comment?: string | undefined;
  readonly timeInForce?: string | undefined;
  readonly placedAt: string;
  /** Working when placed (a market order: filled); changed by {@link AlorPaperBroker.setOrderState}. */
  status: PaperOrderStatus;
  filledQuantity: number;
}

/** A stop order (`actions/stop`): a market order sent when the symbol's last price meets its condition. */
export interface AlorPaperStopOrder {
  readonly orderNumber: string;
  readonly requestId: string;
  readonly portfolio: string;
  readonly symbol: string;
  readonly exchange: 'MOEX' | 'SPBX';
  readonly side: 'buy' | 'sell';
  readonly condition: 'more' | 'less' | 'moreorequal' | 'lessorequal';
  readonly triggerPrice: number;
  readonly quantity: number;
  readonly comment?: string | undefined;
  readonly placedAt: string;
  /** Created with `activate: false`: it waits, untriggerable, until a `TriggerBracketOrders` group activates it. */
  active: boolean;
  /** Working until triggered (`filled`: its market order was sent) or cancelled. */
  status: 'working' | 'filled' | 'canceled';
  /** The market order it sent. */
  marketOrder?: string;
}

/** A group of orders (`OrderGroupCreate`): what links them is Alor's `executionPolicy`, held on its servers. */
export interface AlorPaperGroup {
  readonly id: string;
  readonly orders: readonly { readonly orderId: string; readonly type: string }[];
  readonly executionPolicy: 'OnExecuteOrCancel' | 'IgnoreCancel' | 'TriggerBracketOrders';
  status: 'Active' | 'Filled' | 'Canceled';
}

export interface AlorPaperBroker extends PaperServer {
  readonly orders: readonly AlorPaperOrder[];
  readonly stopOrders: readonly AlorPaperStopOrder[];
  readonly groups: readonly AlorPaperGroup[];
  /** Fills, partly fills, rejects or cancels an order by its number; an error text when it cannot. */
  setOrderState(orderNumber: string, change: OrderStateChange): string | undefined;
  /** Forgets the orders no longer working, as the listing of the day's orders starts again on a new trading day. */
  startNewDay(): void;
  /** The portfolio's positions, in lots, by symbol (every exchange). */
  positions(portfolio: string): { instrument: string; exchange: string; lots: number }[];
  /** Sets a position outright (signed lots), as a test or the console does. */
  setPosition(portfolio: string, exchange: 'MOEX' | 'SPBX', symbol: string, lots: number): void;
  /**
   * The price a market order in `symbol` fills at; an error text when it is not a price. The symbol's active stop
   * orders whose condition it meets trigger, as Alor's servers trigger them on the last trade.
   */
  setLastPrice(symbol: string, price: number): string | undefined;
  lastPrice(symbol: string): number;
  /** A portfolio's value, day's result and cash; an error text when a value is not a number. */
  setMoney(portfolio: string, change: Partial<PaperMoney>): string | undefined;
  money(portfolio: string): PaperMoney;
  /** Stops (or lets) a symbol trade on an exchange: its trading status, and the orders it takes. */
  setTrading(exchange: 'MOEX' | 'SPBX', symbol: string, trading: boolean): void;
  /** Every access token (JWT) issued, oldest first: lets a test look for them where they must not be. */
  readonly issuedAccessTokens: readonly string[];
  /** Issued access tokens stop working now, as when Alor revokes them early. */
  revokeAccessTokens(): void;
  /** Switches a failure scenario on (or all off, with undefined) for the requests that follow. */
  setScenario(scenario: AlorPaperScenario | undefined): void;
  /** Stop orders are refused with this text (undefined: taken again), as Alor refuses one it will not hold. */
  refuseStops(message: string | undefined): void;
  /** Order groups are refused with this text (undefined: made again). */
  refuseGroups(message: string | undefined): void;
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

/** `OrdersActionsMarketTV`: the documented fields, nothing else. */
const MarketOrderBodySchema = z.strictObject({
  side: z.enum(['buy', 'sell']),
  quantity: z.number().int().min(-2_147_483_648).max(2_147_483_647),
  instrument: z.strictObject({
    symbol: z.string().min(1),
    exchange: z.enum(['MOEX', 'SPBX']),
    instrumentGroup: z.string().optional(),
  }),
  comment: z.string().max(100).optional(),
  user: z.strictObject({ portfolio: z.string().min(1) }),
  timeInForce: z.string().optional(),
  allowMargin: z.boolean().optional(),
});

/** `object_EstimateOrder`: the documented fields, nothing else. */
const EstimateBodySchema = z.strictObject({
  portfolio: z.string().min(1),
  ticker: z.string().min(1),
  exchange: z.enum(['MOEX', 'SPBX']),
  price: z.number().positive().optional(),
  lotQuantity: z.number().int().optional(),
  budget: z.number().optional(),
  board: z.string().optional(),
  includeLimitOrders: z.boolean().optional(),
});

/** `OrdersActionsStopMarketTVWarp`: the documented fields, nothing else. */
const StopOrderBodySchema = z.strictObject({
  side: z.enum(['buy', 'sell']),
  condition: z.enum(['more', 'less', 'moreorequal', 'lessorequal']),
  triggerPrice: z.number(),
  stopEndUnixTime: z.number().int().optional(),
  quantity: z.number().int().min(-2_147_483_648).max(2_147_483_647),
  instrument: z.strictObject({
    symbol: z.string().min(1),
    exchange: z.enum(['MOEX', 'SPBX']),
    instrumentGroup: z.string().optional(),
  }),
  user: z.strictObject({ portfolio: z.string().min(1) }),
  allowMargin: z.boolean().optional(),
  protectingSeconds: z.number().int().min(1).max(300).optional(),
  comment: z.string().max(100).optional(),
  activate: z.boolean().optional(),
});

/**
 * `OrderGroupCreate`. Its `required` names `Orders` and `ExecutionPolicy` while its properties are `orders` and
 * `executionPolicy`; Alor's .NET servers read JSON names case-insensitively, so either spelling is taken here.
 */
const GroupItemSchema = z.strictObject({
  portfolio: z.string().min(1),
  exchange: z.enum(['MOEX', 'SPBX']),
  orderId: z.string().min(1),
  type: z.enum(['Limit', 'Market', 'Stop', 'StopLimit']),
});
const OrderGroupBodySchema = z.strictObject({
  orders: z.array(GroupItemSchema).min(1),
  executionPolicy: z.enum(['OnExecuteOrCancel', 'IgnoreCancel', 'TriggerBracketOrders']),
});

/** `field_ExecutionPeriod`. */
const TIMES_IN_FORCE = ['oneday', 'immediateorcancel', 'fillorkill', 'attheclose', 'goodtillcancelled', 'bookorcancel'];

/** The cancel's query: `query_Portfolio_FOND_Required`, `query_Exchange_MoexOnly_Required`, `query_Stop_Required`. */
const CancelQuerySchema = z.strictObject({
  portfolio: z.string().min(1),
  exchange: z.enum(['MOEX']),
  stop: z.enum(['true', 'false']),
  jsonResponse: z.enum(['true', 'false']).optional(),
  format: z.enum(['Simple', 'Slim', 'Heavy']).optional(),
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
  /** Set by a test: stop orders, or groups, are refused with this text, as Alor refuses what it will not hold. */
  let stopRefusal: string | undefined;
  let groupRefusal: string | undefined;

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

  /** The portfolio's session and path parameters of a read, or its refusal. */
  const portfolioRead = (request: BrokerRequest): JsonAnswer | { exchange: 'MOEX' | 'SPBX'; portfolio: string } => {
    const session = sessionOf(request);
    if (session === undefined) return { status: 401 };
    const query = ReadQuerySchema.safeParse(Object.fromEntries(request.url.searchParams));
    const exchange = ExchangeSchema.safeParse(request.params.exchange);
    if (!query.success || !exchange.success) return { status: 400 };
    const portfolio = request.params.portfolio ?? '';
    if (!session.portfolios.includes(portfolio)) return { status: 403 };
    return { exchange: exchange.data, portfolio };
  };

  /** `MdV2ClientsExchangePortfolioSummaryGet`, in the `Simple` format. */
  const portfolioSummary = (request: BrokerRequest): JsonAnswer => {
    const read = portfolioRead(request);
    if ('status' in read) return read;
    if (scenario === 'portfolio-not-on-exchange') return { status: 403 };
    const { portfolioValue, dailyResult, cash } = moneyOf(read.portfolio);
    const opening = portfolioValue - dailyResult;
    return {
      status: 200,
      body: {
        buyingPowerAtMorning: cash,
        buyingPower: cash,
        profit: dailyResult,
        profitRate: opening > 0 ? Math.round((dailyResult / opening) * 10_000) / 100 : 0,
        portfolioEvaluation: portfolioValue,
        portfolioLiquidationValue: portfolioValue,
        initialMargin: 0,
        riskBeforeForcePositionClosing: portfolioValue,
        commission: 0,
      },
    };
  };

  /** The portfolio's money, with the day's loss of `daily-loss-reached`. */
  const moneyOf = (portfolio: string): PaperMoney => {
    const money = book.money(portfolio);
    return scenario === 'daily-loss-reached'
      ? { ...money, dailyResult: money.portfolioValue * DAILY_LOSS_SCENARIO_SHARE }
      : money;
  };

  /** Whether the symbol trades now: not under `instrument-not-trading`, nor stopped from outside. */
  const tradesNow = (exchange: string, symbol: string) =>
    scenario !== 'instrument-not-trading' && book.trading(bookKey(exchange, symbol));

  /**
   * `CommandapiWarptransTradeV2ClientOrdersEstimatePost`: the lots asked for (one by default) at the price given, else
   * the last price; what the portfolio's cash buys (twice as much with margin), and the lots held to sell.
   */
  const estimate = (request: BrokerRequest): JsonAnswer => {
    const session = sessionOf(request);
    if (session === undefined) return { status: 401 };
    const parsed = EstimateBodySchema.safeParse(request.json);
    if (!parsed.success)
      return { status: 400, body: { message: `Invalid request body: ${parsed.error.issues[0]?.path.join('.')}` } };
    const body = parsed.data;
    if (!session.portfolios.includes(body.portfolio)) return { status: 403 };
    const listed = options.instruments?.[body.exchange].includes(body.ticker) ?? true;
    if (!listed) return { status: 404 };
    const lotSize = options.lotSizes?.[body.ticker] ?? 1;
    const lotPrice = (body.price ?? book.lastPrice(body.ticker)) * lotSize;
    const { cash } = moneyOf(body.portfolio);
    const affordable = Math.max(0, Math.floor(cash / lotPrice));
    const held = Math.max(0, book.position(body.portfolio, bookKey(body.exchange, body.ticker)) ?? 0);
    return {
      status: 200,
      body: {
        portfolio: body.portfolio,
        ticker: body.ticker,
        exchange: body.exchange,
        quantityToSell: held + affordable,
        quantityToBuy: affordable * 2,
        notMarginQuantityToSell: held,
        notMarginQuantityToBuy: affordable,
        orderEvaluation: lotPrice * (body.lotQuantity ?? 1),
        commission: 0,
        buyPrice: body.budget === undefined ? null : lotPrice,
        isUnitedPortfolio: false,
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
        ...(tradesNow(exchange.data, symbol)
          ? { tradingStatus: NORMAL_TRADING, tradingStatusInfo: 'нормальный период торгов' }
          : { tradingStatus: NOT_TRADING, tradingStatusInfo: 'нет торгов' }),
      },
    };
  };

  const book = new PaperBook();
  const bookKey = (exchange: string, symbol: string) => `${exchange}:${symbol}`;

  const placeOrder = (request: BrokerRequest, type: 'limit' | 'market'): JsonAnswer => {
    const session = sessionOf(request);
    if (session === undefined) return { status: 401 };
    return keyedCommand(request, (requestId) => acceptOrder(request, session.portfolios, type, requestId));
  };

  const acceptOrder = (
    request: BrokerRequest,
    portfolios: readonly string[],
    type: 'limit' | 'market',
    requestId: string,
  ): JsonAnswer => {
    const answer = decideOrder(request, portfolios, type);
    if (answer.status === 200) {
      const body = (type === 'limit' ? LimitOrderBodySchema : MarketOrderBodySchema).parse(request.json);
      const limitPrice = type === 'limit' ? LimitOrderBodySchema.parse(request.json).price : undefined;
      const { symbol, exchange } = body.instrument;
      const order: AlorPaperOrder = {
        orderNumber: (answer.body as { orderNumber: string }).orderNumber,
        requestId,
        portfolio: body.user.portfolio,
        symbol,
        exchange,
        side: body.side,
        quantity: body.quantity,
        price: limitPrice ?? book.lastPrice(symbol),
        type,
        comment: body.comment,
        timeInForce: body.timeInForce,
        placedAt: new Date().toISOString(),
        status: type === 'market' ? 'filled' : 'working',
        filledQuantity: type === 'market' ? body.quantity : 0,
      };
      orders.push(order);
      bookFill(order, order.filledQuantity);
    }
    return answer;
  };

  /** Lots of each order already in its position: a fill moves the position once, whatever its state does after. */
  const booked = new Map<string, number>();
  const bookFill = (order: AlorPaperOrder, filledLots: number) => {
    const before = booked.get(order.orderNumber) ?? 0;
    if (filledLots <= before) return;
    booked.set(order.orderNumber, filledLots);
    book.fill(order.portfolio, bookKey(order.exchange, order.symbol), order.side, filledLots - before);
    trades.push({
      orderno: order.orderNumber,
      portfolio: order.portfolio,
      exchange: order.exchange,
      symbol: order.symbol,
      qty: filledLots - before,
      price: order.price,
      side: order.side,
    });
  };

  /** Fills of the session, as `response_Trade_Simple` shows them: what a market entry's protection reads. */
  const trades: {
    orderno: string;
    portfolio: string;
    exchange: string;
    symbol: string;
    qty: number;
    price: number;
    side: string;
  }[] = [];
  const tradeSequence = 1000;
  const stopOrders: AlorPaperStopOrder[] = [];
  const groups: AlorPaperGroup[] = [];

  /** The X-REQID checks of every command that places an order, and the first answer of a repeated one. */
  const keyedCommand = (request: BrokerRequest, decide: (requestId: string) => JsonAnswer): JsonAnswer => {
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
    const answer = decide(requestId);
    firstAnswers.set(requestId, answer);
    return answer;
  };

  /** `actions/stop`: a stop order, active unless created with `activate: false`. */
  const placeStop = (request: BrokerRequest): JsonAnswer => {
    const session = sessionOf(request);
    if (session === undefined) return { status: 401 };
    return keyedCommand(request, (requestId) => {
      const parsed = StopOrderBodySchema.safeParse(request.json);
      if (!parsed.success) {
        return { status: 400, body: { message: `Invalid request body: ${parsed.error.issues[0]?.path.join('.')}` } };
      }
      const body = parsed.data;
      if (!session.portfolios.includes(body.user.portfolio)) {
        return { status: 403, body: { message: `Portfolio ${body.user.portfolio} is not available for this token` } };
      }
      if (body.quantity <= 0) return { status: 400, body: { message: 'Количество должно быть больше нуля' } };
      if (body.triggerPrice <= 0)
        return { status: 400, body: { message: 'Цена срабатывания должна быть больше нуля' } };
      const symbols = options.instruments?.[body.instrument.exchange];
      if (symbols !== undefined && !symbols.includes(body.instrument.symbol)) {
        return { status: 400, body: { message: `Инструмент ${body.instrument.symbol} не найден` } };
      }
      if (stopRefusal !== undefined) return { status: 400, body: { message: stopRefusal } };
      orderSequence += 1;
      stopOrders.push({
        orderNumber: String(orderSequence),
        requestId,
        portfolio: body.user.portfolio,
        symbol: body.instrument.symbol,
        exchange: body.instrument.exchange,
        side: body.side,
        condition: body.condition,
        triggerPrice: body.triggerPrice,
        quantity: body.quantity,
        comment: body.comment,
        placedAt: new Date().toISOString(),
        active: body.activate ?? true,
        status: 'working',
      });
      // An active stop whose condition the last price already meets triggers at once, as on the exchange.
      trigger(body.instrument.symbol);
      return { status: 200, body: { message: 'success', orderNumber: String(orderSequence) } };
    });
  };

  /** Whether the last price meets a stop's condition. */
  const meets = (stop: AlorPaperStopOrder, price: number) =>
    stop.condition === 'more'
      ? price > stop.triggerPrice
      : stop.condition === 'less'
        ? price < stop.triggerPrice
        : stop.condition === 'moreorequal'
          ? price >= stop.triggerPrice
          : price <= stop.triggerPrice;

  /** The symbol's active stops the last price meets send their market orders; their groups react. */
  const trigger = (symbol: string) => {
    const price = book.lastPrice(symbol);
    for (const stop of stopOrders) {
      if (stop.symbol !== symbol || !stop.active || stop.status !== 'working' || !meets(stop, price)) continue;
      orderSequence += 1;
      const order: AlorPaperOrder = {
        orderNumber: String(orderSequence),
        requestId: `stop-${stop.orderNumber}`,
        portfolio: stop.portfolio,
        symbol: stop.symbol,
        exchange: stop.exchange,
        side: stop.side,
        quantity: stop.quantity,
        price,
        type: 'market',
        placedAt: new Date().toISOString(),
        status: 'filled',
        filledQuantity: stop.quantity,
      };
      orders.push(order);
      bookFill(order, order.filledQuantity);
      stop.status = 'filled';
      stop.marketOrder = order.orderNumber;
      settled(stop.orderNumber, 'filled');
    }
  };

  /**
   * What a group does when one of its orders is done (`field_ExecutionPolicy`): `OnExecuteOrCancel` cancels the rest
   * on any fill or cancel; `IgnoreCancel` on a fill only; `TriggerBracketOrders` activates its stops once its limit
   * order is filled (a partial fill activates nothing: the spec says "after the limit order executes").
   */
  const settled = (orderNumber: string, how: 'filled' | 'canceled') => {
    for (const group of groups) {
      if (group.status !== 'Active' || !group.orders.some((order) => order.orderId === orderNumber)) continue;
      if (group.executionPolicy === 'TriggerBracketOrders') {
        const limit = group.orders.find((order) => order.type === 'Limit');
        if (how !== 'filled' || limit?.orderId !== orderNumber) continue;
        group.status = 'Filled';
        const symbols = new Set<string>();
        for (const item of group.orders) {
          const stop = stopOrders.find((candidate) => candidate.orderNumber === item.orderId);
          if (stop !== undefined && stop.status === 'working') {
            stop.active = true;
            symbols.add(stop.symbol);
          }
        }
        for (const symbol of symbols) trigger(symbol);
        continue;
      }
      if (group.executionPolicy === 'IgnoreCancel' && how === 'canceled') continue;
      group.status = how === 'filled' ? 'Filled' : 'Canceled';
      for (const item of group.orders) {
        if (item.orderId !== orderNumber) cancelByNumber(item.orderId);
      }
    }
  };

  /** Cancels a working order or stop order by its number (a group's doing); its own groups react in turn. */
  const cancelByNumber = (orderNumber: string) => {
    const stop = stopOrders.find((candidate) => candidate.orderNumber === orderNumber);
    if (stop !== undefined && stop.status === 'working') {
      stop.status = 'canceled';
      settled(orderNumber, 'canceled');
      return;
    }
    const order = orders.find((candidate) => candidate.orderNumber === orderNumber);
    if (order !== undefined && (order.status === 'working' || order.status === 'partly-filled')) {
      order.status = 'canceled';
      settled(orderNumber, 'canceled');
    }
  };

  /** `POST /commandapi/api/orderGroups`: orders of the token's portfolios, linked. */
  const createGroup = (request: BrokerRequest): JsonAnswer => {
    const session = sessionOf(request);
    if (session === undefined) return { status: 401 };
    const groupError = (detail: string): JsonAnswer => ({
      status: 400,
      body: { title: 'BadRequest', status: 400, detail },
    });
    const parsed = OrderGroupBodySchema.safeParse(request.json);
    if (!parsed.success) return groupError(`Invalid request body: ${parsed.error.issues[0]?.path.join('.')}`);
    if (groupRefusal !== undefined) return groupError(groupRefusal);
    for (const item of parsed.data.orders) {
      if (!session.portfolios.includes(item.portfolio)) {
        return groupError(`Forbidden attempt to modify an order (${item.orderId}) not owned by the user`);
      }
      const known =
        item.type === 'Stop'
          ? stopOrders.some((stop) => stop.orderNumber === item.orderId && stop.portfolio === item.portfolio)
          : orders.some((order) => order.orderNumber === item.orderId && order.portfolio === item.portfolio);
      if (!known) return groupError(`Order ${item.orderId} not found`);
    }
    const group: AlorPaperGroup = {
      id: randomUUID(),
      orders: parsed.data.orders.map((item) => ({ orderId: item.orderId, type: item.type })),
      executionPolicy: parsed.data.executionPolicy,
      status: 'Active',
    };
    groups.push(group);
    return { status: 200, body: { message: 'success', groupId: group.id } };
  };

  /** `MdV2ClientsExchangePortfolioStopOrdersGet`, in the `Simple` format (`response_StopOrder_Warp_Simple`). */
  const listStopOrders = (request: BrokerRequest): JsonAnswer => {
    const read = portfolioRead(request);
    if ('status' in read) return read;
    const listed = stopOrders.filter((stop) => stop.portfolio === read.portfolio && stop.exchange === read.exchange);
    return {
      status: 200,
      body: listed.map((stop) => ({
        id: stop.orderNumber,
        symbol: stop.symbol,
        brokerSymbol: `${stop.exchange}:${stop.symbol}`,
        portfolio: stop.portfolio,
        exchange: stop.exchange,
        ...(stop.comment === undefined ? {} : { comment: stop.comment }),
        type: 'stop',
        side: stop.side,
        condition: stop.condition,
        status: stop.status,
        transTime: stop.placedAt,
        qty: stop.quantity,
        qtyBatch: stop.quantity,
        stopPrice: stop.triggerPrice,
        existing: true,
      })),
    };
  };

  /** `MdV2ClientsExchangePortfolioSymbolTradesGet`, in the `Simple` format (`response_Trade_Simple`). */
  const listTrades = (request: BrokerRequest): JsonAnswer => {
    const read = portfolioRead(request);
    if ('status' in read) return read;
    const symbol = request.params.symbol ?? '';
    const listed = trades.filter(
      (trade) => trade.portfolio === read.portfolio && trade.exchange === read.exchange && trade.symbol === symbol,
    );
    return {
      status: 200,
      body: listed.map((trade, index) => ({
        id: String(tradeSequence + index),
        orderno: trade.orderno,
        symbol: trade.symbol,
        brokerSymbol: `${trade.exchange}:${trade.symbol}`,
        exchange: trade.exchange,
        qty: trade.qty,
        qtyBatch: trade.qty,
        price: trade.price,
        side: trade.side,
        existing: true,
      })),
    };
  };

  /** Alor has no partly filled status: a working order with fills. */
  const wireStatus = (order: AlorPaperOrder) => (order.status === 'partly-filled' ? 'working' : order.status);

  /** An order as `response_Order_Simple` shows it. */
  const orderToWire = (order: AlorPaperOrder) => {
    const filled = order.filledQuantity;
    return {
      id: order.orderNumber,
      symbol: order.symbol,
      brokerSymbol: `${order.exchange}:${order.symbol}`,
      portfolio: order.portfolio,
      exchange: order.exchange,
      ...(order.comment === undefined ? {} : { comment: order.comment }),
      type: order.type,
      side: order.side,
      status: wireStatus(order),
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
      timeInForce: order.timeInForce ?? 'oneday',
      iceberg: null,
      volume: order.price * order.quantity,
    };
  };

  /** A position as `response_Position_Simple` shows it. */
  const positionToWire = (portfolio: string, exchange: string, symbol: string, lots: number) => {
    const lotSize = options.lotSizes?.[symbol] ?? 1;
    return {
      symbol,
      brokerSymbol: `${exchange}:${symbol}`,
      portfolio,
      exchange,
      avgPrice: book.lastPrice(symbol),
      qtyUnits: lots * lotSize,
      openUnits: 0,
      lotSize,
      shortName: symbol,
      qtyT0: lots * lotSize,
      qtyT1: lots * lotSize,
      qtyT2: lots * lotSize,
      qtyTFuture: lots * lotSize,
      qtyT0Batch: lots,
      qtyT1Batch: lots,
      qtyT2Batch: lots,
      qtyTFutureBatch: lots,
      qtyBatch: lots,
      openQtyBatch: 0,
      qty: lots,
      open: 0,
      dailyUnrealisedPl: 0,
      unrealisedPl: 0,
      isCurrency: false,
      existing: true,
    };
  };

  /** `MdV2ClientsExchangePortfolioPositionsSymbolGet`: 404 for a symbol the portfolio never held. */
  const position = (request: BrokerRequest): JsonAnswer => {
    const read = portfolioRead(request);
    if ('status' in read) return read;
    const symbol = request.params.symbol ?? '';
    const lots = book.position(read.portfolio, bookKey(read.exchange, symbol));
    if (lots === undefined) return { status: 404 };
    return { status: 200, body: positionToWire(read.portfolio, read.exchange, symbol, lots) };
  };

  /** `MdV2ClientsExchangePortfolioPositionsGet`: every position of the portfolio on the exchange. */
  const positions = (request: BrokerRequest): JsonAnswer => {
    const read = portfolioRead(request);
    if ('status' in read) return read;
    const held = book
      .positions(read.portfolio)
      .map((entry) => ({ ...entry, exchange: entry.instrument.split(':')[0] ?? '', symbol: entry.instrument.slice(5) }))
      .filter((entry) => entry.exchange === read.exchange);
    return {
      status: 200,
      body: held.map((entry) => positionToWire(read.portfolio, entry.exchange, entry.symbol, entry.lots)),
    };
  };

  /** `MdV2ClientsExchangePortfolioOrdersGet`: the portfolio's orders on the exchange. */
  const listOrders = (request: BrokerRequest): JsonAnswer => {
    const read = portfolioRead(request);
    if ('status' in read) return read;
    const listed = orders.filter((order) => order.portfolio === read.portfolio && order.exchange === read.exchange);
    return { status: 200, body: listed.map(orderToWire) };
  };

  /** `CommandapiWarptransTradeV2ClientOrdersOrderIdDelete`: a working order cancelled, its filled part kept. */
  const cancelOrder = (request: BrokerRequest): JsonAnswer => {
    const session = sessionOf(request);
    if (session === undefined) return { status: 401 };
    const query = CancelQuerySchema.safeParse(Object.fromEntries(request.url.searchParams));
    if (!query.success) {
      return { status: 400, body: { code: 'BadRequest', message: `Invalid query: ${query.error.issues[0]?.path}` } };
    }
    if (!session.portfolios.includes(query.data.portfolio)) return { status: 403 };
    const notFound: JsonAnswer = {
      status: 400,
      body: { code: 'OrderToCancelNotFound (404)', message: 'Order to cancel not found' },
    };
    if (query.data.stop === 'true') {
      const stop = stopOrders.find(
        (candidate) =>
          candidate.orderNumber === request.params.orderId &&
          candidate.portfolio === query.data.portfolio &&
          candidate.exchange === query.data.exchange,
      );
      if (stop === undefined || stop.status !== 'working') return notFound;
      cancelByNumber(stop.orderNumber);
      return { status: 200, text: 'success' };
    }
    const order = orders.find(
      (candidate) =>
        candidate.orderNumber === request.params.orderId &&
        candidate.portfolio === query.data.portfolio &&
        candidate.exchange === query.data.exchange,
    );
    if (order === undefined || (order.status !== 'working' && order.status !== 'partly-filled')) return notFound;
    cancelByNumber(order.orderNumber);
    return { status: 200, text: 'success' };
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
    return { status: 200, body: orderToWire(order) };
  };

  const decideOrder = (request: BrokerRequest, portfolios: readonly string[], type: 'limit' | 'market'): JsonAnswer => {
    const parsed = (type === 'limit' ? LimitOrderBodySchema : MarketOrderBodySchema).safeParse(request.json);
    if (!parsed.success)
      return { status: 400, body: { message: `Invalid request body: ${parsed.error.issues[0]?.path.join('.')}` } };
    const order = parsed.data;
    if (!portfolios.includes(order.user.portfolio)) {
      return { status: 403, body: { message: `Portfolio ${order.user.portfolio} is not available for this token` } };
    }
    if (order.quantity <= 0) return { status: 400, body: { message: 'Количество должно быть больше нуля' } };
    const price = type === 'limit' ? LimitOrderBodySchema.parse(order).price : undefined;
    if (price !== undefined && price <= 0) return { status: 400, body: { message: 'Цена должна быть больше нуля' } };
    if (order.timeInForce !== undefined && !TIMES_IN_FORCE.includes(order.timeInForce)) {
      return { status: 400, body: { message: `Unknown timeInForce ${order.timeInForce}` } };
    }
    const symbols = options.instruments?.[order.instrument.exchange];
    if (symbols !== undefined && !symbols.includes(order.instrument.symbol)) {
      return {
        status: 400,
        body: { message: `Инструмент ${order.instrument.symbol} не найден на ${order.instrument.exchange}` },
      };
    }
    if (!tradesNow(order.instrument.exchange, order.instrument.symbol)) {
      return { status: 400, body: { message: `Торги по инструменту ${order.instrument.symbol} сейчас не проводятся` } };
    }
    orderSequence += 1;
    return { status: 200, body: { message: 'success', orderNumber: String(orderSequence) } };
  };

  const routes: Route[] = [
    { name: 'refresh', method: 'POST', path: '/refresh', handle: refresh },
    { name: 'order', method: 'POST', path: ALOR_LIMIT_PATH, handle: (request) => placeOrder(request, 'limit') },
    {
      name: 'market-order',
      method: 'POST',
      path: ALOR_MARKET_PATH,
      handle: (request) => placeOrder(request, 'market'),
    },
    { name: 'cancel', method: 'DELETE', path: ALOR_CANCEL_PATH, handle: cancelOrder },
    { name: 'position', method: 'GET', path: ALOR_POSITION_PATH, handle: position },
    { name: 'positions', method: 'GET', path: ALOR_POSITIONS_PATH, handle: positions },
    { name: 'orders', method: 'GET', path: ALOR_ORDERS_PATH, handle: listOrders },
    { name: 'summary', method: 'GET', path: ALOR_SUMMARY_PATH, handle: portfolioSummary },
    { name: 'security', method: 'GET', path: ALOR_SECURITY_PATH, handle: security },
    { name: 'order-lookup', method: 'GET', path: ALOR_ORDER_LOOKUP_PATH, handle: lookUpOrder },
    { name: 'estimate', method: 'POST', path: ALOR_ESTIMATE_PATH, handle: estimate },
    { name: 'stop-order', method: 'POST', path: ALOR_STOP_PATH, handle: placeStop },
    { name: 'order-group', method: 'POST', path: ALOR_ORDER_GROUPS_PATH, handle: createGroup },
    { name: 'stop-orders', method: 'GET', path: ALOR_STOP_ORDERS_PATH, handle: listStopOrders },
    { name: 'trades', method: 'GET', path: ALOR_SYMBOL_TRADES_PATH, handle: listTrades },
  ];
  const server = await startPaperServer(routes, options.port);
  return Object.assign(server, {
    orders,
    stopOrders,
    groups,
    refuseStops: (message: string | undefined) => {
      stopRefusal = message;
    },
    refuseGroups: (message: string | undefined) => {
      groupRefusal = message;
    },
    issuedAccessTokens,
    revokeAccessTokens: () => {
      generation += 1;
    },
    startNewDay: () => {
      const working = orders.filter((order) => order.status === 'working' || order.status === 'partly-filled');
      orders.length = 0;
      orders.push(...working);
    },
    setOrderState: (orderNumber: string, change: OrderStateChange) => {
      const order = orders.find((candidate) => candidate.orderNumber === orderNumber);
      if (order === undefined) return `no order ${orderNumber}`;
      const next = nextOrderState(order.quantity, change);
      if (!next.ok) return next.reason;
      // What fills now moves the position; a fill is never undone: an order cancelled keeps what it filled.
      bookFill(order, next.state.filledLots);
      order.status = next.state.status;
      order.filledQuantity = next.state.status === 'canceled' ? order.filledQuantity : next.state.filledLots;
      if (order.status === 'filled' || order.status === 'canceled') settled(order.orderNumber, order.status);
      return undefined;
    },
    positions: (portfolio: string) =>
      book.positions(portfolio).map((entry) => ({
        instrument: entry.instrument.slice(entry.instrument.indexOf(':') + 1),
        exchange: entry.instrument.slice(0, entry.instrument.indexOf(':')),
        lots: entry.lots,
      })),
    setPosition: (portfolio: string, exchange: 'MOEX' | 'SPBX', symbol: string, lots: number) =>
      book.setPosition(portfolio, bookKey(exchange, symbol), lots),
    setLastPrice: (symbol: string, price: number) => {
      const problem = book.setLastPrice(symbol, price);
      if (problem === undefined) trigger(symbol);
      return problem;
    },
    lastPrice: (symbol: string) => book.lastPrice(symbol),
    setMoney: (portfolio: string, change: Partial<PaperMoney>) => book.setMoney(portfolio, change),
    money: (portfolio: string) => moneyOf(portfolio),
    setTrading: (exchange: 'MOEX' | 'SPBX', symbol: string, trading: boolean) =>
      book.setTrading(bookKey(exchange, symbol), trading),
    setScenario: (next: AlorPaperScenario | undefined) => {
      scenario = next;
    },
  });
}
