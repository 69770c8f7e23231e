import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The shared webhook secret. Four ways to present it, any one is enough; every comparison is constant
 * time and anything unexpected fails closed.
 */

export interface SecretCredentials {
  /** `x-webhook-secret` header. */
  readonly header?: string | undefined;
  /** `?secret=` query parameter, as Realm's "Require Secret" sent it. */
  readonly query?: string | undefined;
  /** `x-hook-signature: sha256=<hex>` over the raw body, Realm's other mode. */
  readonly signature?: string | undefined;
  readonly rawBody: Uint8Array;
  /**
   * The body's top-level `secret` (shared/auth/body-secret.ts), for sources that can send no header (TradingView).
   * Asked for only when none of the three above is presented: it needs the body decoded.
   */
  readonly bodySecret?: (() => string | undefined) | undefined;
}

export type SecretCheck =
  | { ok: true; method: 'header' | 'query' | 'signature' | 'body' }
  | { ok: false; reason: string };

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/** Digests first, so every comparison is between equal-length buffers and the length of the secret leaks nothing. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function matchesAny(presented: string, accepted: readonly string[]): boolean {
  const presentedDigest = digest(presented);
  let matched = false;
  // No early exit: the time taken does not say which value matched.
  for (const value of accepted) matched = timingSafeEqual(presentedDigest, digest(value)) || matched;
  return matched;
}

function signatureMatchesAny(signature: string, rawBody: Uint8Array, accepted: readonly string[]): boolean {
  const hex = SIGNATURE.exec(signature.trim())?.[1];
  if (hex === undefined) return false;
  const presented = Buffer.from(hex, 'hex');
  let matched = false;
  for (const value of accepted) {
    const expected = createHmac('sha256', value).update(rawBody).digest();
    matched = timingSafeEqual(presented, expected) || matched;
  }
  return matched;
}

export function checkWebhookSecret(credentials: SecretCredentials, accepted: readonly string[]): SecretCheck {
  if (accepted.length === 0) return { ok: false, reason: 'no webhook secret configured' };
  const { header, query, signature } = credentials;
  if (header === undefined && query === undefined && signature === undefined) {
    const body = credentials.bodySecret?.();
    if (body === undefined) return { ok: false, reason: 'no credentials presented' };
    return matchesAny(body, accepted)
      ? { ok: true, method: 'body' }
      : { ok: false, reason: 'credentials do not match' };
  }
  if (header !== undefined && matchesAny(header, accepted)) return { ok: true, method: 'header' };
  if (query !== undefined && matchesAny(query, accepted)) return { ok: true, method: 'query' };
  if (signature !== undefined && signatureMatchesAny(signature, credentials.rawBody, accepted)) {
    return { ok: true, method: 'signature' };
  }
  return { ok: false, reason: 'credentials do not match' };
}
