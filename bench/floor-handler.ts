import { timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import undiciRequest from 'undici/lib/api/api-request.js';
import UndiciAgent from 'undici/lib/dispatcher/agent.js';

/**
 * The floor of a cold start, built and started beside the functions in the same bench run: a handler that loads
 * undici the way the functions do and parses the body as JSON, with its secret from the environment. No store, no
 * schema, no broker client: whatever a function's cold start costs above this is its own.
 */
const agent = new UndiciAgent({ connections: 1 });
const secret = Buffer.from(process.env.BENCH_WEBHOOK_SECRET ?? '');

export async function handler(event: APIGatewayProxyEventV2) {
  const given = Buffer.from(event.headers?.['x-webhook-secret'] ?? '');
  if (given.length !== secret.length || !timingSafeEqual(given, secret))
    return { statusCode: 401, body: 'Unauthorized' };
  const body: unknown = JSON.parse(event.body ?? 'null');
  // Kept reachable, so the bundler keeps undici's request in the floor.
  if (body === 'never') await undiciRequest.call(agent, { origin: 'http://127.0.0.1', path: '/', method: 'GET' });
  return { statusCode: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '200 OK' };
}
