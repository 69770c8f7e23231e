import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { READY_PREFIX } from '#local/dev-server.ts';
import { type Broker, FUNCTION_SETTING_NAME, LOCAL_ENV } from '#shared/facts.ts';

/**
 * `npm start` as a child process, for the tests that drive it over HTTP: `node --import tsx local/dev-server.ts`
 * on a free port (`PORT=0`), with no `.env` and none of the host's broker, webhook or AWS settings, so a
 * developer's real tokens can never be used by a test. Resolves once the server prints its ready line.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The functions' settings, the AWS SDK's and the local run's own. */
const isInheritedSetting = (name: string) =>
  FUNCTION_SETTING_NAME.test(name) || name.startsWith('AWS_') || Object.values<string>(LOCAL_ENV).includes(name);

export interface ReadyInfo {
  readonly url: string;
  readonly alor: string;
  readonly tinkoff: string;
  readonly modes: Readonly<Record<Broker, 'paper' | 'real'>>;
}

export interface DevServerProcess extends ReadyInfo {
  readonly child: ChildProcessWithoutNullStreams;
  /** Everything the server printed so far (stdout and stderr). */
  output(): string;
  /** Sends `signal` and resolves with the exit code; kills it and rejects if it has not exited in `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export async function spawnDevServer(
  env: Record<string, string> = {},
  readyTimeoutMs = 20_000,
): Promise<DevServerProcess> {
  const childEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !isInheritedSetting(name)) childEnv[name] = value;
  }
  // TSX_DISABLE_CACHE: tsx would otherwise keep its compile cache in the OS temp dir after the test.
  Object.assign(childEnv, { [LOCAL_ENV.envFile]: 'none', [LOCAL_ENV.port]: '0', TSX_DISABLE_CACHE: '1', ...env });

  const child = spawn(process.execPath, ['--import', 'tsx', 'local/dev-server.ts'], {
    cwd: ROOT,
    env: childEnv,
    stdio: 'pipe',
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`dev server did not exit within ${timeoutMs} ms of ${signal}`);
    }
    return result;
  };

  const ready = await new Promise<ReadyInfo>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`dev server not ready within ${readyTimeoutMs} ms`)), readyTimeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}\n--- output ---\n${output}`));
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const line = output.split('\n').find((candidate) => candidate.startsWith(READY_PREFIX));
      if (line === undefined) return;
      clearTimeout(timer);
      resolve(JSON.parse(line.slice(READY_PREFIX.length)) as ReadyInfo);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('exit', (code) => fail(new Error(`dev server exited with ${code} before it was ready`)));
    child.once('error', fail);
  });
  return { ...ready, child, output: () => output, stop };
}

/**
 * The dev server of a `describe`: spawned before its tests, killed after them whatever happened. The getter throws
 * until it has started.
 */
export function useDevServer(env: Record<string, string> = {}): () => DevServerProcess {
  let server: DevServerProcess | undefined;
  beforeAll(async () => {
    server = await spawnDevServer(env);
  }, 30_000);
  afterAll(() => {
    if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
    }
  });
  return () => {
    if (server === undefined) throw new Error('dev server not started');
    return server;
  };
}

/** A POST to a webhook route, with a bounded wait. */
export async function post(
  url: string,
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, text: await response.text() };
}
