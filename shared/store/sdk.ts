import { describeError } from '../errors.ts';
import type { STORE_SDK } from './sdk-modules.ts';

/**
 * The AWS SDK side of the store: Secrets Manager `GetSecretValue` and SSM `GetParameter`. The SDK's classes are given
 * (`StoreSdk`): loaded statically by the functions that use the SDK anyway, on demand by the webhook functions
 * (shared/store/sdk-on-demand.ts).
 */

/** The SDK classes the store uses. */
export type StoreSdk = typeof STORE_SDK;

export interface StoreClients {
  readonly secretsManager: Pick<InstanceType<StoreSdk['SecretsManagerClient']>, 'send'>;
  readonly ssm: Pick<InstanceType<StoreSdk['SSMClient']>, 'send'>;
}

/** Store calls happen inside a webhook's 3 s budget: fail fast rather than retry at length. */
const STORE_CLIENT_CONFIG = { maxAttempts: 2, requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 } };

/** `region`: where the stack is (CDK context), for tools run outside it; a function's clients take Lambda's. */
export function storeClients(sdk: StoreSdk, region?: string): StoreClients {
  const config = region === undefined ? STORE_CLIENT_CONFIG : { ...STORE_CLIENT_CONFIG, region };
  return {
    secretsManager: new sdk.SecretsManagerClient(config),
    ssm: new sdk.SSMClient(config),
  };
}

const ABSENT_ERRORS = new Set(['ResourceNotFoundException', 'ParameterNotFound']);

async function absentIfNotFound<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (ABSENT_ERRORS.has(describeError(error).name)) return undefined;
    throw error;
  }
}

/** A secret's string; `undefined` when the secret or its current version does not exist. */
export async function getSecretString(sdk: StoreSdk, clients: StoreClients, secretId: string) {
  const command = new sdk.GetSecretValueCommand({ SecretId: secretId });
  const output = await absentIfNotFound(() => clients.secretsManager.send(command));
  return output?.SecretString;
}

/** A parameter's value, decrypted; `undefined` when the parameter does not exist. */
export async function getParameterValue(sdk: StoreSdk, clients: StoreClients, name: string) {
  const command = new sdk.GetParameterCommand({ Name: name, WithDecryption: true });
  const output = await absentIfNotFound(() => clients.ssm.send(command));
  return output?.Parameter?.Value;
}
