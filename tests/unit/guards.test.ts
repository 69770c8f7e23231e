import { describe, expect, it } from 'vitest';
import { loadAlorConfig } from '#shared/brokers/alor/config.ts';
import { type GuardFacts, guardNeeds, guardRefusal, isExit, readsNothing } from '#shared/brokers/guards.ts';
import { capToBroker, type LotQuote, sizeToLots } from '#shared/brokers/sizing.ts';
import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { ConfigError } from '#shared/config-error.ts';
import { moscowDay } from '#shared/lock/order-counter.ts';
import { parseSignal, type Signal } from '#shared/signal.ts';
import * as z from '#shared/zod.ts';

/**
 * docs/contract.md#sizing and docs/contract.md#guards, pure: the lots a size makes, the guards' decisions and their
 * order, the keys' rules and the settings. The same through the functions and the paper brokers:
 * tests/integration/sizing.test.ts and tests/integration/guards.test.ts.
 */

const quote = (lot: number, price: number, maxLots = { buy: 1e9, sell: 1e9 }): LotQuote => ({
  lot,
  price,
  lotValue: lot * price,
  maxLots,
});

describe('sizeToLots', () => {
  it.each([
    // lot 1, 10 and 100: rub, pct, risk (a price stop and a percentage stop), rounded down
    [{ unit: 'rub', amount: 10_000 }, quote(1, 250), undefined, undefined, 40],
    [{ unit: 'rub', amount: 10_000 }, quote(10, 250), undefined, undefined, 4],
    [{ unit: 'rub', amount: 10_000 }, quote(100, 3.5), undefined, undefined, 28],
    [{ unit: 'pct', amount: 5 }, quote(10, 250), 1_000_000, undefined, 20],
    [{ unit: 'pct', amount: 0.1 }, quote(100, 3.5), 1_000_000, undefined, 2],
    [{ unit: 'risk', amount: 1 }, quote(10, 250), 1_000_000, { kind: 'price', value: '245' }, 200],
    [{ unit: 'risk', amount: 1 }, quote(1, 250), 1_000_000, { kind: 'percent', value: '2' }, 2000],
    // 0.3 / 0.1 is 2.9999999999999996 in doubles: still 3 lots
    [{ unit: 'rub', amount: 0.3 }, quote(1, 0.1), undefined, undefined, 3],
  ] as const)('%j of %j (portfolio %s, sl %j) is %i lots', (size, lotQuote, portfolio, stop, lots) => {
    expect(sizeToLots(size, lotQuote, true, portfolio, stop).lots).toBe(lots);
  });

  it('refuses a size below one lot with the numbers it came from', () => {
    expect(() => sizeToLots({ unit: 'rub', amount: 1000 }, quote(10, 250), true, undefined, undefined)).toThrow(
      'Размер заявки 0 лотов: 1 000 ₽ меньше цены лота 2 500 ₽ (250 × 10 шт.)',
    );
    expect(() =>
      sizeToLots({ unit: 'risk', amount: 0.01 }, quote(10, 250), true, 100_000, { kind: 'price', value: '200' }),
    ).toThrow(
      'Размер заявки 0 лотов: риск 0.01% портфеля 100 000 ₽ = 10 ₽ меньше убытка одного лота до sl 500 ₽ (лот 2 500 ₽ (250 × 10 шт.))',
    );
  });

  it('refuses a stop on the wrong side of the entry, for a buy and for a sell', () => {
    expect(() =>
      sizeToLots({ unit: 'risk', amount: 1 }, quote(10, 250), true, 1e6, { kind: 'price', value: '250' }),
    ).toThrow('sl 250 не защищает покупку: вход по 250');
    expect(() =>
      sizeToLots({ unit: 'risk', amount: 1 }, quote(10, 250), false, 1e6, { kind: 'price', value: '240' }),
    ).toThrow('sl 240 не защищает продажу: вход по 250');
  });

  it("caps an order by the broker's lots for its side, and refuses when none are left", () => {
    expect(capToBroker(40, 'buy', quote(10, 250, { buy: 12, sell: 0 }))).toBe(12);
    expect(capToBroker(4, 'buy', quote(10, 250, { buy: 12.9, sell: 0 }))).toBe(4);
    expect(() => capToBroker(4, 'sell', quote(10, 250, { buy: 12, sell: 0 }))).toThrow(
      'Размер заявки 0 лотов: брокер разрешает продать 0 лотов без плеча (по расчёту 4)',
    );
  });
});

describe('guardRefusal', () => {
  const config = loadAlorConfig({
    MAX_LOTS_PER_ORDER: '100',
    MAX_ORDER_RUB: '50000',
    MAX_POSITION_LOTS: '10',
    DAILY_LOSS_LIMIT: '5000',
    CHECK_TRADING_STATUS: 'true',
  }).guards;
  const order = { side: 'buy' as const, lots: 5, type: 'limit' as const };
  const NOW = 1_800_000_000_000;
  const trading = { status: 'NORMAL', takes: { limit: true, market: true, best: true } };

  it('lets an entry through that breaks no guard', () => {
    const facts = {
      now: NOW,
      status: trading,
      portfolio: { value: 1e6, dailyResult: -4999 },
      quote: quote(10, 250),
      exposure: 5,
    };
    expect(guardRefusal(config, {}, order, facts)).toBeUndefined();
  });

  it.each<[string, Omit<GuardFacts, 'now'>, Pick<Signal, 'time'>]>([
    ['kill-switch', { killSwitchOn: true }, {}],
    ['stale-signal', {}, { time: { at: NOW - 61_000 } }],
    ['not-trading', { status: { status: 'SESSION_CLOSE', takes: { limit: false, market: false, best: false } } }, {}],
    ['daily-loss', { portfolio: { value: 1e6, dailyResult: -5000 } }, {}],
    ['order-limit', { quote: quote(10, 1001) }, {}],
    ['position-limit', { exposure: 6 }, {}],
  ])('refuses with %s', (row, facts, signal) => {
    expect(guardRefusal(config, signal, order, { now: NOW, ...facts })?.row).toBe(row);
  });

  it("decides in the contract's order: the kill switch before anything else", () => {
    const facts = { now: NOW, killSwitchOn: true, exposure: 100, portfolio: { value: 1, dailyResult: -1e6 } };
    expect(guardRefusal(config, { time: { at: 0 } }, { ...order, lots: 1000 }, facts)?.row).toBe('kill-switch');
  });

  it('tells an exit: an order that only takes lots off the position, never past flat', () => {
    expect(isExit({ side: 'sell', lots: 3 }, 3)).toBe(true);
    expect(isExit({ side: 'sell', lots: 4 }, 3)).toBe(false);
    expect(isExit({ side: 'buy', lots: 2 }, -3)).toBe(true);
    expect(isExit({ side: 'buy', lots: 1 }, 0)).toBe(false);
    expect(isExit({ side: 'sell', lots: 1 }, 0)).toBe(false);
  });

  it("reads nothing for a signal in lots on a deployment with no guard set (today's requests)", () => {
    const none = loadAlorConfig({}).guards;
    const order = { intent: { kind: 'order', side: 'buy', lots: 1 } } as const;
    expect(readsNothing(guardNeeds(none, order))).toBe(true);
    expect(guardNeeds(none, { ...order, size: { unit: 'pct', amount: 5 } })).toMatchObject({
      quote: true,
      portfolio: true,
    });
  });
});

describe('the day of the order count', () => {
  it('is the Moscow date, and the count outlives it by a day', () => {
    // 21:30 UTC on 1 December is 00:30 on 2 December in Moscow.
    const late = Date.UTC(2026, 11, 1, 21, 30);
    expect(moscowDay(late)).toEqual({ day: '2026-12-02', expiresAt: Date.UTC(2026, 11, 3, 21, 0) / 1000 });
    expect(moscowDay(Date.UTC(2026, 11, 1, 20, 59)).day).toBe('2026-12-01');
  });
});

describe('the v2 keys of sizing and time', () => {
  const parse = (body: Record<string, unknown>) => parseSignal({ ver: 2, t: 'MOEX:SBER', ...body }, z.object({}));

  it("reads vt with v and pos, the protection's sl for risk, ts and ttl", () => {
    const result = parse({ d: 'buy', v: '0.5', vt: 'risk', sl: '2%', p: 250, ts: '2026-12-01T10:00:00Z', ttl: 30 });
    expect(result).toMatchObject({
      success: true,
      signal: {
        intent: { kind: 'order', side: 'buy', lots: 0 },
        size: { unit: 'risk', amount: 0.5 },
        options: { protection: { sl: { kind: 'percent', value: '2' } } },
        time: { at: Date.UTC(2026, 11, 1, 10), ttlMs: 30_000 },
      },
    });
    expect(parse({ pos: '-10000.50', vt: 'rub', o: 'market' })).toMatchObject({
      signal: { intent: { kind: 'position', target: 0 }, size: { unit: 'rub', amount: -10000.5 } },
    });
    expect(parse({ d: 'buy', v: 1, p: 250, ts: 1_796_119_200 })).toMatchObject({
      signal: { time: { at: 1_796_119_200_000 } },
    });
  });

  it.each([
    [{ d: 'buy', v: 1, vt: 'risk', p: 250 }, 'sl: required with vt: risk'],
    [{ pos: 30, pu: 'shares', vt: 'rub', o: 'market' }, 'pu: only with vt: lots'],
    [{ d: 'buy', v: 101, vt: 'pct', p: 250 }, 'v: at most 100 with vt: pct'],
    [{ d: 'buy', v: 1.5, p: 250 }, 'v: must be a whole number from 1 to 2147483647'],
    [{ d: 'buy', v: 1, p: 250, ttl: 30 }, 'ttl: only with ts'],
    [{ x: 'close', vt: 'rub' }, 'vt: not with x'],
    [
      { d: 'buy', v: 1, p: 250, ts: '2026-12-01 10:00' },
      'ts: must be an ISO 8601 time with its zone, or epoch milliseconds',
    ],
    [
      { d: 'buy', v: 1, p: 250, sl: '120%', vt: 'risk' },
      'sl: must be a price above zero, or "N%" with N above 0 and below 100',
    ],
  ])('refuses %j: %s', (body, issue) => {
    const result = parse(body);
    expect(result.success).toBe(false);
    if (!result.success) expect(result.problem.issues).toContain(issue);
  });
});

describe('the guard settings', () => {
  it.each([
    [{ MAX_LOTS_PER_ORDER: '0' }, 'MAX_LOTS_PER_ORDER'],
    [{ DAILY_LOSS_LIMIT: '-5' }, 'DAILY_LOSS_LIMIT: must be roubles (5000) or a percentage below 100 (2%)'],
    [{ KILL_SWITCH: 'maybe' }, 'KILL_SWITCH: must be on or off'],
    [{ KILL_SWITCH_TTL_SECONDS: '0' }, 'KILL_SWITCH_TTL_SECONDS'],
    [{ MAX_ORDERS_PER_DAY: '5001' }, 'MAX_ORDERS_PER_DAY'],
  ])('refuses %j, naming the variable', (env, named) => {
    expect(() => loadAlorConfig(env)).toThrow(ConfigError);
    expect(() => loadAlorConfig(env)).toThrow(named);
  });

  it('refuses a guard that reads the broker on T-Invest API v1, which has nothing to read', () => {
    expect(() => loadTinkoffConfig({ TINKOFF_API: 'v1', DAILY_LOSS_LIMIT: '2%' })).toThrow(
      'CHECK_TRADING_STATUS, MAX_POSITION_LOTS, MAX_ORDER_RUB and DAILY_LOSS_LIMIT need TINKOFF_API=v2',
    );
    expect(loadTinkoffConfig({ TINKOFF_API: 'v1', KILL_SWITCH: 'off', MAX_ORDERS_PER_DAY: '10' }).guards).toMatchObject(
      {
        killSwitch: { kind: 'process' },
        maxOrdersPerDay: 10,
      },
    );
  });

  it('reads the kill switch from SSM when its parameter is set, else from KILL_SWITCH of the process', () => {
    expect(
      loadAlorConfig({ KILL_SWITCH_PARAMETER: '/p/kill-switch', KILL_SWITCH_TTL_SECONDS: '2' }).guards.killSwitch,
    ).toEqual({
      kind: 'parameter',
      name: '/p/kill-switch',
      ttlMs: 2000,
    });
    expect(loadAlorConfig({ KILL_SWITCH: 'off' }).guards.killSwitch).toEqual({ kind: 'process' });
    expect(loadAlorConfig({}).guards.killSwitch).toBeUndefined();
  });
});
