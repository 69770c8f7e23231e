// What the measured children of a ver 2 signal (`position-child.mjs`, `protection-child.mjs`) count of each timed call,
// from the diagnostics channels, so that the bundle is measured unchanged: its broker requests (undici, the store
// extension's reads left out), its AWS requests (the position lock's DynamoDB calls, over undici and signed with an
// `x-amz-target`; a watch's SQS, over node:http: the AWS SDK) and their time, and a timeline of them, ms after the call
// began.
import { subscribe } from 'node:diagnostics_channel';

const at = () => performance.now();
const EXTENSION_PATH = /^\/(secretsmanager|systemsmanager)\//;

/** A request to an AWS JSON API (DynamoDB's), as undici holds its headers: name, value, name, value… */
const isAwsCall = (headers) =>
  Array.isArray(headers) && headers.some((header, index) => index % 2 === 0 && header.toLowerCase() === 'x-amz-target');

/**
 * Starts counting; `begin()` opens a call's count, `end()` closes it and gives it. `awsLabel` names AWS requests.
 * `keepSent`: each broker request is kept as sent (`sent`, with the status it was answered), to be sent again bare (a
 * signal's floor).
 */
export function trackCalls(awsLabel, { keepSent = false } = {}) {
  let current;
  const created = new WeakMap();
  const awsStarts = new WeakMap();
  const sentOf = new WeakMap();
  subscribe('undici:request:create', ({ request }) => {
    if (current === undefined || EXTENSION_PATH.test(request.path)) return;
    if (isAwsCall(request.headers)) {
      current.awsRequests += 1;
      awsStarts.set(request, at());
      return;
    }
    current.brokerRequests += 1;
    created.set(request, at());
    if (keepSent) {
      const sent = {
        origin: String(request.origin),
        path: request.path,
        method: request.method,
        headers: request.headers,
        body: request.body == null ? undefined : Buffer.from(request.body).toString(),
      };
      sentOf.set(request, sent);
      current.sent.push(sent);
    }
  });
  subscribe('undici:request:headers', ({ request, response }) => {
    const sent = sentOf.get(request);
    if (sent !== undefined) sent.status = response.statusCode;
    const start = created.get(request);
    if (current !== undefined && start !== undefined) {
      current.timeline.push({
        path: request.path.split('?')[0].split('/').slice(-2).join('/'),
        start: start - current.start,
        end: at() - current.start,
      });
    }
  });
  subscribe('http.client.request.start', ({ request }) => {
    if (current !== undefined) {
      current.awsRequests += 1;
      awsStarts.set(request, at());
    }
  });
  const awsDone = (request) => {
    const start = awsStarts.get(request);
    if (current === undefined || start === undefined) return;
    current.awsMs += at() - start;
    current.timeline.push({ path: awsLabel, start: start - current.start, end: at() - current.start });
  };
  subscribe('http.client.response.finish', ({ request }) => awsDone(request));
  subscribe('undici:request:trailers', ({ request }) => awsDone(request));
  return {
    begin: () => {
      current = { brokerRequests: 0, awsRequests: 0, awsMs: 0, start: at(), timeline: [], sent: [] };
    },
    end: () => {
      const call = { ...current, ms: at() - current.start };
      current = undefined;
      return call;
    },
  };
}

/** The median of the last half of `values`: a run's warm figure. */
export function medianOfLastHalf(values) {
  const lastHalf = values.slice(Math.floor(values.length / 2)).sort((a, b) => a - b);
  return lastHalf[Math.floor(lastHalf.length / 2)];
}

/** The last call's timeline, rounded to 0.01 ms. */
export function roundedTimeline(call) {
  return call?.timeline.map((step) => ({
    ...step,
    start: Math.round(step.start * 100) / 100,
    end: Math.round(step.end * 100) / 100,
  }));
}
