/**
 * What a paper broker holds beside its orders: each account's position per instrument (in lots, signed) and each
 * instrument's last price, at which a market order fills at once. The console and the tests set the last prices.
 */

/** The last price of an instrument nobody has set one for. */
export const DEFAULT_LAST_PRICE = 100;

export interface PaperPosition {
  readonly account: string;
  readonly instrument: string;
  /** Signed lots. */
  readonly lots: number;
}

export class PaperBook {
  readonly #positions = new Map<string, PaperPosition>();
  readonly #lastPrices = new Map<string, number>();

  static #key(account: string, instrument: string): string {
    return JSON.stringify([account, instrument]);
  }

  /** Lots held, or undefined when the account never held the instrument. */
  position(account: string, instrument: string): number | undefined {
    return this.#positions.get(PaperBook.#key(account, instrument))?.lots;
  }

  /** The account's positions, in the order first traded. */
  positions(account?: string): PaperPosition[] {
    return [...this.#positions.values()].filter((position) => account === undefined || position.account === account);
  }

  /** A fill of `lots` on `side`: the position moves by it. */
  fill(account: string, instrument: string, side: 'buy' | 'sell', lots: number): void {
    if (lots === 0) return;
    const key = PaperBook.#key(account, instrument);
    const held = this.#positions.get(key)?.lots ?? 0;
    const moved = held + (side === 'buy' ? lots : -lots);
    this.#positions.set(key, { account, instrument, lots: moved === 0 ? 0 : moved });
  }

  /** Sets a position outright, as a test or the console does. */
  setPosition(account: string, instrument: string, lots: number): void {
    this.#positions.set(PaperBook.#key(account, instrument), { account, instrument, lots });
  }

  lastPrice(instrument: string): number {
    return this.#lastPrices.get(instrument) ?? DEFAULT_LAST_PRICE;
  }

  /** An error text when the price is not a price. */
  setLastPrice(instrument: string, price: number): string | undefined {
    if (!Number.isFinite(price) || price <= 0) return 'a last price is a number above zero';
    this.#lastPrices.set(instrument, price);
    return undefined;
  }
}
