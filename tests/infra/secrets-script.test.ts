import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { WEBHOOK_SECRET_LENGTH as GENERATED_SECRET_LENGTH } from '#shared/facts.ts';
import { readConfig } from '../../infra/config.ts';
import { parseArgs, UsageError } from '../../scripts/context.ts';
import { type Io, run } from '../../scripts/secrets.ts';
import { CDK_JSON_CONTEXT, synth } from './synth.ts';

const secretsManager = mockClient(SecretsManagerClient);
const ssm = mockClient(SSMClient);
const clients = () => ({ secretsManager: new SecretsManagerClient({}), ssm: new SSMClient({}) });

function harness(input = '') {
  const out: string[] = [];
  const err: string[] = [];
  const prompts: string[] = [];
  const io: Io = {
    readValue: async (prompt) => {
      prompts.push(prompt);
      return input;
    },
    out: (text) => out.push(text),
    err: (text) => err.push(text),
  };
  return { io, out, err, prompts };
}

const config = (context: Record<string, unknown> = {}) =>
  readConfig((key) => ({ ...CDK_JSON_CONTEXT, ...context })[key]);

describe('scripts/secrets.ts', () => {
  beforeEach(() => {
    secretsManager.reset();
    ssm.reset();
  });

  it('writes a broker token to the secret the stack created, read from the prompt/stdin', async () => {
    const { io, err, prompts } = harness('t.token-value\n');
    await expect(run(['set', 'tinkoff-token'], config(), io, clients)).resolves.toBe(0);
    expect(prompts).toEqual(['tinkoff-token: ']);
    expect(secretsManager.commandCalls(PutSecretValueCommand).map((call) => call.args[0].input)).toEqual([
      { SecretId: 'ppp-webhooks/tinkoff/token', SecretString: 't.token-value' },
    ]);
    expect(err.join('\n')).not.toContain('t.token-value');
  });

  it('uses exactly the names the synthesized stack gives its secrets and parameters', async () => {
    const { template, stack } = synth();
    const stackSecretNames = [template, Template.fromStack(stack.notifications)]
      .flatMap((stackTemplate) => Object.values(stackTemplate.findResources('AWS::SecretsManager::Secret')))
      .map((secret) => secret.Properties.Name)
      .sort();
    const { io, out } = harness();
    await run(['names'], config(), io, clients);
    const listed = out.map((line) => line.split('\t'));
    expect(
      listed
        .filter(([, kind]) => kind === 'Secrets Manager secret')
        .map(([, , name]) => name)
        .sort(),
    ).toEqual(stackSecretNames);
    expect(listed.filter(([, kind]) => kind === 'SSM parameter').map(([, , name]) => name)).toEqual([
      '/ppp-webhooks/alor/portfolio',
      '/ppp-webhooks/tinkoff/account-id',
      '/ppp-webhooks/telegram/chat-id',
    ]);
  });

  it('follows context: an imported secret name and a resource prefix given with -c', async () => {
    const { positional, context } = parseArgs([
      'set',
      'alor-refresh-token',
      '-c',
      'alorRefreshTokenSecretName=mine/alor',
    ]);
    const { io } = harness('refresh');
    await run(positional, config(context), io, clients);
    expect(secretsManager.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: 'mine/alor',
      SecretString: 'refresh',
    });
  });

  it('creates or overwrites the portfolio as a String parameter', async () => {
    const { io } = harness('D71111\n');
    await run(['set', 'alor-portfolio'], config(), io, clients);
    expect(ssm.commandCalls(PutParameterCommand).map((call) => call.args[0].input)).toEqual([
      { Name: '/ppp-webhooks/alor/portfolio', Value: 'D71111', Type: 'String', Overwrite: true },
    ]);
  });

  it('refuses to overwrite a parameter the stack owns because context sets it', async () => {
    const { io } = harness('D70000');
    await expect(run(['set', 'alor-portfolio'], config({ alorPortfolio: 'D71111' }), io, clients)).rejects.toThrow(
      new UsageError(
        '/ppp-webhooks/alor/portfolio is created by the stack from context "alorPortfolio"; change it in cdk.json and run npm run deploy',
      ),
    );
    expect(ssm.calls()).toHaveLength(0);
  });

  it('never takes a value from the command line', async () => {
    const { io } = harness();
    await expect(run(['set', 'tinkoff-token', 't.in-argv'], config(), io, clients)).rejects.toThrow(
      /never taken from the command line/,
    );
    expect(secretsManager.calls()).toHaveLength(0);
  });

  it('refuses an empty value and a multi-line broker token, changing nothing', async () => {
    await expect(run(['set', 'alor-refresh-token'], config(), harness('\n').io, clients)).rejects.toThrow(
      'No value given for alor-refresh-token; nothing was changed',
    );
    await expect(run(['set', 'alor-refresh-token'], config(), harness('a\nb\n').io, clients)).rejects.toThrow(
      'alor-refresh-token is a single value, but 2 lines were given; nothing was changed',
    );
    expect(secretsManager.calls()).toHaveLength(0);
  });

  it('stores several webhook secrets, one per line', async () => {
    await run(['set', 'webhook-secret'], config(), harness('new-one\r\n\nold-one\n').io, clients);
    expect(secretsManager.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: 'ppp-webhooks/webhook-secret',
      SecretString: 'new-one\nold-one',
    });
  });

  it('prints the webhook secret values on stdout, one per line', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: 'aaa\nbbb' });
    const { io, out } = harness();
    await expect(run(['get', 'webhook-secret'], config(), io, clients)).resolves.toBe(0);
    expect(out).toEqual(['aaa', 'bbb']);
  });

  it('keeps broker tokens write-only', async () => {
    await expect(run(['get', 'tinkoff-token'], config(), harness().io, clients)).rejects.toThrow(
      'get works on webhook-secret only: broker tokens are write-only here (issue a new token at the broker and use set)',
    );
    expect(secretsManager.calls()).toHaveLength(0);
  });

  it('rotates without downtime: the new secret goes in front and the old one keeps working until pruned', async () => {
    secretsManager.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'old-one' });
    const { io, out } = harness();
    await run(['rotate', 'webhook-secret'], config(), io, clients);
    const [fresh] = out;
    expect(fresh).toMatch(new RegExp(`^[A-Za-z0-9]{${GENERATED_SECRET_LENGTH}}$`));
    expect(secretsManager.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: 'ppp-webhooks/webhook-secret',
      SecretString: `${fresh}\nold-one`,
    });

    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: `${fresh}\nold-one` });
    await run(['prune', 'webhook-secret'], config(), harness().io, clients);
    expect(secretsManager.commandCalls(PutSecretValueCommand)[1]?.args[0].input).toEqual({
      SecretId: 'ppp-webhooks/webhook-secret',
      SecretString: fresh,
    });
  });

  it.each([
    ['one per line', 'old-one\nolder-one'],
    ['as a JSON array, as the functions also accept it', '["old-one", "older-one"]'],
  ])('rotates a webhook secret stored %s, keeping every current value behind the new one', async (_form, stored) => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: stored });
    const { io, out, err } = harness();
    await run(['rotate', 'webhook-secret'], config(), io, clients);
    expect(secretsManager.commandCalls(PutSecretValueCommand)[0]?.args[0].input.SecretString).toBe(
      `${out[0]}\nold-one\nolder-one`,
    );
    expect(err.join('\n')).toContain('in front of 2 current one(s)');
  });

  it('prints each value of a webhook secret stored as a JSON array', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '["aaa", "bbb"]' });
    const { io, out } = harness();
    await expect(run(['get', 'webhook-secret'], config(), io, clients)).resolves.toBe(0);
    expect(out).toEqual(['aaa', 'bbb']);
  });

  it.each([
    ['an empty JSON array', '[]'],
    ['a JSON array of blank strings', '["", "  "]'],
  ])(
    'says loudly, naming the secret but not its value, that a webhook secret holding %s accepts no call',
    async (_case, stored) => {
      const warning =
        'WARNING: ppp-webhooks/webhook-secret holds no webhook secret (it is empty, or a list without a value): every call is answered 401 Unauthorized';
      secretsManager.on(GetSecretValueCommand).resolves({ SecretString: stored });
      const get = harness();
      await expect(run(['get', 'webhook-secret'], config(), get.io, clients)).resolves.toBe(1);
      expect({ out: get.out, err: get.err }).toEqual({ out: [], err: [warning] });

      const rotate = harness();
      await run(['rotate', 'webhook-secret'], config(), rotate.io, clients);
      expect(rotate.err[0]).toBe(warning);
      expect(secretsManager.commandCalls(PutSecretValueCommand)[0]?.args[0].input.SecretString).toBe(rotate.out[0]);
    },
  );

  it('rotates a webhook secret that has no value yet into one with a single value', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejects(new ResourceNotFoundException({ message: 'no version', $metadata: {} }));
    const { io, out } = harness();
    await run(['rotate', 'webhook-secret'], config(), io, clients);
    expect(secretsManager.commandCalls(PutSecretValueCommand)[0]?.args[0].input.SecretString).toBe(out[0]);
  });
});
