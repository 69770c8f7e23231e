import type { ValueSource } from '../config.ts';
import { NotConfiguredError } from '../errors.ts';
import type { Deadline } from '../http/outbound/deadline.ts';
import type { ValueStore } from '../store/value-store.ts';

/** A broker's two stored values: its credential (a secret) and the account it trades on (a parameter). */
export interface BrokerCredentialSources {
  readonly credential: ValueSource;
  readonly account: ValueSource;
}

/** The contract's 404 texts, per broker. */
export interface NotConfiguredMessages {
  readonly credential: string;
  readonly account: string;
}

export interface BrokerCredentials {
  readonly credential: string;
  readonly account: string;
}

function settledValue(
  result: PromiseSettledResult<string | undefined>,
  message: string,
  missing: NotConfiguredError['missing'],
): string {
  if (result.status === 'rejected') throw result.reason;
  if (result.value === undefined) throw new NotConfiguredError(message, missing);
  return result.value;
}

/**
 * Both values are read at once (one store round trip of latency, not two), but judged in the contract's
 * order: a missing credential answers before a missing account, whatever happened to the account read. With a
 * `deadline` (an order's), the store is waited for no longer than it.
 */
export async function readBrokerCredentials(
  store: ValueStore,
  sources: BrokerCredentialSources,
  messages: NotConfiguredMessages,
  deadline?: Deadline,
): Promise<BrokerCredentials> {
  const [credential, account] = await Promise.allSettled([
    store.readSecret(sources.credential, deadline),
    store.readParameter(sources.account, deadline),
  ]);
  return {
    credential: settledValue(credential, messages.credential, 'credential'),
    account: settledValue(account, messages.account, 'account'),
  };
}
