import * as z from 'zod';
import { isZeroDecimal, numberToCanonicalDecimal, toCanonicalDecimal } from './decimal.ts';

/**
 * The webhook body: `{ check }` or `{ t, p, v, d, f, id }`. Decoding (base64, UTF-8, JSON, limits) is part of
 * parsing, so "not JSON" and "wrong shape" share one 400 path. Unknown keys are stripped (the widget may add
 * fields), but keys that could reach an object prototype are refused outright.
 */

export const MAX_BODY_BYTES = 16 * 1024;
const MAX_JSON_DEPTH = 16;
/** Alor's quantity is an int32. */
export const MAX_LOTS = 2_147_483_647;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The original read bodies with `EJSON.parse`, so numbers may come wrapped: `{"$numberInt":"5"}`. */
const EjsonNumberSchema = z.union([
  z.strictObject({ $numberInt: z.string() }).transform((wrapper) => wrapper.$numberInt),
  z.strictObject({ $numberLong: z.string() }).transform((wrapper) => wrapper.$numberLong),
  z.strictObject({ $numberDouble: z.string() }).transform((wrapper) => wrapper.$numberDouble),
  z.strictObject({ $numberDecimal: z.string() }).transform((wrapper) => wrapper.$numberDecimal),
]);

/** A number, a numeric string or an EJSON wrapper, as a canonical decimal string. */
const DecimalSchema = z.union([z.number(), z.string(), EjsonNumberSchema]).transform((value, ctx) => {
  const decimal = typeof value === 'number' ? numberToCanonicalDecimal(value) : toCanonicalDecimal(value);
  if (decimal === undefined || isZeroDecimal(decimal)) {
    ctx.addIssue({ code: 'custom', message: 'must be a finite number above zero' });
    return z.NEVER;
  }
  return decimal;
});

export const TickerSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@+\- ]{0,49}$/, 'must be 1-50 Latin letters, digits or ._@+- and spaces');

export const PriceSchema = DecimalSchema;

export const LotsSchema = DecimalSchema.transform((decimal, ctx) => {
  const lots = Number(decimal);
  if (decimal.includes('.') || lots > MAX_LOTS) {
    ctx.addIssue({ code: 'custom', message: `must be a whole number from 1 to ${MAX_LOTS}` });
    return z.NEVER;
  }
  return lots;
});

export const SideSchema = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(z.enum(['buy', 'sell']));

/** A FIGI (`BBG000B9XRY4`) or a T-Invest instrument_uid (a UUID). */
export const InstrumentIdSchema = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a FIGI or an instrument uid');

/** Caller's idempotency key (issue: no doubled orders): at most 64 printable ASCII characters. */
export const IdempotencyKeySchema = z.string().regex(/^[\x20-\x7e]{1,64}$/, 'must be 1-64 printable characters');

const OrderFields = {
  t: TickerSchema,
  p: PriceSchema,
  v: LotsSchema,
  d: SideSchema,
  id: IdempotencyKeySchema.optional(),
};

export const AlorOrderSchema = z.object({ ...OrderFields, f: z.unknown().optional() }).transform((fields) => ({
  ticker: fields.t,
  price: fields.p,
  lots: fields.v,
  side: fields.d,
  idempotencyKey: fields.id,
}));
export type AlorOrder = z.output<typeof AlorOrderSchema>;

export const TinkoffOrderSchema = z.object({ ...OrderFields, f: InstrumentIdSchema }).transform((fields) => ({
  ticker: fields.t,
  price: fields.p,
  lots: fields.v,
  side: fields.d,
  figi: fields.f,
  idempotencyKey: fields.id,
}));
export type TinkoffOrder = z.output<typeof TinkoffOrderSchema>;

export type ParsedBody<TOrder> = { kind: 'check' } | { kind: 'order'; order: TOrder };
export type ParseResult<T> = { success: true; data: T } | { success: false; issues: string[] };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Deepest nesting of `[`/`{` outside strings; linear, and runs before JSON.parse sees the text. */
function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '{' || char === '[') deepest = Math.max(deepest, ++depth);
    else if (char === '}' || char === ']') depth--;
  }
  return deepest;
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
  if (jsonDepth(text) > MAX_JSON_DEPTH) return { success: false, issues: ['body: nested too deeply'] };
  let forbiddenKey: string | undefined;
  try {
    const value: unknown = JSON.parse(text, (key, nested: unknown) => {
      if (FORBIDDEN_KEYS.has(key)) forbiddenKey = key;
      return nested;
    });
    if (forbiddenKey !== undefined) return { success: false, issues: [`body: forbidden key ${forbiddenKey}`] };
    return { success: true, data: value };
  } catch {
    return { success: false, issues: ['body: not JSON'] };
  }
}

function isCheck(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { check?: unknown }).check === true;
}

/** Field paths and reasons, never the values themselves: a payload may hold anything. */
function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
}

export function parseWebhookBody<TOrder>(
  rawBody: Uint8Array,
  orderSchema: z.ZodType<TOrder>,
): ParseResult<ParsedBody<TOrder>> {
  const decoded = decodeJsonBody(rawBody);
  if (!decoded.success) return decoded;
  if (isCheck(decoded.data)) return { success: true, data: { kind: 'check' } };
  const order = orderSchema.safeParse(decoded.data);
  if (!order.success) return { success: false, issues: describeIssues(order.error) };
  return { success: true, data: { kind: 'order', order: order.data } };
}
