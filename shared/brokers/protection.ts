import { MAX_FRACTION_DIGITS } from '../decimal.ts';
import { SignalRefusedError } from '../errors.ts';
import type { Protection, ProtectiveLevel } from '../signal.ts';
import { nameBasedUuid } from './request-id.ts';
import type { PlannedOrder, Side } from './signal-plan.ts';

/**
 * What protects an entry (docs/contract.md#protection), in numbers: which of the entry's lots are protected, on which
 * side, and at which prices, rounded to the instrument's price step towards the entry's price (a stop a step closer
 * stops a step earlier: it never loosens the protection the signal asked for). Pure, so every case is tested without a
 * broker; each broker's protection.ts places the orders.
 */

/** Which of an entry's lots its protection covers. */
export interface ProtectionPlan {
  /** The protective orders' side: the entry's opposite. */
  readonly side: Side;
  /** Lots of the entry that first close the position held against it (a reversal): never protected. */
  readonly closing: number;
  /** Lots the entry opens or adds, once it fills: what the stop-loss and the take-profit cover. */
  readonly lots: number;
}

export const opposite = (side: Side): Side => (side === 'buy' ? 'sell' : 'buy');

/**
 * The protection of `order` placed with `position` lots held (signed). A buy while short first closes the short: only
 * what it buys beyond it opens a position, and only that is protected (a sell-stop for the lots that closed the short
 * would open a short of its own).
 */
export function protectionPlan(order: PlannedOrder, position: number): ProtectionPlan {
  const against = order.side === 'buy' ? position < 0 : position > 0;
  const closing = against ? Math.min(Math.abs(position), order.lots) : 0;
  return { side: opposite(order.side), closing, lots: order.lots - closing };
}

/** Lots of the plan's position opened once `filled` lots of the entry filled. */
export function openedLots(plan: ProtectionPlan, filled: number): number {
  return Math.max(0, Math.min(filled, plan.closing + plan.lots) - plan.closing);
}

/** Whether an order of `side` reduces, closes or reverses the position held: the protective orders must go first. */
export function reducesPosition(side: Side, position: number): boolean {
  return side === 'buy' ? position < 0 : position > 0;
}

/** The trigger prices of an entry's protection, canonical decimals. */
export interface ProtectionPrices {
  readonly sl?: string | undefined;
  readonly tp?: string | undefined;
  /** The trailing take-profit's distance: a percentage (`relative`) or a price distance. */
  readonly trail?: { readonly value: string; readonly relative: boolean } | undefined;
}

/** A decimal as an integer count of 10⁻⁹ (Quotation's nano): exact for every price the signal can hold. */
const SCALE = 10n ** BigInt(MAX_FRACTION_DIGITS);

function toUnits(decimal: string): bigint {
  const [whole = '0', fraction = ''] = decimal.split('.');
  return BigInt(whole) * SCALE + BigInt(fraction.padEnd(MAX_FRACTION_DIGITS, '0').slice(0, MAX_FRACTION_DIGITS));
}

function fromUnits(units: bigint): string {
  const whole = units / SCALE;
  const fraction = (units % SCALE).toString().padStart(MAX_FRACTION_DIGITS, '0').replace(/0+$/, '');
  return fraction === '' ? whole.toString() : `${whole}.${fraction}`;
}

/** `numerator / denominator` (units) rounded to a multiple of `step` (units), up or down. */
function roundToStep(numerator: bigint, denominator: bigint, step: bigint, up: boolean): bigint {
  const divisor = denominator * step;
  const quotient = numerator / divisor;
  const exact = quotient * divisor === numerator;
  return (up && !exact ? quotient + 1n : quotient) * step;
}

/** A price level for an entry at `entry`: a price, or `entry` ± N %; as units over a denominator. */
function levelValue(level: ProtectiveLevel, entry: bigint | undefined, above: boolean): [bigint, bigint] {
  if (level.kind === 'price') return [toUnits(level.value), 1n];
  if (entry === undefined) throw new Error('a percentage level needs the entry price');
  const hundred = 100n * SCALE;
  const percent = toUnits(level.value);
  return [entry * (above ? hundred + percent : hundred - percent), hundred];
}

/**
 * The trigger prices of `protection` for an entry of `entrySide` at `entry` (the limit price, or the fill price of a
 * market entry), rounded to the price step `step` towards the entry: a buy's stop-loss (below it) up, its take-profit
 * (above it) down; a sell's the other way. `step` undefined or zero: no rounding. A percentage needs `entry`.
 */
export function protectionPrices(
  protection: Protection,
  entrySide: Side,
  entry: string | undefined,
  step: string | undefined,
): ProtectionPrices {
  const entryUnits = entry === undefined ? undefined : toUnits(entry);
  const stepUnits = step === undefined ? 0n : toUnits(step);
  const long = entrySide === 'buy';
  const price = (level: ProtectiveLevel | undefined, above: boolean): string | undefined => {
    if (level === undefined) return undefined;
    const [numerator, denominator] = levelValue(level, entryUnits, above);
    // Towards the entry: a level above it rounds down, one below it up.
    return fromUnits(roundToStep(numerator, denominator, stepUnits === 0n ? 1n : stepUnits, !above));
  };
  const trail = protection.trail;
  return {
    sl: price(protection.sl, !long),
    tp: price(protection.tp, long),
    trail:
      trail === undefined
        ? undefined
        : trail.kind === 'percent'
          ? { value: trail.value, relative: true }
          : { value: fromUnits(trailDistance(toUnits(trail.value), stepUnits)), relative: false },
  };
}

/** A trailing distance in price, rounded down to the step (closer trails tighter), at least one step. */
function trailDistance(distance: bigint, step: bigint): bigint {
  if (step === 0n) return distance;
  const rounded = (distance / step) * step;
  return rounded === 0n ? step : rounded;
}

export const BAD_PROTECTION_ROW = 'bad-protection';

/**
 * Refuses ([bad-protection](docs/contract.md#bad-protection)) prices that would not protect an entry at `entry`: a
 * stop-loss or take-profit on the wrong side of it (or on it), or a level at or below zero. Checked before anything is
 * sent for a limit entry; a market entry's price is known only once it filled.
 */
export function checkProtectionPrices(prices: ProtectionPrices, entrySide: Side, entry: string): void {
  const at = toUnits(entry);
  const long = entrySide === 'buy';
  const wrong = (key: 'sl' | 'tp', below: boolean, value: string | undefined) => {
    if (value === undefined) return;
    const units = toUnits(value);
    if (units <= 0n || (below ? units >= at : units <= at)) {
      const side = below ? 'ниже' : 'выше';
      throw new SignalRefusedError(BAD_PROTECTION_ROW, `${key} ${value} должен быть ${side} цены входа ${entry}`);
    }
  };
  wrong('sl', long, prices.sl);
  wrong('tp', !long, prices.tp);
}

/** A positive price that survived rounding, or the refusal that it did not. */
export function checkPositive(prices: ProtectionPrices): void {
  for (const key of ['sl', 'tp'] as const) {
    const value = prices[key];
    if (value !== undefined && toUnits(value) <= 0n) {
      throw new SignalRefusedError(BAD_PROTECTION_ROW, `${key} ${value} должен быть больше нуля`);
    }
  }
}

/** Average price of fills (price × lots each), as a canonical decimal, rounded to 9 fractional digits. */
export function averagePrice(fills: readonly { readonly price: string; readonly lots: number }[]): string | undefined {
  const lots = fills.reduce((total, fill) => total + BigInt(fill.lots), 0n);
  if (lots === 0n) return undefined;
  const value = fills.reduce((total, fill) => total + toUnits(fill.price) * BigInt(fill.lots), 0n);
  return fromUnits(value / lots);
}

/**
 * The broker key of one protective leg of an entry: a name-based UUID of the entry's own key (itself derived from the
 * signal's key and the leg `entry`, shared/brokers/request-id.ts) and the leg (`sl`, `tp`; at T-Invest with the
 * entry's lots it covers, `sl:0-3`). Whoever places it, the webhook or the follow-up, derives the same key, so a retry,
 * a resent signal or a second watcher never places a second stop.
 */
export function protectiveLegId(entryRequestId: string, leg: string): string {
  return nameBasedUuid(JSON.stringify(['protection', entryRequestId, leg]));
}

/** The protection as the answer and the messages show it: `sl`, `tp`, `trail` (`"1.5%"` or a distance). */
export function describePrices(prices: ProtectionPrices): { sl?: string; tp?: string; trail?: string } {
  return {
    ...(prices.sl === undefined ? {} : { sl: prices.sl }),
    ...(prices.tp === undefined ? {} : { tp: prices.tp }),
    ...(prices.trail === undefined
      ? {}
      : { trail: prices.trail.relative ? `${prices.trail.value}%` : prices.trail.value }),
  };
}
