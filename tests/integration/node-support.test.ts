import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startFakeAwsStore } from '#local/aws-store.ts';
import { nodeSupportNotice, projectEngines } from '#local/node-support.ts';
import { useLocalServer } from '../helpers/local-servers.ts';
import { NODE_NOTICE_OUTPUT, runToolProcess } from '../helpers/preflight-process.ts';

/**
 * The command-line tools that make AWS SDK clients, run as `npm run` runs them against the fake AWS store: on the Node
 * running the tests they print nothing about Node when `engines` lists it; on Node 20 exactly one line saying which
 * Node to install, and never the AWS SDK's own notice. Node 20 is played by the Node running the tests, its
 * `process.version` set before anything else loads (the SDK and the tools read nothing else).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const AS_NODE_20 = [
  '--import',
  `data:text/javascript,Object.defineProperty(process, 'version', { value: 'v20.19.0' })`,
];
const NODE_20_NOTICE = nodeSupportNotice('v20.19.0', projectEngines());
const WEBHOOK_SECRET = 'node-support-webhook-secret-1';

describe('npm run secrets and npm run preflight -- --deployed', () => {
  const store = useLocalServer(startFakeAwsStore, (started) => {
    started.setSecret('ppp-webhooks/webhook-secret', WEBHOOK_SECRET);
  });

  const tools = [
    ['npm run secrets -- get webhook-secret', 'scripts/secrets.ts', ['get', 'webhook-secret'], WEBHOOK_SECRET],
    [
      'npm run preflight -- --deployed',
      'scripts/preflight.ts',
      ['--deployed', '--lang', 'en'],
      'Alor is not configured',
    ],
  ] as const;

  it.each(tools)(
    '%s: the answer, and on this Node nothing about Node unless engines leaves it out',
    async (_name, script, args, answer) => {
      const run = await runToolProcess(script, args, store.env());

      expect(run.stdout).toContain(answer);
      expect(run.stderr).toBe(NODE_NOTICE_OUTPUT);
    },
  );

  it.each(tools)(
    '%s on Node 20: the answer, and one line before it saying which Node to install',
    async (_name, script, args, answer) => {
      const run = await runToolProcess(script, args, store.env(), { nodeArgs: AS_NODE_20 });

      expect(run.stdout).toContain(answer);
      expect(NODE_20_NOTICE).toMatch(/^Node\.js v20\.19\.0 is not supported here: install Node\.js 24 /);
      expect(run.stderr).toBe(`${NODE_20_NOTICE}\n`);
    },
  );
});

describe('the AWS SDK on Node 20, left to itself', () => {
  it('warns on stderr in several lines when a client is made: what the tools turn off', async () => {
    const script = `
      const { SSMClient } = await import('@aws-sdk/client-ssm');
      new SSMClient({ region: 'eu-central-1' });
    `;
    const { stderr } = await promisify(execFile)(
      process.execPath,
      [...AS_NODE_20, '--input-type=module', '--eval', script],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, timeout: 20_000 },
    );

    expect(stderr).toContain('NodeVersionSupportWarning');
    expect(stderr.trim().split('\n').length).toBeGreaterThan(5);
  });
});
