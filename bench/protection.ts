import { fileURLToPath } from 'node:url';
import type { Broker } from '#shared/facts.ts';
import { type BenchNode, expectAllPlaced, runMeasuredChild } from './child-run.ts';
import type { BrokerNetwork } from './first-order.ts';
import { overTheLink } from './position.ts';
import { median, round } from './stats.ts';

/**
 * "A protected entry over a network" (docs/contract.md#protection): a fresh `node` process per run imports the
 * deployed bundle, sends an entry with `sl` and `tp`, then warm ones, each a new entry, beside the same order sent by a
 * bare undici request over the link (one round trip). T-Invest's watch goes to the fake AWS store's SQS on loopback
 * (in-region SQS is not on the link), as the position lock's DynamoDB does in the position phase.
 */

interface ProtectionRun {
  readonly firstMs: number;
  readonly warmMs: number;
  readonly bareRequestMs: number;
  readonly brokerRequestsPerSignal: number;
  readonly queueRequestsPerSignal: number;
  readonly statuses: readonly number[];
  readonly results: readonly string[];
  readonly body?: string;
  readonly timeline?: readonly { path: string; start: number; end: number }[];
}

export interface ProtectionFigures {
  readonly runs: number;
  readonly rttMs: number;
  readonly firstSignalMs: number;
  readonly warmSignalMs: number;
  /** The warm entry in round trips of a bare request over the link. */
  readonly warmSignalRtts: number;
  readonly bareRequestMs: number;
  readonly brokerRequestsPerSignal: number;
  /** SQS sends per signal (T-Invest's watch), on loopback. */
  readonly queueRequestsPerSignal: number;
  readonly timeline: readonly { path: string; start: number; end: number }[];
}

export const PROTECTED_ENTRY_TYPES = ['limit', 'market'] as const;
export type ProtectedEntryType = (typeof PROTECTED_ENTRY_TYPES)[number];

const CHILD = fileURLToPath(new URL('protection-child.mjs', import.meta.url));
const WARM_SIGNALS_PER_RUN = 10;

export async function protectionRun(
  node: BenchNode,
  bundle: string,
  broker: Broker,
  type: ProtectedEntryType,
  env: Record<string, string>,
  network: BrokerNetwork,
): Promise<ProtectionRun> {
  const run = await runMeasuredChild<ProtectionRun>(
    node,
    `protected ${type} entry run of ${bundle}`,
    CHILD,
    [bundle, broker, type, String(WARM_SIGNALS_PER_RUN)],
    overTheLink(env, network, broker),
  );
  expectAllPlaced('protected entry run', run);
  return run;
}

export function summarizeProtection(runs: readonly ProtectionRun[], rttMs: number): ProtectionFigures {
  const med = (pick: (run: ProtectionRun) => number) => round(median(runs.map(pick)), 1);
  const warmSignalMs = med((run) => run.warmMs);
  const bareRequestMs = med((run) => run.bareRequestMs);
  return {
    runs: runs.length,
    rttMs,
    firstSignalMs: med((run) => run.firstMs),
    warmSignalMs,
    warmSignalRtts: round(warmSignalMs / bareRequestMs, 2),
    bareRequestMs,
    brokerRequestsPerSignal: med((run) => run.brokerRequestsPerSignal),
    queueRequestsPerSignal: med((run) => run.queueRequestsPerSignal),
    timeline: runs.at(-1)?.timeline ?? [],
  };
}
