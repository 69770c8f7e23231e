import type { Dispatcher } from 'undici';
import { type BrokerEndpoint, endpoint, sendBrokerRequest } from '../../http/outbound/client.ts';
import type { Deadline } from '../../http/outbound/deadline.ts';
import type { BrokerClient, BrokerOrderCall, KeepWarmCall } from '../broker-handler.ts';
import type { OrderState } from '../order-state.ts';
import type { OrderOutcome } from '../outcome.ts';
import { AccessTokenCache } from './access-token.ts';
import {
  type AlorOrderTerms,
  orderLookupResponseToState,
  orderResponseToOutcome,
  refreshResponseToAccessToken,
  securityResponseToInstrument,
  summaryResponseToAnswers,
  termsToAlorLimitOrder,
} from './mapping.ts';
import type { AlorSecurity } from './schemas.ts';

export const LIMIT_ORDER_PATH = '/commandapi/warptrans/TRADE/v2/client/orders/actions/limit';
/** The read calls of the preflight (`MdV2ClientsExchangePortfolioSummaryGet`, `MdV2SecuritiesExchangeSymbolGet`). */
export const portfolioSummaryPath = (exchange: string, portfolio: string) =>
  `/md/v2/Clients/${exchange}/${encodeURIComponent(portfolio)}/summary`;
export const securityPath = (exchange: string, symbol: string) =>
  `/md/v2/Securities/${exchange}/${encodeURIComponent(symbol)}`;
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

export interface AlorClientOptions {
  readonly dispatcher: Dispatcher;
  readonly oauthUrl: string;
  readonly apiUrl: string;
  readonly tokens?: AccessTokenCache;
}

/** Alor's transport: refresh token → access token (cached, see access-token.ts) → limit order with `X-REQID`. */
export class AlorClient implements BrokerClient<AlorOrderTerms> {
  readonly #dispatcher: Dispatcher;
  readonly #refreshEndpoint: BrokerEndpoint;
  readonly #orderEndpoint: BrokerEndpoint;
  readonly #apiUrl: string;
  readonly #tokens: AccessTokenCache;

  constructor(options: AlorClientOptions) {
    this.#dispatcher = options.dispatcher;
    this.#apiUrl = options.apiUrl;
    this.#refreshEndpoint = endpoint(options.oauthUrl, '/refresh');
    this.#orderEndpoint = endpoint(options.apiUrl, LIMIT_ORDER_PATH);
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
    const refreshToken = lookup.credential;
    const refresh = () => this.refreshAccessToken(refreshToken, lookup.deadline);
    const path = orderLookupPath(lookup.exchange, lookup.account, lookup.orderId);
    const token = await this.#tokens.get(refreshToken, refresh);
    let response = await this.#read(path, token.value, lookup.deadline);
    if (response.statusCode === 401 && token.fromCache) {
      this.#tokens.invalidate(refreshToken, token.value);
      response = await this.#read(path, (await this.#tokens.get(refreshToken, refresh)).value, lookup.deadline);
    }
    return orderLookupResponseToState(response.statusCode, response.text);
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
    const response = await sendBrokerRequest(this.#dispatcher, {
      endpoint: this.#refreshEndpoint,
      query: `token=${encodeURIComponent(refreshToken)}`,
      deadline,
      idempotent: true,
    });
    return refreshResponseToAccessToken(response.statusCode, response.text);
  }

  /** Whether the portfolio answers on the exchange (its summary). */
  async portfolioAnswers(accessToken: string, exchange: string, portfolio: string, deadline: Deadline) {
    const response = await this.#read(portfolioSummaryPath(exchange, portfolio), accessToken, deadline);
    return summaryResponseToAnswers(response.statusCode, response.text);
  }

  /** The instrument a signal's ticker names on the exchange, or undefined when the exchange has none. */
  async security(
    accessToken: string,
    exchange: string,
    symbol: string,
    deadline: Deadline,
  ): Promise<AlorSecurity | undefined> {
    const response = await this.#read(securityPath(exchange, symbol), accessToken, deadline);
    return securityResponseToInstrument(response.statusCode, response.text);
  }

  /** A GET of market data or client info: no side effect, so safe to resend. */
  #read(path: string, accessToken: string, deadline: Deadline) {
    return sendBrokerRequest(this.#dispatcher, {
      endpoint: endpoint(this.#apiUrl, path),
      query: READ_FORMAT,
      method: 'GET',
      headers: { authorization: `Bearer ${accessToken}` },
      deadline,
      idempotent: true,
    });
  }

  #sendOrder(body: string, accessToken: string, call: BrokerOrderCall<AlorOrderTerms>) {
    return sendBrokerRequest(this.#dispatcher, {
      endpoint: this.#orderEndpoint,
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
