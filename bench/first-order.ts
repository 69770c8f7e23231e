import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { PAPER_ALOR, PAPER_TINKOFF, type PaperBrokers } from '#local/paper-broker/index.ts';
import { LIMIT_ORDER_PATH, MARKET_ORDER_PATH } from '#shared/brokers/alor/client.ts';
import { signalTermsToAlorOrder, termsToAlorLimitOrder } from '#shared/brokers/alor/mapping.ts';
import { POST_ORDER_PATH } from '#shared/brokers/tinkoff/client.ts';
import { orderToPostOrderRequest } from '#shared/brokers/tinkoff/mapping.ts';
import { type Broker, ENV } from '#shared/facts.ts';
import { type BenchNode, expectAllPlaced, runMeasuredChild } from './child-run.ts';
import { type DelayedOrigin, makeThrowawayCa, startDelayedOrigin, type ThrowawayCa } from './network.ts';
import { median, round } from './stats.ts';

/**
 * "First order over a network": a fresh `node` process per run imports the deployed bundle and sends one order at
 * once, to paper brokers behind TLS and a simulated round trip (`BENCH_RTT_MS`, default 50), with Alor's OAuth and API
 * hosts as separate origins as in production. The figure is the time after the import, in ms and in round trips,
 * with where it went; then warm orders on the same container over the same link, beside the same order sent by a bare
 * undici request over that link (the floor of a warm order: what the broker and the link take, without the function).
 */

export interface TimelineEvent {
  readonly kind: 'handshake' | 'broker' | 'store';
  readonly origin?: string;
  readonly path?: string;
  /** ms after the end of the import; negative: during the import (init). */
  readonly start: number;
  readonly end: number;
}

/** Where a warm call's time went: until its request was created, on the link until the answer's headers, after them. */
export interface CallPhases {
  readonly beforeSend: number;
  readonly onLink: number;
  readonly afterHeaders: number;
}

interface FirstOrderRun {
  readonly importMs: number;
  readonly firstOrderMs: number;
  readonly warmOrderMs: number;
  readonly bareRequestMs: number;
  readonly warmPhases: { readonly function: CallPhases; readonly bare: CallPhases };
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
  /** The fastest and the slowest of the runs' first orders: how far one run's median may move. */
  readonly firstOrderSpreadMs: { readonly fastest: number; readonly slowest: number };
  readonly warmOrderMs: number;
  readonly warmOrderRtts: number;
  /** The same order sent by a bare undici request over the same link, kept-alive: the floor of a warm order. */
  readonly bareRequestMs: number;
  /** `warmOrderMs` minus `bareRequestMs`: what the function adds to one round trip. */
  readonly warmOverheadMs: number;
  /** The same two taken apart (medians), which tells the function's own time from the link's jitter. */
  readonly warmPhasesMs: { readonly function: CallPhases; readonly bare: CallPhases };
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

/**
 * A broker's order request as the function sends it, for a bare undici client to send by hand: `{{id}}` in the
 * headers and body stands for a fresh idempotency key per request (the paper broker would refuse a repeated one).
 */
export interface BareOrderRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The paper brokers behind TLS and a delayed link: one origin per production host. */
export interface BrokerNetwork {
  readonly rttMs: number;
  readonly ca: ThrowawayCa;
  /** Function settings pointing each broker URL at its delayed origin. */
  readonly env: Record<string, string>;
  /** The orders of `bench/child-signal.mjs` (AAPL, 1 lot at 190.5, buy) as each broker receives them. */
  readonly bareOrders: Record<Broker, BareOrderRequest>;
  /**
   * A market buy of 1 AAPL lot, the floor beside a ver 2 signal's market order: it fills at once, so it leaves no
   * working order in the account that the signal's next reads would have to list (a limit order at 190.5 would stay,
   * one more each time, and the signal's orders answer would grow with the floor's own orders).
   */
  readonly bareMarketOrders: Record<Broker, BareOrderRequest>;
  close(): Promise<void>;
}

const BARE_ID = '{{id}}';

/** An access token from the paper Alor, as the function's refresh gets one, for the bare Alor order. */
async function paperAlorAccessToken(paper: PaperBrokers): Promise<string> {
  const query = `token=${encodeURIComponent(PAPER_ALOR.refreshToken)}`;
  const response = await request(`${paper.alor.url}/refresh?${query}`, { method: 'POST' });
  return ((await response.body.json()) as { AccessToken: string }).AccessToken;
}

async function bareOrders(
  paper: PaperBrokers,
  env: Record<string, string>,
  type: 'limit' | 'market',
): Promise<Record<Broker, BareOrderRequest>> {
  const terms = { side: 'buy', lots: 1, price: '190.5' } as const;
  const alorInstrument = { symbol: 'AAPL', exchange: 'SPBX' } as const;
  const alorBody =
    type === 'limit'
      ? termsToAlorLimitOrder({ ...terms, ...alorInstrument }, PAPER_ALOR.portfolio)
      : signalTermsToAlorOrder({ ...alorInstrument, side: 'buy', lots: 1, type }, PAPER_ALOR.portfolio, BARE_ID);
  const limitBody = orderToPostOrderRequest({ ...terms, figi: 'BBG000B9XRY4' }, PAPER_TINKOFF.accountId, BARE_ID);
  const { price: _price, ...marketBody } = { ...limitBody, orderType: 'ORDER_TYPE_MARKET' };
  const json = { 'content-type': 'application/json' };
  return {
    alor: {
      url: `${env[ENV.alorApiUrl]}${type === 'limit' ? LIMIT_ORDER_PATH : MARKET_ORDER_PATH}`,
      headers: {
        ...json,
        authorization: `Bearer ${await paperAlorAccessToken(paper)}`,
        'x-reqid': BARE_ID,
        'x-alor-reqid': BARE_ID,
      },
      body: JSON.stringify(alorBody),
    },
    tinkoff: {
      url: `${env[ENV.tinkoffApiUrl]}${POST_ORDER_PATH}`,
      headers: { ...json, authorization: `Bearer ${PAPER_TINKOFF.token}` },
      body: JSON.stringify(type === 'limit' ? limitBody : marketBody),
    },
  };
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
    bareOrders: await bareOrders(paper, env, 'limit'),
    bareMarketOrders: await bareOrders(paper, env, 'market'),
    close: async () => {
      await Promise.all(origins.map((started) => started.close()));
      ca.dispose();
    },
  };
}

/** `cold`: the order right after the import; `keep-warm`: after a keep-warm invocation of the new container. */
export type FirstOrderMode = 'cold' | 'keep-warm';

export async function firstOrderRun(
  node: BenchNode,
  bundle: string,
  broker: Broker,
  env: Record<string, string>,
  network: BrokerNetwork,
  mode: FirstOrderMode = 'cold',
): Promise<FirstOrderRun> {
  const run = await runMeasuredChild<FirstOrderRun>(
    node,
    `first-order run of ${bundle}`,
    CHILD,
    [bundle, broker, String(WARM_ORDERS_PER_RUN), mode],
    {
      ...env,
      ...network.env,
      NODE_EXTRA_CA_CERTS: network.ca.caFile,
      BENCH_BARE_ORDER: JSON.stringify(network.bareOrders[broker]),
    },
  );
  expectAllPlaced('first-order run', run);
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

function medianPhases(phases: readonly CallPhases[]): CallPhases {
  const med = (pick: (call: CallPhases) => number) => round(median(phases.map(pick)), 2);
  return {
    beforeSend: med((call) => call.beforeSend),
    onLink: med((call) => call.onLink),
    afterHeaders: med((call) => call.afterHeaders),
  };
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
    firstOrderSpreadMs: {
      fastest: round(Math.min(...runs.map((run) => run.firstOrderMs)), 1),
      slowest: round(Math.max(...runs.map((run) => run.firstOrderMs)), 1),
    },
    warmOrderMs,
    warmOrderRtts: round(warmOrderMs / rttMs, 2),
    bareRequestMs: med((run) => run.bareRequestMs),
    warmOverheadMs: med((run) => run.warmOrderMs - run.bareRequestMs),
    warmPhasesMs: {
      function: medianPhases(runs.map((run) => run.warmPhases.function)),
      bare: medianPhases(runs.map((run) => run.warmPhases.bare)),
    },
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
