import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Broker } from '#shared/facts.ts';
import { RUNTIME_NODE_OPTIONS } from '../infra/bundling.ts';
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
  /** `import()` of the bundle, including the init-phase store reads it awaits. */
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
const RUN_TIMEOUT_MS = 20_000;

/** Only what the function needs: the host's AWS profile, proxies or LOG_LEVEL must not change what is measured. */
const INHERITED = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'];

export function coldRun(bundle: string, broker: Broker, env: Record<string, string>): Promise<ColdRun> {
  return new Promise((resolve, reject) => {
    const base = Object.fromEntries(
      INHERITED.flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name] as string]])),
    );
    const child = spawn(process.execPath, [CHILD, bundle, broker], {
      // As deployed: the function's NODE_OPTIONS (source maps) are part of its cold start.
      env: { ...base, ...env, NODE_OPTIONS: RUNTIME_NODE_OPTIONS },
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      timeout: RUN_TIMEOUT_MS,
    });
    let result = '';
    let stderr = '';
    child.stdio[3]?.on('data', (chunk: Buffer) => {
      result += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || result === '') {
        reject(new Error(`cold-start run of ${bundle} exited with ${code}: ${stderr.slice(-2000)}`));
        return;
      }
      const run = JSON.parse(result) as ColdRun;
      if (run.checkStatus !== 200 || run.orderStatus !== 200) {
        reject(
          new Error(`cold-start run answered check ${run.checkStatus}, order ${run.orderStatus} ${run.orderBody}`),
        );
        return;
      }
      resolve(run);
    });
  });
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
