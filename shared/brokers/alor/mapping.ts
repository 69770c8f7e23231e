import { BrokerCredentialRejectedError, BrokerUnavailableError } from '../../errors.ts';
import { parseJsonText } from '../../http/outbound/client.ts';
import type { AlorOrder } from '../../payload.ts';
import { type OrderOutcome, refused } from '../outcome.ts';
import {
  type AlorLimitOrderRequest,
  AlorOrderErrorSchema,
  AlorOrderResponseSchema,
  AlorRefreshResponseSchema,
} from './schemas.ts';

/** Pure translation between the webhook's order and Alor's wire format, both ways. */

export const REFRESH_REJECTED_MESSAGE = 'Refresh-токен неверный, заблокирован либо истёк';

/** An order in Alor's terms: what names its `X-REQID` and what the log line shows. */
export type AlorOrderTerms = {
  readonly symbol: string;
  readonly exchange: AlorLimitOrderRequest['instrument']['exchange'];
  readonly side: AlorOrder['side'];
  readonly lots: number;
  /** Canonical decimal text. */
  readonly price: string;
};

/** Alor writes class suffixes with a space: `BRK.B` → `BRK B` (first dot only, as the original). */
export function tickerToAlorSymbol(ticker: string): string {
  return ticker.replace('.', ' ');
}

/** The exchange `t` names (`MOEX:SBER`) wins over the configured one (`ALOR_EXCHANGE`). */
export function orderToAlorTerms(order: AlorOrder, configuredExchange: AlorOrderTerms['exchange']): AlorOrderTerms {
  return {
    symbol: tickerToAlorSymbol(order.ticker),
    exchange: order.exchange ?? configuredExchange,
    side: order.side,
    lots: order.lots,
    price: order.price,
  };
}

export function termsToAlorLimitOrder(terms: AlorOrderTerms, portfolio: string): AlorLimitOrderRequest {
  return {
    side: terms.side,
    quantity: terms.lots,
    // At most 15 significant digits (shared/decimal.ts), so the double holds exactly the price sent.
    price: Number(terms.price),
    instrument: { symbol: terms.symbol, exchange: terms.exchange },
    user: { portfolio },
  };
}

const REFRESH_REJECTED_STATUSES = new Set([400, 401, 403]);

export function refreshResponseToAccessToken(statusCode: number, text: string): string {
  if (REFRESH_REJECTED_STATUSES.has(statusCode)) throw new BrokerCredentialRejectedError(403, REFRESH_REJECTED_MESSAGE);
  if (statusCode !== 200) throw new BrokerUnavailableError(`refresh HTTP ${statusCode}`, { retriable: false });
  const json = parseJsonText(text);
  if (json === undefined) throw new BrokerUnavailableError('refresh answer is not JSON', { retriable: false });
  const parsed = AlorRefreshResponseSchema.safeParse(json);
  // A JSON answer without AccessToken is how the original saw a bad refresh token.
  if (!parsed.success) throw new BrokerCredentialRejectedError(403, REFRESH_REJECTED_MESSAGE);
  return parsed.data.AccessToken;
}

const SUCCESS = 'success';

export function orderResponseToOutcome(statusCode: number, text: string): OrderOutcome {
  const json = parseJsonText(text);
  if (statusCode === 200) {
    const parsed = AlorOrderResponseSchema.safeParse(json);
    if (!parsed.success)
      throw new BrokerUnavailableError('order answer is not the documented JSON', { retriable: false });
    return parsed.data.message === SUCCESS
      ? { status: 'placed', orderId: parsed.data.orderNumber, replayed: false }
      : refused(parsed.data.message);
  }
  if (statusCode === 401) throw new BrokerCredentialRejectedError(403, REFRESH_REJECTED_MESSAGE);
  if (statusCode >= 400 && statusCode < 500 && statusCode !== 429) {
    // The spec documents 403 and 404 without a body: a refusal without a message, not an outage.
    if (text.trim() === '') return refused(undefined);
    const parsed = AlorOrderErrorSchema.safeParse(json);
    if (!parsed.success)
      throw new BrokerUnavailableError(`order HTTP ${statusCode} without JSON`, { retriable: false });
    const { message, oldResponse } = parsed.data;
    if (oldResponse !== undefined) {
      // "Already handled": no second order was placed; answer as the first call was answered.
      const first = oldResponse.body;
      return oldResponse.statusCode === 200 && first.message === SUCCESS
        ? { status: 'placed', orderId: first.orderNumber, replayed: true }
        : refused(first.message ?? message);
    }
    return refused(message);
  }
  throw new BrokerUnavailableError(`order HTTP ${statusCode}`, { retriable: false });
}
