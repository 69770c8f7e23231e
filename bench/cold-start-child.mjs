// One cold start, run by `bench/cold-start.ts` in a fresh `node` process (plain JavaScript, so neither tsx nor a
// TypeScript loader is part of what is measured): import the bundled function, answer one `check: true`, then one
// order. Configuration comes from the environment as on Lambda; the figures go to file descriptor 3 as one JSON
// line, because the function's own log lines use stdout.
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ORDERS, webhookEvent } from './child-signal.mjs';

const processStartToScriptMs = performance.now();
const [bundlePath, broker] = process.argv.slice(2);

const event = (body) => webhookEvent(broker, body, `cold-${process.pid}`);

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
