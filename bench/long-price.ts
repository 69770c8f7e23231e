/**
 * The price parser's cost on hostile input (docs/contract.md#limits), as the caller sees it: the exported handler's
 * answer to an order whose price is refused, for a 16-digit price and for a 16,000-digit one
 * (`"0.<16,000 zeros>1e-9999"`, which a quadratic `/0+$/` once took 0.9 s of CPU to refuse), and for the 16-digit price
 * in a body padded to the long one's size (a dropped field), so the body's own length (UTF-8 check, JSON) is told apart
 * from the price's. Calls interleaved one for one, so all three see the same machine noise.
 *
 * A phase of `npm run bench` (bench/run.ts), and runnable alone on the source handler: `npx tsx bench/long-price.ts`.
 */
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { createTinkoffHandler } from '#shared/brokers/tinkoff/index.ts';
import { type Broker, ENV } from '#shared/facts.ts';
import type { WebhookHandler } from '#shared/http/inbound/webhook-handler.ts';
import { apiGatewayEvent } from '../tests/helpers/events.ts';
import { round, type Spread, spread } from './stats.ts';

export interface LongPriceFigures {
  readonly runs: number;
  readonly bodyBytes: { readonly short: number; readonly long: number };
  /** A 16-digit price (`0.0000000000000001`), refused: more than 9 fraction digits. */
  readonly shortMs: Spread;
  /** The same, in a body padded to the long one's size. */
  readonly paddedShortMs: Spread;
  /** `0.<16,000 zeros>1e-9999`, refused. */
  readonly longMs: Spread;
  /** Medians: the long price over the padded short one (the price's own cost; 1.0 = as fast), and over the short one. */
  readonly longVsPadded: number;
  readonly longVsShort: number;
}

export interface LongPriceOptions {
  readonly runs: number;
  readonly warmup: number;
  readonly maxPhaseMs: number;
}

const SHORT_PRICE = '0.0000000000000001';
const LONG_PRICE = `0.${'0'.repeat(16_000)}1e-9999`;

function order(broker: Broker, fields: Record<string, unknown>): Record<string, unknown> {
  return broker === 'alor'
    ? { t: 'AAPL', v: 1, d: 'buy', ...fields }
    : { t: 'SBER', v: 1, d: 'buy', f: 'BBG004730N88', ...fields };
}

export async function measureLongPriceRefusal(
  broker: Broker,
  handler: WebhookHandler,
  secret: string,
  options: LongPriceOptions,
): Promise<LongPriceFigures> {
  const body = (fields: Record<string, unknown>) => JSON.stringify(order(broker, fields));
  const long = body({ p: LONG_PRICE });
  const short = body({ p: SHORT_PRICE });
  const padded = body({ p: SHORT_PRICE, note: 'x'.repeat(Buffer.byteLength(long) - Buffer.byteLength(short) - 10) });
  const event = (text: string): APIGatewayProxyEventV2 =>
    apiGatewayEvent({ route: `POST /${broker}`, body: text, headers: { 'x-webhook-secret': secret } });
  const timed = async (text: string): Promise<number> => {
    const call = event(text);
    const startedAt = performance.now();
    const answer = await handler(call);
    const elapsed = performance.now() - startedAt;
    if (answer.statusCode !== 400) throw new Error(`expected 400 for a refused price, got ${answer.statusCode}`);
    return elapsed;
  };

  const times = { short: [] as number[], padded: [] as number[], long: [] as number[] };
  const until = performance.now() + options.maxPhaseMs;
  for (let i = 0; i < options.warmup + options.runs && performance.now() < until; i += 1) {
    const sample = { short: await timed(short), padded: await timed(padded), long: await timed(long) };
    if (i < options.warmup) continue;
    times.short.push(sample.short);
    times.padded.push(sample.padded);
    times.long.push(sample.long);
  }
  const shortMs = spread(times.short);
  const paddedShortMs = spread(times.padded);
  const longMs = spread(times.long);
  return {
    runs: times.long.length,
    bodyBytes: { short: Buffer.byteLength(short), long: Buffer.byteLength(long) },
    shortMs,
    paddedShortMs,
    longMs,
    longVsPadded: round(longMs.p50 / paddedShortMs.p50, 2),
    longVsShort: round(longMs.p50 / shortMs.p50, 2),
  };
}

/** `npx tsx bench/long-price.ts`: this phase alone, on the source T-Invest handler (no broker is called). */
async function main(): Promise<void> {
  const secret = 'bench-long-price-secret-01';
  const write = process.stdout.write.bind(process.stdout);
  // The handler's one JSON line per call is built, not printed.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    typeof chunk === 'string' && chunk.startsWith('{"level"') ? true : write(chunk, ...rest)) as typeof write;
  const handler = createTinkoffHandler(loadTinkoffConfig({ [ENV.webhookSecret]: secret }));
  const figures = await measureLongPriceRefusal('tinkoff', handler, secret, {
    runs: Number(process.env.BENCH_LONG_PRICE_RUNS ?? 2000),
    warmup: 200,
    maxPhaseMs: 60_000,
  });
  write(`${JSON.stringify(figures, null, 2)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
