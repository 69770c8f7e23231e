import type { SourceRange } from './auth/source-allow-list.ts';
import { ConfigError } from './config-error.ts';
import {
  type DailyLossLimit,
  DEFAULT_BROKER_TIMEOUT_MS,
  DEFAULT_KILL_SWITCH_TTL_SECONDS,
  DEFAULT_MAX_LOTS_PER_ORDER,
  DEFAULT_SECRETS_TTL_MS,
  DEFAULT_SIGNAL_MAX_AGE_SECONDS,
  ENV,
  MAX_BROKER_TIMEOUT_MS,
  MAX_KILL_SWITCH_TTL_SECONDS,
  MAX_ORDER_RUB,
  MAX_ORDERS_PER_DAY_LIMIT,
  MAX_SIGNAL_AGE_SECONDS,
} from './facts.ts';
import { MAX_LOTS } from './http/inbound/payload.ts';
import { baseUrl as baseUrlRule, dailyLossLimit, sourceAllowList, ssmParameterName } from './settings-rules.ts';
import type { StoreExtension } from './store/extension.ts';
import * as z from './zod.ts';

/**
 * Configuration is parsed once per container from the environment, into a typed object that handlers
 * receive and tests build. A bad value fails the cold start with a message naming the variable. What every function
 * reads is here; each broker's own settings are in its module (`config.ts` of shared/brokers/alor/ and
 * shared/brokers/tinkoff/), the notifier's in shared/notify/config.ts.
 */

/** Where a secret or identifier comes from: a store reference (deployed), a plain value (local runs, tests), or nowhere. */
export type ValueSource =
  | { readonly kind: 'secret'; readonly id: string }
  | { readonly kind: 'parameter'; readonly name: string }
  | { readonly kind: 'plain'; readonly value: string }
  | { readonly kind: 'unset' };

export const optionalText = z.pipe(
  z.optional(z.string()),
  z.transform((value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value)),
);

/** An unset variable, or one set to `''`: both mean "not given". */
export const emptyAsUnset = z.pipe(
  z.literal(''),
  z.transform(() => undefined),
);

/** A service's base URL (shared/settings-rules.ts); unset or `''` is `undefined`. */
export const baseUrl = z.union([z.optional(baseUrlRule), emptyAsUnset]);

/** How the environment spells a flag: `true`/`false`, `1`/`0`; unset or `''` is not given. */
const flagText = z.optional(z.enum(['true', 'false', '1', '0', '']));

const booleanFlag = z.pipe(
  flagText,
  z.transform((value) => value === 'true' || value === '1'),
);

/** A flag that may be left unset (`undefined`, or `''`): the reader knows its default. */
const optionalFlag = z.pipe(
  flagText,
  z.transform((value) => (value === undefined || value === '' ? undefined : value === 'true' || value === '1')),
);

/** A whole number written in decimal digits, from `min` to `max`; unset or `''` is `undefined`. */
const wholeNumber = (rule: string, min: number, max: number) =>
  z.pipe(
    z.pipe(
      z.optional(z.string().check(z.regex(/^\d*$/, rule))),
      z.transform((digits: string | undefined) => (digits ? Number(digits) : undefined)),
    ),
    z.optional(z.int().check(z.gte(min), z.lte(max))),
  );

export function source(
  storeRef: string | undefined,
  plainValue: string | undefined,
  kind: 'secret' | 'parameter',
): ValueSource {
  if (storeRef !== undefined) return kind === 'secret' ? { kind, id: storeRef } : { kind, name: storeRef };
  if (plainValue !== undefined) return { kind: 'plain', value: plainValue };
  return { kind: 'unset' };
}

/** A whole number in `range` with a default: unset or `''` is `fallback`. */
export const wholeNumberOr = (rule: string, min: number, max: number, fallback: number) =>
  z.pipe(
    wholeNumber(rule, min, max),
    z.transform((value: number | undefined) => value ?? fallback),
  );

/** A limit (its range starts at 0): unset, `''` or `0` is no limit. */
const optionalLimit = (rule: string, max: number) =>
  z.pipe(
    wholeNumber(rule, 0, max),
    z.transform((value: number | undefined) => (value === undefined || value === 0 ? undefined : value)),
  );

/** `on`/`off` (also `true`/`false`, `1`/`0`), any case; `undefined` when the text is none of them. */
export function switchState(text: string | undefined): boolean | undefined {
  const value = (text ?? '').trim().toLowerCase();
  if (['on', 'true', '1'].includes(value)) return true;
  if (['off', 'false', '0', ''].includes(value)) return false;
  return undefined;
}

const killSwitchValue = z.pipe(
  z.optional(z.string()),
  z.transform((value, ctx) => {
    if (value !== undefined && switchState(value) === undefined) {
      ctx.issues.push({ code: 'custom', message: 'must be on or off', input: value });
      return z.NEVER;
    }
    return value;
  }),
);

const MILLISECONDS_RULE = 'must be a whole number of milliseconds';

export const CommonEnvSchema = z.object({
  [ENV.webhookSecretId]: optionalText,
  [ENV.webhookSecret]: optionalText,
  [ENV.brokerTimeoutMs]: wholeNumberOr(MILLISECONDS_RULE, 1, MAX_BROKER_TIMEOUT_MS, DEFAULT_BROKER_TIMEOUT_MS),
  [ENV.secretsCacheTtlMs]: wholeNumberOr(MILLISECONDS_RULE, 1, 60 * 60_000, DEFAULT_SECRETS_TTL_MS),
  [ENV.dryRun]: booleanFlag,
  [ENV.allowedSourceIps]: sourceAllowList,
  [ENV.storeExtensionPort]: wholeNumber('must be a port number', 1, 65_535),
  [ENV.awsSessionToken]: optionalText,
  [ENV.closeUnprotected]: optionalFlag,
  [ENV.positionLockTable]: z.union([
    z.optional(z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name'))),
    emptyAsUnset,
  ]),
  [ENV.killSwitchParameter]: z.union([z.optional(ssmParameterName), emptyAsUnset]),
  [ENV.killSwitch]: killSwitchValue,
  [ENV.killSwitchTtlSeconds]: wholeNumberOr(
    'must be a whole number of seconds',
    1,
    MAX_KILL_SWITCH_TTL_SECONDS,
    DEFAULT_KILL_SWITCH_TTL_SECONDS,
  ),
  [ENV.signalMaxAgeSeconds]: wholeNumberOr(
    'must be a whole number of seconds',
    0,
    MAX_SIGNAL_AGE_SECONDS,
    DEFAULT_SIGNAL_MAX_AGE_SECONDS,
  ),
  [ENV.checkTradingStatus]: booleanFlag,
  [ENV.maxLotsPerOrder]: wholeNumberOr('must be a whole number of lots', 1, MAX_LOTS, DEFAULT_MAX_LOTS_PER_ORDER),
  [ENV.maxPositionLots]: optionalLimit('must be a whole number of lots', MAX_LOTS),
  [ENV.maxOrderRub]: optionalLimit('must be a whole number of roubles', MAX_ORDER_RUB),
  [ENV.maxOrdersPerDay]: optionalLimit('must be a whole number of orders', MAX_ORDERS_PER_DAY_LIMIT),
  [ENV.dailyLossLimit]: dailyLossLimit,
});

/** Where the kill switch is read: an SSM parameter through the store (deployed), or `KILL_SWITCH` of the process. */
export type KillSwitchSource =
  | { readonly kind: 'parameter'; readonly name: string; readonly ttlMs: number }
  | { readonly kind: 'process' };

/**
 * The guards before an order (docs/contract.md#guards), each a setting: what is unset guards nothing and reads
 * nothing. Only the per-order lot limit has a default.
 */
export type { DailyLossLimit } from './facts.ts';

export interface GuardConfig {
  readonly killSwitch?: KillSwitchSource | undefined;
  /** An entry's `ts` may be this old when it gives no `ttl`; 0: only a `ttl` limits its age. */
  readonly signalMaxAgeMs: number;
  readonly checkTradingStatus: boolean;
  readonly maxLotsPerOrder: number;
  readonly maxPositionLots?: number | undefined;
  readonly maxOrderRub?: number | undefined;
  readonly maxOrdersPerDay?: number | undefined;
  readonly dailyLossLimit?: DailyLossLimit | undefined;
}

export interface CommonConfig {
  readonly webhookSecret: ValueSource;
  readonly brokerTimeoutMs: number;
  readonly secretsCacheTtlMs: number;
  readonly dryRun: boolean;
  /** The addresses a call may come from; unset: any. */
  readonly allowedSources?: readonly SourceRange[] | undefined;
  /** The Parameters and Secrets extension, when the function has its layer; unset: the AWS SDK reads the store. */
  readonly storeExtension?: StoreExtension | undefined;
  /** The position lock's DynamoDB table (docs/contract.md#position-lock); unset: a lock within the process. */
  readonly positionLockTable?: string | undefined;
  readonly guards: GuardConfig;
  /**
   * `CLOSE_UNPROTECTED`: what filled is closed at market when its protection cannot be placed after the retries
   * (docs/contract.md#protection); false leaves it open, with the same urgent message. Unset: true
   * ({@link closesUnprotected}).
   */
  readonly closeUnprotected?: boolean | undefined;
}

/** `CLOSE_UNPROTECTED`, its default (true) applied: a position the signal asked to protect is not left unprotected. */
export function closesUnprotected(config: Pick<CommonConfig, 'closeUnprotected'>): boolean {
  return config.closeUnprotected ?? true;
}

export type Env = Record<string, string | undefined>;

export function parseEnv<T extends z.ZodMiniType>(schema: T, env: Env): z.output<T> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  // Name the variable and the rule, never the value: a misplaced token must not reach the log.
  const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
}

/**
 * The extension asks for the session token; without one (outside Lambda) it could answer nothing. Its address is
 * the loopback IP, not `localhost`: resolving that name costs a DNS lookup on the path of the first store read
 * (docs/performance.md#store-reads), and the extension listens on IPv4 loopback.
 */
function storeExtension(port: number | undefined, token: string | undefined): StoreExtension | undefined {
  return port === undefined || token === undefined ? undefined : { url: `http://127.0.0.1:${port}`, token };
}

export function commonConfig(env: z.output<typeof CommonEnvSchema>): CommonConfig {
  return {
    webhookSecret: source(env[ENV.webhookSecretId], env[ENV.webhookSecret], 'secret'),
    brokerTimeoutMs: env[ENV.brokerTimeoutMs],
    secretsCacheTtlMs: env[ENV.secretsCacheTtlMs],
    dryRun: env[ENV.dryRun],
    allowedSources: env[ENV.allowedSourceIps],
    storeExtension: storeExtension(env[ENV.storeExtensionPort], env[ENV.awsSessionToken]),
    positionLockTable: env[ENV.positionLockTable],
    guards: guardConfig(env),
    closeUnprotected: env[ENV.closeUnprotected],
  };
}

function guardConfig(env: z.output<typeof CommonEnvSchema>): GuardConfig {
  const parameter = env[ENV.killSwitchParameter];
  const ttlMs = env[ENV.killSwitchTtlSeconds] * 1000;
  const killSwitch: KillSwitchSource | undefined =
    parameter !== undefined
      ? { kind: 'parameter', name: parameter, ttlMs }
      : env[ENV.killSwitch] !== undefined
        ? { kind: 'process' }
        : undefined;
  return {
    killSwitch,
    signalMaxAgeMs: env[ENV.signalMaxAgeSeconds] * 1000,
    checkTradingStatus: env[ENV.checkTradingStatus],
    maxLotsPerOrder: env[ENV.maxLotsPerOrder],
    maxPositionLots: env[ENV.maxPositionLots],
    maxOrderRub: env[ENV.maxOrderRub],
    maxOrdersPerDay: env[ENV.maxOrdersPerDay],
    dailyLossLimit: env[ENV.dailyLossLimit],
  };
}

/** Whether a guard that reads the broker (its status, portfolio, prices or positions) is set. */
export function guardsReadBroker(guards: GuardConfig): boolean {
  return (
    guards.checkTradingStatus ||
    guards.maxPositionLots !== undefined ||
    guards.maxOrderRub !== undefined ||
    guards.dailyLossLimit !== undefined
  );
}
