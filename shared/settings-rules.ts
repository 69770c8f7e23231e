import { parseSourceRanges, SOURCE_ENTRY_RULE, type SourceRange } from './auth/source-allow-list.ts';
import {
  DAILY_LOSS_LIMIT_RULE,
  type DailyLossLimit,
  NOTIFY_KINDS,
  type NotifyKind,
  parseDailyLossLimit,
  parseNotifyKinds,
} from './facts.ts';
import * as z from './zod.ts';

/**
 * The rules of the settings, each once, in zod/mini: the functions' environment (shared/config.ts, the brokers'
 * `config.ts`, shared/notify/config.ts) and the CDK context (infra/config.ts) check a value with the same schema.
 * Around a rule each side keeps its own spelling of a value — the environment holds strings only, context holds
 * JSON values or the strings of `-c key=value` — and its own message format. The lists of allowed values
 * (exchanges, APIs, languages, kinds) are in shared/facts.ts.
 *
 * esbuild cannot tell that building a zod schema has no side effect: a rule that not every function reads (through
 * shared/config.ts) is marked pure, so that only the bundles that use it build it.
 */

/** A T-Invest class code (`TQBR`, `SPBXM`), where an order without `f` looks its ticker up. */
export const classCode = /* @__PURE__ */ z
  .string()
  .check(/* @__PURE__ */ z.regex(/^[A-Za-z0-9_]{1,20}$/, 'must be a T-Invest class code such as TQBR'));

/** An SSM parameter name, starting with `/`. */
export const ssmParameterName = z
  .string()
  .check(z.regex(/^\/[A-Za-z0-9_.\-/]{1,1010}$/, 'must be an SSM parameter name'));

/** An http:// or https:// URL: a broker's, Telegram's or a queue's (the local run's servers speak plain http). */
export const httpUrl = z.url({ protocol: /^https?$/ });

/** A service's base URL: an {@link httpUrl} with its trailing slashes trimmed, so that paths are appended to it. */
export const baseUrl = z.pipe(
  httpUrl,
  z.transform((value: string) => value.replace(/\/+$/, '')),
);

/** A URL the deployed stack sets: https only, and no credentials, which would stand in the template as plain text. */
export const httpsUrlWithoutCredentials = /* @__PURE__ */ z.string().check(
  /* @__PURE__ */ z.refine((value: string) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' && url.username === '' && url.password === '';
    } catch {
      return false;
    }
  }, 'must be an https:// URL without credentials'),
);

/** `ALLOWED_SOURCE_IPS`: addresses, ranges and `tradingview`, comma-separated; unset or blank is no check. */
export const sourceAllowList = z.pipe(
  z.optional(z.string()),
  z.transform((value, ctx): readonly SourceRange[] | undefined => {
    if (value === undefined || value.trim() === '') return undefined;
    const parsed = parseSourceRanges(value);
    if (parsed.ok) return parsed.ranges;
    const entries = parsed.invalidEntries.join(', ');
    ctx.issues.push({ code: 'custom', message: `entry ${entries} is not ${SOURCE_ENTRY_RULE}`, input: value });
    return z.NEVER;
  }),
);

/** `DAILY_LOSS_LIMIT`: roubles (`5000`) or a percentage of the portfolio (`2%`); unset, `''` or `0` is none. */
export const dailyLossLimit = z.pipe(
  z.optional(z.string()),
  z.transform((value, ctx): DailyLossLimit | undefined => {
    const limit = parseDailyLossLimit(value ?? '');
    if (limit === 'invalid') {
      ctx.issues.push({ code: 'custom', message: DAILY_LOSS_LIMIT_RULE, input: value });
      return z.NEVER;
    }
    return limit;
  }),
);

/** `NOTIFY_KINDS`: a comma list of kinds, or `all`. */
export const notifyKinds = /* @__PURE__ */ z.pipe(
  /* @__PURE__ */ z.string(),
  /* @__PURE__ */ z.transform((value, ctx): NotifyKind[] => {
    const kinds = parseNotifyKinds(value);
    if (kinds === undefined) {
      ctx.issues.push({
        code: 'custom',
        message: `must be a comma list of ${NOTIFY_KINDS.join(', ')}, or all`,
        input: value,
      });
      return z.NEVER;
    }
    return kinds;
  }),
);
