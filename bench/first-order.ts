import { fileURLToPath } from 'node:url';
import type { PaperBrokers } from '#local/paper-broker/index.ts';
import { type Broker, ENV } from '#shared/facts.ts';
import { runMeasuredChild } from './child-run.ts';
import { type DelayedOrigin, makeThrowawayCa, startDelayedOrigin, type ThrowawayCa } from './network.ts';
import { median, round } from './stats.ts';

/**
 * "First order over a network": a fresh `node` process per run imports the deployed bundle and sends one order at
 * once, to paper brokers behind TLS and a simulated round trip (`BENCH_RTT_MS`, default 50), with Alor's OAuth and API
 * hosts as separate origins as in production. The figure is the time after the import, in ms and in round trips,
 * with where it went; then warm orders on the same container over the same link, beside a bare undici request over
 * that link (the floor of a warm order).
 */

export interface TimelineEvent {
  readonly kind: 'handshake' | 'broker' | 'store';
  readonly origin?: string;
  readonly path?: string;
  /** ms after the end of the import; negative: during the import (init). */
  readonly start: number;
  readonly end: number;
}

interface FirstOrderRun {
  readonly importMs: number;
  readonly firstOrderMs: number;
  readonly warmOrderMs: number;
  readonly bareRequestMs: number;
  readonly statuses: readonly number[];
  readonly body?: string;
  readonly events: readonly TimelineEvent[];
}

export interface FirstOrderFigures {
  readonly runs: number;
  readonly rttMs: number;
  readonly importMs: number;
  readonly firstOrderMs: number;
  readonly firstOrderRtts: number;
  readonly warmOrderMs: number;
  readonly warmOrderRtts: number;
  /** A bare undici request over the same link, kept-alive: the floor of a warm order. */
  readonly bareRequestMs: number;
  /** `warmOrderMs` minus `bareRequestMs`: what the function adds to one round trip. */
  readonly warmOverheadMs: number;
  /** Medians of the time spent, after the import, in each kind of step (steps may overlap). */
  readonly breakdownMs: {
    readonly storeReads: number;
    readonly handshakes: number;
    readonly refresh: number;
    readonly order: number;
    /** Broker connections opened during the import (init), before the first order. */
    readonly handshakesDuringInit: number;
  };
}

const CHILD = fileURLToPath(new URL('first-order-child.mjs', import.meta.url));
/** Orders after the first, per run; the warm figure is the median of the last half. */
const WARM_ORDERS_PER_RUN = 20;

/** The paper brokers behind TLS and a delayed link: one origin per production host. */
export interface BrokerNetwork {
  readonly rttMs: number;
  readonly ca: ThrowawayCa;
  /** Function settings pointing each broker URL at its delayed origin. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

export async function startBrokerNetwork(paper: PaperBrokers, rttMs: number): Promise<BrokerNetwork> {
  const ca = makeThrowawayCa();
  const origins: DelayedOrigin[] = [];
  const origin = async (target: string) => {
    const started = await startDelayedOrigin(target, rttMs, ca);
    origins.push(started);
    return started.url;
  };
  const tinkoffPath = new URL(paper.tinkoff.v2Url).pathname;
  const env = {
    [ENV.alorOauthUrl]: await origin(paper.alor.url),
    [ENV.alorApiUrl]: await origin(paper.alor.url),
    [ENV.tinkoffApiUrl]: `${await origin(paper.tinkoff.v2Url)}${tinkoffPath}`,
  };
  return {
    rttMs,
    ca,
    env,
    close: async () => {
      await Promise.all(origins.map((started) => started.close()));
      ca.dispose();
    },
  };
}

/** `cold`: the order right after the import; `keep-warm`: after a keep-warm invocation of the new container. */
export type FirstOrderMode = 'cold' | 'keep-warm';

export async function firstOrderRun(
  bundle: string,
  broker: Broker,
  env: Record<string, string>,
  network: BrokerNetwork,
  mode: FirstOrderMode = 'cold',
): Promise<FirstOrderRun> {
  const run = await runMeasuredChild<FirstOrderRun>(
    `first-order run of ${bundle}`,
    CHILD,
    [bundle, broker, String(WARM_ORDERS_PER_RUN), mode],
    { ...env, ...network.env, NODE_EXTRA_CA_CERTS: network.ca.caFile },
  );
  if (run.statuses.some((status) => status !== 200)) {
    throw new Error(`first-order run answered ${run.statuses.join(', ')}: ${run.body}`);
  }
  return run;
}

const afterImport = (events: readonly TimelineEvent[], kind: TimelineEvent['kind'], path?: RegExp) =>
  events
    .filter((event) => event.kind === kind && event.end > 0 && (path === undefined || path.test(event.path ?? '')))
    .filter((event, index, all) => all.findIndex((other) => other.start === event.start) === index);

/** Time covered by the events after the import (the union of their intervals, clipped at the import's end). */
function coveredMs(events: readonly TimelineEvent[]): number {
  const intervals = events.map((event) => [Math.max(0, event.start), event.end] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let reach = 0;
  for (const [start, end] of intervals) {
    if (end <= reach) continue;
    total += end - Math.max(start, reach);
    reach = end;
  }
  return total;
}

/** Only the first order's events: the second (warm) order starts after it. */
function firstOrderEvents(run: FirstOrderRun): TimelineEvent[] {
  return run.events.filter((event) => event.start < run.firstOrderMs);
}

export function summarizeFirstOrder(runs: readonly FirstOrderRun[], rttMs: number): FirstOrderFigures {
  const med = (pick: (run: FirstOrderRun) => number) => round(median(runs.map(pick)), 1);
  const firstOrderMs = med((run) => run.firstOrderMs);
  const warmOrderMs = med((run) => run.warmOrderMs);
  return {
    runs: runs.length,
    rttMs,
    importMs: med((run) => run.importMs),
    firstOrderMs,
    firstOrderRtts: round(firstOrderMs / rttMs, 2),
    warmOrderMs,
    warmOrderRtts: round(warmOrderMs / rttMs, 2),
    bareRequestMs: med((run) => run.bareRequestMs),
    warmOverheadMs: med((run) => run.warmOrderMs - run.bareRequestMs),
    breakdownMs: {
      storeReads: med((run) => coveredMs(afterImport(firstOrderEvents(run), 'store'))),
      handshakes: med((run) => coveredMs(afterImport(firstOrderEvents(run), 'handshake'))),
      refresh: med((run) => coveredMs(afterImport(firstOrderEvents(run), 'broker', /\/refresh$/))),
      order: med((run) => coveredMs(afterImport(firstOrderEvents(run), 'broker', /orders|PostOrder/))),
      handshakesDuringInit: med(
        (run) => run.events.filter((event) => event.kind === 'handshake' && event.end <= 0).length,
      ),
    },
  };
}
