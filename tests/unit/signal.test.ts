import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALOR_SIGNAL_SUPPORT } from '#shared/brokers/alor/mapping.ts';
import { TINKOFF_SIGNAL_SUPPORT } from '#shared/brokers/tinkoff/mapping.ts';
import {
  INTENT_RULES,
  isVersionedBody,
  ORDER_TYPES,
  parseSignal,
  SIGNAL_KEYS,
  type Signal,
  type SignalParse,
  signalCapabilities,
  TIMES_IN_FORCE,
  UNSUPPORTED_VERSION_MESSAGE,
  unsupportedBy,
} from '#shared/signal.ts';
import * as z from '#shared/zod.ts';

/**
 * docs/contract.md#signals-ver-2: the v2 body's rules, in the contract's order (version, unknown keys, one intent,
 * fields), and what each broker refuses. Property-based where the rule is about any body.
 */

const NO_FIELDS = z.object({});
const parse = (body: Record<string, unknown>): SignalParse<unknown> => parseSignal(body, NO_FIELDS);

function signalOf(body: Record<string, unknown>): Signal {
  const result = parse(body);
  if (!result.success) throw new Error(`expected a signal, got ${JSON.stringify(result.problem)}`);
  return result.signal;
}

function problemOf(body: Record<string, unknown>) {
  const result = parse(body);
  if (result.success) throw new Error('expected a problem');
  return result.problem;
}

const BASE = { ver: 2, t: 'MOEX:SBER' };

describe('isVersionedBody', () => {
  it.each([
    [{ ver: 2 }, true],
    [{ ver: null }, true],
    [{ t: 'SBER', d: 'buy' }, false],
    [[{ ver: 2 }], false],
    ['{"ver":2}', false],
  ])('%j is a v2 body: %s', (body, expected) => {
    expect(isVersionedBody(body)).toBe(expected);
  });
});

describe('unsupported-version', () => {
  it.each([3, 1, '2', null, true, 2.5, { $numberInt: '2' }])(
    'refuses ver %j, naming the version this deployment reads',
    (ver) => {
      expect(problemOf({ ...BASE, ver, pos: 1, o: 'market' })).toEqual({
        row: 'unsupported-version',
        message: UNSUPPORTED_VERSION_MESSAGE,
        issues: ['ver: must be 2'],
      });
    },
  );

  it('judges the version before anything else', () => {
    expect(problemOf({ ver: 7, stoploss: 1, pos: 1, d: 'buy' }).row).toBe('unsupported-version');
  });
});

describe('unknown-key', () => {
  // `vt`, `ts` and `ttl` landed with sizing and the guards (docs/contract.md#sizing), `sl`, `tp`, `trail` with protection.
  it.each(['stoploss', 'takeprofit', 'qty', 'side', 'T'])(
    'refuses %s, which this deployment does not know, naming it',
    (key) => {
      expect(problemOf({ ...BASE, pos: 1, o: 'market', [key]: 1 })).toEqual({
        row: 'unknown-key',
        message: `Неизвестное поле сигнала: ${key}`,
        issues: [`${key}: unknown key`],
      });
    },
  );

  it('names a key only when it is a plain short name: anything else is counted, never quoted', () => {
    const hostile = '<b>x</b>';
    const long = `k${'x'.repeat(40)}`;
    expect(problemOf({ ...BASE, pos: 1, o: 'market', [hostile]: 1, [long]: 2 })).toEqual({
      row: 'unknown-key',
      message: 'Неизвестное поле сигнала',
      issues: ['body: 2 more unknown key(s), not plain names'],
    });
  });

  it('names the first plain key in the answer and at most 8 in the issues', () => {
    const keys = Object.fromEntries(Array.from({ length: 12 }, (_, index) => [`k${index}`, index]));
    const problem = problemOf({ ...BASE, pos: 1, o: 'market', ...keys });
    expect(problem.message).toBe('Неизвестное поле сигнала: k0');
    expect(problem.issues).toHaveLength(9);
    expect(problem.issues.at(-1)).toBe('body: 4 more unknown key(s), not plain names');
  });

  it('refuses any key outside the list, and quotes no key that is not a plain name (property)', () => {
    const known: readonly string[] = SIGNAL_KEYS;
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }).filter((key) => !known.includes(key)),
        (key) => {
          const problem = problemOf({ ...BASE, pos: 1, o: 'market', [key]: 1 });
          expect(problem.row).toBe('unknown-key');
          const plain = /^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(key);
          expect(problem.message).toBe(plain ? `Неизвестное поле сигнала: ${key}` : 'Неизвестное поле сигнала');
          if (!plain) expect(problem.issues.join('\n')).not.toContain(key);
          expect(problem.message.length).toBeLessThanOrEqual(60);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('mixed-intents', () => {
  it.each([
    [{ pos: 1, d: 'buy' }, INTENT_RULES.positionWithOrder],
    [{ pos: 1, v: 1 }, INTENT_RULES.positionWithOrder],
    [{ pos: 1, d: 'buy', v: 1, p: 1 }, INTENT_RULES.positionWithOrder],
    [{ x: 'close', d: 'buy', v: 1 }, INTENT_RULES.exitWithOther],
    [{ x: 'cancel', pos: 0 }, INTENT_RULES.exitWithOther],
    [{ x: 'close', v: 1 }, INTENT_RULES.exitWithOther],
  ])('refuses %j, naming the rule', (fields, rule) => {
    expect(problemOf({ ...BASE, ...fields })).toEqual({
      row: 'mixed-intents',
      message: `Сигнал смешивает намерения: ${rule}`,
      issues: [`body: ${rule}`],
    });
  });

  it('refuses every body with more than one intent, whatever their values (property)', () => {
    const intents = fc.subarray(['order', 'position', 'exit'] as const, { minLength: 2 });
    const value = fc.oneof(fc.constant(1), fc.constant('buy'), fc.constant('close'), fc.constant(null));
    fc.assert(
      fc.property(intents, value, (chosen, anyValue) => {
        const body: Record<string, unknown> = { ...BASE };
        if (chosen.includes('order')) Object.assign(body, { d: anyValue });
        if (chosen.includes('position')) Object.assign(body, { pos: anyValue });
        if (chosen.includes('exit')) Object.assign(body, { x: anyValue });
        expect(problemOf(body).row).toBe('mixed-intents');
      }),
    );
  });
});

describe('intents and options', () => {
  it('reads d and v as an order, a limit by default', () => {
    expect(signalOf({ ...BASE, d: 'Buy', v: '2', p: '250.5' })).toMatchObject({
      ticker: 'SBER',
      exchange: 'MOEX',
      intent: { kind: 'order', side: 'buy', lots: 2 },
      options: { type: 'limit', price: '250.5', cancelFirst: false },
    });
  });

  it.each([
    [3, 3],
    [-2, -2],
    ['3', 3],
    ['-3.0', -3],
    ['+4', 4],
    [0, 0],
    [-0, 0],
    ['-0', 0],
  ])('reads pos %j as a target of %d lots', (pos, target) => {
    expect(signalOf({ ...BASE, pos, o: 'market' }).intent).toEqual({ kind: 'position', target, unit: 'lots' });
  });

  it('reads pu: shares', () => {
    expect(signalOf({ ...BASE, pos: -30, pu: 'shares', o: 'market' }).intent).toEqual({
      kind: 'position',
      target: -30,
      unit: 'shares',
    });
  });

  it.each([
    [{ x: 'close' }, { kind: 'close' }, { type: 'market', cancelFirst: true }],
    [{ x: 'cancel' }, { kind: 'cancel' }, { type: 'market', cancelFirst: false }],
  ])('reads %j as an exit', (fields, intent, options) => {
    const signal = signalOf({ ...BASE, ...fields });
    expect(signal.intent).toEqual(intent);
    expect(signal.options).toEqual(options);
  });

  it('reads cancel, o, tif and id', () => {
    expect(signalOf({ ...BASE, pos: 1, o: 'best', tif: 'ioc', cancel: true, id: 'abc' })).toMatchObject({
      options: { type: 'best', timeInForce: 'ioc', cancelFirst: true },
      idempotencyKey: 'abc',
    });
  });

  it.each([
    [{ pos: 1 }, ['p: required with o: limit']],
    [{ pos: 1, o: 'market', p: 1 }, ['p: only with o: limit']],
    [{ d: 'buy', v: 1, o: 'best', p: 1 }, ['p: only with o: limit']],
    [{ d: 'buy', v: 1, p: 1, pu: 'shares' }, ['pu: only with pos']],
    [{ x: 'close', o: 'market', tif: 'day', cancel: true }, ['o: not with x', 'tif: not with x', 'cancel: not with x']],
    [{ d: 'buy', p: 1 }, ['v: required with d']],
    [{ v: 1, p: 1 }, ['d: required with v']],
    [{ p: 1 }, ['body: one intent is required: d and v, pos, or x']],
  ])('refuses %j as bad-payload naming the rule', (fields, issues) => {
    expect(problemOf({ ...BASE, ...fields })).toEqual({
      row: 'bad-payload',
      message: 'Некорректные данные в заявке',
      issues,
    });
  });

  it.each([
    ['pos 1.5', { pos: 1.5, o: 'market' }, 'pos: must be a whole number'],
    ['pos "abc"', { pos: 'abc', o: 'market' }, 'pos: must be a whole number'],
    ['pos beyond int32', { pos: 2_147_483_648, o: 'market' }, 'pos: must be a whole number'],
    ['x "reverse"', { x: 'reverse' }, 'x: '],
    ['o "stop"', { pos: 1, o: 'stop' }, 'o: '],
    ['tif "GTC"', { pos: 1, o: 'market', tif: 'GTC' }, 'tif: '],
    ['cancel "true"', { pos: 1, o: 'market', cancel: 'true' }, 'cancel: '],
    ['t missing', { t: undefined, pos: 1, o: 'market' }, 't: '],
    ['v 0', { d: 'buy', v: 0, p: 1 }, 'v: '],
  ])('refuses %s as bad-payload, naming the field, never its value', (_case, fields, issue) => {
    const problem = problemOf({ ...BASE, ...fields });
    expect(problem.row).toBe('bad-payload');
    expect(problem.issues.join('\n')).toContain(issue);
    expect(problem.issues.join('\n')).not.toContain('reverse');
  });

  it('reads every well-formed body to the intent it says (property)', () => {
    const options = fc.record({
      o: fc.constantFrom(...ORDER_TYPES),
      tif: fc.option(fc.constantFrom(...TIMES_IN_FORCE), { nil: undefined }),
      cancel: fc.option(fc.boolean(), { nil: undefined }),
      price: fc.integer({ min: 1, max: 10_000_000 }).map((cents) => cents / 100),
    });
    const intent = fc.oneof(
      fc.record({ kind: fc.constant('position' as const), pos: fc.integer({ min: -1_000_000, max: 1_000_000 }) }),
      fc.record({
        kind: fc.constant('order' as const),
        d: fc.constantFrom('buy', 'sell'),
        v: fc.integer({ min: 1, max: 1_000_000 }),
      }),
      fc.record({ kind: fc.constant('exit' as const), x: fc.constantFrom('close' as const, 'cancel' as const) }),
    );
    fc.assert(
      fc.property(intent, options, fc.boolean(), (chosen, option, asText) => {
        const text = (value: number) => (asText ? String(value) : value);
        const orderOptions = {
          o: option.o,
          ...(option.o === 'limit' ? { p: option.price } : {}),
          ...(option.tif === undefined ? {} : { tif: option.tif }),
          ...(option.cancel === undefined ? {} : { cancel: option.cancel }),
        };
        const body =
          chosen.kind === 'exit'
            ? { ...BASE, x: chosen.x }
            : chosen.kind === 'position'
              ? { ...BASE, pos: text(chosen.pos), ...orderOptions }
              : { ...BASE, d: chosen.d, v: text(chosen.v), ...orderOptions };
        const signal = signalOf(body);
        if (chosen.kind === 'exit') {
          expect(signal.intent).toEqual({ kind: chosen.x });
          return;
        }
        expect(signal.intent).toEqual(
          chosen.kind === 'position'
            ? { kind: 'position', target: chosen.pos, unit: 'lots' }
            : { kind: 'order', side: chosen.d, lots: chosen.v },
        );
        expect(signal.options).toEqual({
          type: option.o,
          price: option.o === 'limit' ? String(option.price) : undefined,
          timeInForce: option.tif,
          cancelFirst: option.cancel === true,
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws, and answers in a bounded text, on any object with ver 2 (property)', () => {
    const keys = fc.constantFrom(...SIGNAL_KEYS, 'sl', 'junk');
    fc.assert(
      fc.property(fc.dictionary(keys, fc.jsonValue({ maxDepth: 2 })), (body) => {
        const result = parse({ ...body, ver: 2 });
        if (!result.success) {
          expect(result.problem.message.length).toBeLessThanOrEqual(100);
          expect(result.problem.issues.length).toBeLessThanOrEqual(9);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('not-supported', () => {
  const at = (fields: Record<string, unknown>) => signalOf({ ...BASE, ...fields });

  it.each([
    ['Alor', ALOR_SIGNAL_SUPPORT, { pos: 1, o: 'best' }, 'MOEX', 'Alor не поддерживает o: best'],
    ['T-Invest', TINKOFF_SIGNAL_SUPPORT, { pos: 1, p: 1, tif: 'gtc' }, 'MOEX', 'T-Invest не поддерживает tif: gtc'],
    [
      'T-Invest',
      TINKOFF_SIGNAL_SUPPORT,
      { pos: 1, o: 'market', tif: 'ioc' },
      'MOEX',
      'T-Invest не принимает tif: ioc для o: market',
    ],
    [
      'T-Invest',
      TINKOFF_SIGNAL_SUPPORT,
      { d: 'buy', v: 1, o: 'best', tif: 'day' },
      'MOEX',
      'T-Invest не принимает tif: day для o: best',
    ],
    ['Alor', ALOR_SIGNAL_SUPPORT, { x: 'cancel' }, 'SPBX', 'Alor не снимает заявки на SPBX через API'],
    ['Alor', ALOR_SIGNAL_SUPPORT, { x: 'close' }, 'SPBX', 'Alor не снимает заявки на SPBX через API'],
    [
      'Alor',
      ALOR_SIGNAL_SUPPORT,
      { pos: 1, o: 'market', cancel: true },
      'SPBX',
      'Alor не снимает заявки на SPBX через API',
    ],
  ] as const)('%s refuses %j on %s', (_broker, support, fields, exchange, text) => {
    expect(unsupportedBy(support, at(fields), exchange)).toBe(text);
  });

  it.each([
    [ALOR_SIGNAL_SUPPORT, { pos: 1, o: 'market', tif: 'gtc' }, 'MOEX'],
    [ALOR_SIGNAL_SUPPORT, { pos: 1, o: 'market' }, 'SPBX'],
    [ALOR_SIGNAL_SUPPORT, { x: 'close' }, 'MOEX'],
    [TINKOFF_SIGNAL_SUPPORT, { pos: 1, o: 'best' }, 'MOEX'],
    [TINKOFF_SIGNAL_SUPPORT, { pos: 1, p: 1, tif: 'fok' }, 'MOEX'],
    [TINKOFF_SIGNAL_SUPPORT, { x: 'cancel' }, 'SPBX'],
  ] as const)('accepts what the broker offers: %#', (support, fields, exchange) => {
    expect(unsupportedBy(support, at(fields), exchange)).toBeUndefined();
  });
});

describe('signalCapabilities', () => {
  it('lists the version, the keys, the intents, what the broker offers, the sizing modes and the guards in force', () => {
    const guards = {
      killSwitch: { kind: 'process' as const },
      signalMaxAgeMs: 60_000,
      checkTradingStatus: true,
      maxLotsPerOrder: 1_000_000,
      maxOrdersPerDay: 20,
      dailyLossLimit: { unit: 'pct' as const, amount: 2 },
    };
    expect(signalCapabilities(TINKOFF_SIGNAL_SUPPORT, 'tinkoff', false, guards)).toEqual({
      broker: 'tinkoff',
      versions: [2],
      keys: [...SIGNAL_KEYS],
      intents: ['order', 'position', 'close', 'cancel'],
      o: ['limit', 'market', 'best'],
      tif: { limit: ['day', 'ioc', 'fok'], market: [], best: [] },
      pu: ['lots', 'shares'],
      cancel: { exchanges: ['MOEX', 'SPBX'] },
      protection: ['sl', 'tp', 'trail'],
      sizing: { vt: ['lots', 'rub', 'pct', 'risk'], cap: 'no-margin' },
      guards: {
        killSwitch: true,
        signalMaxAgeSeconds: 60,
        tradingStatus: true,
        maxLotsPerOrder: 1_000_000,
        maxPositionLots: null,
        maxOrderRub: null,
        maxOrdersPerDay: 20,
        dailyLossLimit: '2%',
      },
      dryRun: false,
    });
  });

  it('says a function without v2 signals reads no version', () => {
    expect(signalCapabilities(undefined, 'tinkoff', true)).toEqual({ broker: 'tinkoff', versions: [], dryRun: true });
  });
});
