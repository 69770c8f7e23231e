import type { Dispatcher } from 'undici';
import { BrokerCredentialRejectedError, BrokerUnavailableError } from '../../errors.ts';
import { type BrokerEndpoint, endpoint, parseJsonText, sendBrokerRequest } from '../../http/client.ts';
import type { Deadline } from '../../http/deadline.ts';
import type { TinkoffOrder } from '../../payload.ts';
import { type OrderOutcome, refused } from '../outcome.ts';
import { orderToPostOrderRequest, orderToV1LimitOrder } from './mapping.ts';
import {
  ErrorResponseSchema,
  type GetOrderStateRequest,
  OrderStateSchema,
  PostOrderResponseSchema,
  V1ResponseSchema,
} from './schemas.ts';

export const INVALID_TOKEN_MESSAGE = 'Неверный торговый токен';
export const POST_ORDER_PATH = '/tinkoff.public.invest.api.contract.v1.OrdersService/PostOrder';
export const GET_ORDER_STATE_PATH = '/tinkoff.public.invest.api.contract.v1.OrdersService/GetOrderState';
export const V1_LIMIT_ORDER_PATH = '/openapi/orders/limit-order';

/** Catalogue codes (tinvest-v2-api_errors.json) the contract treats specially. */
const TOKEN_INVALID_CODE = '40003';
const DUPLICATE_ORDER_CODE = '30057';
const ORDER_NOT_FOUND_CODE = '50005';
const REFUSED_STATUSES = new Set(['EXECUTION_REPORT_STATUS_REJECTED', 'EXECUTION_REPORT_STATUS_CANCELLED']);

export interface TinkoffLimitOrderCall {
  readonly token: string;
  readonly accountId: string;
  readonly order: TinkoffOrder;
  /** v2 `orderId`: T-Invest keeps it about a month and places no second order for it. */
  readonly requestId: string;
  readonly deadline: Deadline;
  readonly dryRun: boolean;
}

export interface TinkoffClient {
  placeLimitOrder(call: TinkoffLimitOrderCall): Promise<OrderOutcome>;
}

export interface TinkoffClientOptions {
  readonly dispatcher: Dispatcher;
  readonly apiUrl: string;
}

function isClientError(statusCode: number): boolean {
  return statusCode >= 400 && statusCode < 500 && statusCode !== 408 && statusCode !== 429;
}

/** How many first outcomes a container remembers for answering 30057 duplicates. */
const REMEMBERED_OUTCOMES = 1000;

/** API v2 REST gateway: `OrdersService/PostOrder`. */
export class TinkoffV2Client implements TinkoffClient {
  readonly #dispatcher: Dispatcher;
  readonly #endpoint: BrokerEndpoint;
  readonly #stateEndpoint: BrokerEndpoint;
  /**
   * orderId → the first outcome seen for it. A 30057 duplicate carries no report, so on its own it cannot say
   * whether the first call was placed or refused: a resend that reaches the same container is answered as the
   * first call was (with its exact text); elsewhere the order's state is asked of the broker.
   */
  readonly #firstOutcomes = new Map<string, OrderOutcome>();

  constructor(options: TinkoffClientOptions) {
    this.#dispatcher = options.dispatcher;
    this.#endpoint = endpoint(options.apiUrl, POST_ORDER_PATH);
    this.#stateEndpoint = endpoint(options.apiUrl, GET_ORDER_STATE_PATH);
  }

  async placeLimitOrder(call: TinkoffLimitOrderCall): Promise<OrderOutcome> {
    const body = JSON.stringify(orderToPostOrderRequest(call.order, call.accountId, call.requestId));
    if (call.dryRun) return { status: 'dry-run' };
    const response = await this.#post(this.#endpoint, body, call);
    const outcome = postOrderResponseToOutcome(response.statusCode, response.text);
    if (outcome.status === 'placed' && outcome.replayed) {
      return this.#firstOutcomes.get(call.requestId) ?? (await this.#orderStateOf(call));
    }
    if (this.#firstOutcomes.size >= REMEMBERED_OUTCOMES) {
      const oldest = this.#firstOutcomes.keys().next();
      if (oldest.done !== true) this.#firstOutcomes.delete(oldest.value);
    }
    this.#firstOutcomes.set(call.requestId, outcome);
    return outcome;
  }

  /** `GetOrderState` by our idempotency key: what became of the order a 30057 duplicate refers to. */
  async #orderStateOf(call: TinkoffLimitOrderCall): Promise<OrderOutcome> {
    const request: GetOrderStateRequest = {
      accountId: call.accountId,
      orderId: call.requestId,
      orderIdType: 'ORDER_ID_TYPE_REQUEST',
    };
    const response = await this.#post(this.#stateEndpoint, JSON.stringify(request), call);
    return orderStateResponseToOutcome(response.statusCode, response.text);
  }

  /** Both v2 calls: the trading token, the request's deadline, and safe to resend (keyed by our orderId, or a read). */
  #post(target: BrokerEndpoint, body: string, call: TinkoffLimitOrderCall) {
    return sendBrokerRequest(this.#dispatcher, {
      endpoint: target,
      headers: { authorization: `Bearer ${call.token}` },
      body,
      deadline: call.deadline,
      idempotent: true,
    });
  }
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

export function postOrderResponseToOutcome(statusCode: number, text: string): OrderOutcome {
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
  // The same orderId was sent before: not a new order; what became of it is looked up by the client.
  if (description === DUPLICATE_ORDER_CODE) return { status: 'placed', replayed: true };
  return refused(message);
}

/** The retired v1 API (`/openapi/orders/limit-order`), for v1-compatible endpoints. It has no idempotency key. */
export class TinkoffV1Client implements TinkoffClient {
  readonly #dispatcher: Dispatcher;
  readonly #endpoint: BrokerEndpoint;

  constructor(options: TinkoffClientOptions) {
    this.#dispatcher = options.dispatcher;
    this.#endpoint = endpoint(options.apiUrl, V1_LIMIT_ORDER_PATH);
  }

  async placeLimitOrder(call: TinkoffLimitOrderCall): Promise<OrderOutcome> {
    const body = JSON.stringify(orderToV1LimitOrder(call.order));
    if (call.dryRun) return { status: 'dry-run' };
    const query = new URLSearchParams({ figi: call.order.figi, brokerAccountId: call.accountId }).toString();
    const response = await sendBrokerRequest(this.#dispatcher, {
      endpoint: this.#endpoint,
      query,
      headers: { authorization: `Bearer ${call.token}` },
      body,
      deadline: call.deadline,
      // v1 has no idempotency key: only a request that never left is resent.
      idempotent: false,
    });
    return v1ResponseToOutcome(response.statusCode, response.text);
  }
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

export function createTinkoffClient(api: 'v1' | 'v2', options: TinkoffClientOptions): TinkoffClient {
  return api === 'v1' ? new TinkoffV1Client(options) : new TinkoffV2Client(options);
}
