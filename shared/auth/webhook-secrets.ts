import { randomInt } from 'node:crypto';
import { WEBHOOK_SECRET_ALPHABET, WEBHOOK_SECRET_LENGTH } from '../facts.ts';

/**
 * The stored webhook secret, read and written the same way by the functions, `npm start` and `npm run secrets`: it
 * may hold several accepted values, so it can be rotated without downtime.
 */

/**
 * The accepted values: one per line, or the strings of a JSON array. Empty values are dropped: a secret that yields
 * none accepts nothing (every call fails closed).
 */
export function parseAcceptedSecrets(stored: string | undefined): string[] {
  if (stored === undefined) return [];
  const trimmed = stored.trim();
  if (trimmed.startsWith('[')) {
    try {
      const values: unknown = JSON.parse(trimmed);
      if (Array.isArray(values)) {
        return values.filter((value): value is string => typeof value === 'string' && value.trim() !== '');
      }
    } catch {
      // Not JSON after all: fall through to one value per line.
    }
  }
  return trimmed
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** The stored form of a list of accepted values: one per line, the newest first. */
export function formatAcceptedSecrets(values: readonly string[]): string {
  return values.join('\n');
}

/** What to say, loudly, when `setting` yields no accepted value: every call fails closed. Never quotes the value. */
export function noAcceptedSecretWarning(setting: string): string {
  return `WARNING: ${setting} holds no webhook secret (it is empty, or a list without a value): every call is answered 401 Unauthorized`;
}

/** A new webhook secret: the same length and alphabet as the one the stack generates at creation. */
export function generateWebhookSecret(): string {
  let value = '';
  for (let i = 0; i < WEBHOOK_SECRET_LENGTH; i += 1) {
    value += WEBHOOK_SECRET_ALPHABET[randomInt(WEBHOOK_SECRET_ALPHABET.length)];
  }
  return value;
}
