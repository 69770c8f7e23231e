/**
 * Bundles the notifier and the two follow-up functions with the options the CDK construct uses (`infra/bundling.ts`,
 * AWS SDK bundled, the deployed default), then loads each bundle in a fresh Node process with nothing from the shell,
 * as Lambda would, and hands it an event. Bundles go to `tests/artifacts/` (git-ignored).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { alarmNotification, toSnsEvent } from '#local/sns-event.ts';
import { toSqsEvent } from '#local/sqs-event.ts';
import { BUNDLE_FILE_NAME, esbuildOptions } from '../../infra/bundling.ts';
import { cloudWatchLogsEvent } from '../helpers/notify.ts';

const ROOT = new URL('../../', import.meta.url);
const OUT = new URL('tests/artifacts/notify-bundles/', ROOT);
const FUNCTIONS = ['notifier', 'alor-follow-up', 'tinkoff-follow-up'] as const;
type FunctionName = (typeof FUNCTIONS)[number];

const bundlePath = (name: FunctionName) => fileURLToPath(new URL(`${name}/${BUNDLE_FILE_NAME}`, OUT));
const sizes = new Map<FunctionName, number>();

/** The notifier's table and queues, as the stack sets them (never called here: the notifier is off). */
const NOTIFIER_ENV = {
  NOTIFY_TABLE_NAME: 'claims',
  NOTIFY_QUEUE_URL: 'https://sqs.eu-central-1.amazonaws.com/000000000000/notifier',
  NOTIFY_DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-central-1.amazonaws.com/000000000000/dead-letters',
  ALOR_FOLLOW_UP_QUEUE_URL: 'https://sqs.eu-central-1.amazonaws.com/000000000000/alor',
  TINKOFF_FOLLOW_UP_QUEUE_URL: 'https://sqs.eu-central-1.amazonaws.com/000000000000/tinkoff',
};

/**
 * Imports the bundle in a new Node process with only `env`, calls `handler(event)`; returns its answer and output,
 * and how many parameters the handler declares and whether it returned a promise (Node 24's runtime refuses a handler
 * declaring a third, callback parameter, at init).
 */
async function invoke(name: FunctionName, event: unknown, env: Record<string, string> = {}) {
  const script = `
    const { handler } = await import(${JSON.stringify(new URL(`file://${bundlePath(name)}`).href)});
    const returned = handler(JSON.parse(process.env.EVENT));
    const answer = await returned;
    const shape = { parameters: handler.length, returnsPromise: typeof returned?.then === 'function' };
    process.stderr.write('\\n@@ANSWER@@' + JSON.stringify({ answer: answer ?? null, ...shape }) + '@@END@@');
  `;
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--enable-source-maps', '--input-type=module', '--eval', script],
    {
      env: { PATH: process.env.PATH ?? '', EVENT: JSON.stringify(event), AWS_EC2_METADATA_DISABLED: 'true', ...env },
      cwd: fileURLToPath(OUT),
      timeout: 20_000,
    },
  );
  // The AWS SDK warns on stderr on a Node older than it supports, even in the middle of the answer's line.
  const called = /@@ANSWER@@(.*?)@@END@@/s.exec(stderr)?.[1];
  if (called === undefined) throw new Error(`No answer from ${name}: ${stderr}`);
  const { answer, parameters, returnsPromise } = JSON.parse(called) as {
    answer: unknown;
    parameters: number;
    returnsPromise: boolean;
  };
  return { answer, parameters, returnsPromise, lines: stdout.split('\n').filter((line) => line.startsWith('{')) };
}

describe('bundled notifier and follow-up functions (AWS SDK bundled)', () => {
  beforeAll(async () => {
    rmSync(OUT, { recursive: true, force: true });
    for (const name of FUNCTIONS) {
      mkdirSync(new URL(`${name}/`, OUT), { recursive: true });
      const entry = fileURLToPath(new URL(`functions/${name}/handler.ts`, ROOT));
      const result = await build({
        ...esbuildOptions(entry, bundlePath(name), { bundleAwsSdk: true }),
        metafile: true,
      });
      const output = Object.values(result.metafile.outputs).find((candidate) => candidate.entryPoint !== undefined);
      sizes.set(name, output?.bytes ?? 0);
    }
  });

  it.each(FUNCTIONS)('%s: is under 1 MB minified', (name) => {
    expect(sizes.get(name)).toBeGreaterThan(0);
    expect(sizes.get(name)).toBeLessThan(1_000_000);
  });

  it.each([
    ['notifier', toSqsEvent([{ type: 'unknown' }]), NOTIFIER_ENV],
    ['alor-follow-up', toSqsEvent([]), {}],
    ['tinkoff-follow-up', toSqsEvent([]), {}],
  ] as const)(
    '%s: exports an async handler, which Node 24 runs: two parameters at most, a promise back',
    async (name, event, env) => {
      const { parameters, returnsPromise } = await invoke(name, event, env);
      expect(parameters).toBeLessThanOrEqual(2);
      expect(returnsPromise).toBe(true);
    },
  );

  it('notifier: loads and, with no bot token configured, reads a log delivery and does nothing', async () => {
    const line = JSON.stringify({
      level: 'info',
      time: new Date().toISOString(),
      message: 'webhook answered',
      broker: 'alor',
      requestId: 'bundle-1',
      status: 401,
      latencyMs: 1,
      outcome: 'unauthorized',
      reason: 'no secret presented',
    });
    const { answer, lines } = await invoke('notifier', cloudWatchLogsEvent([line]), NOTIFIER_ENV);
    expect(answer).toBeNull();
    expect(lines.map((text) => JSON.parse(text).message)).toEqual([
      'notifier is off: the Telegram bot token or chat id is not set',
    ]);
  });

  it('notifier: loads and, with no bot token configured, reads an alarm notification from SNS and does nothing', async () => {
    const alarm = alarmNotification({ alarmName: 'PppWebhooks-alor-webhook-timeout', value: 1, time: new Date() });
    const { answer, lines } = await invoke('notifier', toSnsEvent([alarm]), NOTIFIER_ENV);
    expect(answer).toBeNull();
    expect(lines.map((text) => JSON.parse(text))).toEqual([
      expect.objectContaining({
        message: 'notifier is off: the Telegram bot token or chat id is not set',
        alarm: 'PppWebhooks-alor-webhook-timeout',
      }),
    ]);
  });

  it('notifier: drops a queue message it does not know, failing no record', async () => {
    const { answer } = await invoke('notifier', toSqsEvent([{ type: 'unknown' }]), NOTIFIER_ENV);
    expect(answer).toEqual({ batchItemFailures: [] });
  });

  it('notifier: fails its cold start without its queues and table, naming the variables', async () => {
    await expect(invoke('notifier', toSqsEvent([]))).rejects.toThrow(/NOTIFY_TABLE_NAME/);
  });

  it.each(['alor', 'tinkoff'] as const)(
    '%s follow-up: loads and says it could not look the order up when its broker is not configured',
    async (broker) => {
      const request = { type: 'follow-up', broker, requestId: 'bundle-2', brokerOrderId: '42', delaySeconds: 10 };
      const { answer, lines } = await invoke(`${broker}-follow-up`, toSqsEvent([request]));
      expect(answer).toBeNull();
      expect(lines.map((text) => JSON.parse(text))).toEqual([
        expect.objectContaining({
          message: 'order followed up',
          broker,
          requestId: 'bundle-2',
          result: 'unreachable',
          upstream: 'credential not configured',
        }),
      ]);
    },
  );
});
