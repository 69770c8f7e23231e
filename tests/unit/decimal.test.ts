import { describe, expect, it } from 'vitest';
import { decimalToQuotation, toCanonicalDecimal } from '#shared/decimal.ts';

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
