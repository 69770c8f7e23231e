import { describe, expect, it, vi } from 'vitest';
import { type AlorConfig, loadAlorConfig } from '#shared/brokers/alor/config.ts';
import { loadTinkoffConfig, type TinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { ConfigError } from '#shared/config-error.ts';

/** Looks like a T-Invest token: a value that must never be echoed by a configuration error. */
const TOKEN_LIKE = 't.Zx9QeRTsecretTOKENvalue_abc123';

function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadAlorConfig', () => {
  it('applies the defaults of the configuration table to an empty environment', () => {
    expect(loadAlorConfig({})).toEqual({
      broker: 'alor',
      webhookSecret: { kind: 'unset' },
      refreshToken: { kind: 'unset' },
      portfolio: { kind: 'unset' },
      exchange: 'SPBX',
      oauthUrl: 'https://oauth.alor.ru',
      apiUrl: 'https://api.alor.ru',
      brokerTimeoutMs: 2500,
      secretsCacheTtlMs: 300_000,
      dryRun: false,
      guards: { signalMaxAgeMs: 60_000, checkTradingStatus: false, maxLotsPerOrder: 1_000_000 },
    } satisfies AlorConfig);
  });

  it('treats empty and blank variables as unset', () => {
    const config = loadAlorConfig({
      WEBHOOK_SECRET_ID: '',
      WEBHOOK_SECRET: '  ',
      ALOR_REFRESH_TOKEN_SECRET_ID: '',
      ALOR_PORTFOLIO: '',
      ALOR_EXCHANGE: '',
      ALOR_OAUTH_URL: '',
      BROKER_TIMEOUT_MS: '',
      DRY_RUN: '',
    });

    expect(config).toEqual(loadAlorConfig({}));
  });

  it('reads store references: secrets by id, the portfolio as a parameter', () => {
    const config = loadAlorConfig({
      WEBHOOK_SECRET_ID: 'ppp/webhook-secret',
      ALOR_REFRESH_TOKEN_SECRET_ID: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:ppp/alor-AbCdEf',
      ALOR_PORTFOLIO_PARAMETER: '/ppp/alor/portfolio',
    });

    expect(config).toMatchObject({
      webhookSecret: { kind: 'secret', id: 'ppp/webhook-secret' },
      refreshToken: {
        kind: 'secret',
        id: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:ppp/alor-AbCdEf',
      },
      portfolio: { kind: 'parameter', name: '/ppp/alor/portfolio' },
    });
  });

  it('reads plain values for local runs', () => {
    const config = loadAlorConfig({
      WEBHOOK_SECRET: 'local-secret',
      ALOR_REFRESH_TOKEN: 'rt',
      ALOR_PORTFOLIO: 'D71111',
    });

    expect(config).toMatchObject({
      webhookSecret: { kind: 'plain', value: 'local-secret' },
      refreshToken: { kind: 'plain', value: 'rt' },
      portfolio: { kind: 'plain', value: 'D71111' },
    });
  });

  it('prefers the store reference when both a reference and a plain value are set', () => {
    const config = loadAlorConfig({
      WEBHOOK_SECRET_ID: 'ppp/webhook-secret',
      WEBHOOK_SECRET: 'plain',
      ALOR_REFRESH_TOKEN_SECRET_ID: 'ppp/alor',
      ALOR_REFRESH_TOKEN: 'plain',
      ALOR_PORTFOLIO_PARAMETER: '/ppp/portfolio',
      ALOR_PORTFOLIO: 'D1',
    });

    expect(config).toMatchObject({
      webhookSecret: { kind: 'secret', id: 'ppp/webhook-secret' },
      refreshToken: { kind: 'secret', id: 'ppp/alor' },
      portfolio: { kind: 'parameter', name: '/ppp/portfolio' },
    });
  });

  it.each([
    ['SPBX', 'SPBX'],
    ['MOEX', 'MOEX'],
  ] as const)('takes ALOR_EXCHANGE=%s', (value, exchange) => {
    expect(loadAlorConfig({ ALOR_EXCHANGE: value }).exchange).toBe(exchange);
  });

  it('strips trailing slashes from the base URLs and keeps their paths', () => {
    const config = loadAlorConfig({
      ALOR_OAUTH_URL: 'https://oauthdev.alor.ru/',
      ALOR_API_URL: 'http://127.0.0.1:8080/alor///',
    });

    expect(config).toMatchObject({ oauthUrl: 'https://oauthdev.alor.ru', apiUrl: 'http://127.0.0.1:8080/alor' });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('reads DRY_RUN=%s as %s', (value, dryRun) => {
    expect(loadAlorConfig({ DRY_RUN: value }).dryRun).toBe(dryRun);
  });

  it('reads BROKER_TIMEOUT_MS and SECRETS_CACHE_TTL_MS as whole milliseconds', () => {
    expect(loadAlorConfig({ BROKER_TIMEOUT_MS: '1800', SECRETS_CACHE_TTL_MS: '60000' })).toMatchObject({
      brokerTimeoutMs: 1800,
      secretsCacheTtlMs: 60_000,
    });
  });

  it('reads process.env when no environment is given', () => {
    vi.stubEnv('ALOR_EXCHANGE', 'MOEX');
    vi.stubEnv('ALOR_PORTFOLIO', 'D71111');

    expect(loadAlorConfig()).toMatchObject({ exchange: 'MOEX', portfolio: { kind: 'plain', value: 'D71111' } });
  });

  it.each([
    ['ALOR_EXCHANGE', 'FOO'],
    ['ALOR_EXCHANGE', 'moex'],
    ['ALOR_EXCHANGE', TOKEN_LIKE],
    ['BROKER_TIMEOUT_MS', 'abc'],
    ['BROKER_TIMEOUT_MS', '0'],
    ['BROKER_TIMEOUT_MS', '-5'],
    ['BROKER_TIMEOUT_MS', '1.5'],
    ['BROKER_TIMEOUT_MS', '25001'],
    ['BROKER_TIMEOUT_MS', TOKEN_LIKE],
    ['SECRETS_CACHE_TTL_MS', 'soon'],
    ['DRY_RUN', 'yes'],
    ['DRY_RUN', TOKEN_LIKE],
    ['ALOR_API_URL', 'not a url'],
    ['ALOR_API_URL', 'ftp://api.alor.ru'],
    ['ALOR_OAUTH_URL', TOKEN_LIKE],
    ['ALOR_OAUTH_URL', `javascript:${TOKEN_LIKE}`],
    ['PARAMETERS_SECRETS_EXTENSION_HTTP_PORT', '0'],
    ['PARAMETERS_SECRETS_EXTENSION_HTTP_PORT', '65536'],
    ['PARAMETERS_SECRETS_EXTENSION_HTTP_PORT', 'http://127.0.0.1:2773'],
  ])('refuses %s=%j with a ConfigError naming the variable, never the value', (name, value) => {
    const error = configError(() => loadAlorConfig({ [name]: value }));

    expect(error.name).toBe('ConfigError');
    expect(error.message).toMatch(new RegExp(`^Invalid configuration: ${name}: `));
    expect(error.message).not.toContain(value);
    expect(error.message).not.toContain('secretTOKEN');
  });

  it('reads the store through the extension on 127.0.0.1 when its port and the session token are set; else not', () => {
    const extension = { PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '2773', AWS_SESSION_TOKEN: 'session-1' };
    expect(loadAlorConfig(extension).storeExtension).toEqual({ url: 'http://127.0.0.1:2773', token: 'session-1' });
    expect(loadTinkoffConfig(extension).storeExtension).toEqual({ url: 'http://127.0.0.1:2773', token: 'session-1' });
    expect(loadAlorConfig({ PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '2773' }).storeExtension).toBeUndefined();
    expect(loadAlorConfig({ AWS_SESSION_TOKEN: 'session-1' }).storeExtension).toBeUndefined();
    expect(loadAlorConfig({ ...extension, PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '' }).storeExtension).toBeUndefined();
  });

  it('reads ALLOWED_SOURCE_IPS into the ranges a call may come from; unset or blank, none', () => {
    expect(loadAlorConfig({ ALLOWED_SOURCE_IPS: '203.0.113.0/24' }).allowedSources).toEqual([
      { address: '203.0.113.0', prefix: 24, family: 'ipv4' },
    ]);
    expect(loadTinkoffConfig({ ALLOWED_SOURCE_IPS: 'tradingview' }).allowedSources).toHaveLength(4);
    expect(loadAlorConfig({ ALLOWED_SOURCE_IPS: ' ' }).allowedSources).toBeUndefined();
    expect(loadAlorConfig({}).allowedSources).toBeUndefined();
  });

  it.each([
    ['a host name', 'tradingview.com'],
    ['a secret pasted into the wrong setting', TOKEN_LIKE],
  ])(
    'refuses ALLOWED_SOURCE_IPS with %s, naming the variable and the entry’s position, never the value',
    (_case, value) => {
      const error = configError(() => loadTinkoffConfig({ ALLOWED_SOURCE_IPS: `tradingview, ${value}` }));

      expect(error.message).toBe(
        'Invalid configuration: ALLOWED_SOURCE_IPS: entry 2 is not an IPv4 or IPv6 address, a CIDR range (203.0.113.0/24) or "tradingview"',
      );
      expect(error.message).not.toContain(value);
    },
  );

  it('names every bad variable at once', () => {
    const error = configError(() => loadAlorConfig({ ALOR_EXCHANGE: 'FOO', BROKER_TIMEOUT_MS: 'abc' }));

    expect(error.message).toContain('ALOR_EXCHANGE: ');
    expect(error.message).toContain('BROKER_TIMEOUT_MS: ');
  });
});

describe('loadTinkoffConfig', () => {
  it('applies the defaults of the configuration table to an empty environment', () => {
    expect(loadTinkoffConfig({})).toEqual({
      broker: 'tinkoff',
      webhookSecret: { kind: 'unset' },
      token: { kind: 'unset' },
      accountId: { kind: 'unset' },
      api: 'v2',
      apiUrl: 'https://invest-public-api.tbank.ru/rest',
      classCode: 'TQBR',
      brokerTimeoutMs: 2500,
      secretsCacheTtlMs: 300_000,
      dryRun: false,
      guards: { signalMaxAgeMs: 60_000, checkTradingStatus: false, maxLotsPerOrder: 1_000_000 },
    } satisfies TinkoffConfig);
  });

  it('defaults the URL of TINKOFF_API=v1 to the v1 host', () => {
    expect(loadTinkoffConfig({ TINKOFF_API: 'v1' })).toMatchObject({
      api: 'v1',
      apiUrl: 'https://api-invest.tinkoff.ru',
    });
  });

  it('takes TINKOFF_API_URL over the default of either API, trailing slash stripped', () => {
    expect(loadTinkoffConfig({ TINKOFF_API_URL: 'https://sandbox-invest-public-api.tbank.ru/rest/' }).apiUrl).toBe(
      'https://sandbox-invest-public-api.tbank.ru/rest',
    );
    expect(loadTinkoffConfig({ TINKOFF_API: 'v1', TINKOFF_API_URL: 'http://127.0.0.1:9000/' }).apiUrl).toBe(
      'http://127.0.0.1:9000',
    );
  });

  it('reads store references and plain values like Alor', () => {
    expect(
      loadTinkoffConfig({ TINKOFF_TOKEN_SECRET_ID: 'ppp/tinkoff', TINKOFF_ACCOUNT_ID_PARAMETER: '/ppp/account' }),
    ).toMatchObject({
      token: { kind: 'secret', id: 'ppp/tinkoff' },
      accountId: { kind: 'parameter', name: '/ppp/account' },
    });
    expect(loadTinkoffConfig({ TINKOFF_TOKEN: 't.local', TINKOFF_ACCOUNT_ID: '2000000000' })).toMatchObject({
      token: { kind: 'plain', value: 't.local' },
      accountId: { kind: 'plain', value: '2000000000' },
    });
  });

  it.each([
    ['TINKOFF_API', 'v3'],
    ['TINKOFF_API', TOKEN_LIKE],
    ['TINKOFF_API_URL', 'invest-public-api.tbank.ru'],
    ['TINKOFF_API_URL', TOKEN_LIKE],
    ['BROKER_TIMEOUT_MS', 'abc'],
    ['TINKOFF_CLASS_CODE', 'TQ BR'],
    ['TINKOFF_CLASS_CODE', TOKEN_LIKE],
  ])('refuses %s=%j with a ConfigError naming the variable, never the value', (name, value) => {
    const error = configError(() => loadTinkoffConfig({ [name]: value }));

    expect(error.message).toMatch(new RegExp(`^Invalid configuration: ${name}: `));
    expect(error.message).not.toContain(value);
  });

  it('reads the class code an order without f looks its ticker up in', () => {
    expect(loadTinkoffConfig({ TINKOFF_CLASS_CODE: 'TQTF' }).classCode).toBe('TQTF');
    expect(loadTinkoffConfig({ TINKOFF_CLASS_CODE: '' }).classCode).toBe('TQBR');
  });

  it('ignores the other broker’s variables', () => {
    expect(loadTinkoffConfig({ ALOR_EXCHANGE: 'FOO', ALOR_API_URL: 'nope' })).toEqual(loadTinkoffConfig({}));
  });
});
