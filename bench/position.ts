import { fileURLToPath } from 'node:url';
import { PAPER_ALOR, PAPER_TINKOFF, type PaperBrokers } from '#local/paper-broker/index.ts';
import type { Broker } from '#shared/facts.ts';
import { type BenchNode, expectAllPlaced, positiveInt, runMeasuredChild } from './child-run.ts';
import type { BrokerNetwork } from './first-order.ts';
import { median, round } from './stats.ts';

/**
 * "A target position over a network" (docs/contract.md#signals-ver-2): a fresh `node` process per run imports the
 * deployed bundle with the position lock's table set (the fake AWS store's DynamoDB, on loopback: in-region DynamoDB
 * is not on the link), sends a `pos` signal, then warm ones that each read the state and place one market order under
 * the lock, beside a bare undici market order over the link (one round trip) and the signal's own reads sent again
 * bare, then that order (its floor). Of kind `guarded`, the same with every guard set and a signal sized in percent of
 * the portfolio (docs/contract.md#guards).
 */

/** A `pos` signal under the lock, or a sized entry through every guard. */
export type SignalRunKind = 'position' | 'guarded';

interface PositionRun {
  readonly firstMs: number;
  readonly warmMs: number;
  readonly lockMs: number;
  readonly bareRequestMs: number;
  readonly barePatternMs: number;
  readonly brokerRequestsPerSignal: number;
  readonly lockRequestsPerSignal: number;
  readonly statuses: readonly number[];
  readonly results: readonly string[];
  readonly body?: string;
  readonly timeline?: readonly { path: string; start: number; end: number }[];
}

export interface PositionFigures {
  readonly runs: number;
  readonly rttMs: number;
  /** The first `pos` signal after the import (a cold container: handshakes, the lock table's first connection, T-Invest's lookup). */
  readonly firstSignalMs: number;
  /** A warm `pos` signal that places an order: state read, market order, the lock taken and given back. */
  readonly warmSignalMs: number;
  /** The same in round trips of a bare request over the link. */
  readonly warmSignalRtts: number;
  /** One bare order over the same link. */
  readonly bareRequestMs: number;
  /** `warmSignalMs` minus two bare requests: what the function and the lock add to its two round trips. */
  readonly warmOverheadMs: number;
  /**
   * The signal's requests made bare: its own reads sent again as they went, at once, each on a connection of its own;
   * then one order. The link's and the paper brokers' own cost of that pattern on this machine, the fairer floor.
   */
  readonly barePatternMs: number;
  /** `warmSignalMs` minus {@link barePatternMs}: what the function and the lock add. */
  readonly warmOverPatternMs: number;
  /**
   * Time on the wire of the lock's two DynamoDB calls per warm signal (loopback): the take beside the reads, and the
   * give-back, whose answer the signal does not wait for.
   */
  readonly lockMs: number;
  readonly brokerRequestsPerSignal: number;
  readonly lockRequestsPerSignal: number;
  /** Where the last warm signal of the last run spent its time: each request, ms after the call began. */
  readonly timeline: readonly { path: string; start: number; end: number }[];
}

const CHILD = fileURLToPath(new URL('position-child.mjs', import.meta.url));

/**
 * A child's environment over the simulated link: the function's, the link's, its CA, and the bare order beside it (the
 * limit order of the first-order phase, or a market order that leaves nothing working in the account).
 */
export function overTheLink(
  env: Record<string, string>,
  network: BrokerNetwork,
  broker: Broker,
  bare: 'limit' | 'market' = 'limit',
): Record<string, string> {
  return {
    ...env,
    ...network.env,
    NODE_EXTRA_CA_CERTS: network.ca.caFile,
    BENCH_BARE_ORDER: JSON.stringify((bare === 'limit' ? network.bareOrders : network.bareMarketOrders)[broker]),
  };
}
/**
 * Signals after the first, per run (BENCH_POSITION_SIGNALS, 20 by default); the warm figure is the median of the last
 * half. Twenty keeps the phase to minutes; more show the figure once V8 has compiled the signal's code.
 */
const WARM_SIGNALS_PER_RUN = positiveInt('BENCH_POSITION_SIGNALS', 20, 2);

/** SBER's FIGI at the paper T-Invest. */
const SBER_FIGI = 'BBG004730N88';

/**
 * Cancels every order the paper brokers hold working, then starts Alor's day again: the warm, messages and first-order
 * phases leave thousands of orders. A ver 2 signal and the preflight read the account's orders (T-Invest: the active
 * ones; Alor: every order of the day), and that answer would grow past the client's cap on an answer (a 502, "body too
 * large"; docs/performance.md#target-position).
 */
export function clearOrderBooks(paper: PaperBrokers): void {
  const working = (order: { readonly status: string }) =>
    order.status === 'working' || order.status === 'partly-filled';
  for (const order of paper.alor.orders.filter(working))
    paper.alor.setOrderState(order.orderNumber, { status: 'canceled' });
  for (const order of paper.tinkoff.orders.filter(working))
    paper.tinkoff.setOrderState(order.orderId, { status: 'canceled' });
  paper.alor.startNewDay();
}

export async function positionRun(
  node: BenchNode,
  bundle: string,
  broker: Broker,
  env: Record<string, string>,
  network: BrokerNetwork,
  paper: PaperBrokers,
  kind: SignalRunKind = 'position',
): Promise<PositionRun> {
  // Flat before each run: its first signal (pos 1) then places an order too.
  if (broker === 'alor') paper.alor.setPosition(PAPER_ALOR.portfolio, 'MOEX', 'SBER', 0);
  else paper.tinkoff.setPosition(PAPER_TINKOFF.accountId, SBER_FIGI, 0);
  clearOrderBooks(paper);
  const run = await runMeasuredChild<PositionRun>(
    node,
    `${kind} run of ${bundle}`,
    CHILD,
    [bundle, broker, String(WARM_SIGNALS_PER_RUN), kind],
    overTheLink(env, network, broker, 'market'),
    // A warm signal and its bare requests take about four round trips: a second per signal leaves room on any link.
    { timeoutMs: Math.max(20_000, WARM_SIGNALS_PER_RUN * 1_000) },
  );
  expectAllPlaced(`${kind} run`, run);
  return run;
}

export function summarizePosition(runs: readonly PositionRun[], rttMs: number): PositionFigures {
  const med = (pick: (run: PositionRun) => number) => round(median(runs.map(pick)), 1);
  const warmSignalMs = med((run) => run.warmMs);
  const bareRequestMs = med((run) => run.bareRequestMs);
  return {
    runs: runs.length,
    rttMs,
    firstSignalMs: med((run) => run.firstMs),
    warmSignalMs,
    warmSignalRtts: round(warmSignalMs / bareRequestMs, 2),
    bareRequestMs,
    warmOverheadMs: med((run) => run.warmMs - 2 * run.bareRequestMs),
    barePatternMs: med((run) => run.barePatternMs),
    warmOverPatternMs: med((run) => run.warmMs - run.barePatternMs),
    lockMs: round(median(runs.map((run) => run.lockMs)), 2),
    brokerRequestsPerSignal: med((run) => run.brokerRequestsPerSignal),
    lockRequestsPerSignal: med((run) => run.lockRequestsPerSignal),
    timeline: runs.at(-1)?.timeline ?? [],
  };
}
