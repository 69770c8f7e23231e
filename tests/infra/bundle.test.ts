/**
 * Bundles both functions once with exactly the esbuild options the CDK construct uses (`infra/bundling.ts`), then
 * loads each bundle in a fresh Node process, as Lambda would, and sends it a `check: true` request.
 *
 * The infra template tests skip bundling; this is the test that the deployed artefact itself loads and answers.
 * The bundles go to `tests/artifacts/` (git-ignored) so that a bundle with the AWS SDK left external still resolves
 * it from the project's node_modules, as the Lambda runtime would from its own copy.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { startFakeAwsStore } from '#local/aws-store.ts';
import { PAPER_ALOR, PAPER_TINKOFF } from '#local/paper-broker/index.ts';
import { ANSWER_MARGIN_MS, ANSWER_WITHIN_MS } from '#shared/facts.ts';
import { BUNDLE_FILE_NAME, esbuildOptions } from '../../infra/bundling.ts';
import { createWebhooksApp } from '../../infra/webhooks-app.ts';
import { type ApiGatewayEventOptions, apiGatewayEvent } from '../helpers/events.ts';
import { deployedFunctionEnv } from '../helpers/handlers.ts';
import { useLocalServer, usePaperBrokers } from '../helpers/local-servers.ts';
import { createTempDir } from '../helpers/temp-dirs.ts';
import { CDK_JSON_CONTEXT, logicalId } from './synth.ts';

const ROOT = new URL('../../', import.meta.url);
const OUT = new URL('tests/artifacts/infra-bundle/', ROOT);
const SECRET = 'bundle-check-secret-7c1d';
const BROKERS = ['alor', 'tinkoff'] as const;
const VARIANTS = [
  { name: 'AWS SDK bundled', bundleAwsSdk: true },
  { name: 'AWS SDK external', bundleAwsSdk: false },
] as const;

type Broker = (typeof BROKERS)[number];

const bundlePath = (broker: Broker, bundleAwsSdk: boolean) =>
  fileURLToPath(new URL(`${bundleAwsSdk ? 'sdk-bundled' : 'sdk-external'}/${broker}/${BUNDLE_FILE_NAME}`, OUT));

/** The API Gateway HTTP API (payload 2.0) event of a `check: true` call to `POST /<broker>`. */
const checkEvent = (broker: Broker, auth: Pick<ApiGatewayEventOptions, 'headers' | 'query'>) =>
  apiGatewayEvent({ route: `POST /${broker}`, body: JSON.stringify({ check: true }), ...auth });

/**
 * Imports the bundle in a new Node process with only `env` set, calls `handler(event)` and returns its answer, with
 * what Lambda's runtime looks at before the first call: how many parameters the handler declares, and whether it
 * returns a promise (Node 24's runtime refuses a handler declaring a third, callback parameter, at init).
 */
async function invokeBundle(
  file: string,
  event: unknown,
): Promise<{ answer: { statusCode: number; body: string }; parameters: number; returnsPromise: boolean }> {
  const script = `
    const { handler } = await import(${JSON.stringify(new URL(`file://${file}`).href)});
    const context = { awsRequestId: 'bundle-check', functionName: 'bundle-check', getRemainingTimeInMillis: () => 10000 };
    const returned = handler(JSON.parse(process.env.EVENT), context);
    const answer = await returned;
    const shape = { parameters: handler.length, returnsPromise: typeof returned?.then === 'function' };
    process.stderr.write('\\n@@ANSWER@@' + JSON.stringify({ answer, ...shape }));
  `;
  const { stderr } = await promisify(execFile)(
    process.execPath,
    ['--enable-source-maps', '--input-type=module', '--eval', script],
    {
      // Nothing from the developer's shell: no AWS credentials, no broker settings. The plain WEBHOOK_SECRET is the
      // local-run form of WEBHOOK_SECRET_ID, so the check needs no AWS call.
      env: {
        PATH: process.env.PATH ?? '',
        WEBHOOK_SECRET: SECRET,
        EVENT: JSON.stringify(event),
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      cwd: fileURLToPath(OUT),
      timeout: 20_000,
    },
  );
  const answer = stderr.split('@@ANSWER@@')[1];
  if (answer === undefined) throw new Error(`No answer from ${file}: ${stderr}`);
  return JSON.parse(answer);
}

const invoke = async (file: string, event: unknown) => (await invokeBundle(file, event)).answer;

/**
 * Imports the bundle in a new Node process with exactly `env`, sends it `event` as its container's first call, and
 * returns the answer and the JSON lines it wrote to stdout up to the answer (the process ends with it).
 */
async function invokeOrder(
  file: string,
  event: unknown,
  env: Record<string, string>,
): Promise<{ answer: { statusCode: number; body: string }; lines: Record<string, unknown>[] }> {
  const script = `
    const { handler } = await import(${JSON.stringify(new URL(`file://${file}`).href)});
    const answer = await handler(JSON.parse(process.env.EVENT), { awsRequestId: 'bundle-store-check' });
    process.stderr.write('\\n@@ANSWER@@' + JSON.stringify(answer));
    process.exit(0);
  `;
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--enable-source-maps', '--input-type=module', '--eval', script],
    {
      env: { PATH: process.env.PATH ?? '', EVENT: JSON.stringify(event), AWS_EC2_METADATA_DISABLED: 'true', ...env },
      cwd: fileURLToPath(OUT),
      timeout: 30_000,
    },
  );
  const answer = stderr.split('@@ANSWER@@')[1];
  if (answer === undefined) throw new Error(`No answer from ${file}: ${stderr}`);
  const lines = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { answer: JSON.parse(answer), lines };
}

describe.each(VARIANTS)('bundled functions ($name)', ({ bundleAwsSdk }) => {
  const metafiles = new Map<Broker, Metafile>();

  beforeAll(async () => {
    for (const broker of BROKERS) {
      const outfile = bundlePath(broker, bundleAwsSdk);
      rmSync(new URL('.', `file://${outfile}`), { recursive: true, force: true });
      mkdirSync(new URL('.', `file://${outfile}`), { recursive: true });
      const entry = fileURLToPath(new URL(`functions/${broker}/handler.ts`, ROOT));
      const result = await build({ ...esbuildOptions(entry, outfile, { bundleAwsSdk }), metafile: true });
      metafiles.set(broker, result.metafile);
    }
  });

  it.each(BROKERS)('%s: loads and answers a check request with the right secret 200 "200 OK"', async (broker) => {
    const answer = await invoke(
      bundlePath(broker, bundleAwsSdk),
      checkEvent(broker, { headers: { 'x-webhook-secret': SECRET } }),
    );
    expect(answer).toMatchObject({ statusCode: 200, body: '200 OK' });
  });

  it.each(BROKERS)('%s: accepts the secret as ?secret= too, as Realm-era widgets send it', async (broker) => {
    const answer = await invoke(bundlePath(broker, bundleAwsSdk), checkEvent(broker, { query: { secret: SECRET } }));
    expect(answer).toMatchObject({ statusCode: 200, body: '200 OK' });
  });

  it.each(BROKERS)('%s: answers a check request without the secret 401 "Unauthorized"', async (broker) => {
    const answer = await invoke(bundlePath(broker, bundleAwsSdk), checkEvent(broker, {}));
    expect(answer).toMatchObject({ statusCode: 401, body: 'Unauthorized' });
  });

  it.each(BROKERS)(
    '%s: exports an async handler, which Node 24 runs: two parameters at most, a promise back',
    async (broker) => {
      const called = await invokeBundle(
        bundlePath(broker, bundleAwsSdk),
        checkEvent(broker, { headers: { 'x-webhook-secret': SECRET } }),
      );
      expect(called.parameters).toBeLessThanOrEqual(2);
      expect(called.returnsPromise).toBe(true);
    },
  );

  describe('with a store that never answers (docs/contract.md#store-timeout)', () => {
    const paper = usePaperBrokers();
    const store = useLocalServer(startFakeAwsStore, (started) => {
      started.hang([]);
      started.resetRequests();
    });
    const STORED = {
      webhookSecret: 'ppp/webhook-secret',
      alor: { token: 'ppp/alor/refresh-token', account: '/ppp/alor/portfolio' },
      tinkoff: { token: 'ppp/tinkoff/token', account: '/ppp/tinkoff/account-id' },
    } as const;

    /** The deployed settings, on the paper brokers; the bundled SDK reads the store, the external one the extension. */
    const deployedEnv = (broker: Broker): Record<string, string> =>
      deployedFunctionEnv(
        broker,
        store,
        paper,
        {
          webhookSecret: STORED.webhookSecret,
          alorToken: STORED.alor.token,
          alorPortfolio: STORED.alor.account,
          tinkoffToken: STORED.tinkoff.token,
          tinkoffAccount: STORED.tinkoff.account,
        },
        !bundleAwsSdk,
      );
    const order = (broker: Broker) =>
      apiGatewayEvent({
        route: `POST /${broker}`,
        body: JSON.stringify({ t: 'SBER', p: '250.5', v: 1, d: 'buy', f: 'BBG004730N88' }),
        headers: { 'x-webhook-secret': SECRET },
      });
    const fill = () => {
      store.setSecret(STORED.webhookSecret, SECRET);
      store.setSecret(STORED.alor.token, PAPER_ALOR.refreshToken);
      store.setParameter(STORED.alor.account, PAPER_ALOR.portfolio);
      store.setSecret(STORED.tinkoff.token, PAPER_TINKOFF.token);
      store.setParameter(STORED.tinkoff.account, PAPER_TINKOFF.accountId);
    };

    it.each(
      BROKERS.flatMap((broker) => [
        [broker, 'all reads', 'all', `secret:${STORED.webhookSecret}`] as const,
        [broker, "only the broker token's read", [STORED[broker].token], `secret:${STORED[broker].token}`] as const,
      ]),
    )(
      '%s, %s hanging: answers 504 with its text by the deadline, no order, one log line',
      async (broker, _case, hang, read) => {
        fill();
        store.hang(hang);

        const { answer, lines } = await invokeOrder(
          bundlePath(broker, bundleAwsSdk),
          order(broker),
          deployedEnv(broker),
        );

        expect(answer).toMatchObject({ statusCode: 504, body: 'Хранилище секретов не ответило вовремя' });
        expect(paper[broker].stats.requests).toBe(0);
        expect(lines).toEqual([
          expect.objectContaining({ message: 'webhook answered', status: 504, outcome: 'store_timeout', store: read }),
        ]);
        // The mechanism behind "within 2.9 s": the store was waited for until the request's deadline (its figure, from
        // the arrival), and the answer follows a deadline within the contract's margin.
        expect(lines[0]?.budgetMs).toBe(ANSWER_WITHIN_MS - ANSWER_MARGIN_MS);
        expect(store.requests.length).toBeGreaterThan(0);
      },
    );
  });

  it.each(BROKERS)('%s: is one ES module with a linked source map', (broker) => {
    const file = bundlePath(broker, bundleAwsSdk);
    expect(file.endsWith('.mjs')).toBe(true);
    expect(existsSync(`${file}.map`)).toBe(true);
  });

  it.each(BROKERS)('%s: imports the AWS SDK only when a store read needs it, never at load', (broker) => {
    const code = readFileSync(bundlePath(broker, bundleAwsSdk), 'utf8');
    // A static import of an external package is hoisted and loaded with the bundle; a dynamic one waits for its call.
    expect(code).not.toMatch(/from\s*"@aws-sdk\//);
    if (!bundleAwsSdk) expect(code).toMatch(/import\("@aws-sdk\/client-secrets-manager"\)/);
  });

  it.each(BROKERS)("%s: holds zod's smaller build only (shared/zod.ts), not the classic one", (broker) => {
    const inputs = Object.keys(metafiles.get(broker)?.inputs ?? {});
    expect(inputs.some((input) => input.includes('node_modules/zod/v4/mini/'))).toBe(true);
    expect(inputs.filter((input) => input.includes('node_modules/zod/v4/classic/'))).toEqual([]);
  });

  it.each(BROKERS)(
    "%s: holds no preflight module (shared/preflight/, a broker's preflight*.ts): only the command line, the local run and the bench read them",
    (broker) => {
      const inputs = Object.keys(metafiles.get(broker)?.inputs ?? {});
      expect(inputs.some((input) => input.startsWith('shared/brokers/'))).toBe(true);
      expect(
        inputs.filter((input) => /^shared\/preflight\/|^shared\/brokers\/[^/]+\/preflight[^/]*\.ts$/.test(input)),
      ).toEqual([]);
    },
  );

  it.each(BROKERS)(`%s: ${bundleAwsSdk ? 'contains' : 'leaves out'} the AWS SDK`, (broker) => {
    const inputs = Object.keys(metafiles.get(broker)?.inputs ?? {});
    const sdkInputs = inputs.filter((input) => input.includes('node_modules/@aws-sdk/'));
    if (bundleAwsSdk) expect(sdkInputs.length).toBeGreaterThan(0);
    else expect(sdkInputs).toEqual([]);
  });
});

describe('CDK bundling', () => {
  it('produces, for both functions, the same code as esbuildOptions (so this check tests what is deployed)', async () => {
    // cdk.json's defaults: the webhooks read through the store extension, so their AWS SDK is left external whatever
    // bundleAwsSdk says; build that variant fresh here rather than rely on test order.
    const reference = new Map<Broker, string>();
    for (const broker of BROKERS) {
      const outfile = join(createTempDir('ppp-esbuild-'), BUNDLE_FILE_NAME);
      const entry = fileURLToPath(new URL(`functions/${broker}/handler.ts`, ROOT));
      await build(esbuildOptions(entry, outfile, { bundleAwsSdk: false }));
      reference.set(broker, readFileSync(outfile, 'utf8'));
    }

    const outdir = createTempDir('ppp-cdk-out-');
    const { app, stack } = createWebhooksApp({ outdir, context: { ...CDK_JSON_CONTEXT, bundleAwsSdk: true } });
    const assembly = app.synth();
    const resources = assembly.getStackByName(stack.stackName).template.Resources;
    const withoutMapUrl = (code: string) => code.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '');
    for (const broker of BROKERS) {
      // The asset directory is named after the asset hash, which is also the S3 key of the code.
      const s3Key: string = resources[logicalId(stack, stack[broker].function)].Properties.Code.S3Key;
      const assetPath = `asset.${s3Key.replace(/\.zip$/, '')}`;
      const deployed = readFileSync(join(outdir, assetPath, BUNDLE_FILE_NAME), 'utf8');
      expect(withoutMapUrl(deployed), broker).toBe(withoutMapUrl(reference.get(broker) ?? ''));
    }
  });
});

describe('names in a bundle', () => {
  /**
   * Bundles `source` (an entry module exporting `names`) with the deployed options into `names/<label>/`, beside the
   * other bundles so that it resolves packages from the project's node_modules, imports it, returns `names`.
   */
  async function bundledNames(label: string, source: string, bundleAwsSdk: boolean): Promise<[string, string][]> {
    const dir = fileURLToPath(new URL(`names/${label}/`, OUT));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const entry = join(dir, 'entry.ts');
    writeFileSync(entry, source);
    const outfile = join(dir, BUNDLE_FILE_NAME);
    await build(esbuildOptions(entry, outfile, { bundleAwsSdk }));
    return ((await import(pathToFileURL(outfile).href)) as { names: [string, string][] }).names;
  }

  it.each(VARIANTS)(
    "keeps each typed error's name, which log lines carry, with or without keepNames ($name)",
    async ({ bundleAwsSdk }) => {
      // Every typed error of shared/errors.ts, made and named as a bundled function makes and logs it.
      const names = await bundledNames(
        `errors-${bundleAwsSdk ? 'sdk-bundled' : 'sdk-external'}`,
        `import * as errors from ${JSON.stringify(fileURLToPath(new URL('shared/errors.ts', ROOT)))};
        export const names = Object.entries(errors)
          .filter(([, value]) => typeof value === 'function' && value.prototype instanceof errors.HttpError)
          .map(([exported, ErrorClass]) => [exported, new ErrorClass('x', { retriable: false }).name]);`,
        bundleAwsSdk,
      );

      expect(names.length).toBeGreaterThanOrEqual(8);
      for (const [exported, name] of names) expect(name).toBe(exported);
    },
  );

  it("keeps the AWS SDK's class names where it is bundled: the SDK tells its default logger by name", async () => {
    const names = await bundledNames(
      'sdk-logger',
      `import { NoOpLogger } from '@smithy/core/client';
      export const names = [['NoOpLogger', new NoOpLogger().constructor.name]];`,
      true,
    );

    expect(names).toEqual([['NoOpLogger', 'NoOpLogger']]);
  });
});
