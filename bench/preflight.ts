import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PaperBrokers } from '#local/paper-broker/index.ts';
import { PAPER_ALOR, PAPER_TINKOFF } from '#local/paper-broker/index.ts';
import { loadAlorConfig } from '#shared/brokers/alor/config.ts';
import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { ENV, FUNCTION_SETTING_NAME, LOCAL_ENV } from '#shared/facts.ts';
import { exitCode } from '#shared/preflight/checklist.ts';
import { PLAIN_VALUES, runPreflight } from '#shared/preflight/run.ts';
import { median, round } from './stats.ts';

/**
 * How long a full preflight of both brokers takes on the paper brokers, with an instrument: `npm run preflight` as a
 * user runs it (a fresh `node --import tsx` process, start-up included), and the checks alone in this process; and
 * how many broker requests each broker got (at most 4).
 */

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const INSTRUMENT_ARGS = ['--ticker', 'AAPL', '--figi', 'BBG000B9XRY4'];

export interface PreflightFigures {
  /** The command line, start to exit (median and slowest of the runs). */
  readonly processMs: { readonly median: number; readonly max: number };
  /** The checks alone, in this process (median). */
  readonly checksMs: number;
  readonly requests: { readonly alor: number; readonly tinkoff: number };
  readonly runs: number;
}

/** A local run's settings, both brokers on paper. */
function paperEnv(paper: PaperBrokers): Record<string, string> {
  return {
    [ENV.alorRefreshToken]: PAPER_ALOR.refreshToken,
    [ENV.alorPortfolio]: PAPER_ALOR.portfolio,
    [ENV.alorOauthUrl]: paper.alor.url,
    [ENV.alorApiUrl]: paper.alor.url,
    [ENV.tinkoffToken]: PAPER_TINKOFF.token,
    [ENV.tinkoffAccountId]: PAPER_TINKOFF.accountId,
    [ENV.tinkoffApiUrl]: paper.tinkoff.v2Url,
  };
}

async function timeProcess(env: Record<string, string>): Promise<number> {
  const childEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !FUNCTION_SETTING_NAME.test(name) && !name.startsWith('AWS_')) childEnv[name] = value;
  }
  Object.assign(childEnv, { [LOCAL_ENV.envFile]: 'none', ...env });
  const startedAt = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/preflight.ts', ...INSTRUMENT_ARGS], {
    cwd: ROOT,
    env: childEnv,
    stdio: 'ignore',
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`npm run preflight exited ${code} on the paper brokers`);
  return performance.now() - startedAt;
}

export async function measurePreflight(paper: PaperBrokers, runs: number): Promise<PreflightFigures> {
  const env = paperEnv(paper);
  // One run first, so tsx's compile cache is warm as on a user's second run.
  await timeProcess(env);
  const processTimes: number[] = [];
  for (let i = 0; i < runs; i += 1) processTimes.push(await timeProcess(env));

  const settings = { alor: loadAlorConfig(env), tinkoff: loadTinkoffConfig(env) };
  const checkTimes: number[] = [];
  let requests = { alor: 0, tinkoff: 0 };
  for (let i = 0; i < runs; i += 1) {
    paper.alor.resetStats();
    paper.tinkoff.resetStats();
    const startedAt = performance.now();
    const lists = await runPreflight(settings, { store: PLAIN_VALUES, ticker: 'AAPL', figi: 'BBG000B9XRY4' });
    checkTimes.push(performance.now() - startedAt);
    if (exitCode(lists) !== 0) throw new Error('the preflight failed on the paper brokers');
    requests = { alor: paper.alor.stats.requests, tinkoff: paper.tinkoff.stats.requests };
  }
  return {
    processMs: { median: round(median(processTimes), 1), max: round(Math.max(...processTimes), 1) },
    checksMs: round(median(checkTimes), 1),
    requests,
    runs,
  };
}
