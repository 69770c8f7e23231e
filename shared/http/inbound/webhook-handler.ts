import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { type SeparatedBody, separateBodySecret } from '../../auth/body-secret.ts';
import { checkWebhookSecret } from '../../auth/secret.ts';
import { SourceAllowList } from '../../auth/source-allow-list.ts';
import { parseAcceptedSecrets } from '../../auth/webhook-secrets.ts';
import type { OrderOutcome } from '../../brokers/outcome.ts';
import { type SignalOutcome, type SignalReport, signalMessage } from '../../brokers/signal-outcome.ts';
import type { CommonConfig } from '../../config.ts';
import {
  BrokerTimeoutError,
  BrokerUnavailableError,
  describeError,
  ForbiddenSourceError,
  GuardRefusedError,
  HttpError,
  INTERNAL_ERROR_MESSAGE,
  InstrumentRefusedError,
  InvalidPayloadError,
  NotConfiguredError,
  PositionLockedError,
  SignalRefusedError,
  StoreTimeoutError,
  UnauthorizedError,
} from '../../errors.ts';
import { type Broker, requestBudgetMs } from '../../facts.ts';
import { type LogFields, logger } from '../../logging.ts';
import { hasProtectionKeys, isVersionedBody, type Signal, type SignalParse } from '../../signal.ts';
import type { ValueStore } from '../../store/value-store.ts';
import type * as z from '../../zod.ts';
import { createDeadline, type Deadline } from '../outbound/deadline.ts';
import { toWebhookRequest } from './event.ts';
import { decodeJsonBody, IdempotencyKeySchema, isCheck, type ParseResult, parseDecodedBody } from './payload.ts';
import { jsonResponse, OK_BODY, textResponse, type WebhookResponse } from './response.ts';

/**
 * The policy every broker handler shares, in the order of the contract's rows: the caller's address (403, when an
 * allow-list is set), then authenticate (401) before anything else, answer `check`, validate (400), then let the broker part read its credentials (404) and
 * place the order. Errors become answers here and only here; each invocation logs one JSON line. A body with `ver`
 * (docs/contract.md#signals-ver-2) is a v2 signal, run by the signal recipe and answered in JSON, errors included.
 */

export interface OrderRequest<TOrder> {
  readonly order: TOrder;
  /** The caller's key, from the `Idempotency-Key` header or the body's `id`. */
  readonly idempotencyKey: string | undefined;
  /**
   * The broker calls' deadline, and the store reads' after the payload: `BROKER_TIMEOUT_MS` from the payload found
   * valid, never past the request's own deadline (docs/contract.md#deadline-and-retries).
   */
  readonly deadline: Deadline;
  /** Called once the order's terms are known, so that the line of a failure after it still says which order it was. */
  readonly termsKnown: (terms: LogFields) => void;
}

/** The order fields the handler reads itself: the caller's key, and the ticker the log line names the order by. */
export interface WebhookOrder {
  readonly idempotencyKey?: string | undefined;
  readonly ticker: string;
}

/** What became of an order, and what the invocation's log line says of it: nothing secret, in the broker's terms. */
export interface OrderResult {
  readonly outcome: OrderOutcome;
  readonly terms: LogFields;
}

/** A v2 signal to run, with what the handler knows of the invocation. */
export interface SignalRequest<TSignal> {
  readonly signal: TSignal;
  /** The caller's key, from the `Idempotency-Key` header or the body's `id`. */
  readonly idempotencyKey: string | undefined;
  /** API Gateway's request id of the call: a protected entry's follow-up carries it. */
  readonly requestId: string | undefined;
  readonly deadline: Deadline;
  /** Filled in as the signal runs, so that the answer and line of a failure midway say what was done. */
  readonly report: SignalReport;
  readonly termsKnown: (terms: LogFields) => void;
}

/** The v2 signals of a function (shared/signal.ts, shared/brokers/signal-recipe.ts). */
export interface SignalHandling<TFields> {
  readonly parse: (body: Record<string, unknown>) => SignalParse<TFields>;
  /** A body without `ver` that carries `sl`, `tp` or `trail`: today's order with its protection. */
  readonly parseProtected: (body: Record<string, unknown>) => SignalParse<TFields>;
  /** The first thing the signal asks that the broker lacks ([not-supported](docs/contract.md#not-supported)). */
  readonly unsupported: (signal: Signal<TFields>) => string | undefined;
  /** The answer to `{"check": true, "ver": …}`. */
  readonly capabilities: () => Record<string, unknown>;
  readonly run: (request: SignalRequest<Signal<TFields>>) => Promise<SignalOutcome>;
}

export interface WebhookHandlerOptions<TOrder extends WebhookOrder, TFields = unknown> {
  readonly broker: Broker;
  readonly config: CommonConfig;
  readonly store: ValueStore;
  readonly orderSchema: z.ZodMiniType<TOrder>;
  readonly placeOrder: (request: OrderRequest<TOrder>) => Promise<OrderResult>;
  /** Unset: the function takes no v2 signals (T-Invest API v1), and says so. */
  readonly signals?: SignalHandling<TFields> | undefined;
  /**
   * When the call arrived, given when the handler started (both `performance.now()`): the request's deadline counts
   * from it. @default the handler's start
   */
  readonly arrivedAt?: (startedAt: number) => number;
}

export type WebhookHandler = (
  event: APIGatewayProxyEventV2,
  context?: Pick<Context, 'awsRequestId'>,
) => Promise<WebhookResponse>;

/** A broker's refusal text is logged for the notifier's message, up to this length. */
const MAX_LOGGED_REASON_CHARS = 500;

function outcomeToAnswer(outcome: OrderOutcome): { response: WebhookResponse; fields: LogFields } {
  switch (outcome.status) {
    case 'placed':
      return {
        response: textResponse(200, OK_BODY),
        fields: { outcome: 'placed', brokerOrderId: outcome.orderId, replayed: outcome.replayed },
      };
    case 'dry-run':
      return { response: textResponse(200, OK_BODY), fields: { outcome: 'dry-run' } };
    case 'refused':
      return {
        response: textResponse(400, outcome.message),
        fields: { outcome: 'refused', reason: outcome.message.slice(0, MAX_LOGGED_REASON_CHARS) },
      };
  }
}

/**
 * A v2 signal's answer and log line. The answer says what happened (the position read, the target, the orders
 * cancelled and placed); the line says the same, with the order's terms as today's lines name them.
 */
function signalAnswer(outcome: SignalOutcome, ticker: string): { response: WebhookResponse; fields: LogFields } {
  const { report } = outcome;
  const entry = report.orders[0];
  const fields: LogFields = {
    outcome: outcome.result,
    signal: signalFields(report),
    ...(entry === undefined || outcome.result === 'dry-run'
      ? {}
      : { brokerOrderId: entry.id, replayed: entry.replayed === true }),
    ...(outcome.result === 'refused' ? { reason: signalMessage(outcome).slice(0, MAX_LOGGED_REASON_CHARS) } : {}),
  };
  const body = { result: outcome.result, message: signalMessage(outcome), ticker, ...reportBody(report) };
  return { response: jsonResponse(outcome.result === 'refused' ? 400 : 200, body), fields };
}

/** What a v2 answer says was done, in the contract's order (docs/contract.md#answers-to-a-v2-signal). */
function reportBody(report: SignalReport): Record<string, unknown> {
  return {
    intent: report.intent,
    ...(report.position === undefined
      ? {}
      : { position: report.position, working: report.working, target: report.target }),
    ...(report.size === undefined ? {} : { size: report.size }),
    cancelled: report.cancelled,
    orders: report.orders,
    ...(report.protection === undefined ? {} : { protection: report.protection }),
  };
}

/** What the log line says of a signal's run: the numbers and the broker ids, nothing the caller wrote. */
function signalFields(report: SignalReport): LogFields {
  return {
    intent: report.intent,
    ...(report.position === undefined ? {} : { position: report.position, working: report.working }),
    ...(report.target === undefined ? {} : { target: report.target }),
    ...(report.size === undefined ? {} : { size: report.size }),
    cancelled: report.cancelled.length,
    ...(report.cancelled.length === 0 ? {} : { cancelledOrderIds: report.cancelled }),
    ...(report.protection === undefined ? {} : { protection: protectionFields(report) }),
  };
}

/** What the line says of the entry's protection, with the ids of the protective orders placed in the request. */
function protectionFields(report: SignalReport): LogFields {
  const legs = report.orders.filter((order) => order.leg !== 'entry' && order.id !== undefined);
  return {
    ...report.protection,
    ...(legs.length === 0 ? {} : { orderIds: Object.fromEntries(legs.map((order) => [order.leg, order.id])) }),
  };
}

/** Safe, specific log fields for a known error: reasons and codes, never values. */
function errorFields(error: HttpError): LogFields {
  if (error instanceof ForbiddenSourceError) return { outcome: 'forbidden-source', sourceIp: error.sourceIp };
  if (error instanceof UnauthorizedError) return { outcome: 'unauthorized', reason: error.reason };
  if (error instanceof InvalidPayloadError) return { outcome: 'invalid', issues: error.issues };
  if (error instanceof PositionLockedError) return { outcome: 'position-locked', lock: error.detail };
  if (error instanceof SignalRefusedError)
    return { outcome: 'signal-refused', rule: error.row, reason: error.publicMessage };
  if (error instanceof GuardRefusedError) {
    return { outcome: 'guard-refused', rule: error.row, reason: error.publicMessage, guard: error.facts };
  }
  if (error instanceof NotConfiguredError) return { outcome: 'not_configured', missing: error.missing };
  if (error instanceof InstrumentRefusedError) return { outcome: 'instrument-refused', reason: error.reason };
  if (error instanceof BrokerUnavailableError || error instanceof BrokerTimeoutError) {
    return { outcome: error.code.toLowerCase(), upstream: error.detail };
  }
  if (error instanceof StoreTimeoutError) return { outcome: error.code.toLowerCase(), store: error.key };
  return { outcome: error.code.toLowerCase() };
}

/** What an invocation learns as it goes, for the line (and the answer) of a failure after it. */
interface Described {
  order?: LogFields;
  /** A v2 signal's body: every answer is JSON. */
  json?: boolean;
  signal?: SignalReport;
}

/** A v2 signal's answer to a failure: the row's id and text, and what was done before it. */
function errorBody(error: HttpError, described: Described): Record<string, unknown> {
  return {
    result: error.row,
    message: error.publicMessage,
    ...(error instanceof InvalidPayloadError ? { issues: error.issues } : {}),
    ...(described.order?.ticker === undefined ? {} : { ticker: described.order.ticker }),
    ...(described.signal === undefined ? {} : reportBody(described.signal)),
  };
}

const NO_SIGNALS_MESSAGE = 'Эта функция не принимает сигналы ver 2 (TINKOFF_API=v1)';

export function createWebhookHandler<TOrder extends WebhookOrder, TFields = unknown>(
  options: WebhookHandlerOptions<TOrder, TFields>,
): WebhookHandler {
  const { broker, config, store, orderSchema, placeOrder, signals } = options;
  const arrivedAt = options.arrivedAt ?? ((startedAt: number) => startedAt);
  const budgetMs = requestBudgetMs(config.brokerTimeoutMs);
  const log = logger.child({ broker });
  const allowList = config.allowedSources === undefined ? undefined : new SourceAllowList(config.allowedSources);

  /**
   * `described` receives the order's ticker once the payload is valid, and its terms once the broker part knows them,
   * so that the line of a failure after it (404, 502, 504, 500) still says which order it was.
   */
  /** The header key, when the caller sent one: it must be one the body's `id` could be. */
  const headerKeyOf = (header: string | undefined): string | undefined => {
    if (header !== undefined && !IdempotencyKeySchema.safeParse(header).success) {
      throw new InvalidPayloadError(['Idempotency-Key: must be 1-64 printable characters']);
    }
    return header;
  };

  /** A body with `ver`: the capabilities, or a v2 signal run by the recipe. */
  const answerSignal = async (
    body: Record<string, unknown>,
    headerKey: string | undefined,
    auth: string,
    described: Described,
    requestDeadline: Deadline,
    requestId: string | undefined,
  ): Promise<{ response: WebhookResponse; fields: LogFields }> => {
    described.json = true;
    if (isCheck(body)) {
      const capabilities = signals?.capabilities() ?? { broker, versions: [], dryRun: config.dryRun };
      return {
        response: jsonResponse(200, { result: 'check', message: OK_BODY, ...capabilities }),
        fields: { outcome: 'check', auth },
      };
    }
    if (signals === undefined) throw new SignalRefusedError('not-supported', NO_SIGNALS_MESSAGE);
    const parsed = isVersionedBody(body) ? signals.parse(body) : signals.parseProtected(body);
    if (!parsed.success) throw new InvalidPayloadError(parsed.problem.issues, parsed.problem);
    const { signal } = parsed;
    const idempotencyKey = headerKeyOf(headerKey) ?? signal.idempotencyKey;
    described.order = { ticker: signal.ticker };
    const unsupported = signals.unsupported(signal);
    if (unsupported !== undefined) throw new SignalRefusedError('not-supported', unsupported);
    const report: SignalReport = { intent: signal.intent.kind, cancelled: [], orders: [] };
    described.signal = report;
    let terms: LogFields | undefined;
    const outcome = await signals.run({
      signal,
      idempotencyKey,
      requestId,
      // The order's deadline, as today's body has it: every store read and broker call inside the request's budget.
      deadline: createDeadline(Math.min(config.brokerTimeoutMs, requestDeadline.remainingMs())),
      report,
      termsKnown: (known) => {
        terms = known;
        described.order = { order: known, ticker: signal.ticker };
      },
    });
    const result = signalAnswer(outcome, signal.ticker);
    return {
      response: result.response,
      fields: {
        ...result.fields,
        ...(terms === undefined ? {} : { order: terms }),
        ticker: signal.ticker,
        auth,
        dryRun: config.dryRun,
      },
    };
  };

  const answer = async (
    event: APIGatewayProxyEventV2,
    described: Described,
    requestDeadline: Deadline,
    requestId: string | undefined,
  ): Promise<{ response: WebhookResponse; fields: LogFields }> => {
    const request = toWebhookRequest(event);
    // Before the secret is even read from the store: a caller from elsewhere learns nothing and costs nothing.
    if (allowList !== undefined && !allowList.allows(request.sourceIp)) {
      throw new ForbiddenSourceError(request.sourceIp);
    }
    // Decoded once, when first needed: by the secret check when the secret can only be in the body, else after it.
    let separated: SeparatedBody | undefined;
    const body = () => {
      separated ??= separateBodySecret(decodeJsonBody(request.rawBody));
      return separated;
    };
    const accepted = parseAcceptedSecrets(await store.readSecret(config.webhookSecret, requestDeadline));
    const auth = checkWebhookSecret(
      {
        header: request.webhookSecretHeader,
        query: request.secretQuery,
        signature: request.signatureHeader,
        rawBody: request.rawBody,
        bodySecret: () => body().secret,
      },
      accepted,
    );
    if (!auth.ok) throw new UnauthorizedError(auth.reason);

    const decoded: ParseResult<unknown> = body().body;
    // A body with `ver` is a v2 signal; one without it that asks for protection is today's order with its protection
    // (docs/contract.md#protection), run by the same recipe: never traded with the stop quietly dropped.
    if (
      decoded.success &&
      (isVersionedBody(decoded.data) || (!isCheck(decoded.data) && hasProtectionKeys(decoded.data)))
    ) {
      const headerKey = request.idempotencyKeyHeader;
      return answerSignal(decoded.data, headerKey, auth.method, described, requestDeadline, requestId);
    }
    const parsed = parseDecodedBody(decoded, orderSchema);
    if (!parsed.success) throw new InvalidPayloadError(parsed.issues);
    if (parsed.data.kind === 'check') {
      return { response: textResponse(200, OK_BODY), fields: { outcome: 'check', auth: auth.method } };
    }
    const headerKey = headerKeyOf(request.idempotencyKeyHeader);
    const { order } = parsed.data;
    described.order = { ticker: order.ticker };
    const { outcome, terms } = await placeOrder({
      order,
      idempotencyKey: headerKey ?? order.idempotencyKey,
      deadline: createDeadline(Math.min(config.brokerTimeoutMs, requestDeadline.remainingMs())),
      termsKnown: (known) => {
        described.order = { order: known, ticker: order.ticker };
      },
    });
    const result = outcomeToAnswer(outcome);
    return {
      response: result.response,
      fields: { ...result.fields, order: terms, ticker: order.ticker, auth: auth.method, dryRun: config.dryRun },
    };
  };

  return async (event, context) => {
    const startedAt = performance.now();
    const arrived = arrivedAt(startedAt);
    // Counted from the arrival: every store read and broker call of the request ends by it.
    const requestDeadline = createDeadline(Math.max(0, budgetMs - (startedAt - arrived)));
    const requestId = event.requestContext?.requestId ?? context?.awsRequestId;
    let response: WebhookResponse;
    let fields: LogFields;
    const described: Described = {};
    try {
      ({ response, fields } = await answer(event, described, requestDeadline, requestId));
    } catch (error) {
      const progress = described.signal === undefined ? {} : { signal: signalFields(described.signal) };
      if (error instanceof HttpError) {
        response = described.json
          ? jsonResponse(error.statusCode, errorBody(error, described))
          : textResponse(error.statusCode, error.publicMessage);
        fields = { ...errorFields(error), ...described.order, ...progress };
      } else {
        // Only the name and code: an SDK or library message may quote a secret id, a URL or a body.
        response = described.json
          ? jsonResponse(500, {
              result: 'internal-error',
              message: INTERNAL_ERROR_MESSAGE,
              ...(described.signal === undefined ? {} : reportBody(described.signal)),
            })
          : textResponse(500, INTERNAL_ERROR_MESSAGE);
        fields = { outcome: 'error', error: describeError(error), ...described.order, ...progress };
      }
    }
    const level = response.statusCode >= 500 ? 'error' : 'info';
    log[level]('webhook answered', {
      requestId,
      status: response.statusCode,
      latencyMs: Math.round((performance.now() - startedAt) * 100) / 100,
      ...(arrived === startedAt ? {} : { sinceArrivalMs: Math.round(performance.now() - arrived) }),
      ...fields,
      ...(fields.outcome === 'store_timeout' ? { budgetMs } : {}),
    });
    return response;
  };
}
