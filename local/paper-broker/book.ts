/**
 * What a paper broker holds beside its orders: each account's position per instrument (in lots, signed), each
 * instrument's last price (at which a market order fills at once) and trading status, and each account's money (the
 * portfolio's value, the day's result, the cash its own money buys with). The console and the tests set them.
 */

/** The last price of an instrument nobody has set one for. */
export const DEFAULT_LAST_PRICE = 100;

/** An account's money, in roubles: what sizing reads as its value, the guards as its day's result. */
export interface PaperMoney {
  readonly portfolioValue: number;
  readonly dailyResult: number;
  /** What the account's own money buys with (no margin). */
  readonly cash: number;
}

/** Every paper account's money until a test or the console changes it. */
export const DEFAULT_PAPER_MONEY: PaperMoney = { portfolioValue: 1_000_000, dailyResult: 0, cash: 1_000_000 };

/** The day's result the `daily-loss-reached` scenario plays: a tenth of the portfolio lost. */
export const DAILY_LOSS_SCENARIO_SHARE = -0.1;

export interface PaperPosition {
  readonly account: string;
  readonly instrument: string;
  /** Signed lots. */
  readonly lots: number;
}

export class PaperBook {
  readonly #positions = new Map<string, PaperPosition>();
  readonly #lastPrices = new Map<string, number>();
  readonly #money = new Map<string, PaperMoney>();
  readonly #notTrading = new Set<string>();

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

  money(account: string): PaperMoney {
    return this.#money.get(account) ?? DEFAULT_PAPER_MONEY;
  }

  /** Changes what is given of an account's money; an error text when a value is not a finite number (or negative cash). */
  setMoney(account: string, change: Partial<PaperMoney>): string | undefined {
    const next = { ...this.money(account), ...change };
    if (![next.portfolioValue, next.dailyResult, next.cash].every(Number.isFinite) || next.cash < 0) {
      return 'portfolioValue, dailyResult and cash are finite numbers, cash not below zero';
    }
    this.#money.set(account, next);
    return undefined;
  }

  /** Whether the instrument trades now (every one does until it is stopped). */
  trading(instrument: string): boolean {
    return !this.#notTrading.has(instrument);
  }

  setTrading(instrument: string, trading: boolean): void {
    if (trading) this.#notTrading.delete(instrument);
    else this.#notTrading.add(instrument);
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
