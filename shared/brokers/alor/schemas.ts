import * as z from '../../zod.ts';

/** Alor wire formats, per docs/broker-specs/alor-WarpOpenAPIv2.yml. */

/** `POST /refresh` → `{ AccessToken }`. */
export const AlorRefreshResponseSchema = z.object({ AccessToken: z.string().check(z.minLength(1)) });

/** The JWT payload fields we rely on; `exp` is seconds since the epoch. */
export const JwtClaimsSchema = z.object({ exp: z.number() });

/** `OrdersActionsLimitTVPost` request body. */
export const AlorLimitOrderRequestSchema = z.strictObject({
  side: z.enum(['buy', 'sell']),
  quantity: z.int().check(z.gte(1), z.lte(2_147_483_647)),
  price: z.number().check(z.positive()),
  instrument: z.strictObject({ symbol: z.string().check(z.minLength(1)), exchange: z.enum(['MOEX', 'SPBX']) }),
  user: z.strictObject({ portfolio: z.string().check(z.minLength(1)) }),
});
export type AlorLimitOrderRequest = z.infer<typeof AlorLimitOrderRequestSchema>;

const OrderNumberSchema = z.pipe(
  z.union([z.string(), z.number()]),
  z.transform((id: string | number) => String(id)),
);

/** `response_OrderActionLimitMarket_CommandAPI`: 200 `{ message: "success", orderNumber }`. */
export const AlorOrderResponseSchema = z.object({
  message: z.string(),
  orderNumber: z.optional(OrderNumberSchema),
});

/** The replayed first answer: `body` may arrive as an object or as a JSON string. */
const PartialOrderResponseSchema = z.partial(AlorOrderResponseSchema);
const OldResponseBodySchema = z.union([
  PartialOrderResponseSchema,
  z.pipe(
    z.string(),
    z.transform((text: string, ctx) => {
      try {
        return PartialOrderResponseSchema.parse(JSON.parse(text));
      } catch {
        ctx.issues.push({ code: 'custom', message: 'oldResponse.body is not the documented JSON', input: text });
        return z.NEVER;
      }
    }),
  ),
]);

/** `response_OrderActionCode400_CommandAPI`: a refusal, or an "already handled" replay with `oldResponse`. */
export const AlorOrderErrorSchema = z.object({
  message: z.optional(z.string()),
  oldResponse: z.optional(z.object({ statusCode: z.int(), body: OldResponseBodySchema })),
});

/**
 * `GET /md/v2/Clients/{exchange}/{portfolio}/orders/{orderId}` (`response_Order_Simple`), the fields we read: the
 * status, and lots asked for and filled (`qty`/`filled`, in lots).
 */
export const AlorOrderStateSchema = z.object({
  id: z.optional(OrderNumberSchema),
  status: z.enum(['working', 'filled', 'canceled', 'rejected']),
  qty: z.optional(z.number()),
  filled: z.optional(z.number()),
});

/**
 * `MdV2ClientsExchangePortfolioSummaryGet` answers `response_Summary_Simple`: the preflight reads it to see it is one;
 * the guards and sizing read the portfolio's value (`portfolioLiquidationValue`) and the day's result (`profit`,
 * `profitRate` in percent).
 */
export const AlorPortfolioSummarySchema = z.object({
  buyingPower: z.optional(z.number()),
  profit: z.optional(z.number()),
  profitRate: z.optional(z.number()),
  portfolioLiquidationValue: z.optional(z.number()),
});

/** `MdV2SecuritiesExchangeSymbolGet` answers `response_Security_Simple`: the fields the preflight shows. */
export const AlorSecuritySchema = z.object({
  symbol: z.string(),
  shortname: z.optional(z.string()),
  lotsize: z.optional(z.number()),
  /** `field_CurrencyCode`: what sizing in roubles reads. */
  currency: z.optional(z.nullable(z.string())),
  /** `field_PriceMinimalStep`: the price step protective prices are rounded to. */
  minstep: z.optional(z.number()),
  /** `field_TradingStatusCode`: 18 is "no trading / trading closed". */
  tradingStatus: z.optional(z.int()),
  tradingStatusInfo: z.optional(z.nullable(z.string())),
});
export type AlorSecurity = z.infer<typeof AlorSecuritySchema>;

/** `OrdersActionsMarketTV` request body: a market order, the fields we send. */
export const AlorMarketOrderRequestSchema = z.strictObject({
  side: z.enum(['buy', 'sell']),
  quantity: z.int().check(z.gte(1), z.lte(2_147_483_647)),
  instrument: z.strictObject({ symbol: z.string().check(z.minLength(1)), exchange: z.enum(['MOEX', 'SPBX']) }),
  comment: z.string().check(z.maxLength(100)),
  user: z.strictObject({ portfolio: z.string().check(z.minLength(1)) }),
  timeInForce: z.optional(z.enum(['oneday', 'immediateorcancel', 'fillorkill', 'goodtillcancelled'])),
});
export type AlorMarketOrderRequest = z.infer<typeof AlorMarketOrderRequestSchema>;

/** `OrdersActionsLimitTVPost` as a v2 signal sends it: today's fields, its key in `comment`, and a time in force. */
export const AlorSignalLimitOrderRequestSchema = z.extend(AlorLimitOrderRequestSchema, {
  comment: z.string().check(z.maxLength(100)),
  timeInForce: z.optional(z.enum(['oneday', 'immediateorcancel', 'fillorkill', 'goodtillcancelled'])),
});
export type AlorSignalLimitOrderRequest = z.infer<typeof AlorSignalLimitOrderRequestSchema>;

/**
 * `MdV2ClientsExchangePortfolioPositionsSymbolGet` answers `response_Position_Simple`: the fields the position read
 * needs, `qty` in lots (`field_QuantityBatchAgregated`, a decimal), `qtyUnits` in pieces, `lotSize`.
 */
export const AlorPositionSchema = z.object({
  symbol: z.optional(z.string()),
  qty: z.number(),
  qtyUnits: z.optional(z.number()),
  lotSize: z.optional(z.number()),
});

/** The fields an order and a stop order answer alike, as the state reads use them. */
const ORDER_LISTING_FIELDS = {
  id: OrderNumberSchema,
  symbol: z.string(),
  exchange: z.optional(z.string()),
  comment: z.optional(z.nullable(z.string())),
  side: z.enum(['buy', 'sell']),
  status: z.enum(['working', 'filled', 'canceled', 'rejected']),
  qty: z.number(),
};

/** `MdV2ClientsExchangePortfolioOrdersGet` answers `response_Orders_Simple`: every order of the day, the fields read. */
export const AlorOrdersSchema = z.array(
  z.object({
    ...ORDER_LISTING_FIELDS,
    filled: z.optional(z.number()),
  }),
);
export type AlorOrders = z.infer<typeof AlorOrdersSchema>;

/** The 400 of `CommandapiWarptransTradeV2ClientOrdersOrderIdDelete`: `code` (`OrderToCancelNotFound (404)`), `message`. */
export const AlorCancelErrorSchema = z.object({ code: z.optional(z.string()), message: z.optional(z.string()) });

/** `object_EstimateOrder` (`CommandapiWarptransTradeV2ClientOrdersEstimatePost`): one lot, at the limit price or the market's. */
export const AlorEstimateRequestSchema = z.strictObject({
  portfolio: z.string().check(z.minLength(1)),
  ticker: z.string().check(z.minLength(1)),
  exchange: z.enum(['MOEX', 'SPBX']),
  price: z.optional(z.number().check(z.positive())),
  lotQuantity: z.literal(1),
  includeLimitOrders: z.literal(true),
});
export type AlorEstimateRequest = z.infer<typeof AlorEstimateRequestSchema>;

/** `response_EstimateOrder`, the fields read: one lot's cost, and the lots the account's own money buys and holdings sell. */
export const AlorEstimateSchema = z.object({
  orderEvaluation: z.number(),
  notMarginQuantityToBuy: z._default(z.number(), 0),
  notMarginQuantityToSell: z._default(z.number(), 0),
});

/** `field_ExecutionCondition`: when a stop order triggers, against the last price. */
export const ALOR_CONDITIONS = ['more', 'less', 'moreorequal', 'lessorequal'] as const;

/**
 * `OrdersActionsStopMarketTVWarp` (`POST …/actions/stop`), the fields a protective order sends: a market order on its
 * trigger, created inactive (`activate: false`) for a group of `TriggerBracketOrders`, its key in `comment`.
 */
export const AlorStopOrderRequestSchema = z.strictObject({
  side: z.enum(['buy', 'sell']),
  condition: z.enum(ALOR_CONDITIONS),
  triggerPrice: z.number().check(z.positive()),
  quantity: z.int().check(z.gte(1), z.lte(2_147_483_647)),
  instrument: z.strictObject({ symbol: z.string().check(z.minLength(1)), exchange: z.enum(['MOEX', 'SPBX']) }),
  user: z.strictObject({ portfolio: z.string().check(z.minLength(1)) }),
  comment: z.string().check(z.maxLength(100)),
  activate: z.boolean(),
});
export type AlorStopOrderRequest = z.infer<typeof AlorStopOrderRequestSchema>;

/** `field_ExecutionPolicy`. */
export const ALOR_EXECUTION_POLICIES = ['OnExecuteOrCancel', 'IgnoreCancel', 'TriggerBracketOrders'] as const;
export type AlorExecutionPolicy = (typeof ALOR_EXECUTION_POLICIES)[number];

/** `OrderGroupCreate` (`POST /commandapi/api/orderGroups`): orders placed before, linked on Alor's servers. */
export const AlorOrderGroupRequestSchema = z.strictObject({
  orders: z.array(
    z.strictObject({
      portfolio: z.string().check(z.minLength(1)),
      exchange: z.enum(['MOEX', 'SPBX']),
      orderId: z.string().check(z.minLength(1)),
      type: z.enum(['Limit', 'Market', 'Stop', 'StopLimit']),
    }),
  ),
  executionPolicy: z.enum(ALOR_EXECUTION_POLICIES),
});
export type AlorOrderGroupRequest = z.infer<typeof AlorOrderGroupRequestSchema>;

/** `response_OrderGroupCreationSuccess`, and `response_OrderGroupCreationError` (`detail`) of a 400. */
export const AlorOrderGroupResponseSchema = z.object({
  message: z.optional(z.string()),
  groupId: z.optional(z.string()),
  detail: z.optional(z.string()),
});

/** `MdV2ClientsExchangePortfolioStopOrdersGet` answers `response_StopOrders_Warp_Simple`: the fields read. */
export const AlorStopOrdersSchema = z.array(
  z.object({
    ...ORDER_LISTING_FIELDS,
    stopPrice: z.optional(z.number()),
  }),
);

/** `MdV2ClientsExchangePortfolioSymbolTradesGet` answers `response_Trade_Simple` items: the fields read. */
export const AlorTradesSchema = z.array(
  z.object({
    orderno: z.optional(z.nullable(OrderNumberSchema)),
    qty: z.number(),
    price: z.number(),
  }),
);
