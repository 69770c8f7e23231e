import type { Dispatcher } from 'undici';
import { decimalToQuotation } from '../../decimal.ts';
import { SignalRefusedError } from '../../errors.ts';
import { endpoint, type HttpEndpoint, type HttpResponse, sendHttpRequest } from '../../http/outbound/client.ts';
import type { Deadline } from '../../http/outbound/deadline.ts';
import type { SignalOptions } from '../../signal.ts';
import type { FollowUpQueue } from '../follow-up-queue.ts';
import type { AccountPortfolio, TradingStatus } from '../guards.ts';
import type { BrokerClient, BrokerOrderCall } from '../order-recipe.ts';
import type { OrderState } from '../order-state.ts';
import type { OrderOutcome } from '../outcome.ts';
import type { ActiveOrder, InstrumentState, StateNeeds } from '../signal-plan.ts';
import type { CancelResult, InstrumentCall, ProtectedEntry, ProtectedOutcome, SignalClient } from '../signal-recipe.ts';
import type { LotQuote } from '../sizing.ts';
import {
  cancelResponseToResult,
  lastPricesResponseToPrice,
  maxLotsToQuote,
  orderFillOf,
  orderLookupResponseToState,
  orderStateResponseToFill,
  orderStateResponseToOutcome,
  ordersResponseToActive,
  orderToPostOrderRequest,
  orderToV1LimitOrder,
  portfolioResponseToPortfolio,
  positionsResponseToLots,
  postOrderResponseToOutcome,
  postStopOrderResponseToResult,
  type StopOrderResult,
  signalTermsToPostOrderRequest,
  stopOrdersResponse,
  stopOrdersResponseToActive,
  type TinkoffInstrument,
  type TinkoffOrderTerms,
  type TinkoffSignalTerms,
  tradingStatusResponseToStatus,
  unsizableReason,
  v1ResponseToOutcome,
} from './mapping.ts';
import { placeTinkoffProtected } from './protection.ts';
import type {
  CancelOrderRequest,
  CancelStopOrderRequest,
  GetOrderStateRequest,
  GetOrdersRequest,
  GetStopOrdersRequest,
  LastPricesRequest,
  MaxLotsRequest,
  OrderFill,
  PortfolioRequest,
  PositionsRequest,
  PostStopOrderRequest,
  StopOrder,
  TradingStatusRequest,
} from './schemas.ts';

export const POST_ORDER_PATH = '/tinkoff.public.invest.api.contract.v1.OrdersService/PostOrder';
export const GET_ORDER_STATE_PATH = '/tinkoff.public.invest.api.contract.v1.OrdersService/GetOrderState';
export const V1_LIMIT_ORDER_PATH = '/openapi/orders/limit-order';
/** The read calls of the preflight and `npm run secrets`. */
/** A v2 signal's state reads and cancels (and the preflight's check that the token reads them). */
export const GET_POSITIONS_PATH = '/tinkoff.public.invest.api.contract.v1.OperationsService/GetPositions';
export const GET_ORDERS_PATH = '/tinkoff.public.invest.api.contract.v1.OrdersService/GetOrders';
export const CANCEL_ORDER_PATH = '/tinkoff.public.invest.api.contract.v1.OrdersService/CancelOrder';
/** The reads of sizing and the guards (docs/contract.md#guards). */
export const GET_TRADING_STATUS_PATH = '/tinkoff.public.invest.api.contract.v1.MarketDataService/GetTradingStatus';
export const GET_PORTFOLIO_PATH = '/tinkoff.public.invest.api.contract.v1.OperationsService/GetPortfolio';
export const GET_MAX_LOTS_PATH = '/tinkoff.public.invest.api.contract.v1.OrdersService/GetMaxLots';
export const GET_LAST_PRICES_PATH = '/tinkoff.public.invest.api.contract.v1.MarketDataService/GetLastPrices';
/** A protected entry's stop orders (docs/contract.md#protection), and the preflight's check that the token lists them. */
export const POST_STOP_ORDER_PATH = '/tinkoff.public.invest.api.contract.v1.StopOrdersService/PostStopOrder';
export const GET_STOP_ORDERS_PATH = '/tinkoff.public.invest.api.contract.v1.StopOrdersService/GetStopOrders';
export const CANCEL_STOP_ORDER_PATH = '/tinkoff.public.invest.api.contract.v1.StopOrdersService/CancelStopOrder';

export type TinkoffOrderCall = BrokerOrderCall<TinkoffOrderTerms>;
export type TinkoffClient = BrokerClient<TinkoffOrderTerms>;

/**
 * A v2 call with the trading token, safe to resend (keyed by our orderId, a read, or a cancel that names its order).
 */
export function postTinkoffV2(
  dispatcher: Dispatcher,
  target: HttpEndpoint,
  body: string,
  token: string,
  deadline: Deadline,
): Promise<HttpResponse> {
  return sendHttpRequest(dispatcher, {
    endpoint: target,
    headers: { authorization: `Bearer ${token}` },
    body,
    deadline,
    idempotent: true,
  });
}

export interface TinkoffClientOptions {
  readonly dispatcher: Dispatcher;
  /** A v2 signal's second state read goes here, so that both reads run at once. @default `dispatcher` */
  readonly readsDispatcher?: (slot?: number) => Dispatcher;
  /** The reads of sizing and the guards (GetMaxLots, GetLastPrices, GetPortfolio, GetTradingStatus), at once. */
  readonly marketReadsDispatcher?: () => Dispatcher;
  readonly apiUrl: string;
  /** Where a protected entry's watch goes (its follow-up queue); without one a protected entry is refused. */
  readonly followUpQueue?: FollowUpQueue | undefined;
}

/** A call of the stop-order service: the token, the account, the deadline. */
export interface StopOrderCall {
  readonly credential: string;
  readonly account: string;
  readonly deadline: Deadline;
}

/** A follow-up's lookup of one order it placed, by the broker's order id: never a change to it. */
export interface TinkoffOrderLookup {
  readonly credential: string;
  readonly account: string;
  readonly orderId: string;
  readonly deadline: Deadline;
}

/** How many first outcomes a container remembers for answering 30057 duplicates. */
const REMEMBERED_OUTCOMES = 1000;

/** A placed order told as a replay: the broker had it from an earlier call with the same key (a resent signal). */
function replayed(outcome: OrderOutcome): OrderOutcome {
  return outcome.status === 'placed' ? { ...outcome, replayed: true } : outcome;
}

function notReplayed(outcome: OrderOutcome): OrderOutcome {
  return outcome.status === 'placed' ? { ...outcome, replayed: false } : outcome;
}

/** API v2 REST gateway: `OrdersService/PostOrder`, whose `orderId` is the idempotency key (kept about a month). */
export class TinkoffV2Client implements TinkoffClient, SignalClient<TinkoffInstrument, TinkoffSignalTerms> {
  readonly #dispatcher: Dispatcher;
  readonly #readsDispatcher: (slot?: number) => Dispatcher;
  readonly #marketReadsDispatcher: () => Dispatcher;
  readonly #endpoint: HttpEndpoint;
  readonly #stateEndpoint: HttpEndpoint;
  readonly #apiUrl: string;
  readonly #followUpQueue: FollowUpQueue | undefined;
  /**
   * orderId → the first outcome seen for it. A 30057 duplicate carries no report, so on its own it cannot say
   * whether the first call was placed or refused: a resend that reaches the same container is answered as the
   * first call was (with its exact text); elsewhere the order's state is asked of the broker.
   */
  readonly #firstOutcomes = new Map<string, OrderOutcome>();

  constructor(options: TinkoffClientOptions) {
    this.#dispatcher = options.dispatcher;
    this.#readsDispatcher = options.readsDispatcher ?? (() => options.dispatcher);
    this.#marketReadsDispatcher = options.marketReadsDispatcher ?? this.#readsDispatcher;
    this.#endpoint = endpoint(options.apiUrl, POST_ORDER_PATH);
    this.#stateEndpoint = endpoint(options.apiUrl, GET_ORDER_STATE_PATH);
    this.#apiUrl = options.apiUrl;
    this.#followUpQueue = options.followUpQueue;
  }

  async placeLimitOrder(call: TinkoffOrderCall): Promise<OrderOutcome> {
    const body = JSON.stringify(orderToPostOrderRequest(call.terms, call.account, call.requestId));
    if (call.dryRun) return { status: 'dry-run' };
    return (await this.#postOrder(body, call)).outcome;
  }

  /** A v2 signal's order: limit, market or best price, keyed by `orderId` as today's. */
  async placeOrder(call: BrokerOrderCall<TinkoffSignalTerms>): Promise<OrderOutcome> {
    return (await this.placeOrderWithFill(call)).outcome;
  }

  /** A v2 signal's order, with what its answer says it filled (a protected market entry reads it). */
  async placeOrderWithFill(
    call: BrokerOrderCall<TinkoffSignalTerms>,
  ): Promise<{ outcome: OrderOutcome; fill: OrderFill | undefined }> {
    const body = JSON.stringify(signalTermsToPostOrderRequest(call.terms, call.account, call.requestId));
    if (call.dryRun) return { outcome: { status: 'dry-run' }, fill: undefined };
    return this.#postOrder(body, call);
  }

  /** A protected entry: its watch queued, the entry, its stops at once when a market entry filled in its answer. */
  async placeProtected(entry: ProtectedEntry<TinkoffInstrument, TinkoffSignalTerms>): Promise<ProtectedOutcome> {
    return placeTinkoffProtected(this, this.#followUpQueue, entry);
  }

  /**
   * A v2 signal's state: `GetPositions` (pieces), `GetOrders` (the account's active orders) and `GetStopOrders` (its
   * active stop orders, after the orders on their connection), read at once.
   */
  async readState(call: InstrumentCall<TinkoffInstrument>, needs: StateNeeds): Promise<InstrumentState> {
    const positions: PositionsRequest = { accountId: call.account };
    const orders: GetOrdersRequest = { accountId: call.account };
    const stops: GetStopOrdersRequest = { accountId: call.account };
    const ask = (path: string, body: unknown, dispatcher: Dispatcher) =>
      this.#post(endpoint(this.#apiUrl, path), JSON.stringify(body), call.credential, call.deadline, dispatcher);
    const [held, active, stopOrders] = await Promise.all([
      needs.position ? ask(GET_POSITIONS_PATH, positions, this.#dispatcher) : undefined,
      needs.orders ? ask(GET_ORDERS_PATH, orders, this.#readsDispatcher()) : undefined,
      needs.stops === true ? ask(GET_STOP_ORDERS_PATH, stops, this.#readsDispatcher(1)) : undefined,
    ]);
    return {
      position: held === undefined ? 0 : positionsResponseToLots(held.statusCode, held.text, call.instrument),
      activeOrders: active === undefined ? [] : ordersResponseToActive(active.statusCode, active.text, call.instrument),
      ...(stopOrders === undefined
        ? {}
        : { stopOrders: stopOrdersResponseToActive(stopOrders.statusCode, stopOrders.text, call.instrument) }),
    };
  }

  /** `PostStopOrder`, keyed by its `orderId`; `second` sends it on the second connection (a pair's other stop). */
  async postStopOrder(call: StopOrderCall, request: PostStopOrderRequest, second = false): Promise<StopOrderResult> {
    const response = await this.#ask(
      POST_STOP_ORDER_PATH,
      request,
      call,
      second ? this.#readsDispatcher() : this.#dispatcher,
    );
    return postStopOrderResponseToResult(response.statusCode, response.text);
  }

  /** `GetStopOrders`: the active ones, or (with `since`) all of any status placed since then. */
  async stopOrders(call: StopOrderCall, since?: string): Promise<StopOrder[]> {
    const request: GetStopOrdersRequest =
      since === undefined
        ? { accountId: call.account }
        : { accountId: call.account, status: 'STOP_ORDER_STATUS_ALL', from: since };
    const response = await this.#ask(GET_STOP_ORDERS_PATH, request, call);
    return stopOrdersResponse(response.statusCode, response.text);
  }

  /** `CancelStopOrder` by its id: a second cancel of the same stop order cancels nothing more. */
  async cancelStopOrder(call: StopOrderCall, stopOrderId: string): Promise<CancelResult> {
    const request: CancelStopOrderRequest = { accountId: call.account, stopOrderId };
    const response = await this.#ask(CANCEL_STOP_ORDER_PATH, request, call);
    return cancelResponseToResult(response.statusCode, response.text);
  }

  /** What an order filled, by our key (`ORDER_ID_TYPE_REQUEST`); undefined when T-Invest knows no such order. */
  async orderFill(call: StopOrderCall, requestId: string): Promise<OrderFill | undefined> {
    const request: GetOrderStateRequest = {
      accountId: call.account,
      orderId: requestId,
      orderIdType: 'ORDER_ID_TYPE_REQUEST',
    };
    const response = await this.#post(this.#stateEndpoint, JSON.stringify(request), call.credential, call.deadline);
    return orderStateResponseToFill(response.statusCode, response.text);
  }

  /** `CancelOrder` by the exchange's order id, or `CancelStopOrder`: a resent cancel cancels nothing more. */
  async cancelOrder(call: InstrumentCall<TinkoffInstrument>, order: ActiveOrder): Promise<CancelResult> {
    if (order.stop === true) return this.cancelStopOrder(call, order.id);
    const request: CancelOrderRequest = {
      accountId: call.account,
      orderId: order.id,
      orderIdType: 'ORDER_ID_TYPE_EXCHANGE',
    };
    const response = await this.#ask(CANCEL_ORDER_PATH, request, call);
    return cancelResponseToResult(response.statusCode, response.text);
  }

  /** `GetTradingStatus` of the instrument (its uid, else the id the signal gave): the order types taken now. */
  async tradingStatus(call: InstrumentCall<TinkoffInstrument>): Promise<TradingStatus> {
    const request: TradingStatusRequest = { instrumentId: call.instrument.uid ?? call.instrument.id };
    const response = await this.#ask(GET_TRADING_STATUS_PATH, request, call, this.#marketReadsDispatcher());
    return tradingStatusResponseToStatus(response.statusCode, response.text);
  }

  /** `GetPortfolio` in roubles: the portfolio's value and the day's result. */
  async portfolio(
    call: Pick<InstrumentCall<unknown>, 'credential' | 'account' | 'deadline'>,
  ): Promise<AccountPortfolio> {
    const request: PortfolioRequest = { accountId: call.account, currency: 'RUB' };
    const response = await this.#ask(GET_PORTFOLIO_PATH, request, call, this.#marketReadsDispatcher());
    return portfolioResponseToPortfolio(response.statusCode, response.text);
  }

  /**
   * A lot's price and the account's lots: `GetMaxLots` (at the limit price, or the order book's) and, for an order
   * without a price, `GetLastPrices`, at once. Shares and funds priced in roubles only ([not-supported](docs/contract.md#not-supported)).
   */
  async quote(call: InstrumentCall<TinkoffInstrument>, options: SignalOptions): Promise<LotQuote> {
    const { instrument } = call;
    const unsizable = unsizableReason(instrument);
    if (unsizable !== undefined) {
      throw new SignalRefusedError('not-supported', `T-Invest: стоимость заявки в рублях не оценить: ${unsizable}`);
    }
    const id = instrument.uid ?? instrument.id;
    const maxLots: MaxLotsRequest = {
      accountId: call.account,
      instrumentId: id,
      ...(options.price === undefined ? {} : { price: decimalToQuotation(options.price) }),
    };
    const lastPrices: LastPricesRequest = { instrumentId: [id] };
    const [limits, last] = await Promise.all([
      this.#ask(GET_MAX_LOTS_PATH, maxLots, call, this.#marketReadsDispatcher()),
      options.price === undefined
        ? this.#ask(GET_LAST_PRICES_PATH, lastPrices, call, this.#marketReadsDispatcher())
        : undefined,
    ]);
    const price = last === undefined ? Number(options.price) : lastPricesResponseToPrice(last.statusCode, last.text);
    return maxLotsToQuote(limits.statusCode, limits.text, instrument, price, options.type);
  }

  /** A request of the API's own (`path`) with the call's token, within its deadline. */
  #ask(
    path: string,
    request: unknown,
    call: Pick<InstrumentCall<unknown>, 'credential' | 'deadline'>,
    dispatcher = this.#dispatcher,
  ) {
    return this.#post(
      endpoint(this.#apiUrl, path),
      JSON.stringify(request),
      call.credential,
      call.deadline,
      dispatcher,
    );
  }

  /**
   * A PostOrder, its 30057 duplicate answered from the first outcome seen, else from the order's state; with what the
   * answer says filled.
   */
  async #postOrder(
    body: string,
    call: BrokerOrderCall<unknown>,
  ): Promise<{ outcome: OrderOutcome; fill: OrderFill | undefined }> {
    const response = await this.#post(this.#endpoint, body, call.credential, call.deadline);
    const result = postOrderResponseToOutcome(response.statusCode, response.text);
    const first = this.#firstOutcomes.get(call.requestId);
    if (result.status === 'duplicate') {
      // On this call's own resend, the duplicate is the order its first send placed: not a replay of a signal.
      const outcome = first ?? (await this.#orderStateOf(call));
      return {
        outcome: response.resent === true && first === undefined ? notReplayed(outcome) : replayed(outcome),
        fill: undefined,
      };
    }
    const fill = response.statusCode === 200 ? orderFillOf(response.text) : undefined;
    // A 200 that repeats the report of an orderId this container placed before: the signal was resent.
    if (first !== undefined) return { outcome: replayed(result), fill };
    if (this.#firstOutcomes.size >= REMEMBERED_OUTCOMES) {
      const oldest = this.#firstOutcomes.keys().next();
      if (oldest.done !== true) this.#firstOutcomes.delete(oldest.value);
    }
    this.#firstOutcomes.set(call.requestId, result);
    return { outcome: result, fill };
  }

  /** `GetOrderState` by our idempotency key: what became of the order a 30057 duplicate refers to. */
  async #orderStateOf(call: BrokerOrderCall<unknown>): Promise<OrderOutcome> {
    const request: GetOrderStateRequest = {
      accountId: call.account,
      orderId: call.requestId,
      orderIdType: 'ORDER_ID_TYPE_REQUEST',
    };
    const response = await this.#post(this.#stateEndpoint, JSON.stringify(request), call.credential, call.deadline);
    return orderStateResponseToOutcome(response.statusCode, response.text);
  }

  /** `GetOrderState` by the broker's order id: what a follow-up reads. */
  async lookUpOrder(lookup: TinkoffOrderLookup): Promise<OrderState> {
    const request: GetOrderStateRequest = {
      accountId: lookup.account,
      orderId: lookup.orderId,
      orderIdType: 'ORDER_ID_TYPE_EXCHANGE',
    };
    const response = await this.#post(this.#stateEndpoint, JSON.stringify(request), lookup.credential, lookup.deadline);
    return orderLookupResponseToState(response.statusCode, response.text);
  }

  /**
   * Every v2 call: the trading token, the request's deadline, and safe to resend (keyed by our orderId, a read, or a
   * cancel that names its order).
   */
  #post(target: HttpEndpoint, body: string, token: string, deadline: Deadline, dispatcher = this.#dispatcher) {
    return postTinkoffV2(dispatcher, target, body, token, deadline);
  }
}

/** The retired v1 API (`/openapi/orders/limit-order`), for v1-compatible endpoints. It has no idempotency key. */
export class TinkoffV1Client implements TinkoffClient {
  readonly #dispatcher: Dispatcher;
  readonly #endpoint: HttpEndpoint;

  constructor(options: TinkoffClientOptions) {
    this.#dispatcher = options.dispatcher;
    this.#endpoint = endpoint(options.apiUrl, V1_LIMIT_ORDER_PATH);
  }

  async placeLimitOrder(call: TinkoffOrderCall): Promise<OrderOutcome> {
    const body = JSON.stringify(orderToV1LimitOrder(call.terms));
    if (call.dryRun) return { status: 'dry-run' };
    const query = new URLSearchParams({ figi: call.terms.figi, brokerAccountId: call.account }).toString();
    const response = await sendHttpRequest(this.#dispatcher, {
      endpoint: this.#endpoint,
      query,
      headers: { authorization: `Bearer ${call.credential}` },
      body,
      deadline: call.deadline,
      // v1 has no idempotency key: only a request that never left is resent.
      idempotent: false,
    });
    return v1ResponseToOutcome(response.statusCode, response.text);
  }
}
