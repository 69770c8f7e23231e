/**
 * Errors that carry their own answer. Anything else that reaches the handler wrapper is answered
 * 500 `Внутренняя ошибка`, with only its name and code logged (see shared/http/inbound/webhook-handler.ts).
 */
export abstract class HttpError extends Error {
  /**
   * The class's name, written out: the webhook bundles are minified without esbuild's `keepNames`
   * (infra/bundling.ts), which would otherwise have kept it.
   */
  abstract override readonly name: string;
  abstract readonly statusCode: number;
  /** Stable machine-readable code for logs and tests. */
  abstract readonly code: string;
  /** The id of its row in docs/contract.md#answers: what a v2 signal's JSON answer names as its `result`. */
  abstract readonly row: string;
  /** Text the caller sees, byte for byte. Never holds a secret or an upstream internal. */
  readonly publicMessage: string;

  constructor(publicMessage: string, options?: ErrorOptions) {
    super(publicMessage, options);
    this.publicMessage = publicMessage;
  }
}

export const INVALID_ORDER_MESSAGE = 'Некорректные данные в заявке';

export class InvalidPayloadError extends HttpError {
  override readonly name = 'InvalidPayloadError';
  readonly statusCode = 400;
  readonly code = 'INVALID_PAYLOAD';
  readonly row: string;
  /** Field paths and reasons only, never input values. */
  readonly issues: readonly string[];

  /** A v2 signal's refusals before anything is read have rows and texts of their own (shared/signal.ts). */
  constructor(issues: readonly string[], refusal?: { readonly row: string; readonly message: string }) {
    super(refusal?.message ?? INVALID_ORDER_MESSAGE);
    this.issues = issues;
    this.row = refusal?.row ?? 'bad-payload';
  }
}

/**
 * A v2 signal the broker cannot carry out as it is written, found by its rules rather than by the broker's answer:
 * an option the broker lacks ([not-supported](docs/contract.md#not-supported)), a size that is not whole lots
 * ([not-whole-lots](docs/contract.md#not-whole-lots)). Nothing was changed at the broker.
 */
export class SignalRefusedError extends HttpError {
  override readonly name = 'SignalRefusedError';
  readonly statusCode = 400;
  readonly code = 'SIGNAL_REFUSED';
  readonly row: string;

  /** `publicMessage` names keys and numbers only, never a text the caller sent. */
  constructor(row: string, publicMessage: string) {
    super(publicMessage);
    this.row = row;
  }
}

/** The guards before an order (docs/contract.md#guards), by their rows. */
export const GUARD_ROWS = [
  'kill-switch',
  'stale-signal',
  'not-trading',
  'daily-loss',
  'order-limit',
  'position-limit',
  'orders-per-day',
] as const;
export type GuardRow = (typeof GUARD_ROWS)[number];

/** Each guard's status: what the refusal means to a program reading it. */
const GUARD_STATUS: Readonly<Record<GuardRow, number>> = {
  /** Locked: the deployment's kill switch is on. */
  'kill-switch': 423,
  'stale-signal': 422,
  /** Conflict with the instrument's state now: the same signal may pass once it trades. */
  'not-trading': 409,
  'daily-loss': 422,
  'order-limit': 422,
  'position-limit': 422,
  /** Too many requests: the day's orders are used up. */
  'orders-per-day': 429,
};

/**
 * A guard refused an entry before anything was sent to the broker (docs/contract.md#guards): the kill switch, a stale
 * signal, an instrument not trading, the day's loss, a limit. Its text shows the numbers it was decided on.
 */
export class GuardRefusedError extends HttpError {
  override readonly name = 'GuardRefusedError';
  readonly code = 'GUARD_REFUSED';
  readonly statusCode: number;
  readonly row: GuardRow;
  /** For the log line and the messages: the numbers it was decided on, never a text the caller sent. */
  readonly facts: Readonly<Record<string, number | string | boolean>>;

  constructor(row: GuardRow, publicMessage: string, facts: Readonly<Record<string, number | string | boolean>> = {}) {
    super(publicMessage);
    this.row = row;
    this.statusCode = GUARD_STATUS[row];
    this.facts = facts;
  }
}

/**
 * Another signal for the same account and instrument held the lock for as long as this one could wait
 * ([position-locked](docs/contract.md#position-locked)). Nothing was read or changed.
 */
export class PositionLockedError extends HttpError {
  override readonly name = 'PositionLockedError';
  readonly statusCode = 409;
  readonly code = 'POSITION_LOCKED';
  readonly row = 'position-locked';
  /** For the log: the lease was `held` by another signal, or the lock's store did not answer in time (`unanswered`). */
  readonly detail: 'held' | 'unanswered';

  constructor(detail: 'held' | 'unanswered' = 'held') {
    super('Другой сигнал по этому инструменту ещё исполняется: сигнал не исполнен, повторите его');
    this.detail = detail === 'unanswered' ? 'unanswered' : 'held';
  }
}

export class UnauthorizedError extends HttpError {
  override readonly name = 'UnauthorizedError';
  readonly statusCode = 401;
  readonly code = 'UNAUTHORIZED';
  readonly row = 'unauthorized';
  readonly reason: string;

  constructor(reason: string) {
    super('Unauthorized');
    this.reason = reason;
  }
}

/** The call came from an address `ALLOWED_SOURCE_IPS` does not list. */
export class ForbiddenSourceError extends HttpError {
  override readonly name = 'ForbiddenSourceError';
  readonly statusCode = 403;
  readonly code = 'FORBIDDEN_SOURCE';
  readonly row = 'forbidden-source';
  /** API Gateway's source address (not the caller's to choose, and not secret: the access log has it too). */
  readonly sourceIp: string | undefined;

  constructor(sourceIp: string | undefined) {
    super('Forbidden');
    this.sourceIp = sourceIp;
  }
}

/** A broker credential or account id is absent or empty in the store (the 404 rows of the contract). */
export class NotConfiguredError extends HttpError {
  override readonly name = 'NotConfiguredError';
  readonly statusCode = 404;
  readonly code = 'NOT_CONFIGURED';
  /** Which of the two is missing, for the log line (and the message that tells what to set). */
  readonly missing: 'credential' | 'account';
  readonly row: string;

  constructor(publicMessage: string, missing: 'credential' | 'account') {
    super(publicMessage);
    this.missing = missing;
    this.row = missing === 'account' ? 'no-account' : 'no-credential';
  }
}

/** The broker rejected our credential: Alor's refresh token (403) or T-Invest's token (400). */
export class BrokerCredentialRejectedError extends HttpError {
  override readonly name = 'BrokerCredentialRejectedError';
  readonly code = 'CREDENTIAL_REJECTED';
  readonly row = 'credential-rejected';
  readonly statusCode: number;

  constructor(statusCode: 400 | 403, publicMessage: string) {
    super(publicMessage);
    this.statusCode = statusCode;
  }
}

/** The reason an instrument the API may not trade is refused with. */
export const INSTRUMENT_NOT_TRADABLE = 'not tradable through the API';

/**
 * The broker cannot trade the instrument a signal names by its ticker (T-Invest: not found, not tradable through
 * the API): a 400 whose text says why, as a refused order's does.
 */
export class InstrumentRefusedError extends HttpError {
  override readonly name = 'InstrumentRefusedError';
  readonly statusCode = 400;
  readonly code = 'INSTRUMENT_REFUSED';
  /** Safe for logs: which of the refusals it is, never the broker's text. */
  readonly reason: string;
  readonly row: string;

  constructor(publicMessage: string, reason: string) {
    super(publicMessage);
    this.reason = reason;
    this.row = reason === INSTRUMENT_NOT_TRADABLE ? 'instrument-not-tradable' : 'instrument-not-found';
  }
}

/** Unreachable, reset, 5xx, 429, or an answer that is not the documented JSON. */
export class BrokerUnavailableError extends HttpError {
  override readonly name = 'BrokerUnavailableError';
  readonly statusCode = 502;
  readonly code = 'BROKER_UNAVAILABLE';
  readonly row = 'broker-unavailable';
  /** Safe for logs: a status code or an error class name, never a URL or body. */
  readonly detail: string;
  /** True when the broker cannot have acted on the request, so sending it again is safe. */
  readonly retriable: boolean;

  constructor(detail: string, options: { retriable: boolean; cause?: unknown }) {
    super('Брокер недоступен', { cause: options.cause });
    this.detail = detail;
    this.retriable = options.retriable;
  }
}

export class BrokerTimeoutError extends HttpError {
  override readonly name = 'BrokerTimeoutError';
  readonly statusCode = 504;
  readonly code = 'BROKER_TIMEOUT';
  readonly row = 'broker-timeout';
  readonly detail: string;

  constructor(detail: string, options?: ErrorOptions) {
    super('Брокер не ответил вовремя', options);
    this.detail = detail;
  }
}

/**
 * The secret store (Secrets Manager, SSM, or the extension before them) did not answer within the request's deadline:
 * nothing was sent to a broker.
 */
export class StoreTimeoutError extends HttpError {
  override readonly name = 'StoreTimeoutError';
  readonly statusCode = 504;
  readonly code = 'STORE_TIMEOUT';
  readonly row = 'store-timeout';
  /** Which read: `secret:<id>` or `parameter:<name>`, names only (never a value). */
  readonly key: string;

  constructor(key: string) {
    super('Хранилище секретов не ответило вовремя');
    this.key = key;
  }
}

export const INTERNAL_ERROR_MESSAGE = 'Внутренняя ошибка';

/** Narrows `unknown` from a catch clause without `as Error`. */
function isError(value: unknown): value is Error {
  return value instanceof Error;
}

/** Name and code of an error, for logs: never its message, which may quote a URL, a header or a body. */
export function describeError(error: unknown): { name: string; code?: string } {
  if (!isError(error)) return { name: typeof error };
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? { name: error.name, code } : { name: error.name };
}
