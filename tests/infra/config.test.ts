import { describe, expect, it } from 'vitest';
import { ConfigError } from '#shared/config-error.ts';
import {
  CONTEXT_DEFAULTS,
  GUARD_CONTEXT_DEFAULTS,
  NOTIFY_CONTEXT_DEFAULTS,
  readConfig,
  readNotifyConfig,
  type WebhooksConfig,
} from '../../infra/config.ts';
import { CDK_JSON_CONTEXT } from './synth.ts';

const fromContext = (context: Record<string, unknown>) => readConfig((key) => context[key]);

describe('readConfig', () => {
  it('applies the documented defaults when context is empty', () => {
    expect(fromContext({})).toEqual({
      stackName: 'PppWebhooks',
      env: {},
      webhookSecret: { name: 'ppp-webhooks/webhook-secret', created: true },
      alorRefreshToken: { name: 'ppp-webhooks/alor/refresh-token', created: true },
      tinkoffToken: { name: 'ppp-webhooks/tinkoff/token', created: true },
      alorPortfolio: { name: '/ppp-webhooks/alor/portfolio', value: undefined },
      tinkoffAccountId: { name: '/ppp-webhooks/tinkoff/account-id', value: undefined },
      alorExchange: 'SPBX',
      alorOauthUrl: undefined,
      alorApiUrl: undefined,
      tinkoffApi: 'v2',
      tinkoffApiUrl: undefined,
      tinkoffClassCode: undefined,
      brokerTimeoutMs: 2500,
      dryRun: false,
      allowedSourceIps: undefined,
      memorySize: 512,
      timeoutSeconds: 10,
      throttlingRateLimit: 10,
      throttlingBurstLimit: 20,
      logRetentionDays: 30,
      bundleAwsSdk: true,
      storeExtension: true,
      keepWarmMinutes: 0,
      guards: {
        killSwitchParameter: '/ppp-webhooks/kill-switch',
        killSwitchTtlSeconds: 5,
        signalMaxAgeSeconds: 60,
        checkTradingStatus: false,
        maxLotsPerOrder: 1_000_000,
        maxPositionLots: 0,
        maxOrderRub: 0,
        maxOrdersPerDay: 0,
        dailyLossLimit: undefined,
      },
      closeUnprotected: true,
    } satisfies WebhooksConfig);
  });

  it('finds in cdk.json exactly the documented defaults of the guards: the kill switch and the per-order lot limit on', () => {
    const fromCdkJson = Object.fromEntries(
      Object.keys(GUARD_CONTEXT_DEFAULTS).map((key) => [key, CDK_JSON_CONTEXT[key]]),
    );
    expect(fromCdkJson).toEqual(GUARD_CONTEXT_DEFAULTS);
  });

  it.each([
    [
      { dailyLossLimit: '5%x' },
      'Context "dailyLossLimit" must be roubles (5000) or a percentage below 100 (2%); got "5%x"',
    ],
    [{ maxLotsPerOrder: 0 }, 'Context "maxLotsPerOrder" must be an integer from 1 to 2147483647; got 0'],
    [{ killSwitchTtlSeconds: '301' }, 'Context "killSwitchTtlSeconds" must be an integer from 1 to 300; got "301"'],
    [
      { tinkoffApi: 'v1', maxOrderRub: 100000 },
      'Context "checkTradingStatus", "maxPositionLots", "maxOrderRub" and "dailyLossLimit" read the broker: they need "tinkoffApi" v2',
    ],
  ])('refuses the guard setting %j, naming it', (context, message) => {
    expect(() => fromContext(context)).toThrow(new ConfigError(message));
  });

  it('leaves the kill switch out with killSwitch false, and reads the limits given', () => {
    expect(
      fromContext({ killSwitch: 'false', maxOrdersPerDay: '20', dailyLossLimit: '2%', checkTradingStatus: true })
        .guards,
    ).toMatchObject({
      killSwitchParameter: undefined,
      maxOrdersPerDay: 20,
      dailyLossLimit: '2%',
      checkTradingStatus: true,
    });
  });

  it('finds in cdk.json exactly the documented defaults, so the file and the code cannot drift apart', () => {
    const fromCdkJson = Object.fromEntries(Object.keys(CONTEXT_DEFAULTS).map((key) => [key, CDK_JSON_CONTEXT[key]]));
    expect(fromCdkJson).toEqual(CONTEXT_DEFAULTS);
  });

  it('finds in cdk.json exactly the documented defaults of the messages: every kind but check, no alarm e-mail', () => {
    const fromCdkJson = Object.fromEntries(
      Object.keys(NOTIFY_CONTEXT_DEFAULTS).map((key) => [key, CDK_JSON_CONTEXT[key]]),
    );
    expect(fromCdkJson).toEqual(NOTIFY_CONTEXT_DEFAULTS);
    expect(readNotifyConfig((key) => CDK_JSON_CONTEXT[key])).toMatchObject({
      kinds: expect.arrayContaining(['forbidden-source', 'alarm']),
      alarmEmail: undefined,
    });
    expect(readNotifyConfig((key) => ({ alarmEmail: ' trader@example.com ' })[key]).alarmEmail).toBe(
      'trader@example.com',
    );
  });

  it('accepts numbers and booleans spelled as strings, as `cdk -c key=value` passes them', () => {
    const config = fromContext({
      brokerTimeoutMs: '2000',
      dryRun: 'true',
      logRetentionDays: '7',
      bundleAwsSdk: 'false',
    });
    expect(config).toMatchObject({ brokerTimeoutMs: 2000, dryRun: true, logRetentionDays: 7, bundleAwsSdk: false });
  });

  it.each([
    ['a string', 'tradingview, 10.0.0.0/8', 'tradingview,10.0.0.0/8'],
    ['a list', ['tradingview', '2001:db8::/32 203.0.113.7'], 'tradingview,2001:db8::/32,203.0.113.7'],
    ['an empty string', '', undefined],
    ['an empty list', [], undefined],
  ])('reads allowedSourceIps from %s', (_case, allowedSourceIps, expected) => {
    expect(fromContext({ allowedSourceIps }).allowedSourceIps).toBe(expected);
  });

  it('imports a secret instead of creating it when context names it', () => {
    expect(fromContext({ tinkoffTokenSecretName: 'my/tinkoff' }).tinkoffToken).toEqual({
      name: 'my/tinkoff',
      created: false,
    });
  });

  it.each([
    [{ alorExchange: 'NYSE' }, 'Context "alorExchange" must be one of SPBX, MOEX; got "NYSE"'],
    [{ tinkoffApi: 'v3' }, 'Context "tinkoffApi" must be one of v2, v1; got "v3"'],
    [
      { tinkoffClassCode: 'TQ BR' },
      'Context "tinkoffClassCode" must be a T-Invest class code such as TQBR; got "TQ BR"',
    ],
    [
      { logRetentionDays: 31 },
      'Context "logRetentionDays" must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653; got 31',
    ],
    [{ timeoutSeconds: 30 }, 'Context "timeoutSeconds" must be an integer from 1 to 29; got 30'],
    [{ memorySize: '1.5' }, 'Context "memorySize" must be an integer from 128 to 10240; got "1.5"'],
    [
      { brokerTimeoutMs: 5000, timeoutSeconds: 5 },
      'Context "brokerTimeoutMs" (5000) must be below the function timeout "timeoutSeconds" (5 s)',
    ],
    [{ dryRun: 'yes' }, 'Context "dryRun" must be true or false; got "yes"'],
    [
      { allowedSourceIps: 'tradingview, example.com' },
      'Context "allowedSourceIps": entry 2 is not an IPv4 or IPv6 address, a CIDR range (203.0.113.0/24) or "tradingview"; got "tradingview, example.com"',
    ],
    [
      { allowedSourceIps: ['10.0.0.1', 7] },
      'Context "allowedSourceIps" must be a string or a list of strings; got ["10.0.0.1",7]',
    ],
    [
      { alorApiUrl: 'http://apidev.alor.ru' },
      'Context "alorApiUrl" must be an https:// URL without credentials; got "http://apidev.alor.ru"',
    ],
    [{ account: '1234' }, 'Context "account" must be a 12-digit AWS account id; got "1234"'],
    [
      { resourcePrefix: 'a b' },
      'Context "resourcePrefix" must start with a letter or digit and contain only letters, digits, "_", "." and "-"; got "a b"',
    ],
    [
      { alorPortfolioParameterName: 'no-slash' },
      'Context "alorPortfolioParameterName" must be an SSM parameter name starting with "/"; got "no-slash"',
    ],
  ])('rejects %j with an exact message', (context, message) => {
    expect(() => fromContext(context)).toThrow(new ConfigError(message));
  });

  it.each([
    ['webhookSecret', 'npm run secrets -- set webhook-secret'],
    ['alorRefreshToken', 'npm run secrets -- set alor-refresh-token'],
    ['tinkoffToken', 'npm run secrets -- set tinkoff-token'],
  ])('refuses a secret value under context "%s" and points to `%s`, without echoing the value', (key, command) => {
    const attempt = () => fromContext({ [key]: 'sk-live-value' });
    expect(attempt).toThrow(
      new ConfigError(
        `Context "${key}" would put a secret value into cdk.json/cdk.context.json and the cloud assembly; remove it and run \`${command}\` instead`,
      ),
    );
    expect(attempt).not.toThrow(/sk-live-value/);
  });
});
