import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { type BrokerRequest, type JsonAnswer, type PaperServer, type Route, startPaperServer } from './server.ts';

/**
 * A paper T-Invest: API v2 REST `OrdersService/PostOrder`, `GetOrderState` and `InstrumentsService/GetInstrumentBy`
 * under `/rest`, and the retired v1 `/openapi/orders/limit-order`, checked against
 * docs/broker-specs/tinvest-v2-openapi.yaml and tinkoff-openapi-v1-swagger.yaml. Errors carry the catalogue codes of
 * tinvest-v2-api_errors.json. A repeated `orderId` places no second order and gets the first answer again.
 */

export const TINKOFF_V2_PREFIX = '/rest';
export const POST_ORDER_PATH = `${TINKOFF_V2_PREFIX}/tinkoff.public.invest.api.contract.v1.OrdersService/PostOrder`;
export const GET_ORDER_STATE_PATH = `${TINKOFF_V2_PREFIX}/tinkoff.public.invest.api.contract.v1.OrdersService/GetOrderState`;
export const GET_INSTRUMENT_BY_PATH = `${TINKOFF_V2_PREFIX}/tinkoff.public.invest.api.contract.v1.InstrumentsService/GetInstrumentBy`;
export const V1_LIMIT_ORDER_PATH = '/openapi/orders/limit-order';

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
}

export interface TinkoffPaperOptions {
  /** Trading token → the account ids it may trade. */
  readonly accounts: Readonly<Record<string, readonly string[]>>;
  /** Known instruments, which PostOrder takes by FIGI or uid; any instrument id when absent. */
  readonly instruments?: readonly PaperInstrument[];
  /** Answer a repeated orderId with error 30057 instead of the first report. */
  readonly duplicateAsError?: boolean;
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
  /** The exact price received, as a decimal string. */
  readonly price: string;
  readonly placedAt: string;
}

export interface TinkoffPaperBroker extends PaperServer {
  readonly orders: readonly TinkoffPaperOrder[];
  /** Base URL for `TINKOFF_API_URL` with `TINKOFF_API=v2`; the server's own URL serves v1. */
  readonly v2Url: string;
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

/** `v1GetOrderStateRequest`. */
const GetOrderStateBodySchema = z.strictObject({
  accountId: z.string().min(1),
  orderId: z.string().min(1),
  priceType: z.string().optional(),
  orderIdType: z.enum(['ORDER_ID_TYPE_UNSPECIFIED', 'ORDER_ID_TYPE_EXCHANGE', 'ORDER_ID_TYPE_REQUEST']).optional(),
});

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
    ...Object.fromEntries(Object.entries(flags).filter(([, value]) => value)),
  };
}

function quotationToDecimal(units: string, nano: number): string {
  const fraction = String(nano).padStart(9, '0').replace(/0+$/, '');
  return fraction === '' ? units : `${units}.${fraction}`;
}

export async function startTinkoffPaperBroker(options: TinkoffPaperOptions): Promise<TinkoffPaperBroker> {
  const orders: TinkoffPaperOrder[] = [];
  const firstAnswers = new Map<string, JsonAnswer>();

  /** The instrument PostOrder is asked for by FIGI or uid; `true` when the broker was given no instrument list. */
  const instrumentById = (id: string): PaperInstrument | true | undefined =>
    options.instruments === undefined
      ? true
      : options.instruments.find((instrument) => instrument.figi === id || instrument.uid === id);

  const accountsOf = (request: BrokerRequest): readonly string[] | undefined => {
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    return bearer === undefined ? undefined : options.accounts[bearer];
  };

  const postOrder = (request: BrokerRequest): JsonAnswer => {
    const accounts = accountsOf(request);
    if (accounts === undefined) return error(401, 16, 40003, 'Authentication token is missing or invalid');
    const parsed = PostOrderBodySchema.safeParse(request.json);
    if (!parsed.success) return error(400, 3, 30001, `Invalid request: ${parsed.error.issues[0]?.path.join('.')}`);
    const body = parsed.data;
    if (!accounts.includes(body.accountId)) return error(404, 5, 50004, 'Account not found');
    const key = `${body.accountId}:${body.orderId}`;
    const first = firstAnswers.get(key);
    if (first !== undefined) {
      return options.duplicateAsError
        ? error(400, 3, 30057, 'The order is a duplicate, but the order report was not found')
        : first;
    }
    const answer = decidePostOrder(body);
    firstAnswers.set(key, answer);
    return answer;
  };

  const decidePostOrder = (body: z.infer<typeof PostOrderBodySchema>): JsonAnswer => {
    if (body.orderType !== 'ORDER_TYPE_LIMIT' || body.price === undefined) {
      return error(400, 3, 30013, 'Invalid order type or missing price');
    }
    if (body.direction === 'ORDER_DIRECTION_UNSPECIFIED') return error(400, 3, 30015, 'Direction is not specified');
    const lots = Number(body.quantity);
    if (!Number.isSafeInteger(lots) || lots <= 0) return error(400, 3, 30004, 'Quantity must be positive');
    const price = quotationToDecimal(body.price.units, body.price.nano);
    if (Number(price) <= 0 || body.price.nano < 0) return error(400, 3, 30007, 'Price must be positive');
    const instrument = instrumentById(body.instrumentId);
    if (instrument === undefined) return error(404, 5, 50002, 'Instrument not found');
    if (instrument !== true && !instrument.apiTradeAvailableFlag) {
      return error(400, 3, 30052, 'Instrument forbidden for trading by API');
    }
    const orderId = String(Date.now()) + String(orders.length).padStart(4, '0');
    orders.push({
      orderId,
      orderRequestId: body.orderId,
      api: 'v2',
      accountId: body.accountId,
      instrumentId: body.instrumentId,
      direction: body.direction === 'ORDER_DIRECTION_BUY' ? 'buy' : 'sell',
      lots,
      price,
      placedAt: new Date().toISOString(),
    });
    return {
      status: 200,
      body: {
        orderId,
        orderRequestId: body.orderId,
        executionReportStatus: 'EXECUTION_REPORT_STATUS_NEW',
        lotsRequested: body.quantity,
        lotsExecuted: '0',
        figi: body.instrumentId,
        direction: body.direction,
        orderType: body.orderType,
        message: '',
        instrumentUid: randomUUID(),
      },
    };
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
      placedAt: new Date().toISOString(),
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
  const getOrderState = (request: BrokerRequest): JsonAnswer => {
    const accounts = accountsOf(request);
    if (accounts === undefined) return error(401, 16, 40003, 'Authentication token is missing or invalid');
    const parsed = GetOrderStateBodySchema.safeParse(request.json);
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
    if (order === undefined) return error(404, 5, 50005, 'Order not found');
    return {
      status: 200,
      body: {
        orderId: order.orderId,
        orderRequestId: order.orderRequestId,
        executionReportStatus: 'EXECUTION_REPORT_STATUS_NEW',
        lotsRequested: String(order.lots),
        lotsExecuted: '0',
        figi: order.instrumentId,
        direction: order.direction === 'buy' ? 'ORDER_DIRECTION_BUY' : 'ORDER_DIRECTION_SELL',
        orderType: 'ORDER_TYPE_LIMIT',
        orderDate: order.placedAt,
      },
    };
  };

  /** An instrument by FIGI, uid, or ticker within a class code (which the ticker needs: 30013 without it). */
  const getInstrumentBy = (request: BrokerRequest): JsonAnswer => {
    if (accountsOf(request) === undefined) return error(401, 16, 40003, 'Authentication token is missing or invalid');
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
    return { status: 200, body: { instrument: instrumentToWire(instrument) } };
  };

  const routes: Route[] = [
    { name: 'order', method: 'POST', path: POST_ORDER_PATH, handle: postOrder },
    { name: 'order-state', method: 'POST', path: GET_ORDER_STATE_PATH, handle: getOrderState },
    { name: 'instrument', method: 'POST', path: GET_INSTRUMENT_BY_PATH, handle: getInstrumentBy },
    { name: 'v1-order', method: 'POST', path: V1_LIMIT_ORDER_PATH, handle: v1LimitOrder },
  ];
  const server = await startPaperServer(routes, options.port);
  return Object.assign(server, { orders, v2Url: `${server.url}${TINKOFF_V2_PREFIX}` });
}
