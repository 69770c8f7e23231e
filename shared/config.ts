import * as z from 'zod';

/**
 * Configuration is parsed once per container from the environment, into a typed object that handlers
 * receive and tests build. A bad value fails the cold start with a message naming the variable.
 */

/** Where a secret or identifier comes from: a store reference (deployed), a plain value (local runs, tests), or nowhere. */
export type ValueSource =
  | { readonly kind: 'secret'; readonly id: string }
  | { readonly kind: 'parameter'; readonly name: string }
  | { readonly kind: 'plain'; readonly value: string }
  | { readonly kind: 'unset' };

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value));

const baseUrl = z
  .url({ protocol: /^https?$/ })
  .transform((value) => value.replace(/\/+$/, ''))
  .optional()
  .or(z.literal('').transform(() => undefined));

const booleanFlag = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((value) => value === 'true' || value === '1');

const positiveIntegerMs = (fallback: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number of milliseconds')
    .transform(Number)
    .pipe(z.number().int().min(1).max(max))
    .optional()
    .or(z.literal('').transform(() => undefined))
    .transform((value) => value ?? fallback);

function source(
  storeRef: string | undefined,
  plainValue: string | undefined,
  kind: 'secret' | 'parameter',
): ValueSource {
  if (storeRef !== undefined) return kind === 'secret' ? { kind, id: storeRef } : { kind, name: storeRef };
  if (plainValue !== undefined) return { kind: 'plain', value: plainValue };
  return { kind: 'unset' };
}

/** TradingView gives a webhook 3 s; the broker calls of one request get this much of it. */
export const DEFAULT_BROKER_TIMEOUT_MS = 2500;
/** A rotated secret is picked up within this time. */
export const DEFAULT_SECRETS_TTL_MS = 5 * 60_000;

const CommonEnvSchema = z.object({
  WEBHOOK_SECRET_ID: optionalText,
  WEBHOOK_SECRET: optionalText,
  BROKER_TIMEOUT_MS: positiveIntegerMs(DEFAULT_BROKER_TIMEOUT_MS, 25_000),
  SECRETS_CACHE_TTL_MS: positiveIntegerMs(DEFAULT_SECRETS_TTL_MS, 60 * 60_000),
  DRY_RUN: booleanFlag,
});

const AlorEnvSchema = CommonEnvSchema.extend({
  ALOR_REFRESH_TOKEN_SECRET_ID: optionalText,
  ALOR_REFRESH_TOKEN: optionalText,
  ALOR_PORTFOLIO_PARAMETER: optionalText,
  ALOR_PORTFOLIO: optionalText,
  ALOR_EXCHANGE: z
    .enum(['SPBX', 'MOEX', ''])
    .optional()
    .transform((value) => (value === 'MOEX' ? 'MOEX' : 'SPBX')),
  ALOR_OAUTH_URL: baseUrl,
  ALOR_API_URL: baseUrl,
});

const TinkoffEnvSchema = CommonEnvSchema.extend({
  TINKOFF_TOKEN_SECRET_ID: optionalText,
  TINKOFF_TOKEN: optionalText,
  TINKOFF_ACCOUNT_ID_PARAMETER: optionalText,
  TINKOFF_ACCOUNT_ID: optionalText,
  TINKOFF_API: z
    .enum(['v2', 'v1', ''])
    .optional()
    .transform((value) => (value === 'v1' ? 'v1' : 'v2')),
  TINKOFF_API_URL: baseUrl,
});

export interface CommonConfig {
  readonly webhookSecret: ValueSource;
  readonly brokerTimeoutMs: number;
  readonly secretsCacheTtlMs: number;
  readonly dryRun: boolean;
}

export interface AlorConfig extends CommonConfig {
  readonly broker: 'alor';
  readonly refreshToken: ValueSource;
  readonly portfolio: ValueSource;
  readonly exchange: 'SPBX' | 'MOEX';
  readonly oauthUrl: string;
  readonly apiUrl: string;
}

export interface TinkoffConfig extends CommonConfig {
  readonly broker: 'tinkoff';
  readonly token: ValueSource;
  readonly accountId: ValueSource;
  readonly api: 'v2' | 'v1';
  readonly apiUrl: string;
}

export const ALOR_DEFAULT_OAUTH_URL = 'https://oauth.alor.ru';
export const ALOR_DEFAULT_API_URL = 'https://api.alor.ru';
export const TINKOFF_DEFAULT_API_URL = {
  v2: 'https://invest-public-api.tbank.ru/rest',
  v1: 'https://api-invest.tinkoff.ru',
};

type Env = Record<string, string | undefined>;

function parseEnv<T extends z.ZodType>(schema: T, env: Env): z.output<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  // Name the variable and the rule, never the value: a misplaced token must not reach the log.
  const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
}

function commonConfig(env: z.output<typeof CommonEnvSchema>): CommonConfig {
  return {
    webhookSecret: source(env.WEBHOOK_SECRET_ID, env.WEBHOOK_SECRET, 'secret'),
    brokerTimeoutMs: env.BROKER_TIMEOUT_MS,
    secretsCacheTtlMs: env.SECRETS_CACHE_TTL_MS,
    dryRun: env.DRY_RUN,
  };
}

export function loadAlorConfig(env: Env = process.env): AlorConfig {
  const parsed = parseEnv(AlorEnvSchema, env);
  return {
    broker: 'alor',
    ...commonConfig(parsed),
    refreshToken: source(parsed.ALOR_REFRESH_TOKEN_SECRET_ID, parsed.ALOR_REFRESH_TOKEN, 'secret'),
    portfolio: source(parsed.ALOR_PORTFOLIO_PARAMETER, parsed.ALOR_PORTFOLIO, 'parameter'),
    exchange: parsed.ALOR_EXCHANGE,
    oauthUrl: parsed.ALOR_OAUTH_URL ?? ALOR_DEFAULT_OAUTH_URL,
    apiUrl: parsed.ALOR_API_URL ?? ALOR_DEFAULT_API_URL,
  };
}

export function loadTinkoffConfig(env: Env = process.env): TinkoffConfig {
  const parsed = parseEnv(TinkoffEnvSchema, env);
  return {
    broker: 'tinkoff',
    ...commonConfig(parsed),
    token: source(parsed.TINKOFF_TOKEN_SECRET_ID, parsed.TINKOFF_TOKEN, 'secret'),
    accountId: source(parsed.TINKOFF_ACCOUNT_ID_PARAMETER, parsed.TINKOFF_ACCOUNT_ID, 'parameter'),
    api: parsed.TINKOFF_API,
    apiUrl: parsed.TINKOFF_API_URL ?? TINKOFF_DEFAULT_API_URL[parsed.TINKOFF_API],
  };
}
