import { isZeroDecimal, numberToCanonicalDecimal, toCanonicalDecimal } from '../../decimal.ts';
import { SIGNAL_EXCHANGES, type SignalExchange } from '../../facts.ts';
import * as z from '../../zod.ts';

/**
 * The webhook body: `{ check }` or `{ t, p, v, d, f, id }`; `t` may name its exchange as TradingView writes it
 * (`MOEX:SBER`). Decoding (base64, UTF-8, JSON, limits) is part of
 * parsing, so "not JSON" and "wrong shape" share one 400 path. Unknown keys are stripped (the widget may add
 * fields), but keys that could reach an object prototype are refused outright.
 */

export const MAX_BODY_BYTES = 16 * 1024;
const MAX_JSON_DEPTH = 16;
/** Alor's quantity is an int32. */
export const MAX_LOTS = 2_147_483_647;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The original read bodies with `EJSON.parse`, so numbers may come wrapped: `{"$numberInt":"5"}`. */
const EJSON_NUMBER_KEYS = ['$numberInt', '$numberLong', '$numberDouble', '$numberDecimal'] as const;

/** `{"<key>": "<a number as text>"}`, exactly that one key, as its text. */
const ejsonNumberWrapper = (key: (typeof EJSON_NUMBER_KEYS)[number]) =>
  z.pipe(
    z.strictObject({ [key]: z.string() }),
    z.transform((wrapper) => wrapper[key]),
  );

const EjsonNumberSchema = z.union(EJSON_NUMBER_KEYS.map(ejsonNumberWrapper));

/** A number, a numeric string or an EJSON wrapper, as a canonical decimal string. */
const DecimalSchema = z.pipe(
  z.union([z.number(), z.string(), EjsonNumberSchema]),
  z.transform((value: string | number, ctx) => {
    const decimal = typeof value === 'number' ? numberToCanonicalDecimal(value) : toCanonicalDecimal(value);
    if (decimal === undefined || isZeroDecimal(decimal)) {
      ctx.issues.push({ code: 'custom', message: 'must be a finite number above zero', input: value });
      return z.NEVER;
    }
    return decimal;
  }),
);

const TICKER = /^[A-Za-z0-9][A-Za-z0-9._@+\- ]{0,49}$/;
const TICKER_RULE = 'must be 1-50 Latin letters, digits or ._@+- and spaces';

/** `MOEX:` of `MOEX:SBER`: TradingView's `{{exchange}}`, which may carry a delayed-data suffix (`MOEX_DLY`, `MOEX_DL`). */
const EXCHANGE_PREFIX = /^([A-Za-z][A-Za-z0-9_]{0,19}):/;
const DELAYED_DATA_SUFFIX = /_DLY?$/;

/** The instrument a signal names: a ticker, and the exchange when `t` gives one. */
export interface SignalInstrument {
  readonly ticker: string;
  readonly exchange?: SignalExchange;
}

/**
 * `t`: a ticker (`SBER`), or `EXCHANGE:TICKER` (`MOEX:SBER`, `MOEX_DLY:SBER`). An exchange neither broker trades on
 * is refused: the order would otherwise go to the configured exchange, which is not the one the signal named. The
 * reason names the rule, never the value.
 */
export const InstrumentSchema = z.pipe(
  z.string(),
  z.transform((value: string, ctx): SignalInstrument => {
    const prefix = EXCHANGE_PREFIX.exec(value);
    const ticker = prefix === null ? value : value.slice(prefix[0].length);
    if (!TICKER.test(ticker)) {
      ctx.issues.push({ code: 'custom', message: TICKER_RULE, input: value });
      return z.NEVER;
    }
    if (prefix === null) return { ticker };
    const named = (prefix[1] ?? '').toUpperCase().replace(DELAYED_DATA_SUFFIX, '');
    const exchange = SIGNAL_EXCHANGES.find((candidate) => candidate === named);
    if (exchange === undefined) {
      const message = `the exchange must be one of ${SIGNAL_EXCHANGES.join(', ')}`;
      ctx.issues.push({ code: 'custom', message, input: value });
      return z.NEVER;
    }
    return { ticker, exchange };
  }),
);

export const PriceSchema = DecimalSchema;

export const LotsSchema = z.pipe(
  DecimalSchema,
  z.transform((decimal: string, ctx) => {
    const lots = Number(decimal);
    if (decimal.includes('.') || lots > MAX_LOTS) {
      ctx.issues.push({ code: 'custom', message: `must be a whole number from 1 to ${MAX_LOTS}`, input: decimal });
      return z.NEVER;
    }
    return lots;
  }),
);

export const SideSchema = z.pipe(
  z.pipe(
    z.string(),
    z.transform((value: string) => value.toLowerCase()),
  ),
  z.enum(['buy', 'sell']),
);

/** Caller's idempotency key (docs/contract.md#idempotency): at most 64 printable ASCII characters. */
export const IdempotencyKeySchema = z
  .string()
  .check(z.regex(/^[\x20-\x7e]{1,64}$/, 'must be 1-64 printable characters'));

/** The order's fields every broker reads alike; the `order.ts` of each broker's module adds what it reads of `f`. */
export const OrderFields = {
  t: InstrumentSchema,
  p: PriceSchema,
  v: LotsSchema,
  d: SideSchema,
  id: z.optional(IdempotencyKeySchema),
};

export type ParsedBody<TOrder> = { kind: 'check' } | { kind: 'order'; order: TOrder };
export type ParseResult<T> = { success: true; data: T } | { success: false; issues: string[] };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const REPLACEMENT_CHARACTER = '\uFFFD';

type JsonTextProblem = 'nested too deeply' | 'repeated key';

/** What one pass over the text finds before JSON.parse sees it. */
interface JsonTextScan {
  readonly problem?: JsonTextProblem;
  /** The first key that could reach an object prototype; refused once the text is known to be JSON. */
  readonly forbiddenKey?: string;
}

/** A key as JSON reads it, so `"d"` and `"\u0064"` are the same key. */
function decodeKey(rawKey: string): string {
  try {
    return JSON.parse(`"${rawKey}"`) as string;
  } catch {
    return rawKey;
  }
}

/**
 * One linear pass over the text: nesting beyond the limit, a key repeated within one object (JSON.parse keeps the
 * last of repeated keys, so a side or a price must never depend on that accident), and keys that could reach an
 * object prototype. Found here rather than by a JSON.parse reviver, which called back for every value.
 */
function scanJsonText(text: string): JsonTextScan {
  const keysOfOpenObjects: (Set<string> | undefined)[] = [];
  let expectKey = false;
  let forbiddenKey: string | undefined;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === '"') {
      const start = index + 1;
      let escaped = false;
      for (index = start; index < text.length && text[index] !== '"'; index++) {
        if (text[index] === '\\') {
          escaped = true;
          index++;
        }
      }
      const keys = keysOfOpenObjects.at(-1);
      if (expectKey && keys !== undefined) {
        const rawKey = text.slice(start, index);
        const key = escaped ? decodeKey(rawKey) : rawKey;
        if (keys.has(key)) return { problem: 'repeated key' };
        keys.add(key);
        if (forbiddenKey === undefined && FORBIDDEN_KEYS.has(key)) forbiddenKey = key;
      }
      expectKey = false;
    } else if (char === '{' || char === '[') {
      keysOfOpenObjects.push(char === '{' ? new Set() : undefined);
      if (keysOfOpenObjects.length > MAX_JSON_DEPTH) return { problem: 'nested too deeply' };
      expectKey = char === '{';
    } else if (char === '}' || char === ']') {
      keysOfOpenObjects.pop();
      expectKey = false;
    } else if (char === ',') {
      expectKey = keysOfOpenObjects.at(-1) !== undefined;
    }
  }
  return forbiddenKey === undefined ? {} : { forbiddenKey };
}

/** Decodes and parses the raw body bytes into a JSON value, or explains why it is not acceptable. */
export function decodeJsonBody(rawBody: Uint8Array): ParseResult<unknown> {
  if (rawBody.byteLength === 0) return { success: false, issues: ['body: empty'] };
  if (rawBody.byteLength > MAX_BODY_BYTES) return { success: false, issues: ['body: larger than 16 KiB'] };
  let text: string;
  try {
    text = utf8.decode(rawBody);
  } catch {
    return { success: false, issues: ['body: not UTF-8'] };
  }
  // API Gateway hands a text content type's body over as a string, each byte that was not UTF-8 replaced by U+FFFD:
  // that mark is all the function sees of them, so it is refused as they would be, whatever the content type.
  if (text.includes(REPLACEMENT_CHARACTER)) return { success: false, issues: ['body: not UTF-8'] };
  const scan = scanJsonText(text);
  if (scan.problem !== undefined) return { success: false, issues: [`body: ${scan.problem}`] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { success: false, issues: ['body: not JSON'] };
  }
  if (scan.forbiddenKey !== undefined) return { success: false, issues: [`body: forbidden key ${scan.forbiddenKey}`] };
  return { success: true, data: value };
}

export function isCheck(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { check?: unknown }).check === true;
}

const MAX_REPORTED_ISSUES = 8;
const MAX_ISSUE_LENGTH = 100;

/**
 * Field paths and reasons, never the values themselves: a payload may hold anything. Unknown key names are
 * the caller's text, so they are counted, not quoted; and the whole report is bounded for the log line.
 */
export function describeIssues(error: z.core.$ZodError): string[] {
  return error.issues.slice(0, MAX_REPORTED_ISSUES).map((issue) => {
    const reason = issue.code === 'unrecognized_keys' ? `${issue.keys.length} unrecognized key(s)` : issue.message;
    const line = `${issue.path.join('.') || 'body'}: ${reason}`;
    return line.length > MAX_ISSUE_LENGTH ? `${line.slice(0, MAX_ISSUE_LENGTH - 1)}…` : line;
  });
}

export function parseWebhookBody<TOrder>(
  rawBody: Uint8Array,
  orderSchema: z.ZodMiniType<TOrder>,
): ParseResult<ParsedBody<TOrder>> {
  return parseDecodedBody(decodeJsonBody(rawBody), orderSchema);
}

/** {@link parseWebhookBody} of a body already decoded by {@link decodeJsonBody}. */
export function parseDecodedBody<TOrder>(
  decoded: ParseResult<unknown>,
  orderSchema: z.ZodMiniType<TOrder>,
): ParseResult<ParsedBody<TOrder>> {
  if (!decoded.success) return decoded;
  if (isCheck(decoded.data)) return { success: true, data: { kind: 'check' } };
  const order = orderSchema.safeParse(decoded.data);
  if (!order.success) return { success: false, issues: describeIssues(order.error) };
  return { success: true, data: { kind: 'order', order: order.data } };
}
