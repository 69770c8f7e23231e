import type { Dispatcher } from 'undici';
import { BrokerCredentialRejectedError, BrokerUnavailableError } from '../../errors.ts';
import { type BrokerEndpoint, endpoint, parseJsonText, sendBrokerRequest } from '../../http/client.ts';
import type { Deadline } from '../../http/deadline.ts';
import { type OrderOutcome, refused } from '../outcome.ts';
import { AccessTokenCache } from './access-token.ts';
import {
  type AlorLimitOrderRequest,
  AlorOrderErrorSchema,
  AlorOrderResponseSchema,
  AlorRefreshResponseSchema,
} from './schemas.ts';

export const REFRESH_REJECTED_MESSAGE = 'Refresh-токен неверный, заблокирован либо истёк';
export const LIMIT_ORDER_PATH = '/commandapi/warptrans/TRADE/v2/client/orders/actions/limit';

export interface AlorClientOptions {
  readonly dispatcher: Dispatcher;
  readonly oauthUrl: string;
  readonly apiUrl: string;
  readonly tokens?: AccessTokenCache;
}

export interface AlorLimitOrderCall {
  readonly refreshToken: string;
  readonly order: AlorLimitOrderRequest;
  /** `X-REQID`: Alor places no second order for a repeated id. */
  readonly requestId: string;
  readonly deadline: Deadline;
  /** Everything up to the order call runs (the access token included); the order is not sent. */
  readonly dryRun: boolean;
}

export class AlorClient {
  readonly #dispatcher: Dispatcher;
  readonly #refreshEndpoint: BrokerEndpoint;
  readonly #orderEndpoint: BrokerEndpoint;
  readonly #tokens: AccessTokenCache;

  constructor(options: AlorClientOptions) {
    this.#dispatcher = options.dispatcher;
    this.#refreshEndpoint = endpoint(options.oauthUrl, '/refresh');
    this.#orderEndpoint = endpoint(options.apiUrl, LIMIT_ORDER_PATH);
    this.#tokens = options.tokens ?? new AccessTokenCache();
  }

  async placeLimitOrder(call: AlorLimitOrderCall): Promise<OrderOutcome> {
    const refresh = () => this.#refreshAccessToken(call.refreshToken, call.deadline);
    const body = JSON.stringify(call.order);
    const token = await this.#tokens.get(call.refreshToken, refresh);
    if (call.dryRun) return { status: 'dry-run' };
    let response = await this.#sendOrder(body, token.value, call);
    if (response.statusCode === 401 && token.fromCache) {
      // The cached JWT was revoked early: one fresh token, the same X-REQID, so still at most one order.
      this.#tokens.invalidate(call.refreshToken, token.value);
      const fresh = await this.#tokens.get(call.refreshToken, refresh);
      response = await this.#sendOrder(body, fresh.value, call);
    }
    return orderResponseToOutcome(response.statusCode, response.text);
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

  #sendOrder(body: string, accessToken: string, call: AlorLimitOrderCall) {
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
