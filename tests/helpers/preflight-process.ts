import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nodeSupportNotice, projectEngines } from '#local/node-support.ts';
import { FUNCTION_SETTING_NAME, LOCAL_ENV } from '#shared/facts.ts';
import { createTempDir } from './temp-dirs.ts';

/**
 * `npm run preflight` as a user runs it: `node --import tsx scripts/preflight.ts` in a child process, with no `.env`
 * and none of the host's broker, webhook, AWS or locale settings (a developer's real tokens can never be used by a
 * test), plus the environment a test gives. {@link runToolProcess} runs any other command-line tool the same way.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const isInheritedSetting = (name: string) =>
  FUNCTION_SETTING_NAME.test(name) ||
  name.startsWith('AWS_') ||
  name.startsWith('LC_') ||
  name === 'LANG' ||
  Object.values<string>(LOCAL_ENV).includes(name);

let tsxTempDir: string | undefined;

export interface PreflightRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * What a tool prints on stderr about the Node running the tests before anything else: nothing on a Node `engines`
 * lists, one line on another (`local/node-support.ts`).
 */
export const NODE_NOTICE_OUTPUT = ((notice) => (notice === undefined ? '' : `${notice}\n`))(
  nodeSupportNotice(process.version, projectEngines()),
);

export function runPreflightProcess(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  timeoutMs = 20_000,
): Promise<PreflightRun> {
  return runToolProcess('scripts/preflight.ts', args, env, { timeoutMs });
}

/** `script` (a path from the repository root) as `npm run` runs it; `nodeArgs` go before tsx's. */
export async function runToolProcess(
  script: string,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  { timeoutMs = 20_000, nodeArgs = [] }: { timeoutMs?: number; nodeArgs?: readonly string[] } = {},
): Promise<PreflightRun> {
  const childEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !isInheritedSetting(name)) childEnv[name] = value;
  }
  // tsx keeps its compile cache in the OS temp dir: one the test file removes, shared by its runs, which it speeds up.
  tsxTempDir ??= createTempDir('preflight-tsx-');
  Object.assign(childEnv, { [LOCAL_ENV.envFile]: 'none', TMPDIR: tsxTempDir, ...env });
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve(exitCode));
  });
  clearTimeout(timer);
  return { code, stdout, stderr };
}
