/**
 * `npm run preflight`: proves, before the first real signal, that each configured broker can trade with the settings
 * its function will use, with read-only broker calls only (never an order), and prints a checklist: ✓ holds, ! deserves
 * a look, ✗ a signal would fail (each with one fix), ? could not be checked.
 *
 *   npm run preflight                              the settings of a local run: `.env` and the shell, as `npm start`
 *   npm run preflight -- --deployed                the deployed stack's: its secrets and parameters, with your AWS
 *                                                  credentials (names from cdk.json context, plus any -c key=value);
 *                                                  then each deployed function: a check through its URL, and its
 *                                                  store self-test (a direct Lambda Invoke: shared/store/self-test.ts)
 *   options: --broker alor|tinkoff   --ticker <t>   --figi <f>   --lang ru|en   --json
 *            --positions   accepted as before: the token's reads of positions, active orders and stop orders (what
 *                          ver 2 signals and their protection read) are checked by default now
 *
 * Exit code: 0 ready (warnings allowed), 1 a check failed, 2 something could not be checked (broker or store
 * unreachable). The language follows LC_ALL / LANG (Russian when it starts with "ru") unless --lang says.
 */
import { pathToFileURL } from 'node:url';
import { readEnvFile } from '#local/env-file.ts';
import { checkNodeSupport } from '#local/node-support.ts';
import { loadAlorConfig } from '#shared/brokers/alor/config.ts';
import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { ConfigError } from '#shared/config-error.ts';
import { BROKERS, type Broker, LOCAL_ENV } from '#shared/facts.ts';
import { createBrokerAgent } from '#shared/http/outbound/client.ts';
import {
  type BrokerChecklist,
  exitCode,
  renderChecklists,
  type SettingsSource,
  showChecklist,
} from '#shared/preflight/checklist.ts';
import { type DeployedStackAccess, deployedFunctionChecks } from '#shared/preflight/deployed.ts';
import {
  holdsPlainValuesOnly,
  PLAIN_VALUES,
  type PreflightSettings,
  runPreflight,
  type ValueReader,
} from '#shared/preflight/run.ts';
import { LANGS, type Lang, langFromLocale } from '#shared/preflight/texts.ts';
import { functionEnvironment, readConfig } from '../infra/config.ts';
import { loadContext, parseArgs, UsageError } from './context.ts';

export interface PreflightArgs {
  readonly deployed: boolean;
  readonly brokers: readonly Broker[] | undefined;
  readonly ticker: string | undefined;
  readonly figi: string | undefined;
  readonly lang: Lang | undefined;
  readonly json: boolean;
  /** `--positions`: accepted as before; the reads of a ver 2 signal are checked whether it is given or not. */
  readonly positions: boolean;
  readonly help: boolean;
  /** `-c key=value` pairs, for `--deployed`. */
  readonly context: Record<string, string>;
}

const USAGE =
  'usage: npm run preflight -- [--deployed] [--broker alor|tinkoff] [--ticker <t>] [--figi <f>] [--lang ru|en] [--json] [--positions] [-c key=value ...]';

const HELP = `${USAGE}

Proves, before the first real signal, that each configured broker can trade with the settings its function uses:
read-only broker calls only, never an order.

  (no option)        the settings of a local run: .env and the shell, as npm start reads them
  --deployed         the deployed stack's settings: its secrets and parameters, read with your AWS credentials (names
                     from cdk.json's context and any -c key=value); then each deployed function, called as a signal
                     would call it, nothing ordered:
                       check      POST {"check":true} to its webhook URL with the webhook secret (the store
                                  extension and its session token in place)
                       self-test  a direct Lambda Invoke with your credentials (lambda:InvokeFunction; API Gateway
                                  cannot send it): the function reads each of its stored values once through the
                                  Parameters and Secrets extension and once through the runtime's AWS SDK, and says
                                  which worked, never a value
  --broker <b>       alor or tinkoff only
  --ticker, --figi   the instrument a signal names, to check it too
  --lang ru|en       the language (default: from LC_ALL / LANG)
  --json             the checklist as JSON
  -c key=value       a CDK context setting, with --deployed (e.g. -c stackName=MyStack)

Exit code: 0 ready (warnings allowed), 1 a check failed, 2 something could not be checked.`;

export function parsePreflightArgs(argv: readonly string[]): PreflightArgs {
  const { positional, context } = parseArgs(argv);
  const values: Record<string, string> = {};
  const flags = new Set<string>();
  for (let i = 0; i < positional.length; i += 1) {
    const arg = positional[i] ?? '';
    if (arg === '--deployed' || arg === '--json' || arg === '--help' || arg === '--positions') {
      flags.add(arg);
    } else if (['--broker', '--ticker', '--figi', '--lang'].includes(arg)) {
      const value = positional[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value\n${USAGE}`);
      values[arg] = value;
      i += 1;
    } else {
      throw new UsageError(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  const broker = values['--broker'];
  if (broker !== undefined && !(BROKERS as readonly string[]).includes(broker)) {
    throw new UsageError(`--broker is one of ${BROKERS.join(', ')}\n${USAGE}`);
  }
  const lang = values['--lang'];
  if (lang !== undefined && !(LANGS as readonly string[]).includes(lang)) {
    throw new UsageError(`--lang is one of ${LANGS.join(', ')}\n${USAGE}`);
  }
  return {
    deployed: flags.has('--deployed'),
    brokers: broker === undefined ? undefined : [broker as Broker],
    ticker: values['--ticker'],
    figi: values['--figi'],
    lang: lang as Lang | undefined,
    json: flags.has('--json'),
    positions: flags.has('--positions'),
    help: flags.has('--help'),
    context,
  };
}

/** A local run's settings, read exactly as `npm start` reads them: `.env` (or ENV_FILE), the shell winning. */
function localSettings(env: NodeJS.ProcessEnv): PreflightSettings {
  readEnvFile(env);
  return { alor: loadAlorConfig(env), tinkoff: loadTinkoffConfig(env) };
}

/** The deployed functions' settings: the environment the stack gives them, read from the same context. */
function deployedSettings(context: Record<string, string>): {
  settings: PreflightSettings;
  region?: string;
  stackName: string;
} {
  const ctx = loadContext(new URL('../cdk.json', import.meta.url), context);
  const config = readConfig((key) => ctx[key]);
  const webhookSecret = config.webhookSecret.name;
  const env = (broker: 'alor' | 'tinkoff', credential: string) =>
    functionEnvironment(config, broker, { webhookSecret, credential });
  return {
    settings: {
      alor: loadAlorConfig(env('alor', config.alorRefreshToken.name)),
      tinkoff: loadTinkoffConfig(env('tinkoff', config.tinkoffToken.name)),
    },
    stackName: config.stackName,
    ...(config.env.region === undefined ? {} : { region: config.env.region }),
  };
}

/** CloudFormation and Lambda with your credentials, for the proof of the deployed functions; loaded only then. */
async function stackAccess(region: string | undefined): Promise<DeployedStackAccess> {
  const [cloudFormation, lambda] = await Promise.all([
    import('@aws-sdk/client-cloudformation'),
    import('@aws-sdk/client-lambda'),
  ]);
  const config = {
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 3000, requestTimeout: 15_000 },
    ...(region === undefined ? {} : { region }),
  };
  const stacks = new cloudFormation.CloudFormationClient(config);
  const functions = new lambda.LambdaClient(config);
  return {
    outputs: async (stackName) => {
      try {
        const answer = await stacks.send(new cloudFormation.DescribeStacksCommand({ StackName: stackName }));
        const outputs = answer.Stacks?.[0]?.Outputs ?? [];
        return Object.fromEntries(outputs.map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']));
      } catch (error) {
        // CloudFormation's word for a stack that does not exist.
        if ((error as { name?: string }).name === 'ValidationError') return undefined;
        throw error;
      }
    },
    invoke: async (functionName, event) => {
      const answer = await functions.send(
        new lambda.InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify(event)) }),
      );
      if (answer.FunctionError !== undefined) return { functionError: answer.FunctionError };
      return { result: JSON.parse(Buffer.from(answer.Payload ?? new Uint8Array()).toString('utf8') || 'null') };
    },
  };
}

/** The functions' own store when a value lives in Secrets Manager or SSM; loaded only then (it brings the AWS SDK). */
async function valueReader(settings: PreflightSettings, region: string | undefined): Promise<ValueReader> {
  if (holdsPlainValuesOnly(settings)) return PLAIN_VALUES;
  const [{ SecretStore }, { storeClients }, { loadedStoreSdk }] = await Promise.all([
    import('#shared/secrets.ts'),
    import('#shared/store/sdk.ts'),
    import('#shared/store/sdk-modules.ts'),
  ]);
  return new SecretStore({
    ttlMs: settings.alor.secretsCacheTtlMs,
    sdk: loadedStoreSdk,
    clients: (sdk) => storeClients(sdk, region),
  });
}

export async function preflight(
  args: PreflightArgs,
  env: NodeJS.ProcessEnv,
): Promise<{ lists: BrokerChecklist[]; source: SettingsSource }> {
  const source: SettingsSource = args.deployed ? 'deployed' : 'local';
  const deployed = args.deployed ? deployedSettings(args.context) : undefined;
  const { settings, region } = deployed ?? { settings: localSettings(env), region: undefined };
  const store = await valueReader(settings, region);
  const lists = await runPreflight(settings, {
    store,
    brokers: args.brokers,
    ticker: args.ticker,
    figi: args.figi,
    tinkoffSandboxUrl: env[LOCAL_ENV.tinkoffSandboxApiUrl] || undefined,
    // The reads of a ver 2 signal and its protection are checked by default; `--positions` asks for them as before.
    positions: true,
  });
  if (deployed === undefined) return { lists, source };
  // The deployed functions themselves, for each broker checked (one not configured, and not asked for, is left out).
  const checked = lists.filter((list) => !list.skipped).map((list) => list.broker);
  const dispatcher = createBrokerAgent();
  try {
    const proof = await deployedFunctionChecks(checked, {
      stackName: deployed.stackName,
      webhookSecret: settings.alor.webhookSecret,
      store,
      access: await stackAccess(region),
      dispatcher,
    });
    return {
      lists: lists.map((list) => ({ ...list, checks: [...list.checks, ...(proof.get(list.broker) ?? [])] })),
      source,
    };
  } finally {
    await dispatcher.close();
  }
}

async function main(): Promise<void> {
  checkNodeSupport();
  let lang: Lang = langFromLocale(process.env);
  try {
    const args = parsePreflightArgs(process.argv.slice(2));
    lang = args.lang ?? lang;
    if (args.help) {
      process.stdout.write(`${HELP}\n`);
      return;
    }
    const { lists, source } = await preflight(args, process.env);
    process.stdout.write(
      args.json
        ? `${JSON.stringify({ exitCode: exitCode(lists), checklists: lists.map((list) => showChecklist(list, lang, source)) }, null, 2)}\n`
        : renderChecklists(lists, lang, source),
    );
    process.exitCode = exitCode(lists);
  } catch (error) {
    // A usage or configuration error says what to change; anything else only its name: no message, no stack.
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = error instanceof UsageError ? 2 : 1;
      return;
    }
    const name = error instanceof Error ? error.name : typeof error;
    process.stderr.write(lang === 'ru' ? `Проверка не удалась: ${name}\n` : `The preflight failed: ${name}\n`);
    process.exitCode = 2;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
