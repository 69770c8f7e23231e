// One "protected entry over a network" run, started by `bench/protection.ts` in a fresh `node` process: import the
// bundled function, send a protected entry at once (`sl` and `tp`), then warm ones on the same container, each a new
// entry (its own key) that reads the position, places its protection the broker's way (Alor: stops, the entry, two
// groups, the entry read; T-Invest: the watch queued on SQS, the entry, and a market entry's stops), beside the same
// order sent by a bare undici request over the link (the floor: one round trip). Broker requests go over undici, the
// SQS send over node:http (the AWS SDK), both counted per call from the diagnostics channels. The figures go to file
// descriptor 3 as one JSON line.
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { medianOfLastHalf, roundedTimeline, trackCalls } from './child-calls.mjs';
import { bareOrder, webhookEvent } from './child-signal.mjs';

const [bundlePath, broker, type, warmSignalsText] = process.argv.slice(2);
const warmSignals = Number(warmSignalsText);
const at = () => performance.now();
const calls = trackCalls('queue');

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
const timed = [];
const bareMs = [];
for (let i = 0; i < warmSignals; i += 1) {
  calls.begin();
  const response = await handler(signal());
  timed.push(calls.end());
  statuses.push(response.statusCode);
  results.push(JSON.parse(response.body).result);
  const bareStart = at();
  statuses.push(await send(bare));
  bareMs.push(at() - bareStart);
}

writeSync(
  3,
  `${JSON.stringify({
    firstMs,
    warmMs: medianOfLastHalf(timed.map((call) => call.ms)),
    bareRequestMs: medianOfLastHalf(bareMs),
    brokerRequestsPerSignal: medianOfLastHalf(timed.map((call) => call.brokerRequests)),
    queueRequestsPerSignal: medianOfLastHalf(timed.map((call) => call.awsRequests)),
    timeline: roundedTimeline(timed.at(-1)),
    statuses,
    results,
    body: firstResponse.statusCode === 200 ? undefined : firstResponse.body,
  })}\n`,
);
process.exit(0);
