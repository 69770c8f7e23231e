import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

/**
 * The parts of the AWS SDK the store uses, imported by name so that a bundle keeps only these. Imported statically by
 * the functions that use the SDK anyway (notifier, follow-ups) and by the tools; the webhook functions load it on
 * demand (shared/store/sdk-on-demand.ts).
 */
export const STORE_SDK = { GetSecretValueCommand, SecretsManagerClient, GetParameterCommand, SSMClient };

/** For `ValueStoreOptions.sdk` where the SDK is loaded anyway. */
export const loadedStoreSdk = () => Promise.resolve(STORE_SDK);
