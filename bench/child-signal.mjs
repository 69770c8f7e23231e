// What the measured children (`cold-start-child.mjs`, `first-order-child.mjs`, `position-child.mjs`) send: an API
// Gateway HTTP API event as the function receives it, with the bench's webhook secret, one order per broker the paper
// brokers accept, and the bare order they are measured beside.

export const ORDERS = {
  alor: { t: 'AAPL', p: '190.5', v: 1, d: 'buy' },
  tinkoff: { t: 'AAPL', p: '190.5', v: 1, d: 'buy', f: 'BBG000B9XRY4' },
};

export function webhookEvent(broker, body, requestId) {
  return {
    version: '2.0',
    routeKey: `POST /${broker}`,
    rawPath: `/${broker}`,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'x-webhook-secret': process.env.BENCH_WEBHOOK_SECRET ?? '' },
    requestContext: { requestId, http: { method: 'POST', path: `/${broker}` } },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}

/**
 * The bare order of `BENCH_BARE_ORDER` (bench/first-order.ts, BareOrderRequest), the floor a child compares the function
 * with: `connection()` opens an undici client to its origin, `send(client)` sends the order on it with a fresh
 * idempotency key and gives its status. Imported when asked for, after what a child times first.
 */
export async function bareOrder() {
  const { Client } = await import('undici');
  const { randomUUID } = await import('node:crypto');
  const order = JSON.parse(process.env.BENCH_BARE_ORDER);
  const url = new URL(order.url);
  const send = async (client) => {
    const id = randomUUID();
    const headers = Object.fromEntries(
      Object.entries(order.headers).map(([name, value]) => [name, value.replaceAll('{{id}}', id)]),
    );
    const response = await client.request({
      path: url.pathname,
      method: 'POST',
      headers,
      body: order.body.replaceAll('{{id}}', id),
    });
    await response.body.text();
    return response.statusCode;
  };
  return { connection: () => new Client(url.origin), send };
}
