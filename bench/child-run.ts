import { execFileSync, spawn } from 'node:child_process';

/**
 * One measured run in a fresh `node` process, as a cold Lambda container is: the child gets only the environment the
 * function would (the host's AWS profile, proxies or LOG_LEVEL must not change what is measured; no `NODE_OPTIONS`, as
 * deployed, unless `env` sets one for an alternative), and writes its figures as one JSON line to file descriptor 3 (stdout is the function's log).
 */

const RUN_TIMEOUT_MS = 20_000;

/**
 * The `node` the measured children run on: `BENCH_NODE` (a path), else this process's. Lambda runs Node 22, which
 * need not be the machine's: `BENCH_NODE=/path/to/node22 npm run bench` measures the cold starts and first orders
 * on it (the warm phases run in this process).
 */
export const CHILD_NODE = process.env.BENCH_NODE || process.execPath;

/** `node --version` of {@link CHILD_NODE}. */
export function childNodeVersion(): string {
  return execFileSync(CHILD_NODE, ['--version'], { encoding: 'utf8' }).trim();
}
const INHERITED = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'];

export function runMeasuredChild<TResult>(
  label: string,
  script: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<TResult> {
  return new Promise((resolve, reject) => {
    const base = Object.fromEntries(
      INHERITED.flatMap((name) => (process.env[name] === undefined ? [] : [[name, process.env[name] as string]])),
    );
    const child = spawn(CHILD_NODE, [script, ...args], {
      env: { ...base, ...env },
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
      if (code !== 0 || result === '') reject(new Error(`${label} exited with ${code}: ${stderr.slice(-2000)}`));
      else resolve(JSON.parse(result) as TResult);
    });
  });
}
