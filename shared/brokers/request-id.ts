import { createHash, randomUUID } from 'node:crypto';

/**
 * The broker-side idempotency key of an order: Alor's `X-REQID`, T-Invest's `orderId`. With a caller's key
 * it is a name-based UUID of (function, account, key, order), so a resent signal maps to the same broker request
 * and places no second order; without one, a fresh random UUID per invocation, reused for any retry.
 * The order is part of the name: a key reused for a different order (another side, instrument, quantity or
 * price) must not be answered "200 OK" from the broker's replay of the first order while nothing is placed.
 */

/** Fixed namespace of this project's name-based UUIDs (RFC 9562 §5.5, UUIDv5). */
const NAMESPACE = Buffer.from('5b3c1f0e9a7d4e2b8c6a1d3f5e7b9c0a', 'hex');

export function nameBasedUuid(name: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `order`: what the broker is asked to do, as plain JSON data (the wire body's instrument, side, lots, price). */
export function brokerRequestId(
  broker: string,
  account: string,
  idempotencyKey: string | undefined,
  order: unknown,
): string {
  if (idempotencyKey === undefined) return randomUUID();
  return nameBasedUuid(JSON.stringify([broker, account, idempotencyKey, order]));
}

/**
 * The broker-side key of a v2 signal's entry (its protective legs' keys derive from it: `protectiveLegId` of
 * shared/brokers/protection.ts): a name-based UUID of (function,
 * account, key, leg, the signal as read: its instrument, intent and options). A resent signal maps every leg to the
 * same key whatever the position it finds, so it never adds an order; a key reused for another signal is another key.
 * Without a caller's key, a fresh random UUID per invocation.
 */
export function legRequestId(
  broker: string,
  account: string,
  idempotencyKey: string | undefined,
  leg: string,
  signal: unknown,
): string {
  if (idempotencyKey === undefined) return randomUUID();
  return nameBasedUuid(JSON.stringify([broker, account, idempotencyKey, leg, signal]));
}
