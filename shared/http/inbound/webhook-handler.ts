import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { type SeparatedBody, separateBodySecret } from '../../auth/body-secret.ts';
import { checkWebhookSecret } from '../../auth/secret.ts';
import { SourceAllowList } from '../../auth/source-allow-list.ts';
import { parseAcceptedSecrets } from '../../auth/webhook-secrets.ts';
import type { OrderOutcome } from '../../brokers/outcome.ts';
import type { CommonConfig } from '../../config.ts';
import {
  BrokerTimeoutError,
  BrokerUnavailableError,
  describeError,
  ForbiddenSourceError,
  HttpError,
  INTERNAL_ERROR_MESSAGE,
  InstrumentRefusedError,
  InvalidPayloadError,
  NotConfiguredError,
  StoreTimeoutError,
  UnauthorizedError,
} from '../../errors.ts';
import { type Broker, requestBudgetMs } from '../../facts.ts';
import { type LogFields, logger } from '../../logging.ts';
import { decodeJsonBody, IdempotencyKeySchema, parseDecodedBody } from '../../payload.ts';
import type { SecretStore } from '../../secrets.ts';
import type * as z from '../../zod.ts';
import { createDeadline, type Deadline } from '../outbound/deadline.ts';
import { toWebhookRequest } from './event.ts';
import { OK_BODY, textResponse, type WebhookResponse } from './response.ts';

/**
 * The policy every broker handler shares, in the order of the contract's rows: the caller's address (403, when an
 * allow-list is set), then authenticate (401) before anything else, answer `check`, validate (400), then let the broker part read its credentials (404) and
 * place the order. Errors become answers here and only here; each invocation logs one JSON line.
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

export interface WebhookHandlerOptions<TOrder extends WebhookOrder> {
  readonly broker: Broker;
  readonly config: CommonConfig;
  readonly store: SecretStore;
  readonly orderSchema: z.ZodMiniType<TOrder>;
  readonly placeOrder: (request: OrderRequest<TOrder>) => Promise<OrderResult>;
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

/** Safe, specific log fields for a known error: reasons and codes, never values. */
function errorFields(error: HttpError): LogFields {
  if (error instanceof ForbiddenSourceError) return { outcome: 'forbidden-source', sourceIp: error.sourceIp };
  if (error instanceof UnauthorizedError) return { outcome: 'unauthorized', reason: error.reason };
  if (error instanceof InvalidPayloadError) return { outcome: 'invalid', issues: error.issues };
  if (error instanceof NotConfiguredError) return { outcome: 'not_configured', missing: error.missing };
  if (error instanceof InstrumentRefusedError) return { outcome: 'instrument-refused', reason: error.reason };
  if (error instanceof BrokerUnavailableError || error instanceof BrokerTimeoutError) {
    return { outcome: error.code.toLowerCase(), upstream: error.detail };
  }
  if (error instanceof StoreTimeoutError) return { outcome: error.code.toLowerCase(), store: error.key };
  return { outcome: error.code.toLowerCase() };
}

export function createWebhookHandler<TOrder extends WebhookOrder>(
  options: WebhookHandlerOptions<TOrder>,
): WebhookHandler {
  const { broker, config, store, orderSchema, placeOrder } = options;
  const arrivedAt = options.arrivedAt ?? ((startedAt: number) => startedAt);
  const budgetMs = requestBudgetMs(config.brokerTimeoutMs);
  const log = logger.child({ broker });
  const allowList = config.allowedSources === undefined ? undefined : new SourceAllowList(config.allowedSources);

  /**
   * `described` receives the order's ticker once the payload is valid, and its terms once the broker part knows them,
   * so that the line of a failure after it (404, 502, 504, 500) still says which order it was.
   */
  const answer = async (
    event: APIGatewayProxyEventV2,
    described: { order?: LogFields },
    requestDeadline: Deadline,
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

    const parsed = parseDecodedBody(body().body, orderSchema);
    if (!parsed.success) throw new InvalidPayloadError(parsed.issues);
    if (parsed.data.kind === 'check') {
      return { response: textResponse(200, OK_BODY), fields: { outcome: 'check', auth: auth.method } };
    }
    const headerKey = request.idempotencyKeyHeader;
    if (headerKey !== undefined && !IdempotencyKeySchema.safeParse(headerKey).success) {
      throw new InvalidPayloadError(['Idempotency-Key: must be 1-64 printable characters']);
    }
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
    const described: { order?: LogFields } = {};
    try {
      ({ response, fields } = await answer(event, described, requestDeadline));
    } catch (error) {
      if (error instanceof HttpError) {
        response = textResponse(error.statusCode, error.publicMessage);
        fields = { ...errorFields(error), ...described.order };
      } else {
        // Only the name and code: an SDK or library message may quote a secret id, a URL or a body.
        response = textResponse(500, INTERNAL_ERROR_MESSAGE);
        fields = { outcome: 'error', error: describeError(error), ...described.order };
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
