import { timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import undiciRequest from 'undici/lib/api/api-request.js';
import UndiciAgent from 'undici/lib/dispatcher/agent.js';

/**
 * The floor of a cold start, shared by the two floor bundles the bench starts beside the functions in the same run
 * (`floor-handler.ts`, `floor-store-handler.ts`): a handler that loads undici the way the functions do and parses the
 * body as JSON. No schema, no configuration, no broker client: whatever a function's cold start costs above a floor
 * is its own.
 */
export const floorAgent = new UndiciAgent({ connections: 1 });

export function floorHandler(secret: Buffer) {
  return async (event: APIGatewayProxyEventV2) => {
    const given = Buffer.from(event.headers?.['x-webhook-secret'] ?? '');
    if (given.length !== secret.length || !timingSafeEqual(given, secret)) {
      return { statusCode: 401, body: 'Unauthorized' };
    }
    const body: unknown = JSON.parse(event.body ?? 'null');
    // Kept reachable, so the bundler keeps undici's request in the floor.
    if (body === 'never')
      await undiciRequest.call(floorAgent, { origin: 'http://127.0.0.1', path: '/', method: 'GET' });
    return { statusCode: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '200 OK' };
  };
}
