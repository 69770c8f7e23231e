import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, ScheduledEvent } from 'aws-lambda';
import { toApiGatewayEvent } from '#local/api-gateway-event.ts';

/**
 * API Gateway HTTP API (payload format 2.0) events for driving the exported handlers, built from a real event
 * as API Gateway delivers it (`tests/fixtures/events/http-api-v2-post.json`). Each call clones the fixture, so
 * tests can mutate what they get back without affecting each other.
 *
 * ```ts
 * apiGatewayEvent({ route: 'POST /tinkoff', body: JSON.stringify(order), headers: { 'x-webhook-secret': s } });
 * apiGatewayEvent({ body: '{"check":true}', query: { secret: s } });          // ?secret=… as Realm sent it
 * apiGatewayEvent({ body: Buffer.from(json), headers: { 'content-type': 'application/octet-stream' } }); // base64
 * ```
 */

const FIXTURE: APIGatewayProxyEventV2 = JSON.parse(
  readFileSync(new URL('../fixtures/events/http-api-v2-post.json', import.meta.url), 'utf8'),
);

export interface ApiGatewayEventOptions {
  /**
   * The raw request body. A string is the text the caller sent; bytes (`Uint8Array`/`Buffer`) are delivered
   * base64-encoded, as API Gateway does for binary content. `undefined` leaves the body out (no body sent).
   * @default '{}'
   */
  readonly body?: string | Uint8Array | undefined;
  /**
   * Headers to set over the fixture's. Names are lower-cased as HTTP APIs deliver them; `undefined` removes a
   * header (e.g. `{ 'content-type': undefined }`). `content-length` follows the body unless given here.
   */
  readonly headers?: Readonly<Record<string, string | undefined>>;
  /**
   * Query parameters, filling both `rawQueryString` and `queryStringParameters`. A string is taken as the raw
   * query (without `?`); repeated names are joined with a comma in `queryStringParameters`, as API Gateway does.
   */
  readonly query?: Readonly<Record<string, string>> | string;
  /** Deliver a string body base64-encoded (`isBase64Encoded: true`). @default false (true for byte bodies) */
  readonly base64?: boolean;
  /** `"<METHOD> <path>"`, e.g. `'POST /tinkoff'`. @default 'POST /alor' */
  readonly route?: string;
  /** The caller's address as API Gateway saw it (`requestContext.http.sourceIp`). @default the fixture's 203.0.113.10 */
  readonly sourceIp?: string;
}

let sequence = 0;

function queryParameters(rawQuery: string): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQuery)) {
    parameters[name] = parameters[name] === undefined ? value : `${parameters[name]},${value}`;
  }
  return Object.keys(parameters).length === 0 ? undefined : parameters;
}

/** A fresh HTTP API v2 POST event; see the module comment for examples. */
export function apiGatewayEvent(options: ApiGatewayEventOptions = {}): APIGatewayProxyEventV2 {
  const event = structuredClone(FIXTURE);
  const route = options.route ?? 'POST /alor';
  const [method = 'POST', path = '/'] = route.split(' ');
  event.routeKey = route;
  event.rawPath = path;
  event.requestContext.routeKey = route;
  event.requestContext.http.method = method;
  event.requestContext.http.path = path;
  if (options.sourceIp !== undefined) event.requestContext.http.sourceIp = options.sourceIp;
  // Distinct per event, as API Gateway's are, so log lines of different invocations can be told apart.
  sequence += 1;
  event.requestContext.requestId = `test-request-${sequence}`;

  const body = options.body === undefined && !('body' in options) ? '{}' : options.body;
  const bytes =
    typeof body === 'string' ? Buffer.from(body, 'utf8') : body === undefined ? undefined : Buffer.from(body);
  const base64 = options.base64 === true || (body !== undefined && typeof body !== 'string');
  if (bytes === undefined) {
    delete event.body;
    delete event.headers['content-length'];
  } else {
    event.body = base64 || typeof body !== 'string' ? bytes.toString('base64') : body;
    event.headers['content-length'] = String(bytes.byteLength);
  }
  event.isBase64Encoded = bytes !== undefined && base64;

  for (const [name, value] of Object.entries(options.headers ?? {})) {
    const key = name.toLowerCase();
    if (value === undefined) delete event.headers[key];
    else event.headers[key] = value;
  }

  const rawQuery =
    typeof options.query === 'string' ? options.query : new URLSearchParams(options.query ?? {}).toString();
  event.rawQueryString = rawQuery;
  const parameters = queryParameters(rawQuery);
  if (parameters === undefined) delete event.queryStringParameters;
  else event.queryStringParameters = parameters;
  return event;
}

/** What the optional EventBridge keep-warm schedule sends a function (infra/gateway-stack.ts, keepWarmMinutes). */
export const SCHEDULED_EVENT: ScheduledEvent = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2026-12-01T10:00:00Z',
  region: 'eu-central-1',
  resources: ['arn:aws:events:eu-central-1:123456789012:rule/PppWebhooks-KeepWarm'],
  detail: {},
};

/**
 * An order whose unknown field `note` holds the byte 0xff (not UTF-8), sent with `contentType` and the webhook secret
 * header, as API Gateway delivers it: a text type's body as a string (the byte become U+FFFD), any other base64.
 */
export function invalidUtf8OrderEvent(
  broker: 'alor' | 'tinkoff',
  order: Record<string, unknown>,
  contentType: string,
  secret: string,
): APIGatewayProxyEventV2 {
  const json = JSON.stringify({ ...order, note: 'x' }).replace('"x"', '"\xff"');
  return toApiGatewayEvent({
    method: 'POST',
    url: `/${broker}`,
    headers: { 'content-type': contentType, 'x-webhook-secret': secret },
    body: Buffer.from(json, 'latin1'),
    routeKey: `POST /${broker}`,
  });
}
