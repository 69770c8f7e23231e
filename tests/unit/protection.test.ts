import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  averagePrice,
  checkProtectionPrices,
  openedLots,
  protectionPlan,
  protectionPrices,
  protectiveLegId,
  reducesPosition,
} from '#shared/brokers/protection.ts';
import { SignalRefusedError } from '#shared/errors.ts';
import { hasProtectionKeys, type Protection, parseProtectedOrder, parseSignal } from '#shared/signal.ts';
import * as z from '#shared/zod.ts';

/**
 * docs/contract.md#protection in numbers: which lots an entry's protection covers, its prices rounded to the price
 * step towards the entry, the refusals of prices that would not protect, and how `sl`, `tp`, `trail` are read in
 * both forms of the signal.
 */

const price = (value: string) => ({ kind: 'price', value }) as const;
const percent = (value: string) => ({ kind: 'percent', value }) as const;

describe('protectionPlan', () => {
  it.each([
    ['a buy from flat opens all of it', { side: 'buy', lots: 3 }, 0, { side: 'sell', closing: 0, lots: 3 }],
    ['a buy that adds to a long', { side: 'buy', lots: 2 }, 5, { side: 'sell', closing: 0, lots: 2 }],
    ['a sell from flat opens a short', { side: 'sell', lots: 2 }, 0, { side: 'buy', closing: 0, lots: 2 }],
    [
      'a reversal protects what opens beyond the close',
      { side: 'sell', lots: 5 },
      3,
      { side: 'buy', closing: 3, lots: 2 },
    ],
    ['a reduction opens nothing', { side: 'sell', lots: 2 }, 3, { side: 'buy', closing: 2, lots: 0 }],
  ] as const)('%s', (_, order, position, plan) => {
    expect(protectionPlan(order, position)).toEqual(plan);
  });

  it('counts the opened lots of a partial fill after the closing ones', () => {
    const plan = protectionPlan({ side: 'sell', lots: 5 }, 3);
    expect([0, 2, 3, 4, 5, 9].map((filled) => openedLots(plan, filled))).toEqual([0, 0, 0, 1, 2, 2]);
  });

  it('says which orders reduce the position held (their protective orders go first)', () => {
    expect([
      reducesPosition('sell', 3),
      reducesPosition('buy', 3),
      reducesPosition('buy', -1),
      reducesPosition('buy', 0),
    ]).toEqual([true, false, true, false]);
  });

  it('never protects more than the entry opened (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('buy' as const, 'sell' as const),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: -1000, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        (side, lots, position, filled) => {
          const plan = protectionPlan({ side, lots }, position);
          const opened = openedLots(plan, Math.min(filled, lots));
          const after = position + (side === 'buy' ? 1 : -1) * Math.min(filled, lots);
          expect(opened).toBeLessThanOrEqual(Math.abs(after));
          expect(opened).toBeLessThanOrEqual(plan.lots);
          if (opened > 0) expect(Math.sign(after)).toBe(side === 'buy' ? 1 : -1);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('protectionPrices', () => {
  it.each([
    [
      'a long: stop-loss up, take-profit down, to the step',
      'buy',
      { sl: price('95.013'), tp: price('110.019') },
      '100',
      '0.01',
      { sl: '95.02', tp: '110.01' },
    ],
    [
      'a short: stop-loss down, take-profit up',
      'sell',
      { sl: price('105.019'), tp: price('90.011') },
      '100',
      '0.01',
      { sl: '105.01', tp: '90.02' },
    ],
    [
      'percentages of the entry',
      'buy',
      { sl: percent('1.5'), tp: percent('3') },
      '250.3',
      '0.01',
      { sl: '246.55', tp: '257.8' },
    ],
    ['a step of 0.5', 'sell', { sl: percent('1'), tp: percent('1') }, '99.5', '0.5', { sl: '100', tp: '99' }],
    ['no step: exact', 'buy', { sl: percent('10') }, '3', undefined, { sl: '2.7' }],
  ] as const)('%s', (_, side, protection, entry, step, prices) => {
    expect(protectionPrices(protection, side, entry, step)).toMatchObject(prices);
  });

  it('keeps a percentage trail as one, and rounds a price distance down to the step (at least one)', () => {
    expect(protectionPrices({ trail: percent('2.5') }, 'buy', '100', '0.01').trail).toEqual({
      value: '2.5',
      relative: true,
    });
    expect(protectionPrices({ trail: price('1.237') }, 'buy', '100', '0.01').trail).toEqual({
      value: '1.23',
      relative: false,
    });
    expect(protectionPrices({ trail: price('0.001') }, 'buy', '100', '0.01').trail).toEqual({
      value: '0.01',
      relative: false,
    });
  });

  it('never loosens a level: rounded, it is as close to the entry or closer, by less than a step (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('buy' as const, 'sell' as const),
        fc.integer({ min: 100, max: 1_000_000 }),
        fc.integer({ min: 1, max: 9_900 }),
        fc.constantFrom([1, 2], [5, 2], [1, 1], [1, 0], [25, 4]),
        (side, steps, basisPoints, [stepDigits, scale]) => {
          // The exchange takes only prices on the step: the entry is one.
          const step = stepDigits / 10 ** scale;
          const entry = (steps * step).toFixed(scale);
          const share = (basisPoints / 100).toString();
          const protection: Protection = { sl: percent(share), tp: percent(share) };
          const prices = protectionPrices(protection, side, entry, String(step));
          const exact = (up: boolean) => Number(entry) * (1 + ((up ? 1 : -1) * Number(share)) / 100);
          const distance = (value: number) => Math.abs(value - Number(entry));
          for (const [rounded, ideal] of [
            [Number(prices.sl), exact(side === 'sell')],
            [Number(prices.tp), exact(side === 'buy')],
          ] as const) {
            expect(distance(rounded)).toBeLessThanOrEqual(distance(ideal) + 1e-6);
            expect(distance(ideal) - distance(rounded)).toBeLessThan(step + 1e-6);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('bad-protection', () => {
  it.each([
    ['sl 101 должен быть ниже цены входа 100', 'buy', { sl: '101' }],
    ['tp 99 должен быть выше цены входа 100', 'buy', { tp: '99' }],
    ['sl 100 должен быть ниже цены входа 100', 'buy', { sl: '100' }],
    ['sl 99 должен быть выше цены входа 100', 'sell', { sl: '99' }],
    ['tp 101 должен быть ниже цены входа 100', 'sell', { tp: '101' }],
  ] as const)('refuses a level that would not protect: %s', (message, side, prices) => {
    expect(() => checkProtectionPrices(prices, side, '100')).toThrow(new SignalRefusedError('bad-protection', message));
  });

  it('takes levels on their sides', () => {
    expect(() => checkProtectionPrices({ sl: '99', tp: '101' }, 'buy', '100')).not.toThrow();
  });
});

describe('keys and prices of the legs', () => {
  it('derives each leg’s key from the entry’s, the same every time, another for another leg', () => {
    const entry = '3b9f1c1e-0000-5000-8000-000000000001';
    expect(protectiveLegId(entry, 'sl:0-3')).toBe(protectiveLegId(entry, 'sl:0-3'));
    expect(
      new Set([protectiveLegId(entry, 'sl:0-3'), protectiveLegId(entry, 'tp:0-3'), protectiveLegId(entry, 'sl:3-5')])
        .size,
    ).toBe(3);
    expect(protectiveLegId(entry, 'sl')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('averages fills by their lots', () => {
    expect(
      averagePrice([
        { price: '100', lots: 1 },
        { price: '101', lots: 3 },
      ]),
    ).toBe('100.75');
    expect(averagePrice([])).toBeUndefined();
  });
});

describe('sl, tp and trail in a ver 2 body', () => {
  const parse = (body: Record<string, unknown>) => parseSignal({ ver: 2, t: 'MOEX:SBER', ...body }, z.object({}));

  it('reads a price or a percentage of the entry', () => {
    const parsed = parse({ d: 'buy', v: 1, p: 100, sl: 95.5, tp: '3%', trail: ' 1.5% ' });
    expect(parsed.success && parsed.signal.options.protection).toEqual({
      sl: price('95.5'),
      tp: percent('3'),
      trail: percent('1.5'),
    });
  });

  it.each([
    [{ sl: 0 }, 'sl'],
    [{ sl: '-1' }, 'sl'],
    [{ tp: '100%' }, 'tp'],
    [{ tp: '0%' }, 'tp'],
    [{ trail: 'far' }, 'trail'],
    [{ sl: true }, 'sl'],
  ])('refuses %j with the rule, naming the key', (fields, key) => {
    const parsed = parse({ d: 'buy', v: 1, p: 100, ...fields });
    expect(parsed.success).toBe(false);
    if (!parsed.success) {
      expect(parsed.problem.row).toBe('bad-payload');
      expect(parsed.problem.issues.join('\n')).toContain(`${key}:`);
    }
  });

  it('takes none with an exit', () => {
    const parsed = parse({ x: 'close', sl: '95' });
    expect(parsed.success === false && parsed.problem.issues).toEqual(['sl: not with x']);
  });
});

describe('today’s body with sl, tp or trail', () => {
  it('is a protected limit order, read by today’s rules (unknown keys stripped)', () => {
    const body = { t: 'SBER', p: '250.5', v: 2, d: 'BUY', sl: '2%', tp: 260, widget: 'ppp' };
    expect(hasProtectionKeys(body)).toBe(true);
    const parsed = parseProtectedOrder(body, z.object({ f: z.optional(z.string()) }));
    expect(parsed.success && parsed.signal).toMatchObject({
      ticker: 'SBER',
      intent: { kind: 'order', side: 'buy', lots: 2 },
      options: {
        type: 'limit',
        price: '250.5',
        cancelFirst: false,
        protection: { sl: percent('2'), tp: price('260') },
      },
    });
  });

  it('is not one without those keys, nor a check', () => {
    expect(hasProtectionKeys({ t: 'SBER', p: 1, v: 1, d: 'buy' })).toBe(false);
    expect(hasProtectionKeys([{ sl: 1 }])).toBe(false);
  });

  it('is refused as today’s body would be without p', () => {
    const parsed = parseProtectedOrder({ t: 'SBER', v: 2, d: 'buy', sl: '2%' }, z.object({}));
    expect(parsed.success === false && parsed.problem.row).toBe('bad-payload');
  });
});
