import type { StoreSdk } from './sdk.ts';

/**
 * Defined by infra/bundling.ts: `true` in a bundle that leaves the AWS SDK external (the Lambda runtime's copy).
 * There the packages are imported by name, which esbuild leaves as dynamic imports: the SDK is loaded only if a read
 * needs it. A static import of an external package anywhere in the bundle, even in a module only imported
 * dynamically, would be hoisted to the bundle's top and load the SDK at every cold start.
 */
declare const PPP_AWS_SDK_EXTERNAL: boolean | undefined;

let loading: Promise<StoreSdk> | undefined;

/**
 * The webhook functions' way to the SDK: loaded the first time a store read needs it, so a container that reads
 * through the Parameters and Secrets extension never evaluates it (docs/performance.md#store-reads). In a bundle holding the
 * SDK, its classes come from a module only imported here, which esbuild initialises on that first call.
 */
export function loadStoreSdkOnDemand(): Promise<StoreSdk> {
  loading ??=
    typeof PPP_AWS_SDK_EXTERNAL !== 'undefined' && PPP_AWS_SDK_EXTERNAL
      ? Promise.all([import('@aws-sdk/client-secrets-manager'), import('@aws-sdk/client-ssm')]).then(
          ([secretsManager, ssm]) => ({
            GetSecretValueCommand: secretsManager.GetSecretValueCommand,
            SecretsManagerClient: secretsManager.SecretsManagerClient,
            GetParameterCommand: ssm.GetParameterCommand,
            SSMClient: ssm.SSMClient,
          }),
        )
      : import('./sdk-modules.ts').then((modules) => modules.STORE_SDK);
  return loading;
}
