import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decimalToQuotation, isZeroDecimal, numberToCanonicalDecimal, toCanonicalDecimal } from '#shared/decimal.ts';

describe('toCanonicalDecimal', () => {
  it.each([
    ['12.3', '12.3'],
    ['012.50', '12.5'],
    ['1e-7', '0.0000001'],
    ['1.5E+2', '150'],
    [' 7 ', '7'],
    ['.5', '0.5'],
  ])('turns %j into %j', (literal, expected) => {
    expect(toCanonicalDecimal(literal)).toBe(expected);
  });

  it.each(['', '.', '-1', '0x10', 'Infinity', 'NaN', '1e309', '1.0000000001', '1234567890123', '1,5'])(
    'refuses %j',
    (literal) => {
      expect(toCanonicalDecimal(literal)).toBeUndefined();
    },
  );
});

describe('decimalToQuotation', () => {
  it('splits 12.3 exactly into units and nano', () => {
    expect(decimalToQuotation('12.3')).toEqual({ units: '12', nano: 300_000_000 });
  });

  it('keeps nine fraction digits without a float multiply', () => {
    expect(decimalToQuotation('0.000000001')).toEqual({ units: '0', nano: 1 });
    expect(decimalToQuotation('4.35')).toEqual({ units: '4', nano: 350_000_000 });
  });
});

describe('numberToCanonicalDecimal', () => {
  it.each([
    [12.3, '12.3'],
    [1e-7, '0.0000001'],
    [150, '150'],
    [-0, '0'],
    [123456.123456789, '123456.123456789'],
  ])('turns %d into %j', (value, expected) => {
    expect(numberToCanonicalDecimal(value)).toBe(expected);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, -1, 1e21, 0.1 + 0.2, 2 ** 53 + 2])('refuses %d', (value) => {
    expect(numberToCanonicalDecimal(value)).toBeUndefined();
  });
});

describe('isZeroDecimal', () => {
  it.each([
    ['0', true],
    ['0.0', true],
    ['0.000000001', false],
    ['10', false],
  ])('says %j is zero: %s', (decimal, zero) => {
    expect(isZeroDecimal(decimal)).toBe(zero);
  });
});

describe('decimalToQuotation and toCanonicalDecimal', () => {
  it('round-trip every canonical decimal exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 999_999 }),
        fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 9 }),
        (whole, digits) => {
          const decimal = toCanonicalDecimal(`${whole}.${digits}`);
          if (decimal === undefined) throw new Error(`${whole}.${digits} should be canonical`);
          const { units, nano } = decimalToQuotation(decimal);

          expect(toCanonicalDecimal(`${units}.${String(nano).padStart(9, '0')}`)).toBe(decimal);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('toCanonicalDecimal on long input', () => {
  it.each([
    ['16,000 zeros before a digit, a tiny exponent', `0.${'0'.repeat(16_000)}1e-9999`],
    ['16,000 zeros after the point', `1.${'0'.repeat(16_000)}1`],
    ['16,000 integer digits', '9'.repeat(16_000)],
  ])('refuses %s (its cost is measured by npm run bench: bench/long-price.ts)', (_case, literal) => {
    expect(toCanonicalDecimal(literal)).toBeUndefined();
  });

  it('keeps a long run of trailing zeros exact: 1.5 followed by 16,000 zeros is 1.5', () => {
    expect(toCanonicalDecimal(`1.5${'0'.repeat(16_000)}`)).toBe('1.5');
  });
});
