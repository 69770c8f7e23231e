import * as z from 'zod';

/**
 * T-Invest wire formats: API v2 REST gateway (docs/broker-specs/tinvest-v2-openapi.yaml) and the retired
 * v1 REST API (docs/broker-specs/tinkoff-openapi-v1-swagger.yaml).
 */

export const QuotationSchema = z.strictObject({
  units: z.string().regex(/^-?\d{1,19}$/),
  nano: z.number().int().min(-999_999_999).max(999_999_999),
});

/** `v1PostOrderRequest`, the fields we send. */
export const PostOrderRequestSchema = z.strictObject({
  instrumentId: z.string().min(1),
  quantity: z.string().regex(/^\d{1,19}$/),
  price: QuotationSchema,
  direction: z.enum(['ORDER_DIRECTION_BUY', 'ORDER_DIRECTION_SELL']),
  accountId: z.string().min(1),
  orderType: z.literal('ORDER_TYPE_LIMIT'),
  orderId: z.uuid(),
});
export type PostOrderRequest = z.infer<typeof PostOrderRequestSchema>;

/** `v1PostOrderResponse`, the fields we read. */
export const PostOrderResponseSchema = z.object({
  orderId: z.string().optional(),
  executionReportStatus: z.string(),
  message: z.string().optional(),
});

/**
 * `v1GetOrderStateRequest`: the order a duplicate refers to is looked up by our idempotency key (a UUID); a follow-up
 * looks its order up by the broker's id (`ORDER_ID_TYPE_EXCHANGE`).
 */
export const GetOrderStateRequestSchema = z.discriminatedUnion('orderIdType', [
  z.strictObject({ accountId: z.string().min(1), orderId: z.uuid(), orderIdType: z.literal('ORDER_ID_TYPE_REQUEST') }),
  z.strictObject({
    accountId: z.string().min(1),
    orderId: z.string().min(1),
    orderIdType: z.literal('ORDER_ID_TYPE_EXCHANGE'),
  }),
]);
export type GetOrderStateRequest = z.infer<typeof GetOrderStateRequestSchema>;

/** `contractv1OrderState`, the fields we read; the lot counts are int64, so strings. */
export const OrderStateSchema = z.object({
  orderId: z.string().optional(),
  executionReportStatus: z.string(),
  lotsRequested: z.string().regex(/^\d+$/).transform(Number).optional(),
  lotsExecuted: z.string().regex(/^\d+$/).transform(Number).optional(),
});

/** `ErrorResponse`: `description` is the catalogue code (docs/broker-specs/tinvest-v2-api_errors.json), a number or a numeric string. */
export const ErrorResponseSchema = z.object({
  code: z.number().int().optional(),
  message: z.string().optional(),
  description: z.union([z.number(), z.string()]).transform(String).optional(),
});

/** `v1GetAccountsRequest`: no status filter, so every account the token reaches, closed ones too. */
export const GetAccountsRequestSchema = z.strictObject({});
export type GetAccountsRequest = z.infer<typeof GetAccountsRequestSchema>;

/** `v1Account`, the fields the preflight and `npm run secrets` show; the enums are open (the spec may add values). */
export const AccountSchema = z.object({
  id: z.string(),
  name: z.string().optional(),
  /** `v1AccountType`, e.g. `ACCOUNT_TYPE_TINKOFF`. */
  type: z.string().optional(),
  /** `v1AccountStatus`: `ACCOUNT_STATUS_OPEN` trades. */
  status: z.string().optional(),
  /** `v1AccessLevel`: `ACCOUNT_ACCESS_LEVEL_FULL_ACCESS` trades, `_READ_ONLY` does not. */
  accessLevel: z.string().optional(),
});
export type Account = z.infer<typeof AccountSchema>;

/** `v1GetAccountsResponse`. */
export const GetAccountsResponseSchema = z.object({ accounts: z.array(AccountSchema).default([]) });

/** `v1GetInfoRequest`: empty. */
export const GetInfoRequestSchema = z.strictObject({});

/** `v1GetInfoResponse`, the field the preflight reads: whether the user is a qualified investor. */
export const GetInfoResponseSchema = z.object({ qualStatus: z.boolean().default(false) });

/**
 * `v1InstrumentRequest`, the two ways we send it: a signal's ticker within a class code (an order without `f`), or a
 * FIGI or instrument uid (what `f` names, checked by the preflight).
 */
export const InstrumentRequestSchema = z.union([
  z.strictObject({
    idType: z.literal('INSTRUMENT_ID_TYPE_TICKER'),
    classCode: z.string().min(1),
    id: z.string().min(1),
  }),
  z.strictObject({
    idType: z.enum(['INSTRUMENT_ID_TYPE_FIGI', 'INSTRUMENT_ID_TYPE_UID']),
    id: z.string().min(1),
  }),
]);
export type InstrumentRequest = z.infer<typeof InstrumentRequestSchema>;

/**
 * `v1Instrument`, the fields the order lookup and the preflight read; proto3 JSON leaves out a field that holds its
 * default, so an absent flag is false. The uid is what PostOrder gets for an order without `f`.
 */
export const InstrumentSchema = z.object({
  uid: z.string().min(1),
  figi: z.string().default(''),
  ticker: z.string().default(''),
  name: z.string().default(''),
  lot: z.number().int().default(0),
  apiTradeAvailableFlag: z.boolean().default(false),
  buyAvailableFlag: z.boolean().default(false),
  sellAvailableFlag: z.boolean().default(false),
  forQualInvestorFlag: z.boolean().default(false),
});
export type Instrument = z.infer<typeof InstrumentSchema>;

/** `v1InstrumentResponse`. */
export const InstrumentResponseSchema = z.object({ instrument: InstrumentSchema });

/** `LimitOrderRequest` (v1). */
export const V1LimitOrderRequestSchema = z.strictObject({
  lots: z.number().int().min(1).max(2_147_483_647),
  operation: z.enum(['Buy', 'Sell']),
  price: z.number().finite().positive(),
});
export type V1LimitOrderRequest = z.infer<typeof V1LimitOrderRequestSchema>;

/** `LimitOrderResponse` and `Error` (v1) share the envelope `{ trackingId, status, payload }`. */
export const V1ResponseSchema = z.object({
  status: z.string(),
  payload: z
    .object({ orderId: z.string().optional(), status: z.string().optional(), message: z.string().optional() })
    .optional(),
});
