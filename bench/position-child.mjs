// One "target position over a network" run, started by `bench/position.ts` in a fresh `node` process: import the
// bundled function, send a ver 2 `pos` signal at once, then warm ones on the same container, each moving the position
// (1, 0, 1, …) so that each reads the state and places one market order under the lock, beside the same order sent by a
// bare undici request over the link (the floor: one round trip). Broker requests go over undici, the lock's DynamoDB
// calls over node:http (the AWS SDK): both are counted per call from the diagnostics channels, so the bundle is measured
// unchanged. The figures go to file descriptor 3 as one JSON line.
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { medianOfLastHalf, roundedTimeline, trackCalls } from './child-calls.mjs';
import { bareOrder, webhookEvent } from './child-signal.mjs';

const [bundlePath, broker, warmSignalsText] = process.argv.slice(2);
const warmSignals = Number(warmSignalsText);
const at = () => performance.now();
const calls = trackCalls('lock');

const signal = (pos) => webhookEvent(broker, { ver: 2, t: 'MOEX:SBER', pos, o: 'market' }, `position-${process.pid}`);

const { handler } = await import(pathToFileURL(bundlePath).href);
const imported = at();
const firstResponse = await handler(signal(1));
const firstMs = at() - imported;

const { connection, send } = await bareOrder();
const bare = connection();
// A second connection, as the function reads the position and the orders at once over two.
const bareSecond = connection();
const sendBare = (client = bare) => send(client);

const results = [JSON.parse(firstResponse.body).result];
const statuses = [firstResponse.statusCode, await sendBare(), await sendBare(bareSecond)];
const timed = [];
const bareMs = [];
/** The signal's pattern with bare requests: two at once on two connections, then one: its floor over this link. */
const patternMs = [];
for (let i = 0; i < warmSignals; i += 1) {
  calls.begin();
  const response = await handler(signal(i % 2 === 0 ? 0 : 1));
  timed.push(calls.end());
  statuses.push(response.statusCode);
  results.push(JSON.parse(response.body).result);
  const bareStart = at();
  statuses.push(await sendBare());
  bareMs.push(at() - bareStart);
  const patternStart = at();
  statuses.push(...(await Promise.all([sendBare(), sendBare(bareSecond)])), await sendBare());
  patternMs.push(at() - patternStart);
}

writeSync(
  3,
  `${JSON.stringify({
    firstMs,
    warmMs: medianOfLastHalf(timed.map((call) => call.ms)),
    lockMs: medianOfLastHalf(timed.map((call) => call.awsMs)),
    bareRequestMs: medianOfLastHalf(bareMs),
    barePatternMs: medianOfLastHalf(patternMs),
    brokerRequestsPerSignal: medianOfLastHalf(timed.map((call) => call.brokerRequests)),
    lockRequestsPerSignal: medianOfLastHalf(timed.map((call) => call.awsRequests)),
    // Where the last warm signal's time went: each request's start and headers, ms after the call began.
    timeline: roundedTimeline(timed.at(-1)),
    statuses,
    results,
    body: firstResponse.statusCode === 200 ? undefined : firstResponse.body,
  })}\n`,
);
process.exit(0);
