import type { GuardConfig } from './config.ts';
import { isZeroDecimal, toCanonicalDecimal } from './decimal.ts';
import type { SignalExchange } from './facts.ts';
import {
  describeIssues,
  IdempotencyKeySchema,
  InstrumentSchema,
  LotsSchema,
  MAX_LOTS,
  PriceSchema,
  SideSchema,
  type SignalInstrument,
} from './http/inbound/payload.ts';
import * as z from './zod.ts';

/**
 * The second form of the signal (docs/contract.md#signals-ver-2): a body with `"ver": 2` says what the strategy means
 * (an order, a target position, an exit or a cancel) and how to trade it (order type, time in force, cancels first).
 * A body without `ver` is today's order, judged exactly as before (shared/http/inbound/payload.ts). Here: the keys a v2 signal may
 * hold, their rules, what a broker lacks, and the capability list a `check` with `ver` answers; and `sl`, `tp`, `trail`
 * in both forms (docs/contract.md#protection). Pure: no I/O.
 *
 * Issues 26 (protection) and 27 (sizing: `vt`, with `sl` for `risk`; the signal's time: `ts`, `ttl`) extended it in three places: {@link SIGNAL_KEYS} (a key unknown until it lands is refused under
 * `ver: 2`), {@link SignalOptions} (what a signal asks of its order, read in `readOptions`), and {@link SignalSupport}
 * (what each broker offers, which refuses the rest and is listed by {@link signalCapabilities}).
 */

export const SIGNAL_VERSION = 2;
/** The `ver` values this deployment reads. */
export const SIGNAL_VERSIONS = [SIGNAL_VERSION] as const;

export const ORDER_TYPES = ['limit', 'market', 'best'] as const;
export type OrderType = (typeof ORDER_TYPES)[number];
export const TIMES_IN_FORCE = ['day', 'ioc', 'fok', 'gtc'] as const;
export type TimeInForce = (typeof TIMES_IN_FORCE)[number];
export const POSITION_UNITS = ['lots', 'shares'] as const;
export type PositionUnit = (typeof POSITION_UNITS)[number];
export const EXITS = ['close', 'cancel'] as const;
export const INTENTS = ['order', 'position', 'close', 'cancel'] as const;
export type IntentKind = (typeof INTENTS)[number];
/** What `v` (or `pos`) counts (`vt`): lots, a budget in roubles, a percentage of the portfolio, or of it at risk to `sl`. */
export const SIZE_UNITS = ['lots', 'rub', 'pct', 'risk'] as const;
export type SizeUnit = (typeof SIZE_UNITS)[number];
export type MoneySizeUnit = Exclude<SizeUnit, 'lots'>;

/**
 * Every key a v2 signal may hold. Anything else is refused under `ver: 2` ([unknown-key](docs/contract.md#unknown-key)),
 * so a message written for a newer deployment never trades on an older one with a key quietly dropped.
 */
export const SIGNAL_KEYS = [
  'ver',
  'check',
  't',
  'f',
  'id',
  'd',
  'v',
  'p',
  'pos',
  'pu',
  'x',
  'cancel',
  'o',
  'tif',
  'sl',
  'tp',
  'trail',
  'vt',
  'ts',
  'ttl',
] as const;
export type SignalKey = (typeof SIGNAL_KEYS)[number];

/** What the strategy means. */
export type SignalIntent =
  /** `d` + `v`: buy or sell this many lots (today's order, with v2's options). */
  | { readonly kind: 'order'; readonly side: 'buy' | 'sell'; readonly lots: number }
  /** `pos`: be at this signed position; the order is the difference with the live one. */
  | { readonly kind: 'position'; readonly target: number; readonly unit: PositionUnit }
  /** `x: "close"`: cancel the instrument's active orders and flatten it at market. */
  | { readonly kind: 'close' }
  /** `x: "cancel"`: cancel the instrument's active orders. */
  | { readonly kind: 'cancel' };

/** The keys that protect an entry (docs/contract.md#protection): a stop-loss, a take-profit, a trailing take-profit. */
export const PROTECTIVE_KEYS = ['sl', 'tp', 'trail'] as const;
export type ProtectiveKey = (typeof PROTECTIVE_KEYS)[number];

/**
 * A protective level as the signal writes it: a price (`sl`, `tp`; for `trail` a distance in price), or a percentage
 * of the entry's price (`"1.5%"`). Canonical decimals.
 */
export type ProtectiveLevel =
  | { readonly kind: 'price'; readonly value: string }
  | { readonly kind: 'percent'; readonly value: string };

/** What protects the entry, when the signal asks for it. */
export type Protection = Readonly<Partial<Record<ProtectiveKey, ProtectiveLevel>>>;

/** How the signal's one order is traded, and what is done before it. */
export interface SignalOptions {
  readonly type: OrderType;
  /** Canonical decimal; a limit order's only. */
  readonly price?: string | undefined;
  readonly timeInForce?: TimeInForce | undefined;
  /** `cancel: true`: the instrument's active orders are cancelled first, and only the position counts. */
  readonly cancelFirst: boolean;
  /** `sl`, `tp`, `trail`: the entry's protection, held by the broker; absent when the signal asks for none. */
  readonly protection?: Protection | undefined;
}

/**
 * `v` or `pos` in money (`vt` other than `lots`): sized into whole lots once the broker has said what a lot costs
 * (shared/brokers/sizing.ts). Until then the intent holds no lots (`lots`, `target` 0), and nothing plans it.
 */
export interface SignalSize {
  readonly unit: MoneySizeUnit;
  /** Roubles or a percentage; signed for `pos` (a short target is negative). */
  readonly amount: number;
}

/** `ts` and `ttl`: when the signal was made (ms since the epoch), and how old it may be when it arrives. */
export interface SignalTime {
  readonly at: number;
  readonly ttlMs?: number | undefined;
}

/** A v2 signal as every broker reads it; `fields` holds what only one broker reads (T-Invest's `f`). */
export interface Signal<TFields = unknown> extends SignalInstrument {
  readonly intent: SignalIntent;
  readonly options: SignalOptions;
  readonly idempotencyKey?: string | undefined;
  readonly fields: TFields;
  /** Unset: `v` and `pos` are lots. */
  readonly size?: SignalSize | undefined;
  readonly time?: SignalTime | undefined;
}

/** The rows of docs/contract.md a v2 body can be refused with before anything is read or asked. */
export type SignalParseRow = 'unsupported-version' | 'unknown-key' | 'mixed-intents' | 'bad-payload';

export interface SignalProblem {
  readonly row: SignalParseRow;
  /** The answer's text, byte for byte as in the contract; it quotes no value the caller sent, only key names. */
  readonly message: string;
  /** For the log line and the answer's `issues`: field paths and rules, never values. */
  readonly issues: readonly string[];
}

export type SignalParse<TFields> =
  | { readonly success: true; readonly signal: Signal<TFields> }
  | { readonly success: false; readonly problem: SignalProblem };

export const BAD_SIGNAL_MESSAGE = 'Некорректные данные в заявке';
export const UNSUPPORTED_VERSION_MESSAGE = `Версия сигнала не поддерживается: этот сервер понимает ver ${SIGNAL_VERSIONS.join(', ')}`;
const UNKNOWN_KEY_MESSAGE = 'Неизвестное поле сигнала';
const MIXED_INTENTS_MESSAGE = 'Сигнал смешивает намерения';

/** The rules of one intent per body (docs/contract.md#mixed-intents), as the answer names them. */
export const INTENT_RULES = {
  positionWithOrder: 'pos не сочетается с d и v',
  exitWithOther: 'x не сочетается с d, v и pos',
} as const;

/**
 * A key name the caller wrote, echoed in an answer and a log line only when it is a plain short name: anything else
 * (a long text, a control character, markup) is counted, never quoted.
 */
const PLAIN_KEY = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;
const MAX_NAMED_KEYS = 8;

/** Whether a body asks for the second form: it has a `ver` key, whatever it holds. */
export function isVersionedBody(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, 'ver');
}

const problem = (row: SignalParseRow, message: string, issues: readonly string[]) => ({
  success: false as const,
  problem: { row, message, issues },
});

/** Unknown keys, named when plain, in the order they came. */
function unknownKeys(body: Record<string, unknown>): SignalProblem | undefined {
  const known: readonly string[] = SIGNAL_KEYS;
  const unknown = Object.keys(body).filter((key) => !known.includes(key));
  if (unknown.length === 0) return undefined;
  const plain = unknown.filter((key) => PLAIN_KEY.test(key));
  const issues = plain.slice(0, MAX_NAMED_KEYS).map((key) => `${key}: unknown key`);
  const unnamed = unknown.length - Math.min(plain.length, MAX_NAMED_KEYS);
  if (unnamed > 0) issues.push(`body: ${unnamed} more unknown key(s), not plain names`);
  const first = plain[0];
  return {
    row: 'unknown-key',
    message: first === undefined ? UNKNOWN_KEY_MESSAGE : `${UNKNOWN_KEY_MESSAGE}: ${first}`,
    issues,
  };
}

const WHOLE_POSITION_RULE = `must be a whole number from -${MAX_LOTS} to ${MAX_LOTS}`;
const WHOLE_LOTS_RULE = `must be a whole number from 1 to ${MAX_LOTS}`;
/** Far above any account: a budget or a money target beyond it is a typo. */
const MAX_MONEY = 1e12;

/**
 * `pos` as written: a signed number (`-3`, `"3"`, `"3.0"` as TradingView writes `{{strategy.position_size}}`); whole
 * lots unless `vt` makes it money ({@link readIntent}).
 */
const SignedNumberSchema = z.pipe(
  z.union([z.number(), z.string()]),
  z.transform((value: number | string, ctx) => {
    const text = typeof value === 'number' ? String(value) : value.trim();
    const number = /^[+-]?(\d{1,15}(\.\d{0,9})?|\.\d{1,9})$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isFinite(number) || Math.abs(number) > MAX_MONEY) {
      ctx.issues.push({ code: 'custom', message: WHOLE_POSITION_RULE, input: value });
      return z.NEVER;
    }
    // `-0` is flat, as 0.
    return number === 0 ? 0 : number;
  }),
);

/**
 * `ts`: when the signal was made, as TradingView's `{{timenow}}` writes it (ISO 8601 with `Z` or an offset), or a
 * number of milliseconds (or seconds, below 10^11) since the epoch.
 */
const TimeSchema = z.pipe(
  z.union([z.string(), z.number()]),
  z.transform((value: string | number, ctx) => {
    const at =
      typeof value === 'number'
        ? Number.isSafeInteger(value) && value > 0
          ? value < 1e11
            ? value * 1000
            : value
          : Number.NaN
        : /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:?\d\d)$/i.test(value.trim())
          ? Date.parse(value.trim())
          : Number.NaN;
    if (!Number.isFinite(at)) {
      ctx.issues.push({
        code: 'custom',
        message: 'must be an ISO 8601 time with its zone, or epoch milliseconds',
        input: value,
      });
      return z.NEVER;
    }
    return at;
  }),
);

/** `ttl`: whole seconds, 1 to a day. */
const TtlSchema = z.pipe(
  z.union([z.number(), z.string()]),
  z.transform((value: number | string, ctx) => {
    const seconds = typeof value === 'number' ? value : /^\s*\d{1,6}\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > 86_400) {
      ctx.issues.push({ code: 'custom', message: 'must be whole seconds from 1 to 86400', input: value });
      return z.NEVER;
    }
    return seconds * 1000;
  }),
);

const PERCENT_RULE = 'must be a price above zero, or "N%" with N above 0 and below 100';

/**
 * `sl`, `tp`, `trail`: a price (a number or a numeric string, as `p`), or `"N%"` of the entry's price, N above 0 and
 * below 100. The reason names the rule, never the value.
 */
const ProtectiveLevelSchema = z.pipe(
  z.union([z.number(), z.string()]),
  z.transform((value: number | string, ctx): ProtectiveLevel => {
    const text = typeof value === 'number' ? String(value) : value.trim();
    const percent = text.endsWith('%');
    const decimal = toCanonicalDecimal(percent ? text.slice(0, -1) : text);
    const valid =
      decimal !== undefined && !isZeroDecimal(decimal) && (!percent || Number(decimal) < 100) && !text.startsWith('-');
    if (!valid) {
      ctx.issues.push({ code: 'custom', message: PERCENT_RULE, input: value });
      return z.NEVER;
    }
    return { kind: percent ? 'percent' : 'price', value: decimal };
  }),
);

/** The fields of a v2 body every broker reads; `f` is the broker's. */
const SignalFieldsSchema = z.object({
  t: InstrumentSchema,
  id: z.optional(IdempotencyKeySchema),
  d: z.optional(SideSchema),
  v: z.optional(PriceSchema),
  p: z.optional(PriceSchema),
  pos: z.optional(SignedNumberSchema),
  pu: z.optional(z.enum(POSITION_UNITS)),
  x: z.optional(z.enum(EXITS)),
  cancel: z.optional(z.boolean()),
  o: z.optional(z.enum(ORDER_TYPES)),
  tif: z.optional(z.enum(TIMES_IN_FORCE)),
  sl: z.optional(ProtectiveLevelSchema),
  tp: z.optional(ProtectiveLevelSchema),
  trail: z.optional(ProtectiveLevelSchema),
  vt: z.optional(z.enum(SIZE_UNITS)),
  ts: z.optional(TimeSchema),
  ttl: z.optional(TtlSchema),
});
type SignalFields = z.output<typeof SignalFieldsSchema>;

/** The issues of the shared fields and of the broker's own, as the answer lists them. */
function fieldIssues(
  ...results: readonly ({ success: true } | { success: false; error: z.core.$ZodError })[]
): string[] {
  return results.flatMap((result) => (result.success ? [] : describeIssues(result.error)));
}

/** One intent per body: `d`+`v`, `pos`, or `x`. */
function mixedIntents(body: Record<string, unknown>): SignalProblem | undefined {
  const has = (key: string) => Object.hasOwn(body, key);
  const rule =
    has('x') && (has('d') || has('v') || has('pos'))
      ? INTENT_RULES.exitWithOther
      : has('pos') && (has('d') || has('v'))
        ? INTENT_RULES.positionWithOrder
        : undefined;
  return rule === undefined
    ? undefined
    : { row: 'mixed-intents', message: `${MIXED_INTENTS_MESSAGE}: ${rule}`, issues: [`body: ${rule}`] };
}

/** The intent, its lots whole unless `vt` sizes it in money (then {@link readSize} holds the amount). */
function readIntent(fields: SignalFields, issues: string[]): SignalIntent | undefined {
  const inLots = (fields.vt ?? 'lots') === 'lots';
  if (fields.x !== undefined) return { kind: fields.x };
  if (fields.pos !== undefined) {
    if (inLots && (!Number.isSafeInteger(fields.pos) || Math.abs(fields.pos) > MAX_LOTS)) {
      issues.push(`pos: ${WHOLE_POSITION_RULE}`);
      return undefined;
    }
    return { kind: 'position', target: inLots ? fields.pos : 0, unit: fields.pu ?? 'lots' };
  }
  if (fields.d === undefined && fields.v === undefined) {
    issues.push('body: one intent is required: d and v, pos, or x');
    return undefined;
  }
  if (fields.d === undefined) issues.push('d: required with v');
  if (fields.v === undefined) issues.push('v: required with d');
  if (fields.d === undefined || fields.v === undefined) return undefined;
  const lots = Number(fields.v);
  if (inLots && (fields.v.includes('.') || lots > MAX_LOTS)) {
    issues.push(`v: ${WHOLE_LOTS_RULE}`);
    return undefined;
  }
  return { kind: 'order', side: fields.d, lots: inLots ? lots : 0 };
}

/** `vt` in money: the amount `v` or `pos` gives, and the rules that tie `vt`, `sl` and `pu` together. */
function readSize(fields: SignalFields, issues: string[]): SignalSize | undefined {
  const unit = fields.vt ?? 'lots';
  if (fields.x !== undefined) return undefined;
  // `risk` sizes by the stop-loss the entry is protected with (`options.protection.sl`).
  if (unit === 'risk' && fields.sl === undefined) issues.push('sl: required with vt: risk');
  if (unit === 'lots') return undefined;
  if (fields.pu !== undefined) issues.push('pu: only with vt: lots');
  const amount = fields.pos ?? (fields.v === undefined ? undefined : Number(fields.v));
  if (amount === undefined) return undefined;
  if (unit !== 'rub' && Math.abs(amount) > 100)
    issues.push(`${fields.pos === undefined ? 'v' : 'pos'}: at most 100 with vt: ${unit}`);
  return { unit, amount };
}

/** `sl`, `tp`, `trail` as given, or undefined when the signal asks for no protection. */
function readProtection(fields: Pick<SignalFields, ProtectiveKey>): Protection | undefined {
  const entries = PROTECTIVE_KEYS.flatMap((key) => (fields[key] === undefined ? [] : [[key, fields[key]] as const]));
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}

/** The options of the intent, with the rules that tie them to it. */
function readOptions(fields: SignalFields, issues: string[]): SignalOptions {
  const type = fields.o ?? 'limit';
  if (fields.x !== undefined) {
    for (const key of ['o', 'p', 'tif', 'pu', 'cancel', 'vt', ...PROTECTIVE_KEYS] as const) {
      if (fields[key] !== undefined) issues.push(`${key}: not with x`);
    }
    // An exit's order, if any, is the close at market.
    return { type: 'market', cancelFirst: fields.x === 'close' };
  }
  if (fields.pu !== undefined && fields.pos === undefined) issues.push('pu: only with pos');
  if (type === 'limit' && fields.p === undefined) issues.push('p: required with o: limit');
  if (type !== 'limit' && fields.p !== undefined) issues.push('p: only with o: limit');
  const protection = readProtection(fields);
  return {
    type,
    price: type === 'limit' ? fields.p : undefined,
    timeInForce: fields.tif,
    cancelFirst: fields.cancel === true,
    ...(protection === undefined ? {} : { protection }),
  };
}

/**
 * A body with `ver` (see {@link isVersionedBody}), judged in the contract's order: the version, unknown keys, one
 * intent, then the fields and their rules. `brokerFields` reads what only the broker reads (`f`).
 */
export function parseSignal<TFields>(
  body: Record<string, unknown>,
  brokerFields: z.ZodMiniType<TFields>,
): SignalParse<TFields> {
  if (!(SIGNAL_VERSIONS as readonly unknown[]).includes(body.ver)) {
    return problem('unsupported-version', UNSUPPORTED_VERSION_MESSAGE, ['ver: must be 2']);
  }
  const unknown = unknownKeys(body);
  if (unknown !== undefined) return { success: false, problem: unknown };
  const mixed = mixedIntents(body);
  if (mixed !== undefined) return { success: false, problem: mixed };

  const parsed = SignalFieldsSchema.safeParse(body);
  const extra = brokerFields.safeParse(body);
  if (!parsed.success || !extra.success) return problem('bad-payload', BAD_SIGNAL_MESSAGE, fieldIssues(parsed, extra));
  const fields = parsed.data;
  const issues: string[] = [];
  const intent = readIntent(fields, issues);
  const options = readOptions(fields, issues);
  const size = readSize(fields, issues);
  if (fields.ttl !== undefined && fields.ts === undefined) issues.push('ttl: only with ts');
  if (intent === undefined || issues.length > 0) return problem('bad-payload', BAD_SIGNAL_MESSAGE, issues);
  const time = fields.ts === undefined ? undefined : { at: fields.ts, ttlMs: fields.ttl };
  return {
    success: true,
    signal: {
      ...fields.t,
      intent,
      options,
      idempotencyKey: fields.id,
      fields: extra.data,
      ...(size === undefined ? {} : { size }),
      ...(time === undefined ? {} : { time }),
    },
  };
}

/** Today's order (`t`, `d`, `v`, `p`) as a v2 signal reads it: a limit order of that many lots. */
export function orderSignal<TFields>(
  order: SignalInstrument & {
    readonly side: 'buy' | 'sell';
    readonly lots: number;
    readonly price: string;
    readonly idempotencyKey?: string | undefined;
  },
  fields: TFields,
): Signal<TFields> {
  return {
    ticker: order.ticker,
    ...(order.exchange === undefined ? {} : { exchange: order.exchange }),
    intent: { kind: 'order', side: order.side, lots: order.lots },
    options: { type: 'limit', price: order.price, cancelFirst: false },
    idempotencyKey: order.idempotencyKey,
    fields,
  };
}

/** Whether a body without `ver` asks for protection: it has `sl`, `tp` or `trail` (docs/contract.md#protection). */
export function hasProtectionKeys(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    PROTECTIVE_KEYS.some((key) => Object.hasOwn(value, key))
  );
}

/** Today's body with its protection: today's keys and rules (unknown keys stripped), and `sl`, `tp`, `trail`. */
const ProtectedOrderSchema = z.object({
  t: InstrumentSchema,
  id: z.optional(IdempotencyKeySchema),
  d: SideSchema,
  v: LotsSchema,
  p: PriceSchema,
  sl: z.optional(ProtectiveLevelSchema),
  tp: z.optional(ProtectiveLevelSchema),
  trail: z.optional(ProtectiveLevelSchema),
});

/**
 * A body without `ver` that carries `sl`, `tp` or `trail` (see {@link hasProtectionKeys}): today's limit order, read by
 * today's rules, with its protection, run as the same v2 order would be. A trader who wrote a stop expects it placed;
 * dropped as today's parser drops unknown keys, it would trade unprotected.
 */
export function parseProtectedOrder<TFields>(
  body: Record<string, unknown>,
  brokerFields: z.ZodMiniType<TFields>,
): SignalParse<TFields> {
  const parsed = ProtectedOrderSchema.safeParse(body);
  const extra = brokerFields.safeParse(body);
  if (!parsed.success || !extra.success) return problem('bad-payload', BAD_SIGNAL_MESSAGE, fieldIssues(parsed, extra));
  const fields = parsed.data;
  const protection = readProtection(fields);
  return {
    success: true,
    signal: {
      ...fields.t,
      intent: { kind: 'order', side: fields.d, lots: fields.v },
      options: { type: 'limit', price: fields.p, cancelFirst: false, protection },
      idempotencyKey: fields.id,
      fields: extra.data,
    },
  };
}

/**
 * What a broker offers a v2 signal. What it lacks is refused with [not-supported](docs/contract.md#not-supported),
 * never traded some other way; the capability list is made of it.
 */
export interface SignalSupport {
  /** The broker's name in answers. */
  readonly name: string;
  readonly orderTypes: readonly OrderType[];
  /** The times in force each order type takes (none: the type takes no `tif`). */
  readonly timeInForce: Readonly<Record<OrderType, readonly TimeInForce[]>>;
  readonly positionUnits: readonly PositionUnit[];
  /** The exchanges whose orders the broker's API cancels. */
  readonly cancelExchanges: readonly SignalExchange[];
  /** The protective keys the broker holds orders for (docs/contract.md#protection). */
  readonly protection: readonly ProtectiveKey[];
}

/** Whether the intent cancels the instrument's active orders. */
export function cancelsOrders(signal: Pick<Signal, 'intent' | 'options'>): boolean {
  return signal.intent.kind === 'cancel' || signal.intent.kind === 'close' || signal.options.cancelFirst;
}

/** Whether the order depends on the live position: such a signal holds the instrument's lock while it runs. */
export function dependsOnPosition(signal: Pick<Signal, 'intent'>): boolean {
  return signal.intent.kind === 'position' || signal.intent.kind === 'close';
}

/**
 * The first thing the signal asks that the broker lacks, as the answer says it; undefined when it offers all of it.
 * `exchange` is where the broker would trade (the one `t` names, or its configured one).
 */
export function unsupportedBy(
  support: SignalSupport,
  signal: Pick<Signal, 'intent' | 'options'>,
  exchange: SignalExchange,
): string | undefined {
  const { type, timeInForce } = signal.options;
  const { name } = support;
  const exit = signal.intent.kind === 'close' || signal.intent.kind === 'cancel';
  if (!exit && !support.orderTypes.includes(type)) return `${name} не поддерживает o: ${type}`;
  if (timeInForce !== undefined && !support.timeInForce[type].includes(timeInForce)) {
    const anywhere = ORDER_TYPES.some((other) => support.timeInForce[other].includes(timeInForce));
    return anywhere
      ? `${name} не принимает tif: ${timeInForce} для o: ${type}`
      : `${name} не поддерживает tif: ${timeInForce}`;
  }
  if (signal.intent.kind === 'position' && !support.positionUnits.includes(signal.intent.unit)) {
    return `${name} не поддерживает pu: ${signal.intent.unit}`;
  }
  const asked = PROTECTIVE_KEYS.filter((key) => signal.options.protection?.[key] !== undefined);
  const lacking = asked.find((key) => !support.protection.includes(key));
  if (lacking !== undefined) return `${name} не поддерживает ${lacking}`;
  // A protected entry's stops are cancelled by the exits (and taken back when the entry fails): cancels are needed.
  if ((cancelsOrders(signal) || asked.length > 0) && !support.cancelExchanges.includes(exchange)) {
    return `${name} не снимает заявки на ${exchange} через API`;
  }
  return undefined;
}

/** The guards in force, as the capability list and the preflight show them: `null` for a guard that is off. */
export function guardsInForce(guards: GuardConfig) {
  const limit = guards.dailyLossLimit;
  return {
    killSwitch: guards.killSwitch !== undefined,
    signalMaxAgeSeconds: guards.signalMaxAgeMs / 1000,
    tradingStatus: guards.checkTradingStatus,
    maxLotsPerOrder: guards.maxLotsPerOrder,
    maxPositionLots: guards.maxPositionLots ?? null,
    maxOrderRub: guards.maxOrderRub ?? null,
    maxOrdersPerDay: guards.maxOrdersPerDay ?? null,
    dailyLossLimit: limit === undefined ? null : limit.unit === 'pct' ? `${limit.amount}%` : `${limit.amount}`,
  };
}

/**
 * The answer to `{"check": true, "ver": …}`: what this deployment reads and the broker offers, for the preflight, the
 * console and any program to tell an old deployment before a real signal: the keys, the intents, what the broker
 * offers, the protective keys it holds orders for, the sizing modes and the guards in force.
 */
export function signalCapabilities(
  support: SignalSupport | undefined,
  broker: string,
  dryRun: boolean,
  guards?: GuardConfig,
) {
  if (support === undefined) return { broker, versions: [], dryRun };
  return {
    broker,
    versions: [...SIGNAL_VERSIONS],
    keys: [...SIGNAL_KEYS],
    intents: [...INTENTS],
    o: [...support.orderTypes],
    tif: Object.fromEntries(support.orderTypes.map((type) => [type, [...support.timeInForce[type]]])),
    pu: [...support.positionUnits],
    cancel: { exchanges: [...support.cancelExchanges] },
    protection: [...support.protection],
    // Whole lots, rounded down, capped by what the account's own money buys and holdings sell.
    sizing: { vt: [...SIZE_UNITS], cap: 'no-margin' },
    ...(guards === undefined ? {} : { guards: guardsInForce(guards) }),
    dryRun,
  };
}
export type SignalCapabilities = ReturnType<typeof signalCapabilities>;
