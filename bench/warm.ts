import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { Client } from 'undici';
import { PAPER_ALOR, PAPER_TINKOFF, type PaperBrokers } from '#local/paper-broker/index.ts';
import type { PaperServer } from '#local/paper-broker/server.ts';
import { LIMIT_ORDER_PATH } from '#shared/brokers/alor/client.ts';
import { POST_ORDER_PATH } from '#shared/brokers/tinkoff/client.ts';
import { type Broker, DEFAULT_ALOR_EXCHANGE, ENV } from '#shared/facts.ts';
import type { WebhookHandler } from '#shared/http/inbound/webhook-handler.ts';
import { type BenchNode, runMeasuredChild } from './child-run.ts';
import { round, type Spread, spread } from './stats.ts';

/**
 * Warm figures of one function, measured in one process (`bench/warm-child.ts`, a fresh one per function on the
 * `node` measured) against its paper broker on 127.0.0.1, in that same process:
 * - broker requests and new TCP connections per order over `countOrders` warm orders (the paper broker counts both);
 * - handler overhead: the exported handler's latency minus the time the paper broker spent answering, beside the same
 *   for one bare undici request to the same broker endpoint (the floor), interleaved one for one so both see the same
 *   machine noise.
 *
 * Time inside the broker per request: the paper server adds each request's answering time (request fully read →
 * answer written) to `stats.busyMs` before the client can see the answer (same event loop), so the change of
 * `busyMs` across one sequential call is that call's broker time. Each sample checks that exactly the expected number
 * of broker requests happened in it; samples where the broker recorded no time are counted as `unattributed`.
 */

export interface WarmOptions {
  readonly countOrders: number;
  readonly latencyInvocations: number;
  /** Upper bound on each loop, whatever the counts. */
  readonly maxPhaseMs: number;
  /** Order + bare request pairs run first and not counted, so the JIT has compiled the hot paths. */
  readonly warmupOrders: number;
}

export interface WarmFigures {
  readonly firstOrder: { readonly brokerRequests: number; readonly newConnections: number; readonly ms: number };
  readonly orders: number;
  readonly brokerRequestsPerOrder: number;
  readonly newConnectionsPerOrder: number;
  readonly invocations: number;
  /** The handler's latency as the caller sees it. */
  readonly handlerMs: Spread;
  /** Handler latency minus the time inside the paper broker. */
  readonly handlerNetMs: Spread;
  /** One bare undici request to the same endpoint (same method, headers and body size). */
  readonly floorMs: Spread;
  readonly floorNetMs: Spread;
  /** `handlerNetMs` minus `floorNetMs`, percentile by percentile: what the function adds to one broker request. */
  readonly overheadAboveFloorMs: Spread;
  readonly brokerMs: Spread;
  readonly unattributedSamples: number;
}

/** A broker call made directly with undici: the floor the handler's own work is measured against. */
type BareRequest = (client: Client) => Promise<void>;

const FIXTURE: APIGatewayProxyEventV2 = JSON.parse(
  readFileSync(new URL('../tests/fixtures/events/http-api-v2-post.json', import.meta.url), 'utf8'),
);

export const ORDER_BODIES: Record<Broker, Record<string, unknown>> = {
  alor: { t: 'AAPL', p: '190.5', v: 1, d: 'buy' },
  tinkoff: { t: 'AAPL', p: '190.5', v: 1, d: 'buy', f: 'BBG000B9XRY4' },
};

/** An API Gateway HTTP API event as the function receives it, authenticated with the header secret. */
export function webhookEvent(broker: Broker, body: unknown, secret: string): APIGatewayProxyEventV2 {
  const text = JSON.stringify(body);
  return {
    ...FIXTURE,
    routeKey: `POST /${broker}`,
    rawPath: `/${broker}`,
    headers: { ...FIXTURE.headers, 'content-length': String(Buffer.byteLength(text)), 'x-webhook-secret': secret },
    requestContext: {
      ...FIXTURE.requestContext,
      requestId: randomUUID(),
      http: { ...FIXTURE.requestContext.http, path: `/${broker}` },
    },
    body: text,
  };
}

/** The function settings that point it at `paper`'s brokers. */
export function paperBrokerEnv(paper: PaperBrokers): Record<string, string> {
  return {
    [ENV.alorOauthUrl]: paper.alor.url,
    [ENV.alorApiUrl]: paper.alor.url,
    [ENV.tinkoffApiUrl]: paper.tinkoff.v2Url,
  };
}

const CHILD = fileURLToPath(new URL('warm-child.ts', import.meta.url));

/**
 * {@link measureWarm} of `bundle` in a fresh process on `node`, configured by `env` (the broker settings excepted: the
 * process starts its own paper brokers) with the webhook secret in `BENCH_WEBHOOK_SECRET`. TypeScript through tsx,
 * whose loader takes part in the imports only, not in the calls timed.
 */
export function warmRun(
  node: BenchNode,
  bundle: string,
  broker: Broker,
  env: Record<string, string>,
  options: WarmOptions,
): Promise<WarmFigures> {
  return runMeasuredChild<WarmFigures>(
    node,
    `warm run of ${bundle}`,
    CHILD,
    [bundle, broker, JSON.stringify(options)],
    env,
    {
      nodeArgs: ['--import', 'tsx'],
      // The three loops of measureWarm, each bounded by maxPhaseMs, and the start.
      timeoutMs: 4 * options.maxPhaseMs,
    },
  );
}

export async function importBundledHandler(file: string): Promise<WebhookHandler> {
  const module = (await import(pathToFileURL(file).href)) as { handler: WebhookHandler };
  return module.handler;
}

async function bareRequestFor(
  broker: Broker,
  paper: PaperBrokers,
): Promise<{ server: PaperServer; send: BareRequest }> {
  if (broker === 'tinkoff') {
    const url = new URL(paper.tinkoff.v2Url);
    const path = `${url.pathname}${POST_ORDER_PATH}`;
    return {
      server: paper.tinkoff,
      send: async (client) => {
        const response = await client.request({
          path,
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${PAPER_TINKOFF.token}` },
          body: JSON.stringify({
            instrumentId: 'BBG000B9XRY4',
            quantity: '1',
            price: { units: '190', nano: 500_000_000 },
            direction: 'ORDER_DIRECTION_BUY',
            accountId: PAPER_TINKOFF.accountId,
            orderType: 'ORDER_TYPE_LIMIT',
            orderId: randomUUID(),
          }),
        });
        await response.body.text();
      },
    };
  }
  const setup = new Client(paper.alor.url);
  const refresh = await setup.request({
    path: `/refresh?token=${encodeURIComponent(PAPER_ALOR.refreshToken)}`,
    method: 'POST',
  });
  const { AccessToken } = (await refresh.body.json()) as { AccessToken: string };
  await setup.close();
  return {
    server: paper.alor,
    send: async (client) => {
      const id = randomUUID();
      const response = await client.request({
        path: LIMIT_ORDER_PATH,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${AccessToken}`,
          'x-reqid': id,
          'x-alor-reqid': id,
        },
        body: JSON.stringify({
          instrument: { symbol: 'AAPL', exchange: DEFAULT_ALOR_EXCHANGE },
          quantity: 1,
          side: 'buy',
          price: 190.5,
          user: { portfolio: PAPER_ALOR.portfolio },
        }),
      });
      await response.body.text();
    },
  };
}

interface Sample {
  readonly ms: number;
  readonly brokerMs: number;
}

async function timed(server: PaperServer, expectedRequests: number, call: () => Promise<void>): Promise<Sample> {
  const busyBefore = server.stats.busyMs;
  const requestsBefore = server.stats.requests;
  const startedAt = performance.now();
  await call();
  const ms = performance.now() - startedAt;
  const requests = server.stats.requests - requestsBefore;
  if (requests !== expectedRequests) {
    throw new Error(`expected ${expectedRequests} broker request(s) in one call, the broker saw ${requests}`);
  }
  return { ms, brokerMs: server.stats.busyMs - busyBefore };
}

function placeOrder(handler: WebhookHandler, broker: Broker, secret: string): () => Promise<void> {
  return async () => {
    const response = await handler(webhookEvent(broker, ORDER_BODIES[broker], secret));
    if (response.statusCode !== 200) throw new Error(`order answered ${response.statusCode} ${response.body}`);
  };
}

export async function measureWarm(
  broker: Broker,
  handler: WebhookHandler,
  paper: PaperBrokers,
  secret: string,
  options: WarmOptions,
): Promise<WarmFigures> {
  const { server, send } = await bareRequestFor(broker, paper);
  const order = placeOrder(handler, broker, secret);

  // The first order of the container: Alor refreshes its access token here.
  server.resetStats();
  const firstStartedAt = performance.now();
  await order();
  const firstOrder = {
    brokerRequests: server.stats.requests,
    newConnections: server.stats.connections,
    ms: round(performance.now() - firstStartedAt),
  };
  // Warm-up, handler and bare request interleaved: until the JIT has compiled the hot paths of the function, of
  // undici and of the paper broker (all in this process), the first few hundred calls are slower.
  const bare = new Client(new URL(server.url).origin, { keepAliveTimeout: 60_000 });
  const warmupStartedAt = performance.now();
  for (let i = 0; i < options.warmupOrders && performance.now() - warmupStartedAt < options.maxPhaseMs; i += 1) {
    await order();
    await send(bare);
  }

  // Requests and connections per warm order.
  server.resetStats();
  let orders = 0;
  const countStartedAt = performance.now();
  while (orders < options.countOrders && performance.now() - countStartedAt < options.maxPhaseMs) {
    await order();
    orders += 1;
  }
  const brokerRequestsPerOrder = round(server.stats.requests / orders);
  const newConnectionsPerOrder = round(server.stats.connections / orders);

  // Latency: handler and bare request, interleaved.
  const handlerSamples: Sample[] = [];
  const floorSamples: Sample[] = [];
  const latencyStartedAt = performance.now();
  while (
    handlerSamples.length < options.latencyInvocations &&
    performance.now() - latencyStartedAt < options.maxPhaseMs
  ) {
    handlerSamples.push(await timed(server, 1, order));
    floorSamples.push(await timed(server, 1, () => send(bare)));
  }
  await bare.close();

  const net = (samples: readonly Sample[]) => samples.map((sample) => sample.ms - sample.brokerMs);
  const handlerNet = spread(net(handlerSamples));
  const floorNet = spread(net(floorSamples));
  return {
    firstOrder,
    orders,
    brokerRequestsPerOrder,
    newConnectionsPerOrder,
    invocations: handlerSamples.length,
    handlerMs: spread(handlerSamples.map((sample) => sample.ms)),
    handlerNetMs: handlerNet,
    floorMs: spread(floorSamples.map((sample) => sample.ms)),
    floorNetMs: floorNet,
    overheadAboveFloorMs: { p50: round(handlerNet.p50 - floorNet.p50), p99: round(handlerNet.p99 - floorNet.p99) },
    brokerMs: spread([...handlerSamples, ...floorSamples].map((sample) => sample.brokerMs)),
    unattributedSamples: [...handlerSamples, ...floorSamples].filter((sample) => sample.brokerMs <= 0).length,
  };
}
