import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { DAILY_LOSS_SCENARIO_SHARE, PaperBook, type PaperMoney } from './book.ts';
import { nextOrderState, type OrderStateChange, type PaperOrderStatus } from './order-state.ts';
import { type BrokerRequest, type JsonAnswer, type PaperServer, type Route, startPaperServer } from './server.ts';

/**
 * A paper T-Invest: API v2 REST under `/rest` (`OrdersService/PostOrder`, `GetOrderState`, `GetOrders`, `CancelOrder`
 * and `GetMaxLots`, `OperationsService/GetPositions` and `GetPortfolio`, `MarketDataService/GetTradingStatus` and
 * `GetLastPrices`, and the preflight's read calls `UsersService/GetAccounts`, `UsersService/GetInfo`,
 * `InstrumentsService/GetInstrumentBy`), the same under `/sandbox/rest` as its sandbox, and the
 * retired v1 `/openapi/orders/limit-order`, checked against docs/broker-specs/tinvest-v2-openapi.yaml and
 * tinkoff-openapi-v1-swagger.yaml. Errors carry the catalogue codes of tinvest-v2-api_errors.json. A repeated `orderId`
 * places no second order and gets the first answer again. It knows a table of instruments (by FIGI, uid, or ticker
 * within a class code) and keeps each account's positions, in lots, shown in pieces as T-Invest counts them. A market
 * or best-price order fills at once at the instrument's last price (set from outside); a limit order works until it is
 * filled, cancelled or changed from outside. Each account has a portfolio value, a day's result and cash (what its
 * own money buys: `GetMaxLots`), each instrument a trading status, all set from outside. A scenario makes it fail the
 * way a misconfigured token or account does, for the preflight to find, or stops the market for the guards to see.
 */

export const TINKOFF_V2_PREFIX = '/rest';
/** The paper sandbox: a token of one environment is refused by the other (40003), as T-Invest does. */
export const TINKOFF_SANDBOX_PREFIX = '/sandbox/rest';
const SERVICES = '/tinkoff.public.invest.api.contract.v1';
export const V1_LIMIT_ORDER_PATH = '/openapi/orders/limit-order';

/** Ways a T-Invest setup goes wrong, each one switchable on a paper broker. */
export const TINKOFF_PAPER_SCENARIOS = [
  /** The token may read but not trade: its accounts are `_READ_ONLY`, an order gets 40002. */
  'read-only-token',
  /** The token reaches another account than the configured one: an order for it gets 50004. */
  'wrong-account',
  /** The account is closed: an order gets 30081. */
  'closed-account',
  /** The token reaches a second account besides the configured one. */
  'several-accounts',
  /** The token is a sandbox token: `/rest` refuses it (40003), `/sandbox/rest` takes it. */
  'sandbox-token',
  /** No instrument may be traded through the API (`apiTradeAvailableFlag: false`): an order gets 30052. */
  'instrument-not-tradable',
  /** No instrument trades now (`SECURITY_TRADING_STATUS_NOT_AVAILABLE_FOR_TRADING`): an order gets 30079. */
  'instrument-not-trading',
  /** Every account has lost a tenth of its portfolio today (`dailyYield`). */
  'daily-loss-reached',
] as const;
export type TinkoffPaperScenario = (typeof TINKOFF_PAPER_SCENARIOS)[number];

type Environment = 'production' | 'sandbox';

/** The account `wrong-account` puts in place of the token's, and the one `several-accounts` adds. */
const OTHER_ACCOUNT_ID = '2000000099';
const SECOND_ACCOUNT_ID = '2000000001';
const OPENED_AT = '2024-01-15T07:00:00Z';

/** An instrument the paper T-Invest knows: a `v1Instrument`, the fields it fills in. */
export interface PaperInstrument {
  readonly ticker: string;
  readonly classCode: string;
  readonly figi: string;
  readonly uid: string;
  readonly lot: number;
  readonly name: string;
  readonly currency: string;
  readonly instrumentType: 'share' | 'etf';
  /** `false`: `GetInstrumentBy` says so, and PostOrder refuses it (30052), as T-Invest does. */
  readonly apiTradeAvailableFlag: boolean;
  /** Its price step (`minPriceIncrement`), a decimal; 0.01 when absent. */
  readonly minPriceIncrement?: string;
}

export interface TinkoffPaperOptions {
  /** Trading token → the account ids it may trade. */
  readonly accounts: Readonly<Record<string, readonly string[]>>;
  /** Known instruments, which PostOrder takes by FIGI or uid; any instrument id when absent. */
  readonly instruments?: readonly PaperInstrument[];
  /** Answer a repeated orderId with error 30057 instead of the first report. */
  readonly duplicateAsError?: boolean;
  readonly scenario?: TinkoffPaperScenario | undefined;
  readonly port?: number;
}

export interface TinkoffPaperOrder {
  readonly orderId: string;
  readonly orderRequestId: string | undefined;
  readonly api: 'v1' | 'v2';
  readonly accountId: string;
  readonly instrumentId: string;
  readonly direction: 'buy' | 'sell';
  readonly lots: number;
  /** The exact price received, as a decimal string; a market order's fill price (the last price then). */
  readonly price: string;
  readonly orderType: 'ORDER_TYPE_LIMIT' | 'ORDER_TYPE_MARKET' | 'ORDER_TYPE_BESTPRICE';
  readonly timeInForce?: string | undefined;
  readonly placedAt: string;
  /** Working when placed; changed by {@link TinkoffPaperBroker.setOrderState}. */
  status: PaperOrderStatus;
  lotsExecuted: number;
}

/** `executionReportStatus` of each paper state. */
const REPORT_STATUSES: Readonly<Record<PaperOrderStatus, string>> = {
  working: 'EXECUTION_REPORT_STATUS_NEW',
  'partly-filled': 'EXECUTION_REPORT_STATUS_PARTIALLYFILL',
  filled: 'EXECUTION_REPORT_STATUS_FILL',
  rejected: 'EXECUTION_REPORT_STATUS_REJECTED',
  canceled: 'EXECUTION_REPORT_STATUS_CANCELLED',
};

/** A stop order (`StopOrdersService/PostStopOrder`): a market order sent when the instrument's last price meets it. */
export interface TinkoffPaperStopOrder {
  readonly stopOrderId: string;
  readonly orderRequestId: string;
  readonly accountId: string;
  readonly instrumentId: string;
  readonly direction: 'buy' | 'sell';
  readonly lots: number;
  readonly type: 'STOP_ORDER_TYPE_STOP_LOSS' | 'STOP_ORDER_TYPE_TAKE_PROFIT';
  /** The trigger; a trailing take-profit's activation price. */
  readonly stopPrice: string;
  /** A trailing take-profit's distance: a percentage, or a price distance. */
  readonly trailing?: { readonly indent: number; readonly relative: boolean } | undefined;
  readonly confirmMarginTrade: boolean;
  readonly createdAt: string;
  status: 'STOP_ORDER_STATUS_ACTIVE' | 'STOP_ORDER_STATUS_EXECUTED' | 'STOP_ORDER_STATUS_CANCELED';
  /** A trailing take-profit, once its activation price was reached: the best price since. */
  extreme?: number;
  /** The order it sent. */
  exchangeOrderId?: string;
}

export interface TinkoffPaperBroker extends PaperServer {
  readonly orders: readonly TinkoffPaperOrder[];
  readonly stopOrders: readonly TinkoffPaperStopOrder[];
  /** Stop orders are refused with this text (30053; undefined: taken again), as T-Invest refuses one it will not hold. */
  refuseStops(message: string | undefined): void;
  /** Fills, partly fills, rejects or cancels an order by its id; an error text when it cannot. */
  setOrderState(orderId: string, change: OrderStateChange): string | undefined;
  /** The account's positions, in lots, by the instrument's FIGI (its uid when it has none). */
  positions(accountId: string): { instrument: string; lots: number }[];
  /** Sets a position outright (signed lots) of an instrument named by FIGI or uid, as a test or the console does. */
  setPosition(accountId: string, instrumentId: string, lots: number): void;
  /**
   * The price a market order fills at, of an instrument named by FIGI or uid; an error text when it is not a price.
   * The instrument's active stop orders it meets trigger, as T-Invest's do on the last trade.
   */
  setLastPrice(instrumentId: string, price: number): string | undefined;
  lastPrice(instrumentId: string): number;
  /** An account's portfolio value, day's result and cash; an error text when a value is not a number. */
  setMoney(accountId: string, change: Partial<PaperMoney>): string | undefined;
  money(accountId: string): PaperMoney;
  /** Stops (or lets) an instrument, named by FIGI or uid, trade: its status, and the orders PostOrder takes. */
  setTrading(instrumentId: string, trading: boolean): void;
  /** Base URL for `TINKOFF_API_URL` with `TINKOFF_API=v2`; the server's own URL serves v1. */
  readonly v2Url: string;
  /** Base URL of the paper sandbox. */
  readonly sandboxUrl: string;
  /** Switches a failure scenario on (or all off, with undefined) for the requests that follow. */
  setScenario(scenario: TinkoffPaperScenario | undefined): void;
}

const Int64String = z.string().regex(/^-?\d{1,19}$/);
/** `v1PostOrderRequest`: the documented fields, nothing else. */
const PostOrderBodySchema = z.strictObject({
  figi: z.string().optional(),
  instrumentId: z.string().min(1),
  quantity: Int64String,
  price: z.strictObject({ units: Int64String, nano: z.number().int().min(-999_999_999).max(999_999_999) }).optional(),
  direction: z.enum(['ORDER_DIRECTION_UNSPECIFIED', 'ORDER_DIRECTION_BUY', 'ORDER_DIRECTION_SELL']),
  accountId: z.string().min(1),
  orderType: z.enum(['ORDER_TYPE_UNSPECIFIED', 'ORDER_TYPE_LIMIT', 'ORDER_TYPE_MARKET', 'ORDER_TYPE_BESTPRICE']),
  orderId: z.string().min(1).max(36),
  timeInForce: z.string().optional(),
  priceType: z.string().optional(),
  confirmMarginTrade: z.boolean().optional(),
});

/** `v1PositionsRequest` and `v1GetOrdersRequest`: the account (GetOrders may filter further; the service does not). */
const AccountBodySchema = z.strictObject({ accountId: z.string().min(1) });
const GetOrdersBodySchema = z.strictObject({
  accountId: z.string().min(1),
  advancedFilters: z
    .strictObject({
      from: z.string().optional(),
      to: z.string().optional(),
      executionStatus: z.array(z.string()).optional(),
    })
    .optional(),
});

/** `v1GetTradingStatusRequest`. */
const TradingStatusBodySchema = z.strictObject({ instrumentId: z.string().min(1) });

/** `v1PortfolioRequest`. */
const PortfolioBodySchema = z.strictObject({
  accountId: z.string().min(1),
  currency: z.enum(['RUB', 'USD', 'EUR']).optional(),
});

const QuotationBodySchema = z.strictObject({ units: Int64String, nano: z.number().int() });

/** `v1GetMaxLotsRequest`. */
const MaxLotsBodySchema = z.strictObject({
  accountId: z.string().min(1),
  instrumentId: z.string().min(1),
  price: QuotationBodySchema.optional(),
});

/** `v1GetLastPricesRequest`. */
const LastPricesBodySchema = z.strictObject({
  figi: z.array(z.string()).optional(),
  instrumentId: z.array(z.string()).optional(),
  lastPriceType: z.string().optional(),
  instrumentStatus: z.string().optional(),
});

/** `v1CancelOrderRequest`. */
const CancelOrderBodySchema = z.strictObject({
  accountId: z.string().min(1),
  orderId: z.string().min(1),
  orderIdType: z.enum(['ORDER_ID_TYPE_UNSPECIFIED', 'ORDER_ID_TYPE_EXCHANGE', 'ORDER_ID_TYPE_REQUEST']).optional(),
});

const QuotationBody = z.strictObject({
  units: Int64String,
  nano: z.number().int().min(-999_999_999).max(999_999_999),
});
const TrailingValueType = z.enum(['TRAILING_VALUE_UNSPECIFIED', 'TRAILING_VALUE_ABSOLUTE', 'TRAILING_VALUE_RELATIVE']);

/** `v1PostStopOrderRequest`: the documented fields, nothing else. */
const PostStopOrderBodySchema = z.strictObject({
  figi: z.string().optional(),
  quantity: Int64String,
  price: QuotationBody.optional(),
  stopPrice: QuotationBody.optional(),
  direction: z.enum(['STOP_ORDER_DIRECTION_UNSPECIFIED', 'STOP_ORDER_DIRECTION_BUY', 'STOP_ORDER_DIRECTION_SELL']),
  accountId: z.string().min(1),
  expirationType: z.enum([
    'STOP_ORDER_EXPIRATION_TYPE_UNSPECIFIED',
    'STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_CANCEL',
    'STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_DATE',
  ]),
  stopOrderType: z.enum([
    'STOP_ORDER_TYPE_UNSPECIFIED',
    'STOP_ORDER_TYPE_TAKE_PROFIT',
    'STOP_ORDER_TYPE_STOP_LOSS',
    'STOP_ORDER_TYPE_STOP_LIMIT',
  ]),
  expireDate: z.string().optional(),
  instrumentId: z.string().min(1),
  exchangeOrderType: z
    .enum(['EXCHANGE_ORDER_TYPE_UNSPECIFIED', 'EXCHANGE_ORDER_TYPE_MARKET', 'EXCHANGE_ORDER_TYPE_LIMIT'])
    .optional(),
  takeProfitType: z
    .enum(['TAKE_PROFIT_TYPE_UNSPECIFIED', 'TAKE_PROFIT_TYPE_REGULAR', 'TAKE_PROFIT_TYPE_TRAILING'])
    .optional(),
  trailingData: z
    .strictObject({
      indent: QuotationBody.optional(),
      indentType: TrailingValueType.optional(),
      spread: QuotationBody.optional(),
      spreadType: TrailingValueType.optional(),
    })
    .optional(),
  priceType: z.string().optional(),
  orderId: z.string().min(1).max(36),
  confirmMarginTrade: z.boolean().optional(),
});

/** `v1GetStopOrdersRequest`. */
const GetStopOrdersBodySchema = z.strictObject({
  accountId: z.string().min(1),
  status: z
    .enum([
      'STOP_ORDER_STATUS_UNSPECIFIED',
      'STOP_ORDER_STATUS_ALL',
      'STOP_ORDER_STATUS_ACTIVE',
      'STOP_ORDER_STATUS_EXECUTED',
      'STOP_ORDER_STATUS_CANCELED',
      'STOP_ORDER_STATUS_EXPIRED',
    ])
    .optional(),
  from: z.string().optional(),
  to: z.string().optional(),
});

/** `v1CancelStopOrderRequest`. */
const CancelStopOrderBodySchema = z.strictObject({ accountId: z.string().min(1), stopOrderId: z.string().min(1) });

/** `v1TimeInForceType`. */
const TIMES_IN_FORCE = [
  'TIME_IN_FORCE_UNSPECIFIED',
  'TIME_IN_FORCE_DAY',
  'TIME_IN_FORCE_FILL_AND_KILL',
  'TIME_IN_FORCE_FILL_OR_KILL',
];

/** `v1GetOrderStateRequest`. */
const GetOrderStateBodySchema = z.strictObject({
  accountId: z.string().min(1),
  orderId: z.string().min(1),
  priceType: z.string().optional(),
  orderIdType: z.enum(['ORDER_ID_TYPE_UNSPECIFIED', 'ORDER_ID_TYPE_EXCHANGE', 'ORDER_ID_TYPE_REQUEST']).optional(),
});

/** `v1GetAccountsRequest`. */
const GetAccountsBodySchema = z.strictObject({
  status: z
    .enum([
      'ACCOUNT_STATUS_UNSPECIFIED',
      'ACCOUNT_STATUS_NEW',
      'ACCOUNT_STATUS_OPEN',
      'ACCOUNT_STATUS_CLOSED',
      'ACCOUNT_STATUS_ALL',
    ])
    .optional(),
});

/** `v1GetInfoRequest`: no fields. */
const GetInfoBodySchema = z.strictObject({});

/** `v1InstrumentRequest`. */
const InstrumentRequestBodySchema = z.strictObject({
  idType: z.enum([
    'INSTRUMENT_ID_UNSPECIFIED',
    'INSTRUMENT_ID_TYPE_FIGI',
    'INSTRUMENT_ID_TYPE_TICKER',
    'INSTRUMENT_ID_TYPE_UID',
    'INSTRUMENT_ID_TYPE_POSITION_UID',
  ]),
  classCode: z.string().optional(),
  id: z.string(),
});

/** `LimitOrderRequest` (v1). */
const V1BodySchema = z.strictObject({
  lots: z.number().int().min(1).max(2_147_483_647),
  operation: z.enum(['Buy', 'Sell']),
  price: z.number(),
});

function error(status: number, code: number, description: number, message: string): JsonAnswer {
  return { status, body: { code, message, description } };
}

/**
 * A `v1Instrument` as the REST gateway writes it: proto3 JSON leaves out a field that holds its default, so a `false`
 * flag is absent (the service must read an absent flag as `false`).
 */
function instrumentToWire(instrument: PaperInstrument): Record<string, unknown> {
  const flags = {
    apiTradeAvailableFlag: instrument.apiTradeAvailableFlag,
    buyAvailableFlag: true,
    sellAvailableFlag: true,
  };
  return {
    figi: instrument.figi,
    ticker: instrument.ticker,
    classCode: instrument.classCode,
    lot: instrument.lot,
    currency: instrument.currency,
    name: instrument.name,
    instrumentType: instrument.instrumentType,
    uid: instrument.uid,
    minPriceIncrement: decimalToWire(instrument.minPriceIncrement ?? '0.01'),
    ...Object.fromEntries(Object.entries(flags).filter(([, value]) => value)),
  };
}

/** A number as `v1Quotation` (`units` an int64 string, `nano` of the same sign), or `v1MoneyValue` with a currency. */
function toQuotation(value: number): { units: string; nano: number } {
  const units = Math.trunc(value);
  return { units: String(units), nano: Math.round((value - units) * 1e9) };
}
const toMoney = (value: number) => ({ currency: 'rub', ...toQuotation(value) });
/** A decimal as T-Invest's `Quotation` (`{units, nano}`). */
function decimalToWire(decimal: string): { units: string; nano: number } {
  const [whole = '0', fraction = ''] = decimal.split('.');
  return { units: whole, nano: Number(fraction.padEnd(9, '0').slice(0, 9)) };
}

/** A price of one instrument as T-Invest's `MoneyValue`. */
function moneyToWire(price: number | string, currency = 'rub'): { currency: string; units: string; nano: number } {
  return { currency, ...decimalToWire(String(price)) };
}

function quotationToDecimal(units: string, nano: number): string {
  const fraction = String(nano).padStart(9, '0').replace(/0+$/, '');
  return fraction === '' ? units : `${units}.${fraction}`;
}

const UNAUTHENTICATED = error(401, 16, 40003, 'Authentication token is missing or invalid');

export async function startTinkoffPaperBroker(options: TinkoffPaperOptions): Promise<TinkoffPaperBroker> {
  const orders: TinkoffPaperOrder[] = [];
  const book = new PaperBook();
  /** Lots of each order already in its position: a fill moves the position once. */
  const booked = new Map<string, number>();
  const firstAnswers = new Map<string, JsonAnswer>();
  let scenario = options.scenario;

  /** The instrument PostOrder is asked for by FIGI or uid; `true` when the broker was given no instrument list. */
  const instrumentById = (id: string): PaperInstrument | true | undefined =>
    options.instruments === undefined
      ? true
      : options.instruments.find((instrument) => instrument.figi === id || instrument.uid === id);

  /** The account ids the request's token reaches in this environment; undefined when the token is not one of its. */
  const accountsOf = (
    request: BrokerRequest,
    environment: Environment = 'production',
  ): readonly string[] | undefined => {
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const accounts = bearer === undefined ? undefined : options.accounts[bearer];
    if (accounts === undefined || (environment === 'sandbox') !== (scenario === 'sandbox-token')) return undefined;
    if (scenario === 'wrong-account') return [OTHER_ACCOUNT_ID];
    return scenario === 'several-accounts' ? [...accounts, SECOND_ACCOUNT_ID] : accounts;
  };

  /** `v1Account` as the token sees it: its access level is the token's, not the account's. */
  const accountRecord = (id: string, index: number) => ({
    id,
    type: index === 0 ? 'ACCOUNT_TYPE_TINKOFF' : 'ACCOUNT_TYPE_TINKOFF_IIS',
    name: index === 0 ? 'Брокерский счёт' : 'ИИС',
    status: scenario === 'closed-account' ? 'ACCOUNT_STATUS_CLOSED' : 'ACCOUNT_STATUS_OPEN',
    openedDate: OPENED_AT,
    ...(scenario === 'closed-account' ? { closedDate: '2025-06-30T07:00:00Z' } : {}),
    accessLevel: scenario === 'read-only-token' ? 'ACCOUNT_ACCESS_LEVEL_READ_ONLY' : 'ACCOUNT_ACCESS_LEVEL_FULL_ACCESS',
  });

  /** What an order for a known account meets first under a scenario: the catalogue's answer, as T-Invest gives it. */
  const scenarioRefusal = (): JsonAnswer | undefined => {
    if (scenario === 'read-only-token') return error(403, 7, 40002, 'Insufficient privileges');
    if (scenario === 'closed-account') return error(400, 3, 30081, 'Account status is closed');
    if (scenario === 'instrument-not-tradable') return error(400, 3, 30052, 'Instrument forbidden for trading by API');
    return undefined;
  };

  /**
   * A keyed command (`PostOrder`, `PostStopOrder`): the token, the body, the account, the scenario; a repeated
   * `orderId` answered from its first answer (or 30057), a new one decided.
   */
  const keyedCommand = <T extends { accountId: string; orderId: string }>(
    request: BrokerRequest,
    environment: Environment,
    schema: z.ZodType<T>,
    answers: Map<string, JsonAnswer>,
    decide: (body: T) => JsonAnswer,
  ): JsonAnswer => {
    const accounts = accountsOf(request, environment);
    if (accounts === undefined) return UNAUTHENTICATED;
    const parsed = schema.safeParse(request.json);
    if (!parsed.success) return error(400, 3, 30001, `Invalid request: ${parsed.error.issues[0]?.path.join('.')}`);
    const body = parsed.data;
    if (!accounts.includes(body.accountId)) return error(404, 5, 50004, 'Account not found');
    const refusal = scenarioRefusal();
    if (refusal !== undefined) return refusal;
    const key = `${body.accountId}:${body.orderId}`;
    const first = answers.get(key);
    if (first !== undefined) {
      return options.duplicateAsError
        ? error(400, 3, 30057, 'The order is a duplicate, but the order report was not found')
        : first;
    }
    const answer = decide(body);
    answers.set(key, answer);
    return answer;
  };

  const postOrder = (request: BrokerRequest, environment: Environment): JsonAnswer =>
    keyedCommand(request, environment, PostOrderBodySchema, firstAnswers, (body) => decidePostOrder(body));

  /** The key of an instrument's position: its uid when the table knows it, else the id an order named it by. */
  const positionKey = (instrumentId: string) => {
    const known = instrumentById(instrumentId);
    return known === true || known === undefined ? instrumentId : known.uid;
  };

  const bookFill = (order: TinkoffPaperOrder, lotsExecuted: number) => {
    const before = booked.get(order.orderId) ?? 0;
    if (lotsExecuted <= before) return;
    booked.set(order.orderId, lotsExecuted);
    book.fill(order.accountId, positionKey(order.instrumentId), order.direction, lotsExecuted - before);
  };

  const decidePostOrder = (body: z.infer<typeof PostOrderBodySchema>): JsonAnswer => {
    const limit = body.orderType === 'ORDER_TYPE_LIMIT';
    if (body.orderType === 'ORDER_TYPE_UNSPECIFIED' || (limit && body.price === undefined)) {
      return error(400, 3, 30013, 'Invalid order type or missing price');
    }
    if (body.direction === 'ORDER_DIRECTION_UNSPECIFIED') return error(400, 3, 30015, 'Direction is not specified');
    if (body.timeInForce !== undefined && !TIMES_IN_FORCE.includes(body.timeInForce)) {
      return error(400, 3, 30001, 'Invalid request: timeInForce');
    }
    const lots = Number(body.quantity);
    if (!Number.isSafeInteger(lots) || lots <= 0) return error(400, 3, 30004, 'Quantity must be positive');
    const price = body.price === undefined ? undefined : quotationToDecimal(body.price.units, body.price.nano);
    if (limit && (Number(price) <= 0 || (body.price?.nano ?? 0) < 0)) {
      return error(400, 3, 30007, 'Price must be positive');
    }
    const instrument = instrumentById(body.instrumentId);
    if (instrument === undefined) return error(404, 5, 50002, 'Instrument not found');
    if (instrument !== true && !instrument.apiTradeAvailableFlag) {
      return error(400, 3, 30052, 'Instrument forbidden for trading by API');
    }
    if (!tradesNow(body.instrumentId)) return error(400, 3, 30079, 'Instrument is not available for trading');
    const orderId = String(Date.now()) + String(orders.length).padStart(4, '0');
    const filledAtOnce = !limit;
    const order: TinkoffPaperOrder = {
      orderId,
      orderRequestId: body.orderId,
      api: 'v2',
      accountId: body.accountId,
      instrumentId: body.instrumentId,
      direction: body.direction === 'ORDER_DIRECTION_BUY' ? 'buy' : 'sell',
      lots,
      price: limit && price !== undefined ? price : String(book.lastPrice(positionKey(body.instrumentId))),
      orderType: body.orderType,
      timeInForce: body.timeInForce,
      placedAt: new Date().toISOString(),
      status: filledAtOnce ? 'filled' : 'working',
      lotsExecuted: filledAtOnce ? lots : 0,
    };
    orders.push(order);
    bookFill(order, order.lotsExecuted);
    return {
      status: 200,
      body: {
        orderId,
        orderRequestId: body.orderId,
        executionReportStatus: REPORT_STATUSES[order.status],
        lotsRequested: body.quantity,
        lotsExecuted: String(order.lotsExecuted),
        ...(order.lotsExecuted > 0 ? { executedOrderPrice: moneyToWire(order.price) } : {}),
        figi: body.instrumentId,
        direction: body.direction,
        orderType: body.orderType,
        message: '',
        instrumentUid: instrument === true ? randomUUID() : instrument.uid,
      },
    };
  };

  /** An order as `contractv1OrderState` shows it. */
  const orderToWire = (order: TinkoffPaperOrder) => {
    const known = instrumentById(order.instrumentId);
    return {
      orderId: order.orderId,
      ...(order.orderRequestId === undefined ? {} : { orderRequestId: order.orderRequestId }),
      executionReportStatus: REPORT_STATUSES[order.status],
      lotsRequested: String(order.lots),
      lotsExecuted: String(order.lotsExecuted),
      figi: known === true || known === undefined ? order.instrumentId : known.figi,
      ...(known === true || known === undefined ? {} : { instrumentUid: known.uid, ticker: known.ticker }),
      direction: order.direction === 'buy' ? 'ORDER_DIRECTION_BUY' : 'ORDER_DIRECTION_SELL',
      orderType: order.orderType,
      orderDate: order.placedAt,
    };
  };

  /** The account a read names, if the token reaches it: its id, or the refusal. */
  const accountRead = (
    request: BrokerRequest,
    environment: Environment,
    schema: typeof AccountBodySchema | typeof GetOrdersBodySchema,
  ): JsonAnswer | { accountId: string } => {
    const accounts = accountsOf(request, environment);
    if (accounts === undefined) return UNAUTHENTICATED;
    const parsed = schema.safeParse(request.json);
    if (!parsed.success) return error(400, 3, 30001, `Invalid request: ${parsed.error.issues[0]?.path.join('.')}`);
    if (!accounts.includes(parsed.data.accountId)) return error(404, 5, 50004, 'Account not found');
    return { accountId: parsed.data.accountId };
  };

  /** `OperationsService/GetPositions`: each instrument held, in pieces (lots × lot), free and held by sell orders. */
  const getPositions = (request: BrokerRequest, environment: Environment): JsonAnswer => {
    const read = accountRead(request, environment, AccountBodySchema);
    if ('status' in read) return read;
    const securities = book.positions(read.accountId).map((held) => {
      const known = instrumentById(held.instrument);
      const instrument = known === true || known === undefined ? undefined : known;
      const lot = instrument?.lot ?? 1;
      const selling = orders
        .filter(
          (order) =>
            order.accountId === read.accountId &&
            positionKey(order.instrumentId) === held.instrument &&
            order.direction === 'sell' &&
            (order.status === 'working' || order.status === 'partly-filled'),
        )
        .reduce((total, order) => total + (order.lots - order.lotsExecuted) * lot, 0);
      const pieces = held.lots * lot;
      const blocked = Math.min(Math.max(pieces, 0), selling);
      return {
        figi: instrument?.figi ?? held.instrument,
        blocked: String(blocked),
        balance: String(pieces - blocked),
        positionUid: instrument === undefined ? held.instrument : `pos-${instrument.uid}`,
        instrumentUid: instrument?.uid ?? held.instrument,
        ticker: instrument?.ticker ?? '',
        classCode: instrument?.classCode ?? '',
        exchangeBlocked: false,
        instrumentType: instrument?.instrumentType ?? 'share',
      };
    });
    return {
      status: 200,
      body: {
        money: [{ currency: 'rub', units: '100000', nano: 0 }],
        securities,
        limitsLoadingInProgress: false,
        accountId: read.accountId,
      },
    };
  };

  /** `OrdersService/GetOrders`: the account's active orders. */
  const getOrders = (request: BrokerRequest, environment: Environment): JsonAnswer => {
    const read = accountRead(request, environment, GetOrdersBodySchema);
    if ('status' in read) return read;
    const active = orders.filter(
      (order) =>
        order.api === 'v2' &&
        order.accountId === read.accountId &&
        (order.status === 'working' || order.status === 'partly-filled'),
    );
    return { status: 200, body: { orders: active.map(orderToWire) } };
  };

  /**
   * The v2 order a GetOrderState or CancelOrder body names: by the exchange's id, or by the caller's `orderId` with
   * `ORDER_ID_TYPE_REQUEST`; else T-Invest's answer (unauthenticated, invalid, no such account, 50005).
   */
  const namedOrder = (
    request: BrokerRequest,
    environment: Environment,
    schema: typeof CancelOrderBodySchema | typeof GetOrderStateBodySchema,
  ): { order: TinkoffPaperOrder } | JsonAnswer => {
    const accounts = accountsOf(request, environment);
    if (accounts === undefined) return UNAUTHENTICATED;
    const parsed = schema.safeParse(request.json);
    if (!parsed.success) return error(400, 3, 30001, `Invalid request: ${parsed.error.issues[0]?.path.join('.')}`);
    const { accountId, orderId, orderIdType } = parsed.data;
    if (!accounts.includes(accountId)) return error(404, 5, 50004, 'Account not found');
    const byRequestId = orderIdType === 'ORDER_ID_TYPE_REQUEST';
    const order = orders.find(
      (candidate) =>
        candidate.api === 'v2' &&
        candidate.accountId === accountId &&
        (byRequestId ? candidate.orderRequestId === orderId : candidate.orderId === orderId),
    );
    return order === undefined ? error(404, 5, 50005, 'Order not found') : { order };
  };

  /** `OrdersService/CancelOrder`: an active order cancelled; one that is not (filled, gone) is 30059, unknown 50005. */
  const cancelOrder = (request: BrokerRequest, environment: Environment): JsonAnswer => {
    const named = namedOrder(request, environment, CancelOrderBodySchema);
    if (!('order' in named)) return named;
    const { order } = named;
    if (order.status !== 'working' && order.status !== 'partly-filled') {
      return error(400, 3, 30059, `Cancel order error: order ${order.orderId} is ${order.status}`);
    }
    order.status = 'canceled';
    return { status: 200, body: { time: new Date().toISOString(), responseMetadata: { trackingId: randomUUID() } } };
  };

  /** `UsersService/GetAccounts`. */
  const getAccounts = (request: BrokerRequest, environment: Environment): JsonAnswer => {
    const accounts = accountsOf(request, environment);
    if (accounts === undefined) return UNAUTHENTICATED;
    const parsed = GetAccountsBodySchema.safeParse(request.json);
    if (!parsed.success) return error(400, 3, 30001, `Invalid request: ${parsed.error.issues[0]?.path.join('.')}`);
    const wanted = parsed.data.status;
    const records = accounts
      .map(accountRecord)
      .filter(
        (account) =>
          wanted === undefined || ['ACCOUNT_STATUS_UNSPECIFIED', 'ACCOUNT_STATUS_ALL', account.status].includes(wanted),
      );
    return { status: 200, body: { accounts: records } };
  };

  /** `UsersService/GetInfo`: a user who is not a qualified investor. */
  const getInfo = (request: BrokerRequest, environment: Environment): JsonAnswer => {
    if (accountsOf(request, environment) === undefined) return UNAUTHENTICATED;
    if (!GetInfoBodySchema.safeParse(request.json).success) return error(400, 3, 30001, 'Invalid request');
    return {
      status: 200,
      body: {
        premStatus: false,
        qualStatus: false,
        qualifiedForWorkWith: [],
        tariff: 'investor',
        userId: 'paper-user',
        riskLevelCode: '',
      },
    };
  };

  /**
   * `InstrumentsService/GetInstrumentBy`: by FIGI, uid, or ticker within a class code (which the ticker needs: 30013
   * without it). Under `instrument-not-tradable` no instrument may be traded through the API.
   */
  const getInstrumentBy = (request: BrokerRequest, environment: Environment): JsonAnswer => {
    if (accountsOf(request, environment) === undefined) return UNAUTHENTICATED;
    const parsed = InstrumentRequestBodySchema.safeParse(request.json);
    if (!parsed.success) return error(400, 3, 30001, `Invalid request: ${parsed.error.issues[0]?.path.join('.')}`);
    const { idType, classCode, id } = parsed.data;
    if (id === '') return error(400, 3, 30007, 'Missing parameter: `id`');
    if (idType === 'INSTRUMENT_ID_TYPE_TICKER' && !classCode) {
      return error(400, 3, 30013, '`class_code` require for `id_type` = `ticker`');
    }
    const matches: Record<typeof idType, (instrument: PaperInstrument) => boolean> = {
      INSTRUMENT_ID_UNSPECIFIED: () => false,
      INSTRUMENT_ID_TYPE_POSITION_UID: () => false,
      INSTRUMENT_ID_TYPE_FIGI: (instrument) => instrument.figi === id,
      INSTRUMENT_ID_TYPE_UID: (instrument) => instrument.uid === id,
      INSTRUMENT_ID_TYPE_TICKER: (instrument) => instrument.ticker === id && instrument.classCode === classCode,
    };
    const instrument = options.instruments?.find(matches[idType]);
    if (instrument === undefined) return error(404, 5, 50002, 'Instrument not found');
    const tradable = instrument.apiTradeAvailableFlag && scenario !== 'instrument-not-tradable';
    return { status: 200, body: { instrument: instrumentToWire({ ...instrument, apiTradeAvailableFlag: tradable }) } };
  };

  const v1LimitOrder = (request: BrokerRequest): JsonAnswer => {
    const accounts = accountsOf(request);
    if (accounts === undefined) return { status: 401 };
    const trackingId = randomUUID().slice(0, 12);
    const figi = request.url.searchParams.get('figi');
    const accountId = request.url.searchParams.get('brokerAccountId');
    const parsed = V1BodySchema.safeParse(request.json);
    const refuse = (message: string): JsonAnswer => ({
      status: 500,
      body: { trackingId, status: 'Error', payload: { message, code: 'VALIDATION_ERROR' } },
    });
    if (figi === null || figi === '') return refuse('figi is required');
    if (accountId === null || !accounts.includes(accountId)) return refuse('Account not found');
    if (!parsed.success) return refuse(`Invalid request: ${parsed.error.issues[0]?.path.join('.')}`);
    if (parsed.data.price <= 0) return refuse('Price must be positive');
    if (instrumentById(figi) === undefined) return refuse('Instrument not found');
    const orderId = String(Date.now()) + String(orders.length).padStart(4, '0');
    orders.push({
      orderId,
      orderRequestId: undefined,
      api: 'v1',
      accountId,
      instrumentId: figi,
      direction: parsed.data.operation === 'Buy' ? 'buy' : 'sell',
      lots: parsed.data.lots,
      price: String(parsed.data.price),
      orderType: 'ORDER_TYPE_LIMIT',
      placedAt: new Date().toISOString(),
      status: 'working',
      lotsExecuted: 0,
    });
    return {
      status: 200,
      body: {
        trackingId,
        status: 'Ok',
        payload: {
          orderId,
          operation: parsed.data.operation,
          status: 'New',
          requestedLots: parsed.data.lots,
          executedLots: 0,
        },
      },
    };
  };

  /** Looks an order up by the exchange's id, or by the caller's `orderId` with `ORDER_ID_TYPE_REQUEST`. */
  const getOrderState = (request: BrokerRequest, environment: Environment): JsonAnswer => {
    const named = namedOrder(request, environment, GetOrderStateBodySchema);
    if (!('order' in named)) return named;
    const { order } = named;
    return {
      status: 200,
      body: {
        orderId: order.orderId,
        orderRequestId: order.orderRequestId,
        executionReportStatus: REPORT_STATUSES[order.status],
        lotsRequested: String(order.lots),
        lotsExecuted: String(order.lotsExecuted),
        ...(order.lotsExecuted > 0 ? { executedOrderPrice: moneyToWire(order.price) } : {}),
        figi: order.instrumentId,
        direction: order.direction === 'buy' ? 'ORDER_DIRECTION_BUY' : 'ORDER_DIRECTION_SELL',
        orderType: order.orderType,
        orderDate: order.placedAt,
      },
    };
  };

  /** Whether the instrument trades now: not under `instrument-not-trading`, nor stopped from outside. */
  const tradesNow = (instrumentId: string) =>
    scenario !== 'instrument-not-trading' && book.trading(positionKey(instrumentId));

  /** The instrument a market-data request names: by FIGI, uid, or `ticker_classCode`. */
  const marketInstrument = (id: string): PaperInstrument | true | undefined =>
    instrumentById(id) ??
    options.instruments?.find((instrument) => `${instrument.ticker}_${instrument.classCode}` === id);

  /** The account's money, with the day's loss of `daily-loss-reached`. */
  const moneyOf = (accountId: string): PaperMoney => {
    const money = book.money(accountId);
    return scenario === 'daily-loss-reached'
      ? { ...money, dailyResult: money.portfolioValue * DAILY_LOSS_SCENARIO_SHARE }
      : money;
  };

  /** `MarketDataService/GetTradingStatus`: normal trading, or none under `instrument-not-trading` (flags left out). */
  const getTradingStatus = (request: BrokerRequest, environment: Environment): JsonAnswer => {
    if (accountsOf(request, environment) === undefined) return UNAUTHENTICATED;
    const parsed = TradingStatusBodySchema.safeParse(request.json);
    if (!parsed.success) return error(400, 3, 30001, `Invalid request: ${parsed.error.issues[0]?.path.join('.')}`);
    const known = marketInstrument(parsed.data.instrumentId);
    if (known === undefined) return error(404, 5, 50002, 'Instrument not found');
    const instrument = known === true ? undefined : known;
    const id = instrument?.uid ?? parsed.data.instrumentId;
    const trading = tradesNow(id);
    const flags = {
      limitOrderAvailableFlag: trading,
      marketOrderAvailableFlag: trading,
      apiTradeAvailableFlag: instrument?.apiTradeAvailableFlag ?? true,
      bestpriceOrderAvailableFlag: trading,
    };
    return {
      status: 200,
      body: {
        figi: instrument?.figi ?? parsed.data.instrumentId,
        tradingStatus: trading
          ? 'SECURITY_TRADING_STATUS_NORMAL_TRADING'
          : 'SECURITY_TRADING_STATUS_NOT_AVAILABLE_FOR_TRADING',
        ...Object.fromEntries(Object.entries(flags).filter(([, value]) => value)),
        instrumentUid: id,
        ticker: instrument?.ticker ?? '',
        classCode: instrument?.classCode ?? '',
      },
    };
  };

  const stopOrders: TinkoffPaperStopOrder[] = [];
  const stopFirstAnswers = new Map<string, JsonAnswer>();
  let stopRefusal: string | undefined;

  /** `StopOrdersService/PostStopOrder`: keyed by `orderId` (a repeat gets the first answer), triggered at once if met. */
  const postStopOrder = (request: BrokerRequest, environment: Environment): JsonAnswer =>
    keyedCommand(request, environment, PostStopOrderBodySchema, stopFirstAnswers, (body) => decideStopOrder(body));

  const decideStopOrder = (body: z.infer<typeof PostStopOrderBodySchema>): JsonAnswer => {
    if (body.stopOrderType !== 'STOP_ORDER_TYPE_STOP_LOSS' && body.stopOrderType !== 'STOP_ORDER_TYPE_TAKE_PROFIT') {
      return error(400, 3, 30038, '`stop_order_type` is invalid');
    }
    if (body.stopPrice === undefined) return error(400, 3, 30036, 'Missing parameter: `stop_price`');
    if (body.expirationType === 'STOP_ORDER_EXPIRATION_TYPE_UNSPECIFIED') {
      return error(400, 3, 30044, '`expiration_type` is invalid');
    }
    if (body.takeProfitType !== undefined && body.stopOrderType !== 'STOP_ORDER_TYPE_TAKE_PROFIT') {
      return error(400, 3, 30241, '`take_profit_type` not available for specified `stop_order_type`');
    }
    const trailing = body.takeProfitType === 'TAKE_PROFIT_TYPE_TRAILING';
    const data = body.trailingData;
    if (trailing && (data?.indent === undefined || data.spread === undefined)) {
      return error(400, 3, 30210, 'Trailing data required');
    }
    if (trailing && (data?.indentType === undefined || data.indentType === 'TRAILING_VALUE_UNSPECIFIED')) {
      return error(400, 3, 30211, '`indent type` required');
    }
    if (trailing && (data?.spreadType === undefined || data.spreadType === 'TRAILING_VALUE_UNSPECIFIED')) {
      return error(400, 3, 30212, '`spread type` required');
    }
    if (body.direction === 'STOP_ORDER_DIRECTION_UNSPECIFIED')
      return error(400, 3, 30015, 'Direction is not specified');
    const lots = Number(body.quantity);
    if (!Number.isSafeInteger(lots) || lots <= 0) return error(400, 3, 30004, 'Quantity must be positive');
    const instrument = instrumentById(body.instrumentId);
    if (instrument === undefined) return error(404, 5, 50002, 'Instrument not found');
    if (stopRefusal !== undefined) return error(400, 3, 30053, `Post stop_order error: ${stopRefusal}`);
    const stop: TinkoffPaperStopOrder = {
      stopOrderId: randomUUID(),
      orderRequestId: body.orderId,
      accountId: body.accountId,
      instrumentId: body.instrumentId,
      direction: body.direction === 'STOP_ORDER_DIRECTION_BUY' ? 'buy' : 'sell',
      lots,
      type: body.stopOrderType,
      stopPrice: quotationToDecimal(body.stopPrice.units, body.stopPrice.nano),
      ...(trailing && data?.indent !== undefined
        ? {
            trailing: {
              indent: Number(quotationToDecimal(data.indent.units, data.indent.nano)),
              relative: data.indentType === 'TRAILING_VALUE_RELATIVE',
            },
          }
        : {}),
      confirmMarginTrade: body.confirmMarginTrade === true,
      createdAt: new Date().toISOString(),
      status: 'STOP_ORDER_STATUS_ACTIVE',
    };
    stopOrders.push(stop);
    triggerStops(positionKey(body.instrumentId));
    return {
      status: 200,
      body: {
        stopOrderId: stop.stopOrderId,
        orderRequestId: body.orderId,
        responseMetadata: { trackingId: randomUUID() },
      },
    };
  };

  /** `OperationsService/GetPortfolio`: the account's value, cash and day's result as set (no positions listed). */
  const getPortfolio = (request: BrokerRequest, environment: Environment): JsonAnswer => {
    const accounts = accountsOf(request, environment);
    if (accounts === undefined) return UNAUTHENTICATED;
    const parsed = PortfolioBodySchema.safeParse(request.json);
    if (!parsed.success) return error(400, 3, 30001, `Invalid request: ${parsed.error.issues[0]?.path.join('.')}`);
    if (!accounts.includes(parsed.data.accountId)) return error(404, 5, 50004, 'Account not found');
    const { portfolioValue, dailyResult, cash } = moneyOf(parsed.data.accountId);
    const opening = portfolioValue - dailyResult;
    return {
      status: 200,
      body: {
        totalAmountShares: toMoney(portfolioValue - cash),
        totalAmountBonds: toMoney(0),
        totalAmountEtf: toMoney(0),
        totalAmountCurrencies: toMoney(cash),
        totalAmountFutures: toMoney(0),
        expectedYield: toQuotation(0),
        positions: [],
        accountId: parsed.data.accountId,
        totalAmountPortfolio: toMoney(portfolioValue),
        dailyYield: toMoney(dailyResult),
        dailyYieldRelative: toQuotation(opening > 0 ? (dailyResult / opening) * 100 : 0),
      },
    };
  };

  /**
   * `OrdersService/GetMaxLots`: what the account's cash buys at the price given (else the last price), and the lots it
   * holds to sell; with margin, twice as much.
   */
  const getMaxLots = (request: BrokerRequest, environment: Environment): JsonAnswer => {
    const accounts = accountsOf(request, environment);
    if (accounts === undefined) return UNAUTHENTICATED;
    const parsed = MaxLotsBodySchema.safeParse(request.json);
    if (!parsed.success) return error(400, 3, 30001, `Invalid request: ${parsed.error.issues[0]?.path.join('.')}`);
    const { accountId, instrumentId, price } = parsed.data;
    if (!accounts.includes(accountId)) return error(404, 5, 50004, 'Account not found');
    const known = instrumentById(instrumentId);
    if (known === undefined) return error(404, 5, 50002, 'Instrument not found');
    const lot = known === true ? 1 : known.lot;
    const last = book.lastPrice(positionKey(instrumentId));
    const at = price === undefined ? last : Number(quotationToDecimal(price.units, price.nano));
    const { cash } = moneyOf(accountId);
    const buy = (perPiece: number) => String(Math.max(0, Math.floor(cash / (perPiece * lot))));
    const held = Math.max(0, book.position(accountId, positionKey(instrumentId)) ?? 0);
    const limits = (factor: number) => ({
      buyMoneyAmount: toQuotation(cash * factor),
      buyMaxLots: String(Number(buy(at)) * factor),
      buyMaxMarketLots: String(Number(buy(last)) * factor),
    });
    return {
      status: 200,
      body: {
        currency: known === true ? 'rub' : known.currency,
        buyLimits: limits(1),
        buyMarginLimits: limits(2),
        sellLimits: { sellMaxLots: String(held) },
        sellMarginLimits: { sellMaxLots: String(held + Number(buy(last))) },
      },
    };
  };

  /** `MarketDataService/GetLastPrices`: each instrument's last price, as set from outside. */
  const getLastPrices = (request: BrokerRequest, environment: Environment): JsonAnswer => {
    if (accountsOf(request, environment) === undefined) return UNAUTHENTICATED;
    const parsed = LastPricesBodySchema.safeParse(request.json);
    if (!parsed.success) return error(400, 3, 30001, `Invalid request: ${parsed.error.issues[0]?.path.join('.')}`);
    const ids = [...(parsed.data.instrumentId ?? []), ...(parsed.data.figi ?? [])];
    const lastPrices = ids.flatMap((id) => {
      const known = marketInstrument(id);
      if (known === undefined) return [];
      const instrument = known === true ? undefined : known;
      return [
        {
          figi: instrument?.figi ?? id,
          price: toQuotation(book.lastPrice(positionKey(instrument?.uid ?? id))),
          time: new Date().toISOString(),
          instrumentUid: instrument?.uid ?? id,
          ticker: instrument?.ticker ?? '',
          classCode: instrument?.classCode ?? '',
          lastPriceType: 'LAST_PRICE_EXCHANGE',
        },
      ];
    });
    return { status: 200, body: { lastPrices } };
  };

  /** Whether the last price meets a stop order now (a trailing take-profit: activated, then fallen back its distance). */
  const meets = (stop: TinkoffPaperStopOrder, price: number): boolean => {
    const trigger = Number(stop.stopPrice);
    const selling = stop.direction === 'sell';
    if (stop.type === 'STOP_ORDER_TYPE_STOP_LOSS') return selling ? price <= trigger : price >= trigger;
    if (stop.trailing === undefined) return selling ? price >= trigger : price <= trigger;
    if (stop.extreme === undefined) {
      if (selling ? price < trigger : price > trigger) return false;
      stop.extreme = price;
    }
    stop.extreme = selling ? Math.max(stop.extreme, price) : Math.min(stop.extreme, price);
    const { indent, relative } = stop.trailing;
    const distance = relative ? (stop.extreme * indent) / 100 : indent;
    return selling ? price <= stop.extreme - distance : price >= stop.extreme + distance;
  };

  /**
   * The instrument's active stop orders its last price meets send their market orders. A sell that would leave the
   * account short without `confirmMarginTrade` is sent and refused (an uncovered position), as T-Invest does.
   */
  const triggerStops = (instrument: string) => {
    const price = book.lastPrice(instrument);
    for (const stop of stopOrders) {
      if (stop.status !== 'STOP_ORDER_STATUS_ACTIVE' || positionKey(stop.instrumentId) !== instrument) continue;
      if (!meets(stop, price)) continue;
      const held = book.position(stop.accountId, instrument) ?? 0;
      const after = held + (stop.direction === 'buy' ? stop.lots : -stop.lots);
      // A sell that leaves the account short is uncovered (bought back from a short, a long is paid in money).
      const uncovered = !stop.confirmMarginTrade && stop.direction === 'sell' && after < 0;
      const order: TinkoffPaperOrder = {
        orderId: String(Date.now()) + String(orders.length).padStart(4, '0'),
        orderRequestId: `stop-${stop.stopOrderId}`,
        api: 'v2',
        accountId: stop.accountId,
        instrumentId: stop.instrumentId,
        direction: stop.direction,
        lots: stop.lots,
        price: String(price),
        orderType: 'ORDER_TYPE_MARKET',
        placedAt: new Date().toISOString(),
        status: uncovered ? 'rejected' : 'filled',
        lotsExecuted: uncovered ? 0 : stop.lots,
      };
      orders.push(order);
      bookFill(order, order.lotsExecuted);
      stop.status = 'STOP_ORDER_STATUS_EXECUTED';
      stop.exchangeOrderId = order.orderId;
    }
  };

  /** A stop order as `v1StopOrder` shows it. */
  const stopToWire = (stop: TinkoffPaperStopOrder) => {
    const known = instrumentById(stop.instrumentId);
    const instrument = known === true || known === undefined ? undefined : known;
    return {
      stopOrderId: stop.stopOrderId,
      lotsRequested: String(stop.lots),
      figi: instrument?.figi ?? stop.instrumentId,
      direction: stop.direction === 'buy' ? 'STOP_ORDER_DIRECTION_BUY' : 'STOP_ORDER_DIRECTION_SELL',
      currency: instrument?.currency ?? 'rub',
      orderType: stop.type,
      createDate: stop.createdAt,
      stopPrice: moneyToWire(stop.stopPrice, instrument?.currency),
      instrumentUid: instrument?.uid ?? stop.instrumentId,
      takeProfitType:
        stop.type === 'STOP_ORDER_TYPE_TAKE_PROFIT'
          ? stop.trailing === undefined
            ? 'TAKE_PROFIT_TYPE_REGULAR'
            : 'TAKE_PROFIT_TYPE_TRAILING'
          : 'TAKE_PROFIT_TYPE_UNSPECIFIED',
      status: stop.status,
      exchangeOrderType: 'EXCHANGE_ORDER_TYPE_MARKET',
      ...(stop.exchangeOrderId === undefined ? {} : { exchangeOrderId: stop.exchangeOrderId }),
      ticker: instrument?.ticker ?? '',
      classCode: instrument?.classCode ?? '',
    };
  };

  /** `StopOrdersService/GetStopOrders`: the active ones, or those of the status asked (ALL: any) created from `from`. */
  const getStopOrders = (request: BrokerRequest, environment: Environment): JsonAnswer => {
    const accounts = accountsOf(request, environment);
    if (accounts === undefined) return UNAUTHENTICATED;
    const parsed = GetStopOrdersBodySchema.safeParse(request.json);
    if (!parsed.success) return error(400, 3, 30001, `Invalid request: ${parsed.error.issues[0]?.path.join('.')}`);
    const { accountId, status, from, to } = parsed.data;
    if (!accounts.includes(accountId)) return error(404, 5, 50004, 'Account not found');
    const wanted =
      status === undefined || status === 'STOP_ORDER_STATUS_UNSPECIFIED' ? 'STOP_ORDER_STATUS_ACTIVE' : status;
    const listed = stopOrders.filter(
      (stop) =>
        stop.accountId === accountId &&
        (wanted === 'STOP_ORDER_STATUS_ALL' || stop.status === wanted) &&
        (from === undefined || stop.createdAt >= from) &&
        (to === undefined || stop.createdAt <= to),
    );
    return { status: 200, body: { stopOrders: listed.map(stopToWire) } };
  };

  /** `StopOrdersService/CancelStopOrder`: an active stop order cancelled; another is 30060, an unknown one 50006. */
  const cancelStopOrder = (request: BrokerRequest, environment: Environment): JsonAnswer => {
    const accounts = accountsOf(request, environment);
    if (accounts === undefined) return UNAUTHENTICATED;
    const parsed = CancelStopOrderBodySchema.safeParse(request.json);
    if (!parsed.success) return error(400, 3, 30001, `Invalid request: ${parsed.error.issues[0]?.path.join('.')}`);
    if (!accounts.includes(parsed.data.accountId)) return error(404, 5, 50004, 'Account not found');
    const stop = stopOrders.find(
      (candidate) => candidate.stopOrderId === parsed.data.stopOrderId && candidate.accountId === parsed.data.accountId,
    );
    if (stop === undefined) return error(404, 5, 50006, 'Stop-order not found');
    if (stop.status !== 'STOP_ORDER_STATUS_ACTIVE') {
      return error(400, 3, 30060, `Cancel stop-order error: the stop order is ${stop.status}`);
    }
    stop.status = 'STOP_ORDER_STATUS_CANCELED';
    return { status: 200, body: { time: new Date().toISOString() } };
  };

  const v2Methods = [
    { name: 'order', method: 'OrdersService/PostOrder', handle: postOrder },
    { name: 'order-state', method: 'OrdersService/GetOrderState', handle: getOrderState },
    { name: 'orders', method: 'OrdersService/GetOrders', handle: getOrders },
    { name: 'cancel', method: 'OrdersService/CancelOrder', handle: cancelOrder },
    { name: 'positions', method: 'OperationsService/GetPositions', handle: getPositions },
    { name: 'accounts', method: 'UsersService/GetAccounts', handle: getAccounts },
    { name: 'info', method: 'UsersService/GetInfo', handle: getInfo },
    { name: 'instrument', method: 'InstrumentsService/GetInstrumentBy', handle: getInstrumentBy },
    { name: 'trading-status', method: 'MarketDataService/GetTradingStatus', handle: getTradingStatus },
    { name: 'portfolio', method: 'OperationsService/GetPortfolio', handle: getPortfolio },
    { name: 'max-lots', method: 'OrdersService/GetMaxLots', handle: getMaxLots },
    { name: 'last-prices', method: 'MarketDataService/GetLastPrices', handle: getLastPrices },
    { name: 'stop-order', method: 'StopOrdersService/PostStopOrder', handle: postStopOrder },
    { name: 'stop-orders', method: 'StopOrdersService/GetStopOrders', handle: getStopOrders },
    { name: 'cancel-stop', method: 'StopOrdersService/CancelStopOrder', handle: cancelStopOrder },
  ] as const;
  const environments = [
    ['production', TINKOFF_V2_PREFIX],
    ['sandbox', TINKOFF_SANDBOX_PREFIX],
  ] as const;
  const routes: Route[] = [
    ...environments.flatMap(([environment, prefix]) =>
      v2Methods.map(
        ({ name, method, handle }): Route => ({
          name,
          method: 'POST',
          path: `${prefix}${SERVICES}.${method}`,
          handle: (request) => handle(request, environment),
        }),
      ),
    ),
    { name: 'v1-order', method: 'POST', path: V1_LIMIT_ORDER_PATH, handle: v1LimitOrder },
  ];
  const server = await startPaperServer(routes, options.port);
  return Object.assign(server, {
    orders,
    stopOrders,
    refuseStops: (message: string | undefined) => {
      stopRefusal = message;
    },
    v2Url: `${server.url}${TINKOFF_V2_PREFIX}`,
    sandboxUrl: `${server.url}${TINKOFF_SANDBOX_PREFIX}`,
    setOrderState: (orderId: string, change: OrderStateChange) => {
      const order = orders.find((candidate) => candidate.orderId === orderId);
      if (order === undefined) return `no order ${orderId}`;
      const next = nextOrderState(order.lots, change);
      if (!next.ok) return next.reason;
      bookFill(order, next.state.filledLots);
      order.status = next.state.status;
      // An order cancelled keeps what it filled.
      order.lotsExecuted = next.state.status === 'canceled' ? order.lotsExecuted : next.state.filledLots;
      return undefined;
    },
    positions: (accountId: string) =>
      book.positions(accountId).map((held) => {
        const known = instrumentById(held.instrument);
        return { instrument: known === true || known === undefined ? held.instrument : known.figi, lots: held.lots };
      }),
    setPosition: (accountId: string, instrumentId: string, lots: number) =>
      book.setPosition(accountId, positionKey(instrumentId), lots),
    setLastPrice: (instrumentId: string, price: number) => {
      const problem = book.setLastPrice(positionKey(instrumentId), price);
      if (problem === undefined) triggerStops(positionKey(instrumentId));
      return problem;
    },
    lastPrice: (instrumentId: string) => book.lastPrice(positionKey(instrumentId)),
    setMoney: (accountId: string, change: Partial<PaperMoney>) => book.setMoney(accountId, change),
    money: (accountId: string) => moneyOf(accountId),
    setTrading: (instrumentId: string, trading: boolean) => book.setTrading(positionKey(instrumentId), trading),
    setScenario: (next: TinkoffPaperScenario | undefined) => {
      scenario = next;
    },
  });
}
