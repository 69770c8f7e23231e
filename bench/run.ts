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
 * (the `node`s of the measured processes, side by side: warm phases, cold starts, first orders; `24,22` fetches both
 * from the npm registry; bench/child-run.ts), BENCH_POSITION_RUNS (5: fresh processes per function of the target-position
 * phase, bench/position.ts, and of the guarded phase: a sized entry through every guard), BENCH_POSITION_SIGNALS (20:
 * warm signals per such process), BENCH_PROTECTION_RUNS (3:
 * fresh processes per function and entry type of the protected-entry phase, bench/protection.ts), BENCH_PHASES (a comma
 * list of the phases to run, all by default: warm, long-price, notify, cold, network, position, guarded, protection,
 * preflight; the bundles are always built and measured, and only the targets of the phases run are checked). The
 * refused-price, messages and preflight phases run on this process's Node.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startFakeAwsStore } from '#local/aws-store.ts';
import { startFakeTelegram } from '#local/fake-telegram.ts';
import { checkNodeSupport } from '#local/node-support.ts';
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
import { type BenchNode, benchNodes, positiveInt } from './child-run.ts';
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
import { clearOrderBooks, type PositionFigures, positionRun, summarizePosition } from './position.ts';
import { measurePreflight, type PreflightFigures } from './preflight.ts';
import {
  PROTECTED_ENTRY_TYPES,
  type ProtectedEntryType,
  type ProtectionFigures,
  protectionRun,
  summarizeProtection,
} from './protection.ts';
import { round } from './stats.ts';
import { importBundledHandler, paperBrokerEnv, type WarmFigures, warmRun } from './warm.ts';

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

const PHASE_NAMES = [
  'warm',
  'long-price',
  'notify',
  'cold',
  'network',
  'position',
  'guarded',
  'protection',
  'preflight',
] as const;
type Phase = (typeof PHASE_NAMES)[number];
const PHASES = new Set(
  (process.env.BENCH_PHASES ?? PHASE_NAMES.join(','))
    .split(',')
    .map((name) => name.trim())
    .filter((name): name is Phase => (PHASE_NAMES as readonly string[]).includes(name)),
);
const phase = (name: Phase) => PHASES.has(name);
/** Runs of the target-position phase per function and node (fresh processes). */
const POSITION_RUNS = positiveInt('BENCH_POSITION_RUNS', 5);
/** Runs of the protected-entry phase per function, entry type and node (fresh processes). */
const PROTECTION_RUNS = positiveInt('BENCH_PROTECTION_RUNS', 3);
/** A broker's follow-up queue, as the fake AWS store serves it (the watch of a protected entry goes there). */
const followUpQueueUrl = (storeUrl: string, broker: Broker) =>
  `${storeUrl}/000000000000/PppWebhooks-${broker === 'alor' ? 'Alor' : 'Tinkoff'}FollowUp`;
/** The stack's position-locks table, as the fake AWS store serves it. */
const POSITION_LOCK_TABLE = 'ppp-webhooks-position-locks';
/**
 * Every guard set (docs/contract.md#guards), none refusing the bench's signals: the kill switch (off, in the fake
 * store), the trading status, the day's loss, the money and position limits, the day's count in the lock's table.
 */
const EVERY_GUARD: Record<string, string> = {
  [ENV.killSwitchParameter]: storeNames(DEFAULT_RESOURCE_PREFIX).killSwitch,
  [ENV.checkTradingStatus]: 'true',
  [ENV.dailyLossLimit]: '50%',
  [ENV.maxOrderRub]: '1000000000',
  [ENV.maxPositionLots]: '1000000',
  [ENV.maxOrdersPerDay]: '5000',
  [ENV.positionLockTable]: POSITION_LOCK_TABLE,
};

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
  /** A warm `pos` order over the same link, with the lock: its reads at once then its order, bare, + this much (ms). */
  warmPositionSlackMs: 2,
  /** A warm entry sized in percent through every guard, over the same link: the same pattern, bare, + this much (ms). */
  warmGuardedSlackMs: 2,
  preflightProcessMs: 2000,
  /**
   * 4 before the reads of a ver 2 signal and its protection (positions, orders, stop orders) became the default;
   * T-Invest's one more is its portfolio's value (`GetPortfolio`), which Alor's summary read gives already.
   */
  preflightRequestsPerBroker: { alor: 6, tinkoff: 7 } as Record<Broker, number>,
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

checkNodeSupport();

const startedAt = performance.now();
const loadBefore = loadavg();

const { nodes, dispose: disposeNodes } = benchNodes();
say(`Measured processes on ${nodes.map((node) => `Node ${node.version}`).join(', ')}.`);

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
  parameters: {
    [STORE.alorPortfolio]: PAPER_ALOR.portfolio,
    [STORE.tinkoffAccountId]: PAPER_TINKOFF.accountId,
    [STORE.killSwitch]: 'off',
  },
  tables: [POSITION_LOCK_TABLE],
});

/** What the CDK stack sets with `storeExtension` off (store read with the SDK), pointed at the local brokers and store. */
const sdkStoreEnv: Record<string, string> = {
  ...store.env(),
  [ENV.webhookSecretId]: STORE.webhookSecret,
  [ENV.alorRefreshTokenSecretId]: STORE.alorRefreshToken,
  [ENV.alorPortfolioParameter]: STORE.alorPortfolio,
  [ENV.tinkoffTokenSecretId]: STORE.tinkoffToken,
  [ENV.tinkoffAccountIdParameter]: STORE.tinkoffAccountId,
  ...paperBrokerEnv(paper),
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

/** The figures that depend on the Node the function runs on: one set per node measured. */
interface RuntimeFigures {
  readonly node: BenchNode;
  readonly warm: Record<Broker, WarmFigures>;
  readonly cold: Record<Broker, Record<ColdSetup, ColdFigures>>;
  floorCold?: ColdFigures;
  storeFloorCold?: ColdFigures;
  readonly overNetwork: Record<Broker, FirstOrderFigures>;
  readonly overNetworkKeptWarm: Record<Broker, FirstOrderFigures>;
  /** A ver 2 `pos` signal over the same link, with the DynamoDB lock. */
  readonly position: Record<Broker, PositionFigures>;
  /** The same with the lock kept in the process (no table): what the DynamoDB lock adds, side by side. */
  readonly positionInProcessLock: Record<Broker, PositionFigures>;
  /** An entry of 0.1% of the portfolio at market through every guard, over the same link. */
  readonly guarded: Record<Broker, PositionFigures>;
  /** A protected entry (`sl`, `tp`) over the same link, limit and market. */
  readonly protection: Record<Broker, Partial<Record<ProtectedEntryType, ProtectionFigures>>>;
}
const runtimes: RuntimeFigures[] = nodes.map((node) => ({
  node,
  warm: {} as Record<Broker, WarmFigures>,
  cold: {} as Record<Broker, Record<ColdSetup, ColdFigures>>,
  overNetwork: {} as Record<Broker, FirstOrderFigures>,
  overNetworkKeptWarm: {} as Record<Broker, FirstOrderFigures>,
  position: {} as Record<Broker, PositionFigures>,
  positionInProcessLock: {} as Record<Broker, PositionFigures>,
  guarded: {} as Record<Broker, PositionFigures>,
  protection: { alor: {}, tinkoff: {} },
}));
const notify = {} as Record<Broker, NotifyFigures>;
const longPrice = {} as Record<Broker, LongPriceFigures>;
let preflight: PreflightFigures | undefined;
try {
  // Warm: each bundled function configured as deployed, in a fresh process per node, one after the other.
  for (const broker of phase('warm') ? BROKERS : []) {
    for (const runtime of runtimes) {
      say(
        `Warm ${broker} on Node ${runtime.node.version}: ${WARMUP} warm-up, ${WARM_ORDERS} orders counted, ` +
          `${LATENCY_INVOCATIONS} invocations timed…`,
      );
      runtime.warm[broker] = await warmRun(runtime.node, bundles[DEPLOYED_VARIANT][broker].file, broker, functionEnv, {
        countOrders: WARM_ORDERS,
        latencyInvocations: LATENCY_INVOCATIONS,
        maxPhaseMs: MAX_PHASE_MS,
        warmupOrders: WARMUP,
      });
    }
  }

  // Telegram messages off and on, side by side: two fresh instances of the bundle in this process, called alternately.
  for (const name of Object.keys(process.env)) {
    if (FUNCTION_SETTING_NAME.test(name) || name.startsWith('AWS_')) delete process.env[name];
  }
  Object.assign(process.env, functionEnv);
  // Refused prices, in this process (on this node): the parser's cost on a hostile price, beside a plain one.
  for (const broker of phase('long-price') ? BROKERS : []) {
    say(`Refused prices ${broker}: 16 digits, 16,000 digits, 16 digits in a body as long, interleaved…`);
    const handler = await importBundledHandler(bundles[DEPLOYED_VARIANT][broker].file);
    longPrice[broker] = await measureLongPriceRefusal(broker, handler, WEBHOOK_SECRET, {
      runs: LATENCY_INVOCATIONS,
      warmup: Math.min(WARMUP, 200),
      maxPhaseMs: MAX_PHASE_MS,
    });
  }
  const notifier = createBenchNotifier(telegram);
  for (const broker of phase('notify') ? BROKERS : []) {
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

  // Cold: fresh processes, setups and nodes interleaved run by run.
  if (phase('cold')) say(`Cold starts: ${COLD_RUNS} fresh node processes per setup and node…`);
  const runs = new Map<string, ColdRun[]>();
  const addRun = <TRun>(map: Map<string, TRun[]>, key: string, run: TRun) =>
    map.set(key, [...(map.get(key) ?? []), run]);
  const coldDeadline = performance.now() + 5 * MAX_PHASE_MS;
  for (let i = 0; i < (phase('cold') ? COLD_RUNS : 0) && performance.now() < coldDeadline; i += 1) {
    for (const [n, { node }] of runtimes.entries()) {
      for (const [key, floor] of Object.entries(floorBundles)) {
        addRun(runs, `${n}/${key}`, await coldRun(node, floor.file, 'alor', functionEnv));
      }
      for (const setup of COLD_SETUP_NAMES) {
        const { variant, env } = COLD_SETUPS[setup];
        for (const broker of BROKERS) {
          addRun(runs, `${n}/${setup}/${broker}`, await coldRun(node, bundles[variant][broker].file, broker, env));
        }
      }
    }
  }
  for (const [n, runtime] of phase('cold') ? runtimes.entries() : []) {
    for (const broker of BROKERS) {
      runtime.cold[broker] = {} as Record<ColdSetup, ColdFigures>;
      for (const setup of COLD_SETUP_NAMES) {
        runtime.cold[broker][setup] = summarizeCold(runs.get(`${n}/${setup}/${broker}`) ?? []);
      }
    }
    runtime.floorCold = summarizeCold(runs.get(`${n}/floor`) ?? []);
    runtime.storeFloorCold = summarizeCold(runs.get(`${n}/withStoreRead`) ?? []);
  }

  // First order over a network: TLS and a simulated round trip in front of each broker origin, fresh processes.
  const network =
    phase('network') || phase('position') || phase('guarded') || phase('protection')
      ? await startBrokerNetwork(paper, RTT_MS)
      : undefined;
  try {
    if (phase('network')) {
      say(
        `First order over a network: TLS, ${RTT_MS} ms round trip, ${NETWORK_RUNS} fresh node processes per function ` +
          'and node…',
      );
    }
    const networkRuns = new Map<string, Awaited<ReturnType<typeof firstOrderRun>>[]>();
    const networkDeadline = performance.now() + 5 * MAX_PHASE_MS;
    for (
      let i = 0;
      network !== undefined && phase('network') && i < NETWORK_RUNS && performance.now() < networkDeadline;
      i += 1
    ) {
      for (const [n, { node }] of runtimes.entries()) {
        for (const broker of BROKERS) {
          for (const mode of ['cold', 'keep-warm'] as const) {
            const file = bundles[DEPLOYED_VARIANT][broker].file;
            addRun(
              networkRuns,
              `${n}/${mode}/${broker}`,
              await firstOrderRun(node, file, broker, functionEnv, network, mode),
            );
          }
        }
      }
    }
    for (const [n, runtime] of phase('network') ? runtimes.entries() : []) {
      for (const broker of BROKERS) {
        runtime.overNetwork[broker] = summarizeFirstOrder(networkRuns.get(`${n}/cold/${broker}`) ?? [], RTT_MS);
        runtime.overNetworkKeptWarm[broker] = summarizeFirstOrder(
          networkRuns.get(`${n}/keep-warm/${broker}`) ?? [],
          RTT_MS,
        );
      }
    }

    // A ver 2 target position over the same link: with the DynamoDB lock (the fake store's, on loopback) and with the
    // lock in the process, interleaved run by run.
    if (network !== undefined && phase('position')) {
      say(
        `Target position over a network: ${RTT_MS} ms round trip, the lock on, ${POSITION_RUNS} fresh processes per ` +
          'function, lock and node…',
      );
      const lockEnvs = { dynamodb: { ...functionEnv, POSITION_LOCK_TABLE }, process: functionEnv } as const;
      const positionRuns = new Map<string, Awaited<ReturnType<typeof positionRun>>[]>();
      for (let i = 0; i < POSITION_RUNS; i += 1) {
        for (const [n, { node }] of runtimes.entries()) {
          for (const broker of BROKERS) {
            for (const [lock, env] of Object.entries(lockEnvs)) {
              const file = bundles[DEPLOYED_VARIANT][broker].file;
              addRun(
                positionRuns,
                `${n}/${lock}/${broker}`,
                await positionRun(node, file, broker, env, network, paper),
              );
            }
          }
        }
      }
      for (const [n, runtime] of runtimes.entries()) {
        for (const broker of BROKERS) {
          runtime.position[broker] = summarizePosition(positionRuns.get(`${n}/dynamodb/${broker}`) ?? [], RTT_MS);
          runtime.positionInProcessLock[broker] = summarizePosition(
            positionRuns.get(`${n}/process/${broker}`) ?? [],
            RTT_MS,
          );
        }
      }
    }
    // A sized entry through every guard over the same link: the reads of its size and guards beside the state's, then
    // the order; the day's count in the fake store's DynamoDB (loopback), the kill switch through its extension.
    if (network !== undefined && phase('guarded')) {
      say(`Every guard set, vt pct: ${RTT_MS} ms round trip, ${POSITION_RUNS} fresh processes per function and node…`);
      const guardedRuns = new Map<string, Awaited<ReturnType<typeof positionRun>>[]>();
      for (let i = 0; i < POSITION_RUNS; i += 1) {
        for (const [n, { node }] of runtimes.entries()) {
          for (const broker of BROKERS) {
            const file = bundles[DEPLOYED_VARIANT][broker].file;
            const env = { ...functionEnv, ...EVERY_GUARD };
            addRun(
              guardedRuns,
              `${n}/${broker}`,
              await positionRun(node, file, broker, env, network, paper, 'guarded'),
            );
          }
        }
      }
      for (const [n, runtime] of runtimes.entries()) {
        for (const broker of BROKERS) {
          runtime.guarded[broker] = summarizePosition(guardedRuns.get(`${n}/${broker}`) ?? [], RTT_MS);
        }
      }
    }

    // A protected entry over the same link: Alor's bracket (stops, entry, groups, its read), T-Invest's stops of a
    // market entry, and each broker's watch queued on SQS (the fake store's, on loopback); a limit and a market entry.
    if (network !== undefined && phase('protection')) {
      say(
        `Protected entries over a network: ${RTT_MS} ms round trip, ${PROTECTION_RUNS} fresh processes per function…`,
      );
      const env = {
        ...functionEnv,
        ALOR_FOLLOW_UP_QUEUE_URL: followUpQueueUrl(store.url, 'alor'),
        TINKOFF_FOLLOW_UP_QUEUE_URL: followUpQueueUrl(store.url, 'tinkoff'),
      };
      const protectionRuns = new Map<string, Awaited<ReturnType<typeof protectionRun>>[]>();
      clearOrderBooks(paper);
      for (let i = 0; i < PROTECTION_RUNS; i += 1) {
        for (const [n, { node }] of runtimes.entries()) {
          for (const broker of BROKERS) {
            for (const type of PROTECTED_ENTRY_TYPES) {
              const file = bundles[DEPLOYED_VARIANT][broker].file;
              addRun(
                protectionRuns,
                `${n}/${type}/${broker}`,
                await protectionRun(node, file, broker, type, env, network),
              );
              store.takeMessages(followUpQueueUrl(store.url, broker));
            }
          }
        }
      }
      for (const [n, runtime] of runtimes.entries()) {
        for (const broker of BROKERS) {
          for (const type of PROTECTED_ENTRY_TYPES) {
            runtime.protection[broker][type] = summarizeProtection(
              protectionRuns.get(`${n}/${type}/${broker}`) ?? [],
              RTT_MS,
            );
          }
        }
      }
    }
  } finally {
    await network?.close();
  }

  if (phase('preflight')) {
    say(`Preflight: ${PREFLIGHT_RUNS} full preflights of both brokers, as npm run preflight and in process…`);
    clearOrderBooks(paper);
    preflight = await measurePreflight(paper, PREFLIGHT_RUNS);
  }
} finally {
  await paper.close();
  await store.close();
  await telegram.close();
  disposeNodes();
}

const sizes = (figures: BundleFigures) => ({ minifiedBytes: figures.minifiedBytes, gzipBytes: figures.gzipBytes });

/**
 * A cold start as a multiple of a floor bundle's in the same run, on the same node: the floor the target is set
 * against, or the one that reads its secret through the store extension, as every function must.
 */
const timesFloor = (figures: ColdFigures, floor: ColdFigures | undefined) =>
  figures.coldStartMs / (floor?.coldStartMs ?? Number.NaN);

type Checks = Record<string, { value: number; target: string; met: boolean }>;

/** The targets that depend on the node, checked on each. */
function runtimeChecks(runtime: RuntimeFigures): Checks {
  const checks: Checks = {};
  for (const broker of BROKERS) {
    const check = (key: string, value: number, target: string, met: boolean) => {
      checks[`${broker}.${key}`] = { value, target, met };
    };
    if (phase('warm')) {
      const warm = runtime.warm[broker];
      check(
        'brokerRequestsPerOrder',
        warm.brokerRequestsPerOrder,
        '= 1',
        warm.brokerRequestsPerOrder === TARGETS.brokerRequestsPerOrder,
      );
      check(
        'newConnectionsPerOrder',
        warm.newConnectionsPerOrder,
        '= 0',
        warm.newConnectionsPerOrder === TARGETS.newConnectionsPerOrder,
      );
      const overhead = warm.overheadAboveFloorMs;
      check('overheadAboveFloorP50Ms', overhead.p50, '< 0.3', overhead.p50 < TARGETS.overheadP50Ms);
      check('overheadAboveFloorP99Ms', overhead.p99, '< 2', overhead.p99 < TARGETS.overheadP99Ms);
    }
    if (phase('cold')) {
      const coldStart = runtime.cold[broker].deployed.coldStartMs;
      check('deployed.coldStartMs', coldStart, '< 150', coldStart < TARGETS.coldStartMs);
      const vsFloor = round(timesFloor(runtime.cold[broker].deployed, runtime.floorCold), 2);
      check('deployed.coldStartVsFloor', vsFloor, '<= 1.5', vsFloor <= TARGETS.coldStartVsFloor);
    }
    if (phase('network')) {
      const network = runtime.overNetwork[broker];
      const firstBound = FIRST_ORDER_RTTS[broker] * RTT_MS + TARGETS.firstOrderSlackMs;
      check(
        'overNetwork.firstOrderMs',
        network.firstOrderMs,
        `<= ${FIRST_ORDER_RTTS[broker]} RTT + ${TARGETS.firstOrderSlackMs} ms (${firstBound})`,
        network.firstOrderMs <= firstBound,
      );
      check(
        'overNetwork.warmOverheadMs',
        network.warmOverheadMs,
        `< ${TARGETS.warmOrderSlackMs} ms above a bare request over the link`,
        network.warmOverheadMs < TARGETS.warmOrderSlackMs,
      );
    }
    // Both above the signal's own reads sent bare at once, then an order: the paper brokers' work for those reads (three
    // or more at once take them longer than one order) is not the function's.
    if (phase('position')) {
      const position = runtime.position[broker];
      check(
        'position.warmOverPatternMs',
        position.warmOverPatternMs,
        `<= ${TARGETS.warmPositionSlackMs} ms above its own reads sent bare at once, then an order, with the lock`,
        position.warmOverPatternMs <= TARGETS.warmPositionSlackMs,
      );
    }
    if (phase('guarded')) {
      const guarded = runtime.guarded[broker];
      check(
        'guarded.warmOverPatternMs',
        guarded.warmOverPatternMs,
        `<= ${TARGETS.warmGuardedSlackMs} ms above its own reads sent bare at once, then an order, every guard set, vt pct`,
        guarded.warmOverPatternMs <= TARGETS.warmGuardedSlackMs,
      );
    }
  }
  return checks;
}

/** The targets that do not: bundle sizes and the preflight. */
const checks: Checks = {};
for (const broker of BROKERS) {
  for (const variant of SDK_VARIANTS) {
    const bytes = bundles[variant][broker].minifiedBytes;
    checks[`${broker}.${variant}.bundleMinifiedBytes`] = {
      value: bytes,
      target: '< 1000000',
      met: bytes < TARGETS.bundleMinifiedBytes,
    };
  }
}
if (preflight !== undefined) {
  checks['preflight.processMs'] = {
    value: preflight.processMs.median,
    target: '< 2000',
    met: preflight.processMs.median < TARGETS.preflightProcessMs,
  };
  for (const broker of BROKERS) {
    const limit = TARGETS.preflightRequestsPerBroker[broker];
    checks[`preflight.requests.${broker}`] = {
      value: preflight.requests[broker],
      target: `<= ${limit}`,
      met: preflight.requests[broker] <= limit,
    };
  }
}

const results = {
  schemaVersion: 2,
  generatedAt: new Date().toISOString(),
  machine: {
    /** The node of this process: bundling, the messages phase, the preflight. */
    node: process.version,
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
    positionRuns: POSITION_RUNS,
    protectionRuns: PROTECTION_RUNS,
    phases: [...PHASES],
  },
  /** One entry per node measured (BENCH_NODE), in its order: warm phases, cold starts, first orders. */
  runtimes: runtimes.map((runtime) => ({
    node: runtime.node.version,
    brokers: Object.fromEntries(
      BROKERS.map((broker) => [
        broker,
        {
          warm: runtime.warm[broker],
          cold: runtime.cold[broker],
          overNetwork: runtime.overNetwork[broker],
          overNetworkKeptWarm: runtime.overNetworkKeptWarm[broker],
          position: runtime.position[broker],
          positionInProcessLock: runtime.positionInProcessLock[broker],
          guarded: runtime.guarded[broker],
          protection: runtime.protection[broker],
        },
      ]),
    ),
    floor: { cold: runtime.floorCold },
    floorWithStoreRead: {
      cold: runtime.storeFloorCold,
      deployedColdStartVsFloor: phase('cold')
        ? Object.fromEntries(
            BROKERS.map((broker) => [
              broker,
              round(timesFloor(runtime.cold[broker].deployed, runtime.storeFloorCold), 2),
            ]),
          )
        : undefined,
    },
    targets: runtimeChecks(runtime),
  })),
  brokers: Object.fromEntries(
    BROKERS.map((broker) => [
      broker,
      {
        notify: notify[broker],
        longPrice: longPrice[broker],
        bundle: Object.fromEntries(SDK_VARIANTS.map((variant) => [variant, sizes(bundles[variant][broker])])),
      },
    ]),
  ),
  floor: { bundle: sizes(floorBundles.floor) },
  floorWithStoreRead: { bundle: sizes(floorBundles.withStoreRead) },
  preflight,
  targets: checks,
  durationS: round((performance.now() - startedAt) / 1000, 1),
};
writeFileSync(fileURLToPath(new URL('results.json', import.meta.url)), `${JSON.stringify(results, null, 2)}\n`);

// The table: a row per figure, a line per node for the figures that depend on it.
const ms = (value: number) => value.toFixed(3);
const pair = (a: string, b: string) => `${a} / ${b}`;
const kb = (bytes: number) => `${(bytes / 1000).toFixed(0)} kB`;
const phasesCell = (phases: CallPhases) =>
  [phases.beforeSend, phases.onLink, phases.afterHeaders].map((value) => value.toFixed(2)).join(' / ');
const oneDecimal = (values: readonly number[]) => values.map((value) => value.toFixed(1)).join(' / ');

type Cell = (broker: Broker) => string;
/** A row of figures measured on each node, or of figures measured once (on this process's node or none). */
type Row =
  | { readonly label: string; readonly perNode: (runtime: RuntimeFigures) => Cell; readonly target: string }
  | { readonly label: string; readonly once: Cell; readonly target: string; readonly node?: string };

const warmRow = (label: string, cell: (warm: WarmFigures) => string, target = ''): Row => ({
  label,
  perNode: (runtime) => (broker) => cell(runtime.warm[broker]),
  target,
});
const networkRow = (label: string, cell: (network: FirstOrderFigures) => string, target = ''): Row => ({
  label,
  perNode: (runtime) => (broker) => cell(runtime.overNetwork[broker]),
  target,
});
const positionRow = (label: string, cell: (position: PositionFigures) => string, target = ''): Row => ({
  label,
  perNode: (runtime) => (broker) => cell(runtime.position[broker]),
  target,
});
/** The guarded phase's rows: the same figures as the target position's, of a sized entry through every guard. */
function guardedRows(): Row[] {
  const row = (label: string, cell: (figures: PositionFigures) => string, target = ''): Row => ({
    label,
    perNode: (runtime) => (broker) => cell(runtime.guarded[broker]),
    target,
  });
  return [
    row('every guard, vt pct, over the link: first / warm (ms)', (figures) =>
      pair(figures.firstSignalMs.toFixed(1), figures.warmSignalMs.toFixed(1)),
    ),
    row('  warm in bare round trips', (figures) => figures.warmSignalRtts.toFixed(2), '<= 2 RTT + 2 ms'),
    row('  warm minus two bare requests (ms)', (figures) => figures.warmOverheadMs.toFixed(2)),
    row(
      '  its reads sent bare at once, then 1 / warm minus it (ms)',
      (figures) => pair(figures.barePatternMs.toFixed(1), figures.warmOverPatternMs.toFixed(2)),
      '— / <= 2',
    ),
    row('  broker / DynamoDB requests per warm signal', (figures) =>
      pair(String(figures.brokerRequestsPerSignal), String(figures.lockRequestsPerSignal)),
    ),
    row("  time in DynamoDB (the day's count, loopback, ms)", (figures) => figures.lockMs.toFixed(2)),
  ];
}

const protectionRow = (
  type: ProtectedEntryType,
  label: string,
  cell: (protection: ProtectionFigures) => string,
): Row => ({
  label,
  perNode: (runtime) => (broker) => {
    const figures = runtime.protection[broker][type];
    return figures === undefined ? '—' : cell(figures);
  },
  target: '',
});
const protectionRows = PROTECTED_ENTRY_TYPES.flatMap((type) => [
  protectionRow(type, `protected ${type} entry over the link: first / warm (ms)`, (protection) =>
    pair(protection.firstSignalMs.toFixed(1), protection.warmSignalMs.toFixed(1)),
  ),
  protectionRow(type, '  warm in bare round trips', (protection) => protection.warmSignalRtts.toFixed(2)),
  protectionRow(type, '  broker / queue requests per warm entry', (protection) =>
    pair(String(protection.brokerRequestsPerSignal), String(protection.queueRequestsPerSignal)),
  ),
]);
const rows: Row[] = [
  warmRow('warm: broker requests per order', (warm) => warm.brokerRequestsPerOrder.toFixed(3), '1.0'),
  warmRow('warm: new connections per order', (warm) => warm.newConnectionsPerOrder.toFixed(3), '0'),
  warmRow('first order: requests / new connections', (warm) =>
    pair(String(warm.firstOrder.brokerRequests), String(warm.firstOrder.newConnections)),
  ),
  warmRow('handler latency p50 / p99 (ms)', (warm) => pair(ms(warm.handlerMs.p50), ms(warm.handlerMs.p99))),
  warmRow('  minus time in broker p50 / p99', (warm) => pair(ms(warm.handlerNetMs.p50), ms(warm.handlerNetMs.p99))),
  warmRow('bare undici request − broker p50 / p99', (warm) => pair(ms(warm.floorNetMs.p50), ms(warm.floorNetMs.p99))),
  warmRow(
    'overhead above floor p50 / p99 (ms)',
    (warm) => pair(ms(warm.overheadAboveFloorMs.p50), ms(warm.overheadAboveFloorMs.p99)),
    '< 0.3 / < 2',
  ),
  {
    label: 'messages off: 1st order / p50 / p99 (ms)',
    once: (b) => [notify[b].off.firstOrderMs, notify[b].off.warmMs.p50, notify[b].off.warmMs.p99].map(ms).join(' / '),
    target: '',
    node: process.version,
  },
  {
    label: 'messages on:  1st order / p50 / p99 (ms)',
    once: (b) => [notify[b].on.firstOrderMs, notify[b].on.warmMs.p50, notify[b].on.warmMs.p99].map(ms).join(' / '),
    target: 'same',
    node: process.version,
  },
  {
    label: '  messages sent / calls with messages on',
    once: (b) => pair(String(notify[b].messages), String(notify[b].onCalls)),
    target: '',
    node: process.version,
  },
  {
    label: '400 for a price of 16 / 16,000 digits p50 (ms)',
    once: (b) => pair(ms(longPrice[b].shortMs.p50), ms(longPrice[b].longMs.p50)),
    target: '',
    node: process.version,
  },
  {
    label: '  16,000 digits ÷ 16 digits in as long a body',
    once: (b) => `${longPrice[b].longVsPadded.toFixed(2)}× (${ms(longPrice[b].paddedShortMs.p50)} ms)`,
    target: '≈ 1×',
    node: process.version,
  },
];
for (const setup of COLD_SETUP_NAMES) {
  const deployed = setup === 'deployed';
  const cold = (runtime: RuntimeFigures, broker: Broker) => runtime.cold[broker][setup];
  rows.push(
    {
      label: `cold, ${COLD_SETUPS[setup].label}: import + check (ms)`,
      perNode: (runtime) => (b) => cold(runtime, b).coldStartMs.toFixed(1),
      target: deployed ? '< 150' : '',
    },
    {
      label: '  import / first check / first order',
      perNode: (runtime) => (b) =>
        oneDecimal([cold(runtime, b).importMs, cold(runtime, b).firstCheckMs, cold(runtime, b).firstOrderMs]),
      target: '',
    },
    { label: '  peak RSS (MB)', perNode: (runtime) => (b) => cold(runtime, b).peakRssMb.toFixed(1), target: '' },
    {
      label: '  ÷ floor bundle',
      perNode: (runtime) => (b) => timesFloor(cold(runtime, b), runtime.floorCold).toFixed(2),
      target: deployed ? '<= 1.5' : '',
    },
  );
  if (deployed) {
    rows.push({
      label: '  ÷ floor bundle + one store read',
      perNode: (runtime) => (b) => timesFloor(cold(runtime, b), runtime.storeFloorCold).toFixed(2),
      target: '',
    });
  }
}
for (const variant of SDK_VARIANTS) {
  rows.push({
    label: `bundle, SDK ${variant === 'sdkBundled' ? 'bundled' : 'external'}: minified / gzip`,
    once: (b) => pair(kb(bundles[variant][b].minifiedBytes), kb(bundles[variant][b].gzipBytes)),
    target: '< 1000 kB',
  });
}
rows.push(
  {
    label: 'floor bundle: import + check (ms)',
    perNode: (runtime) => () => (runtime.floorCold?.coldStartMs ?? Number.NaN).toFixed(1),
    target: '',
  },
  {
    label: 'floor bundle + one store read: import + check (ms)',
    perNode: (runtime) => () => (runtime.storeFloorCold?.coldStartMs ?? Number.NaN).toFixed(1),
    target: '',
  },
  networkRow(
    `first order over ${RTT_MS} ms RTT + TLS: ms / RTTs`,
    (network) => pair(network.firstOrderMs.toFixed(1), network.firstOrderRtts.toFixed(2)),
    'A 2, T 1 RTT+25',
  ),
  networkRow('  store / handshakes / refresh / order (ms)', (network) =>
    oneDecimal([
      network.breakdownMs.storeReads,
      network.breakdownMs.handshakes,
      network.breakdownMs.refresh,
      network.breakdownMs.order,
    ]),
  ),
  networkRow('  fastest / slowest of the runs (ms)', (network) =>
    pair(network.firstOrderSpreadMs.fastest.toFixed(1), network.firstOrderSpreadMs.slowest.toFixed(1)),
  ),
  networkRow('  import, handshakes included (ms)', (network) => network.importMs.toFixed(1)),
  {
    label: '  after a keep-warm invocation: ms / RTTs',
    perNode: (runtime) => (b) =>
      pair(
        runtime.overNetworkKeptWarm[b].firstOrderMs.toFixed(1),
        runtime.overNetworkKeptWarm[b].firstOrderRtts.toFixed(2),
      ),
    target: '',
  },
  networkRow('warm order over the link: ms / RTTs', (network) =>
    pair(network.warmOrderMs.toFixed(1), network.warmOrderRtts.toFixed(2)),
  ),
  networkRow('  minus a bare request over the link (ms)', (network) => network.warmOverheadMs.toFixed(2), '< 1'),
  networkRow('  before send / on the link / after headers (ms)', (network) =>
    phasesCell(network.warmPhasesMs.function),
  ),
  networkRow('  the same, bare request (ms)', (network) => phasesCell(network.warmPhasesMs.bare)),
  positionRow('pos signal over the link, lock on: first / warm (ms)', (position) =>
    pair(position.firstSignalMs.toFixed(1), position.warmSignalMs.toFixed(1)),
  ),
  positionRow('  warm in bare round trips', (position) => position.warmSignalRtts.toFixed(2), '<= 2 RTT + 2 ms'),
  positionRow('  warm minus two bare requests (ms)', (position) => position.warmOverheadMs.toFixed(2)),
  positionRow(
    '  bare pattern (its reads at once, then 1) / warm minus it (ms)',
    (position) => pair(position.barePatternMs.toFixed(1), position.warmOverPatternMs.toFixed(2)),
    '— / <= 2',
  ),
  positionRow(
    '  broker / lock requests per warm signal',
    (position) => pair(String(position.brokerRequestsPerSignal), String(position.lockRequestsPerSignal)),
    '4 / 2',
  ),
  positionRow('  time in the lock (loopback DynamoDB, ms)', (position) => position.lockMs.toFixed(2)),
  {
    label: '  the same, lock in the process: warm / minus pattern',
    perNode: (runtime) => (b) =>
      pair(
        runtime.positionInProcessLock[b].warmSignalMs.toFixed(1),
        runtime.positionInProcessLock[b].warmOverPatternMs.toFixed(2),
      ),
    target: '',
  },
  ...guardedRows(),
  ...protectionRows,
  {
    label: 'preflight, both brokers: process / checks (ms)',
    once: (b) =>
      preflight === undefined
        ? '—'
        : b === 'alor'
          ? `${preflight.processMs.median.toFixed(0)} / ${preflight.checksMs.toFixed(1)}`
          : `max ${preflight.processMs.max.toFixed(0)}`,
    target: '< 2000',
    node: process.version,
  },
  {
    label: '  broker requests (alor, tinkoff)',
    once: (b) => (preflight === undefined ? '—' : String(preflight.requests[b])),
    target: `<= ${TARGETS.preflightRequestsPerBroker.alor} / ${TARGETS.preflightRequestsPerBroker.tinkoff}`,
    node: process.version,
  },
);
/** A cell of a phase that did not run is a dash; a row of such cells is left out. */
const shown = (cell: Cell, broker: Broker) => {
  try {
    const text = cell(broker);
    return text === 'NaN' || text.startsWith('NaN ') ? '—' : text;
  } catch {
    return '—';
  }
};
const widths = [54, 10, 24, 24, 16];
const line = (cells: string[]) =>
  cells
    .map((cell, i) => cell.padEnd(widths[i] ?? 10))
    .join(' ')
    .trimEnd();
say();
say(line(['', 'node', 'alor', 'tinkoff', 'target']));
for (const row of rows) {
  if ('once' in row) {
    const cells = BROKERS.map((broker) => shown(row.once, broker));
    if (cells.every((cell) => cell === '—')) continue;
    say(line([row.label, row.node ?? '', ...cells, row.target]));
    continue;
  }
  for (const [n, runtime] of runtimes.entries()) {
    const cells = BROKERS.map((broker) => shown(row.perNode(runtime), broker));
    if (cells.every((cell) => cell === '—')) continue;
    say(line([n === 0 ? row.label : '', runtime.node.version, ...cells, n === 0 ? row.target : '']));
  }
}
say();
const missed = [
  ...results.runtimes.flatMap((runtime) =>
    Object.entries(runtime.targets).map(([key, check]) => [`${key} (Node ${runtime.node})`, check] as const),
  ),
  ...Object.entries(checks),
].filter(([, check]) => !check.met);
say(
  missed.length === 0
    ? 'All targets met.'
    : `Targets not met: ${missed.map(([key, check]) => `${key} = ${check.value} (${check.target})`).join('; ')}`,
);
say(
  `Node ${results.machine.node} (measured processes: ${nodes.map((node) => node.version).join(', ')}); ` +
    `load average ${results.machine.loadAverage1mBefore} → ${results.machine.loadAverage1mAfter} on ${results.machine.cpus} CPUs; ` +
    `${results.durationS} s. Figures in bench/results.json.`,
);
process.exit(0);
