import { BrokerCredentialRejectedError, BrokerUnavailableError } from '../../errors.ts';
import { parseJsonText } from '../../http/outbound/client.ts';
import type { NotConfiguredMessages } from '../credentials.ts';
import { type OrderState, orderState } from '../order-state.ts';
import { type OrderOutcome, refused } from '../outcome.ts';
import { jwtClaims, jwtExpiresAt } from './access-token.ts';
import type { AlorOrder } from './order.ts';
import {
  type AlorLimitOrderRequest,
  AlorOrderErrorSchema,
  AlorOrderResponseSchema,
  AlorOrderStateSchema,
  AlorPortfolioSummarySchema,
  AlorRefreshResponseSchema,
  type AlorSecurity,
  AlorSecuritySchema,
  AlorTokenHolderClaimsSchema,
} from './schemas.ts';

/** Pure translation between the webhook's order and Alor's wire format, both ways. */

/** The contract's 404 texts (docs/contract.md#no-credential, docs/contract.md#no-account). */
export const ALOR_NOT_CONFIGURED: NotConfiguredMessages = {
  credential: 'Не задан refresh-токен Alor Open API',
  account: 'Не задан портфель ФР Alor',
};

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

/** Whose an access token is: its user and the portfolios it may trade (undefined when it does not say). */
export interface AlorTokenHolder {
  readonly user: string | undefined;
  readonly portfolios: readonly string[] | undefined;
}

export function accessTokenToHolder(accessToken: string): AlorTokenHolder {
  const claims = AlorTokenHolderClaimsSchema.safeParse(jwtClaims(accessToken));
  if (!claims.success) return { user: undefined, portfolios: undefined };
  const { sub, portfolios } = claims.data;
  return { user: sub, portfolios: portfolios?.split(/\s+/).filter((portfolio) => portfolio !== '') };
}

/** A read call's 401: the access token, just issued, belongs to another environment (test or production hosts). */
function readRejected(statusCode: number): boolean {
  return statusCode === 401;
}

/**
 * Whether the portfolio answers on the exchange: 200 with the summary it is; the documented 403 (and a 404) it is not
 * (a portfolio of another market, or not this user's).
 */
export function summaryResponseToAnswers(statusCode: number, text: string): boolean {
  if (readRejected(statusCode)) throw new BrokerCredentialRejectedError(403, REFRESH_REJECTED_MESSAGE);
  if (statusCode === 403 || statusCode === 404) return false;
  if (statusCode !== 200 || !AlorPortfolioSummarySchema.safeParse(parseJsonText(text)).success) {
    throw new BrokerUnavailableError(`summary HTTP ${statusCode}`, { retriable: false });
  }
  return true;
}

/** The instrument on the exchange, or undefined when the exchange has no such symbol (the documented 404). */
export function securityResponseToInstrument(statusCode: number, text: string): AlorSecurity | undefined {
  if (readRejected(statusCode)) throw new BrokerCredentialRejectedError(403, REFRESH_REJECTED_MESSAGE);
  if (statusCode === 404) return undefined;
  const parsed = AlorSecuritySchema.safeParse(parseJsonText(text));
  if (statusCode !== 200 || !parsed.success) {
    throw new BrokerUnavailableError(`security HTTP ${statusCode}`, { retriable: false });
  }
  return parsed.data;
}

/** The answer of the order lookup a follow-up makes: the order's state, or that Alor does not know it (404). */
export function orderLookupResponseToState(statusCode: number, text: string): OrderState {
  if (readRejected(statusCode)) throw new BrokerCredentialRejectedError(403, REFRESH_REJECTED_MESSAGE);
  if (statusCode === 404) return { status: 'not-found' };
  if (statusCode !== 200) throw new BrokerUnavailableError(`order lookup HTTP ${statusCode}`, { retriable: false });
  const parsed = AlorOrderStateSchema.safeParse(parseJsonText(text));
  if (!parsed.success) {
    throw new BrokerUnavailableError('order lookup answer is not the documented JSON', { retriable: false });
  }
  return orderState(parsed.data.status, parsed.data.qty, parsed.data.filled);
}

/** A JWT whose claims hold only `exp`, in a refresh answer: the shape {@link warmUpAlorAnswers} reads. */
const WARM_UP_REFRESH_ANSWER = JSON.stringify({
  AccessToken: `e30.${Buffer.from('{"exp":0}').toString('base64url')}.c2ln`,
});

/**
 * Reads each answer of a successful order once, on documented samples, during init: zod builds the answers' parsers
 * and V8 compiles the readers then, not between the refresh and the order of the first signal.
 */
export function warmUpAlorAnswers(): void {
  jwtExpiresAt(refreshResponseToAccessToken(200, WARM_UP_REFRESH_ANSWER));
  orderResponseToOutcome(200, '{"message":"success","orderNumber":"1"}');
}
