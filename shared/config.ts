import { parseSourceRanges, SOURCE_ENTRY_RULE, type SourceRange } from './auth/source-allow-list.ts';
import { ConfigError } from './config-error.ts';
import { DEFAULT_BROKER_TIMEOUT_MS, DEFAULT_SECRETS_TTL_MS, ENV, MAX_BROKER_TIMEOUT_MS } from './facts.ts';
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

export const baseUrl = z.union([
  z.optional(
    z.pipe(
      z.url({ protocol: /^https?$/ }),
      z.transform((value: string) => value.replace(/\/+$/, '')),
    ),
  ),
  emptyAsUnset,
]);

const booleanFlag = z.pipe(
  z.optional(z.enum(['true', 'false', '1', '0', ''])),
  z.transform((value) => value === 'true' || value === '1'),
);

/** A flag that may be left unset (`undefined`, or `''`): the reader knows its default. */
const optionalFlag = z.pipe(
  z.optional(z.enum(['true', 'false', '1', '0', ''])),
  z.transform((value) => (value === undefined || value === '' ? undefined : value === 'true' || value === '1')),
);

/** A whole number written in decimal digits, from `min` to `max`; unset or `''` is `undefined`. */
const wholeNumber = (rule: string, min: number, max: number) =>
  z.union([
    z.optional(
      z.pipe(
        z.pipe(
          z.string().check(z.regex(/^\d+$/, rule)),
          z.transform((digits: string) => Number(digits)),
        ),
        z.int().check(z.gte(min), z.lte(max)),
      ),
    ),
    emptyAsUnset,
  ]);

const positiveIntegerMs = (fallback: number, max: number) =>
  z.pipe(
    wholeNumber('must be a whole number of milliseconds', 1, max),
    z.transform((value: number | undefined) => value ?? fallback),
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

/** `ALLOWED_SOURCE_IPS`: unset or empty, no check. */
const sourceRanges = z.pipe(
  z.optional(z.string()),
  z.transform((value, ctx) => {
    if (value === undefined || value.trim() === '') return undefined;
    const parsed = parseSourceRanges(value);
    if (parsed.ok) return parsed.ranges;
    const entries = parsed.invalidEntries.join(', ');
    ctx.issues.push({ code: 'custom', message: `entry ${entries} is not ${SOURCE_ENTRY_RULE}`, input: value });
    return z.NEVER;
  }),
);

export const CommonEnvSchema = z.object({
  [ENV.webhookSecretId]: optionalText,
  [ENV.webhookSecret]: optionalText,
  [ENV.brokerTimeoutMs]: positiveIntegerMs(DEFAULT_BROKER_TIMEOUT_MS, MAX_BROKER_TIMEOUT_MS),
  [ENV.secretsCacheTtlMs]: positiveIntegerMs(DEFAULT_SECRETS_TTL_MS, 60 * 60_000),
  [ENV.dryRun]: booleanFlag,
  [ENV.allowedSourceIps]: sourceRanges,
  [ENV.storeExtensionPort]: wholeNumber('must be a port number', 1, 65_535),
  [ENV.awsSessionToken]: optionalText,
  [ENV.closeUnprotected]: optionalFlag,
  [ENV.positionLockTable]: z.union([
    z.optional(z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be a DynamoDB table name'))),
    emptyAsUnset,
  ]),
});

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
 * the loopback IP, not `localhost`: resolving that name costs a DNS lookup (about 13 ms on a cold process here) on
 * the path of the first store read, and the extension listens on IPv4 loopback.
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
    closeUnprotected: env[ENV.closeUnprotected],
  };
}
