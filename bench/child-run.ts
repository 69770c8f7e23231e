import { spawn } from 'node:child_process';

/**
 * One measured run in a fresh `node` process, as a cold Lambda container is: the child gets only the environment the
 * function would (the host's AWS profile, proxies or LOG_LEVEL must not change what is measured; no `NODE_OPTIONS`, as
 * deployed, unless `env` sets one for an alternative), and writes its figures as one JSON line to file descriptor 3 (stdout is the function's log).
 */

const RUN_TIMEOUT_MS = 20_000;
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
    const child = spawn(process.execPath, [script, ...args], {
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
