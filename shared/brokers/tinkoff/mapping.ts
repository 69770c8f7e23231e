import { decimalToQuotation } from '../../decimal.ts';
import { BrokerCredentialRejectedError, BrokerUnavailableError } from '../../errors.ts';
import { parseJsonText } from '../../http/outbound/client.ts';
import type { TinkoffOrder } from '../../payload.ts';
import { type OrderState, orderState } from '../order-state.ts';
import { type OrderOutcome, refused } from '../outcome.ts';
import {
  ErrorResponseSchema,
  OrderStateSchema,
  type PostOrderRequest,
  PostOrderResponseSchema,
  type V1LimitOrderRequest,
  V1ResponseSchema,
} from './schemas.ts';

/** Pure translation between the webhook's order and T-Invest's wire formats (API v2 and v1), both ways. */

export const INVALID_TOKEN_MESSAGE = 'Неверный торговый токен';

/** Catalogue codes (docs/broker-specs/tinvest-v2-api_errors.json) the contract treats specially. */
const TOKEN_INVALID_CODE = '40003';
const DUPLICATE_ORDER_CODE = '30057';
const ORDER_NOT_FOUND_CODE = '50005';
const REFUSED_STATUSES = new Set(['EXECUTION_REPORT_STATUS_REJECTED', 'EXECUTION_REPORT_STATUS_CANCELLED']);

/** An order in T-Invest's terms: what names its `orderId` and what the log line shows. The ticker is not sent. */
export type TinkoffOrderTerms = Pick<TinkoffOrder, 'figi' | 'side' | 'lots' | 'price'>;

/** What a `PostOrder` answer says: an outcome, or that this `orderId` was sent before (error 30057). */
export type PostOrderResult = OrderOutcome | { readonly status: 'duplicate' };

/** T-Invest writes class suffixes with a dot: `BRK B` → `BRK.B` (first space only, as the original). */
export function tickerToTinkoffTicker(ticker: string): string {
  return ticker.replace(' ', '.');
}

export function orderToTinkoffTerms(order: TinkoffOrder): TinkoffOrderTerms {
  return { figi: order.figi, side: order.side, lots: order.lots, price: order.price };
}

export function orderToPostOrderRequest(
  terms: TinkoffOrderTerms,
  accountId: string,
  orderId: string,
): PostOrderRequest {
  return {
    instrumentId: terms.figi,
    quantity: String(terms.lots),
    price: decimalToQuotation(terms.price),
    direction: terms.side === 'buy' ? 'ORDER_DIRECTION_BUY' : 'ORDER_DIRECTION_SELL',
    accountId,
    orderType: 'ORDER_TYPE_LIMIT',
    orderId,
  };
}

export function orderToV1LimitOrder(terms: TinkoffOrderTerms): V1LimitOrderRequest {
  return { lots: terms.lots, operation: terms.side === 'buy' ? 'Buy' : 'Sell', price: Number(terms.price) };
}

function isClientError(statusCode: number): boolean {
  return statusCode >= 400 && statusCode < 500 && statusCode !== 408 && statusCode !== 429;
}

export function postOrderResponseToOutcome(statusCode: number, text: string): PostOrderResult {
  if (statusCode === 401) throw new BrokerCredentialRejectedError(400, INVALID_TOKEN_MESSAGE);
  const json = parseJsonText(text);
  if (statusCode === 200) {
    const parsed = PostOrderResponseSchema.safeParse(json);
    if (!parsed.success)
      throw new BrokerUnavailableError('PostOrder answer is not the documented JSON', { retriable: false });
    const { executionReportStatus, orderId, message } = parsed.data;
    return REFUSED_STATUSES.has(executionReportStatus)
      ? refused(message)
      : { status: 'placed', orderId, replayed: false };
  }
  if (!isClientError(statusCode))
    throw new BrokerUnavailableError(`PostOrder HTTP ${statusCode}`, { retriable: false });
  if (text.trim() === '') return refused(undefined);
  const parsed = ErrorResponseSchema.safeParse(json);
  if (!parsed.success)
    throw new BrokerUnavailableError(`PostOrder HTTP ${statusCode} without JSON`, { retriable: false });
  const { description, message } = parsed.data;
  if (description === TOKEN_INVALID_CODE) throw new BrokerCredentialRejectedError(400, INVALID_TOKEN_MESSAGE);
  if (description === DUPLICATE_ORDER_CODE) return { status: 'duplicate' };
  return refused(message);
}

/**
 * The outcome of a duplicate from its order state. No state means the outcome cannot be known (the first request
 * may have been refused, or still be on its way): 502, never a "200 OK" for an order that may not exist, and never
 * a refusal for one that may.
 */
export function orderStateResponseToOutcome(statusCode: number, text: string): OrderOutcome {
  if (statusCode === 401) throw new BrokerCredentialRejectedError(400, INVALID_TOKEN_MESSAGE);
  const json = parseJsonText(text);
  if (statusCode === 200) {
    const parsed = OrderStateSchema.safeParse(json);
    if (!parsed.success)
      throw new BrokerUnavailableError('GetOrderState answer is not the documented JSON', { retriable: false });
    return REFUSED_STATUSES.has(parsed.data.executionReportStatus)
      ? refused(undefined)
      : { status: 'placed', orderId: parsed.data.orderId, replayed: true };
  }
  const error = ErrorResponseSchema.safeParse(json);
  if (error.success && error.data.description === TOKEN_INVALID_CODE) {
    throw new BrokerCredentialRejectedError(400, INVALID_TOKEN_MESSAGE);
  }
  const detail = error.success && error.data.description === ORDER_NOT_FOUND_CODE ? 'not found' : `HTTP ${statusCode}`;
  throw new BrokerUnavailableError(`duplicate order, state ${detail}`, { retriable: false });
}

/** `executionReportStatus` in a follow-up's terms; `_UNSPECIFIED` (or a new status) is read as still working. */
const FOLLOW_UP_STATUSES: Readonly<Record<string, 'filled' | 'working' | 'rejected' | 'canceled'>> = {
  EXECUTION_REPORT_STATUS_FILL: 'filled',
  EXECUTION_REPORT_STATUS_PARTIALLYFILL: 'working',
  EXECUTION_REPORT_STATUS_NEW: 'working',
  EXECUTION_REPORT_STATUS_REJECTED: 'rejected',
  EXECUTION_REPORT_STATUS_CANCELLED: 'canceled',
};

/** The answer of a follow-up's `GetOrderState`: the order's state, or that T-Invest does not know it (50005). */
export function orderLookupResponseToState(statusCode: number, text: string): OrderState {
  if (statusCode === 401) throw new BrokerCredentialRejectedError(400, INVALID_TOKEN_MESSAGE);
  const json = parseJsonText(text);
  if (statusCode === 200) {
    const parsed = OrderStateSchema.safeParse(json);
    if (!parsed.success) {
      throw new BrokerUnavailableError('GetOrderState answer is not the documented JSON', { retriable: false });
    }
    const { executionReportStatus, lotsRequested, lotsExecuted } = parsed.data;
    return orderState(FOLLOW_UP_STATUSES[executionReportStatus] ?? 'working', lotsRequested, lotsExecuted);
  }
  const error = ErrorResponseSchema.safeParse(json);
  if (error.success && error.data.description === TOKEN_INVALID_CODE) {
    throw new BrokerCredentialRejectedError(400, INVALID_TOKEN_MESSAGE);
  }
  if (error.success && error.data.description === ORDER_NOT_FOUND_CODE) return { status: 'not-found' };
  throw new BrokerUnavailableError(`GetOrderState HTTP ${statusCode}`, { retriable: false });
}

export function v1ResponseToOutcome(statusCode: number, text: string): OrderOutcome {
  if (statusCode === 401) throw new BrokerCredentialRejectedError(400, INVALID_TOKEN_MESSAGE);
  const parsed = V1ResponseSchema.safeParse(parseJsonText(text));
  if (!parsed.success) throw new BrokerUnavailableError(`v1 HTTP ${statusCode} without JSON`, { retriable: false });
  const { status, payload } = parsed.data;
  // v1 answers business errors as HTTP 500 with `status: "Error"`: a refusal, not an outage.
  if (status.toLowerCase() === 'error') return refused(payload?.message);
  if (statusCode !== 200 || status.toLowerCase() !== 'ok' || payload === undefined) {
    throw new BrokerUnavailableError(`v1 HTTP ${statusCode}`, { retriable: false });
  }
  return payload.status?.toLowerCase() === 'rejected'
    ? refused(payload.message)
    : { status: 'placed', orderId: payload.orderId, replayed: false };
}
