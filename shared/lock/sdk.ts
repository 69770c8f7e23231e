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

/**
 * The position lock's table as its users reach it (the leases, the day's order count): its DynamoDB client made at the
 * first call, on the answer's path: one retry, short timeouts, within the deadline each call passes.
 */
export class LockTable {
  readonly name: string;
  readonly #sdk: () => Promise<LockSdk>;
  #client: InstanceType<LockSdk['DynamoDBClient']> | undefined;

  /** `sdk` is loaded at the first call: a container that never uses the table never loads it. */
  constructor(sdk: () => Promise<LockSdk>, name: string) {
    this.#sdk = sdk;
    this.name = name;
  }

  async ready(): Promise<{ sdk: LockSdk; client: InstanceType<LockSdk['DynamoDBClient']> }> {
    const sdk = await this.#sdk();
    this.#client ??= new sdk.DynamoDBClient({
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 1000, requestTimeout: 1000 },
    });
    return { sdk, client: this.#client };
  }
}
