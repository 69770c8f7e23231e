import type { LOCK_SDK } from './sdk-modules.ts';

/**
 * The DynamoDB client of the position lock, loaded the first time a lease is taken, as the store's SDK is
 * (shared/store/sdk-on-demand.ts): a container whose signals never lock never evaluates it, and a bundle that leaves
 * the AWS SDK external imports the runtime's copy by name.
 */

/** Defined by infra/bundling.ts: `true` in a bundle that leaves the AWS SDK external. */
declare const PPP_AWS_SDK_EXTERNAL: boolean | undefined;

export type LockSdk = typeof LOCK_SDK;

let loading: Promise<LockSdk> | undefined;

export function loadLockSdkOnDemand(): Promise<LockSdk> {
  loading ??=
    typeof PPP_AWS_SDK_EXTERNAL !== 'undefined' && PPP_AWS_SDK_EXTERNAL
      ? import('@aws-sdk/client-dynamodb').then((dynamodb) => ({
          DynamoDBClient: dynamodb.DynamoDBClient,
          PutItemCommand: dynamodb.PutItemCommand,
          DeleteItemCommand: dynamodb.DeleteItemCommand,
          UpdateItemCommand: dynamodb.UpdateItemCommand,
        }))
      : import('./sdk-modules.ts').then((modules) => modules.LOCK_SDK);
  return loading;
}
