import type { ValueSource } from '../config.ts';
import { describeError } from '../errors.ts';
import type { Broker } from '../facts.ts';
import { askExtension, type StoreExtension, storeExtensionAgent } from './extension.ts';
import { getParameterValue, getSecretString, type StoreSdk, storeClients } from './sdk.ts';

/**
 * The store self-test of a deployed webhook function (`npm run preflight -- --deployed`): each value the function reads
 * (the webhook secret, the broker credential, the account) read once through the Parameters and Secrets extension and
 * once through the runtime's own AWS SDK, each way said to have worked or not, and why, never with the value. Nothing
 * is cached, nothing is sent to a broker.
 *
 * It is started by an event only a direct Lambda Invoke can deliver, that is one signed with IAM credentials allowed to
 * invoke the function: API Gateway hands a function nothing but its payload-2.0 event (`version`, `requestContext`),
 * whatever a caller sends, as with the keep-warm schedule's event.
 */

/** The event that starts the self-test. */
export const SELF_TEST_EVENT = { pppSelfTest: 'store' } as const;

export function isSelfTestEvent(event: unknown): boolean {
  const fields = event as { pppSelfTest?: unknown; requestContext?: unknown } | null;
  return fields?.pppSelfTest === SELF_TEST_EVENT.pppSelfTest && fields.requestContext === undefined;
}

/** What became of one read: the value found (never shown), no such value, not a store value, or the failure. */
export type SelfTestRead =
  | { readonly result: 'read' }
  | { readonly result: 'absent' }
  | { readonly result: 'not-stored' }
  | { readonly result: 'failed'; readonly reason: string };

export type SelfTestValue = 'webhookSecret' | 'credential' | 'account';

export interface SelfTestWay {
  /** The extension: only when the function has its layer (the SDK always can be asked). */
  readonly available: boolean;
  readonly reads: Readonly<Record<SelfTestValue, SelfTestRead>>;
}

export interface SelfTestReport {
  readonly selfTest: 'store';
  readonly broker: Broker;
  readonly extension: SelfTestWay;
  readonly sdk: SelfTestWay;
}

export interface SelfTestSubject {
  readonly broker: Broker;
  readonly values: Readonly<Record<SelfTestValue, ValueSource>>;
  readonly extension: StoreExtension | undefined;
  /** The runtime's own SDK (shared/store/sdk-on-demand.ts in the webhook functions). */
  readonly sdk: () => Promise<StoreSdk>;
}

const VALUES: readonly SelfTestValue[] = ['webhookSecret', 'credential', 'account'];

type Stored = { readonly kind: 'secret' | 'parameter'; readonly id: string };

function stored(source: ValueSource): Stored | undefined {
  if (source.kind === 'secret') return { kind: 'secret', id: source.id };
  if (source.kind === 'parameter') return { kind: 'parameter', id: source.name };
  return undefined;
}

async function eachValue(
  subject: SelfTestSubject,
  read: (value: Stored) => Promise<SelfTestRead>,
): Promise<Record<SelfTestValue, SelfTestRead>> {
  const reads = await Promise.all(
    VALUES.map(async (name): Promise<[SelfTestValue, SelfTestRead]> => {
      const value = stored(subject.values[name]);
      return [name, value === undefined ? { result: 'not-stored' } : await read(value)];
    }),
  );
  return Object.fromEntries(reads) as Record<SelfTestValue, SelfTestRead>;
}

function failed(error: unknown): SelfTestRead {
  const { name, code } = describeError(error);
  return { result: 'failed', reason: code === undefined ? name : `${name} ${code}` };
}

export async function runStoreSelfTest(subject: SelfTestSubject): Promise<SelfTestReport> {
  const { extension } = subject;
  const throughExtension = async (): Promise<SelfTestWay> => {
    if (extension === undefined) {
      const none: SelfTestRead = { result: 'failed', reason: 'no extension layer' };
      return { available: false, reads: { webhookSecret: none, credential: none, account: none } };
    }
    const reads = await eachValue(subject, async ({ kind, id }) => {
      const reply = await askExtension(storeExtensionAgent(), extension, kind, id);
      if ('value' in reply)
        return reply.value === undefined || reply.value === '' ? { result: 'absent' } : { result: 'read' };
      const { status, malformed, error } = reply.noValue;
      if (status !== undefined)
        return { result: 'failed', reason: `HTTP ${status}${malformed ? ', not its JSON' : ''}` };
      return failed(error);
    });
    return { available: true, reads };
  };
  const throughSdk = async (): Promise<SelfTestWay> => {
    let sdk: StoreSdk;
    try {
      sdk = await subject.sdk();
    } catch (error) {
      const notLoaded = failed(error);
      return { available: false, reads: { webhookSecret: notLoaded, credential: notLoaded, account: notLoaded } };
    }
    const clients = storeClients(sdk);
    const reads = await eachValue(subject, async ({ kind, id }) => {
      try {
        const value =
          kind === 'secret' ? await getSecretString(sdk, clients, id) : await getParameterValue(sdk, clients, id);
        return value === undefined || value.trim() === '' ? { result: 'absent' } : { result: 'read' };
      } catch (error) {
        return failed(error);
      }
    });
    return { available: true, reads };
  };
  const [extensionWay, sdkWay] = await Promise.all([throughExtension(), throughSdk()]);
  return { selfTest: 'store', broker: subject.broker, extension: extensionWay, sdk: sdkWay };
}
