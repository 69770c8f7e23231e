import { describe, expect, it, vi } from 'vitest';
import { loadAlorConfig } from '#shared/brokers/alor/config.ts';
import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { otherTinkoffEnvironment } from '#shared/brokers/tinkoff/preflight.ts';
import { brokerHostKind, TINKOFF_DEFAULT_API_URL, TINKOFF_SANDBOX_API_URL } from '#shared/facts.ts';
import {
  type BrokerChecklist,
  CHECK_IDS,
  CHECK_STATUS,
  check,
  exitCode,
  renderChecklists,
  showCheck,
} from '#shared/preflight/checklist.ts';
import { describeGuards, PLAIN_VALUES, runPreflight } from '#shared/preflight/run.ts';
import { LANGS, langFromLocale } from '#shared/preflight/texts.ts';
import { useMockAgent } from '../helpers/mock-agent.ts';

/** Every parameter any text quotes, so a text that forgets one shows as an empty quote, not a crash. */
const PARAMS = {
  broker: 'tinkoff',
  answer: 'Не задан номер счёта',
  name: 'ppp-webhooks/tinkoff/token',
  error: 'AccessDeniedException',
  ms: 2500,
  detail: 'ECONNREFUSED',
  url: 'https://invest-public-api.tbank.ru/rest',
  hosts: 'https://api.alor.ru',
  user: 'P012345',
  portfolio: 'D12345',
  portfolios: 'D1, G1',
  first: 'D1',
  exchange: 'SPBX',
  symbol: 'AAPL',
  lot: 10,
  status: 'ACCOUNT_STATUS_CLOSED',
  account: '2000000000',
  accounts: '2000000001 (ИИС)',
  count: 2,
  id: 'BBG000B9XRY4',
  ticker: 'AAPL',
  instrumentTicker: 'MSFT',
  side: 'buy',
  value: '1 000 000',
  result: '-2 000',
  ru: 'до 1000000 лотов в заявке',
  en: 'at most 1000000 lots an order',
};

const list = (...ids: (typeof CHECK_IDS)[number][]): BrokerChecklist => ({
  broker: 'alor',
  skipped: false,
  checks: ids.map((id) => check(id)),
});

describe('the preflight checklist', () => {
  it.each([
    ['all pass', [list('alor-refresh-accepted')], 0],
    ['a warning only', [list('alor-hosts-other', 'alor-refresh-accepted')], 0],
    ['a failure', [list('alor-refresh-rejected')], 1],
    ['something unchecked', [list('alor-refresh-accepted', 'broker-timeout')], 2],
    ['a failure beside something unchecked', [list('broker-timeout'), list('tinkoff-access-read-only')], 1],
    ['a skipped broker', [{ broker: 'tinkoff', skipped: true, checks: [] }, list('alor-refresh-accepted')], 0],
  ] as const)('exits %s with %s', (_case, lists, code) => {
    expect(exitCode(lists)).toBe(code);
  });

  it.each(LANGS.flatMap((lang) => (['local', 'deployed'] as const).map((source) => [lang, source] as const)))(
    'has a %s text for every check, read from %s settings, and a fix for every ✗',
    (lang, source) => {
      for (const id of CHECK_IDS) {
        const shown = showCheck(check(id, PARAMS), lang, source);
        expect(shown.text, id).not.toBe('');
        expect(shown.text, id).not.toMatch(/undefined|\[object/);
        if (CHECK_STATUS[id] === 'fail') expect(shown.fix, id).toMatch(/\S/);
      }
    },
  );

  it('says how to change a setting where it lives: .env locally, npm run secrets or the context when deployed', () => {
    const missing = check('account-missing', { broker: 'alor', answer: 'Не задан портфель ФР Alor' });
    const exchange = check('alor-portfolio-not-on-exchange', { portfolio: 'D1', exchange: 'SPBX' });

    expect(showCheck(missing, 'en', 'local').fix).toBe('ALOR_PORTFOLIO=… in .env');
    expect(showCheck(missing, 'en', 'deployed').fix).toBe('npm run secrets -- set alor-portfolio');
    expect(showCheck(exchange, 'ru', 'deployed').fix).toContain(
      '"alorExchange": "MOEX" в cdk.json → "context", затем npm run deploy',
    );
  });

  it('renders a line per check with its symbol, each fix below it, and a verdict', () => {
    const text = renderChecklists(
      [
        { broker: 'alor', skipped: false, checks: [check('alor-refresh-rejected')] },
        { broker: 'tinkoff', skipped: true, checks: [] },
      ],
      'en',
      'local',
    );
    expect(text.split('\n')).toEqual([
      'Alor (.env and the shell)',
      '  ✗ Alor refused the refresh token: it is expired, revoked or for the other environment',
      '      fix: issue a new one at https://alor.dev/open-api-tokens (for the test hosts, a test environment token) and store it: ALOR_REFRESH_TOKEN=… in .env',
      '',
      'T-Invest: not configured, skipped',
      '',
      'Not ready: fix the ✗ items.',
      '',
    ]);
  });

  it.each([
    [{ LANG: 'ru_RU.UTF-8' }, 'ru'],
    [{ LANG: 'en_US.UTF-8', LC_ALL: 'ru_RU.UTF-8' }, 'ru'],
    [{ LANG: 'ru_RU.UTF-8', LC_ALL: 'C' }, 'en'],
    [{ LANG: 'de_DE.UTF-8' }, 'en'],
    [{}, 'en'],
  ])('takes the language of %o as %s', (env, lang) => {
    expect(langFromLocale(env)).toBe(lang);
  });
});

describe('broker hosts', () => {
  it.each([
    ['https://api.alor.ru', 'production'],
    ['https://oauth.alor.ru', 'production'],
    ['https://apidev.alor.ru', 'test'],
    ['https://oauthdev.alor.ru', 'test'],
    ['https://invest-public-api.tbank.ru/rest', 'production'],
    ['https://sandbox-invest-public-api.tbank.ru/rest', 'test'],
    ['http://127.0.0.1:4010', 'other'],
  ])('%s is %s', (url, kind) => {
    expect(brokerHostKind(url)).toBe(kind);
  });

  it.each([
    [
      'the production host: the sandbox',
      'https://invest-public-api.tbank.ru/rest',
      undefined,
      { url: 'https://sandbox-invest-public-api.tbank.ru/rest', kind: 'sandbox' },
    ],
    [
      'the sandbox: production',
      'https://sandbox-invest-public-api.tbank.ru/rest',
      undefined,
      { url: 'https://invest-public-api.tbank.ru/rest', kind: 'production' },
    ],
    ['another host: nothing', 'http://127.0.0.1:4010/rest', undefined, undefined],
    [
      'another host with a given sandbox: that sandbox',
      'http://127.0.0.1:4010/rest',
      'http://127.0.0.1:4010/sandbox/rest',
      { url: 'http://127.0.0.1:4010/sandbox/rest', kind: 'sandbox' },
    ],
    [
      'the given sandbox: production',
      'http://127.0.0.1:4010/sandbox/rest',
      'http://127.0.0.1:4010/sandbox/rest',
      { url: 'https://invest-public-api.tbank.ru/rest', kind: 'production' },
    ],
  ])('tries a token T-Invest refuses at %s', (_case, apiUrl, sandboxUrl, other) => {
    expect(otherTinkoffEnvironment(apiUrl, sandboxUrl)).toEqual(other);
  });
});

describe('the guards in force', () => {
  it('are said in both languages with their settings, and a kill switch that reads on is a warning', async () => {
    const tinkoff = loadTinkoffConfig({
      KILL_SWITCH: 'on',
      SIGNAL_MAX_AGE_SECONDS: '30',
      MAX_ORDERS_PER_DAY: '20',
      DAILY_LOSS_LIMIT: '2%',
    });
    expect(describeGuards(tinkoff.guards)).toEqual({
      ru: 'выключатель торговли, ts входа не старше 30 с, до 1000000 лотов в заявке, до 20 входов в день, дневной убыток до 2%',
      en: "kill switch, an entry's ts at most 30 s old, at most 1000000 lots an order, at most 20 entries a day, a day's loss of at most 2%",
    });
  });
});

describe('runPreflight on T-Invest (a MockAgent for the broker)', () => {
  const TOKEN = 't.unit-preflight-token';
  const ACCOUNT = '2000000000';
  const ACCOUNTS = `/rest/tinkoff.public.invest.api.contract.v1.UsersService/GetAccounts`;
  const INSTRUMENT = `/rest/tinkoff.public.invest.api.contract.v1.InstrumentsService/GetInstrumentBy`;
  const REFUSED = { code: 16, message: 'Authentication token is missing or invalid', description: 40003 };
  const ACCOUNT_JSON = {
    id: ACCOUNT,
    name: 'Брокерский счёт',
    status: 'ACCOUNT_STATUS_OPEN',
    accessLevel: 'ACCOUNT_ACCESS_LEVEL_FULL_ACCESS',
  };
  const mockAgent = useMockAgent();

  const settings = (apiUrl: string) => ({
    alor: loadAlorConfig({}),
    tinkoff: loadTinkoffConfig({ TINKOFF_TOKEN: TOKEN, TINKOFF_ACCOUNT_ID: ACCOUNT, TINKOFF_API_URL: apiUrl }),
  });
  const ids = async (apiUrl: string, figi?: string) => {
    const lists = await runPreflight(settings(apiUrl), { store: PLAIN_VALUES, dispatcher: mockAgent(), figi });
    return { ids: lists.flatMap((list) => list.checks.map((item) => item.id)), code: exitCode(lists) };
  };

  it('warns that the kill switch is on after the broker checks, with the guards in force', async () => {
    mockAgent()
      .get(new URL(TINKOFF_DEFAULT_API_URL.v2).origin)
      .intercept({ path: ACCOUNTS, method: 'POST' })
      .reply(200, { accounts: [ACCOUNT_JSON] });
    const tinkoff = loadTinkoffConfig({ TINKOFF_TOKEN: TOKEN, TINKOFF_ACCOUNT_ID: ACCOUNT, KILL_SWITCH: 'on' });
    vi.stubEnv('KILL_SWITCH', 'on');
    const lists = await runPreflight(
      { alor: loadAlorConfig({}), tinkoff },
      { store: PLAIN_VALUES, dispatcher: mockAgent(), brokers: ['tinkoff'] },
    );
    expect(lists[0]?.checks.slice(-2).map((item) => item.id)).toEqual(['guards-in-force', 'guards-kill-switch-on']);
  });

  it('says a production token on the sandbox host is one, asking production once', async () => {
    mockAgent()
      .get(new URL(TINKOFF_SANDBOX_API_URL).origin)
      .intercept({ path: ACCOUNTS, method: 'POST' })
      .reply(401, REFUSED);
    mockAgent()
      .get(new URL(TINKOFF_DEFAULT_API_URL.v2).origin)
      .intercept({ path: ACCOUNTS, method: 'POST' })
      .reply(200, { accounts: [ACCOUNT_JSON] });

    expect(await ids(TINKOFF_SANDBOX_API_URL)).toEqual({
      ids: ['tinkoff-host-sandbox', 'tinkoff-token-production', 'guards-in-force'],
      code: 1,
    });
  });

  it('says only that the token is refused when the other environment refuses it too', async () => {
    mockAgent()
      .get(new URL(TINKOFF_DEFAULT_API_URL.v2).origin)
      .intercept({ path: ACCOUNTS, method: 'POST' })
      .reply(401, REFUSED);
    mockAgent()
      .get(new URL(TINKOFF_SANDBOX_API_URL).origin)
      .intercept({ path: ACCOUNTS, method: 'POST' })
      .reply(401, REFUSED);

    expect((await ids(TINKOFF_DEFAULT_API_URL.v2)).ids).toEqual([
      'tinkoff-host-production',
      'tinkoff-token-rejected',
      'guards-in-force',
    ]);
  });

  it('keeps the checks made when a later read call refuses the token, and cannot say more (exit 2)', async () => {
    const broker = mockAgent().get(new URL(TINKOFF_DEFAULT_API_URL.v2).origin);
    broker.intercept({ path: ACCOUNTS, method: 'POST' }).reply(200, { accounts: [ACCOUNT_JSON] });
    broker.intercept({ path: INSTRUMENT, method: 'POST' }).reply(401, REFUSED);

    expect(await ids(TINKOFF_DEFAULT_API_URL.v2, 'BBG004730N88')).toEqual({
      ids: [
        'tinkoff-host-production',
        'tinkoff-token-accepted',
        'tinkoff-account-open',
        'tinkoff-access-full',
        'tinkoff-token-one-account',
        'broker-unreachable',
        'guards-in-force',
      ],
      code: 2,
    });
  });
});
