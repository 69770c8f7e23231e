import { decimalToQuotation, quotationToDecimal } from '../../decimal.ts';
import {
  BrokerCredentialRejectedError,
  BrokerUnavailableError,
  INSTRUMENT_NOT_TRADABLE,
  InstrumentRefusedError,
} from '../../errors.ts';
import { TINKOFF_SPBX_CLASS_CODE } from '../../facts.ts';
import { parseJsonText } from '../../http/outbound/client.ts';
import type { OrderType, SignalOptions, SignalSupport, TimeInForce } from '../../signal.ts';
import type * as z from '../../zod.ts';
import type { NotConfiguredMessages } from '../credentials.ts';
import type { AccountPortfolio, TradingStatus } from '../guards.ts';
import { type OrderState, orderState } from '../order-state.ts';
import { NO_MESSAGE_REFUSAL, type OrderOutcome, refused } from '../outcome.ts';
import { type ActiveOrder, type PlannedOrder, positionLots, type Side } from '../signal-plan.ts';
import type { CancelResult } from '../signal-recipe.ts';
import type { LotQuote } from '../sizing.ts';
import type { TinkoffFigiOrder, TinkoffOrder } from './order.ts';
import {
  ErrorResponseSchema,
  GetOrdersResponseSchema,
  GetStopOrdersResponseSchema,
  type Instrument,
  type InstrumentRequest,
  InstrumentResponseSchema,
  LastPricesResponseSchema,
  MaxLotsResponseSchema,
  type OrderFill,
  OrderFillSchema,
  OrderStateSchema,
  PortfolioResponseSchema,
  PositionsResponseSchema,
  type PostOrderRequest,
  PostOrderResponseSchema,
  type PostStopOrderRequest,
  PostStopOrderResponseSchema,
  quotationToNumber,
  type SignalPostOrderRequest,
  type StopOrder,
  TradingStatusResponseSchema,
  type V1LimitOrderRequest,
  V1ResponseSchema,
} from './schemas.ts';

/** Pure translation between the webhook's order and T-Invest's wire formats (API v2 and v1), both ways. */

/** The contract's 404 texts (docs/contract.md#no-credential, docs/contract.md#no-account). */
export const TINKOFF_NOT_CONFIGURED: NotConfiguredMessages = {
  credential: 'Не задан торговый токен',
  account: 'Не задан номер счёта',
};

export const INVALID_TOKEN_MESSAGE = 'Неверный торговый токен';

/** Catalogue codes (docs/broker-specs/tinvest-v2-api_errors.json) the contract treats specially. */
export const TOKEN_INVALID_CODE = '40003';
const DUPLICATE_ORDER_CODE = '30057';
const ORDER_NOT_FOUND_CODE = '50005';
const INSTRUMENT_NOT_FOUND_CODE = '50002';
const REFUSED_STATUSES = new Set(['EXECUTION_REPORT_STATUS_REJECTED', 'EXECUTION_REPORT_STATUS_CANCELLED']);

/** Where T-Invest lists an instrument: its ticker, in T-Invest's spelling, within a class code. */
export interface TinkoffListing {
  readonly ticker: string;
  readonly classCode: string;
}

/** An order in T-Invest's terms: what names its `orderId` and what the log line shows. The ticker is not sent. */
export type TinkoffOrderTerms = Pick<TinkoffFigiOrder, 'side' | 'lots' | 'price'> & {
  /**
   * PostOrder's `instrumentId`: `f` as sent (a FIGI or an instrument uid), or the uid T-Invest gave for `t`. Named
   * `figi` still: the terms are the name of the order's `orderId` (shared/brokers/request-id.ts) and the log line's
   * `order`, which the notifier reads; renamed, every keyed order's `orderId` would change with the deploy, so a
   * signal resent across it would be placed again (tests/integration/request-id-stability.test.ts pins the ids).
   */
  readonly figi: string;
  /** Where the instrument was looked up, for an order without `f`. */
  readonly listing?: TinkoffListing;
};

/** What `GetInstrumentBy` said of a listing. */
export type InstrumentLookup =
  | { readonly status: 'found'; readonly uid: string; readonly apiTradeAvailable: boolean }
  | { readonly status: 'not-found' }
  | { readonly status: 'refused'; readonly message: string };

/** What a `PostOrder` answer says: an outcome, or that this `orderId` was sent before (error 30057). */
export type PostOrderResult = OrderOutcome | { readonly status: 'duplicate' };

/**
 * A ticker as T-Invest lists it: in upper case (`sber` is `SBER`, as TradingView writes it), class suffixes with a dot
 * (`BRK B` → `BRK.B`, first space only, as the original).
 */
export function tickerToTinkoffTicker(ticker: string): string {
  return ticker.toUpperCase().replace(' ', '.');
}

export function orderToTinkoffTerms(order: TinkoffFigiOrder): TinkoffOrderTerms {
  return { figi: order.figi, side: order.side, lots: order.lots, price: order.price };
}

/** Where an order without `f` looks its ticker up: SPBX (`SPBX:AAPL`) in SPBXM, MOEX or no exchange in `classCode`. */
export function orderToListing(order: Pick<TinkoffOrder, 'ticker' | 'exchange'>, classCode: string): TinkoffListing {
  return {
    ticker: tickerToTinkoffTicker(order.ticker),
    classCode: order.exchange === 'SPBX' ? TINKOFF_SPBX_CLASS_CODE : classCode,
  };
}

export function listingToInstrumentRequest(listing: TinkoffListing): InstrumentRequest {
  return { idType: 'INSTRUMENT_ID_TYPE_TICKER', classCode: listing.classCode, id: listing.ticker };
}

/**
 * An order without `f`, in T-Invest's terms once `GetInstrumentBy` has answered: PostOrder gets the instrument's uid.
 * An instrument that cannot be traded here is refused with the reason, as a refused order is.
 */
export function listedOrderToTinkoffTerms(
  order: TinkoffOrder,
  listing: TinkoffListing,
  lookup: InstrumentLookup,
): TinkoffOrderTerms {
  switch (lookup.status) {
    case 'not-found':
      throw new InstrumentRefusedError(`Инструмент не найден: ${listing.ticker} (${listing.classCode})`, 'not found');
    case 'refused':
      throw new InstrumentRefusedError(lookup.message.trim() || NO_MESSAGE_REFUSAL, 'lookup refused');
    case 'found':
      if (!lookup.apiTradeAvailable) {
        throw new InstrumentRefusedError(
          `Инструмент недоступен для торговли через API: ${listing.ticker}`,
          INSTRUMENT_NOT_TRADABLE,
        );
      }
      return { figi: lookup.uid, side: order.side, lots: order.lots, price: order.price, listing };
  }
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

export function isClientError(statusCode: number): boolean {
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
 * A `GetInstrumentBy` answer, as T-Invest gives it: the instrument, or another status with T-Invest's error code and
 * message when the body is its error JSON. A 200 that is not the documented instrument is the broker not answering as
 * documented. What the rest means is its caller's ({@link instrumentResponseToLookup}, {@link instrumentResponseToInstrument}).
 */
type InstrumentAnswer =
  | { readonly status: 200; readonly instrument: Instrument }
  | {
      readonly status: number;
      readonly instrument?: undefined;
      /** The error JSON's `description` (T-Invest's error code, `50002`) and `message`; unset without one. */
      readonly error: { readonly code: string | undefined; readonly message: string | undefined } | undefined;
    };

function parseInstrumentAnswer(statusCode: number, text: string): InstrumentAnswer {
  const json = parseJsonText(text);
  if (statusCode === 200) {
    const parsed = InstrumentResponseSchema.safeParse(json);
    if (!parsed.success)
      throw new BrokerUnavailableError('GetInstrumentBy answer is not the documented JSON', { retriable: false });
    return { status: 200, instrument: parsed.data.instrument };
  }
  const error = ErrorResponseSchema.safeParse(json);
  return {
    status: statusCode,
    error: error.success ? { code: error.data.description, message: error.data.message } : undefined,
  };
}

/**
 * A ticker's `GetInstrumentBy` answer, for today's order: the instrument, or T-Invest's reason for not giving one
 * (50002: not found; another 4xx with its error JSON: refused with its text). A 4xx without one (an HTML 404 of a
 * proxy) or a 5xx is the broker unavailable.
 */
export function instrumentResponseToLookup(statusCode: number, text: string): InstrumentLookup {
  if (statusCode === 401) throw new BrokerCredentialRejectedError(400, INVALID_TOKEN_MESSAGE);
  const answer = parseInstrumentAnswer(statusCode, text);
  if (answer.instrument !== undefined) {
    const { uid, apiTradeAvailableFlag } = answer.instrument;
    return { status: 'found', uid, apiTradeAvailable: apiTradeAvailableFlag };
  }
  if (!isClientError(statusCode))
    throw new BrokerUnavailableError(`GetInstrumentBy HTTP ${statusCode}`, { retriable: false });
  if (answer.error === undefined)
    throw new BrokerUnavailableError(`GetInstrumentBy HTTP ${statusCode} without JSON`, { retriable: false });
  const { code, message } = answer.error;
  if (code === TOKEN_INVALID_CODE) throw new BrokerCredentialRejectedError(400, INVALID_TOKEN_MESSAGE);
  if (code === INSTRUMENT_NOT_FOUND_CODE) return { status: 'not-found' };
  return { status: 'refused', message: message ?? '' };
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

/** A read call that did not answer 200: a rejected token, or a broker that is not answering as documented. */
export function readFailure(method: string, statusCode: number, json: unknown): Error {
  const error = ErrorResponseSchema.safeParse(json);
  if (statusCode === 401 || (error.success && error.data.description === TOKEN_INVALID_CODE)) {
    return new BrokerCredentialRejectedError(400, INVALID_TOKEN_MESSAGE);
  }
  return new BrokerUnavailableError(`${method} HTTP ${statusCode}`, { retriable: false });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A signal's `f` is a FIGI or an instrument uid (shared/http/inbound/payload.ts): looked up the same way. */
export function instrumentIdToRequest(id: string): InstrumentRequest {
  return { idType: UUID.test(id) ? 'INSTRUMENT_ID_TYPE_UID' : 'INSTRUMENT_ID_TYPE_FIGI', id };
}

/**
 * `InstrumentsService/GetInstrumentBy`, for a v2 signal and the preflight: the instrument, or undefined when T-Invest
 * knows none by that id (50002, or any 404); a rejected token; any other answer is the broker unavailable.
 */
export function instrumentResponseToInstrument(statusCode: number, text: string): Instrument | undefined {
  const answer = parseInstrumentAnswer(statusCode, text);
  if (answer.instrument !== undefined) return answer.instrument;
  if (statusCode === 404 || answer.error?.code === INSTRUMENT_NOT_FOUND_CODE) return undefined;
  if (statusCode === 401 || answer.error?.code === TOKEN_INVALID_CODE) {
    throw new BrokerCredentialRejectedError(400, INVALID_TOKEN_MESSAGE);
  }
  throw new BrokerUnavailableError(`GetInstrumentBy HTTP ${statusCode}`, { retriable: false });
}

/**
 * Reads the answer of a successful PostOrder once, on a documented sample, during init: zod builds its parser and V8
 * compiles the reader then, not after the first signal's order came back.
 */
export function warmUpTinkoffAnswers(): void {
  postOrderResponseToOutcome(200, '{"orderId":"1","executionReportStatus":"EXECUTION_REPORT_STATUS_NEW"}');
}

/**
 * What T-Invest offers a v2 signal (docs/contract.md#not-supported): limit, market and best-price orders; a time in
 * force on a limit only (`v1TimeInForceType`: "applied only to limit orders"), and no good-till-cancelled for orders
 * (only stop orders have one).
 */
export const TINKOFF_SIGNAL_SUPPORT: SignalSupport = {
  name: 'T-Invest',
  orderTypes: ['limit', 'market', 'best'],
  timeInForce: { limit: ['day', 'ioc', 'fok'], market: [], best: [] },
  positionUnits: ['lots', 'shares'],
  cancelExchanges: ['MOEX', 'SPBX'],
  protection: ['sl', 'tp', 'trail'],
};

/** The instrument of a v2 signal at T-Invest: the id sent (`f`, or the uid found), and what is known of it. */
export interface TinkoffInstrument {
  /** PostOrder's `instrumentId`. */
  readonly id: string;
  readonly uid?: string | undefined;
  readonly figi?: string | undefined;
  /** Pieces per lot: positions are counted in pieces. */
  readonly lot?: number | undefined;
  /** Its price step (`minPriceIncrement`), when looked up. */
  readonly step?: string | undefined;
  readonly listing?: TinkoffListing | undefined;
  /** What sizing in roubles reads: the price's currency (`rub`) and the kind (`share`, `etf`, …). */
  readonly currency?: string | undefined;
  readonly instrumentType?: string | undefined;
}

/** A v2 signal's order in T-Invest's terms: what the log line shows. The ticker is not sent. */
export type TinkoffSignalTerms = {
  /** The instrument id sent (a FIGI or a uid), named as today's order's terms name it (the log line's `order.figi`). */
  readonly figi: string;
  readonly side: PlannedOrder['side'];
  readonly lots: number;
  readonly type: OrderType;
  readonly price?: string;
  readonly timeInForce?: TimeInForce;
  readonly listing?: TinkoffListing;
};

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A signal's `f` as it is, when nothing else is needed of the instrument: a uid or a FIGI, as its form says. */
export function instrumentOfId(id: string): TinkoffInstrument {
  return UUID_TEXT.test(id) ? { id, uid: id } : { id, figi: id };
}

/**
 * The instrument found for a v2 signal (by `f`, or by ticker in `listing`), or the refusal of
 * [instrument-not-found](docs/contract.md#instrument-not-found) and
 * [instrument-not-tradable](docs/contract.md#instrument-not-tradable).
 */
export function foundToSignalInstrument(
  found: Instrument | undefined,
  named: { readonly listing: TinkoffListing } | { readonly id: string },
): TinkoffInstrument {
  const name = 'listing' in named ? named.listing.ticker : named.id;
  if (found === undefined) {
    const where = 'listing' in named ? ` (${named.listing.classCode})` : '';
    throw new InstrumentRefusedError(`Инструмент не найден: ${name}${where}`, 'not found');
  }
  if (!found.apiTradeAvailableFlag) {
    throw new InstrumentRefusedError(`Инструмент недоступен для торговли через API: ${name}`, INSTRUMENT_NOT_TRADABLE);
  }
  return {
    id: 'listing' in named ? found.uid : named.id,
    uid: found.uid,
    figi: found.figi || undefined,
    lot: found.lot,
    currency: found.currency || undefined,
    instrumentType: found.instrumentType || undefined,
    ...(found.minPriceIncrement === undefined ? {} : { step: quotationToDecimal(found.minPriceIncrement) }),
    ...('listing' in named ? { listing: named.listing } : {}),
  };
}

/** Whether a position or an order T-Invest lists is of this instrument. */
function isOf(instrument: TinkoffInstrument, item: { figi?: string | undefined; instrumentUid?: string | undefined }) {
  return (
    (instrument.uid !== undefined && item.instrumentUid === instrument.uid) ||
    (instrument.figi !== undefined && item.figi === instrument.figi)
  );
}

export function signalTermsOf(
  instrument: TinkoffInstrument,
  order: PlannedOrder,
  options: SignalOptions,
): TinkoffSignalTerms {
  return {
    figi: instrument.id,
    side: order.side,
    lots: order.lots,
    type: options.type,
    ...(options.type === 'limit' && options.price !== undefined ? { price: options.price } : {}),
    ...(options.timeInForce === undefined ? {} : { timeInForce: options.timeInForce }),
    ...(instrument.listing === undefined ? {} : { listing: instrument.listing }),
  };
}

const ORDER_TYPES: Readonly<Record<OrderType, SignalPostOrderRequest['orderType']>> = {
  limit: 'ORDER_TYPE_LIMIT',
  market: 'ORDER_TYPE_MARKET',
  best: 'ORDER_TYPE_BESTPRICE',
};
const TIME_IN_FORCE: Readonly<Partial<Record<TimeInForce, SignalPostOrderRequest['timeInForce']>>> = {
  day: 'TIME_IN_FORCE_DAY',
  ioc: 'TIME_IN_FORCE_FILL_AND_KILL',
  fok: 'TIME_IN_FORCE_FILL_OR_KILL',
};

/** A v2 signal's PostOrder: the price of a limit only ("ignored for market"), the time in force when asked. */
export function signalTermsToPostOrderRequest(
  terms: TinkoffSignalTerms,
  accountId: string,
  orderId: string,
): SignalPostOrderRequest {
  const timeInForce = terms.timeInForce === undefined ? undefined : TIME_IN_FORCE[terms.timeInForce];
  return {
    instrumentId: terms.figi,
    quantity: String(terms.lots),
    ...(terms.price === undefined ? {} : { price: decimalToQuotation(terms.price) }),
    direction: terms.side === 'buy' ? 'ORDER_DIRECTION_BUY' : 'ORDER_DIRECTION_SELL',
    accountId,
    orderType: ORDER_TYPES[terms.type],
    orderId,
    ...(timeInForce === undefined ? {} : { timeInForce }),
  };
}

/**
 * The position in the instrument, in lots: `GetPositions` counts pieces, free (`balance`) and held by active orders
 * (`blocked`); no entry is no position.
 */
export function positionsResponseToLots(statusCode: number, text: string, instrument: TinkoffInstrument): number {
  const json = parseJsonText(text);
  if (statusCode !== 200) throw readFailure('GetPositions', statusCode, json);
  const parsed = PositionsResponseSchema.safeParse(json);
  if (!parsed.success) {
    throw new BrokerUnavailableError('GetPositions answer is not the documented JSON', { retriable: false });
  }
  const held = [...parsed.data.securities, ...parsed.data.futures].find((position) => isOf(instrument, position));
  return held === undefined ? 0 : positionLots(held.balance + held.blocked, instrument.lot ?? 1);
}

const ACTIVE_STATUSES = new Set(['EXECUTION_REPORT_STATUS_NEW', 'EXECUTION_REPORT_STATUS_PARTIALLYFILL']);

/** The instrument's active orders (`GetOrders`), each with the lots left to fill and our key (`orderRequestId`). */
export function ordersResponseToActive(statusCode: number, text: string, instrument: TinkoffInstrument): ActiveOrder[] {
  const json = parseJsonText(text);
  if (statusCode !== 200) throw readFailure('GetOrders', statusCode, json);
  const parsed = GetOrdersResponseSchema.safeParse(json);
  if (!parsed.success) {
    throw new BrokerUnavailableError('GetOrders answer is not the documented JSON', { retriable: false });
  }
  return parsed.data.orders
    .filter((order) => ACTIVE_STATUSES.has(order.executionReportStatus) && isOf(instrument, order))
    .map((order) => ({
      id: order.orderId,
      side: order.direction === 'ORDER_DIRECTION_SELL' ? ('sell' as const) : ('buy' as const),
      lots: order.lotsRequested - order.lotsExecuted,
      requestId: order.orderRequestId,
    }))
    .filter((order) => order.lots > 0);
}

/** A `CancelOrder` answer: done, or not (50005 no such order, 30059 the cancel failed: it may have filled). */
export function cancelResponseToResult(statusCode: number, text: string): CancelResult {
  const json = parseJsonText(text);
  if (statusCode === 200) return { status: 'cancelled' };
  const error = ErrorResponseSchema.safeParse(json);
  if (statusCode === 401 || (error.success && error.data.description === TOKEN_INVALID_CODE)) {
    throw new BrokerCredentialRejectedError(400, INVALID_TOKEN_MESSAGE);
  }
  if (isClientError(statusCode) && error.success) {
    return { status: 'unconfirmed', reason: error.data.message?.trim() || NO_MESSAGE_REFUSAL };
  }
  throw new BrokerUnavailableError(`CancelOrder HTTP ${statusCode}`, { retriable: false });
}

/** A read call's answer in its documented shape, or why not: a rejected token, a broker not answering as documented. */
function readAnswer<T>(method: string, statusCode: number, text: string, schema: z.ZodMiniType<T>): T {
  const json = parseJsonText(text);
  if (statusCode !== 200) throw readFailure(method, statusCode, json);
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new BrokerUnavailableError(`${method} answer is not the documented JSON`, { retriable: false });
  }
  return parsed.data;
}

/** `GetTradingStatus`: which order types the exchange takes now, by T-Invest's flags (none when the API may not trade). */
export function tradingStatusResponseToStatus(statusCode: number, text: string): TradingStatus {
  const status = readAnswer('GetTradingStatus', statusCode, text, TradingStatusResponseSchema);
  const api = status.apiTradeAvailableFlag;
  return {
    status: status.tradingStatus,
    takes: {
      limit: api && status.limitOrderAvailableFlag,
      market: api && status.marketOrderAvailableFlag,
      best: api && status.bestpriceOrderAvailableFlag,
    },
  };
}

/** `GetPortfolio` in roubles: the portfolio's value (`totalAmountPortfolio`) and the day's result (`dailyYield`). */
export function portfolioResponseToPortfolio(statusCode: number, text: string): AccountPortfolio {
  const portfolio = readAnswer('GetPortfolio', statusCode, text, PortfolioResponseSchema);
  const { totalAmountPortfolio, dailyYield, dailyYieldRelative } = portfolio;
  return {
    value: quotationToNumber(totalAmountPortfolio),
    dailyResult: quotationToNumber(dailyYield),
    dailyResultPct: dailyYieldRelative === undefined ? undefined : quotationToNumber(dailyYieldRelative),
  };
}

/** Sizing in roubles reads a price per piece times the lot: true of shares and funds priced in roubles only. */
const SIZABLE_TYPES = new Set(['share', 'etf']);

/**
 * What sizing and the money limit read of an instrument they cannot price in roubles: a bond (its price is a percentage
 * of its face value), a future (points), anything priced in another currency, an unknown lot.
 */
export function unsizableReason(instrument: TinkoffInstrument): string | undefined {
  const name = instrument.listing?.ticker ?? instrument.id;
  if (instrument.lot === undefined || instrument.lot < 1) return `лот ${name} неизвестен`;
  if (!SIZABLE_TYPES.has(instrument.instrumentType ?? ''))
    return `${name} — ${instrument.instrumentType ?? 'инструмент'}, не акция и не фонд`;
  if (instrument.currency !== 'rub') return `${name} торгуется в ${instrument.currency ?? 'другой валюте'}`;
  return undefined;
}

/**
 * A lot's price and the account's lots: `GetMaxLots` (the lots its own money buys at the limit price or the order
 * book's, and its holdings sell) and the entry's price per piece (the limit's, or the last trade's).
 */
export function maxLotsToQuote(
  statusCode: number,
  text: string,
  instrument: TinkoffInstrument,
  price: number,
  type: OrderType,
): LotQuote {
  const { buyLimits, sellLimits } = readAnswer('GetMaxLots', statusCode, text, MaxLotsResponseSchema);
  const lot = instrument.lot ?? 1;
  return {
    lot,
    price,
    lotValue: price * lot,
    maxLots: {
      buy: type === 'limit' ? buyLimits.buyMaxLots : buyLimits.buyMaxMarketLots,
      sell: sellLimits.sellMaxLots,
    },
  };
}

/** `GetLastPrices` of one instrument: the last trade's price per piece. */
export function lastPricesResponseToPrice(statusCode: number, text: string): number {
  const price = readAnswer('GetLastPrices', statusCode, text, LastPricesResponseSchema).lastPrices[0]?.price;
  if (price === undefined) {
    throw new BrokerUnavailableError('GetLastPrices answer has no price', { retriable: false });
  }
  return quotationToNumber(price);
}

/** What a `PostOrder` answer or an order's state says it filled (the protection of a market entry reads it). */
export function orderFillOf(text: string): OrderFill | undefined {
  const parsed = OrderFillSchema.safeParse(parseJsonText(text));
  return parsed.success ? parsed.data : undefined;
}

/** An order state as a protection watcher reads it (`GetOrderState`), or undefined when T-Invest does not know it. */
export function orderStateResponseToFill(statusCode: number, text: string): OrderFill | undefined {
  const json = parseJsonText(text);
  if (statusCode === 200) {
    const fill = orderFillOf(text);
    if (fill === undefined) {
      throw new BrokerUnavailableError('GetOrderState answer is not the documented JSON', { retriable: false });
    }
    return fill;
  }
  const error = ErrorResponseSchema.safeParse(json);
  if (error.success && error.data.description === ORDER_NOT_FOUND_CODE) return undefined;
  throw readFailure('GetOrderState', statusCode, json);
}

/** Whether an order state is final: nothing more will fill. */
export function isFinal(fill: OrderFill): boolean {
  return !ACTIVE_STATUSES.has(fill.executionReportStatus);
}

/** A protective stop order's request: a market order on its trigger, good till cancelled. */
export function stopOrderRequest(
  instrumentId: string,
  accountId: string,
  stop: {
    readonly leg: 'sl' | 'tp';
    readonly side: Side;
    readonly lots: number;
    readonly price: string;
    readonly trail?: { readonly value: string; readonly relative: boolean } | undefined;
  },
  orderId: string,
): PostStopOrderRequest {
  const trailing = stop.leg === 'tp' && stop.trail !== undefined;
  const type = stop.trail?.relative === true ? 'TRAILING_VALUE_RELATIVE' : 'TRAILING_VALUE_ABSOLUTE';
  return {
    instrumentId,
    quantity: String(stop.lots),
    stopPrice: decimalToQuotation(stop.price),
    direction: stop.side === 'buy' ? 'STOP_ORDER_DIRECTION_BUY' : 'STOP_ORDER_DIRECTION_SELL',
    accountId,
    expirationType: 'STOP_ORDER_EXPIRATION_TYPE_GOOD_TILL_CANCEL',
    stopOrderType: stop.leg === 'sl' ? 'STOP_ORDER_TYPE_STOP_LOSS' : 'STOP_ORDER_TYPE_TAKE_PROFIT',
    exchangeOrderType: 'EXCHANGE_ORDER_TYPE_MARKET',
    ...(stop.leg === 'tp'
      ? { takeProfitType: trailing ? 'TAKE_PROFIT_TYPE_TRAILING' : 'TAKE_PROFIT_TYPE_REGULAR' }
      : {}),
    ...(trailing && stop.trail !== undefined
      ? {
          trailingData: {
            indent: decimalToQuotation(stop.trail.value),
            indentType: type,
            spread: { units: '0', nano: 0 },
            spreadType: type,
          },
        }
      : {}),
    orderId,
  } as PostStopOrderRequest;
}

/** What a `PostStopOrder` answer says: the stop order's id, its key sent before (30057), or a refusal. */
export type StopOrderResult =
  | { readonly status: 'placed'; readonly stopOrderId: string }
  | { readonly status: 'duplicate' }
  | { readonly status: 'refused'; readonly message: string };

export function postStopOrderResponseToResult(statusCode: number, text: string): StopOrderResult {
  const json = parseJsonText(text);
  if (statusCode === 200) {
    const parsed = PostStopOrderResponseSchema.safeParse(json);
    if (!parsed.success) {
      throw new BrokerUnavailableError('PostStopOrder answer is not the documented JSON', { retriable: false });
    }
    return { status: 'placed', stopOrderId: parsed.data.stopOrderId };
  }
  const error = ErrorResponseSchema.safeParse(json);
  if (statusCode === 401 || (error.success && error.data.description === TOKEN_INVALID_CODE)) {
    throw new BrokerCredentialRejectedError(400, INVALID_TOKEN_MESSAGE);
  }
  if (isClientError(statusCode) && error.success) {
    if (error.data.description === DUPLICATE_ORDER_CODE) return { status: 'duplicate' };
    return { status: 'refused', message: error.data.message?.trim() || NO_MESSAGE_REFUSAL };
  }
  throw new BrokerUnavailableError(`PostStopOrder HTTP ${statusCode}`, { retriable: false });
}

/** `GetStopOrders`: the account's stop orders (of the status asked). */
export function stopOrdersResponse(statusCode: number, text: string): StopOrder[] {
  return readAnswer('GetStopOrders', statusCode, text, GetStopOrdersResponseSchema).stopOrders;
}

const ACTIVE_STOP = 'STOP_ORDER_STATUS_ACTIVE';

/** The instrument's active stop orders (`GetStopOrders`): cancelled by an exit, never counted. */
export function stopOrdersResponseToActive(
  statusCode: number,
  text: string,
  instrument: TinkoffInstrument,
): ActiveOrder[] {
  return stopOrdersResponse(statusCode, text)
    .filter(
      (order) =>
        (order.status === ACTIVE_STOP || order.status === 'STOP_ORDER_STATUS_UNSPECIFIED') && isOf(instrument, order),
    )
    .map((order) => ({
      id: order.stopOrderId,
      side: order.direction === 'STOP_ORDER_DIRECTION_SELL' ? ('sell' as const) : ('buy' as const),
      lots: order.lotsRequested,
      stop: true,
    }));
}
