import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { nextOrderState, type OrderStateChange, type PaperOrderStatus } from './order-state.ts';
import { type BrokerRequest, type JsonAnswer, type PaperServer, type Route, startPaperServer } from './server.ts';

/**
 * A paper T-Invest: API v2 REST `OrdersService/PostOrder` under `/rest`, and the retired v1
 * `/openapi/orders/limit-order`, checked against docs/broker-specs/tinvest-v2-openapi.yaml and
 * tinkoff-openapi-v1-swagger.yaml. Errors carry the catalogue codes of tinvest-v2-api_errors.json.
 * A repeated `orderId` places no second order and gets the first answer again.
 */

export const TINKOFF_V2_PREFIX = '/rest';
export const POST_ORDER_PATH = `${TINKOFF_V2_PREFIX}/tinkoff.public.invest.api.contract.v1.OrdersService/PostOrder`;
export const GET_ORDER_STATE_PATH = `${TINKOFF_V2_PREFIX}/tinkoff.public.invest.api.contract.v1.OrdersService/GetOrderState`;
export const V1_LIMIT_ORDER_PATH = '/openapi/orders/limit-order';

export interface TinkoffPaperOptions {
  /** Trading token → the account ids it may trade. */
  readonly accounts: Readonly<Record<string, readonly string[]>>;
  /** Known instruments: FIGI or instrument uid → ticker; any instrument when absent. */
  readonly instruments?: Readonly<Record<string, string>>;
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

export interface TinkoffPaperBroker extends PaperServer {
  readonly orders: readonly TinkoffPaperOrder[];
  /** Fills, partly fills, rejects or cancels an order by its id; an error text when it cannot. */
  setOrderState(orderId: string, change: OrderStateChange): string | undefined;
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

/** `LimitOrderRequest` (v1). */
const V1BodySchema = z.strictObject({
  lots: z.number().int().min(1).max(2_147_483_647),
  operation: z.enum(['Buy', 'Sell']),
  price: z.number(),
});

function error(status: number, code: number, description: number, message: string): JsonAnswer {
  return { status, body: { code, message, description } };
}

function quotationToDecimal(units: string, nano: number): string {
  const fraction = String(nano).padStart(9, '0').replace(/0+$/, '');
  return fraction === '' ? units : `${units}.${fraction}`;
}

export async function startTinkoffPaperBroker(options: TinkoffPaperOptions): Promise<TinkoffPaperBroker> {
  const orders: TinkoffPaperOrder[] = [];
  const firstAnswers = new Map<string, JsonAnswer>();

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
    if (options.instruments !== undefined && !(body.instrumentId in options.instruments)) {
      return error(404, 5, 50002, 'Instrument not found');
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
      status: 'working',
      lotsExecuted: 0,
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
    if (options.instruments !== undefined && !(figi in options.instruments)) return refuse('Instrument not found');
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
        executionReportStatus: REPORT_STATUSES[order.status],
        lotsRequested: String(order.lots),
        lotsExecuted: String(order.lotsExecuted),
        figi: order.instrumentId,
        direction: order.direction === 'buy' ? 'ORDER_DIRECTION_BUY' : 'ORDER_DIRECTION_SELL',
        orderType: 'ORDER_TYPE_LIMIT',
        orderDate: order.placedAt,
      },
    };
  };

  const routes: Route[] = [
    { name: 'order', method: 'POST', path: POST_ORDER_PATH, handle: postOrder },
    { name: 'order-state', method: 'POST', path: GET_ORDER_STATE_PATH, handle: getOrderState },
    { name: 'v1-order', method: 'POST', path: V1_LIMIT_ORDER_PATH, handle: v1LimitOrder },
  ];
  const server = await startPaperServer(routes, options.port);
  return Object.assign(server, {
    orders,
    v2Url: `${server.url}${TINKOFF_V2_PREFIX}`,
    setOrderState: (orderId: string, change: OrderStateChange) => {
      const order = orders.find((candidate) => candidate.orderId === orderId);
      if (order === undefined) return `no order ${orderId}`;
      const next = nextOrderState(order.lots, change);
      if (!next.ok) return next.reason;
      order.status = next.state.status;
      order.lotsExecuted = next.state.filledLots;
      return undefined;
    },
  });
}
