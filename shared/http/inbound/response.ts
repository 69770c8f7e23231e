import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type WebhookResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

/** Every answer of the contract to today's body is plain text, byte for byte. */
export function textResponse(statusCode: number, body: string): WebhookResponse {
  return {
    statusCode,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    body,
  };
}

/** A v2 signal's answer (docs/contract.md#answers-to-a-v2-signal): one JSON object, readable by a person and a program. */
export function jsonResponse(statusCode: number, body: Record<string, unknown>): WebhookResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}

export const OK_BODY = '200 OK';
