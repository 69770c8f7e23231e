/**
 * `npm run bench`: how fast the two functions are, measured against the paper brokers and the fake AWS store on
 * 127.0.0.1. Prints a table and writes the same figures to `bench/results.json` (git-ignored) under stable keys, so
 * a script can compare runs. A benchmark, not a test: it asserts only that the functions answered correctly.
 *
 * Every loop is bounded in count and in time (60 s per warm phase, 5 minutes for the cold starts); the last line
 * printed says how long the run took (`durationS` in the JSON). Options (environment): BENCH_WARM_ORDERS (1000),
 * BENCH_LATENCY_INVOCATIONS (2000), BENCH_COLD_RUNS (10), BENCH_WARMUP (1000), BENCH_RTT_MS (50: the simulated round
 * trip to the brokers of the "first order over a network" phase), BENCH_NETWORK_RUNS (7), BENCH_PREFLIGHT_RUNS (5),
 * BENCH_NOTIFY_INVOCATIONS (1000: calls per instance with Telegram messages off and on, bench/notify.ts), BENCH_NODE
 * (the `node` binary of the fresh processes: cold starts and first orders; bench/child-run.ts).
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startFakeAwsStore } from '#local/aws-store.ts';
import { startFakeTelegram } from '#local/fake-telegram.ts';
import { PAPER_ALOR, PAPER_TINKOFF, startPaperBrokers } from '#local/paper-broker/index.ts';
import {
  BROKERS,
  type Broker,
  DEFAULT_RESOURCE_PREFIX,
  ENV,
  FUNCTION_SETTING_NAME,
  storeNames,
} from '#shared/facts.ts';
import { type BundleFigures, buildAllBundles, buildFloorBundles, SDK_VARIANTS, type SdkVariant } from './bundles.ts';
import { childNodeVersion } from './child-run.ts';
import { type ColdFigures, type ColdRun, coldRun, summarizeCold } from './cold-start.ts';
import {
  type CallPhases,
  type FirstOrderFigures,
  firstOrderRun,
  startBrokerNetwork,
  summarizeFirstOrder,
} from './first-order.ts';
import { type LongPriceFigures, measureLongPriceRefusal } from './long-price.ts';
import { createBenchNotifier, type LineTap, measureNotify, type NotifyFigures } from './notify.ts';
import { measurePreflight, type PreflightFigures } from './preflight.ts';
import { round } from './stats.ts';
import { importBundledHandler, measureWarm, type WarmFigures } from './warm.ts';

const positiveInt = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  return Number.isInteger(value) && value > 0 ? value : fallback;
};

const WARM_ORDERS = positiveInt('BENCH_WARM_ORDERS', 1000);
const LATENCY_INVOCATIONS = positiveInt('BENCH_LATENCY_INVOCATIONS', 2000);
const COLD_RUNS = positiveInt('BENCH_COLD_RUNS', 10);
const RTT_MS = positiveInt('BENCH_RTT_MS', 50);
const NETWORK_RUNS = positiveInt('BENCH_NETWORK_RUNS', 7);
/** Order + bare request pairs before anything is counted or timed, so the JIT has compiled the hot paths. */
const WARMUP = positiveInt('BENCH_WARMUP', 1000);
/** Full preflights of both brokers timed, as a process and in process. */
const PREFLIGHT_RUNS = positiveInt('BENCH_PREFLIGHT_RUNS', 5);
/** Calls per instance (messages off, messages on) in the notification phase. */
const NOTIFY_INVOCATIONS = positiveInt('BENCH_NOTIFY_INVOCATIONS', 1000);
/**
 * The bundle `cdk deploy` builds by default: the webhooks read their store through the Parameters and Secrets
 * extension (context `storeExtension`), so their AWS SDK is left external. Warm and network figures are taken on it.
 */
const DEPLOYED_VARIANT: SdkVariant = 'sdkExternal';
const MAX_PHASE_MS = 60_000;

/** The targets of docs/performance.md#targets, on a 2-core machine. */
const TARGETS = {
  brokerRequestsPerOrder: 1,
  newConnectionsPerOrder: 0,
  overheadP50Ms: 0.3,
  overheadP99Ms: 2,
  coldStartMs: 150,
  bundleMinifiedBytes: 1_000_000,
  /** Cold import + first `check`, as a multiple of the floor bundle's in the same run. */
  coldStartVsFloor: 1.5,
  /** First order after a cold import over the simulated link: round trips it needs + this much (ms). */
  firstOrderSlackMs: 25,
  /** A warm order over the same link: a bare request's round trip + this much (ms). */
  warmOrderSlackMs: 1,
  preflightProcessMs: 2000,
  preflightRequestsPerBroker: 4,
};
/** Round trips a first order needs at the least: Alor refresh + order, T-Invest the order. */
const FIRST_ORDER_RTTS: Record<Broker, number> = { alor: 2, tinkoff: 1 };

const WEBHOOK_SECRET = 'bench-webhook-secret-0001';
/** The stack's default names. */
const STORE = storeNames(DEFAULT_RESOURCE_PREFIX);

// The functions log one JSON line per invocation on stdout; the benchmark keeps stdout for its table. The lines are
// still built (that cost is part of the handler), only not written; in the notification phase they go to the
// notifier, as a log subscription would take them.
const writeStdout = process.stdout.write.bind(process.stdout);
const say = (line = '') => writeStdout(`${line}\n`);
const tap: LineTap = { feed: undefined };
process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
  if (typeof chunk !== 'string' || !chunk.startsWith('{"level"')) return writeStdout(chunk, ...rest);
  tap.feed?.(chunk.trimEnd());
  return true;
}) as typeof process.stdout.write;

// This machine runs Node 20 (Lambda runs 22): the SDK's notice about that says nothing about the figures.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (!warning.message.startsWith('NodeVersionSupportWarning')) process.stderr.write(`${warning.stack}\n`);
});

const startedAt = performance.now();
const loadBefore = loadavg();

say('Building bundles with infra/bundling.ts (SDK bundled and SDK external)…');
const bundles = await buildAllBundles();
const floorBundles = await buildFloorBundles();

const paper = await startPaperBrokers();
const telegram = await startFakeTelegram();
const store = await startFakeAwsStore({
  secrets: {
    [STORE.webhookSecret]: WEBHOOK_SECRET,
    [STORE.alorRefreshToken]: PAPER_ALOR.refreshToken,
    [STORE.tinkoffToken]: PAPER_TINKOFF.token,
  },
  parameters: { [STORE.alorPortfolio]: PAPER_ALOR.portfolio, [STORE.tinkoffAccountId]: PAPER_TINKOFF.accountId },
});

/** What the CDK stack sets with `storeExtension` off (store read with the SDK), pointed at the local brokers and store. */
const sdkStoreEnv: Record<string, string> = {
  ...store.env(),
  [ENV.webhookSecretId]: STORE.webhookSecret,
  [ENV.alorRefreshTokenSecretId]: STORE.alorRefreshToken,
  [ENV.alorPortfolioParameter]: STORE.alorPortfolio,
  [ENV.alorOauthUrl]: paper.alor.url,
  [ENV.alorApiUrl]: paper.alor.url,
  [ENV.tinkoffTokenSecretId]: STORE.tinkoffToken,
  [ENV.tinkoffAccountIdParameter]: STORE.tinkoffAccountId,
  [ENV.tinkoffApiUrl]: paper.tinkoff.v2Url,
  BENCH_WEBHOOK_SECRET: WEBHOOK_SECRET,
};
/** What the CDK stack sets by default: the same, and the extension's port (the fake store answers on it). */
const functionEnv: Record<string, string> = { ...sdkStoreEnv, ...store.extensionEnv() };

/**
 * The cold starts measured side by side, runs interleaved: the deployed default, and each alternative tried on the
 * way to it (docs/performance.md#alternatives-tried), so every figure comes from the same run as the floor's.
 */
const COLD_SETUPS = {
  deployed: { label: 'deployed (store extension)', variant: DEPLOYED_VARIANT, env: functionEnv },
  sdkStore: { label: 'alt. store via SDK, bundled', variant: 'sdkBundled', env: sdkStoreEnv },
  sourceMaps: {
    label: 'alt. deployed + source maps',
    variant: DEPLOYED_VARIANT,
    env: { ...functionEnv, NODE_OPTIONS: '--enable-source-maps' },
  },
} as const satisfies Record<string, { label: string; variant: SdkVariant; env: Record<string, string> }>;
type ColdSetup = keyof typeof COLD_SETUPS;
const COLD_SETUP_NAMES = Object.keys(COLD_SETUPS) as ColdSetup[];

const warm = {} as Record<Broker, WarmFigures>;
const longPrice = {} as Record<Broker, LongPriceFigures>;
const notify = {} as Record<Broker, NotifyFigures>;
const cold = {} as Record<Broker, Record<ColdSetup, ColdFigures>>;
let floorCold: ColdFigures | undefined;
let storeFloorCold: ColdFigures | undefined;
const overNetwork = {} as Record<Broker, FirstOrderFigures>;
const overNetworkKeptWarm = {} as Record<Broker, FirstOrderFigures>;
let preflight: PreflightFigures;
try {
  // Warm: both bundled functions in this process, configured as deployed, one after the other.
  for (const name of Object.keys(process.env)) {
    if (FUNCTION_SETTING_NAME.test(name) || name.startsWith('AWS_')) delete process.env[name];
  }
  Object.assign(process.env, functionEnv);
  for (const broker of BROKERS) {
    say(`Warm ${broker}: ${WARMUP} warm-up, ${WARM_ORDERS} orders counted, ${LATENCY_INVOCATIONS} invocations timed…`);
    const handler = await importBundledHandler(bundles[DEPLOYED_VARIANT][broker].file);
    warm[broker] = await measureWarm(broker, handler, paper, WEBHOOK_SECRET, {
      countOrders: WARM_ORDERS,
      latencyInvocations: LATENCY_INVOCATIONS,
      maxPhaseMs: MAX_PHASE_MS,
      warmupOrders: WARMUP,
    });
    say(`Refused prices ${broker}: 16 digits, 16,000 digits, 16 digits in a body as long, interleaved…`);
    longPrice[broker] = await measureLongPriceRefusal(broker, handler, WEBHOOK_SECRET, {
      runs: LATENCY_INVOCATIONS,
      warmup: Math.min(WARMUP, 200),
      maxPhaseMs: MAX_PHASE_MS,
    });
  }

  // Telegram messages off and on, side by side: two fresh instances of the bundle, called alternately.
  const notifier = createBenchNotifier(telegram);
  for (const broker of BROKERS) {
    say(`Messages off / on ${broker}: ${WARMUP} warm-up pairs, ${NOTIFY_INVOCATIONS} timed calls each…`);
    notify[broker] = await measureNotify(
      broker,
      bundles[DEPLOYED_VARIANT][broker].file,
      WEBHOOK_SECRET,
      notifier,
      telegram,
      tap,
      { invocations: NOTIFY_INVOCATIONS, warmupOrders: WARMUP, maxPhaseMs: MAX_PHASE_MS },
    );
  }

  // Cold: fresh processes, setups interleaved run by run.
  say(`Cold starts: ${COLD_RUNS} fresh node processes per setup…`);
  const runs = new Map<string, ColdRun[]>();
  const coldDeadline = performance.now() + 5 * MAX_PHASE_MS;
  for (let i = 0; i < COLD_RUNS && performance.now() < coldDeadline; i += 1) {
    for (const [key, floor] of Object.entries(floorBundles)) {
      runs.set(key, [...(runs.get(key) ?? []), await coldRun(floor.file, 'alor', functionEnv)]);
    }
    for (const setup of COLD_SETUP_NAMES) {
      const { variant, env } = COLD_SETUPS[setup];
      for (const broker of BROKERS) {
        const key = `${setup}/${broker}`;
        runs.set(key, [...(runs.get(key) ?? []), await coldRun(bundles[variant][broker].file, broker, env)]);
      }
    }
  }
  for (const broker of BROKERS) {
    cold[broker] = {} as Record<ColdSetup, ColdFigures>;
    for (const setup of COLD_SETUP_NAMES) cold[broker][setup] = summarizeCold(runs.get(`${setup}/${broker}`) ?? []);
  }
  floorCold = summarizeCold(runs.get('floor') ?? []);
  storeFloorCold = summarizeCold(runs.get('withStoreRead') ?? []);

  // First order over a network: TLS and a simulated round trip in front of each broker origin, fresh processes.
  say(`First order over a network: TLS, ${RTT_MS} ms round trip, ${NETWORK_RUNS} fresh node processes per function…`);
  const network = await startBrokerNetwork(paper, RTT_MS);
  try {
    const networkRuns = new Map<string, Awaited<ReturnType<typeof firstOrderRun>>[]>();
    const networkDeadline = performance.now() + 5 * MAX_PHASE_MS;
    for (let i = 0; i < NETWORK_RUNS && performance.now() < networkDeadline; i += 1) {
      for (const broker of BROKERS) {
        for (const mode of ['cold', 'keep-warm'] as const) {
          const run = await firstOrderRun(bundles[DEPLOYED_VARIANT][broker].file, broker, functionEnv, network, mode);
          networkRuns.set(`${mode}/${broker}`, [...(networkRuns.get(`${mode}/${broker}`) ?? []), run]);
        }
      }
    }
    for (const broker of BROKERS) {
      overNetwork[broker] = summarizeFirstOrder(networkRuns.get(`cold/${broker}`) ?? [], RTT_MS);
      overNetworkKeptWarm[broker] = summarizeFirstOrder(networkRuns.get(`keep-warm/${broker}`) ?? [], RTT_MS);
    }
  } finally {
    await network.close();
  }

  say(`Preflight: ${PREFLIGHT_RUNS} full preflights of both brokers, as npm run preflight and in process…`);
  preflight = await measurePreflight(paper, PREFLIGHT_RUNS);
} finally {
  await paper.close();
  await store.close();
  await telegram.close();
}

const sizes = (figures: BundleFigures) => ({ minifiedBytes: figures.minifiedBytes, gzipBytes: figures.gzipBytes });
const perBroker = Object.fromEntries(
  BROKERS.map((broker) => [
    broker,
    {
      warm: warm[broker],
      notify: notify[broker],
      longPrice: longPrice[broker],
      cold: cold[broker],
      overNetwork: overNetwork[broker],
      overNetworkKeptWarm: overNetworkKeptWarm[broker],
      bundle: Object.fromEntries(SDK_VARIANTS.map((variant) => [variant, sizes(bundles[variant][broker])])),
    },
  ]),
) as Record<
  Broker,
  {
    warm: WarmFigures;
    notify: NotifyFigures;
    longPrice: LongPriceFigures;
    cold: Record<ColdSetup, ColdFigures>;
    overNetwork: FirstOrderFigures;
    overNetworkKeptWarm: FirstOrderFigures;
    bundle: Record<SdkVariant, ReturnType<typeof sizes>>;
  }
>;

/**
 * A cold start as a multiple of a floor bundle's in the same run: the floor the target is set against, or the one
 * that reads its secret through the store extension, as every function must.
 */
const timesFloor = (figures: ColdFigures, floor = floorCold) =>
  figures.coldStartMs / (floor?.coldStartMs ?? Number.NaN);

const checks: Record<string, { value: number; target: string; met: boolean }> = {};
for (const broker of BROKERS) {
  const figures = perBroker[broker];
  const check = (key: string, value: number, target: string, met: boolean) => {
    checks[`${broker}.${key}`] = { value, target, met };
  };
  check(
    'brokerRequestsPerOrder',
    figures.warm.brokerRequestsPerOrder,
    '= 1',
    figures.warm.brokerRequestsPerOrder === TARGETS.brokerRequestsPerOrder,
  );
  check(
    'newConnectionsPerOrder',
    figures.warm.newConnectionsPerOrder,
    '= 0',
    figures.warm.newConnectionsPerOrder === TARGETS.newConnectionsPerOrder,
  );
  const overhead = figures.warm.overheadAboveFloorMs;
  check('overheadAboveFloorP50Ms', overhead.p50, '< 0.3', overhead.p50 < TARGETS.overheadP50Ms);
  check('overheadAboveFloorP99Ms', overhead.p99, '< 2', overhead.p99 < TARGETS.overheadP99Ms);
  const coldStart = figures.cold.deployed.coldStartMs;
  check('deployed.coldStartMs', coldStart, '< 150', coldStart < TARGETS.coldStartMs);
  const vsFloor = round(timesFloor(figures.cold.deployed), 2);
  check('deployed.coldStartVsFloor', vsFloor, '<= 1.5', vsFloor <= TARGETS.coldStartVsFloor);
  for (const variant of SDK_VARIANTS) {
    const bytes = figures.bundle[variant].minifiedBytes;
    check(`${variant}.bundleMinifiedBytes`, bytes, '< 1000000', bytes < TARGETS.bundleMinifiedBytes);
  }
}

for (const broker of BROKERS) {
  const figures = overNetwork[broker];
  const firstBound = FIRST_ORDER_RTTS[broker] * RTT_MS + TARGETS.firstOrderSlackMs;
  checks[`${broker}.overNetwork.firstOrderMs`] = {
    value: figures.firstOrderMs,
    target: `<= ${FIRST_ORDER_RTTS[broker]} RTT + ${TARGETS.firstOrderSlackMs} ms (${firstBound})`,
    met: figures.firstOrderMs <= firstBound,
  };
  checks[`${broker}.overNetwork.warmOverheadMs`] = {
    value: figures.warmOverheadMs,
    target: `< ${TARGETS.warmOrderSlackMs} ms above a bare request over the link`,
    met: figures.warmOverheadMs < TARGETS.warmOrderSlackMs,
  };
}
checks['preflight.processMs'] = {
  value: preflight.processMs.median,
  target: '< 2000',
  met: preflight.processMs.median < TARGETS.preflightProcessMs,
};
checks['preflight.maxRequestsPerBroker'] = {
  value: Math.max(preflight.requests.alor, preflight.requests.tinkoff),
  target: '<= 4',
  met: Math.max(preflight.requests.alor, preflight.requests.tinkoff) <= TARGETS.preflightRequestsPerBroker,
};

const results = {
  schemaVersion: 1,
  generatedAt: new Date().toISOString(),
  machine: {
    node: process.version,
    /** The node of the fresh processes (cold starts, first orders): BENCH_NODE, else the same. */
    childNode: childNodeVersion(),
    cpus: cpus().length,
    loadAverage1mBefore: round(loadBefore[0] ?? 0, 2),
    loadAverage1mAfter: round(loadavg()[0] ?? 0, 2),
  },
  settings: {
    warmOrders: WARM_ORDERS,
    latencyInvocations: LATENCY_INVOCATIONS,
    coldRuns: COLD_RUNS,
    rttMs: RTT_MS,
    networkRuns: NETWORK_RUNS,
    warmup: WARMUP,
    notifyInvocations: NOTIFY_INVOCATIONS,
    deployedVariant: DEPLOYED_VARIANT,
    preflightRuns: PREFLIGHT_RUNS,
  },
  brokers: perBroker,
  floor: { cold: floorCold, bundle: sizes(floorBundles.floor) },
  floorWithStoreRead: {
    cold: storeFloorCold,
    bundle: sizes(floorBundles.withStoreRead),
    deployedColdStartVsFloor: Object.fromEntries(
      BROKERS.map((broker) => [broker, round(timesFloor(cold[broker].deployed, storeFloorCold), 2)]),
    ),
  },
  preflight,
  targets: checks,
  durationS: round((performance.now() - startedAt) / 1000, 1),
};
writeFileSync(fileURLToPath(new URL('results.json', import.meta.url)), `${JSON.stringify(results, null, 2)}\n`);

// The table.
const ms = (value: number) => value.toFixed(3);
const pair = (a: string, b: string) => `${a} / ${b}`;
const kb = (bytes: number) => `${(bytes / 1000).toFixed(0)} kB`;
const rows: [string, (broker: Broker) => string, string][] = [
  ['warm: broker requests per order', (b) => perBroker[b].warm.brokerRequestsPerOrder.toFixed(3), '1.0'],
  ['warm: new connections per order', (b) => perBroker[b].warm.newConnectionsPerOrder.toFixed(3), '0'],
  [
    'first order: requests / new connections',
    (b) =>
      pair(String(perBroker[b].warm.firstOrder.brokerRequests), String(perBroker[b].warm.firstOrder.newConnections)),
    '',
  ],
  ['handler latency p50 / p99 (ms)', (b) => pair(ms(warm[b].handlerMs.p50), ms(warm[b].handlerMs.p99)), ''],
  ['  minus time in broker p50 / p99', (b) => pair(ms(warm[b].handlerNetMs.p50), ms(warm[b].handlerNetMs.p99)), ''],
  ['bare undici request − broker p50 / p99', (b) => pair(ms(warm[b].floorNetMs.p50), ms(warm[b].floorNetMs.p99)), ''],
  [
    'overhead above floor p50 / p99 (ms)',
    (b) => pair(ms(warm[b].overheadAboveFloorMs.p50), ms(warm[b].overheadAboveFloorMs.p99)),
    '< 0.3 / < 2',
  ],
  [
    'messages off: 1st order / p50 / p99 (ms)',
    (b) => [notify[b].off.firstOrderMs, notify[b].off.warmMs.p50, notify[b].off.warmMs.p99].map(ms).join(' / '),
    '',
  ],
  [
    'messages on:  1st order / p50 / p99 (ms)',
    (b) => [notify[b].on.firstOrderMs, notify[b].on.warmMs.p50, notify[b].on.warmMs.p99].map(ms).join(' / '),
    'same',
  ],
  ['  messages sent / calls with messages on', (b) => pair(String(notify[b].messages), String(notify[b].onCalls)), ''],
  [
    '400 for a price of 16 / 16,000 digits p50 (ms)',
    (b) => pair(ms(longPrice[b].shortMs.p50), ms(longPrice[b].longMs.p50)),
    '',
  ],
  [
    '  16,000 digits ÷ 16 digits in as long a body',
    (b) => `${longPrice[b].longVsPadded.toFixed(2)}× (${ms(longPrice[b].paddedShortMs.p50)} ms)`,
    '≈ 1×',
  ],
];
for (const setup of COLD_SETUP_NAMES) {
  rows.push(
    [
      `cold, ${COLD_SETUPS[setup].label}: import + check (ms)`,
      (b) => cold[b][setup].coldStartMs.toFixed(1),
      setup === 'deployed' ? '< 150' : '',
    ],
    [
      `  import / first check / first order`,
      (b) =>
        [cold[b][setup].importMs, cold[b][setup].firstCheckMs, cold[b][setup].firstOrderMs]
          .map((value) => value.toFixed(1))
          .join(' / '),
      '',
    ],
    [`  peak RSS (MB)`, (b) => cold[b][setup].peakRssMb.toFixed(1), ''],
    [`  ÷ floor bundle`, (b) => timesFloor(cold[b][setup]).toFixed(2), setup === 'deployed' ? '<= 1.5' : ''],
  );
  if (setup === 'deployed') {
    rows.push([`  ÷ floor bundle + one store read`, (b) => timesFloor(cold[b][setup], storeFloorCold).toFixed(2), '']);
  }
}
for (const variant of SDK_VARIANTS) {
  rows.push([
    `bundle, SDK ${variant === 'sdkBundled' ? 'bundled' : 'external'}: minified / gzip`,
    (b) => pair(kb(perBroker[b].bundle[variant].minifiedBytes), kb(perBroker[b].bundle[variant].gzipBytes)),
    '< 1000 kB',
  ]);
}
const network = (b: Broker) => overNetwork[b];
const phasesCell = (phases: CallPhases) =>
  [phases.beforeSend, phases.onLink, phases.afterHeaders].map((value) => value.toFixed(2)).join(' / ');
rows.push(
  [`floor bundle: import + check (ms)`, () => (floorCold?.coldStartMs ?? Number.NaN).toFixed(1), ''],
  [
    `floor bundle + one store read: import + check (ms)`,
    () => (storeFloorCold?.coldStartMs ?? Number.NaN).toFixed(1),
    '',
  ],
  [
    `first order over ${RTT_MS} ms RTT + TLS: ms / RTTs`,
    (b) => pair(network(b).firstOrderMs.toFixed(1), network(b).firstOrderRtts.toFixed(2)),
    'A 2, T 1 RTT+25',
  ],
  [
    `  store / handshakes / refresh / order (ms)`,
    (b) =>
      [
        network(b).breakdownMs.storeReads,
        network(b).breakdownMs.handshakes,
        network(b).breakdownMs.refresh,
        network(b).breakdownMs.order,
      ]
        .map((value) => value.toFixed(1))
        .join(' / '),
    '',
  ],
  [
    `  fastest / slowest of the runs (ms)`,
    (b) => pair(network(b).firstOrderSpreadMs.fastest.toFixed(1), network(b).firstOrderSpreadMs.slowest.toFixed(1)),
    '',
  ],
  [`  import, handshakes included (ms)`, (b) => network(b).importMs.toFixed(1), ''],
  [
    `  after a keep-warm invocation: ms / RTTs`,
    (b) => pair(overNetworkKeptWarm[b].firstOrderMs.toFixed(1), overNetworkKeptWarm[b].firstOrderRtts.toFixed(2)),
    '',
  ],
  [
    `warm order over the link: ms / RTTs`,
    (b) => pair(network(b).warmOrderMs.toFixed(1), network(b).warmOrderRtts.toFixed(2)),
    '',
  ],
  [`  minus a bare request over the link (ms)`, (b) => network(b).warmOverheadMs.toFixed(2), '< 1'],
  [`  before send / on the link / after headers (ms)`, (b) => phasesCell(network(b).warmPhasesMs.function), ''],
  [`  the same, bare request (ms)`, (b) => phasesCell(network(b).warmPhasesMs.bare), ''],
);
const widths = [54, 24, 24, 16];
const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] ?? 10)).join(' ');
say();
say(line(['', 'alor', 'tinkoff', 'target']));
for (const [label, value, target] of rows) say(line([label, value('alor'), value('tinkoff'), target]));
say(
  line([
    'preflight, both brokers: process / checks (ms)',
    `${preflight.processMs.median.toFixed(0)} / ${preflight.checksMs.toFixed(1)}`,
    `max ${preflight.processMs.max.toFixed(0)}`,
    '< 2000',
  ]),
);
say(
  line([
    '  broker requests (alor, tinkoff)',
    String(preflight.requests.alor),
    String(preflight.requests.tinkoff),
    '<= 4',
  ]),
);
say();
const missed = Object.entries(checks).filter(([, check]) => !check.met);
say(
  missed.length === 0
    ? 'All targets met.'
    : `Targets not met: ${missed.map(([key, check]) => `${key} = ${check.value} (${check.target})`).join('; ')}`,
);
say(
  `Node ${results.machine.node} (fresh processes: ${results.machine.childNode}); ` +
    `load average ${results.machine.loadAverage1mBefore} → ${results.machine.loadAverage1mAfter} on ${results.machine.cpus} CPUs; ` +
    `${results.durationS} s. Figures in bench/results.json.`,
);
process.exit(0);
