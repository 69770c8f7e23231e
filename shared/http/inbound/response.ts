import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export type WebhookResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

/** Every answer of the contract is plain text, byte for byte. */
export function textResponse(statusCode: number, body: string): WebhookResponse {
  return {
    statusCode,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    body,
  };
}

export const OK_BODY = '200 OK';
