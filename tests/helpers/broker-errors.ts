import { expect } from 'vitest';
import { BrokerCredentialRejectedError, BrokerUnavailableError } from '#shared/errors.ts';

/** What `act` threw; fails the test when it returned instead. */
export function thrown(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** `act` throws the 502 `Брокер недоступен` error, not retriable, whose log detail never quotes `body`. */
export function expectUnavailable(act: () => unknown, body?: string): BrokerUnavailableError {
  const error = thrown(act);
  expect(error).toBeInstanceOf(BrokerUnavailableError);
  const unavailable = error as BrokerUnavailableError;
  expect(unavailable).toMatchObject({ statusCode: 502, publicMessage: 'Брокер недоступен', retriable: false });
  if (body !== undefined) expect(unavailable.detail).not.toContain(body);
  return unavailable;
}

/** `act` throws the broker's credential rejection with exactly this status and text. */
export function expectCredentialRejected(act: () => unknown, statusCode: 400 | 403, publicMessage: string): void {
  const error = thrown(act);
  expect(error).toBeInstanceOf(BrokerCredentialRejectedError);
  expect(error).toMatchObject({ statusCode, publicMessage });
}
