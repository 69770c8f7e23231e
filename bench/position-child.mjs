// One "target position over a network" run, started by `bench/position.ts` in a fresh `node` process: import the
// bundled function, send a ver 2 `pos` signal at once, then warm ones on the same container, each moving the position
// (1, 0, 1, …) so that each reads the state and places one market order under the lock, beside a bare undici market
// order over the link (one round trip; of another instrument, so that it moves nothing the signal reads) and beside the
// signal's own reads sent again bare at once, then that order (its floor). Of kind `guarded`, the signal is a buy of 0.1%
// of the portfolio at market with a fresh `ts`, on a function with every guard set: each reads its size and guards and
// places one order. Broker requests and the DynamoDB calls (the lock, the day's count) go over undici, told apart by
// the latter's `x-amz-target` and counted per call from the diagnostics channels, so the bundle is measured unchanged.
// The figures go to file descriptor 3 as one JSON line.
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { medianOfLastHalf, roundedTimeline, trackCalls } from './child-calls.mjs';
import { bareOrder, webhookEvent } from './child-signal.mjs';

const [bundlePath, broker, warmSignalsText, kind = 'position'] = process.argv.slice(2);
const warmSignals = Number(warmSignalsText);
const at = () => performance.now();
const calls = trackCalls('lock', { keepSent: true });

const signal = (pos) =>
  kind === 'guarded'
    ? webhookEvent(
        broker,
        { ver: 2, t: 'MOEX:SBER', d: 'buy', v: 0.1, vt: 'pct', o: 'market', ts: new Date().toISOString() },
        `guarded-${process.pid}`,
      )
    : webhookEvent(broker, { ver: 2, t: 'MOEX:SBER', pos, o: 'market' }, `position-${process.pid}`);

const { handler } = await import(pathToFileURL(bundlePath).href);
const imported = at();
const firstResponse = await handler(signal(1));
const firstMs = at() - imported;

const { connection, send } = await bareOrder();
const bare = connection();
const sendBare = () => send(bare);
// The signal's reads sent again as they went, each on a connection of its own: the paper brokers' own work for those
// reads and the link's, without the function. A read answered as the function's was counts as 200 (Alor answers 404
// for the position in an instrument the portfolio holds none of).
const { Client } = await import('undici');
const replayClients = [];
const replay = (requests) =>
  Promise.all(
    requests.map(async (sent, index) => {
      replayClients[index] ??= new Client(sent.origin);
      const headers = {};
      for (let i = 0; i + 1 < sent.headers.length; i += 2) headers[sent.headers[i]] = sent.headers[i + 1];
      const response = await replayClients[index].request({
        path: sent.path,
        method: sent.method,
        headers,
        body: sent.body,
      });
      await response.body.text();
      return response.statusCode === sent.status ? 200 : response.statusCode;
    }),
  );

const results = [JSON.parse(firstResponse.body).result];
const statuses = [firstResponse.statusCode, await sendBare()];
const timed = [];
const bareMs = [];
/** The signal's pattern with bare requests: its own reads sent again at once, then one order: its floor over this link. */
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
  const reads = (timed.at(-1)?.sent ?? []).slice(0, -1);
  const patternStart = at();
  statuses.push(...(await replay(reads)), await sendBare());
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
