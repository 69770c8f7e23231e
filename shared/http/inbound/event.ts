import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** The parts of an API Gateway HTTP API (payload 2.0) event a webhook reads. */
export interface WebhookRequest {
  readonly rawBody: Uint8Array;
  readonly webhookSecretHeader: string | undefined;
  readonly secretQuery: string | undefined;
  readonly signatureHeader: string | undefined;
  readonly idempotencyKeyHeader: string | undefined;
  /** The caller's address as API Gateway saw it. */
  readonly sourceIp: string | undefined;
}

/** Header names arrive lower-cased from HTTP APIs; look both ways so hand-made events behave the same. */
function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const headers = event.headers ?? {};
  return headers[name] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
}

export function toWebhookRequest(event: APIGatewayProxyEventV2): WebhookRequest {
  const body = event.body ?? '';
  return {
    rawBody: event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8'),
    webhookSecretHeader: header(event, 'x-webhook-secret'),
    secretQuery: event.queryStringParameters?.secret,
    signatureHeader: header(event, 'x-hook-signature'),
    idempotencyKeyHeader: header(event, 'idempotency-key'),
    sourceIp: event.requestContext?.http?.sourceIp,
  };
}
