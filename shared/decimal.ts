/**
 * Exact decimal handling for prices: a price travels as a canonical decimal string ("12.3"), never through
 * a float multiply, so T-Invest's Quotation gets exactly the digits the trader sent.
 */

/** Quotation.nano holds 9 fractional digits; more cannot be sent exactly. */
export const MAX_FRACTION_DIGITS = 9;
/** Far above any exchange price. */
export const MAX_INTEGER_DIGITS = 12;
/** A decimal of at most 15 significant digits survives a round trip through a double: Alor's price is a JSON number. */
export const MAX_SIGNIFICANT_DIGITS = 15;

const DECIMAL_LITERAL = /^(\d*)(?:\.(\d*))?(?:e([+-]?\d{1,4}))?$/i;

/**
 * Canonical form of a non-negative decimal literal (`"012.50"` → `"12.5"`, `"1e-7"` → `"0.0000001"`),
 * or undefined when it is not one or does not fit the limits above.
 */
export function toCanonicalDecimal(literal: string): string | undefined {
  const match = DECIMAL_LITERAL.exec(literal.trim());
  if (!match) return undefined;
  const [, integerPart = '', fractionPart = '', exponentText] = match;
  if (integerPart === '' && fractionPart === '') return undefined;
  const exponent = exponentText === undefined ? 0 : Number(exponentText);
  // Move the decimal point `exponent` places through the digit string.
  const digits = `${integerPart}${fractionPart}`;
  const pointAt = integerPart.length + exponent;
  const padded = pointAt < 0 ? '0'.repeat(-pointAt) + digits : digits.padEnd(pointAt, '0');
  const splitAt = Math.max(pointAt, 0);
  const whole = withoutLeadingZeros(padded.slice(0, splitAt)) || '0';
  const fraction = withoutTrailingZeros(padded.slice(splitAt));
  if (whole.length > MAX_INTEGER_DIGITS || fraction.length > MAX_FRACTION_DIGITS) return undefined;
  if (withoutLeadingZeros(`${whole}${fraction}`).length > MAX_SIGNIFICANT_DIGITS) return undefined;
  return fraction === '' ? whole : `${whole}.${fraction}`;
}

/*
 * Zeros are trimmed by a scan, not a regular expression: `/0+$/` is tried at every zero of a run that does not end
 * the text (`"0.<16,000 zeros>1e-9999"`), which is quadratic in the length of the run.
 */
function withoutLeadingZeros(digits: string): string {
  let start = 0;
  while (start < digits.length && digits.charCodeAt(start) === ZERO) start += 1;
  return digits.slice(start);
}

function withoutTrailingZeros(digits: string): string {
  let end = digits.length;
  while (end > 0 && digits.charCodeAt(end - 1) === ZERO) end -= 1;
  return digits.slice(0, end);
}

const ZERO = 0x30;

/** Canonical decimal of a JS number, exact to its shortest round-trip representation. */
export function numberToCanonicalDecimal(value: number): string | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  return toCanonicalDecimal(String(value));
}

export function isZeroDecimal(decimal: string): boolean {
  return /^0(?:\.0*)?$/.test(decimal);
}

export interface Quotation {
  /** int64 as a string, per the T-Invest REST gateway. */
  readonly units: string;
  /** int32, 0..999 999 999 for a positive price. */
  readonly nano: number;
}

/** `"12.3"` → `{ units: "12", nano: 300000000 }`, by string arithmetic only. */
export function decimalToQuotation(decimal: string): Quotation {
  const [whole = '0', fraction = ''] = decimal.split('.');
  return { units: whole, nano: Number(fraction.padEnd(MAX_FRACTION_DIGITS, '0')) };
}

/** Money and counts as a person reads them: `100 000`, `2 512.5` (at most two decimals). */
export function formatAmount(value: number): string {
  const [whole = '0', fraction] = (Math.round(value * 100) / 100)
    .toFixed(2)
    .replace(/\.?0+$/, '')
    .split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

/** `{ units: "12", nano: 300000000 }` → `"12.3"`: the decimal a T-Invest Quotation or MoneyValue holds. */
export function quotationToDecimal(quotation: { readonly units: string; readonly nano: number }): string {
  const negative = quotation.units.startsWith('-') || quotation.nano < 0;
  const whole = quotation.units.replace('-', '');
  const fraction = String(Math.abs(quotation.nano)).padStart(MAX_FRACTION_DIGITS, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}
