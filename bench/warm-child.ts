// One function's warm figures (`measureWarm`, bench/warm.ts), started by `warmRun` in a fresh process on the `node`
// measured: the paper brokers run in this process too, as the accounting of the time spent inside the broker needs
// (same event loop). The function's settings come from the environment, its broker URLs from these paper brokers.
// The figures go to file descriptor 3 as one JSON line.
import { writeSync } from 'node:fs';
import { startPaperBrokers } from '#local/paper-broker/index.ts';
import type { Broker } from '#shared/facts.ts';
import { importBundledHandler, measureWarm, paperBrokerEnv, type WarmOptions } from './warm.ts';

const [bundle = '', broker = 'alor', optionsJson = '{}'] = process.argv.slice(2) as [string, Broker, string];
// The function logs one JSON line per invocation: built (part of the handler's cost), not written.
process.stdout.write = (() => true) as typeof process.stdout.write;

const paper = await startPaperBrokers();
Object.assign(process.env, paperBrokerEnv(paper));
const handler = await importBundledHandler(bundle);
const figures = await measureWarm(
  broker,
  handler,
  paper,
  process.env.BENCH_WEBHOOK_SECRET ?? '',
  JSON.parse(optionsJson) as WarmOptions,
);
writeSync(3, `${JSON.stringify(figures)}\n`);
// The paper brokers and the function's keep-alive sockets would hold the process open.
process.exit(0);
