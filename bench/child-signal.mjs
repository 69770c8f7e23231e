// What the measured children (`cold-start-child.mjs`, `first-order-child.mjs`) send: an API Gateway HTTP API event
// as the function receives it, with the bench's webhook secret, and one order per broker the paper brokers accept.

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
