/**
 * Puts secret values and account identifiers where the deployed functions read them.
 *
 *   npm run secrets -- names                      list what goes where (no AWS call)
 *   npm run secrets -- set <name>                 read a value (hidden prompt, or stdin) and store it
 *   npm run -s secrets -- get webhook-secret      print the webhook secret(s), one per line
 *   npm run -s secrets -- rotate webhook-secret   add a new random webhook secret, keep the old one(s); print the new one
 *   npm run secrets -- prune webhook-secret       keep only the newest webhook secret
 *   npm run secrets -- delete <name>              empty a value: the function answers its 404 row (or 401, for the
 *                                                 webhook secret; Telegram values: no messages) until it is set again
 *
 * <name> is one of: webhook-secret, alor-refresh-token, tinkoff-token, telegram-bot-token, alor-portfolio,
 * tinkoff-account-id, telegram-chat-id.
 * After `set tinkoff-token` (or `set alor-refresh-token`) the token's accounts (portfolios) are listed with a read-only
 * broker call, and on a terminal one of them can be stored as the account parameter right away.
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
import {
  DeleteParameterCommand,
  PutParameterCommand,
  type SSMClient,
  SSMClient as SSMClientClass,
} from '@aws-sdk/client-ssm';
import type { Dispatcher } from 'undici';
import { checkNodeSupport } from '#local/node-support.ts';
import {
  formatAcceptedSecrets,
  generateWebhookSecret,
  noAcceptedSecretWarning,
  parseAcceptedSecrets,
} from '#shared/auth/webhook-secrets.ts';
import { ALOR_NOT_CONFIGURED } from '#shared/brokers/alor/mapping.ts';
import { alorTokenPortfolios } from '#shared/brokers/alor/preflight.ts';
import { TINKOFF_NOT_CONFIGURED } from '#shared/brokers/tinkoff/mapping.ts';
import { describeAccount, tinkoffTokenAccounts } from '#shared/brokers/tinkoff/preflight.ts';
import type { Account } from '#shared/brokers/tinkoff/preflight-reads.ts';
import {
  BrokerCredentialRejectedError,
  BrokerTimeoutError,
  BrokerUnavailableError,
  describeError,
} from '#shared/errors.ts';
import {
  ALOR_DEFAULT_API_URL,
  ALOR_DEFAULT_OAUTH_URL,
  BROKER_TOKEN_PAGES,
  STORED_PARAMETERS as PARAMETER_NAMES,
  STORED_SECRETS as SECRET_NAMES,
  TINKOFF_DEFAULT_API_URL,
} from '#shared/facts.ts';
import { createKeepAliveAgent } from '#shared/http/outbound/client.ts';
import { createDeadline } from '#shared/http/outbound/deadline.ts';
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
  /** Asks a question with a visible answer; absent when there is no terminal to answer it (stdin piped). */
  readonly choose?: (prompt: string) => Promise<string>;
}

/** What a freshly stored broker token reaches, asked of the broker with read-only calls. */
export interface TokenAccounts {
  /** T-Invest: the accounts the token reaches (`UsersService/GetAccounts`). */
  readonly tinkoff?: (token: string) => Promise<readonly Account[]>;
  /** Alor: the portfolios the refresh token's access token lists; undefined when it does not list them. */
  readonly alor?: (refreshToken: string) => Promise<readonly string[] | undefined>;
}

/** Where the stack's functions send their broker calls (from context), and their deadline. */
export function tokenAccounts(config: WebhooksConfig, dispatcher: Dispatcher): TokenAccounts {
  const call = () => ({ dispatcher, deadline: createDeadline(config.brokerTimeoutMs) });
  const alorUrls = {
    oauthUrl: config.alorOauthUrl ?? ALOR_DEFAULT_OAUTH_URL,
    apiUrl: config.alorApiUrl ?? ALOR_DEFAULT_API_URL,
  };
  const tinkoffUrl = config.tinkoffApiUrl ?? TINKOFF_DEFAULT_API_URL[config.tinkoffApi];
  return {
    alor: (refreshToken) => alorTokenPortfolios(refreshToken, alorUrls, call()),
    // The retired v1 API has no GetAccounts.
    ...(config.tinkoffApi === 'v2'
      ? { tinkoff: (token: string) => tinkoffTokenAccounts(token, tinkoffUrl, call()) }
      : {}),
  };
}

/** A broker token or parameter as typed or piped: its non-blank lines (one is expected). */
function nonBlankLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** Where the stack keeps each value: the webhook and broker part, and the notifier's (docs/telegram.md). */
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
    '  delete <name>                  empty a value (the function then answers its 404 row; 401 for webhook-secret)',
  ].join('\n');
}

/** The value `delete` leaves in a secret: Secrets Manager refuses an empty string, and the functions read a blank one as unset. */
export const EMPTIED_SECRET = ' ';

/** What the function answers once a value is gone, and where to revoke a broker token. */
const DELETED_EFFECT: Readonly<Record<SecretName | ParameterName, string>> = {
  'webhook-secret': 'every call is answered 401 Unauthorized',
  'alor-refresh-token': `the Alor function answers 404 «${ALOR_NOT_CONFIGURED.credential}». Revoke the token at Alor too, where you issued it (${BROKER_TOKEN_PAGES.alor})`,
  'tinkoff-token': `the T-Invest function answers 404 «${TINKOFF_NOT_CONFIGURED.credential}». Revoke the token at T-Invest too, where you issued it (${BROKER_TOKEN_PAGES.tinkoff})`,
  'alor-portfolio': `the Alor function answers 404 «${ALOR_NOT_CONFIGURED.account}»`,
  'tinkoff-account-id': `the T-Invest function answers 404 «${TINKOFF_NOT_CONFIGURED.account}»`,
  'telegram-bot-token': 'the Telegram messages stop (the notifier is off until it is set again)',
  'telegram-chat-id': 'the Telegram messages stop (the notifier is off until it is set again)',
};

const ACCESS_LEVELS: Readonly<Record<string, string>> = {
  ACCOUNT_ACCESS_LEVEL_FULL_ACCESS: 'full access',
  ACCOUNT_ACCESS_LEVEL_READ_ONLY: 'read-only: cannot trade',
  ACCOUNT_ACCESS_LEVEL_NO_ACCESS: 'no access',
};

/** One account a line: id, name, type, the token's access (and its status when it is not open). */
function accountLine(account: Account, index: number): string {
  const type = (account.type ?? '').replace(/^ACCOUNT_TYPE_/, '');
  const access = ACCESS_LEVELS[account.accessLevel ?? ''] ?? 'access unknown';
  const status =
    account.status === 'ACCOUNT_STATUS_OPEN'
      ? ''
      : `, ${(account.status ?? '').replace(/^ACCOUNT_STATUS_/, '').toLowerCase()}`;
  return `  ${index + 1}. ${describeAccount(account)}  ${type}  ${access}${status}`;
}

/**
 * Offers to store one of `ids` as the account parameter: a number from the list or an id, at a visible prompt. Without
 * a terminal, says how to store one instead.
 */
async function offerAccount(
  name: ParameterName,
  ids: readonly string[],
  config: StoreConfig,
  io: Io,
  clients: () => Clients,
): Promise<void> {
  const { ref, contextKey } = parameterRef(config, name);
  if (ids.length === 0) return;
  if (ref.value !== undefined) {
    io.err(`${ref.name} is set by the stack from context "${contextKey}" (${ref.value}); change it there if needed.`);
    return;
  }
  if (io.choose === undefined) {
    io.err(`To store one of them: npm run secrets -- set ${name}`);
    return;
  }
  const answer = (await io.choose(`Store which one as ${name}? 1-${ids.length} or an id, Enter to skip: `)).trim();
  if (answer === '') return;
  const chosen =
    /^\d+$/.test(answer) && !ids.includes(answer) ? ids[Number(answer) - 1] : ids.find((id) => id === answer);
  if (chosen === undefined) {
    io.err(`${answer} is not one of them; nothing was stored. Later: npm run secrets -- set ${name}`);
    return;
  }
  await putParameter(clients(), ref.name, chosen);
  io.err(`Stored ${name} ${chosen} in ${ref.name}.`);
}

function putParameter(clients: Clients, name: string, value: string) {
  return clients.ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: true }));
}

/** Why a broker call failed, in the words of its log detail: never a URL, a body or a token. */
function brokerFailure(error: unknown): string {
  if (error instanceof BrokerUnavailableError) return error.detail;
  if (error instanceof BrokerTimeoutError) return 'no answer in time';
  return describeError(error).name;
}

/** After a broker token is stored: what it reaches, asked of the broker, and an offer to store the account. */
async function listTokenAccounts(
  name: 'alor-refresh-token' | 'tinkoff-token',
  token: string,
  config: StoreConfig,
  io: Io,
  clients: () => Clients,
  accounts: TokenAccounts,
): Promise<void> {
  const broker = name === 'tinkoff-token' ? 'T-Invest' : 'Alor';
  const { tinkoff, alor } = accounts;
  let ids: readonly string[];
  try {
    if (name === 'tinkoff-token' && tinkoff !== undefined) {
      const found = await tinkoff(token);
      io.err(
        found.length === 0 ? 'The token reaches no account.' : 'Accounts this token reaches (id, name, type, access):',
      );
      for (const [index, account] of found.entries()) io.err(accountLine(account, index));
      ids = found.map((account) => account.id);
    } else if (name === 'alor-refresh-token' && alor !== undefined) {
      const portfolios = await alor(token);
      io.err(portfolios === undefined ? 'The token does not list its portfolios.' : 'Portfolios this token trades:');
      for (const [index, portfolio] of (portfolios ?? []).entries()) io.err(`  ${index + 1}. ${portfolio}`);
      ids = portfolios ?? [];
    } else {
      return;
    }
  } catch (error) {
    // The token is stored either way; say what the broker made of it, never the token.
    io.err(
      error instanceof BrokerCredentialRejectedError
        ? `WARNING: ${broker} refused this token: orders will fail until a valid one is set (npm run preflight tells more).`
        : `Could not list the token's accounts: ${broker} did not answer (${brokerFailure(error)}).`,
    );
    return;
  }
  await offerAccount(name === 'tinkoff-token' ? 'tinkoff-account-id' : 'alor-portfolio', ids, config, io, clients);
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
  accounts: TokenAccounts = {},
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
    if (name === 'alor-refresh-token' || name === 'tinkoff-token') {
      await listTokenAccounts(name, values[0] ?? '', config, io, clients, accounts);
    }
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
    await putParameter(clients(), ref.name, values[0] ?? '');
    io.err(`Stored ${name} in ${ref.name}.`);
    return 0;
  }

  if (command === 'delete' && isSecretName(name)) {
    await clients().secretsManager.send(
      new PutSecretValueCommand({ SecretId: secretId(config, name), SecretString: EMPTIED_SECRET }),
    );
    io.err(`Emptied ${name} in ${secretId(config, name)}: within minutes (values are cached) ${DELETED_EFFECT[name]}.`);
    return 0;
  }

  if (command === 'delete' && isParameterName(name)) {
    const { ref, contextKey } = parameterRef(config, name);
    if (ref.value !== undefined) {
      throw new UsageError(
        `${ref.name} is created by the stack from context "${contextKey}"; remove it from cdk.json and run npm run deploy`,
      );
    }
    try {
      await clients().ssm.send(new DeleteParameterCommand({ Name: ref.name }));
    } catch (error) {
      if (describeError(error).name !== 'ParameterNotFound') throw error;
    }
    io.err(`Deleted ${name} (${ref.name}): within minutes (values are cached) ${DELETED_EFFECT[name]}.`);
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

/** Reads a visible line from the terminal (the account to store); none when stdin is not a terminal. */
function chooseOnTerminal(): Io['choose'] {
  if (!process.stdin.isTTY) return undefined;
  return async (prompt) => {
    const { createInterface } = await import('node:readline/promises');
    const lines = createInterface({ input: process.stdin, output: process.stderr });
    try {
      return await lines.question(prompt);
    } finally {
      lines.close();
    }
  };
}

async function main(): Promise<void> {
  checkNodeSupport();
  // Closed at the end: a keep-alive socket to a broker would hold the process open.
  const agent = createKeepAliveAgent();
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
        choose: chooseOnTerminal(),
      },
      () => {
        clients ??= {
          secretsManager: new SecretsManagerClientClass(region === undefined ? {} : { region }),
          ssm: new SSMClientClass(region === undefined ? {} : { region }),
        };
        return clients;
      },
      tokenAccounts(config, agent),
      notify,
    );
  } catch (error) {
    // AWS errors carry a name and a message about the request, never the value we sent.
    const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
    process.stderr.write(name === 'UsageError' ? `${message}\n` : `${name}: ${message}\n`);
    process.exitCode = name === 'UsageError' ? 2 : 1;
  } finally {
    await agent.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
