import { EventEmitter } from 'node:events';

/**
 * One deadline for all broker calls of a request (`BROKER_TIMEOUT_MS`). Its signal uses a native timer,
 * which fires on time; undici's own timeouts are coarse above one second and only back it up.
 */
export interface Deadline {
  readonly signal: DeadlineSignal;
  remainingMs(): number;
}

/**
 * An abort signal as an emitter of `abort`, with `aborted` and `reason`, rather than an `AbortSignal`: every request
 * adds a listener to it and removes it at the end, which costs more on an `EventTarget` than on an `EventEmitter`
 * (docs/performance.md#alternatives-tried).
 */
export class DeadlineSignal extends EventEmitter {
  aborted = false;
  reason: unknown;

  /** Fires once: `aborted` and `reason` set, then `abort` emitted, as an `AbortSignal` does. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

export function createDeadline(timeoutMs: number, now: () => number = performance.now.bind(performance)): Deadline {
  const expiresAt = now() + timeoutMs;
  const signal = new DeadlineSignal();
  // The reason `AbortSignal.timeout` gives, so what is logged of a timeout stays the same.
  const timeout = () => signal.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  // Unref'd, as `AbortSignal.timeout`'s: a pending deadline never holds a container's event loop open.
  setTimeout(timeout, timeoutMs).unref();
  return { signal, remainingMs: () => Math.max(0, expiresAt - now()) };
}
