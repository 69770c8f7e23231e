import { formatAmount } from '../decimal.ts';
import { SignalRefusedError } from '../errors.ts';
import type { ProtectiveLevel, Signal, SignalSize } from '../signal.ts';
import type { Side } from './signal-plan.ts';

/**
 * Sizing (docs/contract.md#sizing): `v` or `pos` in roubles, in percent of the portfolio, or in percent of it at risk
 * to `sl`, made whole lots of the instrument, rounded down, and capped by what the broker says the account can buy or
 * sell. Pure: the broker's numbers come in a {@link LotQuote} and the portfolio's value, read by its client.
 */

/** What a lot of the instrument costs now, and how many the account may trade: one broker read per signal. */
export interface LotQuote {
  /** Pieces per lot. */
  readonly lot: number;
  /** The entry's price per piece, in the instrument's price units: the limit price, or the market's. */
  readonly price: number;
  /** One lot at that price, in roubles. */
  readonly lotValue: number;
  /** What the broker says the account can buy or sell now with its own money and holdings, in lots. */
  readonly maxLots: { readonly buy: number; readonly sell: number };
}

/** How a size was reached, for the answer and the log line: the numbers a person would check it with. */
export interface SizeBasis {
  readonly vt: SignalSize['unit'];
  readonly v: number;
  /** Roubles the size stands for (`rub`, `pct`), or at risk (`risk`). */
  readonly money: number;
  readonly portfolio?: number | undefined;
  readonly lotValue: number;
  /** `risk`: what one lot loses from the entry to `sl`. */
  readonly lossPerLot?: number | undefined;
  /** Whole lots the money makes, before the broker's cap. */
  readonly lots: number;
  /** What the broker let the account trade, when it cut the order. */
  readonly cappedTo?: number | undefined;
}

/** A quotient in whole units, rounded down; a hair below a whole number (`0.3 / 0.1`) counts as it. */
function wholeUnits(money: number, per: number): number {
  return Math.floor(money / per + 1e-9);
}

const sizeZero = (text: string) => new SignalRefusedError('size-zero', `Размер заявки 0 лотов: ${text}`);

/** `sl` in the entry's terms: the loss of one lot from the entry to the stop, or the refusal of a stop on the wrong side. */
function lossPerLot(stop: ProtectiveLevel, quote: LotQuote, long: boolean): number {
  if (stop.kind === 'percent') return (quote.lotValue * Number(stop.value)) / 100;
  const level = Number(stop.value);
  const distance = long ? quote.price - level : level - quote.price;
  if (!(distance > 0)) {
    throw new SignalRefusedError(
      'bad-stop',
      `sl ${stop.value} не защищает ${long ? 'покупку' : 'продажу'}: вход по ${formatAmount(quote.price)}`,
    );
  }
  return (quote.lotValue * distance) / quote.price;
}

/**
 * The whole lots a size makes (unsigned), or the refusal whose text shows the numbers it came from. `long`: the
 * position the size opens is long (a buy, or a positive `pos`). `portfolio`: its value, for `pct` and `risk`.
 */
export function sizeToLots(
  size: SignalSize,
  quote: LotQuote,
  long: boolean,
  portfolio: number | undefined,
  stop: ProtectiveLevel | undefined,
): SizeBasis {
  const v = Math.abs(size.amount);
  const worth = portfolio ?? 0;
  const money = size.unit === 'rub' ? v : (worth * v) / 100;
  const lotText = `${formatAmount(quote.lotValue)} ₽ (${formatAmount(quote.price)} × ${quote.lot} шт.)`;
  if (!(quote.lotValue > 0)) throw sizeZero(`цена лота неизвестна (${formatAmount(quote.lotValue)} ₽)`);
  if (size.unit !== 'risk') {
    const lots = wholeUnits(money, quote.lotValue);
    if (lots === 0 && v > 0) {
      const source =
        size.unit === 'rub'
          ? `${formatAmount(v)} ₽`
          : `${v}% портфеля ${formatAmount(worth)} ₽ = ${formatAmount(money)} ₽`;
      throw sizeZero(`${source} меньше цены лота ${lotText}`);
    }
    return {
      vt: size.unit,
      v,
      money,
      ...(size.unit === 'pct' ? { portfolio: worth } : {}),
      lotValue: quote.lotValue,
      lots,
    };
  }
  if (stop === undefined) throw new SignalRefusedError('bad-stop', 'vt: risk без sl');
  const loss = lossPerLot(stop, quote, long);
  const lots = wholeUnits(money, loss);
  if (lots === 0 && v > 0) {
    throw sizeZero(
      `риск ${v}% портфеля ${formatAmount(worth)} ₽ = ${formatAmount(money)} ₽ меньше убытка одного лота до sl ${formatAmount(loss)} ₽ (лот ${lotText})`,
    );
  }
  return { vt: 'risk', v, money, portfolio: worth, lotValue: quote.lotValue, lossPerLot: loss, lots };
}

/** An order's lots cut to what the broker lets the account trade; none left is the refusal with both numbers. */
export function capToBroker(lots: number, side: Side, quote: LotQuote): number {
  const allowed = Math.max(0, Math.floor(side === 'buy' ? quote.maxLots.buy : quote.maxLots.sell));
  if (allowed === 0 && lots > 0) {
    throw sizeZero(`брокер разрешает ${side === 'buy' ? 'купить' : 'продать'} 0 лотов без плеча (по расчёту ${lots})`);
  }
  return Math.min(lots, allowed);
}

/** Whether the signal's size needs the portfolio's value. */
export function sizeNeedsPortfolio(signal: Pick<Signal, 'size'>): boolean {
  return signal.size !== undefined && signal.size.unit !== 'rub';
}
