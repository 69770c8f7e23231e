/**
 * The process around a command that reads or writes the stack's store from the trader's machine (`npm run notify`,
 * `npm run kill`): the supported Node checked, `.env` read, the AWS clients made in the stack's region, the exit code
 * set. A usage or configuration error is said as it is; anything else by its name and message (AWS errors name the
 * request, never a value).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { readEnvFile } from '#local/env-file.ts';
import { checkNodeSupport } from '#local/node-support.ts';
import type { StoreClients } from '#shared/store/sdk.ts';

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** One command: the arguments, the environment, the output, the clients in a region. Returns the exit code. */
export type StoreCommand = (
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: Io,
  clients: (region: string | undefined) => StoreClients,
) => Promise<number>;

export async function runStoreCommand(run: StoreCommand): Promise<void> {
  checkNodeSupport();
  try {
    readEnvFile(process.env);
    process.exitCode = await run(
      process.argv.slice(2),
      process.env,
      { out: (text) => process.stdout.write(`${text}\n`), err: (text) => process.stderr.write(`${text}\n`) },
      (region) => {
        const config = region === undefined ? {} : { region };
        return { secretsManager: new SecretsManagerClient(config), ssm: new SSMClient(config) };
      },
    );
  } catch (error) {
    const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
    process.stderr.write(name === 'UsageError' || name === 'ConfigError' ? `${message}\n` : `${name}: ${message}\n`);
    process.exitCode = name === 'UsageError' ? 2 : 1;
  }
}
