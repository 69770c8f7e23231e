/**
 * One deadline for all broker calls of a request (`BROKER_TIMEOUT_MS`). Its signal uses a native timer,
 * which fires on time; undici's own timeouts are coarse above one second and only back it up.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  remainingMs(): number;
}

export function createDeadline(timeoutMs: number, now: () => number = performance.now.bind(performance)): Deadline {
  const expiresAt = now() + timeoutMs;
  return {
    signal: AbortSignal.timeout(timeoutMs),
    remainingMs: () => Math.max(0, expiresAt - now()),
  };
}
