/**
 * Puts secret values and account identifiers where the deployed functions read them.
 *
 *   npm run secrets -- names                      list what goes where (no AWS call)
 *   npm run secrets -- set <name>                 read a value (hidden prompt, or stdin) and store it
 *   npm run -s secrets -- get webhook-secret      print the webhook secret(s), one per line
 *   npm run -s secrets -- rotate webhook-secret   add a new random webhook secret, keep the old one(s); print the new one
 *   npm run secrets -- prune webhook-secret       keep only the newest webhook secret
 *
 * <name> is one of: webhook-secret, alor-refresh-token, tinkoff-token, telegram-bot-token, alor-portfolio,
 * tinkoff-account-id, telegram-chat-id.
 * Names of the secrets/parameters come from the same configuration as the stack (`infra/config.ts`, reading
 * `cdk.json` context, plus any `-c key=value` given here). Values are never taken from the command line, so they stay
 * out of shell history; they are read from a prompt that does not echo, or from stdin when it is not a terminal.
 * Credentials and region come from the usual AWS SDK chain (AWS_PROFILE, AWS_REGION, ~/.aws/config …).
 */
import { pathToFileURL } from 'node:url';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  SecretsManagerClient as SecretsManagerClientClass,
} from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, type SSMClient, SSMClient as SSMClientClass } from '@aws-sdk/client-ssm';
import {
  formatAcceptedSecrets,
  generateWebhookSecret,
  noAcceptedSecretWarning,
  parseAcceptedSecrets,
} from '#shared/auth/webhook-secrets.ts';
import { STORED_PARAMETERS as PARAMETER_NAMES, STORED_SECRETS as SECRET_NAMES } from '#shared/facts.ts';
import { type NotifyConfig, readConfig, readNotifyConfig, type WebhooksConfig } from '../infra/config.ts';
import { loadContext, parseArgs, UsageError } from './context.ts';

type SecretName = (typeof SECRET_NAMES)[number];
type ParameterName = (typeof PARAMETER_NAMES)[number];

export interface Clients {
  readonly secretsManager: Pick<SecretsManagerClient, 'send'>;
  readonly ssm: Pick<SSMClient, 'send'>;
}

export interface Io {
  /** Reads one value: from a hidden prompt on a terminal, otherwise all of stdin. */
  readonly readValue: (prompt: string) => Promise<string>;
  /** Where values asked for go (`get`, `rotate`): stdout, so they can be piped. */
  readonly out: (text: string) => void;
  /** Messages for the human: stderr. Never receives a value. */
  readonly err: (text: string) => void;
}

/** A broker token or parameter as typed or piped: its non-blank lines (one is expected). */
function nonBlankLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** Where the stack keeps each value: the webhook and broker part, and the notifier's (README.md#telegram-messages). */
type StoreConfig = WebhooksConfig & Pick<NotifyConfig, 'telegramBotToken' | 'telegramChatId'>;

function secretId(config: StoreConfig, name: SecretName): string {
  switch (name) {
    case 'webhook-secret':
      return config.webhookSecret.name;
    case 'alor-refresh-token':
      return config.alorRefreshToken.name;
    case 'tinkoff-token':
      return config.tinkoffToken.name;
    case 'telegram-bot-token':
      return config.telegramBotToken.name;
  }
}

function parameterRef(config: StoreConfig, name: ParameterName) {
  switch (name) {
    case 'alor-portfolio':
      return { ref: config.alorPortfolio, contextKey: 'alorPortfolio' };
    case 'tinkoff-account-id':
      return { ref: config.tinkoffAccountId, contextKey: 'tinkoffAccountId' };
    case 'telegram-chat-id':
      return { ref: config.telegramChatId, contextKey: 'telegramChatId' };
  }
}

const isSecretName = (name: string): name is SecretName => (SECRET_NAMES as readonly string[]).includes(name);
const isParameterName = (name: string): name is ParameterName => (PARAMETER_NAMES as readonly string[]).includes(name);

function usage(): string {
  return [
    'usage: npm run secrets -- <command> [<name>] [-c key=value ...]',
    '  names                          list the secrets and parameters the stack uses',
    `  set <name>                     store a value read from a hidden prompt or stdin; <name>: ${[...SECRET_NAMES, ...PARAMETER_NAMES].join(', ')}`,
    '  get webhook-secret             print the webhook secret(s), one per line',
    '  rotate webhook-secret          add a new random webhook secret in front of the current one(s) and print it',
    '  prune webhook-secret           keep only the first (newest) webhook secret',
  ].join('\n');
}

/** The current webhook secret values, read as the functions read them; none when the secret was never given a value. */
async function readWebhookSecret(config: WebhooksConfig, clients: Clients): Promise<string[]> {
  try {
    const output = await clients.secretsManager.send(
      new GetSecretValueCommand({ SecretId: config.webhookSecret.name }),
    );
    return parseAcceptedSecrets(output.SecretString);
  } catch (error) {
    // A secret created without a value has no version yet: GetSecretValue says ResourceNotFoundException.
    if (error instanceof Error && error.name === 'ResourceNotFoundException') return [];
    throw error;
  }
}

async function putWebhookSecret(config: WebhooksConfig, clients: Clients, values: readonly string[]): Promise<void> {
  await clients.secretsManager.send(
    new PutSecretValueCommand({ SecretId: config.webhookSecret.name, SecretString: formatAcceptedSecrets(values) }),
  );
}

/** Runs one command. Returns the process exit code. */
export async function run(
  positional: readonly string[],
  webhooks: WebhooksConfig,
  io: Io,
  clients: () => Clients,
  notify: Pick<NotifyConfig, 'telegramBotToken' | 'telegramChatId'> = readNotifyConfig(() => undefined),
): Promise<number> {
  const config: StoreConfig = { ...webhooks, ...notify };
  const [command, name, ...rest] = positional;
  if (rest.length > 0) {
    throw new UsageError(
      'Values are never taken from the command line (they would stay in shell history): type them at the prompt or pipe them on stdin',
    );
  }

  if (command === 'names') {
    for (const secret of SECRET_NAMES) io.out(`${secret}\tSecrets Manager secret\t${secretId(config, secret)}`);
    for (const parameter of PARAMETER_NAMES) {
      const { ref } = parameterRef(config, parameter);
      io.out(
        `${parameter}\tSSM parameter\t${ref.name}${ref.value === undefined ? '' : '\t(set by the stack from context)'}`,
      );
    }
    return 0;
  }

  if (name === undefined) throw new UsageError(usage());

  if (command === 'set' && isSecretName(name)) {
    const raw = await io.readValue(`${name}: `);
    const values = name === 'webhook-secret' ? parseAcceptedSecrets(raw) : nonBlankLines(raw);
    if (values.length === 0) throw new UsageError(`No value given for ${name}; nothing was changed`);
    if (name !== 'webhook-secret' && values.length > 1) {
      throw new UsageError(`${name} is a single value, but ${values.length} lines were given; nothing was changed`);
    }
    if (name === 'webhook-secret') {
      if (values.some((value) => !/^[\x21-\x7e]+$/.test(value))) {
        throw new UsageError('A webhook secret may hold only printable ASCII without spaces; nothing was changed');
      }
      await putWebhookSecret(config, clients(), values);
    } else {
      await clients().secretsManager.send(
        new PutSecretValueCommand({ SecretId: secretId(config, name), SecretString: values[0] }),
      );
    }
    io.err(`Stored ${name} in ${secretId(config, name)}. The functions pick it up within minutes (values are cached).`);
    return 0;
  }

  if (command === 'set' && isParameterName(name)) {
    const { ref, contextKey } = parameterRef(config, name);
    if (ref.value !== undefined) {
      throw new UsageError(
        `${ref.name} is created by the stack from context "${contextKey}"; change it in cdk.json and run npm run deploy`,
      );
    }
    const values = nonBlankLines(await io.readValue(`${name}: `));
    if (values.length !== 1 || /\s/.test(values[0] ?? '')) {
      throw new UsageError(`${name} must be one value without spaces; nothing was changed`);
    }
    await clients().ssm.send(
      new PutParameterCommand({ Name: ref.name, Value: values[0], Type: 'String', Overwrite: true }),
    );
    io.err(`Stored ${name} in ${ref.name}.`);
    return 0;
  }

  if (name !== 'webhook-secret' && (command === 'get' || command === 'rotate' || command === 'prune')) {
    throw new UsageError(
      isSecretName(name)
        ? `${command} works on webhook-secret only: broker tokens are write-only here (issue a new token at the broker and use set)`
        : usage(),
    );
  }

  if (command === 'get') {
    const values = await readWebhookSecret(config, clients());
    if (values.length === 0) {
      io.err(noAcceptedSecretWarning(config.webhookSecret.name));
      return 1;
    }
    for (const value of values) io.out(value);
    return 0;
  }

  if (command === 'rotate') {
    const current = await readWebhookSecret(config, clients());
    if (current.length === 0) io.err(noAcceptedSecretWarning(config.webhookSecret.name));
    const fresh = generateWebhookSecret();
    await putWebhookSecret(config, clients(), [fresh, ...current]);
    io.out(fresh);
    io.err(
      current.length === 0
        ? 'Stored a new webhook secret; the functions accept it within minutes (values are cached). Put it into the widget.'
        : `Added a new webhook secret in front of ${current.length} current one(s); both work now. Put the new one into the widget, then run: npm run secrets -- prune webhook-secret`,
    );
    return 0;
  }

  if (command === 'prune') {
    const [newest, ...older] = await readWebhookSecret(config, clients());
    if (newest === undefined) {
      throw new UsageError(`${noAcceptedSecretWarning(config.webhookSecret.name)}; nothing was changed`);
    }
    await putWebhookSecret(config, clients(), [newest]);
    io.err(`Kept the newest webhook secret, removed ${older.length} older one(s).`);
    return 0;
  }

  throw new UsageError(usage());
}

/** Reads a line from the terminal without echoing it, or all of stdin when it is piped. */
async function readValueFromStdin(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (finish: () => void) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      finish();
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') return done(() => resolve(value));
        if (char === '\u0003') return done(() => reject(new UsageError('Cancelled; nothing was changed')));
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.on('data', onData);
  });
}

async function main(): Promise<void> {
  try {
    const { positional, context } = parseArgs(process.argv.slice(2));
    const ctx = loadContext(new URL('../cdk.json', import.meta.url), context);
    const config = readConfig((key) => ctx[key]);
    const notify = readNotifyConfig((key) => ctx[key]);
    const region = config.env.region;
    let clients: Clients | undefined;
    process.exitCode = await run(
      positional,
      config,
      {
        readValue: readValueFromStdin,
        out: (text) => process.stdout.write(`${text}\n`),
        err: (text) => process.stderr.write(`${text}\n`),
      },
      () => {
        clients ??= {
          secretsManager: new SecretsManagerClientClass(region === undefined ? {} : { region }),
          ssm: new SSMClientClass(region === undefined ? {} : { region }),
        };
        return clients;
      },
      notify,
    );
  } catch (error) {
    // AWS errors carry a name and a message about the request, never the value we sent.
    const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
    process.stderr.write(name === 'UsageError' ? `${message}\n` : `${name}: ${message}\n`);
    process.exitCode = name === 'UsageError' ? 2 : 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
