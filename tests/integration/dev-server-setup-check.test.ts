import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServerProcess, spawnDevServer } from '../e2e/dev-server-process.ts';

/**
 * The console's "Check setup" and the paper brokers' failure scenarios, on `npm start` run as a child process: the
 * same checks as `npm run preflight`, against what each function uses here, as JSON for the page.
 */

interface ShownChecklist {
  exitCode: number;
  checklist: {
    broker: string;
    title: string;
    checks: { id: string; status: string; symbol: string; text: string; fix?: string }[];
  };
}

const JSON_HEADERS = { 'content-type': 'application/json' };

let server: DevServerProcess | undefined;
const running = () => {
  if (server === undefined) throw new Error('dev server not started');
  return server;
};

async function checkSetup(query: string): Promise<{ status: number; body: ShownChecklist }> {
  const response = await fetch(`${running().url}/api/preflight?${query}`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: (await response.json()) as ShownChecklist };
}

async function switchScenario(body: unknown, headers: Record<string, string> = JSON_HEADERS) {
  const response = await fetch(`${running().url}/api/paper-scenario`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

beforeAll(async () => {
  server = await spawnDevServer({
    WEBHOOK_SECRET: 'setup-check-test-secret-01',
    PAPER_SCENARIOS: 'revoked-refresh-token',
  });
}, 30_000);

afterAll(async () => {
  if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill('SIGKILL');
  }
});

describe('npm start: Check setup and the paper scenarios', () => {
  it('starts the paper broker in the scenario PAPER_SCENARIOS names, and says so', async () => {
    expect(running().output()).toContain('alor: the paper broker plays "revoked-refresh-token" (PAPER_SCENARIOS)');
    const session = (await (await fetch(`${running().url}/api/session`)).json()) as { scenarios: unknown };
    expect(session.scenarios).toMatchObject({
      alor: { current: 'revoked-refresh-token' },
      tinkoff: { current: null, available: expect.arrayContaining(['read-only-token', 'sandbox-token']) },
    });
  });

  it('checks a function against its paper broker and finds the scenario, read-only', async () => {
    const { status, body } = await checkSetup('broker=alor&ticker=AAPL');

    expect(status).toBe(200);
    expect(body.exitCode).toBe(1);
    expect(body.checklist.title).toBe('Alor (.env and the shell)');
    expect(body.checklist.checks.map((item) => [item.id, item.symbol])).toEqual([
      ['alor-hosts-other', '!'],
      ['alor-refresh-rejected', '✗'],
      ['guards-in-force', '✓'],
    ]);
    expect(body.checklist.checks[1]?.fix).toContain('https://alor.dev/open-api-tokens');
    const state = (await (await fetch(`${running().url}/api/state`)).json()) as { books: { alor: unknown[] } };
    expect(state.books.alor).toEqual([]);
  });

  it('switches a scenario from the page, in Russian, and back', async () => {
    expect(await switchScenario({ broker: 'tinkoff', scenario: 'read-only-token' })).toMatchObject({
      status: 200,
      body: { tinkoff: { current: 'read-only-token' } },
    });
    const readOnly = await checkSetup('broker=tinkoff&lang=ru&figi=BBG004730N88&ticker=SBER');
    expect(readOnly.body.exitCode).toBe(1);
    expect(readOnly.body.checklist.checks).toContainEqual(
      expect.objectContaining({
        id: 'tinkoff-access-read-only',
        text: 'Этот токен не может торговать: к счёту 2000000000 у него доступ только на чтение',
      }),
    );

    expect((await switchScenario({ broker: 'tinkoff', scenario: null })).status).toBe(200);
    const ready = await checkSetup('broker=tinkoff&figi=BBG004730N88&ticker=SBER');
    expect(ready.body.exitCode).toBe(0);
    expect(ready.body.checklist.checks.map((item) => item.status)).not.toContain('fail');
  });

  it.each([
    [
      'a body that is not JSON by its content type',
      { broker: 'alor', scenario: null },
      { 'content-type': 'text/plain' },
      403,
    ],
    [
      'a page of another origin',
      { broker: 'alor', scenario: null },
      { ...JSON_HEADERS, origin: 'https://attacker.example' },
      403,
    ],
    ['a scenario of the other broker', { broker: 'alor', scenario: 'read-only-token' }, JSON_HEADERS, 409],
    ['a body of another shape', { broker: 'alor' }, JSON_HEADERS, 400],
  ])('refuses a scenario change from %s', async (_case, body, headers, status) => {
    expect((await switchScenario(body, headers)).status).toBe(status);
  });

  it('refuses a check of an unknown broker', async () => {
    expect((await checkSetup('broker=finam')).status).toBe(400);
  });
});

describe('npm start with PAPER_SCENARIOS it cannot use', () => {
  it('exits before it is ready, naming the setting and the scenarios it knows', async () => {
    await expect(spawnDevServer({ PAPER_SCENARIOS: 'read-only-token,closed-account' })).rejects.toThrow(
      'npm start failed: PAPER_SCENARIOS takes at most one scenario per broker, of: revoked-refresh-token,',
    );
  });
});
