import type { Dispatcher } from 'undici';
import { SignalRefusedError } from '../../errors.ts';
import { TRADING_STATUS_TTL_MS } from '../../facts.ts';
import { endpoint, type HttpEndpoint, type HttpResponse, sendHttpRequest } from '../../http/outbound/client.ts';
import type { Deadline } from '../../http/outbound/deadline.ts';
import type { SignalOptions } from '../../signal.ts';
import type { KeepWarmCall } from '../container.ts';
import type { FollowUpQueue } from '../follow-up-queue.ts';
import type { AccountPortfolio, TradingStatus } from '../guards.ts';
import type { BrokerClient, BrokerOrderCall } from '../order-recipe.ts';
import type { OrderState } from '../order-state.ts';
import type { OrderOutcome } from '../outcome.ts';
import { Remembered } from '../remembered.ts';
import type { ActiveOrder, InstrumentState, StateNeeds } from '../signal-plan.ts';
import type { CancelResult, InstrumentCall, ProtectedEntry, ProtectedOutcome, SignalClient } from '../signal-recipe.ts';
import type { LotQuote } from '../sizing.ts';
import { AccessTokenCache } from './access-token.ts';
import {
  type AlorFill,
  type AlorInstrument,
  type AlorOrderTerms,
  type AlorSignalTerms,
  cancelResponseToResult,
  estimateResponseToQuote,
  type GroupResult,
  groupResponseToResult,
  orderLookupResponseToState,
  orderResponseToOutcome,
  ordersResponseToActive,
  positionResponseToLots,
  refreshResponseToAccessToken,
  securityResponseToInstrument,
  securityToTradingStatus,
  signalTermsToAlorOrder,
  stopOrdersResponse,
  stopOrdersResponseToActive,
  summaryResponseToPortfolio,
  termsToAlorLimitOrder,
  tradesResponseToFill,
  unsizableReason,
} from './mapping.ts';
import { placeAlorProtected } from './protection.ts';
import type { AlorEstimateRequest, AlorOrderGroupRequest, AlorSecurity, AlorStopOrderRequest } from './schemas.ts';

export const LIMIT_ORDER_PATH = '/commandapi/warptrans/TRADE/v2/client/orders/actions/limit';
/** `CommandapiWarptransTradeV2ClientOrdersActionsMarketPost`: a v2 signal's market order. */
export const MARKET_ORDER_PATH = '/commandapi/warptrans/TRADE/v2/client/orders/actions/market';
/** A v2 signal's state reads: the position in one instrument, and the portfolio's orders of the day. */
export const positionPath = (exchange: string, portfolio: string, symbol: string) =>
  `/md/v2/Clients/${exchange}/${encodeURIComponent(portfolio)}/positions/${encodeURIComponent(symbol)}`;
export const ordersPath = (exchange: string, portfolio: string) =>
  `/md/v2/Clients/${exchange}/${encodeURIComponent(portfolio)}/orders`;
/** The preflight's read of every position of the portfolio (`MdV2ClientsExchangePortfolioPositionsGet`). */
export const positionsPath = (exchange: string, portfolio: string) =>
  `/md/v2/Clients/${exchange}/${encodeURIComponent(portfolio)}/positions`;
/** `CommandapiWarptransTradeV2ClientOrdersOrderIdDelete`: one order cancelled (`stop=false`: not a stop order). */
export const cancelOrderPath = (orderId: string) =>
  `/commandapi/warptrans/TRADE/v2/client/orders/${encodeURIComponent(orderId)}`;
/** The read calls of the preflight (`MdV2ClientsExchangePortfolioSummaryGet`, `MdV2SecuritiesExchangeSymbolGet`). */
export const portfolioSummaryPath = (exchange: string, portfolio: string) =>
  `/md/v2/Clients/${exchange}/${encodeURIComponent(portfolio)}/summary`;
export const securityPath = (exchange: string, symbol: string) =>
  `/md/v2/Securities/${exchange}/${encodeURIComponent(symbol)}`;
/** `CommandapiWarptransTradeV2ClientOrdersEstimatePost`: what one lot costs and how many the account may trade. */
export const ESTIMATE_PATH = '/commandapi/warptrans/TRADE/v2/client/orders/estimate';
/** `CommandapiWarptransTradeV2ClientOrdersActionsStopPost`: a stop order (a market order on its trigger). */
export const STOP_ORDER_PATH = '/commandapi/warptrans/TRADE/v2/client/orders/actions/stop';
/** `CommandapiApiOrderGroupsPost`: orders placed before, linked in a group on Alor's servers. */
export const ORDER_GROUPS_PATH = '/commandapi/api/orderGroups';
/** `MdV2ClientsExchangePortfolioStopOrdersGet`: the portfolio's stop orders. */
export const stopOrdersPath = (exchange: string, portfolio: string) =>
  `/md/v2/Clients/${exchange}/${encodeURIComponent(portfolio)}/stoporders`;
/** `MdV2ClientsExchangePortfolioSymbolTradesGet`: the session's trades of one symbol (a market entry's fill). */
export const symbolTradesPath = (exchange: string, portfolio: string, symbol: string) =>
  `/md/v2/Clients/${exchange}/${encodeURIComponent(portfolio)}/${encodeURIComponent(symbol)}/trades`;
/** `query_Format_Optional`: the original format, whose schemas the mapping reads. */
const READ_FORMAT = 'format=Simple';

/** One order of a portfolio (`MdV2ClientsExchangePortfolioOrdersOrderIdGet`): what a follow-up reads. */
export const orderLookupPath = (exchange: string, portfolio: string, orderId: string) =>
  `/md/v2/Clients/${exchange}/${encodeURIComponent(portfolio)}/orders/${encodeURIComponent(orderId)}`;

/** A follow-up's lookup of one order it placed: never a change to it. */
export interface AlorOrderLookup {
  readonly credential: string;
  readonly account: string;
  readonly exchange: string;
  readonly orderId: string;
  readonly deadline: Deadline;
}

/** A GET of market data or client info with an access token: no side effect, so safe to resend. */
export function readAlorApi(
  dispatcher: Dispatcher,
  apiUrl: string,
  path: string,
  accessToken: string,
  deadline: Deadline,
): Promise<HttpResponse> {
  return sendHttpRequest(dispatcher, {
    endpoint: endpoint(apiUrl, path),
    query: READ_FORMAT,
    method: 'GET',
    headers: { authorization: `Bearer ${accessToken}` },
    deadline,
    idempotent: true,
  });
}

export interface AlorClientOptions {
  readonly dispatcher: Dispatcher;
  /** A v2 signal's second state read goes here, so that both reads run at once. @default `dispatcher` */
  readonly readsDispatcher?: (slot?: number) => Dispatcher;
  /** The reads of sizing and the guards (estimate, summary, security), at once. @default `readsDispatcher` */
  readonly marketReadsDispatcher?: () => Dispatcher;
  readonly oauthUrl: string;
  readonly apiUrl: string;
  readonly tokens?: AccessTokenCache;
  /** Where a protected entry's watch goes (its follow-up queue): what Alor's servers do with the pair is told from it. */
  readonly followUpQueue?: FollowUpQueue | undefined;
}

/** Alor's transport: refresh token → access token (cached, see access-token.ts) → limit order with `X-REQID`. */
export class AlorClient implements BrokerClient<AlorOrderTerms>, SignalClient<AlorInstrument, AlorSignalTerms> {
  readonly #dispatcher: Dispatcher;
  readonly #readsDispatcher: (slot?: number) => Dispatcher;
  readonly #marketReadsDispatcher: () => Dispatcher;
  readonly #refreshEndpoint: HttpEndpoint;
  readonly #orderEndpoint: HttpEndpoint;
  readonly #marketOrderEndpoint: HttpEndpoint;
  readonly #apiUrl: string;
  readonly #tokens: AccessTokenCache;
  readonly followUpQueue: FollowUpQueue | undefined;
  /**
   * Securities read in the last {@link TRADING_STATUS_TTL_MS}, by exchange and symbol: a signal that needs the lot and
   * the trading status reads the security once.
   */
  readonly #securities = new Remembered<Promise<AlorSecurity | undefined>>(500);

  constructor(options: AlorClientOptions) {
    this.followUpQueue = options.followUpQueue;
    this.#dispatcher = options.dispatcher;
    this.#readsDispatcher = options.readsDispatcher ?? (() => options.dispatcher);
    this.#marketReadsDispatcher = options.marketReadsDispatcher ?? this.#readsDispatcher;
    this.#apiUrl = options.apiUrl;
    this.#refreshEndpoint = endpoint(options.oauthUrl, '/refresh');
    this.#orderEndpoint = endpoint(options.apiUrl, LIMIT_ORDER_PATH);
    this.#marketOrderEndpoint = endpoint(options.apiUrl, MARKET_ORDER_PATH);
    this.#tokens = options.tokens ?? new AccessTokenCache();
  }

  async placeLimitOrder(call: BrokerOrderCall<AlorOrderTerms>): Promise<OrderOutcome> {
    const refreshToken = call.credential;
    const refresh = () => this.refreshAccessToken(refreshToken, call.deadline);
    const body = JSON.stringify(termsToAlorLimitOrder(call.terms, call.account));
    const token = await this.#tokens.get(refreshToken, refresh);
    if (call.dryRun) return { status: 'dry-run' };
    let response = await this.#sendOrder(body, token.value, call);
    if (response.statusCode === 401 && token.fromCache) {
      // The cached JWT was revoked early: one fresh token, the same X-REQID, so still at most one order.
      this.#tokens.invalidate(refreshToken, token.value);
      const fresh = await this.#tokens.get(refreshToken, refresh);
      response = await this.#sendOrder(body, fresh.value, call);
    }
    const outcome = orderResponseToOutcome(response.statusCode, response.text);
    // "Already handled" on this call's own resend answers its first send: the order is this signal's, not a replay.
    return outcome.status === 'placed' && response.resent === true ? { ...outcome, replayed: false } : outcome;
  }

  /** The order's state (`GET …/orders/{orderId}`): a read, with the same access token cache as orders. */
  async lookUpOrder(lookup: AlorOrderLookup): Promise<OrderState> {
    const path = orderLookupPath(lookup.exchange, lookup.account, lookup.orderId);
    const response = await this.#withToken(lookup.credential, lookup.deadline, (token) =>
      this.#read(path, token, lookup.deadline),
    );
    return orderLookupResponseToState(response.statusCode, response.text);
  }

  /**
   * A request with the cached access token; when Alor answers 401 on a cached one (revoked early), once more with a
   * fresh one. A request that changes something (an order, a cancel) is keyed or names its order, so never doubles.
   */
  async #withToken(
    refreshToken: string,
    deadline: Deadline,
    send: (accessToken: string) => Promise<HttpResponse>,
  ): Promise<HttpResponse> {
    const refresh = () => this.refreshAccessToken(refreshToken, deadline);
    const token = await this.#tokens.get(refreshToken, refresh);
    const response = await send(token.value);
    if (response.statusCode !== 401 || !token.fromCache) return response;
    this.#tokens.invalidate(refreshToken, token.value);
    return send((await this.#tokens.get(refreshToken, refresh)).value);
  }

  /**
   * A v2 signal's state: the position (`…/positions/{symbol}`), the working orders (`…/orders`) and the stop orders
   * (`…/stoporders`), read at once (the stop orders after the orders, on their connection).
   */
  async readState(call: InstrumentCall<AlorInstrument>, needs: StateNeeds): Promise<InstrumentState> {
    const { instrument, account, deadline } = call;
    const { exchange, symbol } = instrument;
    const read = (path: string, dispatcher: Dispatcher) =>
      this.#withToken(call.credential, deadline, (token) => this.#read(path, token, deadline, dispatcher));
    const [position, orders, stops] = await Promise.all([
      needs.position ? read(positionPath(exchange, account, symbol), this.#dispatcher) : undefined,
      needs.orders ? read(ordersPath(exchange, account), this.#readsDispatcher()) : undefined,
      needs.stops === true ? read(stopOrdersPath(exchange, account), this.#readsDispatcher(1)) : undefined,
    ]);
    return {
      position: position === undefined ? 0 : positionResponseToLots(position.statusCode, position.text),
      activeOrders: orders === undefined ? [] : ordersResponseToActive(orders.statusCode, orders.text, instrument),
      ...(stops === undefined
        ? {}
        : { stopOrders: stopOrdersResponseToActive(stops.statusCode, stops.text, instrument) }),
    };
  }

  /**
   * Cancels one order, or stop order (`stop=true`), by its number; cancelling twice is answered 400 (not found), read
   * as unconfirmed.
   */
  async cancelOrder(call: InstrumentCall<AlorInstrument>, order: ActiveOrder): Promise<CancelResult> {
    const query = new URLSearchParams({
      portfolio: call.account,
      exchange: call.instrument.exchange,
      stop: order.stop === true ? 'true' : 'false',
    }).toString();
    const response = await this.#withToken(call.credential, call.deadline, (token) =>
      sendHttpRequest(this.#dispatcher, {
        endpoint: endpoint(this.#apiUrl, cancelOrderPath(order.id)),
        query,
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
        deadline: call.deadline,
        // It names the order: a resent cancel cancels nothing more.
        idempotent: true,
      }),
    );
    return cancelResponseToResult(response.statusCode, response.text);
  }

  /** A v2 signal's order: limit or market, keyed by `X-REQID` as today's, its key also in its comment. */
  async placeOrder(call: BrokerOrderCall<AlorSignalTerms>): Promise<OrderOutcome> {
    const body = JSON.stringify(signalTermsToAlorOrder(call.terms, call.account, call.requestId));
    const target = call.terms.type === 'limit' ? this.#orderEndpoint : this.#marketOrderEndpoint;
    if (call.dryRun) return { status: 'dry-run' };
    const response = await this.#withToken(call.credential, call.deadline, (token) =>
      this.#sendOrder(body, token, call, target),
    );
    return orderResponseToOutcome(response.statusCode, response.text);
  }

  /** A protected entry and its protection: a group on Alor's servers (shared/brokers/alor/protection.ts). */
  placeProtected(entry: ProtectedEntry<AlorInstrument, AlorSignalTerms>): Promise<ProtectedOutcome> {
    return placeAlorProtected(this, entry);
  }

  /**
   * A stop order (`actions/stop`), keyed by `X-REQID` as an order is; `second` sends it on the second connection (a
   * pair's other stop, at once).
   */
  async placeStop(
    call: InstrumentCall<AlorInstrument>,
    body: AlorStopOrderRequest,
    requestId: string,
    second = false,
  ): Promise<OrderOutcome> {
    const send = { requestId, deadline: call.deadline };
    const dispatcher = second ? this.#readsDispatcher() : this.#dispatcher;
    const response = await this.#withToken(call.credential, call.deadline, (token) =>
      this.#sendOrder(JSON.stringify(body), token, send, endpoint(this.#apiUrl, STOP_ORDER_PATH), dispatcher),
    );
    return orderResponseToOutcome(response.statusCode, response.text);
  }

  /**
   * Links orders in a group (`POST /commandapi/api/orderGroups`). The call takes no request key: a resent one links
   * the same orders once more, which Alor allows ("the same order can be part of several groups") and which changes
   * nothing; so it is resent as the reads are.
   */
  async createGroup(
    call: InstrumentCall<AlorInstrument>,
    group: AlorOrderGroupRequest,
    second = false,
  ): Promise<GroupResult> {
    const dispatcher = second ? this.#readsDispatcher() : this.#dispatcher;
    const response = await this.#withToken(call.credential, call.deadline, (token) =>
      sendHttpRequest(dispatcher, {
        endpoint: endpoint(this.#apiUrl, ORDER_GROUPS_PATH),
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify(group),
        deadline: call.deadline,
        idempotent: true,
      }),
    );
    return groupResponseToResult(response.statusCode, response.text);
  }

  /** What an order filled (lots, average price), from the symbol's trades of the session. */
  async orderFill(call: InstrumentCall<AlorInstrument>, orderId: string): Promise<AlorFill> {
    const { exchange, symbol } = call.instrument;
    const path = symbolTradesPath(exchange, call.account, symbol);
    const response = await this.#withToken(call.credential, call.deadline, (token) =>
      this.#read(path, token, call.deadline),
    );
    return tradesResponseToFill(response.statusCode, response.text, orderId);
  }

  /**
   * A symbol's security on an exchange (lot size, price step, currency), or undefined when the exchange lists no such
   * symbol; read once for a signal's lot and its trading status ({@link tradingStatus}).
   */
  securityOf(
    refreshToken: string,
    exchange: string,
    symbol: string,
    deadline: Deadline,
  ): Promise<AlorSecurity | undefined> {
    return this.#security(refreshToken, exchange, symbol, deadline, this.#dispatcher);
  }

  /** The lot size of a symbol on an exchange (its security), or undefined when the exchange lists no such symbol. */
  async lotSize(
    refreshToken: string,
    exchange: string,
    symbol: string,
    deadline: Deadline,
  ): Promise<number | undefined> {
    const security = await this.securityOf(refreshToken, exchange, symbol, deadline);
    return security === undefined ? undefined : (security.lotsize ?? 1);
  }

  /** The instrument's trading status, from its security. */
  async tradingStatus(call: InstrumentCall<AlorInstrument>): Promise<TradingStatus> {
    const { instrument } = call;
    const security = await this.#security(
      call.credential,
      instrument.exchange,
      instrument.symbol,
      call.deadline,
      this.#marketReadsDispatcher(),
    );
    return securityToTradingStatus(security, instrument);
  }

  /** The portfolio's value and the day's result on the instrument's exchange (its summary). */
  async portfolio(call: InstrumentCall<AlorInstrument>): Promise<AccountPortfolio> {
    const path = portfolioSummaryPath(call.instrument.exchange, call.account);
    const response = await this.#withToken(call.credential, call.deadline, (token) =>
      this.#read(path, token, call.deadline, this.#marketReadsDispatcher()),
    );
    return summaryResponseToPortfolio(response.statusCode, response.text);
  }

  /**
   * One lot estimated (`…/orders/estimate`) at the limit price or the market's: its cost and the lots the account may
   * trade without margin. Instruments priced in roubles only ([not-supported](docs/contract.md#not-supported)).
   */
  async quote(call: InstrumentCall<AlorInstrument>, options: SignalOptions): Promise<LotQuote> {
    const { instrument } = call;
    const unsizable = unsizableReason(instrument);
    if (unsizable !== undefined) {
      throw new SignalRefusedError('not-supported', `Alor: стоимость заявки в рублях не оценить: ${unsizable}`);
    }
    const price = options.price === undefined ? undefined : Number(options.price);
    const request: AlorEstimateRequest = {
      portfolio: call.account,
      ticker: instrument.symbol,
      exchange: instrument.exchange,
      ...(price === undefined ? {} : { price }),
      lotQuantity: 1,
      includeLimitOrders: true,
    };
    const response = await this.#withToken(call.credential, call.deadline, (token) =>
      sendHttpRequest(this.#marketReadsDispatcher(), {
        endpoint: endpoint(this.#apiUrl, ESTIMATE_PATH),
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify(request),
        deadline: call.deadline,
        // An estimate changes nothing: safe to resend.
        idempotent: true,
      }),
    );
    return estimateResponseToQuote(response.statusCode, response.text, instrument, price);
  }

  #security(refreshToken: string, exchange: string, symbol: string, deadline: Deadline, dispatcher: Dispatcher) {
    const key = `${exchange}:${symbol}`;
    const known = this.#securities.get(key);
    if (known !== undefined) return known;
    const reading = this.#withToken(refreshToken, deadline, (token) =>
      this.#read(securityPath(exchange, symbol), token, deadline, dispatcher),
    ).then((response) => securityResponseToInstrument(response.statusCode, response.text));
    this.#securities.set(key, reading, TRADING_STATUS_TTL_MS);
    reading.catch(() => this.#securities.set(key, reading, 0));
    return reading;
  }

  /** The portfolio's stop orders (a protected entry's watch reads its pair there). */
  async stopOrders(call: Omit<InstrumentCall<AlorInstrument>, 'instrument'> & { exchange: string }) {
    const path = stopOrdersPath(call.exchange, call.account);
    const response = await this.#withToken(call.credential, call.deadline, (token) =>
      this.#read(path, token, call.deadline),
    );
    return stopOrdersResponse(response.statusCode, response.text);
  }

  /** Keep-warm: refreshes the access token now when it would expire before `validForMs` has passed. */
  async keepWarm(call: KeepWarmCall): Promise<void> {
    await this.#tokens.get(
      call.credential,
      () => this.refreshAccessToken(call.credential, call.deadline),
      call.validForMs,
    );
  }

  /** A fresh access token, never from the cache: what the preflight asks to see the refresh token accepted. */
  async refreshAccessToken(refreshToken: string, deadline: Deadline): Promise<string> {
    const response = await sendHttpRequest(this.#dispatcher, {
      endpoint: this.#refreshEndpoint,
      query: `token=${encodeURIComponent(refreshToken)}`,
      deadline,
      idempotent: true,
    });
    return refreshResponseToAccessToken(response.statusCode, response.text);
  }

  #read(path: string, accessToken: string, deadline: Deadline, dispatcher = this.#dispatcher) {
    return readAlorApi(dispatcher, this.#apiUrl, path, accessToken, deadline);
  }

  #sendOrder(
    body: string,
    accessToken: string,
    call: Pick<BrokerOrderCall<unknown>, 'requestId' | 'deadline'>,
    target = this.#orderEndpoint,
    dispatcher = this.#dispatcher,
  ) {
    return sendHttpRequest(dispatcher, {
      endpoint: target,
      headers: {
        authorization: `Bearer ${accessToken}`,
        'x-reqid': call.requestId,
        // Deprecated but still read by some Alor gateways: send both, always equal.
        'x-alor-reqid': call.requestId,
      },
      body,
      deadline: call.deadline,
      idempotent: true,
    });
  }
}
