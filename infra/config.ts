/**
 * Deployment configuration of the webhook stack, read from CDK context (`cdk.json` "context", or `-c key=value`).
 *
 * This module is the single source of the names of the secrets and parameters the stack uses: the CDK app
 * (`infra/app.ts`) and the secrets script (`scripts/secrets.ts`) both call {@link readConfig}, so they cannot
 * disagree. It deliberately imports nothing from aws-cdk-lib so the script stays light.
 *
 * Only identifiers and non-secret settings live here. Secret VALUES are never read from context: they are put into
 * Secrets Manager with `npm run secrets -- set <name>`.
 */

import { ConfigError } from '../shared/config-error.ts';
import {
  ALOR_EXCHANGES,
  type AlorExchange,
  API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS,
  type Broker,
  DEFAULT_ALOR_EXCHANGE,
  DEFAULT_BROKER_TIMEOUT_MS,
  DEFAULT_FOLLOW_UP_DELAY_SECONDS,
  DEFAULT_KILL_SWITCH_TTL_SECONDS,
  DEFAULT_MAX_LOTS_PER_ORDER,
  DEFAULT_NOTIFY_KINDS,
  DEFAULT_NOTIFY_LANGUAGE,
  DEFAULT_RESOURCE_PREFIX,
  DEFAULT_SIGNAL_MAX_AGE_SECONDS,
  DEFAULT_TINKOFF_API,
  ENV,
  MAX_BROKER_TIMEOUT_MS,
  MAX_FOLLOW_UP_DELAY_SECONDS,
  MAX_KEEP_WARM_MINUTES,
  MAX_KILL_SWITCH_TTL_SECONDS,
  MAX_ORDER_RUB,
  MAX_ORDERS_PER_DAY_LIMIT,
  MAX_SIGNAL_AGE_SECONDS,
  NOTIFY_KINDS,
  NOTIFY_LANGUAGES,
  type NotifyKind,
  type NotifyLanguage,
  type STORED_SECRETS,
  storeNames,
  TINKOFF_APIS,
  type TinkoffApi,
} from '../shared/facts.ts';
import { MAX_LOTS } from '../shared/http/inbound/payload.ts';
import {
  classCode,
  dailyLossLimit,
  httpsUrlWithoutCredentials,
  notifyKinds,
  sourceAllowList as sourceAllowListRule,
  ssmParameterName,
} from '../shared/settings-rules.ts';
import * as z from '../shared/zod.ts';

/** Retention periods CloudWatch Logs accepts (the values of CDK's `RetentionDays`), in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** The context keys this app reads, with their defaults (also written out in `cdk.json` and docs/deploy-details.md#settings). */
export const CONTEXT_DEFAULTS = {
  /** CloudFormation stack name. */
  stackName: 'PppWebhooks',
  /** Prefix of every secret and parameter name the stack creates (`<prefix>/webhook-secret`, `/<prefix>/alor/portfolio`, …). */
  resourcePrefix: DEFAULT_RESOURCE_PREFIX,
  /** `ALOR_EXCHANGE`. */
  alorExchange: DEFAULT_ALOR_EXCHANGE,
  /** `TINKOFF_API`. */
  tinkoffApi: DEFAULT_TINKOFF_API,
  /** `BROKER_TIMEOUT_MS`: deadline for all broker calls of one request (TradingView gives a webhook 3 s). */
  brokerTimeoutMs: DEFAULT_BROKER_TIMEOUT_MS,
  /** `DRY_RUN`: validate, authenticate, read secrets, build the broker request, but send no order. */
  dryRun: false,
  /** Lambda memory in MB (CPU scales with it, which shortens cold starts). */
  memorySize: 512,
  /** Lambda timeout in seconds; must stay below API Gateway's 30 s integration timeout. */
  timeoutSeconds: 10,
  /** Stage throttling: steady-state requests per second, across both routes. */
  throttlingRateLimit: 10,
  /** Stage throttling: burst size. */
  throttlingBurstLimit: 20,
  /** Retention of the function and access log groups, in days. */
  logRetentionDays: 30,
  /** Bundle the AWS SDK v3 into each function (true) or use the copy the Lambda runtime ships (false). */
  bundleAwsSdk: true,
  /**
   * The webhook functions read their secrets and parameters through the AWS Parameters and Secrets Lambda Extension
   * (a layer), the AWS SDK only as its fallback and left out of their bundles: a faster cold start
   * (docs/performance.md#alternatives-tried).
   */
  storeExtension: true,
  /**
   * Invoke each function every this many minutes from an EventBridge schedule (through IAM, never the public API),
   * keeping its container, its broker connections and Alor's access token ready; 0 = off.
   */
  keepWarmMinutes: 0,
  /**
   * `CLOSE_UNPROTECTED`: a position whose stop-loss or take-profit could not be placed after its entry filled is
   * closed at market (after the retries, with the urgent message); false leaves it open, with the same message.
   */
  closeUnprotected: true,
} as const;

/** The guards before an order (docs/deploy-details.md#guards), each with its default: only two are on by default. */
export const GUARD_CONTEXT_DEFAULTS = {
  /** The kill switch: an SSM parameter the functions read, `npm run kill -- on|off`; false: none is read. */
  killSwitch: true,
  /** `KILL_SWITCH_TTL_SECONDS`: a switch turned on stops entries within this long. */
  killSwitchTtlSeconds: DEFAULT_KILL_SWITCH_TTL_SECONDS,
  /** `SIGNAL_MAX_AGE_SECONDS`: how old an entry's `ts` may be when it gives no `ttl`; 0 = only `ttl`. */
  signalMaxAgeSeconds: DEFAULT_SIGNAL_MAX_AGE_SECONDS,
  /** `CHECK_TRADING_STATUS`: refuse entries while the instrument does not trade. */
  checkTradingStatus: false,
  /** `MAX_LOTS_PER_ORDER`: no order of more lots than this. */
  maxLotsPerOrder: DEFAULT_MAX_LOTS_PER_ORDER,
  /** `MAX_POSITION_LOTS`: no entry that leaves more lots than this in one instrument; 0 = off. */
  maxPositionLots: 0,
  /** `MAX_ORDER_RUB`: no order worth more roubles than this; 0 = off. */
  maxOrderRub: 0,
  /** `MAX_ORDERS_PER_DAY`: no more entries a Moscow day per account than this; 0 = off. */
  maxOrdersPerDay: 0,
  /** `DAILY_LOSS_LIMIT`: no entries once the day's result is this loss (`5000` roubles, or `2%`); '' = off. */
  dailyLossLimit: '',
} as const;

/** The guards as the stack sets them on both webhook functions. */
export interface GuardSettings {
  /** The kill switch's SSM parameter; unset: none is read. */
  readonly killSwitchParameter: string | undefined;
  readonly killSwitchTtlSeconds: number;
  readonly signalMaxAgeSeconds: number;
  readonly checkTradingStatus: boolean;
  readonly maxLotsPerOrder: number;
  readonly maxPositionLots: number;
  readonly maxOrderRub: number;
  readonly maxOrdersPerDay: number;
  readonly dailyLossLimit: string | undefined;
}

/** How the stack gets hold of one Secrets Manager secret. */
export interface SecretRef {
  /** The secret's name (what `npm run secrets` writes to). */
  readonly name: string;
  /** `true`: the stack creates and owns the secret. `false`: it already exists and is only referenced by name. */
  readonly created: boolean;
}

/** How the stack gets hold of one SSM parameter. */
export interface ParameterRef {
  /** The parameter's name, starting with `/`. */
  readonly name: string;
  /**
   * The value from context, when given: the stack then creates the parameter with it. When absent the stack only
   * references the parameter by name (SSM `String` parameters cannot be empty) and `npm run secrets -- set` creates it.
   */
  readonly value: string | undefined;
}

export interface WebhooksConfig {
  readonly stackName: string;
  /** Target account/region from context; both absent → an environment-agnostic stack (synth needs no credentials). */
  readonly env: { readonly account?: string; readonly region?: string };
  readonly webhookSecret: SecretRef;
  readonly alorRefreshToken: SecretRef;
  readonly tinkoffToken: SecretRef;
  readonly alorPortfolio: ParameterRef;
  readonly tinkoffAccountId: ParameterRef;
  readonly alorExchange: AlorExchange;
  readonly alorOauthUrl: string | undefined;
  readonly alorApiUrl: string | undefined;
  readonly tinkoffApi: TinkoffApi;
  readonly tinkoffApiUrl: string | undefined;
  /** `TINKOFF_CLASS_CODE`; unset: the function's default (TQBR). */
  readonly tinkoffClassCode: string | undefined;
  readonly brokerTimeoutMs: number;
  readonly dryRun: boolean;
  /** `ALLOWED_SOURCE_IPS` of both functions, entries joined by commas; unset: calls from anywhere. */
  readonly allowedSourceIps: string | undefined;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  readonly throttlingRateLimit: number;
  readonly throttlingBurstLimit: number;
  readonly logRetentionDays: (typeof LOG_RETENTION_DAYS)[number];
  readonly bundleAwsSdk: boolean;
  readonly storeExtension: boolean;
  readonly keepWarmMinutes: number;
  readonly guards: GuardSettings;
  /** `CLOSE_UNPROTECTED` of the webhooks and T-Invest's follow-up (docs/contract.md#protection). */
  readonly closeUnprotected: boolean;
}

/**
 * Context keys a user might reach for to pass a secret value. They are refused, never read: secret values go into
 * Secrets Manager with the command shown.
 */
export const SECRET_VALUE_KEYS: Readonly<Record<string, string>> = {
  webhookSecret: setCommand('webhook-secret'),
  alorRefreshToken: setCommand('alor-refresh-token'),
  tinkoffToken: setCommand('tinkoff-token'),
  telegramBotToken: setCommand('telegram-bot-token'),
};

function setCommand(name: (typeof STORED_SECRETS)[number]): string {
  return `npm run secrets -- set ${name}`;
}

/** Reads one context value; `undefined` when the key is not set. */
export type ContextReader = (key: string) => unknown;

/**
 * Builds the typed configuration from context, applying {@link CONTEXT_DEFAULTS}.
 *
 * Context given on the command line (`-c key=value`) arrives as a string, so numbers and booleans are accepted
 * both as JSON values and as their string spelling.
 *
 * @throws ConfigError when a value is present but unusable.
 */
export function readConfig(get: ContextReader): WebhooksConfig {
  for (const [key, command] of Object.entries(SECRET_VALUE_KEYS)) {
    if (get(key) !== undefined) {
      throw new ConfigError(
        `Context "${key}" would put a secret value into cdk.json/cdk.context.json and the cloud assembly; remove it and run \`${command}\` instead`,
      );
    }
  }
  const names = resourceNames(get);

  const timeoutSeconds = integer(
    get,
    'timeoutSeconds',
    CONTEXT_DEFAULTS.timeoutSeconds,
    1,
    API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS - 1,
  );
  const brokerTimeoutMs = integer(get, 'brokerTimeoutMs', CONTEXT_DEFAULTS.brokerTimeoutMs, 100, MAX_BROKER_TIMEOUT_MS);
  if (brokerTimeoutMs >= timeoutSeconds * 1000) {
    throw new ConfigError(
      `Context "brokerTimeoutMs" (${brokerTimeoutMs}) must be below the function timeout "timeoutSeconds" (${timeoutSeconds} s)`,
    );
  }
  const throttlingRateLimit = integer(get, 'throttlingRateLimit', CONTEXT_DEFAULTS.throttlingRateLimit, 1, 10_000);
  const throttlingBurstLimit = integer(get, 'throttlingBurstLimit', CONTEXT_DEFAULTS.throttlingBurstLimit, 1, 5_000);

  const account = checkedString(
    get,
    'account',
    z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit AWS account id')),
  );
  const region = optionalString(get, 'region');
  const tinkoffApi = oneOf(get, 'tinkoffApi', TINKOFF_APIS, CONTEXT_DEFAULTS.tinkoffApi);
  const guards = readGuards(get, names.killSwitch);
  const readingGuard =
    guards.checkTradingStatus ||
    guards.maxPositionLots > 0 ||
    guards.maxOrderRub > 0 ||
    guards.dailyLossLimit !== undefined;
  if (tinkoffApi === 'v1' && readingGuard) {
    throw new ConfigError(
      'Context "checkTradingStatus", "maxPositionLots", "maxOrderRub" and "dailyLossLimit" read the broker: they need "tinkoffApi" v2',
    );
  }

  // A stack name CloudFormation takes, short enough to name T-Invest's follow-up queue after it (80 characters).
  const stackName = checkedString(
    get,
    'stackName',
    z
      .string()
      .check(
        z.regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, 'must start with a letter and hold at most 64 letters, digits and "-"'),
      ),
    CONTEXT_DEFAULTS.stackName,
  );

  return {
    stackName,
    env: { ...(account === undefined ? {} : { account }), ...(region === undefined ? {} : { region }) },
    webhookSecret: secretRef(get, 'webhookSecretName', names.webhookSecret),
    alorRefreshToken: secretRef(get, 'alorRefreshTokenSecretName', names.alorRefreshToken),
    tinkoffToken: secretRef(get, 'tinkoffTokenSecretName', names.tinkoffToken),
    alorPortfolio: parameterRef(get, 'alorPortfolioParameterName', 'alorPortfolio', names.alorPortfolio),
    tinkoffAccountId: parameterRef(get, 'tinkoffAccountIdParameterName', 'tinkoffAccountId', names.tinkoffAccountId),
    alorExchange: oneOf(get, 'alorExchange', ALOR_EXCHANGES, CONTEXT_DEFAULTS.alorExchange),
    alorOauthUrl: checkedString(get, 'alorOauthUrl', httpsUrlWithoutCredentials),
    alorApiUrl: checkedString(get, 'alorApiUrl', httpsUrlWithoutCredentials),
    tinkoffApi,
    tinkoffApiUrl: checkedString(get, 'tinkoffApiUrl', httpsUrlWithoutCredentials),
    tinkoffClassCode: checkedString(get, 'tinkoffClassCode', classCode),
    brokerTimeoutMs,
    dryRun: boolean(get, 'dryRun', CONTEXT_DEFAULTS.dryRun),
    allowedSourceIps: sourceAllowList(get, 'allowedSourceIps'),
    memorySize: integer(get, 'memorySize', CONTEXT_DEFAULTS.memorySize, 128, 10_240),
    timeoutSeconds,
    throttlingRateLimit,
    throttlingBurstLimit,
    logRetentionDays: oneOf(get, 'logRetentionDays', LOG_RETENTION_DAYS, CONTEXT_DEFAULTS.logRetentionDays, Number),
    bundleAwsSdk: boolean(get, 'bundleAwsSdk', CONTEXT_DEFAULTS.bundleAwsSdk),
    storeExtension: boolean(get, 'storeExtension', CONTEXT_DEFAULTS.storeExtension),
    keepWarmMinutes: integer(get, 'keepWarmMinutes', CONTEXT_DEFAULTS.keepWarmMinutes, 0, MAX_KEEP_WARM_MINUTES),
    guards,
    closeUnprotected: boolean(get, 'closeUnprotected', CONTEXT_DEFAULTS.closeUnprotected),
  };
}

/** The guards from context, each checked as the functions check its variable. */
function readGuards(get: ContextReader, killSwitchParameter: string): GuardSettings {
  const defaults = GUARD_CONTEXT_DEFAULTS;
  const dailyLossText = checkedString(get, 'dailyLossLimit', dailyLossLimit, defaults.dailyLossLimit);
  return {
    killSwitchParameter: boolean(get, 'killSwitch', defaults.killSwitch) ? killSwitchParameter : undefined,
    killSwitchTtlSeconds: integer(
      get,
      'killSwitchTtlSeconds',
      defaults.killSwitchTtlSeconds,
      1,
      MAX_KILL_SWITCH_TTL_SECONDS,
    ),
    signalMaxAgeSeconds: integer(get, 'signalMaxAgeSeconds', defaults.signalMaxAgeSeconds, 0, MAX_SIGNAL_AGE_SECONDS),
    checkTradingStatus: boolean(get, 'checkTradingStatus', defaults.checkTradingStatus),
    maxLotsPerOrder: integer(get, 'maxLotsPerOrder', defaults.maxLotsPerOrder, 1, MAX_LOTS),
    maxPositionLots: integer(get, 'maxPositionLots', defaults.maxPositionLots, 0, MAX_LOTS),
    maxOrderRub: integer(get, 'maxOrderRub', defaults.maxOrderRub, 0, MAX_ORDER_RUB),
    maxOrdersPerDay: integer(get, 'maxOrdersPerDay', defaults.maxOrdersPerDay, 0, MAX_ORDERS_PER_DAY_LIMIT),
    dailyLossLimit: dailyLossText === '' || dailyLossText === '0' ? undefined : dailyLossText,
  };
}

/** The names of the stored secrets and parameters, from context `resourcePrefix`. */
function resourceNames(get: ContextReader): ReturnType<typeof storeNames> {
  const resourcePrefix = checkedString(
    get,
    'resourcePrefix',
    z
      .string()
      .check(
        z.regex(
          /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
          'must start with a letter or digit and contain only letters, digits, "_", "." and "-"',
        ),
      ),
    CONTEXT_DEFAULTS.resourcePrefix,
  );
  return storeNames(resourcePrefix);
}

/** The context keys of the Telegram messages (docs/telegram.md#settings), with their defaults. */
export const NOTIFY_CONTEXT_DEFAULTS = {
  /** `NOTIFY_LANGUAGE`: `ru` or `en`. */
  notifyLanguage: DEFAULT_NOTIFY_LANGUAGE,
  /** `NOTIFY_KINDS`: what the trader hears about, a comma list. */
  notifyKinds: DEFAULT_NOTIFY_KINDS.join(','),
  /** `FOLLOW_UP_DELAY_SECONDS`: how long after placing an order it is looked up at the broker. */
  followUpDelaySeconds: DEFAULT_FOLLOW_UP_DELAY_SECONDS,
  /**
   * An e-mail address that also receives every alarm (a function that timed out, failed to start, failed or was
   * throttled; messages waiting in a dead-letter queue; the notifier's own failures), so that a broken Telegram setup
   * is not the only witness. Empty: alarms go to Telegram only. AWS mails a confirmation link first.
   */
  alarmEmail: '',
} as const;

/** The notifier's part of the deployment: where the bot token and chat id are stored, and the message settings. */
export interface NotifyConfig {
  readonly telegramBotToken: SecretRef;
  readonly telegramChatId: ParameterRef;
  readonly language: NotifyLanguage;
  readonly kinds: readonly NotifyKind[];
  readonly followUpDelaySeconds: number;
  /** Where the alarms are also e-mailed; unset: nowhere but Telegram. */
  readonly alarmEmail: string | undefined;
}

/**
 * The notifier's configuration from context, beside {@link readConfig} (same prefix, same rules).
 *
 * @throws ConfigError when a value is present but unusable.
 */
export function readNotifyConfig(get: ContextReader): NotifyConfig {
  const names = resourceNames(get);
  const kinds = notifyKinds.parse(
    checkedString(
      get,
      'notifyKinds',
      notifyKinds,
      NOTIFY_CONTEXT_DEFAULTS.notifyKinds,
      `must be a comma list of ${NOTIFY_KINDS.join(', ')}`,
    ),
  );
  return {
    telegramBotToken: secretRef(get, 'telegramBotTokenSecretName', names.telegramBotToken),
    telegramChatId: parameterRef(get, 'telegramChatIdParameterName', 'telegramChatId', names.telegramChatId),
    language: oneOf(get, 'notifyLanguage', NOTIFY_LANGUAGES, NOTIFY_CONTEXT_DEFAULTS.notifyLanguage),
    kinds,
    followUpDelaySeconds: integer(
      get,
      'followUpDelaySeconds',
      NOTIFY_CONTEXT_DEFAULTS.followUpDelaySeconds,
      0,
      MAX_FOLLOW_UP_DELAY_SECONDS,
    ),
    alarmEmail: emailAddress(get, 'alarmEmail'),
  };
}

/** One e-mail address, as SNS takes it for an e-mail subscription. */
function emailAddress(get: ContextReader, key: string): string | undefined {
  return checkedString(
    get,
    key,
    z.string().check(z.maxLength(254), z.regex(/^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>".]+$/)),
    undefined,
    'must be one e-mail address, such as trader@example.com',
  );
}

/**
 * A context value that must be a string: unset (`undefined`, `null`, `''`) is `undefined`, a string is trimmed.
 */
function optionalString(get: ContextReader, key: string): string | undefined {
  const value = get(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string')
    throw new ConfigError(`Context "${key}" must be a string; got ${JSON.stringify(value)}`);
  return value.trim();
}

/**
 * A string ({@link optionalString}), or `fallback`, that `rule` accepts; the text is kept as written (a rule only
 * judges it). The message names the key, the rule (its own words, or `ruleText`) and the text.
 */
function checkedString<Fallback extends string | undefined = undefined>(
  get: ContextReader,
  key: string,
  rule: z.ZodMiniType,
  fallback?: Fallback,
  ruleText?: string,
): string | Fallback {
  const value = optionalString(get, key) ?? fallback;
  if (value === undefined) return value as Fallback;
  const result = rule.safeParse(value);
  if (!result.success) {
    throw new ConfigError(`Context "${key}" ${ruleText ?? result.error.issues[0]?.message}; got "${value}"`);
  }
  return value;
}

/**
 * A context value of any JSON type through `rule`: unset (`undefined`, `null`, `''`) is `fallback`; a value it
 * refuses is named as given.
 */
function typedValue<T>(get: ContextReader, key: string, rule: z.ZodMiniType<T>, fallback: T, ruleText: string): T {
  const raw = get(key);
  if (raw === undefined || raw === null || raw === '') return fallback;
  const result = rule.safeParse(raw);
  if (!result.success) throw new ConfigError(`Context "${key}" ${ruleText}; got ${JSON.stringify(raw)}`);
  return result.data;
}

/** A number, or its digits as `-c key=value` gives them (an optional `-`, spaces around). */
const contextNumber = z.union([
  z.number(),
  z.pipe(
    z.string().check(z.regex(/^\s*-?\d+\s*$/)),
    z.transform((text: string) => Number(text)),
  ),
]);

function integer(get: ContextReader, key: string, fallback: number, min: number, max: number): number {
  const rule = z.pipe(contextNumber, z.int().check(z.gte(min), z.lte(max)));
  return typedValue(get, key, rule, fallback, `must be an integer from ${min} to ${max}`);
}

/** `true` or `false`, as JSON or as the word. */
const contextBoolean = z.union([
  z.boolean(),
  z.pipe(
    z.enum(['true', 'false']),
    z.transform((word) => word === 'true'),
  ),
]);

function boolean(get: ContextReader, key: string, fallback: boolean): boolean {
  return typedValue(get, key, contextBoolean, fallback, 'must be true or false');
}

/** One of `allowed`; a string is trimmed and read by `parse` first (`Number` for a list of numbers). */
function oneOf<T extends string | number>(
  get: ContextReader,
  key: string,
  allowed: readonly T[],
  fallback: T,
  parse: (raw: string) => unknown = (raw) => raw,
): T {
  const rule = z.pipe(
    z.transform((raw: unknown) => (typeof raw === 'string' ? parse(raw.trim()) : raw)),
    z.literal(allowed),
  ) as unknown as z.ZodMiniType<T>;
  return typedValue(get, key, rule, fallback, `must be one of ${allowed.join(', ')}`);
}

/** A list of addresses, ranges and `tradingview`: one string (commas or spaces between entries) or an array of them. */
function sourceAllowList(get: ContextReader, key: string): string | undefined {
  const raw = get(key);
  const entries = z.optional(z.nullable(z.union([z.string(), z.array(z.string())]))).safeParse(raw);
  if (!entries.success) {
    throw new ConfigError(`Context "${key}" must be a string or a list of strings; got ${JSON.stringify(raw)}`);
  }
  const text = [entries.data ?? []]
    .flat()
    .flatMap((entry) => entry.split(/[\s,]+/))
    .filter((entry) => entry !== '')
    .join(',');
  const checked = sourceAllowListRule.safeParse(text);
  if (!checked.success) {
    throw new ConfigError(`Context "${key}": ${checked.error.issues[0]?.message}; got ${JSON.stringify(raw)}`);
  }
  return text === '' ? undefined : text;
}

function secretRef(get: ContextReader, nameKey: string, defaultName: string): SecretRef {
  const name = checkedString(
    get,
    nameKey,
    z
      .string()
      .check(
        z.regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'must be a Secrets Manager secret name (letters, digits, /_+=.@-)'),
      ),
  );
  return name === undefined ? { name: defaultName, created: true } : { name, created: false };
}

function parameterRef(get: ContextReader, nameKey: string, valueKey: string, defaultName: string): ParameterRef {
  const name = checkedString(
    get,
    nameKey,
    ssmParameterName,
    defaultName,
    'must be an SSM parameter name starting with "/"',
  );
  const value = optionalString(get, valueKey);
  // Not quoted back, unlike the other values: it is an account's id.
  if (value !== undefined && !z.string().check(z.regex(/^\S*$/)).safeParse(value).success) {
    throw new ConfigError(`Context "${valueKey}" must not contain whitespace`);
  }
  return { name, value };
}

/** How a function's environment names its secrets: by ARN in the stack, by name for `npm run preflight -- --deployed`. */
export interface SecretIds {
  readonly webhookSecret: string;
  /** The broker's token: Alor's refresh token, T-Invest's trading token. */
  readonly credential: string;
}

/**
 * The environment the stack gives a broker's function: secret and parameter references and the settings from context,
 * never a value. `npm run preflight -- --deployed` loads the same environment to check what the functions will use.
 */
export function functionEnvironment(
  config: WebhooksConfig,
  broker: Broker,
  secrets: SecretIds,
): Record<string, string> {
  return {
    [ENV.webhookSecretId]: secrets.webhookSecret,
    [ENV.dryRun]: String(config.dryRun),
    ...optional(ENV.allowedSourceIps, config.allowedSourceIps),
    ...guardEnvironment(config.guards),
    ...brokerEnvironment(config, broker, secrets.credential),
  };
}

/** The guards' variables (docs/contract.md#configuration): a guard that is off is left out. */
function guardEnvironment(guards: GuardSettings): Record<string, string> {
  const limit = (name: string, value: number) => (value > 0 ? { [name]: String(value) } : {});
  return {
    ...optional(ENV.killSwitchParameter, guards.killSwitchParameter),
    ...(guards.killSwitchParameter === undefined
      ? {}
      : { [ENV.killSwitchTtlSeconds]: String(guards.killSwitchTtlSeconds) }),
    [ENV.signalMaxAgeSeconds]: String(guards.signalMaxAgeSeconds),
    ...(guards.checkTradingStatus ? { [ENV.checkTradingStatus]: 'true' } : {}),
    [ENV.maxLotsPerOrder]: String(guards.maxLotsPerOrder),
    ...limit(ENV.maxPositionLots, guards.maxPositionLots),
    ...limit(ENV.maxOrderRub, guards.maxOrderRub),
    ...limit(ENV.maxOrdersPerDay, guards.maxOrdersPerDay),
    ...optional(ENV.dailyLossLimit, guards.dailyLossLimit),
  };
}

/**
 * The broker's part of {@link functionEnvironment}: its settings, token and account. The broker's follow-up function
 * gets only this part (it reads no webhook secret and answers no caller).
 */
export function brokerEnvironment(config: WebhooksConfig, broker: Broker, credential: string): Record<string, string> {
  const timeout = {
    [ENV.brokerTimeoutMs]: String(config.brokerTimeoutMs),
    [ENV.closeUnprotected]: String(config.closeUnprotected),
  };
  if (broker === 'alor') {
    return {
      ...timeout,
      [ENV.alorRefreshTokenSecretId]: credential,
      [ENV.alorPortfolioParameter]: config.alorPortfolio.name,
      [ENV.alorExchange]: config.alorExchange,
      ...optional(ENV.alorOauthUrl, config.alorOauthUrl),
      ...optional(ENV.alorApiUrl, config.alorApiUrl),
    };
  }
  return {
    ...timeout,
    [ENV.tinkoffTokenSecretId]: credential,
    [ENV.tinkoffAccountIdParameter]: config.tinkoffAccountId.name,
    [ENV.tinkoffApi]: config.tinkoffApi,
    ...optional(ENV.tinkoffApiUrl, config.tinkoffApiUrl),
    ...optional(ENV.tinkoffClassCode, config.tinkoffClassCode),
  };
}

function optional(name: string, value: string | undefined): Record<string, string> {
  return value === undefined ? {} : { [name]: value };
}
