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

/** `v1GetOrderStateRequest`: the order is looked up by our idempotency key. */
export const GetOrderStateRequestSchema = z.strictObject({
  accountId: z.string().min(1),
  orderId: z.uuid(),
  orderIdType: z.literal('ORDER_ID_TYPE_REQUEST'),
});
export type GetOrderStateRequest = z.infer<typeof GetOrderStateRequestSchema>;

/** `contractv1OrderState`, the fields we read. */
export const OrderStateSchema = z.object({
  orderId: z.string().optional(),
  executionReportStatus: z.string(),
});

/** `v1InstrumentRequest`, as we send it: an instrument by its ticker within a class code. */
export const InstrumentRequestSchema = z.strictObject({
  idType: z.literal('INSTRUMENT_ID_TYPE_TICKER'),
  classCode: z.string().min(1),
  id: z.string().min(1),
});
export type InstrumentRequest = z.infer<typeof InstrumentRequestSchema>;

/**
 * `v1InstrumentResponse` (`{ instrument: v1Instrument }`), the fields we read. Proto3 JSON may leave out a field that
 * holds its default, so a missing `apiTradeAvailableFlag` is `false`.
 */
export const InstrumentResponseSchema = z.object({
  instrument: z.object({
    uid: z.string().min(1),
    apiTradeAvailableFlag: z.boolean().optional(),
  }),
});

/** `ErrorResponse`: `description` is the catalogue code (docs/broker-specs/tinvest-v2-api_errors.json), a number or a numeric string. */
export const ErrorResponseSchema = z.object({
  code: z.number().int().optional(),
  message: z.string().optional(),
  description: z.union([z.number(), z.string()]).transform(String).optional(),
});

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
