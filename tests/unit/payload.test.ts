import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { separateBodySecret } from '#shared/auth/body-secret.ts';
import { type AlorOrder, AlorOrderSchema } from '#shared/brokers/alor/order.ts';
import { TinkoffFigiOrderSchema, type TinkoffOrder, TinkoffOrderSchema } from '#shared/brokers/tinkoff/order.ts';
import { SIGNAL_EXCHANGES } from '#shared/facts.ts';
import {
  decodeJsonBody,
  MAX_BODY_BYTES,
  MAX_LOTS,
  type ParsedBody,
  type ParseResult,
  parseDecodedBody,
  parseWebhookBody,
} from '#shared/http/inbound/payload.ts';

const FIGI = 'BBG000B9XRY4';
const VALID = { t: 'SBER', p: '250.5', v: 3, d: 'buy' };

function bytes(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

function alor(body: unknown): ParseResult<ParsedBody<AlorOrder>> {
  return parseWebhookBody(bytes(typeof body === 'string' ? body : JSON.stringify(body)), AlorOrderSchema);
}

function tinkoff(body: unknown): ParseResult<ParsedBody<TinkoffOrder>> {
  return parseWebhookBody(bytes(typeof body === 'string' ? body : JSON.stringify(body)), TinkoffOrderSchema);
}

/** The order of a parse that must have succeeded; fails the test otherwise. */
function orderOf<T>(result: ParseResult<ParsedBody<T>>): T {
  expect(result.success).toBe(true);
  if (!result.success || result.data.kind !== 'order') throw new Error('expected an order');
  return result.data.order;
}

function issuesOf(result: ParseResult<unknown>): string[] {
  expect(result.success).toBe(false);
  return result.success ? [] : result.issues;
}

describe('decodeJsonBody', () => {
  it('parses a UTF-8 JSON body', () => {
    expect(decodeJsonBody(bytes('{"t":"SBER","n":[1,2]}'))).toEqual({ success: true, data: { t: 'SBER', n: [1, 2] } });
  });

  it('ignores a UTF-8 byte order mark', () => {
    expect(decodeJsonBody(bytes('\ufeff{"check":true}'))).toEqual({ success: true, data: { check: true } });
  });

  it('refuses an empty body', () => {
    expect(decodeJsonBody(new Uint8Array())).toEqual({ success: false, issues: ['body: empty'] });
  });

  it.each(['t=SBER&p=1', '{"t":"SBER",}', "{'t':'SBER'}", '   ', 'undefined', '{"t":"SBER"'])(
    'refuses %j as not JSON',
    (text) => {
      expect(decodeJsonBody(bytes(text))).toEqual({ success: false, issues: ['body: not JSON'] });
    },
  );

  it.each([
    ['a lone continuation byte', [0x7b, 0x80, 0x7d]],
    ['an invalid lead byte', [0xff, 0xfe]],
    ['a truncated sequence', [0x22, 0xd0, 0x22]],
    ['an overlong encoding of "/"', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
  ])('refuses a body that is not UTF-8: %s', (_case, raw) => {
    expect(decodeJsonBody(Uint8Array.from(raw))).toEqual({ success: false, issues: ['body: not UTF-8'] });
  });

  it('refuses a body holding U+FFFD, the mark API Gateway leaves of bytes that were not UTF-8 in a text body', () => {
    const body = '{"t":"SBER","p":1,"v":1,"d":"buy","note":"\uFFFD"}';

    expect(decodeJsonBody(bytes(body))).toEqual({ success: false, issues: ['body: not UTF-8'] });
  });

  it('accepts the JSON escape \\ufffd: it is text the caller wrote, not a replaced byte', () => {
    expect(decodeJsonBody(bytes('{"note":"\\ufffd"}'))).toEqual({ success: true, data: { note: '\uFFFD' } });
  });

  it('accepts a body of exactly 16 KiB and refuses one byte more', () => {
    const exactly = `{"t":"${'x'.repeat(MAX_BODY_BYTES - 8)}"}`;
    expect(Buffer.byteLength(exactly)).toBe(16 * 1024);

    expect(decodeJsonBody(bytes(exactly)).success).toBe(true);
    expect(decodeJsonBody(bytes(`${exactly} `))).toEqual({ success: false, issues: ['body: larger than 16 KiB'] });
  });

  it('counts the limit in bytes, not characters', () => {
    const cyrillic = `"${'ж'.repeat(8200)}"`; // 8202 characters, 16402 bytes

    expect(decodeJsonBody(bytes(cyrillic))).toEqual({ success: false, issues: ['body: larger than 16 KiB'] });
  });

  it('accepts nesting 16 deep and refuses 17', () => {
    const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

    expect(decodeJsonBody(bytes(nested(16))).success).toBe(true);
    expect(decodeJsonBody(bytes(nested(17)))).toEqual({ success: false, issues: ['body: nested too deeply'] });
    expect(decodeJsonBody(bytes(`${'{"a":'.repeat(17)}1${'}'.repeat(17)}`))).toEqual({
      success: false,
      issues: ['body: nested too deeply'],
    });
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ t: `\\"${'['.repeat(40)}`, u: '{{{{{{{{{{{{{{{{{{{{' });

    expect(decodeJsonBody(bytes(text)).success).toBe(true);
  });

  it('refuses a body far deeper than the limit without a stack overflow', () => {
    const deep = '['.repeat(MAX_BODY_BYTES);

    expect(decodeJsonBody(bytes(deep))).toEqual({ success: false, issues: ['body: nested too deeply'] });
  });

  it.each([
    ['__proto__ at the top', '{"t":"SBER","__proto__":{"admin":true}}', '__proto__'],
    ['constructor at the top', '{"t":"SBER","constructor":{"name":"x"}}', 'constructor'],
    ['constructor nested', '{"t":"SBER","x":{"y":{"constructor":1}}}', 'constructor'],
    ['__proto__ inside an array', '[1,{"__proto__":null}]', '__proto__'],
    ['prototype in a wrapper', '{"p":{"prototype":"1"}}', 'prototype'],
    ['__proto__ in a check', '{"check":true,"__proto__":{"check":false}}', '__proto__'],
  ])('refuses a prototype key: %s', (_case, text, key) => {
    expect(decodeJsonBody(bytes(text))).toEqual({ success: false, issues: [`body: forbidden key ${key}`] });
  });

  it.each([
    ['the side twice, the last one a sell', '{"t":"AAPL","p":1,"v":1,"d":"buy","d":"sell"}'],
    ['the ticker twice', '{"t":"AAPL","t":"SBER","p":1,"v":1,"d":"buy"}'],
    ['the side spelled with an escape', '{"t":"AAPL","p":1,"v":1,"d":"buy","\\u0064":"sell"}'],
    ['both spellings escaped differently', '{"\\u0076":1,"\\u0056":2,"v":3}'],
    ['a key inside an EJSON wrapper', '{"p":{"$numberInt":"1","$numberInt":"2"}}'],
    ['a key inside an object inside an array', '[{"a":1},{"b":1,"b":1}]'],
    ['check twice', '{"check":true,"check":false}'],
    ['a key after a nested object', '{"v":1,"x":{"v":1},"v":2}'],
    ['an empty key twice', '{"":1,"":2}'],
  ])('refuses a key repeated in one object: %s', (_case, text) => {
    expect(decodeJsonBody(bytes(text))).toEqual({ success: false, issues: ['body: repeated key'] });
  });

  it.each([
    ['the same key in sibling objects', '{"x":{"a":1},"y":{"a":1},"a":1}'],
    ['a key name as a string value', '{"t":"d","d":"buy","x":["d","d"]}'],
    ['keys that differ only in case', '{"d":"buy","D":"sell"}'],
    ['an escaped quote inside a key', '{"a\\"b":1,"a":2,"b":3}'],
  ])('accepts keys that are not repeated within one object: %s', (_case, text) => {
    expect(decodeJsonBody(bytes(text)).success).toBe(true);
  });

  it('leaves Object.prototype untouched by a __proto__ body', () => {
    decodeJsonBody(bytes('{"__proto__":{"polluted":true}}'));

    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('accepts those words as string values', () => {
    expect(decodeJsonBody(bytes('{"t":"__proto__","x":["constructor"]}')).success).toBe(true);
  });
});

describe('parseWebhookBody: check', () => {
  it('treats check: true as a health ping, whatever else the body holds', () => {
    expect(alor({ check: true })).toEqual({ success: true, data: { kind: 'check' } });
    expect(tinkoff({ check: true, t: '', v: 'abc' })).toEqual({ success: true, data: { kind: 'check' } });
  });

  it.each([
    ['"true"', { check: 'true' }],
    ['false', { check: false }],
    ['1', { check: 1 }],
    ['{$numberInt:"1"}', { check: { $numberInt: '1' } }],
  ])('does not treat check: %s as a ping, so the body is judged as an order', (_case, body) => {
    expect(alor(body).success).toBe(false);
    expect(orderOf(alor({ ...VALID, ...body }))).toMatchObject({ ticker: 'SBER' });
  });

  it('does not find check inside an array body', () => {
    expect(alor([{ check: true }]).success).toBe(false);
  });
});

describe('parseWebhookBody: the order fields', () => {
  it('maps a valid Alor order to the domain shape', () => {
    expect(alor({ t: 'BRK.B', p: 300.5, v: 2, d: 'Buy', f: 'ignored' })).toEqual({
      success: true,
      data: {
        kind: 'order',
        order: { ticker: 'BRK.B', price: '300.5', lots: 2, side: 'buy', idempotencyKey: undefined },
      },
    });
  });

  it('maps a valid Tinkoff order, FIGI included', () => {
    expect(orderOf(tinkoff({ ...VALID, f: FIGI, id: 'sig-1' }))).toEqual({
      ticker: 'SBER',
      price: '250.5',
      lots: 3,
      side: 'buy',
      figi: FIGI,
      idempotencyKey: 'sig-1',
    });
  });

  it('keeps the ticker as sent: the dot/space rewrite belongs to the broker mapping', () => {
    expect(orderOf(alor({ ...VALID, t: 'BRK.B' })).ticker).toBe('BRK.B');
    expect(orderOf(tinkoff({ ...VALID, t: 'BRK B', f: FIGI })).ticker).toBe('BRK B');
  });

  it.each(['buy', 'BUY', 'Buy', 'bUy', 'sell', 'SELL', 'Sell'])('accepts the side %j, lower-cased', (d) => {
    expect(orderOf(alor({ ...VALID, d })).side).toBe(d.toLowerCase());
  });

  it.each([['hold'], [''], [' buy'], ['buy '], ['b'], ['sell!'], [1], [true], [null], [['buy']]])(
    'refuses the side %j',
    (d) => {
      expect(issuesOf(alor({ ...VALID, d }))).toEqual([expect.stringMatching(/^d: /)]);
    },
  );

  it.each([
    ['"12.3"', '12.3', '12.3'],
    ['12.3', 12.3, '12.3'],
    ['"012.50"', '012.50', '12.5'],
    ['" 7 " (spaces)', ' 7 ', '7'],
    ['".5"', '.5', '0.5'],
    ['"5."', '5.', '5'],
    ['"1e-9"', '1e-9', '0.000000001'],
    ['1e-7', 1e-7, '0.0000001'],
    ['"1.5E+2"', '1.5E+2', '150'],
    ['$numberInt', { $numberInt: '5' }, '5'],
    ['$numberLong', { $numberLong: '123456789012' }, '123456789012'],
    ['$numberDouble', { $numberDouble: '1.5' }, '1.5'],
    ['$numberDecimal', { $numberDecimal: '12.30' }, '12.3'],
    ['the largest price', '999999999999', '999999999999'],
    ['15 significant digits', '123456.123456789', '123456.123456789'],
  ])('accepts the price %s as the decimal %j', (_case, p, expected) => {
    expect(orderOf(alor({ ...VALID, p })).price).toBe(expected);
  });

  it.each([
    ['0', 0],
    ['"0"', '0'],
    ['"0.000"', '0.000'],
    ['-0', '-0'],
    ['negative', -1],
    ['"-1"', '-1'],
    ['"+1"', '+1'],
    ['"abc"', 'abc'],
    ['""', ''],
    ['"NaN"', 'NaN'],
    ['"Infinity"', 'Infinity'],
    ['"1e309"', '1e309'],
    ['"0x10"', '0x10'],
    ['"1,5" (comma)', '1,5'],
    ['"1_000"', '1_000'],
    ['Arabic-Indic digit', '\u0661'],
    ['10 fraction digits', '1.0000000001'],
    ['13 integer digits', '1234567890123'],
    ['16 significant digits', '1234567.123456789'],
    ['a float sum with 17 digits', 0.1 + 0.2],
    ['1e-10 (below a nano)', '1e-10'],
    ['true', true],
    ['null', null],
    ['an array', [1]],
    ['an object', { value: 1 }],
    ['$numberDouble Infinity', { $numberDouble: 'Infinity' }],
    ['$numberDouble NaN', { $numberDouble: 'NaN' }],
    ['$numberDouble -1', { $numberDouble: '-1' }],
    ['$numberInt as a number', { $numberInt: 5 }],
    ['a wrapper with an extra key', { $numberInt: '5', x: 1 }],
    ['two wrappers in one', { $numberInt: '5', $numberLong: '5' }],
  ])('refuses the price %s', (_case, p) => {
    expect(issuesOf(alor({ ...VALID, p }))).toEqual([expect.stringMatching(/^p: /)]);
  });

  it('refuses a price that JSON itself reads as Infinity or -0', () => {
    expect(issuesOf(alor('{"t":"SBER","p":1e309,"v":1,"d":"buy"}'))).toEqual([expect.stringMatching(/^p: /)]);
    expect(issuesOf(alor('{"t":"SBER","p":-0,"v":1,"d":"buy"}'))).toEqual([expect.stringMatching(/^p: /)]);
    expect(issuesOf(alor('{"t":"SBER","p":-0.0,"v":1,"d":"buy"}'))).toEqual([expect.stringMatching(/^p: /)]);
  });

  it.each([
    ['1', 1, 1],
    ['"7"', '7', 7],
    ['"5.0"', '5.0', 5],
    ['"1e3"', '1e3', 1000],
    ['$numberInt', { $numberInt: '4' }, 4],
    ['$numberLong', { $numberLong: '40' }, 40],
    ['$numberDouble "2.0"', { $numberDouble: '2.0' }, 2],
    ['$numberDecimal', { $numberDecimal: '8' }, 8],
    ['the int32 maximum', MAX_LOTS, 2_147_483_647],
  ])('accepts the quantity %s as %i lots', (_case, v, expected) => {
    expect(orderOf(alor({ ...VALID, v })).lots).toBe(expected);
  });

  it.each([
    ['0', 0],
    ['-1', -1],
    ['"-1"', '-1'],
    ['1.5', 1.5],
    ['"1.5"', '1.5'],
    ['"abc"', 'abc'],
    ['""', ''],
    ['int32 max + 1', MAX_LOTS + 1],
    ['"1e20"', '1e20'],
    ['the smallest double', 5e-324],
    ['$numberInt "1.5"', { $numberInt: '1.5' }],
    ['$numberLong "0"', { $numberLong: '0' }],
    ['true', true],
    ['null', null],
    ['[1]', [1]],
  ])('refuses the quantity %s', (_case, v) => {
    expect(issuesOf(alor({ ...VALID, v }))).toEqual([expect.stringMatching(/^v: /)]);
  });

  it.each(['9007199254740993', '123456789012345678901234567890', '1e400'])(
    'refuses the quantity %s written as a raw JSON number',
    (v) => {
      expect(issuesOf(alor(`{"t":"SBER","p":1,"v":${v},"d":"buy"}`))).toEqual([expect.stringMatching(/^v: /)]);
    },
  );

  it.each([
    ['a plain ticker', 'SBER'],
    ['a class suffix with a dot', 'BRK.B'],
    ['a class suffix with a space', 'BRK B'],
    ['digits first', '3M'],
    ['50 characters', `A${'b'.repeat(49)}`],
    ['the allowed punctuation', 'A._@+-Z'],
  ])('accepts the ticker %s', (_case, t) => {
    expect(orderOf(alor({ ...VALID, t })).ticker).toBe(t);
  });

  // Policy: tickers of both exchanges are Latin; anything else could only be refused by the broker later.
  it.each([
    ['empty', ''],
    ['a leading space', ' SBER'],
    ['a leading dot', '.B'],
    ['51 characters', `A${'b'.repeat(50)}`],
    ['Cyrillic', 'СБЕР'],
    ['an emoji', 'SBER🚀'],
    ['a full-width letter', 'ＳＢＥＲ'],
    ['a newline', 'SBER\nX'],
    ['a slash', 'SBER/X'],
    ['a number', 1234],
    ['null', null],
    ['an array', ['SBER']],
  ])('refuses the ticker %s', (_case, t) => {
    expect(issuesOf(alor({ ...VALID, t }))).toEqual([expect.stringMatching(/^t: /)]);
  });

  it.each([
    ['MOEX:SBER', { ticker: 'SBER', exchange: 'MOEX' }],
    ['SPBX:AAPL', { ticker: 'AAPL', exchange: 'SPBX' }],
    ['SPBX:BRK.B', { ticker: 'BRK.B', exchange: 'SPBX' }],
    ['MOEX_DLY:SBER', { ticker: 'SBER', exchange: 'MOEX' }],
    ['MOEX_DL:GAZP', { ticker: 'GAZP', exchange: 'MOEX' }],
    ['moex:SBER', { ticker: 'SBER', exchange: 'MOEX' }],
  ])('reads the exchange TradingView puts before the ticker, a delayed-data suffix and any case: %s', (t, expected) => {
    expect(orderOf(alor({ ...VALID, t }))).toMatchObject(expected);
    expect(orderOf(tinkoff({ ...VALID, t, f: FIGI }))).toMatchObject(expected);
  });

  it('leaves the exchange out when t names none', () => {
    expect(orderOf(alor(VALID))).not.toHaveProperty('exchange');
  });

  it.each([
    ['an exchange neither broker trades on', 'NASDAQ:AAPL'],
    ['a delayed-data suffix of another exchange', 'BATS_DLY:AAPL'],
    ['an unknown suffix', 'MOEX_RT:SBER'],
    ['two exchange parts', 'MOEX:SPBX:SBER'],
    ['no ticker after the exchange', 'MOEX:'],
    ['no exchange before the colon', ':SBER'],
    ['an exchange part starting with a digit', '1MOEX:SBER'],
    ['an exchange part of 21 characters', `${'M'.repeat(21)}:SBER`],
  ])('refuses t with %s, naming the rule but not the value', (_case, t) => {
    const issues = issuesOf(alor({ ...VALID, t }));

    expect(issues).toEqual([expect.stringMatching(/^t: /)]);
    expect(issues.join('\n')).not.toMatch(/NASDAQ|BATS|_RT/);
    expect(tinkoff({ ...VALID, t, f: FIGI }).success).toBe(false);
  });

  it('says which exchanges it accepts when t names another', () => {
    expect(issuesOf(alor({ ...VALID, t: 'NASDAQ:AAPL' }))).toEqual(['t: the exchange must be one of SPBX, MOEX']);
  });

  it.each([
    ['missing t', { p: 1, v: 1, d: 'buy' }, 't'],
    ['missing p', { t: 'SBER', v: 1, d: 'buy' }, 'p'],
    ['missing v', { t: 'SBER', p: 1, d: 'buy' }, 'v'],
    ['missing d', { t: 'SBER', p: 1, v: 1 }, 'd'],
  ])('refuses a body with %s, naming the field', (_case, body, field) => {
    expect(issuesOf(alor(body))).toEqual([expect.stringMatching(new RegExp(`^${field}: `))]);
  });

  it.each([
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"SBER"'],
    ['an array', '[]'],
    ['an empty object', '{}'],
  ])('refuses a JSON %s as the body', (_case, text) => {
    expect(alor(text).success).toBe(false);
  });

  it('reports field paths and reasons, never the values sent', () => {
    const secretLooking = 'token-9f8e7d6c5b4a';
    const issues = issuesOf(alor({ t: secretLooking.repeat(9), p: secretLooking, v: secretLooking, d: secretLooking }));

    expect(issues.length).toBeGreaterThanOrEqual(4);
    expect(issues.join('\n')).not.toContain('9f8e7d6c5b4a');
  });

  it('bounds what it reports of caller-chosen key names: reasons and paths only', () => {
    const keyName = 'k'.repeat(15_000);
    const issues = issuesOf(alor(`{"t":"SBER","p":{"$numberInt":"1","${keyName}":1},"v":1,"d":"buy"}`));

    expect(issues.join('\n')).not.toContain('kkkkkkkkkk');
    expect(issues.join('\n').length).toBeLessThanOrEqual(1024);
  });

  it('bounds the number and length of the reasons it reports', () => {
    const manyWrappers = Object.fromEntries(
      Array.from({ length: 200 }, (_, index) => [`x${index}`.padEnd(60, 'y'), { $numberInt: 1 }]),
    );
    const issues = issuesOf(alor({ t: 'S'.repeat(60), p: { a: 1, b: 2 }, v: [], d: {}, ...manyWrappers }));

    expect(issues.join('\n').length).toBeLessThanOrEqual(1024);
  });

  it('strips unknown keys (policy: the widget may add fields), even on Alor where f is not needed', () => {
    const order = orderOf(alor({ ...VALID, extra: { nested: true }, comment: 'x' }));

    expect(order).toEqual({ ticker: 'SBER', price: '250.5', lots: 3, side: 'buy', idempotencyKey: undefined });
    expect(Object.keys(order)).not.toContain('extra');
  });

  it('ignores f on Alor, whatever it holds', () => {
    expect(orderOf(alor({ ...VALID, f: { any: ['thing'] } }))).not.toHaveProperty('figi');
  });

  it.each([
    ['empty', ''],
    ['a number', 123],
    ['with a slash', 'BBG/000'],
    ['with a space', 'BBG 000'],
    ['65 characters', 'A'.repeat(65)],
  ])('requires a FIGI-shaped f on Tinkoff: refuses one %s', (_case, f) => {
    expect(issuesOf(tinkoff({ ...VALID, f }))).toEqual([expect.stringMatching(/^f: /)]);
  });

  it('accepts a Tinkoff order without f: the instrument is the one its ticker names', () => {
    expect(orderOf(tinkoff({ ...VALID, t: 'MOEX:SBER' }))).toEqual({
      ticker: 'SBER',
      exchange: 'MOEX',
      price: '250.5',
      lots: 3,
      side: 'buy',
      figi: undefined,
      idempotencyKey: undefined,
    });
  });

  it('requires f for T-Invest API v1, which has no instrument lookup', () => {
    const result = parseWebhookBody(bytes(JSON.stringify(VALID)), TinkoffFigiOrderSchema);

    expect(issuesOf(result)).toEqual([expect.stringMatching(/^f: /)]);
    expect(orderOf(parseWebhookBody(bytes(JSON.stringify({ ...VALID, f: FIGI })), TinkoffFigiOrderSchema)).figi).toBe(
      FIGI,
    );
  });

  it('accepts an instrument uid (a UUID) as f on Tinkoff', () => {
    const uid = 'e6123145-9665-43e0-8413-cd61b8aa9b13';

    expect(orderOf(tinkoff({ ...VALID, f: uid })).figi).toBe(uid);
  });
});

describe('parseWebhookBody: the idempotency key id', () => {
  it.each([
    ['one character', 'a'],
    ['64 printable characters', `${'x'.repeat(63)}~`],
    ['spaces and punctuation', 'signal #42: BRK.B @ 300'],
  ])('accepts %s', (_case, id) => {
    expect(orderOf(alor({ ...VALID, id })).idempotencyKey).toBe(id);
  });

  it('is optional', () => {
    expect(orderOf(alor(VALID)).idempotencyKey).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['65 characters', 'x'.repeat(65)],
    ['a newline', 'a\nb'],
    ['a tab', 'a\tb'],
    ['non-ASCII', 'сигнал-1'],
    ['a number', 42],
    ['null', null],
  ])('refuses an id that is %s', (_case, id) => {
    expect(issuesOf(alor({ ...VALID, id }))).toEqual([expect.stringMatching(/^id: /)]);
  });
});

/** Checks the output types of a successful parse, whatever the input was. */
function assertWellTyped(result: ParseResult<ParsedBody<TinkoffOrder | AlorOrder>>, broker: 'alor' | 'tinkoff'): void {
  if (!result.success) {
    expect(result.issues.length).toBeGreaterThan(0);
    for (const issue of result.issues) expect(typeof issue).toBe('string');
    return;
  }
  if (result.data.kind === 'check') return;
  const order = result.data.order;
  expect(order.ticker).toMatch(/^[A-Za-z0-9][A-Za-z0-9._@+\- ]{0,49}$/);
  if (order.exchange !== undefined) expect(SIGNAL_EXCHANGES).toContain(order.exchange);
  expect(order.price).toMatch(/^(0|[1-9]\d{0,11})(\.\d{0,8}[1-9])?$/);
  expect(order.price).not.toMatch(/^0(\.0*)?$/);
  expect(Number.isSafeInteger(order.lots) && order.lots >= 1 && order.lots <= MAX_LOTS).toBe(true);
  expect(['buy', 'sell']).toContain(order.side);
  if (order.idempotencyKey !== undefined) expect(order.idempotencyKey).toMatch(/^[\x20-\x7e]{1,64}$/);
  const { figi } = order as TinkoffOrder;
  if (broker === 'tinkoff' && figi !== undefined) expect(figi).toMatch(/^[A-Za-z0-9-]{1,64}$/);
}

/** Values for one field that are sometimes valid and often not. */
const fieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('buy', 'SELL', 'SBER', 'BRK.B', '1', '0', '-1', '1.5', '1e3', 'abc', FIGI, ''),
  fc.constantFrom('MOEX:SBER', 'SPBX:AAPL', 'MOEX_DLY:SBER', 'NASDAQ:AAPL', 'MOEX:', ':SBER', 'MOEX:SPBX:SBER'),
  fc.double(),
  fc.integer(),
  fc.record({ $numberInt: fc.string({ maxLength: 6 }) }),
  fc.record({ $numberDecimal: fc.constantFrom('1.5', '12', 'x', '-3') }),
);
const orderLike = fc.record(
  { t: fieldValue, p: fieldValue, v: fieldValue, d: fieldValue, f: fieldValue, id: fieldValue, check: fieldValue },
  { requiredKeys: [] },
);

describe('parseWebhookBody: properties', () => {
  const schemas = [
    ['alor', AlorOrderSchema],
    ['tinkoff', TinkoffOrderSchema],
  ] as const;

  /** A positive decimal within the limits, as its canonical text. */
  const canonicalPrice = fc
    .tuple(fc.integer({ min: 0, max: 999_999 }), fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 9 }))
    .map(([whole, fractionDigits]) => {
      const fraction = fractionDigits.replace(/0+$/, '');
      return fraction === '' ? String(whole) : `${whole}.${fraction}`;
    })
    .filter((decimal) => !/^0(\.0*)?$/.test(decimal));

  /** Every accepted way of writing a canonical decimal. */
  const encodedPrice = canonicalPrice.chain((decimal) => {
    const [whole = '', fraction = ''] = decimal.split('.');
    const digits = `${whole}${fraction}`;
    const encodings: fc.Arbitrary<unknown>[] = [
      fc.constant(decimal),
      fc.constant(Number(decimal)),
      fc.constant(`00${decimal}${decimal.includes('.') ? '000' : ''}`),
      fc.constant(` ${decimal}\n`),
      fc.constant(`${digits}e-${fraction.length}`),
      fc.constant(`${digits}E${-fraction.length}`),
      fc.constant({ $numberDouble: decimal }),
      fc.constant({ $numberDecimal: decimal }),
      fc.constant({ $numberDouble: String(Number(decimal)) }),
    ];
    if (!decimal.includes('.')) {
      encodings.push(fc.constant({ $numberInt: decimal }), fc.constant({ $numberLong: decimal }));
    }
    return fc.tuple(fc.constant(decimal), fc.oneof(...encodings));
  });

  const encodedLots = fc
    .integer({ min: 1, max: MAX_LOTS })
    .chain((lots) =>
      fc.tuple(
        fc.constant(lots),
        fc.constantFrom<unknown>(
          lots,
          String(lots),
          `${lots}.0`,
          { $numberInt: String(lots) },
          { $numberLong: String(lots) },
          { $numberDouble: String(lots) },
          { $numberDecimal: String(lots) },
        ),
      ),
    );

  const anyCase = (word: string) =>
    fc
      .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
      .map((upper) => [...word].map((char, index) => (upper[index] ? char.toUpperCase() : char)).join(''));

  const validOrder = fc.record({
    t: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@+\- ]{0,49}$/),
    p: encodedPrice,
    v: encodedLots,
    d: fc.constantFrom('buy', 'sell').chain((side) => fc.tuple(fc.constant(side), anyCase(side))),
    f: fc.stringMatching(/^[A-Za-z0-9-]{1,64}$/),
    id: fc.option(fc.stringMatching(/^[\x20-\x7e]{1,64}$/), { nil: undefined }),
  });

  /** A valid order with one field replaced by anything, or with one field left out. */
  const nearlyValid = fc
    .tuple(validOrder, fc.constantFrom('t', 'p', 'v', 'd', 'f', 'id', 'check'), fieldValue, fc.boolean())
    .map(
      ([
        {
          t,
          p: [, p],
          v: [, v],
          d: [, d],
          f,
          id,
        },
        key,
        value,
        drop,
      ]) => {
        const body: Record<string, unknown> = { t, p, v, d, f, id };
        if (drop) delete body[key];
        else body[key] = value;
        return body;
      },
    );
  const anyBody = fc.oneof(fc.jsonValue(), orderLike, nearlyValid);

  it.each(schemas)('never throws on arbitrary JSON values, and a success is well typed (%s)', (broker, schema) => {
    fc.assert(
      fc.property(anyBody, (value) => {
        const result = parseWebhookBody(bytes(JSON.stringify(value) ?? ''), schema);
        assertWellTyped(result, broker);
      }),
      { numRuns: 2000 },
    );
  });

  it.each(schemas)('never throws on arbitrary strings (%s)', (broker, schema) => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        assertWellTyped(parseWebhookBody(bytes(text), schema), broker);
      }),
      { numRuns: 2000 },
    );
  });

  it.each(schemas)('never throws on arbitrary bytes (%s)', (broker, schema) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (raw) => {
        assertWellTyped(parseWebhookBody(raw, schema), broker);
      }),
      { numRuns: 2000 },
    );
  });

  it('reaches the success path often enough for the properties above to mean something', () => {
    const samples = fc.sample(anyBody, { numRuns: 2000, seed: 42 });
    const orders = samples.filter((body) => {
      const result = alor(body);
      return result.success && result.data.kind === 'order';
    });

    expect(orders.length).toBeGreaterThan(200);
  });

  /** `t` as TradingView's `{{exchange}}:{{ticker}}` writes it: an exchange, maybe delayed, in any case. */
  const prefixedTicker = fc.record({
    ticker: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@+\- ]{0,49}$/),
    exchange: fc.constantFrom(...SIGNAL_EXCHANGES),
    suffix: fc.constantFrom('', '_DL', '_DLY'),
    lowerCase: fc.boolean(),
  });

  it('reads the exchange and the ticker of every EXCHANGE:TICKER TradingView can write', () => {
    fc.assert(
      fc.property(prefixedTicker, ({ ticker, exchange, suffix, lowerCase }) => {
        const named = `${exchange}${suffix}`;
        const t = `${lowerCase ? named.toLowerCase() : named}:${ticker}`;

        expect(orderOf(alor({ ...VALID, t }))).toMatchObject({ ticker, exchange });
        expect(orderOf(tinkoff({ ...VALID, t, f: FIGI }))).toMatchObject({ ticker, exchange });
      }),
      { numRuns: 1000 },
    );
  });

  /** Any JSON value as a body's secret, short of the prototype keys that refuse a whole body. */
  const anySecret = fc
    .jsonValue({ maxDepth: 2 })
    .filter((value) => !/__proto__|constructor|prototype/.test(JSON.stringify(value)));

  it('reads the same order from a body that also carries the webhook secret, once the secret is taken out', () => {
    fc.assert(
      fc.property(validOrder, anySecret, ({ t, p: [, p], v: [, v], d: [, d], f, id }, secret) => {
        const body = { t, p, v, d, f, id };
        const withSecret = decodeJsonBody(bytes(JSON.stringify({ secret, ...body })));
        const separated = separateBodySecret(withSecret);

        expect(separated.secret).toBe(typeof secret === 'string' ? secret : undefined);
        expect(parseDecodedBody(separated.body, TinkoffOrderSchema)).toEqual(tinkoff(body));
        expect(parseDecodedBody(separated.body, AlorOrderSchema)).toEqual(alor(body));
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts every valid order in every accepted encoding, with the exact canonical price', () => {
    fc.assert(
      fc.property(validOrder, ({ t, p: [price, p], v: [lots, v], d: [side, d], f, id }) => {
        const body = { t, p, v, d, f, id };

        expect(orderOf(tinkoff(body))).toEqual({ ticker: t, price, lots, side, figi: f, idempotencyKey: id });
        expect(orderOf(alor(body))).toEqual({ ticker: t, price, lots, side, idempotencyKey: id });
      }),
      { numRuns: 2000 },
    );
  });
});
