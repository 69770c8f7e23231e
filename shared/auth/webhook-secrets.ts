import { randomInt } from 'node:crypto';
import { WEBHOOK_SECRET_ALPHABET, WEBHOOK_SECRET_LENGTH } from '../facts.ts';

/** A new webhook secret: the same length and alphabet as the one the stack generates at creation. */
export function generateWebhookSecret(): string {
  let value = '';
  for (let i = 0; i < WEBHOOK_SECRET_LENGTH; i += 1) {
    value += WEBHOOK_SECRET_ALPHABET[randomInt(WEBHOOK_SECRET_ALPHABET.length)];
  }
  return value;
}
