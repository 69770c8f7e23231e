import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GET_PARAMETER, GET_SECRET_VALUE, startFakeAwsStore } from '#local/aws-store.ts';
import {
  type AlorPaperScenario,
  type PaperBrokers,
  startPaperBrokers,
  type TinkoffPaperScenario,
} from '#local/paper-broker/index.ts';
import { BROKERS, type Broker, DEFAULT_RESOURCE_PREFIX, ENV, storeNames } from '#shared/facts.ts';
import { STACK_OUTPUTS } from '#shared/preflight/deployed.ts';
import { deployedFunctionEnv, importHandler } from '../helpers/handlers.ts';
import { useLocalServer } from '../helpers/local-servers.ts';
import { NODE_NOTICE_OUTPUT, type PreflightRun, runPreflightProcess } from '../helpers/preflight-process.ts';

/**
 * `npm run preflight` through the real command line, against the paper brokers on 127.0.0.1: each way a setup goes
 * wrong gives its named ✗, its fix and its exit code; never an order call, at most 6 broker requests per broker, and
 * no secret in any output.
 */

/** Canary tokens: any output holding one of them has leaked a secret. */
const ALOR_TOKEN = `canary-alor-${randomUUID()}`;
const TINKOFF_TOKEN = `t.canary-tinvest-${randomUUID()}`;
const PORTFOLIO = 'D00000';
const ACCOUNT = '2000000000';
const INSTRUMENT_ARGS = ['--ticker', 'AAPL', '--figi', 'BBG000B9XRY4'];
/** Order routes of both paper brokers: none may ever be hit by a preflight. */
const ORDER_ROUTES = ['order', 'order-state', 'v1-order'];

let paper: PaperBrokers;
/** Every output of every run, for the canary test. */
const outputs: string[] = [];

/** The settings of a local run with both brokers on paper. */
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

async function preflight(args: readonly string[], env: Record<string, string>): Promise<PreflightRun> {
  const run = await runPreflightProcess(args, env);
  outputs.push(run.stdout, run.stderr);
  return run;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
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
  paper.alor.setScenario(undefined);
  paper.tinkoff.setScenario(undefined);
  paper.alor.clearFaults();
  paper.tinkoff.clearFaults();
  paper.alor.resetStats();
  paper.tinkoff.resetStats();
});

/**
 * What every run must respect: no order route, and a full preflight's 6 requests per broker at most (4 before the
 * reads of a ver 2 signal and its protection became the default: positions, orders, stop orders).
 */
function expectReadOnlyAndFew(): void {
  for (const broker of [paper.alor, paper.tinkoff]) {
    for (const route of ORDER_ROUTES) expect(broker.stats.byRoute[route], route).toBeUndefined();
    // T-Invest's one more: its portfolio's value (GetPortfolio), which Alor's summary read gives already.
    expect(broker.stats.requests).toBeLessThanOrEqual(broker === paper.tinkoff ? 7 : 6);
  }
}

interface ScenarioCase {
  readonly alor?: AlorPaperScenario;
  readonly tinkoff?: TinkoffPaperScenario;
  readonly lang: 'en' | 'ru';
  readonly line: string;
  readonly fix?: string;
  readonly exit: 0 | 1;
}

describe('npm run preflight on the paper brokers (scripts/preflight.ts as a child process)', () => {
  it('passes a full preflight of both brokers, with the instrument, in at most 6 requests per broker', async () => {
    const run = await preflight(INSTRUMENT_ARGS, paperEnv());

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('✓ Refresh token accepted (user P000000)');
    expect(run.stdout).toContain(`✓ Portfolio ${PORTFOLIO} answers on SPBX`);
    expect(run.stdout).toContain('✓ AAPL on SPBX: AAPL, lot size 1');
    expect(run.stdout).toContain(`✓ The token has full access to account ${ACCOUNT}: it can trade`);
    expect(run.stdout).toContain('✓ BBG000B9XRY4 is AAPL (Apple), tradable through the API; lot size 1');
    expect(run.stdout).not.toContain('✗');
    expect(run.stdout.trimEnd().endsWith('Ready for the first signal.')).toBe(true);
    expect(paper.alor.stats.byRoute).toEqual({
      refresh: 1,
      summary: 1,
      security: 1,
      positions: 1,
      orders: 1,
      'stop-orders': 1,
    });
    expect(paper.tinkoff.stats.byRoute).toEqual({
      accounts: 1,
      instrument: 1,
      positions: 1,
      orders: 1,
      'stop-orders': 1,
      portfolio: 1,
    });
    expectReadOnlyAndFew();
  });

  it.each<[string, ScenarioCase]>([
    [
      'a revoked refresh token',
      {
        alor: 'revoked-refresh-token',
        lang: 'en',
        line: '✗ Alor refused the refresh token: it is expired, revoked or for the other environment',
        fix: 'fix: issue a new one at https://alor.dev/open-api-tokens (for the test hosts, a test environment token) and store it: ALOR_REFRESH_TOKEN=… in .env',
        exit: 1,
      },
    ],
    [
      'a portfolio not in the token',
      {
        alor: 'portfolio-not-in-token',
        lang: 'en',
        line: `✗ Portfolio ${PORTFOLIO} is not one of the token's; it carries: D99999, G99999`,
        fix: 'fix: use one of them: ALOR_PORTFOLIO=D99999 in .env',
        exit: 1,
      },
    ],
    [
      'a portfolio that does not answer on the exchange',
      {
        alor: 'portfolio-not-on-exchange',
        lang: 'en',
        line: `✗ Portfolio ${PORTFOLIO} does not answer on SPBX`,
        fix: "fix: use the stock market portfolio (D…), or the portfolio's exchange: ALOR_EXCHANGE=MOEX in .env",
        exit: 1,
      },
    ],
    [
      'an Alor instrument the exchange does not list',
      {
        alor: 'instrument-not-tradable',
        lang: 'en',
        line: '✗ SPBX has no instrument AAPL',
        fix: 'fix: check the ticker in the widget and the exchange',
        exit: 1,
      },
    ],
    [
      'a read-only token',
      {
        tinkoff: 'read-only-token',
        lang: 'en',
        line: `✗ This token cannot trade: it is read-only for account ${ACCOUNT}`,
        fix: 'fix: issue a full-access token for this account at https://www.tbank.ru/invest/settings/ and store it: TINKOFF_TOKEN=… in .env',
        exit: 1,
      },
    ],
    [
      'a read-only token, in Russian',
      {
        tinkoff: 'read-only-token',
        lang: 'ru',
        line: `✗ Этот токен не может торговать: к счёту ${ACCOUNT} у него доступ только на чтение`,
        fix: 'как исправить: выпустите токен с полным доступом к этому счёту на https://www.tbank.ru/invest/settings/ и сохраните: TINKOFF_TOKEN=… в файле .env',
        exit: 1,
      },
    ],
    [
      'a wrong account',
      {
        tinkoff: 'wrong-account',
        lang: 'en',
        line: `✗ Account ${ACCOUNT} is not one the token reaches: 2000000099 (Брокерский счёт)`,
        fix: 'fix: use one of them: TINKOFF_ACCOUNT_ID=2000000099 in .env',
        exit: 1,
      },
    ],
    [
      'a closed account',
      {
        tinkoff: 'closed-account',
        lang: 'en',
        line: `✗ Account ${ACCOUNT} is not open (ACCOUNT_STATUS_CLOSED)`,
        fix: 'fix: use an open account: TINKOFF_ACCOUNT_ID=… in .env',
        exit: 1,
      },
    ],
    [
      'a token for several accounts (a warning: it can trade)',
      {
        tinkoff: 'several-accounts',
        lang: 'en',
        line: `! The token reaches 2 accounts, not only ${ACCOUNT}`,
        fix: `fix: a token limited to account ${ACCOUNT} is safer: T-Invest issues them at https://www.tbank.ru/invest/settings/`,
        exit: 0,
      },
    ],
    [
      'a sandbox token on a production host',
      {
        tinkoff: 'sandbox-token',
        lang: 'en',
        line: '✗ This is a sandbox token, and http://127.0.0.1:',
        fix: 'for the sandbox, TINKOFF_API_URL=https://sandbox-invest-public-api.tbank.ru/rest in .env',
        exit: 1,
      },
    ],
    [
      'a sandbox token, in Russian',
      {
        tinkoff: 'sandbox-token',
        lang: 'ru',
        line: '✗ Это токен песочницы, а http://127.0.0.1:',
        fix: 'для песочницы — TINKOFF_API_URL=https://sandbox-invest-public-api.tbank.ru/rest в файле .env',
        exit: 1,
      },
    ],
    [
      'a T-Invest instrument not tradable through the API',
      {
        tinkoff: 'instrument-not-tradable',
        lang: 'en',
        line: '✗ AAPL (BBG000B9XRY4) cannot be traded through the API',
        fix: 'fix: T-Invest refuses API orders for this instrument: choose another one',
        exit: 1,
      },
    ],
  ])('finds %s: its ✗ (or !), its fix and its exit code', async (_case, scenario) => {
    paper.alor.setScenario(scenario.alor);
    paper.tinkoff.setScenario(scenario.tinkoff);

    const run = await preflight([...INSTRUMENT_ARGS, '--lang', scenario.lang], paperEnv());

    expect(run.stdout).toContain(scenario.line);
    if (scenario.fix !== undefined) expect(run.stdout).toContain(scenario.fix);
    expect(run.code).toBe(scenario.exit);
    expect(run.stderr).toBe(NODE_NOTICE_OUTPUT);
    expectReadOnlyAndFew();
  });

  it('takes the language from LC_ALL or LANG when --lang is not given', async () => {
    paper.tinkoff.setScenario('read-only-token');
    const russian = await preflight([], { ...paperEnv(), LANG: 'en_US.UTF-8', LC_ALL: 'ru_RU.UTF-8' });
    const english = await preflight([], { ...paperEnv(), LANG: 'de_DE.UTF-8' });

    expect(russian.stdout).toContain('Не готово: исправьте пункты ✗.');
    expect(english.stdout).toContain('Not ready: fix the ✗ items.');
  });

  it('fails a broker whose token is set without its account, naming the 404 its orders get', async () => {
    const { TINKOFF_ACCOUNT_ID: _unset, ...env } = paperEnv();
    const run = await preflight(['--broker', 'tinkoff'], env);

    expect(run.stdout).toContain('✗ The account id is not set: orders are answered 404 «Не задан номер счёта»');
    expect(run.stdout).toContain('fix: TINKOFF_ACCOUNT_ID=… in .env');
    expect(run.stdout).not.toContain('Alor');
    expect(run.code).toBe(1);
    expect(paper.tinkoff.stats.requests).toBe(0);
  });

  it('fails when no broker is configured, and when the broker asked for is not', async () => {
    const none = await preflight([], {});
    expect(none.stdout).toContain('✗ Alor is not configured: neither its token nor its account is set');
    expect(none.stdout).toContain('fix: TINKOFF_TOKEN=… in .env; TINKOFF_ACCOUNT_ID=… in .env');
    expect(none.code).toBe(1);

    const { TINKOFF_TOKEN: _token, TINKOFF_ACCOUNT_ID: _account, ...alorOnly } = paperEnv();
    const skipped = await preflight([], alorOnly);
    expect(skipped.stdout).toContain('T-Invest: not configured, skipped');
    expect(skipped.code).toBe(0);
    const asked = await preflight(['--broker', 'tinkoff'], alorOnly);
    expect(asked.stdout).toContain('✗ T-Invest is not configured');
    expect(asked.code).toBe(1);
  });

  it('exits 2 within the broker deadline when a broker never answers: a plain message, no stack trace', async () => {
    paper.tinkoff.injectFault({ fault: { kind: 'hang-before-headers' }, times: 10 });

    const run = await preflight(['--broker', 'tinkoff'], { ...paperEnv(), BROKER_TIMEOUT_MS: '300' });

    expect(run.code).toBe(2);
    expect(run.stdout).toContain('? T-Invest did not answer within 300 ms');
    expect(run.stdout).toContain('Could not check the ? items: try again later.');
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/\n\s+at /);
    expect(run.stderr).toBe(NODE_NOTICE_OUTPUT);
  });

  it('exits 2 when a broker cannot be reached, keeping the checks made before', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const run = await preflight(['--broker', 'alor'], { ...paperEnv(), ALOR_OAUTH_URL: url, ALOR_API_URL: url });

    expect(run.code).toBe(2);
    expect(run.stdout).toContain('! Hosts: neither Alor production nor its test environment');
    expect(run.stdout).toContain('? Could not reach Alor (ECONNREFUSED)');
  });

  it('refuses an unknown argument with its usage, exit 2', async () => {
    const run = await preflight(['--broker', 'finam'], paperEnv());

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--broker is one of alor, tinkoff');
    expect(run.stdout).toBe('');
  });

  it('prints the checklist as JSON with --json: ids, statuses, texts and fixes', async () => {
    paper.alor.setScenario('revoked-refresh-token');
    const run = await preflight(['--json', '--broker', 'alor'], paperEnv());
    const parsed = JSON.parse(run.stdout) as {
      exitCode: number;
      checklists: { checks: { id: string; status: string }[] }[];
    };

    expect(run.code).toBe(1);
    expect(parsed.exitCode).toBe(1);
    expect(parsed.checklists[0]?.checks.map(({ id, status }) => [id, status])).toEqual([
      ['alor-hosts-other', 'warn'],
      ['alor-refresh-rejected', 'fail'],
      ['guards-in-force', 'pass'],
    ]);
  });
});

describe('npm run preflight --deployed (the stack names, through the real AWS SDK clients)', () => {
  const store = useLocalServer(startFakeAwsStore, (started) => {
    started.resetRequests();
    started.failWith(undefined);
  });

  it('reads the secrets and parameters the stack names, and fails brokers that have none', async () => {
    const run = await preflight(['--deployed'], store.env());

    expect(run.code).toBe(1);
    expect(run.stdout).toContain("Alor (the deployed stack's settings (Secrets Manager, SSM))");
    expect(run.stdout).toContain(
      'fix: npm run secrets -- set alor-refresh-token; npm run secrets -- set alor-portfolio',
    );
    expect(store.count(GET_SECRET_VALUE, 'ppp-webhooks/alor/refresh-token')).toBe(1);
    expect(store.count(GET_PARAMETER, '/ppp-webhooks/alor/portfolio')).toBe(1);
    expect(store.count(GET_SECRET_VALUE, 'ppp-webhooks/tinkoff/token')).toBe(1);
    expect(store.count(GET_PARAMETER, '/ppp-webhooks/tinkoff/account-id')).toBe(1);
    // The webhook secret is not a broker's: the preflight never reads it.
    expect(store.count(GET_SECRET_VALUE, 'ppp-webhooks/webhook-secret')).toBe(0);
  });

  it('checks the broker at the hosts the stack context names, with the stored token', async () => {
    store.setSecret('ppp-webhooks/alor/refresh-token', ALOR_TOKEN);
    store.setParameter('/ppp-webhooks/alor/portfolio', PORTFOLIO);
    const url = `https://127.0.0.1:${await closedPort()}`;
    try {
      const run = await preflight(
        ['--deployed', '--broker', 'alor', '-c', `alorOauthUrl=${url}`, '-c', `alorApiUrl=${url}`],
        store.env(),
      );

      expect(run.code).toBe(2);
      expect(run.stdout).toContain(`? Could not reach Alor (ECONNREFUSED)`);
      expect(run.stdout).toContain(`check the network and the address ${url}`);
    } finally {
      store.setSecret('ppp-webhooks/alor/refresh-token', undefined);
      store.setParameter('/ppp-webhooks/alor/portfolio', undefined);
    }
  });

  it("says the guards the stack's context sets, and warns that the stored kill switch is on", async () => {
    store.setSecret('ppp-webhooks/tinkoff/token', TINKOFF_TOKEN);
    store.setParameter('/ppp-webhooks/tinkoff/account-id', ACCOUNT);
    store.setParameter('/ppp-webhooks/kill-switch', 'on');
    const url = `https://127.0.0.1:${await closedPort()}`;
    try {
      const context = [`tinkoffApiUrl=${url}`, 'maxOrdersPerDay=20', 'dailyLossLimit=2%', 'signalMaxAgeSeconds=30'];
      const run = await preflight(
        ['--deployed', '--broker', 'tinkoff', ...context.flatMap((item) => ['-c', item])],
        store.env(),
      );

      expect(run.code).toBe(2);
      expect(run.stdout).toContain(
        "✓ Guards in force: kill switch (read every 5 s), an entry's ts at most 30 s old, at most 1000000 lots an order, at most 20 entries a day, a day's loss of at most 2%",
      );
      expect(run.stdout).toContain('! The kill switch is on: entries are refused (423), exits pass');
      expect(run.stdout).toContain('fix: turn it off: npm run kill -- off');
      expect(store.count(GET_PARAMETER, '/ppp-webhooks/kill-switch')).toBe(1);
    } finally {
      store.setSecret('ppp-webhooks/tinkoff/token', undefined);
      store.setParameter('/ppp-webhooks/tinkoff/account-id', undefined);
      store.setParameter('/ppp-webhooks/kill-switch', undefined);
    }
  });

  it('exits 2 when the store cannot be read, naming what it could not read', async () => {
    store.failWith('AccessDeniedException');
    const run = await preflight(['--deployed', '--broker', 'tinkoff'], store.env());

    expect(run.code).toBe(2);
    expect(run.stdout).toContain('? Could not read ppp-webhooks/tinkoff/token (AccessDeniedException)');
    expect(run.stdout).toContain('fix: check your AWS credentials and region (AWS_PROFILE, AWS_REGION)');
  });
});

describe('npm run preflight --deployed: the deployed functions, on a local stack', () => {
  const store = useLocalServer(startFakeAwsStore, (started) => {
    started.resetRequests();
    started.failWith(undefined);
  });
  const NAMES = storeNames(DEFAULT_RESOURCE_PREFIX);
  const FUNCTIONS = { alor: 'PppWebhooks-AlorFunction', tinkoff: 'PppWebhooks-TinkoffFunction' } as const;
  const WEBHOOK_SECRET = `canary-webhook-${randomUUID()}`;

  /** What the stack gives each function, pointed at the fake store (its API and its extension port) and paper brokers. */
  const functionEnv = (broker: Broker, overrides: Record<string, string> = {}): Record<string, string> => ({
    ...deployedFunctionEnv(broker, store, paper, {
      webhookSecret: NAMES.webhookSecret,
      alorToken: NAMES.alorRefreshToken,
      alorPortfolio: NAMES.alorPortfolio,
      tinkoffToken: NAMES.tinkoffToken,
      tinkoffAccount: NAMES.tinkoffAccountId,
    }),
    ...overrides,
  });

  /** Deploys both functions on the local stack: their URLs, their names in the stack's outputs, Invoke by name. */
  async function deploy(overrides: Partial<Record<Broker, Record<string, string>>> = {}): Promise<void> {
    store.setSecret(NAMES.webhookSecret, WEBHOOK_SECRET);
    store.setSecret(NAMES.alorRefreshToken, ALOR_TOKEN);
    store.setParameter(NAMES.alorPortfolio, PORTFOLIO);
    store.setSecret(NAMES.tinkoffToken, TINKOFF_TOKEN);
    store.setParameter(NAMES.tinkoffAccountId, ACCOUNT);
    const outputs: Record<string, string> = {};
    for (const broker of BROKERS) {
      const handler = await importHandler(broker, functionEnv(broker, overrides[broker]));
      store.setFunction(FUNCTIONS[broker], (event) => handler(event as never), `/${broker}`);
      outputs[STACK_OUTPUTS[broker].url] = `${store.url}/${broker}`;
      outputs[STACK_OUTPUTS[broker].functionName] = FUNCTIONS[broker];
    }
    store.setStack('PppWebhooks', outputs);
  }

  /**
   * The stack's context takes https:// broker URLs only, and the paper brokers speak http: the preflight's broker
   * checks go to a closed port (each a `?`, exit 2), the functions themselves trade on the paper brokers.
   */
  const contextArgs = async () => {
    const closed = `https://127.0.0.1:${await closedPort()}`;
    return ['-c', `alorOauthUrl=${closed}`, '-c', `alorApiUrl=${closed}`, '-c', `tinkoffApiUrl=${closed}/rest`];
  };

  it('lists the check and the self-test in --help', async () => {
    const run = await preflight(['--deployed', '--help'], {});

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('check      POST {"check":true} to its webhook URL');
    expect(run.stdout).toContain('self-test  a direct Lambda Invoke with your credentials');
  });

  it("calls each function through its URL and runs its self-test: the extension and the runtime's SDK both read", async () => {
    await deploy();

    const run = await preflight(['--deployed', ...(await contextArgs())], store.env());

    expect(run.code).toBe(2);
    expect(run.stdout).toContain('? Could not reach Alor (ECONNREFUSED)');
    for (const broker of BROKERS) {
      expect(run.stdout).toContain(`✓ The function answers a check at its URL (${store.url}/${broker}): 200 OK`);
    }
    const lines = run.stdout.split('\n');
    expect(lines.filter((line) => line.includes('✓ The function reads its store through the Parameters'))).toHaveLength(
      2,
    );
    expect(
      lines.filter((line) => line.includes("✓ The function reads its store through the runtime's AWS SDK")),
    ).toHaveLength(2);
    // Each function: one check through its route, one self-test by Invoke; nothing ordered.
    for (const broker of BROKERS) {
      expect(store.invocations.get(FUNCTIONS[broker])).toEqual([
        expect.objectContaining({ routeKey: `POST /${broker}` }),
        { pppSelfTest: 'store' },
      ]);
    }
    expectReadOnlyAndFew();
    // The self-test read each value through the extension once, and through the SDK once.
    expect(
      store.requests.filter((read) => read.via === 'extension' && read.id === NAMES.alorRefreshToken),
    ).toHaveLength(1);
  });

  it('says the extension does not read the store when it does not answer, and that the SDK still does', async () => {
    await deploy({ tinkoff: { [ENV.storeExtensionPort]: String(await closedPort()) } });

    const run = await preflight(['--deployed', '--broker', 'tinkoff', ...(await contextArgs())], store.env());

    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/! The Parameters and Secrets extension does not read the store \(webhook-secret: \w+/);
    expect(run.stdout).toContain("✓ The function reads its store through the runtime's AWS SDK too (the fallback)");
  });

  it('answers a function that refuses the stored webhook secret with its ✗ and fix', async () => {
    await deploy();
    store.setSecret(NAMES.webhookSecret, 'another-secret-the-function-never-saw');
    store.setFunction(FUNCTIONS.alor, async () => ({ statusCode: 401, body: 'Unauthorized', headers: {} }), '/alor');

    const run = await preflight(['--deployed', '--broker', 'alor', ...(await contextArgs())], store.env());

    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`✗ The function answered a check at ${store.url}/alor: 401 Unauthorized`);
    expect(run.stdout).toContain('fix: the function does not accept the stored webhook secret');
  });
});

describe('npm run preflight: what a ver 2 signal and its protection read (by default; --positions as before)', () => {
  /** Order routes a ver 2 signal adds to the paper brokers: a preflight hits none of them either. */
  const expectNoSignalOrderCall = () => {
    for (const route of ['market-order', 'cancel']) {
      for (const broker of [paper.alor, paper.tinkoff]) expect(broker.stats.byRoute[route], route).toBeUndefined();
    }
  };

  /**
   * A preflight without an instrument reads, beside the token's checks, the state a ver 2 signal and its protection read
   * and, at T-Invest, the portfolio's value sizing and the day's-loss guard read (Alor's is in its summary read).
   */
  const expectStateReads = () => {
    expect(paper.alor.stats.byRoute).toEqual({ refresh: 1, summary: 1, positions: 1, orders: 1, 'stop-orders': 1 });
    expect(paper.tinkoff.stats.byRoute).toEqual({
      accounts: 1,
      positions: 1,
      orders: 1,
      'stop-orders': 1,
      portfolio: 1,
    });
  };

  it('says the token reads the positions, orders and stop orders of both brokers, in three more reads each (and T-Invest its portfolio)', async () => {
    const run = await preflight(['--positions', '--lang', 'en'], paperEnv());

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `✓ The token reads the positions, orders and stop orders of portfolio ${PORTFOLIO} on SPBX (ver 2 signals, sl/tp protection)`,
    );
    expect(run.stdout).toContain(
      `✓ The token reads the positions, active orders and stop orders of account ${ACCOUNT} (ver 2 signals, sl/tp protection)`,
    );
    expectStateReads();
    expect(run.stdout).toContain(`✓ Account ${ACCOUNT}: 1 000 000 ₽, today 0 ₽`);
    expect(run.stdout).toContain(`✓ Portfolio ${PORTFOLIO} on SPBX: 1 000 000 ₽, today 0 ₽`);
    expect(run.stdout).toContain("✓ Guards in force: an entry's ts at most 60 s old, at most 1000000 lots an order");
    expectReadOnlyAndFew();
    expectNoSignalOrderCall();
  });

  it('reads them without the option too: the same requests', async () => {
    const run = await preflight(['--lang', 'en'], paperEnv());

    expect(run.code).toBe(0);
    expectStateReads();
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

    const run = await preflight(['--positions', '--lang', 'en', '--broker', broker], paperEnv());

    expect(run.code).toBe(1);
    expect(run.stdout).toContain(line);
    expect(run.stdout).toContain('fix: ver 2 signals with pos and x, and sl/tp protection, would fail');
    expectReadOnlyAndFew();
    expectNoSignalOrderCall();
  });
});

describe('npm run preflight output', () => {
  it('holds no secret value in any case: neither token nor any access token the paper broker issued', () => {
    expect(outputs.length).toBeGreaterThan(20);
    const secrets = [ALOR_TOKEN, TINKOFF_TOKEN, ...paper.alor.issuedAccessTokens];
    expect(paper.alor.issuedAccessTokens.length).toBeGreaterThan(0);
    for (const output of outputs) for (const secret of secrets) expect(output).not.toContain(secret);
  });
});
