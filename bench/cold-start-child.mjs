// One cold start, run by `bench/cold-start.ts` in a fresh `node` process (plain JavaScript, so neither tsx nor a
// TypeScript loader is part of what is measured): import the bundled function, answer one `check: true`, then one
// order. Configuration comes from the environment as on Lambda; the figures go to file descriptor 3 as one JSON
// line, because the function's own log lines use stdout.
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const processStartToScriptMs = performance.now();
const [bundlePath, broker] = process.argv.slice(2);
const secret = process.env.BENCH_WEBHOOK_SECRET ?? '';

function event(body) {
  return {
    version: '2.0',
    routeKey: `POST /${broker}`,
    rawPath: `/${broker}`,
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'x-webhook-secret': secret },
    requestContext: { requestId: `cold-${process.pid}`, http: { method: 'POST', path: `/${broker}` } },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}

const ORDERS = {
  alor: { t: 'AAPL', p: '190.5', v: 1, d: 'buy' },
  tinkoff: { t: 'AAPL', p: '190.5', v: 1, d: 'buy', f: 'BBG000B9XRY4' },
};

const importStart = performance.now();
const { handler } = await import(pathToFileURL(bundlePath).href);
const imported = performance.now();
const check = await handler(event({ check: true }));
const checked = performance.now();
const order = await handler(event(ORDERS[broker]));
const ordered = performance.now();

writeSync(
  3,
  `${JSON.stringify({
    nodeBootMs: processStartToScriptMs,
    importMs: imported - importStart,
    firstCheckMs: checked - imported,
    coldStartMs: checked - importStart,
    firstOrderMs: ordered - checked,
    maxRssKb: process.resourceUsage().maxRSS,
    checkStatus: check.statusCode,
    orderStatus: order.statusCode,
    orderBody: order.statusCode === 200 ? undefined : order.body,
  })}\n`,
);
// The keep-alive sockets of the function would hold the process open; a Lambda container is frozen instead.
process.exit(0);
