import { describe, expect, it, vi } from 'vitest';
import { AccessTokenCache, EXPIRY_MARGIN_MS, jwtExpiresAt } from '#shared/brokers/alor/access-token.ts';

const REFRESH_TOKEN = 'alor-refresh-token-0001';
const T0 = Date.UTC(2025, 1, 4, 10, 0, 0);

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** A JWT as Alor issues it: header.claims.signature; only the claims matter here. */
function jwt(claims: Record<string, unknown>, marker = 'sig'): string {
  return `${base64url({ alg: 'RS256', typ: 'JWT' })}.${base64url({ sub: 'P012345', ...claims })}.${marker}`;
}

/** A token that expires `seconds` after T0. */
function tokenExpiringIn(seconds: number, marker = 'sig'): string {
  return jwt({ exp: T0 / 1000 + seconds }, marker);
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function clock(start = T0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('jwtExpiresAt', () => {
  it('reads exp (seconds) as milliseconds since the epoch', () => {
    expect(jwtExpiresAt(tokenExpiringIn(1800))).toBe(T0 + 1_800_000);
  });

  it.each([
    ['no exp claim', jwt({ iat: 1 })],
    ['exp as a string', jwt({ exp: '1738664130' })],
    ['exp null', jwt({ exp: null })],
    ['no dots', 'opaque-token'],
    ['claims that are not base64 JSON', 'aaa.!!!.bbb'],
    ['claims that are JSON but not an object', `aaa.${base64url([1])}.bbb`],
    ['empty', ''],
  ])('returns undefined for a token with %s', (_case, token) => {
    expect(jwtExpiresAt(token)).toBeUndefined();
  });
});

describe('AccessTokenCache', () => {
  it('refreshes on the first call and reuses the token until 60 s before exp', async () => {
    const time = clock();
    const cache = new AccessTokenCache(time.now);
    const token = tokenExpiringIn(1800);
    const refresh = vi.fn(async () => token);

    const first = await cache.get(REFRESH_TOKEN, refresh);
    time.advance(1800_000 - EXPIRY_MARGIN_MS - 1);
    const reused = await cache.get(REFRESH_TOKEN, refresh);

    expect(EXPIRY_MARGIN_MS).toBe(60_000);
    expect(first).toEqual({ value: token, fromCache: false });
    expect(reused).toEqual({ value: token, fromCache: true });
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('refreshes again from 60 s before exp', async () => {
    const time = clock();
    const cache = new AccessTokenCache(time.now);
    const old = tokenExpiringIn(1800, 'old');
    const next = tokenExpiringIn(3600, 'next');
    const refresh = vi.fn<() => Promise<string>>().mockResolvedValueOnce(old).mockResolvedValueOnce(next);

    await cache.get(REFRESH_TOKEN, refresh);
    time.advance(1800_000 - EXPIRY_MARGIN_MS);
    const renewed = await cache.get(REFRESH_TOKEN, refresh);

    expect(renewed).toEqual({ value: next, fromCache: false });
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it('does not cache a token that is already inside the margin', async () => {
    const cache = new AccessTokenCache(clock().now);
    const refresh = vi.fn(async () => tokenExpiringIn(30));

    await cache.get(REFRESH_TOKEN, refresh);
    await cache.get(REFRESH_TOKEN, refresh);

    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it('shares one refresh among concurrent calls', async () => {
    const cache = new AccessTokenCache(clock().now);
    const token = tokenExpiringIn(1800);
    const pending = deferred<string>();
    const refresh = vi.fn(() => pending.promise);

    const calls = Array.from({ length: 5 }, () => cache.get(REFRESH_TOKEN, refresh));
    pending.resolve(token);
    const results = await Promise.all(calls);

    expect(refresh).toHaveBeenCalledTimes(1);
    expect(results).toEqual(Array.from({ length: 5 }, () => ({ value: token, fromCache: false })));
  });

  it('keeps a separate token per refresh token', async () => {
    const cache = new AccessTokenCache(clock().now);
    const refreshA = vi.fn(async () => tokenExpiringIn(1800, 'a'));
    const refreshB = vi.fn(async () => tokenExpiringIn(1800, 'b'));

    const a = await cache.get('refresh-token-a', refreshA);
    const b = await cache.get('refresh-token-b', refreshB);

    expect(a.value).not.toBe(b.value);
    expect(refreshA).toHaveBeenCalledTimes(1);
    expect(refreshB).toHaveBeenCalledTimes(1);
  });

  it('does not cache a token without exp: every call refreshes', async () => {
    const cache = new AccessTokenCache(clock().now);
    const refresh = vi.fn(async () => jwt({ iat: 1 }));

    const first = await cache.get(REFRESH_TOKEN, refresh);
    const second = await cache.get(REFRESH_TOKEN, refresh);

    expect(first.fromCache).toBe(false);
    expect(second.fromCache).toBe(false);
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it('does not cache a failed refresh: the next call refreshes again', async () => {
    const cache = new AccessTokenCache(clock().now);
    const token = tokenExpiringIn(1800);
    const refresh = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(new Error('refresh failed'))
      .mockResolvedValueOnce(token);

    await expect(cache.get(REFRESH_TOKEN, refresh)).rejects.toThrow('refresh failed');
    const retried = await cache.get(REFRESH_TOKEN, refresh);

    expect(retried).toEqual({ value: token, fromCache: false });
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it('gives the failure of a shared refresh to every waiter', async () => {
    const cache = new AccessTokenCache(clock().now);
    const pending = deferred<string>();
    const refresh = vi.fn(() => pending.promise);

    const calls = [cache.get(REFRESH_TOKEN, refresh), cache.get(REFRESH_TOKEN, refresh)];
    pending.reject(new Error('refresh failed'));

    await expect(Promise.all(calls)).rejects.toThrow('refresh failed');
    await expect(calls[1]).rejects.toThrow('refresh failed');
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('drops the token on invalidate with that token, so the next call refreshes', async () => {
    const cache = new AccessTokenCache(clock().now);
    const revoked = tokenExpiringIn(1800, 'revoked');
    const fresh = tokenExpiringIn(1800, 'fresh');
    const refresh = vi.fn<() => Promise<string>>().mockResolvedValueOnce(revoked).mockResolvedValueOnce(fresh);

    await cache.get(REFRESH_TOKEN, refresh);
    cache.invalidate(REFRESH_TOKEN, revoked);
    const next = await cache.get(REFRESH_TOKEN, refresh);

    expect(next).toEqual({ value: fresh, fromCache: false });
    expect(refresh).toHaveBeenCalledTimes(2);
  });

  it('keeps a newer token when invalidate names an older one', async () => {
    const cache = new AccessTokenCache(clock().now);
    const current = tokenExpiringIn(1800, 'current');
    const refresh = vi.fn(async () => current);

    await cache.get(REFRESH_TOKEN, refresh);
    cache.invalidate(REFRESH_TOKEN, tokenExpiringIn(1800, 'older'));
    cache.invalidate('another-refresh-token', current);
    const next = await cache.get(REFRESH_TOKEN, refresh);

    expect(next).toEqual({ value: current, fromCache: true });
    expect(refresh).toHaveBeenCalledTimes(1);
  });
});
