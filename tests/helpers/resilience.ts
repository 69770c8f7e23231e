import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { vi } from 'vitest';
import { PAPER_ALOR, PAPER_TINKOFF, type PaperBrokers } from '#local/paper-broker/index.ts';
import { loadAlorConfig } from '#shared/brokers/alor/config.ts';
import { createAlorHandler } from '#shared/brokers/alor/index.ts';
import { orderToAlorTerms } from '#shared/brokers/alor/mapping.ts';
import { AlorOrderSchema } from '#shared/brokers/alor/order.ts';
import { brokerRequestId } from '#shared/brokers/request-id.ts';
import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { createTinkoffHandler } from '#shared/brokers/tinkoff/index.ts';
import { orderToTinkoffTerms } from '#shared/brokers/tinkoff/mapping.ts';
import { TinkoffFigiOrderSchema } from '#shared/brokers/tinkoff/order.ts';
import { type Broker, DEFAULT_ALOR_EXCHANGE, ENV } from '#shared/facts.ts';
import type { WebhookHandler } from '#shared/http/inbound/webhook-handler.ts';
import { apiGatewayEvent } from './events.ts';
import { alorPaperEnv, type Env, TEST_WEBHOOK_SECRET, tinkoffPaperEnv } from './handlers.ts';

/**
 * Shared pieces of the resilience suites (faults, retries, concurrency, leaks): handlers built the way a
 * container builds them, on the paper brokers, with a short broker deadline so hung calls end quickly.
 */

/** `BROKER_TIMEOUT_MS` of these suites: short, so a hung broker costs well under a second. */
export const BROKER_TIMEOUT_MS = 700;

export const ORDERS = {
  alor: { t: 'BRK.B', p: '300.5', v: 2, d: 'buy' },
  tinkoff: { t: 'SBER', p: '301.25', v: 3, d: 'sell', f: 'BBG004730N88' },
} as const;

export function paperEnv(broker: Broker, paper: PaperBrokers, overrides: Env = {}): Env {
  const base = broker === 'alor' ? alorPaperEnv(paper) : tinkoffPaperEnv(paper);
  return { ...base, [ENV.brokerTimeoutMs]: String(BROKER_TIMEOUT_MS), ...overrides };
}

/** A fresh handler instance: one container, with its own secret store and token cache. */
export function paperHandler(broker: Broker, paper: PaperBrokers, overrides: Env = {}): WebhookHandler {
  const env = paperEnv(broker, paper, overrides);
  return broker === 'alor' ? createAlorHandler(loadAlorConfig(env)) : createTinkoffHandler(loadTinkoffConfig(env));
}

export interface SignalOptions {
  /** Sent as the `Idempotency-Key` header. */
  readonly headerKey?: string;
  /** Sent as the body's `id`. */
  readonly bodyKey?: string;
  readonly body?: Record<string, unknown>;
  readonly headers?: Record<string, string>;
}

/** An authenticated order signal for `broker`, as API Gateway delivers it. */
export function orderSignal(broker: Broker, options: SignalOptions = {}): APIGatewayProxyEventV2 {
  const body = {
    ...(options.body ?? ORDERS[broker]),
    ...(options.bodyKey === undefined ? {} : { id: options.bodyKey }),
  };
  return apiGatewayEvent({
    route: `POST /${broker}`,
    body: JSON.stringify(body),
    headers: {
      'x-webhook-secret': TEST_WEBHOOK_SECRET,
      ...(options.headerKey === undefined ? {} : { 'idempotency-key': options.headerKey }),
      ...options.headers,
    },
  });
}

export interface Answer {
  readonly status: number;
  readonly body: string;
}

/**
 * The status and text of a signal's answer. How soon it came is not asserted (no wall-clock bound in a test): the
 * deadline that ends a hung call is shown on a fake clock (tests/integration/store-deadline.test.ts,
 * tests/unit/http-client.test.ts), here the answer and the broker's call counts.
 */
export async function answerOf(handler: WebhookHandler, event: APIGatewayProxyEventV2): Promise<Answer> {
  const response = await handler(event);
  return { status: response.statusCode, body: response.body };
}

/** The broker-side id (Alor `X-REQID`, T-Invest `orderId`) the handler must derive from a caller's key and order. */
export function expectedRequestId(broker: Broker, key: string, body: Record<string, unknown> = ORDERS[broker]): string {
  return broker === 'alor'
    ? brokerRequestId(
        'alor',
        PAPER_ALOR.portfolio,
        key,
        orderToAlorTerms(AlorOrderSchema.parse(body), DEFAULT_ALOR_EXCHANGE),
      )
    : brokerRequestId('tinkoff', PAPER_TINKOFF.accountId, key, orderToTinkoffTerms(TinkoffFigiOrderSchema.parse(body)));
}

/** Orders in the paper book placed under this broker request id. */
export function ordersWithRequestId(broker: Broker, paper: PaperBrokers, requestId: string): number {
  return broker === 'alor'
    ? paper.alor.orders.filter((order) => order.requestId === requestId).length
    : paper.tinkoff.orders.filter((order) => order.orderRequestId === requestId).length;
}

/** The broker request ids of the order calls the paper broker received (faulted ones included), in order. */
export function receivedOrderIds(broker: Broker, paper: PaperBrokers): string[] {
  if (broker === 'alor') {
    return paper.alor.received.filter((request) => request.route === 'order').map((r) => String(r.headers['x-reqid']));
  }
  return paper.tinkoff.received
    .filter((request) => request.route === 'order')
    .map((request) => (JSON.parse(request.rawBody) as { orderId: string }).orderId);
}

/** Largest number of book entries sharing one broker request id: the "at most one order per key" measure. */
export function maxOrdersPerKey(broker: Broker, paper: PaperBrokers): number {
  const ids =
    broker === 'alor'
      ? paper.alor.orders.map((order) => order.requestId)
      : paper.tinkoff.orders.map((order) => order.orderRequestId ?? order.orderId);
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return Math.max(0, ...counts.values());
}

let keySequence = 0;
/** A caller's idempotency key unique within the test run. */
export function uniqueKey(label: string): string {
  keySequence += 1;
  return `${label}-${process.pid}-${keySequence}`;
}

/**
 * Resolves once the broker has seen every exchange end, answered or abandoned by the client: after that, a count of
 * requests can only grow by a new request, so "never resent" is read at a defined point rather than after a guess.
 */
export function allExchangesSettled(paper: PaperBrokers, broker: Broker): Promise<void> {
  const { stats } = paper[broker];
  return vi.waitFor(
    () => {
      if (stats.settled < stats.requests) throw new Error(`${stats.requests - stats.settled} exchange(s) still open`);
    },
    { timeout: 5_000, interval: 5 },
  );
}
