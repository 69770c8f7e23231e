import { quotationToDecimal } from '../../decimal.ts';
import * as z from '../../zod.ts';

/**
 * T-Invest wire formats: API v2 REST gateway (docs/broker-specs/tinvest-v2-openapi.yaml) and the retired
 * v1 REST API (docs/broker-specs/tinkoff-openapi-v1-swagger.yaml).
 */

export const QuotationSchema = z.strictObject({
  units: z.string().check(z.regex(/^-?\d{1,19}$/)),
  nano: z.int().check(z.gte(-999_999_999), z.lte(999_999_999)),
});

/** `v1PostOrderRequest`, the fields we send. */
export const PostOrderRequestSchema = z.strictObject({
  instrumentId: z.string().check(z.minLength(1)),
  quantity: z.string().check(z.regex(/^\d{1,19}$/)),
  price: QuotationSchema,
  direction: z.enum(['ORDER_DIRECTION_BUY', 'ORDER_DIRECTION_SELL']),
  accountId: z.string().check(z.minLength(1)),
  orderType: z.literal('ORDER_TYPE_LIMIT'),
  orderId: z.uuid(),
});
export type PostOrderRequest = z.infer<typeof PostOrderRequestSchema>;

/** `v1PostOrderResponse`, the fields we read. */
export const PostOrderResponseSchema = z.object({
  orderId: z.optional(z.string()),
  executionReportStatus: z.string(),
  message: z.optional(z.string()),
});

/**
 * `v1GetOrderStateRequest`: the order a duplicate refers to is looked up by our idempotency key (a UUID); a follow-up
 * looks its order up by the broker's id (`ORDER_ID_TYPE_EXCHANGE`).
 */
export const GetOrderStateRequestSchema = z.discriminatedUnion('orderIdType', [
  z.strictObject({
    accountId: z.string().check(z.minLength(1)),
    orderId: z.uuid(),
    orderIdType: z.literal('ORDER_ID_TYPE_REQUEST'),
  }),
  z.strictObject({
    accountId: z.string().check(z.minLength(1)),
    orderId: z.string().check(z.minLength(1)),
    orderIdType: z.literal('ORDER_ID_TYPE_EXCHANGE'),
  }),
]);
export type GetOrderStateRequest = z.infer<typeof GetOrderStateRequestSchema>;

/** `contractv1OrderState`, the fields we read; the lot counts are int64, so strings. */
const LotCountSchema = z.pipe(
  z.string().check(z.regex(/^\d+$/)),
  z.transform((lots: string) => Number(lots)),
);
export const OrderStateSchema = z.object({
  orderId: z.optional(z.string()),
  executionReportStatus: z.string(),
  lotsRequested: z.optional(LotCountSchema),
  lotsExecuted: z.optional(LotCountSchema),
});

/** `ErrorResponse`: `description` is the catalogue code (docs/broker-specs/tinvest-v2-api_errors.json), a number or a numeric string. */
export const ErrorResponseSchema = z.object({
  code: z.optional(z.int()),
  message: z.optional(z.string()),
  description: z.optional(
    z.pipe(
      z.union([z.number(), z.string()]),
      z.transform((code: number | string) => String(code)),
    ),
  ),
});

/** `v1GetAccountsRequest`: no status filter, so every account the token reaches, closed ones too. */
export const GetAccountsRequestSchema = z.strictObject({});
export type GetAccountsRequest = z.infer<typeof GetAccountsRequestSchema>;

/** `v1GetInfoRequest`: empty. */
export const GetInfoRequestSchema = z.strictObject({});

/**
 * `v1InstrumentRequest`, the two ways we send it: a signal's ticker within a class code (an order without `f`), or a
 * FIGI or instrument uid (what `f` names, checked by the preflight).
 */
export const InstrumentRequestSchema = z.union([
  z.strictObject({
    idType: z.literal('INSTRUMENT_ID_TYPE_TICKER'),
    classCode: z.string().check(z.minLength(1)),
    id: z.string().check(z.minLength(1)),
  }),
  z.strictObject({
    idType: z.enum(['INSTRUMENT_ID_TYPE_FIGI', 'INSTRUMENT_ID_TYPE_UID']),
    id: z.string().check(z.minLength(1)),
  }),
]);
export type InstrumentRequest = z.infer<typeof InstrumentRequestSchema>;

/**
 * `v1Instrument`, the fields the order lookup and the preflight read; proto3 JSON leaves out a field that holds its
 * default, so an absent flag is false. The uid is what PostOrder gets for an order without `f`.
 */
export const InstrumentSchema = z.object({
  uid: z.string().check(z.minLength(1)),
  figi: z._default(z.string(), ''),
  ticker: z._default(z.string(), ''),
  name: z._default(z.string(), ''),
  lot: z._default(z.int(), 0),
  /** The price's currency (`rub`) and the kind (`share`, `etf`, `bond`, `futures`, …): what sizing in roubles can read. */
  currency: z.optional(z.string()),
  instrumentType: z.optional(z.string()),
  apiTradeAvailableFlag: z._default(z.boolean(), false),
  buyAvailableFlag: z._default(z.boolean(), false),
  sellAvailableFlag: z._default(z.boolean(), false),
  forQualInvestorFlag: z._default(z.boolean(), false),
  /** The price step protective prices are rounded to; absent: none known. */
  minPriceIncrement: z.optional(z.object({ units: z._default(z.string(), '0'), nano: z._default(z.int(), 0) })),
});
export type Instrument = z.infer<typeof InstrumentSchema>;

/** `v1InstrumentResponse`. */
export const InstrumentResponseSchema = z.object({ instrument: InstrumentSchema });

/** `LimitOrderRequest` (v1). */
export const V1LimitOrderRequestSchema = z.strictObject({
  lots: z.int().check(z.gte(1), z.lte(2_147_483_647)),
  operation: z.enum(['Buy', 'Sell']),
  price: z.number().check(z.positive()),
});
export type V1LimitOrderRequest = z.infer<typeof V1LimitOrderRequestSchema>;

/** `LimitOrderResponse` and `Error` (v1) share the envelope `{ trackingId, status, payload }`. */
export const V1ResponseSchema = z.object({
  status: z.string(),
  payload: z.optional(
    z.object({ orderId: z.optional(z.string()), status: z.optional(z.string()), message: z.optional(z.string()) }),
  ),
});

/** `v1PostOrderRequest` as a v2 signal sends it: any order type, the price of a limit only, a time in force. */
export const SignalPostOrderRequestSchema = z.strictObject({
  instrumentId: z.string().check(z.minLength(1)),
  quantity: z.string().check(z.regex(/^\d{1,19}$/)),
  price: z.optional(QuotationSchema),
  direction: z.enum(['ORDER_DIRECTION_BUY', 'ORDER_DIRECTION_SELL']),
  accountId: z.string().check(z.minLength(1)),
  orderType: z.enum(['ORDER_TYPE_LIMIT', 'ORDER_TYPE_MARKET', 'ORDER_TYPE_BESTPRICE']),
  orderId: z.uuid(),
  timeInForce: z.optional(z.enum(['TIME_IN_FORCE_DAY', 'TIME_IN_FORCE_FILL_AND_KILL', 'TIME_IN_FORCE_FILL_OR_KILL'])),
});
export type SignalPostOrderRequest = z.infer<typeof SignalPostOrderRequestSchema>;

/** `v1PositionsRequest` (`OperationsService/GetPositions`). */
export const PositionsRequestSchema = z.strictObject({ accountId: z.string().check(z.minLength(1)) });
export type PositionsRequest = z.infer<typeof PositionsRequestSchema>;

/** An int64 count as the REST gateway writes it (a string), read as a number. */
const Int64Schema = z.pipe(
  z.string().check(z.regex(/^-?\d{1,19}$/)),
  z.transform((count: string) => Number(count)),
);

/**
 * `v1PositionsSecurities` and `v1PositionsFutures`, the fields read: pieces (`balance` free, `blocked` by active
 * orders), and the instrument's FIGI and uid.
 */
const PositionBalanceSchema = z.object({
  figi: z.optional(z.string()),
  instrumentUid: z.optional(z.string()),
  balance: z._default(Int64Schema, 0),
  blocked: z._default(Int64Schema, 0),
});

/** `v1PositionsResponse`: proto3 JSON leaves an empty list out. */
export const PositionsResponseSchema = z.object({
  securities: z._default(z.array(PositionBalanceSchema), []),
  futures: z._default(z.array(PositionBalanceSchema), []),
});

/** `v1GetOrdersRequest` (`OrdersService/GetOrders`): the account's active orders. */
export const GetOrdersRequestSchema = z.strictObject({ accountId: z.string().check(z.minLength(1)) });
export type GetOrdersRequest = z.infer<typeof GetOrdersRequestSchema>;

/** `v1GetOrdersResponse`: `contractv1OrderState` of each active order, the fields read. */
export const GetOrdersResponseSchema = z.object({
  orders: z._default(
    z.array(
      z.object({
        orderId: z.string(),
        orderRequestId: z.optional(z.string()),
        executionReportStatus: z.string(),
        lotsRequested: z._default(Int64Schema, 0),
        lotsExecuted: z._default(Int64Schema, 0),
        direction: z.enum(['ORDER_DIRECTION_UNSPECIFIED', 'ORDER_DIRECTION_BUY', 'ORDER_DIRECTION_SELL']),
        figi: z.optional(z.string()),
        instrumentUid: z.optional(z.string()),
      }),
    ),
    [],
  ),
});

/** `v1CancelOrderRequest`: one order, by the exchange's id. */
export const CancelOrderRequestSchema = z.strictObject({
  accountId: z.string().check(z.minLength(1)),
  orderId: z.string().check(z.minLength(1)),
  orderIdType: z.literal('ORDER_ID_TYPE_EXCHANGE'),
});
export type CancelOrderRequest = z.infer<typeof CancelOrderRequestSchema>;

/** `v1CancelOrderResponse`: the time of the cancel. */
export const CancelOrderResponseSchema = z.object({ time: z.optional(z.string()) });

/** `v1Quotation` as the REST gateway writes it: int64 `units` as a string, `nano` an int32 (either may be left out). */
const QuotationValueSchema = z.object({
  units: z._default(z.string().check(z.regex(/^-?\d{1,19}$/)), '0'),
  nano: z._default(z.int(), 0),
});
/** `v1MoneyValue`: a `v1Quotation` with its currency. */
const MoneyValueSchema = z.extend(QuotationValueSchema, { currency: z._default(z.string(), '') });

/** A `Quotation` or `MoneyValue` as a number: exact enough for sizing and limits (15 significant digits). */
export function quotationToNumber(value: { units: string; nano: number } | undefined): number {
  return value === undefined ? 0 : Number(value.units) + value.nano / 1e9;
}

/** `v1GetTradingStatusRequest` (`MarketDataService/GetTradingStatus`): the instrument's uid or FIGI. */
export const TradingStatusRequestSchema = z.strictObject({ instrumentId: z.string().check(z.minLength(1)) });
export type TradingStatusRequest = z.infer<typeof TradingStatusRequestSchema>;

/** `v1GetTradingStatusResponse`, the fields read; proto3 JSON leaves a `false` flag out. */
export const TradingStatusResponseSchema = z.object({
  tradingStatus: z._default(z.string(), 'SECURITY_TRADING_STATUS_UNSPECIFIED'),
  limitOrderAvailableFlag: z._default(z.boolean(), false),
  marketOrderAvailableFlag: z._default(z.boolean(), false),
  apiTradeAvailableFlag: z._default(z.boolean(), false),
  bestpriceOrderAvailableFlag: z._default(z.boolean(), false),
});

/** `v1PortfolioRequest` (`OperationsService/GetPortfolio`): the account, valued in roubles. */
export const PortfolioRequestSchema = z.strictObject({
  accountId: z.string().check(z.minLength(1)),
  currency: z.literal('RUB'),
});
export type PortfolioRequest = z.infer<typeof PortfolioRequestSchema>;

/** `v1PortfolioResponse`, the fields read: the portfolio's value, the day's result in roubles and in percent. */
export const PortfolioResponseSchema = z.object({
  totalAmountPortfolio: z.optional(MoneyValueSchema),
  dailyYield: z.optional(MoneyValueSchema),
  dailyYieldRelative: z.optional(QuotationValueSchema),
});

/** `v1GetMaxLotsRequest` (`OrdersService/GetMaxLots`): the price of a limit order; without it, the order book's. */
export const MaxLotsRequestSchema = z.strictObject({
  accountId: z.string().check(z.minLength(1)),
  instrumentId: z.string().check(z.minLength(1)),
  price: z.optional(QuotationSchema),
});
export type MaxLotsRequest = z.infer<typeof MaxLotsRequestSchema>;

/** `v1GetMaxLotsResponse`, the fields read: the lots the account's own money buys and its holdings sell. */
export const MaxLotsResponseSchema = z.object({
  currency: z._default(z.string(), ''),
  buyLimits: z._default(
    z.object({
      buyMaxLots: z._default(Int64Schema, 0),
      buyMaxMarketLots: z._default(Int64Schema, 0),
    }),
    { buyMaxLots: 0, buyMaxMarketLots: 0 },
  ),
  sellLimits: z._default(z.object({ sellMaxLots: z._default(Int64Schema, 0) }), { sellMaxLots: 0 }),
});

/** `v1GetLastPricesRequest` (`MarketDataService/GetLastPrices`): one instrument. */
export const LastPricesRequestSchema = z.strictObject({
  instrumentId: z.array(z.string().check(z.minLength(1))).check(z.length(1)),
});
export type LastPricesRequest = z.infer<typeof LastPricesRequestSchema>;

/** `v1GetLastPricesResponse`, the fields read. */
export const LastPricesResponseSchema = z.object({
  lastPrices: z._default(z.array(z.object({ price: z.optional(QuotationValueSchema) })), []),
});

/** A `MoneyValue` or `Quotation` as the REST gateway writes it, read as a canonical decimal. */
const PriceValueSchema = z.pipe(QuotationValueSchema, z.transform(quotationToDecimal));

/**
 * `v1PostOrderResponse` and `contractv1OrderState`: what an order filled, read for its protection: lots and the
 * average price of one instrument (`executedOrderPrice`).
 */
export const OrderFillSchema = z.object({
  orderId: z.optional(z.string()),
  executionReportStatus: z.string(),
  lotsRequested: z._default(Int64Schema, 0),
  lotsExecuted: z._default(Int64Schema, 0),
  executedOrderPrice: z.optional(PriceValueSchema),
});
export type OrderFill = z.infer<typeof OrderFillSchema>;

/** `v1StopOrderDirection`, `v1StopOrderType`, `v1TakeProfitType`, `v1TrailingValueType`. */
const StopDirectionSchema = z.enum(['STOP_ORDER_DIRECTION_BUY', 'STOP_ORDER_DIRECTION_SELL']);

/**
 * `v1PostStopOrderRequest` (`StopOrdersService/PostStopOrder`), the fields a protective order sends: a stop-loss or a
 * take-profit (regular or trailing) sent as a market order on its trigger, good till cancelled, keyed by `orderId`.
 */
export const PostStopOrderRequestSchema = z.strictObject({
  instrumentId: z.string().check(z.minLength(1)),
  quantity: z.string().check(z.regex(/^\d{1,19}$/)),
  stopPrice: QuotationSchema,
  direction: StopDirectionSchema,
  accountId: z.string().check(z.minLength(1)),
  expirationType: z.literal('STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_CANCEL'),
  stopOrderType: z.enum(['STOP_ORDER_TYPE_TAKE_PROFIT', 'STOP_ORDER_TYPE_STOP_LOSS']),
  exchangeOrderType: z.literal('EXCHANGE_ORDER_TYPE_MARKET'),
  takeProfitType: z.optional(z.enum(['TAKE_PROFIT_TYPE_REGULAR', 'TAKE_PROFIT_TYPE_TRAILING'])),
  trailingData: z.optional(
    z.strictObject({
      indent: QuotationSchema,
      indentType: z.enum(['TRAILING_VALUE_ABSOLUTE', 'TRAILING_VALUE_RELATIVE']),
      /** The catalogue requires a spread and its type with a trailing order (30210, 30212): zero, of a market order. */
      spread: QuotationSchema,
      spreadType: z.enum(['TRAILING_VALUE_ABSOLUTE', 'TRAILING_VALUE_RELATIVE']),
    }),
  ),
  orderId: z.uuid(),
});
export type PostStopOrderRequest = z.infer<typeof PostStopOrderRequestSchema>;

/** `v1PostStopOrderResponse`: the stop order's id. */
export const PostStopOrderResponseSchema = z.object({ stopOrderId: z.string().check(z.minLength(1)) });

/** `v1GetStopOrdersRequest`: the account's stop orders, active ones by default, or of a status since `from`. */
export const GetStopOrdersRequestSchema = z.strictObject({
  accountId: z.string().check(z.minLength(1)),
  status: z.optional(z.enum(['STOP_ORDER_STATUS_ALL', 'STOP_ORDER_STATUS_ACTIVE'])),
  from: z.optional(z.string()),
});
export type GetStopOrdersRequest = z.infer<typeof GetStopOrdersRequestSchema>;

/** `v1StopOrder`, the fields read. */
export const StopOrderSchema = z.object({
  stopOrderId: z.string(),
  lotsRequested: z._default(Int64Schema, 0),
  figi: z.optional(z.string()),
  instrumentUid: z.optional(z.string()),
  direction: z._default(z.string(), 'STOP_ORDER_DIRECTION_UNSPECIFIED'),
  orderType: z._default(z.string(), 'STOP_ORDER_TYPE_UNSPECIFIED'),
  status: z._default(z.string(), 'STOP_ORDER_STATUS_UNSPECIFIED'),
  stopPrice: z.optional(PriceValueSchema),
  exchangeOrderId: z.optional(z.string()),
});
export type StopOrder = z.infer<typeof StopOrderSchema>;

/** `v1GetStopOrdersResponse`. */
export const GetStopOrdersResponseSchema = z.object({ stopOrders: z._default(z.array(StopOrderSchema), []) });

/** `v1CancelStopOrderRequest`. */
export const CancelStopOrderRequestSchema = z.strictObject({
  accountId: z.string().check(z.minLength(1)),
  stopOrderId: z.string().check(z.minLength(1)),
});
export type CancelStopOrderRequest = z.infer<typeof CancelStopOrderRequestSchema>;
