import { numberToCanonicalDecimal } from '../../decimal.ts';
import { BrokerCredentialRejectedError, BrokerUnavailableError, InstrumentRefusedError } from '../../errors.ts';
import { parseJsonText } from '../../http/outbound/client.ts';
import type { SignalOptions, SignalSupport, TimeInForce } from '../../signal.ts';
import type { NotConfiguredMessages } from '../credentials.ts';
import type { AccountPortfolio, TradingStatus } from '../guards.ts';
import { type OrderState, orderState } from '../order-state.ts';
import { NO_MESSAGE_REFUSAL, type OrderOutcome, refused } from '../outcome.ts';
import { averagePrice } from '../protection.ts';
import { type ActiveOrder, type PlannedOrder, positionLots, type Side } from '../signal-plan.ts';
import type { CancelResult } from '../signal-recipe.ts';
import type { LotQuote } from '../sizing.ts';
import { jwtExpiresAt } from './access-token.ts';
import type { AlorOrder } from './order.ts';
import {
  AlorCancelErrorSchema,
  AlorEstimateSchema,
  type AlorLimitOrderRequest,
  type AlorMarketOrderRequest,
  AlorOrderErrorSchema,
  AlorOrderGroupResponseSchema,
  AlorOrderResponseSchema,
  AlorOrderStateSchema,
  AlorOrdersSchema,
  AlorPortfolioSummarySchema,
  AlorPositionSchema,
  AlorRefreshResponseSchema,
  type AlorSecurity,
  AlorSecuritySchema,
  type AlorSignalLimitOrderRequest,
  type AlorStopOrderRequest,
  AlorStopOrdersSchema,
  AlorTradesSchema,
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

/** A read call's 401: the access token, just issued, belongs to another environment (test or production hosts). */
export function readRejected(statusCode: number): boolean {
  return statusCode === 401;
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

/**
 * What Alor offers a v2 signal (docs/contract.md#not-supported): limit and market orders (no best-price order), every
 * time in force of `field_ExecutionPeriod` on both, and cancels on MOEX only (`query_Exchange_MoexOnly_Required` of the
 * cancel call).
 */
export const ALOR_SIGNAL_SUPPORT: SignalSupport = {
  name: 'Alor',
  orderTypes: ['limit', 'market'],
  timeInForce: { limit: ['day', 'ioc', 'fok', 'gtc'], market: ['day', 'ioc', 'fok', 'gtc'], best: [] },
  positionUnits: ['lots', 'shares'],
  cancelExchanges: ['MOEX'],
  // No trailing order in Alor's spec: `trail` is refused, never emulated.
  protection: ['sl', 'tp'],
};

/**
 * The instrument of a v2 signal at Alor: its symbol and exchange, and its lot and price currency when a `pos` counts
 * shares, or a size or a guard reads them.
 */
export interface AlorInstrument {
  readonly symbol: string;
  readonly exchange: AlorOrderTerms['exchange'];
  readonly lot?: number | undefined;
  readonly currency?: string | undefined;
  /** Its price step (`minstep`), read when the signal asks for protection. */
  readonly step?: string | undefined;
}

/** A v2 signal's order in Alor's terms: what the log line shows. */
export type AlorSignalTerms = {
  readonly symbol: string;
  readonly exchange: AlorOrderTerms['exchange'];
  readonly side: PlannedOrder['side'];
  readonly lots: number;
  readonly type: 'limit' | 'market';
  readonly price?: string;
  readonly timeInForce?: TimeInForce;
};

/** `field_ExecutionPeriod` of each time in force. */
const ALOR_TIME_IN_FORCE = {
  day: 'oneday',
  ioc: 'immediateorcancel',
  fok: 'fillorkill',
  gtc: 'goodtillcancelled',
} as const satisfies Record<TimeInForce, string>;

/**
 * A v2 order's comment carries its key: Alor's order list does not show the `X-REQID`, and a resent signal must know
 * its own order among the instrument's active ones (shared/brokers/signal-plan.ts). 13 + 36 of Alor's 100 characters.
 */
export const ORDER_COMMENT_PREFIX = 'ppp-webhooks ';

export function signalTermsOf(
  instrument: AlorInstrument,
  order: PlannedOrder,
  options: SignalOptions,
): AlorSignalTerms {
  const type = options.type === 'limit' ? 'limit' : 'market';
  return {
    symbol: instrument.symbol,
    exchange: instrument.exchange,
    side: order.side,
    lots: order.lots,
    type,
    ...(type === 'limit' && options.price !== undefined ? { price: options.price } : {}),
    ...(options.timeInForce === undefined ? {} : { timeInForce: options.timeInForce }),
  };
}

/** The body of a v2 signal's order: `actions/limit` or `actions/market`. */
export function signalTermsToAlorOrder(
  terms: AlorSignalTerms,
  portfolio: string,
  requestId: string,
): AlorSignalLimitOrderRequest | AlorMarketOrderRequest {
  const common = {
    side: terms.side,
    quantity: terms.lots,
    instrument: { symbol: terms.symbol, exchange: terms.exchange },
    comment: `${ORDER_COMMENT_PREFIX}${requestId}`,
    user: { portfolio },
    ...(terms.timeInForce === undefined ? {} : { timeInForce: ALOR_TIME_IN_FORCE[terms.timeInForce] }),
  };
  return terms.type === 'limit' ? { ...common, price: Number(terms.price) } : common;
}

/** A read of the position, the orders or a cancel that did not answer as documented. */
function unexpected(what: string, statusCode: number): BrokerUnavailableError {
  return new BrokerUnavailableError(`${what} HTTP ${statusCode}`, { retriable: false });
}

/**
 * The position in the instrument, in lots: `qty` (lots, a decimal); Alor answers 404 for an instrument the portfolio
 * holds none of. A position that is not whole lots is refused (`positionLots` of shared/brokers/signal-plan.ts).
 */
export function positionResponseToLots(statusCode: number, text: string): number {
  if (readRejected(statusCode)) throw new BrokerCredentialRejectedError(403, REFRESH_REJECTED_MESSAGE);
  if (statusCode === 404) return 0;
  const parsed = AlorPositionSchema.safeParse(parseJsonText(text));
  if (statusCode !== 200 || !parsed.success) throw unexpected('position', statusCode);
  const { qty, qtyUnits, lotSize } = parsed.data;
  if (Number.isInteger(qty)) return qty === 0 ? 0 : qty;
  return positionLots(qtyUnits ?? qty, lotSize ?? 1);
}

/** An order of the portfolio as both lists show it (`response_Order_Simple`, `response_StopOrder_Warp_Simple`). */
interface ListedOrder {
  readonly id: string;
  readonly symbol: string;
  readonly exchange?: string | undefined;
  readonly comment?: string | null | undefined;
  readonly side: 'buy' | 'sell';
  readonly status: string;
}

/** The instrument's working orders of a list, each with its lots (what is left to fill) and our key, if it has one. */
function workingOf<T extends ListedOrder>(
  orders: readonly T[],
  instrument: AlorInstrument,
  lotsOf: (order: T) => number,
  stop: boolean,
): ActiveOrder[] {
  return orders
    .filter(
      (order) =>
        order.status === 'working' &&
        order.symbol === instrument.symbol &&
        (order.exchange === undefined || order.exchange === instrument.exchange),
    )
    .map((order) => ({
      id: order.id,
      side: order.side,
      lots: lotsOf(order),
      requestId: order.comment?.startsWith(ORDER_COMMENT_PREFIX)
        ? order.comment.slice(ORDER_COMMENT_PREFIX.length)
        : undefined,
      ...(stop ? { stop: true } : {}),
    }))
    .filter((order) => order.lots > 0);
}

/** The instrument's working orders among the portfolio's orders of the day, each with what is left to fill. */
export function ordersResponseToActive(statusCode: number, text: string, instrument: AlorInstrument): ActiveOrder[] {
  if (readRejected(statusCode)) throw new BrokerCredentialRejectedError(403, REFRESH_REJECTED_MESSAGE);
  const parsed = AlorOrdersSchema.safeParse(parseJsonText(text));
  if (statusCode !== 200 || !parsed.success) throw unexpected('orders', statusCode);
  return workingOf(parsed.data, instrument, (order) => order.qty - (order.filled ?? 0), false);
}

/** A cancel's answer: 200 `success`; a 400 (`OrderToCancelNotFound`: filled or cancelled meanwhile) is unconfirmed. */
export function cancelResponseToResult(statusCode: number, text: string): CancelResult {
  if (readRejected(statusCode)) throw new BrokerCredentialRejectedError(403, REFRESH_REJECTED_MESSAGE);
  if (statusCode === 200) return { status: 'cancelled' };
  if (statusCode === 400) {
    const parsed = AlorCancelErrorSchema.safeParse(parseJsonText(text));
    return { status: 'unconfirmed', reason: (parsed.success ? parsed.data.message?.trim() : '') || NO_MESSAGE_REFUSAL };
  }
  throw unexpected('cancel', statusCode);
}

/** `field_TradingStatusCode` values in which the exchange takes no order: 18 no trading or closed, 2 a break. */
const NOT_TRADING_CODES = new Set([18, 2]);

/**
 * An instrument's trading status from its security (`tradingStatus`, `tradingStatusInfo`): no order type is taken
 * while trading is closed or in a break; in any other status (normal trading, the auctions, the opening and closing
 * periods) the exchange decides.
 */
export function securityToTradingStatus(security: AlorSecurity | undefined, instrument: AlorInstrument): TradingStatus {
  if (security === undefined) {
    throw new InstrumentRefusedError(
      `Инструмент не найден: ${instrument.symbol} (${instrument.exchange})`,
      'not found',
    );
  }
  const code = security.tradingStatus;
  const open = code === undefined || !NOT_TRADING_CODES.has(code);
  const info = security.tradingStatusInfo?.trim();
  return {
    status: `${code ?? 'неизвестен'}${info ? ` (${info})` : ''}`,
    takes: { limit: open, market: open, best: open },
  };
}

/** The summary (`response_Summary_Simple`): the portfolio's value and the day's result. */
export function summaryResponseToPortfolio(statusCode: number, text: string): AccountPortfolio {
  if (readRejected(statusCode)) throw new BrokerCredentialRejectedError(403, REFRESH_REJECTED_MESSAGE);
  const parsed = AlorPortfolioSummarySchema.safeParse(parseJsonText(text));
  if (statusCode !== 200 || !parsed.success || parsed.data.portfolioLiquidationValue === undefined) {
    throw new BrokerUnavailableError(`summary HTTP ${statusCode}`, { retriable: false });
  }
  return {
    value: parsed.data.portfolioLiquidationValue,
    dailyResult: parsed.data.profit ?? 0,
    dailyResultPct: parsed.data.profitRate,
  };
}

/**
 * One lot's estimate (`response_EstimateOrder`): its cost (`orderEvaluation`, at the limit price or the market's) and
 * the lots the account's own money buys and its holdings sell (`notMarginQuantityToBuy`, `…ToSell`). Priced in roubles
 * only ([not-supported](docs/contract.md#not-supported)); the price per piece of a market order is the lot's cost over
 * the lot.
 */
export function estimateResponseToQuote(
  statusCode: number,
  text: string,
  instrument: AlorInstrument,
  limitPrice: number | undefined,
): LotQuote {
  if (readRejected(statusCode)) throw new BrokerCredentialRejectedError(403, REFRESH_REJECTED_MESSAGE);
  if (statusCode === 404) {
    throw new InstrumentRefusedError(
      `Инструмент не найден: ${instrument.symbol} (${instrument.exchange})`,
      'not found',
    );
  }
  const parsed = AlorEstimateSchema.safeParse(parseJsonText(text));
  if (statusCode !== 200 || !parsed.success) throw unexpected('estimate', statusCode);
  const lot = instrument.lot ?? 1;
  const { orderEvaluation, notMarginQuantityToBuy, notMarginQuantityToSell } = parsed.data;
  return {
    lot,
    price: limitPrice ?? orderEvaluation / lot,
    lotValue: orderEvaluation,
    maxLots: { buy: notMarginQuantityToBuy, sell: notMarginQuantityToSell },
  };
}

/** Why Alor's estimate cannot be read as roubles: an instrument priced in another currency, or of an unknown lot. */
export function unsizableReason(instrument: AlorInstrument): string | undefined {
  if (instrument.lot === undefined) return `лот ${instrument.symbol} неизвестен`;
  const currency = instrument.currency?.toUpperCase();
  return currency === undefined || currency === 'RUB' || currency === 'RUR'
    ? undefined
    : `${instrument.symbol} (${instrument.exchange}) торгуется в ${instrument.currency}`;
}

/** The portfolio's stop orders (`response_StopOrder_Warp_Simple`), the fields read. */
export function stopOrdersResponse(statusCode: number, text: string) {
  if (readRejected(statusCode)) throw new BrokerCredentialRejectedError(403, REFRESH_REJECTED_MESSAGE);
  const parsed = AlorStopOrdersSchema.safeParse(parseJsonText(text));
  if (statusCode !== 200 || !parsed.success) throw unexpected('stop orders', statusCode);
  return parsed.data;
}

/** The instrument's stop orders still working, among the portfolio's: cancelled by an exit, never counted. */
export function stopOrdersResponseToActive(
  statusCode: number,
  text: string,
  instrument: AlorInstrument,
): ActiveOrder[] {
  return workingOf(stopOrdersResponse(statusCode, text), instrument, (order) => order.qty, true);
}

/** Which way a protective order triggers: a stop-loss against the position, a take-profit with it. */
export function stopCondition(leg: 'sl' | 'tp', side: Side): AlorStopOrderRequest['condition'] {
  // A sell protects a long: its stop-loss triggers at or below its price, its take-profit at or above.
  const below = (leg === 'sl') === (side === 'sell');
  return below ? 'lessorequal' : 'moreorequal';
}

/** A protective order's body (`actions/stop`): a market order on its trigger, its key in its comment. */
export function stopOrderBody(
  instrument: AlorInstrument,
  portfolio: string,
  stop: { leg: 'sl' | 'tp'; side: Side; lots: number; price: string; activate: boolean },
  requestId: string,
): AlorStopOrderRequest {
  return {
    side: stop.side,
    condition: stopCondition(stop.leg, stop.side),
    triggerPrice: Number(stop.price),
    quantity: stop.lots,
    instrument: { symbol: instrument.symbol, exchange: instrument.exchange },
    user: { portfolio },
    comment: `${ORDER_COMMENT_PREFIX}${requestId}`,
    activate: stop.activate,
  };
}

/** What `POST /commandapi/api/orderGroups` answered: the group, or Alor's reason for not making it. */
export type GroupResult =
  | { readonly status: 'created'; readonly groupId: string }
  | { readonly status: 'refused'; readonly message: string };

export function groupResponseToResult(statusCode: number, text: string): GroupResult {
  if (readRejected(statusCode)) throw new BrokerCredentialRejectedError(403, REFRESH_REJECTED_MESSAGE);
  const parsed = AlorOrderGroupResponseSchema.safeParse(parseJsonText(text));
  if (statusCode === 200 && parsed.success && parsed.data.groupId !== undefined) {
    return { status: 'created', groupId: parsed.data.groupId };
  }
  if (statusCode === 400) {
    return { status: 'refused', message: (parsed.success ? parsed.data.detail?.trim() : '') || NO_MESSAGE_REFUSAL };
  }
  throw unexpected('order group', statusCode);
}

/** What an order filled, from the symbol's trades of the session: lots and their average price. */
export interface AlorFill {
  readonly lots: number;
  readonly price: string | undefined;
}

export function tradesResponseToFill(statusCode: number, text: string, orderId: string): AlorFill {
  if (readRejected(statusCode)) throw new BrokerCredentialRejectedError(403, REFRESH_REJECTED_MESSAGE);
  const parsed = AlorTradesSchema.safeParse(parseJsonText(text));
  if (statusCode !== 200 || !parsed.success) throw unexpected('trades', statusCode);
  const fills = parsed.data
    .filter((trade) => trade.orderno === orderId)
    .map((trade) => ({ lots: trade.qty, price: numberToCanonicalDecimal(trade.price) ?? '0' }));
  return { lots: fills.reduce((total, fill) => total + fill.lots, 0), price: averagePrice(fills) };
}
