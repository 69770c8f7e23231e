import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type PaperBrokers, startPaperBrokers } from '#local/paper-broker/index.ts';
import { runPreflightProcess } from '../helpers/preflight-process.ts';

/**
 * `npm run preflight -- --positions` through the real command line, against the paper brokers: the token reads the
 * positions and active orders a ver 2 signal reads, or the preflight says which it cannot, with a fix; never an order.
 */

const ALOR_TOKEN = `canary-alor-${randomUUID()}`;
const TINKOFF_TOKEN = `t.canary-tinvest-${randomUUID()}`;
const PORTFOLIO = 'D00000';
const ACCOUNT = '2000000000';
const ORDER_ROUTES = ['order', 'market-order', 'cancel', 'order-state', 'v1-order'];

let paper: PaperBrokers;

function paperEnv(): Record<string, string> {
  return {
    ALOR_REFRESH_TOKEN: ALOR_TOKEN,
    ALOR_PORTFOLIO: PORTFOLIO,
    ALOR_OAUTH_URL: paper.alor.url,
    ALOR_API_URL: paper.alor.url,
    TINKOFF_TOKEN: TINKOFF_TOKEN,
    TINKOFF_ACCOUNT_ID: ACCOUNT,
    TINKOFF_API_URL: paper.tinkoff.v2Url,
    PREFLIGHT_TINKOFF_SANDBOX_URL: paper.tinkoff.sandboxUrl,
  };
}

beforeAll(async () => {
  paper = await startPaperBrokers({
    alor: { accounts: { [ALOR_TOKEN]: [PORTFOLIO] } },
    tinkoff: { accounts: { [TINKOFF_TOKEN]: [ACCOUNT] } },
  });
});
afterAll(async () => {
  await paper.close();
});
beforeEach(() => {
  for (const broker of [paper.alor, paper.tinkoff]) {
    broker.clearFaults();
    broker.resetStats();
  }
});

function expectNoOrderCall(): void {
  for (const broker of [paper.alor, paper.tinkoff]) {
    for (const route of ORDER_ROUTES) expect(broker.stats.byRoute[route], route).toBeUndefined();
  }
}

describe('npm run preflight -- --positions', () => {
  it('says the token reads the positions and active orders of both brokers, in two more reads each', async () => {
    const run = await runPreflightProcess(['--positions', '--lang', 'en'], paperEnv());

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `✓ The token reads the positions and orders of portfolio ${PORTFOLIO} on SPBX (ver 2 signals)`,
    );
    expect(run.stdout).toContain(
      `✓ The token reads the positions and active orders of account ${ACCOUNT} (ver 2 signals)`,
    );
    expect(paper.alor.stats.byRoute).toEqual({ refresh: 1, summary: 1, positions: 1, orders: 1 });
    expect(paper.tinkoff.stats.byRoute).toEqual({ accounts: 1, positions: 1, orders: 1 });
    expectNoOrderCall();
    expect(run.stdout + run.stderr).not.toContain(ALOR_TOKEN);
    expect(run.stdout + run.stderr).not.toContain(TINKOFF_TOKEN);
  });

  it('does not read them without the option (the preflight as before)', async () => {
    const run = await runPreflightProcess(['--lang', 'en'], paperEnv());

    expect(run.code).toBe(0);
    expect(paper.alor.stats.byRoute).toEqual({ refresh: 1, summary: 1 });
    expect(paper.tinkoff.stats.byRoute).toEqual({ accounts: 1 });
  });

  it.each([
    [
      'alor',
      { status: 403, body: '' },
      'positions',
      `✗ The token cannot read the positions of portfolio ${PORTFOLIO} on SPBX (HTTP 403)`,
    ],
    [
      'tinkoff',
      { status: 403, body: JSON.stringify({ code: 7, message: 'Insufficient privileges', description: 40002 }) },
      'orders',
      `✗ The token cannot read the orders of account ${ACCOUNT} (40002)`,
    ],
  ] as const)('fails with a fix when %s refuses a read (%j on %s)', async (broker, answer, route, line) => {
    paper[broker].injectFault({ route, fault: { kind: 'status', ...answer } });

    const run = await runPreflightProcess(['--positions', '--lang', 'en', '--broker', broker], paperEnv());

    expect(run.code).toBe(1);
    expect(run.stdout).toContain(line);
    expect(run.stdout).toContain('fix: ver 2 signals with pos and x would fail');
    expectNoOrderCall();
  });
});
