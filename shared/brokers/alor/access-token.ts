import { createHash } from 'node:crypto';
import { JwtClaimsSchema } from './schemas.ts';

/**
 * Alor access tokens (JWT) live for a while; the original refreshed on every order. This cache keeps one per
 * refresh token until shortly before its `exp`, and lets concurrent invocations share a single refresh.
 */

/** Refresh this long before `exp`: covers clock skew and the order call that follows. */
export const EXPIRY_MARGIN_MS = 60_000;

/** The claims of a JWT (its payload, not verified: Alor checks its own signature), or undefined when unreadable. */
export function jwtClaims(jwt: string): unknown {
  const payload = jwt.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** `exp` of a JWT in ms since the epoch, or undefined when the token carries none we can read. */
export function jwtExpiresAt(jwt: string): number | undefined {
  const claims = JwtClaimsSchema.safeParse(jwtClaims(jwt));
  return claims.success ? claims.data.exp * 1000 : undefined;
}

export interface AccessToken {
  readonly value: string;
  /** True when it came from the cache, so a 401 on it is worth one fresh refresh. */
  readonly fromCache: boolean;
}

interface CachedToken {
  readonly value: string;
  readonly refreshBefore: number;
}

export class AccessTokenCache {
  readonly #now: () => number;
  readonly #tokens = new Map<string, CachedToken>();
  readonly #refreshing = new Map<string, Promise<string>>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Keyed by a digest, so the map never holds the refresh token itself. */
  #key(refreshToken: string): string {
    return createHash('sha256').update(refreshToken).digest('base64url');
  }

  /** `validForMs`: a cached token is used only if it stays usable that much longer (a keep-warm's next turn). */
  async get(refreshToken: string, refresh: () => Promise<string>, validForMs = 0): Promise<AccessToken> {
    const key = this.#key(refreshToken);
    const cached = this.#tokens.get(key);
    if (cached !== undefined && cached.refreshBefore > this.#now() + validForMs) {
      return { value: cached.value, fromCache: true };
    }
    let pending = this.#refreshing.get(key);
    if (pending === undefined) {
      pending = refresh()
        .then((value) => {
          const expiresAt = jwtExpiresAt(value);
          // A token without a readable `exp` is used once and never cached.
          if (expiresAt !== undefined) this.#tokens.set(key, { value, refreshBefore: expiresAt - EXPIRY_MARGIN_MS });
          return value;
        })
        .finally(() => this.#refreshing.delete(key));
      this.#refreshing.set(key, pending);
    }
    return { value: await pending, fromCache: false };
  }

  /** Forget a token the API refused, unless a newer one already replaced it. */
  invalidate(refreshToken: string, rejected: string): void {
    const key = this.#key(refreshToken);
    if (this.#tokens.get(key)?.value === rejected) this.#tokens.delete(key);
  }
}
