import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DeleteParameterCommand, ParameterNotFound, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type PaperBrokers, startPaperBrokers } from '#local/paper-broker/index.ts';
import { WEBHOOK_SECRET_LENGTH as GENERATED_SECRET_LENGTH } from '#shared/facts.ts';
import { createKeepAliveAgent } from '#shared/http/outbound/client.ts';
import { readConfig } from '../../infra/config.ts';
import { parseArgs, UsageError } from '../../scripts/context.ts';
import { EMPTIED_SECRET, type Io, run, tokenAccounts } from '../../scripts/secrets.ts';
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

describe("scripts/secrets.ts: a broker token's accounts, and emptying a value", () => {
  const ALOR_TOKEN = 'alor-refresh-listed-4f1a';
  const TINKOFF_TOKEN = 't.tinvest-listed-9c2e';
  let paper: PaperBrokers;
  const agent = createKeepAliveAgent();

  beforeAll(async () => {
    paper = await startPaperBrokers({
      alor: { accounts: { [ALOR_TOKEN]: ['D12345', 'G12345'] } },
      tinkoff: { accounts: { [TINKOFF_TOKEN]: ['2000000000'] } },
    });
  });
  afterAll(async () => {
    await Promise.all([paper.close(), agent.close()]);
  });
  beforeEach(() => {
    secretsManager.reset();
    ssm.reset();
    paper.tinkoff.setScenario(undefined);
  });

  /** The stack's config, its broker URLs pointed at the paper brokers (context itself takes https only). */
  const paperConfig = (context: Record<string, unknown> = {}) => ({
    ...config(context),
    alorOauthUrl: paper.alor.url,
    alorApiUrl: paper.alor.url,
    tinkoffApiUrl: paper.tinkoff.v2Url,
  });
  const accounts = (context: Record<string, unknown> = {}) => tokenAccounts(paperConfig(context), agent);
  /** A terminal: the value at the hidden prompt, then `answer` at the visible one. */
  const terminal = (value: string, answer: string) => {
    const run = harness(value);
    const questions: string[] = [];
    const io: Io = {
      ...run.io,
      choose: async (prompt) => {
        questions.push(prompt);
        return answer;
      },
    };
    return { ...run, io, questions };
  };

  it('lists the accounts a T-Invest token reaches, and stores the one chosen by number as the account id', async () => {
    paper.tinkoff.setScenario('several-accounts');
    const { io, err, questions } = terminal(`${TINKOFF_TOKEN}\n`, '2');

    await expect(run(['set', 'tinkoff-token'], paperConfig(), io, clients, accounts())).resolves.toBe(0);

    expect(err.slice(1)).toEqual([
      'Accounts this token reaches (id, name, type, access):',
      '  1. 2000000000 (Брокерский счёт)  TINKOFF  full access',
      '  2. 2000000001 (ИИС)  TINKOFF_IIS  full access',
      'Stored tinkoff-account-id 2000000001 in /ppp-webhooks/tinkoff/account-id.',
    ]);
    expect(questions).toEqual(['Store which one as tinkoff-account-id? 1-2 or an id, Enter to skip: ']);
    expect(ssm.commandCalls(PutParameterCommand).map((call) => call.args[0].input)).toEqual([
      { Name: '/ppp-webhooks/tinkoff/account-id', Value: '2000000001', Type: 'String', Overwrite: true },
    ]);
    expect(err.join('\n')).not.toContain(TINKOFF_TOKEN);
  });

  it('shows a read-only or closed account as such', async () => {
    paper.tinkoff.setScenario('read-only-token');
    const readOnly = terminal(TINKOFF_TOKEN, '');
    await run(['set', 'tinkoff-token'], paperConfig(), readOnly.io, clients, accounts());
    expect(readOnly.err).toContain('  1. 2000000000 (Брокерский счёт)  TINKOFF  read-only: cannot trade');

    paper.tinkoff.setScenario('closed-account');
    const closed = terminal(TINKOFF_TOKEN, '');
    await run(['set', 'tinkoff-token'], paperConfig(), closed.io, clients, accounts());
    expect(closed.err).toContain('  1. 2000000000 (Брокерский счёт)  TINKOFF  full access, closed');
    expect(ssm.calls()).toHaveLength(0);
  });

  it('lists the portfolios of an Alor refresh token, and stores the one chosen by id', async () => {
    const { io, err } = terminal(ALOR_TOKEN, 'G12345');

    await run(['set', 'alor-refresh-token'], paperConfig(), io, clients, accounts());

    expect(err.slice(1)).toEqual([
      'Portfolios this token trades:',
      '  1. D12345',
      '  2. G12345',
      'Stored alor-portfolio G12345 in /ppp-webhooks/alor/portfolio.',
    ]);
  });

  it('without a terminal, lists them and says how to store one', async () => {
    const { io, err } = harness(TINKOFF_TOKEN);

    await run(['set', 'tinkoff-token'], paperConfig(), io, clients, accounts());

    expect(err.at(-1)).toBe('To store one of them: npm run secrets -- set tinkoff-account-id');
    expect(ssm.calls()).toHaveLength(0);
  });

  it('offers nothing for a parameter the stack owns, and stores nothing for an answer off the list', async () => {
    const owned = terminal(TINKOFF_TOKEN, '1');
    await run(['set', 'tinkoff-token'], paperConfig({ tinkoffAccountId: '2000000000' }), owned.io, clients, accounts());
    expect(owned.err.at(-1)).toBe(
      '/ppp-webhooks/tinkoff/account-id is set by the stack from context "tinkoffAccountId" (2000000000); change it there if needed.',
    );
    expect(owned.questions).toEqual([]);

    const offList = terminal(TINKOFF_TOKEN, '7');
    await run(['set', 'tinkoff-token'], paperConfig(), offList.io, clients, accounts());
    expect(offList.err.at(-1)).toBe(
      '7 is not one of them; nothing was stored. Later: npm run secrets -- set tinkoff-account-id',
    );
    expect(ssm.calls()).toHaveLength(0);
  });

  it('stores a token the broker refuses, but says so loudly, never quoting it', async () => {
    const { io, err } = terminal('t.not-a-token-of-the-broker', '1');

    await expect(run(['set', 'tinkoff-token'], paperConfig(), io, clients, accounts())).resolves.toBe(0);

    expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(1);
    expect(err.at(-1)).toBe(
      'WARNING: T-Invest refused this token: orders will fail until a valid one is set (npm run preflight tells more).',
    );
    expect(err.join('\n')).not.toContain('t.not-a-token-of-the-broker');
  });

  it('says when the broker cannot be asked, and keeps the token stored', async () => {
    paper.alor.injectFault({ route: 'refresh', fault: { kind: 'status', status: 503 }, times: 2 });
    const { io, err } = terminal(ALOR_TOKEN, '1');

    await expect(run(['set', 'alor-refresh-token'], paperConfig(), io, clients, accounts())).resolves.toBe(0);

    expect(err.at(-1)).toBe("Could not list the token's accounts: Alor did not answer (refresh HTTP 503).");
    expect(secretsManager.commandCalls(PutSecretValueCommand)).toHaveLength(1);
  });

  it.each([
    [
      'tinkoff-token',
      'ppp-webhooks/tinkoff/token',
      'the T-Invest function answers 404 «Не задан торговый токен». Revoke the token at T-Invest too, where you issued it (https://www.tbank.ru/invest/settings/)',
    ],
    [
      'alor-refresh-token',
      'ppp-webhooks/alor/refresh-token',
      'the Alor function answers 404 «Не задан refresh-токен Alor Open API». Revoke the token at Alor too, where you issued it (https://alor.dev/open-api-tokens)',
    ],
    ['webhook-secret', 'ppp-webhooks/webhook-secret', 'every call is answered 401 Unauthorized'],
  ])(
    'delete %s empties the secret, which the functions read as unset, and says what follows',
    async (name, id, effect) => {
      const { io, err } = harness();

      await expect(run(['delete', name], config(), io, clients)).resolves.toBe(0);

      expect(secretsManager.commandCalls(PutSecretValueCommand).map((call) => call.args[0].input)).toEqual([
        { SecretId: id, SecretString: EMPTIED_SECRET },
      ]);
      expect(EMPTIED_SECRET.trim()).toBe('');
      expect(err).toEqual([`Emptied ${name} in ${id}: within minutes (values are cached) ${effect}.`]);
    },
  );

  it('delete of an account parameter deletes it, even when it was already gone', async () => {
    ssm.on(DeleteParameterCommand).rejectsOnce(new ParameterNotFound({ message: 'gone', $metadata: {} }));
    const { io, err } = harness();

    await expect(run(['delete', 'tinkoff-account-id'], config(), io, clients)).resolves.toBe(0);

    expect(ssm.commandCalls(DeleteParameterCommand).map((call) => call.args[0].input)).toEqual([
      { Name: '/ppp-webhooks/tinkoff/account-id' },
    ]);
    expect(err).toEqual([
      'Deleted tinkoff-account-id (/ppp-webhooks/tinkoff/account-id): within minutes (values are cached) the T-Invest function answers 404 «Не задан номер счёта».',
    ]);
  });

  it('refuses to delete a parameter the stack owns', async () => {
    await expect(
      run(['delete', 'alor-portfolio'], config({ alorPortfolio: 'D71111' }), harness().io, clients),
    ).rejects.toThrow(
      new UsageError(
        '/ppp-webhooks/alor/portfolio is created by the stack from context "alorPortfolio"; remove it from cdk.json and run npm run deploy',
      ),
    );
    expect(ssm.calls()).toHaveLength(0);
  });
});
