import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { PAPER_ALOR, PAPER_INSTRUMENTS, PAPER_TINKOFF, type PaperBrokers } from '#local/paper-broker/index.ts';
import type { Broker } from '#shared/facts.ts';
import { apiGatewayEvent } from './events.ts';
import { alorPaperEnv, type Env, importHandler, TEST_WEBHOOK_SECRET, tinkoffPaperEnv } from './handlers.ts';

/**
 * v2 signals (docs/contract.md#signals-ver-2) against the paper brokers: the events, the JSON answers, and the
 * instrument's position and working orders as each paper broker holds them, in one shape for both brokers.
 */

/** An authenticated v2 body (`ver: 2` added) for `broker`, the key in the `Idempotency-Key` header when given. */
export function signalEvent(
  broker: Broker,
  body: Record<string, unknown>,
  options: { key?: string; headers?: Record<string, string> } = {},
): APIGatewayProxyEventV2 {
  return apiGatewayEvent({
    route: `POST /${broker}`,
    body: JSON.stringify({ ver: 2, ...body }),
    headers: {
      'x-webhook-secret': TEST_WEBHOOK_SECRET,
      ...(options.key === undefined ? {} : { 'idempotency-key': options.key }),
      ...options.headers,
    },
  });
}

export interface JsonAnswer {
  readonly status: number;
  readonly json: Record<string, unknown>;
  readonly contentType: unknown;
}

export function jsonAnswer(response: { statusCode: number; body: string; headers?: Record<string, unknown> }) {
  return {
    status: response.statusCode,
    json: JSON.parse(response.body) as Record<string, unknown>,
    contentType: response.headers?.['content-type'],
  } satisfies JsonAnswer;
}

/** A MOEX instrument as each paper broker names it: Alor by symbol, T-Invest by FIGI. */
export function instrumentId(broker: Broker, ticker: string): string {
  if (broker === 'alor') return ticker;
  const listed = PAPER_INSTRUMENTS.tinkoff.find((instrument) => instrument.ticker === ticker);
  if (listed === undefined) throw new Error(`the paper T-Invest lists no ${ticker}`);
  return listed.figi;
}

/** Signed lots of the paper account in the ticker (0 when it never held it). */
export function positionOf(paper: PaperBrokers, broker: Broker, ticker: string): number {
  const id = instrumentId(broker, ticker);
  const held =
    broker === 'alor'
      ? paper.alor.positions(PAPER_ALOR.portfolio).find((entry) => entry.instrument === id && entry.exchange === 'MOEX')
      : paper.tinkoff.positions(PAPER_TINKOFF.accountId).find((entry) => entry.instrument === id);
  return held?.lots ?? 0;
}

/** One order in one shape for both brokers. */
export interface BookedOrder {
  readonly id: string;
  readonly side: 'buy' | 'sell';
  readonly lots: number;
  readonly type: string;
  readonly status: string;
}

/** Every order the paper account placed in the ticker, oldest first. */
export function ordersOf(paper: PaperBrokers, broker: Broker, ticker: string): BookedOrder[] {
  if (broker === 'alor') {
    return paper.alor.orders
      .filter((order) => order.symbol === ticker && order.exchange === 'MOEX')
      .map((order) => ({
        id: order.orderNumber,
        side: order.side,
        lots: order.quantity,
        type: order.type,
        status: order.status,
      }));
  }
  const listed = PAPER_INSTRUMENTS.tinkoff.find((instrument) => instrument.ticker === ticker);
  return paper.tinkoff.orders
    .filter((order) => order.instrumentId === listed?.uid || order.instrumentId === listed?.figi)
    .map((order) => ({
      id: order.orderId,
      side: order.direction,
      lots: order.lots,
      type: order.orderType === 'ORDER_TYPE_LIMIT' ? 'limit' : 'market',
      status: order.status,
    }));
}

/** The ticker's orders still working. */
export function workingOrdersOf(paper: PaperBrokers, broker: Broker, ticker: string): BookedOrder[] {
  return ordersOf(paper, broker, ticker).filter(
    (order) => order.status === 'working' || order.status === 'partly-filled',
  );
}

/** Flat and no working order in the ticker: where a test of a position starts. */
export function flatten(paper: PaperBrokers, broker: Broker, ticker: string): void {
  for (const order of workingOrdersOf(paper, broker, ticker)) {
    paper[broker].setOrderState(order.id, { status: 'canceled' });
  }
  if (broker === 'alor') paper.alor.setPosition(PAPER_ALOR.portfolio, 'MOEX', ticker, 0);
  else paper.tinkoff.setPosition(PAPER_TINKOFF.accountId, instrumentId(broker, ticker), 0);
}

/** Sets the paper account's position in the ticker, as trading elsewhere would have. */
export function holdPosition(paper: PaperBrokers, broker: Broker, ticker: string, lots: number): void {
  if (broker === 'alor') paper.alor.setPosition(PAPER_ALOR.portfolio, 'MOEX', ticker, lots);
  else paper.tinkoff.setPosition(PAPER_TINKOFF.accountId, instrumentId(broker, ticker), lots);
}

/** A function's settings on its paper broker, with `overrides`. */
export function paperEnvOf(paper: PaperBrokers, broker: Broker, overrides: Env = {}): Env {
  return { ...(broker === 'alor' ? alorPaperEnv(paper) : tinkoffPaperEnv(paper)), ...overrides };
}

/** A cold container of the function on its paper broker, whose v2 signals then run warm one after the other. */
export async function signalContainer(paper: PaperBrokers, broker: Broker, overrides: Env = {}) {
  const handler = await importHandler(broker, paperEnvOf(paper, broker, overrides));
  return async (body: Record<string, unknown>, options: { key?: string } = {}) =>
    jsonAnswer(await handler(signalEvent(broker, body, options)));
}
