import { fileURLToPath } from 'node:url';
import type { Broker } from '#shared/facts.ts';
import { type BenchNode, runMeasuredChild } from './child-run.ts';
import { median, round } from './stats.ts';

/**
 * Cold starts: a fresh `node` process per run (`bench/cold-start-child.mjs`) imports the bundled function, answers
 * one `check: true` and then one order. Secrets and parameters come from the local fake AWS store through the real
 * SDK clients, as on Lambda; the broker is the paper broker. Runs are sequential, so they do not compete for CPU,
 * and the caller interleaves the bundles so that a change in machine load affects them all alike.
 */

export interface ColdRun {
  /** Node's own start-up before the script runs: the same for any function, shown for scale only. */
  readonly nodeBootMs: number;
  /** `import()` of the bundle, its init included (no store read through the extension: that is the first call's). */
  readonly importMs: number;
  /** From the end of the import to the first `check: true` answer. */
  readonly firstCheckMs: number;
  /** Import + first `check: true` answer: the figure the target applies to. */
  readonly coldStartMs: number;
  /** The first order after that check (Alor: includes the token refresh). */
  readonly firstOrderMs: number;
  readonly maxRssKb: number;
  readonly checkStatus: number;
  readonly orderStatus: number;
  readonly orderBody?: string;
}

export interface ColdFigures {
  readonly runs: number;
  readonly importMs: number;
  readonly firstCheckMs: number;
  readonly coldStartMs: number;
  readonly firstOrderMs: number;
  readonly peakRssMb: number;
  readonly nodeBootMs: number;
}

const CHILD = fileURLToPath(new URL('cold-start-child.mjs', import.meta.url));
export async function coldRun(
  node: BenchNode,
  bundle: string,
  broker: Broker,
  env: Record<string, string>,
): Promise<ColdRun> {
  const run = await runMeasuredChild<ColdRun>(node, `cold-start run of ${bundle}`, CHILD, [bundle, broker], env);
  if (run.checkStatus !== 200 || run.orderStatus !== 200) {
    throw new Error(`cold-start run answered check ${run.checkStatus}, order ${run.orderStatus} ${run.orderBody}`);
  }
  return run;
}

/** Medians over the runs of one bundle (the runs of all bundles are interleaved by the caller). */
export function summarizeCold(results: readonly ColdRun[]): ColdFigures {
  const med = (pick: (run: ColdRun) => number) => round(median(results.map(pick)), 1);
  return {
    runs: results.length,
    importMs: med((run) => run.importMs),
    firstCheckMs: med((run) => run.firstCheckMs),
    coldStartMs: med((run) => run.coldStartMs),
    firstOrderMs: med((run) => run.firstOrderMs),
    peakRssMb: round(median(results.map((run) => run.maxRssKb)) / 1024, 1),
    nodeBootMs: med((run) => run.nodeBootMs),
  };
}
