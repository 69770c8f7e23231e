/**
 * What a container remembers of a broker's answers about instruments (a listing, a lot size): each value until it
 * expires, at most `limit` of them, the least recently used forgotten first.
 */
export class Remembered<TValue> {
  readonly #values = new Map<string, { readonly value: TValue; readonly expiresAt: number }>();
  readonly #limit: number;
  readonly #now: () => number;

  constructor(limit: number, now: () => number = Date.now) {
    this.#limit = limit;
    this.#now = now;
  }

  /** The value of `key` while it lives; a hit becomes the most recently used. */
  get(key: string): TValue | undefined {
    const remembered = this.#values.get(key);
    this.#values.delete(key);
    if (remembered === undefined || remembered.expiresAt <= this.#now()) return undefined;
    this.#values.set(key, remembered);
    return remembered.value;
  }

  set(key: string, value: TValue, ttlMs: number): void {
    if (this.#values.size >= this.#limit) {
      const oldest = this.#values.keys().next();
      if (oldest.done !== true) this.#values.delete(oldest.value);
    }
    this.#values.set(key, { value, expiresAt: this.#now() + ttlMs });
  }
}
