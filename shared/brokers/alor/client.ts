import type { Dispatcher } from 'undici';
import { type BrokerEndpoint, endpoint, sendBrokerRequest } from '../../http/outbound/client.ts';
import type { Deadline } from '../../http/outbound/deadline.ts';
import type { BrokerClient, BrokerOrderCall } from '../broker-handler.ts';
import type { OrderState } from '../order-state.ts';
import type { OrderOutcome } from '../outcome.ts';
import { AccessTokenCache } from './access-token.ts';
import {
  type AlorOrderTerms,
  orderLookupResponseToState,
  orderResponseToOutcome,
  refreshResponseToAccessToken,
  termsToAlorLimitOrder,
} from './mapping.ts';

export const LIMIT_ORDER_PATH = '/commandapi/warptrans/TRADE/v2/client/orders/actions/limit';

/** `GET` one order of a portfolio, in the `Simple` format: what a follow-up reads. */
export function orderLookupPath(exchange: string, portfolio: string, orderId: string): string {
  const segment = encodeURIComponent;
  return `/md/v2/Clients/${segment(exchange)}/${segment(portfolio)}/orders/${segment(orderId)}`;
}

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
  readonly #tokens: AccessTokenCache;
  readonly #apiUrl: string;

  constructor(options: AlorClientOptions) {
    this.#dispatcher = options.dispatcher;
    this.#apiUrl = options.apiUrl;
    this.#refreshEndpoint = endpoint(options.oauthUrl, '/refresh');
    this.#orderEndpoint = endpoint(options.apiUrl, LIMIT_ORDER_PATH);
    this.#tokens = options.tokens ?? new AccessTokenCache();
  }

  async placeLimitOrder(call: BrokerOrderCall<AlorOrderTerms>): Promise<OrderOutcome> {
    const refreshToken = call.credential;
    const refresh = () => this.#refreshAccessToken(refreshToken, call.deadline);
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
    return orderResponseToOutcome(response.statusCode, response.text);
  }

  /** The order's state (`GET …/orders/{orderId}`): a read, with the same access token cache as orders. */
  async lookUpOrder(lookup: AlorOrderLookup): Promise<OrderState> {
    const refreshToken = lookup.credential;
    const refresh = () => this.#refreshAccessToken(refreshToken, lookup.deadline);
    const target = endpoint(this.#apiUrl, orderLookupPath(lookup.exchange, lookup.account, lookup.orderId));
    const get = (accessToken: string) =>
      sendBrokerRequest(this.#dispatcher, {
        endpoint: target,
        query: 'format=Simple',
        method: 'GET',
        headers: { authorization: `Bearer ${accessToken}` },
        deadline: lookup.deadline,
        idempotent: true,
      });
    const token = await this.#tokens.get(refreshToken, refresh);
    let response = await get(token.value);
    if (response.statusCode === 401 && token.fromCache) {
      this.#tokens.invalidate(refreshToken, token.value);
      response = await get((await this.#tokens.get(refreshToken, refresh)).value);
    }
    return orderLookupResponseToState(response.statusCode, response.text);
  }

  async #refreshAccessToken(refreshToken: string, deadline: Deadline): Promise<string> {
    const response = await sendBrokerRequest(this.#dispatcher, {
      endpoint: this.#refreshEndpoint,
      query: `token=${encodeURIComponent(refreshToken)}`,
      deadline,
      idempotent: true,
    });
    return refreshResponseToAccessToken(response.statusCode, response.text);
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
