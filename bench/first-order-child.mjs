// One "first order over a network" run, started by `bench/first-order.ts` in a fresh `node` process: import the
// bundled function, send one order at once (no `check` first, as a real first signal), then warm orders on the same
// container (the connections open, the code compiled: the median of the last half is the warm figure).
// The timeline of connections and requests comes from the diagnostics channels undici and node:http publish, so
// the bundle is measured unchanged. The figures go to file descriptor 3 as one JSON line.
import { subscribe } from 'node:diagnostics_channel';
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { bareOrder, ORDERS, webhookEvent } from './child-signal.mjs';

const [bundlePath, broker, warmOrdersText, mode] = process.argv.slice(2);
const warmOrders = Number(warmOrdersText);
const events = [];
const at = () => performance.now();

const connecting = new Map();
const originOf = (params) => `${params.protocol}//${params.host}`;
subscribe('undici:client:beforeConnect', ({ connectParams }) => {
  connecting.set(originOf(connectParams), at());
});
subscribe('undici:client:connected', ({ connectParams }) => {
  const origin = originOf(connectParams);
  events.push({ kind: 'handshake', origin, start: connecting.get(origin), end: at() });
});
const requests = new WeakMap();
// Store reads through the Parameters and Secrets extension go over undici too; through the AWS SDK, over node:http.
const EXTENSION_PATH = /^\/(secretsmanager|systemsmanager)\//;
// The phases of one timed call (a warm order or its bare twin): until its request is created, on the link until the
// answer's headers, and after them until the call returns.
let timedCall;
subscribe('undici:request:create', ({ request }) => {
  if (timedCall !== undefined) timedCall.created ??= at();
  const path = request.path.split('?')[0];
  requests.set(request, { kind: EXTENSION_PATH.test(path) ? 'store' : 'broker', path, start: at() });
});
subscribe('undici:request:headers', ({ request }) => {
  if (timedCall !== undefined) timedCall.headers ??= at();
  const entry = requests.get(request);
  if (entry !== undefined) events.push({ ...entry, end: at() });
});
const storeReads = new WeakMap();
subscribe('http.client.request.start', ({ request }) => {
  storeReads.set(request, at());
});
subscribe('http.client.response.finish', ({ request }) => {
  const start = storeReads.get(request);
  if (start !== undefined) events.push({ kind: 'store', start, end: at() });
});

const event = (body) => webhookEvent(broker, body, `first-order-${process.pid}`);

const SCHEDULED = { version: '0', 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };

const importStart = at();
const { handler } = await import(pathToFileURL(bundlePath).href);
// `keep-warm`: the container got a keep-warm invocation before the signal (the optional schedule's effect).
if (mode === 'keep-warm') await handler(SCHEDULED);
const imported = at();
const first = await handler(event(ORDERS[broker]));
const firstDone = at();
// Warm orders beside their floor, alternating so that both see the same moment of the process: the same order sent
// by a bare undici request on its own kept-alive connection, each with a fresh idempotency key
// (bench/first-order.ts, BareOrderRequest).
const { connection, send } = await bareOrder();
const bare = connection();
const sendBare = () => send(bare);
const statuses = [first.statusCode, await sendBare()];
const warmMs = [];
const bareMs = [];
const phases = { function: [], bare: [] };
/** Runs `call` timed, with its phases; returns its status. */
const timed = async (call, totals, phaseList) => {
  timedCall = { start: at() };
  const status = await call();
  const end = at();
  const { start, created, headers } = timedCall;
  timedCall = undefined;
  totals.push(end - start);
  phaseList.push({ beforeSend: created - start, onLink: headers - created, afterHeaders: end - headers });
  return status;
};
for (let i = 0; i < warmOrders; i += 1) {
  statuses.push(await timed(async () => (await handler(event(ORDERS[broker]))).statusCode, warmMs, phases.function));
  statuses.push(await timed(sendBare, bareMs, phases.bare));
}
const medianOfLastHalf = (values) => {
  const lastHalf = values.slice(Math.floor(values.length / 2)).sort((a, b) => a - b);
  return lastHalf[Math.floor(lastHalf.length / 2)];
};

writeSync(
  3,
  `${JSON.stringify({
    importMs: imported - importStart,
    firstOrderMs: firstDone - imported,
    warmOrderMs: medianOfLastHalf(warmMs),
    bareRequestMs: medianOfLastHalf(bareMs),
    warmPhases: Object.fromEntries(
      Object.entries(phases).map(([caller, list]) => [
        caller,
        Object.fromEntries(
          ['beforeSend', 'onLink', 'afterHeaders'].map((phase) => [phase, medianOfLastHalf(list.map((p) => p[phase]))]),
        ),
      ]),
    ),
    statuses,
    body: first.statusCode === 200 ? undefined : first.body,
    events: events.map((entry) => ({ ...entry, start: entry.start - imported, end: entry.end - imported })),
  })}\n`,
);
// Keep-alive sockets would hold the process open; a Lambda container is frozen instead.
process.exit(0);
