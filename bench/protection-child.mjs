// One "protected entry over a network" run, started by `bench/protection.ts` in a fresh `node` process: import the
// bundled function, send a protected entry at once (`sl` and `tp`), then warm ones on the same container, each a new
// entry (its own key) that reads the position, places its protection the broker's way (Alor: stops, the entry, two
// groups, the entry read; T-Invest: the watch queued on SQS, the entry, and a market entry's stops), beside the same
// order sent by a bare undici request over the link (the floor: one round trip). Broker requests go over undici, the
// SQS send over node:http (the AWS SDK), both counted per call from the diagnostics channels. The figures go to file
// descriptor 3 as one JSON line.
import { subscribe } from 'node:diagnostics_channel';
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { bareOrder, webhookEvent } from './child-signal.mjs';

const [bundlePath, broker, type, warmSignalsText] = process.argv.slice(2);
const warmSignals = Number(warmSignalsText);
const at = () => performance.now();

let current;
const EXTENSION_PATH = /^\/(secretsmanager|systemsmanager)\//;
const created = new WeakMap();
subscribe('undici:request:create', ({ request }) => {
  if (current === undefined || EXTENSION_PATH.test(request.path)) return;
  current.brokerRequests += 1;
  created.set(request, at());
});
subscribe('undici:request:headers', ({ request }) => {
  const start = created.get(request);
  if (current !== undefined && start !== undefined) {
    current.timeline.push({
      path: request.path.split('?')[0].split('/').slice(-2).join('/'),
      start: start - current.start,
      end: at() - current.start,
    });
  }
});
const queueStarts = new WeakMap();
subscribe('http.client.request.start', ({ request }) => {
  if (current !== undefined) {
    current.queueRequests += 1;
    queueStarts.set(request, at());
  }
});
subscribe('http.client.response.finish', ({ request }) => {
  const start = queueStarts.get(request);
  if (current === undefined || start === undefined) return;
  current.timeline.push({ path: 'queue', start: start - current.start, end: at() - current.start });
});

let sequence = 0;
const signal = () => {
  sequence += 1;
  const entry = type === 'market' ? { o: 'market' } : { p: '100' };
  return webhookEvent(
    broker,
    {
      ver: 2,
      t: 'MOEX:SBER',
      d: 'buy',
      v: 1,
      ...entry,
      sl: '90',
      tp: '110',
      id: `protected-${process.pid}-${sequence}`,
    },
    `protected-${process.pid}-${sequence}`,
  );
};

const { handler } = await import(pathToFileURL(bundlePath).href);
const imported = at();
const firstResponse = await handler(signal());
const firstMs = at() - imported;

const { connection, send } = await bareOrder();
const bare = connection();
const results = [JSON.parse(firstResponse.body).result];
const statuses = [firstResponse.statusCode, await send(bare)];
const calls = [];
const bareMs = [];
for (let i = 0; i < warmSignals; i += 1) {
  const start = at();
  current = { brokerRequests: 0, queueRequests: 0, start, timeline: [] };
  const response = await handler(signal());
  calls.push({ ...current, ms: at() - start });
  current = undefined;
  statuses.push(response.statusCode);
  results.push(JSON.parse(response.body).result);
  const bareStart = at();
  statuses.push(await send(bare));
  bareMs.push(at() - bareStart);
}

const medianOfLastHalf = (values) => {
  const lastHalf = values.slice(Math.floor(values.length / 2)).sort((a, b) => a - b);
  return lastHalf[Math.floor(lastHalf.length / 2)];
};

writeSync(
  3,
  `${JSON.stringify({
    firstMs,
    warmMs: medianOfLastHalf(calls.map((call) => call.ms)),
    bareRequestMs: medianOfLastHalf(bareMs),
    brokerRequestsPerSignal: medianOfLastHalf(calls.map((call) => call.brokerRequests)),
    queueRequestsPerSignal: medianOfLastHalf(calls.map((call) => call.queueRequests)),
    timeline: calls.at(-1)?.timeline.map((step) => ({
      ...step,
      start: Math.round(step.start * 100) / 100,
      end: Math.round(step.end * 100) / 100,
    })),
    statuses,
    results,
    body: firstResponse.statusCode === 200 ? undefined : firstResponse.body,
  })}\n`,
);
process.exit(0);
