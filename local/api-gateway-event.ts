import { randomBytes, randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';

/**
 * What API Gateway does around a Lambda function, for the local run: an HTTP request becomes an HTTP API
 * payload format 2.0 event, and the function's result becomes the HTTP answer. The rules follow API Gateway's:
 * header names lower-cased and repeated headers joined with commas, cookies moved to `cookies`, repeated query
 * parameters joined with commas in `queryStringParameters`, and the body delivered as text only for text content
 * types (`text/*`, `application/json`, `application/xml`, `application/javascript`); every other body, including
 * one with no content type, arrives base64-encoded with `isBase64Encoded: true`. No body: `body` is absent.
 */

/** An HTTP request as the local server received it. */
export interface LocalRequest {
  readonly method: string;
  /** The request target: path and query, as sent (`/alor?secret=…`). */
  readonly url: string;
  /** Each header's values as received (node's `request.headersDistinct`); names in any case. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The raw body; empty when none was sent. */
  readonly body: Uint8Array;
  /** The route that matched, `"<METHOD> <path>"`. */
  readonly routeKey: string;
  /** @default '127.0.0.1' */
  readonly sourceIp?: string;
  /** @default 'HTTP/1.1' */
  readonly protocol?: string;
  /** @default the current time */
  readonly receivedAt?: Date;
}

/** Text types API Gateway HTTP APIs pass through as UTF-8; everything else is base64 (a missing type too). */
const TEXT_TYPES = new Set(['application/json', 'application/xml', 'application/javascript']);

export function isTextContentType(contentType: string | undefined): boolean {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type === undefined || type === '') return false;
  return type.startsWith('text/') || TEXT_TYPES.has(type);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `04/Feb/2025:10:15:30 +0000`, API Gateway's `requestContext.time`. */
export function gatewayTime(date: Date): string {
  const two = (value: number) => String(value).padStart(2, '0');
  return (
    `${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`
  );
}

function queryParameters(rawQuery: string): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQuery)) {
    parameters[name] = parameters[name] === undefined ? value : `${parameters[name]},${value}`;
  }
  return Object.keys(parameters).length === 0 ? undefined : parameters;
}

/** An HTTP API (payload format 2.0) event for a request, as API Gateway would deliver it to the function. */
export function toApiGatewayEvent(request: LocalRequest): APIGatewayProxyEventV2 {
  const receivedAt = request.receivedAt ?? new Date();
  const sourceIp = request.sourceIp ?? '127.0.0.1';
  const queryStart = request.url.indexOf('?');
  const rawPath = queryStart === -1 ? request.url : request.url.slice(0, queryStart);
  const rawQueryString = queryStart === -1 ? '' : request.url.slice(queryStart + 1);

  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const values = typeof value === 'string' ? [value] : [...value];
    const key = name.toLowerCase();
    if (key === 'cookie') {
      cookies = [...(cookies ?? []), ...values.flatMap((line) => line.split(/;\s*/)).filter((part) => part !== '')];
      continue;
    }
    headers[key] = headers[key] === undefined ? values.join(',') : `${headers[key]},${values.join(',')}`;
  }
  const host = headers.host ?? '127.0.0.1';
  headers['x-forwarded-for'] =
    headers['x-forwarded-for'] === undefined ? sourceIp : `${headers['x-forwarded-for']}, ${sourceIp}`;
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = /:(\d+)$/.exec(host)?.[1] ?? '80';
  headers['x-amzn-trace-id'] =
    `Root=1-${Math.floor(receivedAt.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;

  const [method = request.method] = request.routeKey.split(' ');
  const domainName = host.replace(/:\d+$/, '');
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: request.routeKey,
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method,
        path: rawPath,
        protocol: request.protocol ?? 'HTTP/1.1',
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: request.routeKey,
      stage: '$default',
      time: gatewayTime(receivedAt),
      timeEpoch: receivedAt.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookies !== undefined) event.cookies = cookies;
  const parameters = queryParameters(rawQueryString);
  if (parameters !== undefined) event.queryStringParameters = parameters;
  if (request.body.byteLength > 0) {
    const text = isTextContentType(headers['content-type']);
    event.body = Buffer.from(request.body).toString(text ? 'utf8' : 'base64');
    event.isBase64Encoded = !text;
  }
  return event;
}

/** An HTTP answer: what API Gateway sends back for a function's result. */
export interface GatewayAnswer {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

/**
 * The HTTP answer for a function's result. A structured result (`{ statusCode, headers, cookies, body,
 * isBase64Encoded }`) is used as it is; anything else is taken as a JSON body with status 200, as HTTP APIs
 * do for payload format 2.0.
 */
export function fromApiGatewayResult(result: APIGatewayProxyResultV2): GatewayAnswer {
  if (typeof result !== 'object' || result === null || !('statusCode' in result)) {
    const body = Buffer.from(typeof result === 'string' ? result : (JSON.stringify(result) ?? ''), 'utf8');
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body };
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name.toLowerCase()] = String(value);
  if (result.cookies !== undefined && result.cookies.length > 0) headers['set-cookie'] = result.cookies;
  const text = result.body ?? '';
  const body = result.isBase64Encoded ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  return { statusCode: result.statusCode ?? 200, headers, body };
}
