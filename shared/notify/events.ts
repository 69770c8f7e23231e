import * as z from 'zod';
import { GUARD_ROWS } from '../errors.ts';
import { BROKERS, FOLLOW_UP_LOG_MESSAGE, PROTECTION_LOG_MESSAGE, WEBHOOK_LOG_MESSAGE } from '../facts.ts';

/**
 * What the notifier reads of a log line: the webhook's one line per invocation (shared/http/inbound/webhook-handler.ts)
 * and the follow-up's one line per lookup (shared/brokers/follow-up-handler.ts), as events to tell the trader about. A line
 * that is neither, or not the shape expected, is no event: the notifier never fails on a log line.
 */

/**
 * The order as the log line names it: the broker's terms (Alor's symbol and exchange, or T-Invest's FIGI). A v2
 * signal's order also says its type; a market or best-price order has no price.
 */
const OrderSchema = z.object({
  symbol: z.string().optional(),
  exchange: z.string().optional(),
  figi: z.string().optional(),
  side: z.enum(['buy', 'sell']),
  lots: z.number(),
  price: z.string().optional(),
  type: z.enum(['limit', 'market', 'best']).optional(),
});
/** The order as the messages name it: the broker's terms and the caller's ticker. */
export const OrderSummarySchema = OrderSchema.extend({ ticker: z.string().optional() });
export type OrderSummary = z.infer<typeof OrderSummarySchema>;

const CommonSchema = z.object({
  broker: z.enum(BROKERS),
  /** API Gateway's request id of the webhook call: what the messages are deduplicated by. */
  requestId: z.string().min(1),
  time: z.string(),
  order: OrderSchema.optional(),
  ticker: z.string().optional(),
});

/** What a signal's line says of its entry's protection (docs/contract.md#protection). */
const ProtectionSummarySchema = z.object({
  status: z.enum(['on-fill', 'active', 'none', 'failed']),
  lots: z.number(),
  sl: z.string().optional(),
  tp: z.string().optional(),
  trail: z.string().optional(),
  reason: z.string().optional(),
  closed: z.boolean().optional(),
});
export type ProtectionSummary = z.infer<typeof ProtectionSummarySchema>;

/** What a v2 signal's line says of its run (shared/http/inbound/webhook-handler.ts). */
const SignalSchema = z.object({
  intent: z.enum(['order', 'position', 'close', 'cancel']),
  position: z.number().optional(),
  working: z.number().optional(),
  target: z.number().optional(),
  cancelled: z.number().int().nonnegative(),
  protection: ProtectionSummarySchema.optional(),
});
export type SignalSummary = z.infer<typeof SignalSchema>;

const WebhookLineSchema = CommonSchema.extend({
  message: z.literal(WEBHOOK_LOG_MESSAGE),
  signal: SignalSchema.optional(),
  rule: z.string().optional(),
  /** A guard's refusal: the numbers it decided on (shared/brokers/guards.ts). */
  guard: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).optional(),
  status: z.number().int(),
  latencyMs: z.number(),
  outcome: z.string(),
  brokerOrderId: z.string().optional(),
  replayed: z.boolean().optional(),
  reason: z.string().optional(),
  issues: z.array(z.string()).optional(),
  upstream: z.string().optional(),
  missing: z.enum(['credential', 'account']).optional(),
  sourceIp: z.string().max(64).optional(),
  error: z.object({ name: z.string(), code: z.string().optional() }).optional(),
});

/** What a follow-up found; `unreachable`: the broker could not be asked, `not-found`: it does not know the order. */
export const FOLLOW_UP_RESULTS = [
  'filled',
  'partly-filled',
  'working',
  'rejected',
  'canceled',
  'not-found',
  'unreachable',
] as const;
export type FollowUpResult = (typeof FOLLOW_UP_RESULTS)[number];

const FollowUpLineSchema = CommonSchema.extend({
  message: z.literal(FOLLOW_UP_LOG_MESSAGE),
  brokerOrderId: z.string(),
  result: z.enum(FOLLOW_UP_RESULTS),
  lots: z.number().optional(),
  filledLots: z.number().optional(),
  reason: z.string().optional(),
  upstream: z.string().optional(),
  delaySeconds: z.number().optional(),
});
export type FollowUpLine = z.infer<typeof FollowUpLineSchema>;

/** One event of a protected entry's watch (shared/brokers/tinkoff/protection.ts), as its line writes it. */
const WatchEventSchema = z.object({
  kind: z.enum(['protected', 'executed', 'sibling-cancelled', 'failed', 'retry']),
  leg: z.enum(['sl', 'tp']).optional(),
  lots: z.number().optional(),
  side: z.enum(['buy', 'sell']).optional(),
  position: z.enum(['buy', 'sell']).optional(),
  price: z.string().optional(),
  sl: z.string().optional(),
  tp: z.string().optional(),
  trail: z.string().optional(),
  reason: z.string().optional(),
  closed: z.boolean().optional(),
});

const ProtectionLineSchema = CommonSchema.extend({
  message: z.literal(PROTECTION_LOG_MESSAGE),
  result: z.string(),
  side: z.enum(['buy', 'sell']).optional(),
  events: z.array(WatchEventSchema).optional(),
  checks: z.number().optional(),
  attempt: z.number().optional(),
  told: z.boolean().optional(),
  upstream: z.string().optional(),
});

/** What a protection message tells: the urgent failure, a stop that executed, its sibling cancelled, … */
export const PROTECTION_EVENTS = ['failed', 'executed', 'sibling-cancelled', 'protected', 'unreachable'] as const;
export type ProtectionEventKind = (typeof PROTECTION_EVENTS)[number];

type Common = {
  readonly broker: (typeof BROKERS)[number];
  readonly requestId: string;
  readonly time: string;
  readonly order: OrderSummary | undefined;
};

/** Why a call failed, as the message explains it: the answer's status and what to check. */
/** The kinds told in aggregate, once per function and window with their count: refused calls, which come in bursts. */
export const WINDOW_KINDS = ['unauthorized', 'forbidden-source'] as const;
export type WindowKind = (typeof WINDOW_KINDS)[number];

export type FailureCause =
  | 'credential-rejected'
  | 'broker-unavailable'
  | 'broker-timeout'
  | 'store-timeout'
  | 'internal-error'
  | 'position-locked';

export type NotifyEvent = Common &
  (
    | {
        readonly kind: 'placed';
        readonly brokerOrderId: string | undefined;
        readonly replayed: boolean;
        readonly latencyMs: number;
      }
    | {
        /** A v2 signal carried out: an order placed, orders cancelled, or nothing to do (told as NOTIFY_KINDS `placed`). */
        readonly kind: 'signal';
        readonly result: 'placed' | 'nothing-to-do' | 'cancelled';
        readonly signal: SignalSummary;
        readonly ticker: string | undefined;
        readonly brokerOrderId: string | undefined;
        readonly replayed: boolean;
        readonly latencyMs: number;
      }
    | { readonly kind: 'dry-run'; readonly latencyMs: number }
    | { readonly kind: 'refused'; readonly reason: string; readonly cancelled?: number | undefined }
    | {
        /** A guard (or a size of zero lots) refused an entry before anything was sent (told as NOTIFY_KINDS `refused`). */
        readonly kind: 'guarded';
        readonly rule: GuardedRule;
        readonly reason: string;
        readonly facts: Readonly<Record<string, number | string | boolean>>;
        readonly ticker: string | undefined;
      }
    | { readonly kind: 'invalid'; readonly issues: readonly string[] }
    | {
        readonly kind: 'failed';
        readonly status: number;
        readonly cause: FailureCause;
        /** A status or an error code, never a text from outside. */
        readonly detail: string | undefined;
      }
    | { readonly kind: 'not-configured'; readonly missing: 'credential' | 'account' | undefined }
    | { readonly kind: 'unauthorized' }
    /** A call from an address outside `ALLOWED_SOURCE_IPS` (403). */
    | { readonly kind: 'forbidden-source'; readonly sourceIp: string | undefined }
    | { readonly kind: 'check' }
    | {
        /** The protection of an entry (docs/contract.md#protection): its webhook's, or its watch's. */
        readonly kind: 'protection';
        readonly event: ProtectionEventKind;
        /** Tells the event apart from the line's others: the message's key. */
        readonly key: string;
        readonly ticker: string | undefined;
        readonly leg: 'sl' | 'tp' | undefined;
        readonly lots: number | undefined;
        /** The side of the position protected: the entry's. */
        readonly position: 'buy' | 'sell' | undefined;
        readonly price: string | undefined;
        readonly sl: string | undefined;
        readonly tp: string | undefined;
        readonly trail: string | undefined;
        readonly reason: string | undefined;
        readonly closed: boolean | undefined;
      }
    | {
        readonly kind: 'follow-up';
        readonly brokerOrderId: string;
        readonly result: FollowUpResult;
        readonly lots: number | undefined;
        readonly filledLots: number | undefined;
        readonly reason: string | undefined;
        readonly detail: string | undefined;
        readonly delaySeconds: number | undefined;
      }
  );

const FAILURE_CAUSES: Readonly<Record<string, FailureCause>> = {
  credential_rejected: 'credential-rejected',
  broker_unavailable: 'broker-unavailable',
  broker_timeout: 'broker-timeout',
  store_timeout: 'store-timeout',
  error: 'internal-error',
  'position-locked': 'position-locked',
};

const SIGNAL_RESULTS = new Set(['placed', 'nothing-to-do', 'cancelled']);

/** The refusals told as a guard's: the guards (docs/contract.md#guards) and a size that is no lot. */
export const GUARDED_RULES = [...GUARD_ROWS, 'size-zero', 'bad-stop'] as const;
export type GuardedRule = (typeof GUARDED_RULES)[number];
const guardedRule = (rule: string | undefined): GuardedRule | undefined =>
  GUARDED_RULES.find((known) => known === rule);

function common(line: z.infer<typeof CommonSchema>): Common {
  return {
    broker: line.broker,
    requestId: line.requestId,
    time: line.time,
    order: line.order === undefined ? undefined : { ...line.order, ticker: line.ticker },
  };
}

function webhookEvent(line: z.infer<typeof WebhookLineSchema>): NotifyEvent | undefined {
  const base = common(line);
  if (line.signal !== undefined && SIGNAL_RESULTS.has(line.outcome)) {
    return {
      ...base,
      kind: 'signal',
      result: line.outcome as 'placed' | 'nothing-to-do' | 'cancelled',
      signal: line.signal,
      ticker: line.ticker,
      brokerOrderId: line.brokerOrderId,
      replayed: line.replayed === true,
      latencyMs: line.latencyMs,
    };
  }
  switch (line.outcome) {
    case 'placed':
      return {
        ...base,
        kind: 'placed',
        brokerOrderId: line.brokerOrderId,
        replayed: line.replayed === true,
        latencyMs: line.latencyMs,
      };
    case 'dry-run':
      return { ...base, kind: 'dry-run', latencyMs: line.latencyMs };
    case 'refused':
      return { ...base, kind: 'refused', reason: line.reason ?? '', cancelled: line.signal?.cancelled };
    case 'guard-refused':
    case 'signal-refused': {
      const rule = guardedRule(line.rule);
      if (rule !== undefined) {
        return {
          ...base,
          kind: 'guarded',
          rule,
          reason: line.reason ?? '',
          facts: line.guard ?? {},
          ticker: line.ticker,
        };
      }
      // A v2 signal refused by its rules (not-supported, not-whole-lots): the text names keys and numbers only.
      return { ...base, kind: 'invalid', issues: [line.reason ?? line.rule ?? 'refused'] };
    }
    case 'instrument-refused':
      // The T-Invest instrument lookup of a ticker: the log line says which refusal (a short reason, no broker text).
      return { ...base, kind: 'refused', reason: `instrument ${line.reason ?? 'refused'}` };
    case 'invalid':
      return { ...base, kind: 'invalid', issues: line.issues ?? [] };
    case 'not_configured':
      return { ...base, kind: 'not-configured', missing: line.missing };
    case 'unauthorized':
      return { ...base, kind: 'unauthorized' };
    case 'forbidden-source':
      return { ...base, kind: 'forbidden-source', sourceIp: line.sourceIp };
    case 'check':
      return { ...base, kind: 'check' };
  }
  const cause = FAILURE_CAUSES[line.outcome];
  if (cause === undefined) return undefined;
  const detail = line.upstream ?? (line.error === undefined ? undefined : (line.error.code ?? line.error.name));
  return { ...base, kind: 'failed', status: line.status, cause, detail };
}

function followUpEvent(line: FollowUpLine): NotifyEvent {
  return {
    ...common(line),
    kind: 'follow-up',
    brokerOrderId: line.brokerOrderId,
    result: line.result,
    lots: line.lots,
    filledLots: line.filledLots,
    reason: line.reason,
    detail: line.upstream,
    delaySeconds: line.delaySeconds,
  };
}

type ProtectionEvent = Extract<NotifyEvent, { kind: 'protection' }>;

function protectionEvent(
  base: Common,
  event: ProtectionEventKind,
  key: string,
  ticker: string | undefined,
  fields: Partial<Omit<ProtectionEvent, 'kind' | 'event' | 'key' | 'ticker'>>,
): ProtectionEvent {
  return {
    ...base,
    kind: 'protection',
    event,
    key,
    ticker,
    leg: fields.leg,
    lots: fields.lots,
    position: fields.position,
    price: fields.price,
    sl: fields.sl,
    tp: fields.tp,
    trail: fields.trail,
    reason: fields.reason,
    closed: fields.closed,
  };
}

/** A webhook line whose entry filled and could not be protected: the urgent message, beside the signal's own. */
function webhookProtectionEvents(line: z.infer<typeof WebhookLineSchema>): NotifyEvent[] {
  const protection = line.signal?.protection;
  if (protection?.status !== 'failed') return [];
  const { status: _status, ...fields } = protection;
  return [protectionEvent(common(line), 'failed', 'webhook', line.ticker, { ...fields, position: line.order?.side })];
}

/** The events of one check of a protected entry's watch; a retry is no news, a third unreachable check is. */
function protectionLineEvents(line: z.infer<typeof ProtectionLineSchema>): NotifyEvent[] {
  const base = common(line);
  const check = line.checks ?? 0;
  if (line.result === 'unreachable') {
    if (line.told !== true) return [];
    return [
      protectionEvent(base, 'unreachable', `unreachable#${check}#${line.attempt ?? 0}`, line.ticker, {
        reason: line.upstream,
      }),
    ];
  }
  return (line.events ?? []).flatMap((event, index) =>
    event.kind === 'retry'
      ? []
      : [
          protectionEvent(base, event.kind, `${check}#${index}`, line.ticker, {
            ...event,
            position: event.position ?? line.side,
          }),
        ],
  );
}

const LineSchema = z.discriminatedUnion('message', [WebhookLineSchema, FollowUpLineSchema, ProtectionLineSchema]);

/** One log line as the events it tells (none when it is not a line the notifier reads). */
export function logLineToEvents(text: string): NotifyEvent[] {
  // Lambda may put a prefix before the JSON (console.log's `time\trequestId\tINFO\t`); our lines are bare JSON.
  const start = text.indexOf('{');
  if (start === -1) return [];
  let json: unknown;
  try {
    json = JSON.parse(text.slice(start));
  } catch {
    return [];
  }
  const parsed = LineSchema.safeParse(json);
  if (!parsed.success) return [];
  const line = parsed.data;
  if (line.message === PROTECTION_LOG_MESSAGE) return protectionLineEvents(line);
  if (line.message === FOLLOW_UP_LOG_MESSAGE) return [followUpEvent(line)];
  const event = webhookEvent(line);
  return [...(event === undefined ? [] : [event]), ...webhookProtectionEvents(line)];
}

/** One log line's first event, or `undefined` when it is not a line the notifier reads. */
export function logLineToEvent(text: string): NotifyEvent | undefined {
  return logLineToEvents(text)[0];
}
