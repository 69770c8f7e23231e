import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ActiveOrder, planSignal, positionLots, stateNeeds, targetLots } from '#shared/brokers/signal-plan.ts';
import { SignalRefusedError } from '#shared/errors.ts';
import type { Signal } from '#shared/signal.ts';

/** docs/contract.md#signals-ver-2, "What is traded": the arithmetic of each intent on a state read from the broker. */

type Planned = Pick<Signal, 'intent' | 'options'>;
const MARKET = { type: 'market', cancelFirst: false } as const;
const position = (target: number, cancelFirst = false): Planned => ({
  intent: { kind: 'position', target, unit: 'lots' },
  options: { ...MARKET, cancelFirst },
});
const OWN = 'own-key';
const order = (id: string, side: 'buy' | 'sell', lots: number, requestId?: string): ActiveOrder => ({
  id,
  side,
  lots,
  requestId,
});

describe('planSignal', () => {
  it.each([
    ['0 → 3', 0, [], 3, { side: 'buy', lots: 3 }],
    ['3 → 3', 3, [], 3, undefined],
    ['0 with a buy of 3 working → 3', 0, [order('1', 'buy', 3)], 3, undefined],
    ['3 → 1', 3, [], 1, { side: 'sell', lots: 2 }],
    ['+3 → -2', 3, [], -2, { side: 'sell', lots: 5 }],
    ['2 with a sell of 1 working → 2', 2, [order('1', 'sell', 1)], 2, { side: 'buy', lots: 1 }],
  ] as const)('pos %s', (_case, held, active, target, expected) => {
    expect(planSignal(position(target), { position: held, activeOrders: active }, OWN)).toEqual({
      cancels: [],
      order: expected,
      position: held,
      working: active.reduce((sum, o) => sum + (o.side === 'buy' ? o.lots : -o.lots), 0),
      target,
    });
  });

  it('cancel: true cancels the others, keeps and counts its own order, and counts the position', () => {
    const mine = order('1', 'buy', 2, OWN);
    const other = order('2', 'sell', 5);
    expect(planSignal(position(3, true), { position: 1, activeOrders: [mine, other] }, OWN)).toEqual({
      cancels: [other],
      order: undefined,
      position: 1,
      working: 2,
      target: 3,
    });
  });

  it('a close cancels everything but its own order and sells the whole position', () => {
    const close: Planned = { intent: { kind: 'close' }, options: { ...MARKET, cancelFirst: true } };
    const working = order('1', 'buy', 2);
    expect(planSignal(close, { position: 4, activeOrders: [working] }, OWN)).toEqual({
      cancels: [working],
      order: { side: 'sell', lots: 4 },
      position: 4,
      working: 0,
      target: 0,
    });
  });

  it('a cancel cancels every order but its own, an order (d, v) is placed as it is', () => {
    const active = [order('1', 'buy', 2), order('2', 'sell', 1, OWN)];
    expect(
      planSignal({ intent: { kind: 'cancel' }, options: MARKET }, { position: 0, activeOrders: active }, OWN),
    ).toEqual({ cancels: [active[0]] });
    expect(
      planSignal(
        { intent: { kind: 'order', side: 'sell', lots: 7 }, options: { ...MARKET, cancelFirst: true } },
        { position: 0, activeOrders: active },
        OWN,
      ),
    ).toEqual({ cancels: [active[0]], order: { side: 'sell', lots: 7 } });
  });

  it('always lands the position, with what still works counted, on the target (property)', () => {
    const active = fc.array(
      fc.record({ side: fc.constantFrom('buy' as const, 'sell' as const), lots: fc.integer({ min: 1, max: 1000 }) }),
      { maxLength: 5 },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: -10_000, max: 10_000 }),
        fc.integer({ min: -10_000, max: 10_000 }),
        active,
        fc.boolean(),
        (held, target, orders, cancelFirst) => {
          const activeOrders = orders.map((o, index) =>
            order(String(index), o.side, o.lots, index === 0 ? OWN : undefined),
          );
          const plan = planSignal(position(target, cancelFirst), { position: held, activeOrders }, OWN);
          const cancelled = new Set(plan.cancels.map((o) => o.id));
          const stillWorking = activeOrders.filter((o) => !cancelled.has(o.id));
          const signed = (o: { side: string; lots: number }) => (o.side === 'buy' ? o.lots : -o.lots);
          const after =
            held + stillWorking.reduce((sum, o) => sum + signed(o), 0) + (plan.order ? signed(plan.order) : 0);
          expect(after).toBe(target);
          expect(plan.order === undefined || plan.order.lots > 0).toBe(true);
          expect(plan.cancels.some((o) => o.requestId === OWN)).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('targetLots and positionLots', () => {
  it('counts shares in whole lots, and refuses what is not', () => {
    expect(targetLots({ kind: 'position', target: -30, unit: 'shares' }, 10)).toBe(-3);
    expect(targetLots({ kind: 'position', target: 7, unit: 'lots' }, 10)).toBe(7);
    expect(() => targetLots({ kind: 'position', target: 25, unit: 'shares' }, 10)).toThrow(
      new SignalRefusedError('not-whole-lots', 'pos 25 шт. не делится на лот 10 шт.'),
    );
    expect(positionLots(-20, 10)).toBe(-2);
    expect(() => positionLots(25, 10)).toThrow('Позиция на счёте не кратна лоту: 25 шт. при лоте 10 шт.');
  });
});

describe('stateNeeds', () => {
  it.each([
    [position(1), { position: true, orders: true }],
    [
      { intent: { kind: 'close' }, options: { ...MARKET, cancelFirst: true } },
      { position: true, orders: true },
    ],
    [
      { intent: { kind: 'cancel' }, options: MARKET },
      { position: false, orders: true },
    ],
    [
      { intent: { kind: 'order', side: 'buy', lots: 1 }, options: MARKET },
      { position: false, orders: false },
    ],
    [
      { intent: { kind: 'order', side: 'buy', lots: 1 }, options: { ...MARKET, cancelFirst: true } },
      { position: false, orders: true },
    ],
  ] as const)('reads only what the plan uses: %#', (signal, needs) => {
    expect(stateNeeds(signal as Planned)).toEqual(needs);
  });
});
