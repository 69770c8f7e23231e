import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { MockAgent } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LIMIT_ORDER_PATH } from '#shared/brokers/alor/client.ts';
import { loadAlorConfig } from '#shared/brokers/alor/config.ts';
import { createAlorHandler } from '#shared/brokers/alor/index.ts';
import { POST_ORDER_PATH } from '#shared/brokers/tinkoff/client.ts';
import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { createTinkoffHandler } from '#shared/brokers/tinkoff/index.ts';
import { GET_INSTRUMENT_BY_PATH } from '#shared/brokers/tinkoff/instruments.ts';
import type { Broker } from '#shared/facts.ts';
import type { WebhookHandler } from '#shared/http/inbound/webhook-handler.ts';
import { apiGatewayEvent } from '../helpers/events.ts';

/**
 * Hostile input (docs/contract.md#limits): property-based, bounded (well over 10,000 generated bodies and headers in all), against
 * both handlers with an undici MockAgent standing in for the brokers, so every broker call is counted.
 *
 * - never a 500, whatever arrives;
 * - without the right secret: 401 and no broker call;
 * - an order call only for a payload an independent oracle finds plausible (the oracle states necessary
 *   conditions from docs/contract.md#request, written without the service's schemas), and the order sent says
 *   what the signal said;
 * - every order the generators build by the rules is placed, exactly once.
 */

const SECRET = 'fuzz-webhook-secret-7c1e';
const ORIGIN = { alor: 'http://alor.fuzz.invalid', tinkoff: 'http://tinkoff.fuzz.invalid' };
const INVALID = 'Некорректные данные в заявке';
const MAX_LOTS = 2_147_483_647;
const RUNS = { rules: 1200, hostile: 2500, anything: 1500 };

interface Sent {
  readonly path: string;
  readonly body: string;
}

const sent: Sent[] = [];
const agent = new MockAgent();
agent.disableNetConnect();

function jwt(): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ exp: Math.floor(Date.now() / 1000) + 3600 })}.sig`;
}

beforeAll(() => {
  const alor = agent.get(ORIGIN.alor);
  alor
    .intercept({ path: (path) => path.startsWith('/refresh?'), method: 'POST' })
    .reply(200, { AccessToken: jwt() })
    .persist();
  alor
    .intercept({ path: LIMIT_ORDER_PATH, method: 'POST' })
    .reply(200, ({ path, body }) => {
      sent.push({ path, body: String(body) });
      return { message: 'success', orderNumber: String(sent.length) };
    })
    .persist();
  agent
    .get(ORIGIN.tinkoff)
    .intercept({ path: `/rest${GET_INSTRUMENT_BY_PATH}`, method: 'POST' })
    .reply(200, ({ body }) => {
      const { classCode, id } = JSON.parse(String(body)) as { classCode: string; id: string };
      return { instrument: { uid: listedUid(classCode, id), apiTradeAvailableFlag: true } };
    })
    .persist();
  agent
    .get(ORIGIN.tinkoff)
    .intercept({ path: `/rest${POST_ORDER_PATH}`, method: 'POST' })
    .reply(200, ({ path, body }) => {
      sent.push({ path, body: String(body) });
      return { orderId: String(sent.length), executionReportStatus: 'EXECUTION_REPORT_STATUS_NEW' };
    })
    .persist();
});
afterAll(async () => {
  await agent.close();
});

/** The instrument uid the mocked T-Invest gives a ticker in a class code. */
function listedUid(classCode: string, ticker: string): string {
  return `uid-${classCode}-${ticker}`;
}

function handlerFor(broker: Broker): WebhookHandler {
  const common = { WEBHOOK_SECRET: SECRET, BROKER_TIMEOUT_MS: '2000' };
  return broker === 'alor'
    ? createAlorHandler(
        loadAlorConfig({
          ...common,
          ALOR_REFRESH_TOKEN: 'fuzz-refresh-token',
          ALOR_PORTFOLIO: 'D00000',
          ALOR_OAUTH_URL: ORIGIN.alor,
          ALOR_API_URL: ORIGIN.alor,
        }),
        { dispatcher: agent },
      )
    : createTinkoffHandler(
        loadTinkoffConfig({
          ...common,
          TINKOFF_TOKEN: 'fuzz-tinvest-token',
          TINKOFF_ACCOUNT_ID: '2000000000',
          TINKOFF_API_URL: `${ORIGIN.tinkoff}/rest`,
        }),
        { dispatcher: agent },
      );
}

// ---------------------------------------------------------------------------------------------------------------
// The oracle: necessary conditions for a payload to be an order, independent of shared/http/inbound/payload.ts.

type Verdict =
  | { kind: 'check' }
  | { kind: 'invalid' }
  | { kind: 'order'; fields: Record<string, unknown> }
  /** A body with `ver` or a protective key: a v2 or protected signal, answered in JSON (docs/contract.md#protection). */
  | { kind: 'signal' };

/** The keys that make a body a v2 signal (`ver`) or a protected one (`sl`, `tp`, `trail`), as the contract lists them. */
const SIGNAL_FORM_KEYS = ['ver', 'sl', 'tp', 'trail'];

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
const EJSON_KEYS = ['$numberInt', '$numberLong', '$numberDouble', '$numberDecimal'];

function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depthOf));
}

function numberText(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return value;
  if (isRecord(value)) {
    const keys = Object.keys(value);
    const [key] = keys;
    if (keys.length === 1 && key !== undefined && EJSON_KEYS.includes(key) && typeof value[key] === 'string') {
      return value[key] as string;
    }
  }
  return undefined;
}

function positiveNumber(value: unknown): number | undefined {
  const text = numberText(value)?.trim();
  if (text === undefined || text === '') return undefined;
  const number = typeof value === 'number' ? value : Number(text);
  return Number.isFinite(number) && number > 0 ? number : undefined;
}

/** `t` as `EXCHANGE:TICKER`: the exchange part must be MOEX or SPBX, in any case, a `_DL`/`_DLY` suffix allowed. */
function instrumentOf(t: string): { ticker: string; exchange?: string } | undefined {
  const colon = t.indexOf(':');
  if (colon < 0) return { ticker: t };
  const exchange = t
    .slice(0, colon)
    .toUpperCase()
    .replace(/_(DL|DLY)$/, '');
  return ['MOEX', 'SPBX'].includes(exchange) ? { ticker: t.slice(colon + 1), exchange } : undefined;
}

/** The body as a JSON object within the limits, or undefined. (The generators never repeat a key.) */
function decodedObject(raw: Uint8Array): Record<string, unknown> | undefined {
  if (raw.byteLength === 0 || raw.byteLength > 16 * 1024) return undefined;
  let value: unknown;
  let prototypeKey = false;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    value = JSON.parse(text, (key, nested: unknown) => {
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') prototypeKey = true;
      return nested;
    });
  } catch {
    return undefined;
  }
  return prototypeKey || depthOf(value) > 16 || !isRecord(value) ? undefined : value;
}

function judge(broker: Broker, raw: Uint8Array, headerKey: string | undefined): Verdict {
  const value = decodedObject(raw);
  if (value === undefined) return { kind: 'invalid' };
  if (value.check === true) return { kind: 'check' };
  if (SIGNAL_FORM_KEYS.some((key) => Object.hasOwn(value, key))) return { kind: 'signal' };
  const { t, p, v, d, f, id } = value;
  const lots = positiveNumber(v);
  const ticker = typeof t === 'string' ? instrumentOf(t)?.ticker : undefined;
  const plausible =
    ticker !== undefined &&
    ticker.trim() !== '' &&
    PRINTABLE_ASCII.test(ticker) &&
    positiveNumber(p) !== undefined &&
    lots !== undefined &&
    Number.isInteger(lots) &&
    lots <= MAX_LOTS &&
    typeof d === 'string' &&
    ['buy', 'sell'].includes(d.toLowerCase()) &&
    (broker === 'alor' || !('f' in value) || (typeof f === 'string' && f !== '' && PRINTABLE_ASCII.test(f))) &&
    (!('id' in value) || (typeof id === 'string' && /^[\x20-\x7e]{1,64}$/.test(id))) &&
    (headerKey === undefined || /^[\x20-\x7e]{1,64}$/.test(headerKey));
  return plausible ? { kind: 'order', fields: value } : { kind: 'invalid' };
}

/** The order that went out says what the signal said. */
function expectFaithful(broker: Broker, fields: Record<string, unknown>, body: string): void {
  const order = JSON.parse(body) as Record<string, unknown>;
  const side = String(fields.d).toLowerCase();
  const lots = Number(numberText(fields.v));
  const price = Number(numberText(fields.p));
  const instrument = instrumentOf(String(fields.t));
  if (broker === 'alor') {
    expect(order).toMatchObject({
      side,
      quantity: lots,
      instrument: { symbol: instrument?.ticker.replace('.', ' '), exchange: instrument?.exchange ?? 'SPBX' },
    });
    expect(order.price).toBe(price);
  } else {
    const quotation = order.price as { units: string; nano: number };
    // Without f, the instrument T-Invest lists under the ticker (T-Invest spelling: upper case, the first space a dot)
    // in the exchange's class code.
    const listed = () =>
      listedUid(
        instrument?.exchange === 'SPBX' ? 'SPBXM' : 'TQBR',
        String(instrument?.ticker).toUpperCase().replace(' ', '.'),
      );
    expect(order).toMatchObject({
      instrumentId: 'f' in fields ? fields.f : listed(),
      quantity: String(lots),
      direction: side === 'buy' ? 'ORDER_DIRECTION_BUY' : 'ORDER_DIRECTION_SELL',
    });
    expect(Number(quotation.units) + quotation.nano / 1e9).toBeCloseTo(price, 9);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Generators. A body is raw JSON text (so literals JSON.stringify cannot write, like 1e309, -0 or
// 123456789012345678901234567890, arrive as such) or raw bytes.

const TICKERS = [
  ...['SBER', 'GAZP', 'AAPL', 'BRK.B', 'BRK B', 'SiZ6', 'YDEX', 'T@1', 'A-B_C+D'],
  // TradingView's {{exchange}}:{{ticker}}, delayed-data suffixes included.
  ...['MOEX:SBER', 'SPBX:AAPL', 'MOEX_DLY:GAZP', 'spbx_dl:BRK.B'],
];
const FIGIS = ['BBG004730N88', 'BBG000B9XRY4', 'e6123145-9665-43e0-8413-cd61b8aa9b13'];

const caseVariant = (word: string) =>
  fc
    .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
    .map((upper) => [...word].map((char, index) => (upper[index] ? char.toUpperCase() : char)).join(''));
const ejson = (text: string) => fc.constantFrom(...EJSON_KEYS).map((key) => JSON.stringify({ [key]: text }));

/** A JSON text fragment for a number, in every form the contract accepts. */
const numberForms = (value: number) =>
  fc.oneof(fc.constant(String(value)), fc.constant(JSON.stringify(String(value))), ejson(String(value)));

const validPrice = fc.integer({ min: 1, max: 100_000_000 }).chain((cents) => numberForms(cents / 100));
const validLots = fc.integer({ min: 1, max: 1_000_000 }).chain(numberForms);
const validKey = fc.stringMatching(/^[\x20-\x7e]{1,64}$/);

/** Values neither `p` nor `v` may take: not finite, not above zero, not a number, or beyond every limit. */
const hostileNumber = fc.oneof(
  fc.constantFrom(
    'NaN',
    '"NaN"',
    'Infinity',
    '"Infinity"',
    '"-Infinity"',
    '1e309',
    '-1e309',
    '"1e309"',
    '-0',
    '"-0"',
    '0',
    '"0"',
    '0.0',
    '-1',
    '"-5"',
    '123456789012345678901234567890',
    '"123456789012345678901234567890"',
    '1e-400',
    'null',
    'true',
    'false',
    '[]',
    '[1]',
    '{}',
    '""',
    '" "',
    '"0x10"',
    '"1,5"',
    '{"$numberInt":5}',
    '{"$numberDouble":"NaN"}',
    '{"$numberLong":"1","x":1}',
    '{"__proto__":{"admin":true}}',
    `"${'9'.repeat(400)}"`,
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).map((text) => JSON.stringify(`Ж${text}`)),
);
/** `v` must also be a whole number within int32. */
const hostileLots = fc.oneof(hostileNumber, fc.constantFrom('1.5', '"2.5"', '2147483648', '{"$numberDecimal":"0.5"}'));
/** Values none of `t`, `d`, `f` may take: not a string, empty, blank-led, non-ASCII, control characters, too long. */
const hostileText = fc.oneof(
  fc.constantFrom('null', 'true', '1', '0', '[]', '["SBER"]', '{}', '""', '" "', '" buy"', '"\\u0000"', '"\\n"'),
  fc.constantFrom('"NASDAQ:AAPL"', '"MOEX_RT:SBER"', '"MOEX:"', '":SBER"', '"MOEX:SPBX:SBER"'),
  fc.constant(JSON.stringify('A'.repeat(65))),
  fc.constant('{"constructor":{"prototype":{}}}'),
  fc.string({ unit: 'binary', minLength: 0, maxLength: 12 }).map((text) => JSON.stringify(`Ж${text}`)),
);

interface Signal {
  readonly body: string | Uint8Array;
  readonly base64: boolean;
}

const signalFromText = (text: fc.Arbitrary<string>) =>
  fc.record({ body: text, base64: fc.boolean() }) as fc.Arbitrary<Signal>;

/** A JSON object from field name → literal JSON text (so 1e309 or -0 reach the handler as written). */
function orderText(fields: Readonly<Record<string, string>>): string {
  return `{${Object.entries(fields)
    .map(([name, literal]) => `${JSON.stringify(name)}:${literal}`)
    .join(',')}}`;
}

/** The fields of an order by the rules, as JSON literals, in all accepted encodings. */
const ruleFields: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    t: fc.constantFrom(...TICKERS).map((ticker) => JSON.stringify(ticker)),
    p: validPrice,
    v: validLots,
    d: fc.oneof(caseVariant('buy'), caseVariant('sell')).map((side) => JSON.stringify(side)),
    f: fc.constantFrom(...FIGIS).map((figi) => JSON.stringify(figi)),
    id: validKey.map((key) => JSON.stringify(key)),
    extra: fc
      .jsonValue({ maxDepth: 2 })
      .map((value) => JSON.stringify(value))
      .filter((text) => !/__proto__|constructor|prototype/.test(text)),
  },
  { requiredKeys: ['t', 'p', 'v', 'd'] },
) as fc.Arbitrary<Record<string, string>>;

/** Orders by the rules: each must be placed. */
const ruleOrder = ruleFields.map(orderText);

/** A rules order with one field spoiled, a bad id, a prototype key slipped in, or made deep, big or broken. */
const hostileOrder = (broker: Broker) => {
  const textFields = broker === 'tinkoff' ? (['t', 'd', 'f'] as const) : (['t', 'd'] as const);
  return fc.oneof(
    fc
      .tuple(ruleFields, fc.constantFrom(...textFields), hostileText)
      .map(([fields, name, literal]) => orderText({ ...fields, [name]: literal })),
    fc.tuple(ruleFields, hostileNumber).map(([fields, literal]) => orderText({ ...fields, p: literal })),
    fc.tuple(ruleFields, hostileLots).map(([fields, literal]) => orderText({ ...fields, v: literal })),
    fc.tuple(ruleFields, fc.constantFrom('f', 't', 'p', 'v', 'd')).map(([fields, name]) => {
      const { [name]: _dropped, ...rest } = fields;
      // f is optional (Alor ignores it, T-Invest looks the ticker up without it): dropping it is no fault, drop t instead.
      return orderText(name === 'f' ? (({ t: _t, ...others }) => others)(fields) : rest);
    }),
    fc
      .tuple(ruleFields, fc.constantFrom('null', '""', '1', JSON.stringify('k'.repeat(65)), '"ключ"', '"a\\tb"'))
      .map(([fields, id]) => orderText({ ...fields, id })),
    fc
      .tuple(ruleFields, fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.boolean())
      .map(([fields, key, nested]) =>
        orderText(nested ? { ...fields, meta: `{"${key}":{"x":1}}` } : { [key]: '{"isAdmin":true}', ...fields }),
      ),
    fc
      .tuple(ruleFields, fc.integer({ min: 17, max: 5000 }))
      .map(([fields, depth]) => orderText({ ...fields, deep: `${'['.repeat(depth)}${']'.repeat(depth)}` })),
    fc
      .tuple(ruleFields, fc.integer({ min: 16 * 1024, max: 40 * 1024 }))
      .map(([fields, size]) => orderText({ ...fields, pad: JSON.stringify('x'.repeat(size)) })),
    fc.tuple(ruleOrder, fc.integer({ min: 1, max: 20 })).map(([text, cut]) => text.slice(0, -cut)),
    ruleOrder.map((text) => `[${text}]`),
  );
};

/** Anything at all: JSON of any shape, strings, bytes (invalid UTF-8 included). */
const anyBody: fc.Arbitrary<Signal> = fc.oneof(
  signalFromText(fc.json({ maxDepth: 6 })),
  signalFromText(fc.string({ unit: 'binary', maxLength: 200 })),
  signalFromText(
    fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify({ t: value, p: value, v: value, d: value, f: value })),
  ),
  fc.record({ body: fc.uint8Array({ maxLength: 300 }), base64: fc.constant(true) }),
  signalFromText(
    fc.constantFrom('{"check":true}', '{"check":"true"}', '{"check":1}', '{"check":true,"__proto__":{}}', ''),
  ),
);

type AuthMode =
  | 'header'
  | 'query'
  | 'signature'
  | 'none'
  | 'wrong-header'
  | 'wrong-query'
  | 'wrong-signature'
  | 'empty'
  | 'body'
  | 'wrong-body';
const authModes: AuthMode[] = [
  'header',
  'query',
  'signature',
  'none',
  'wrong-header',
  'wrong-query',
  'wrong-signature',
  'empty',
  'body',
  'wrong-body',
];

/** A body text with `"secret": value` put first into its outermost object (when it starts as one). */
function withBodySecret(body: string | Uint8Array, value: string): string | Uint8Array {
  if (typeof body !== 'string' || !body.startsWith('{')) return body;
  return `{"secret":${JSON.stringify(value)},${body.slice(1)}`;
}

const RESERVED_HEADERS = new Set(['x-webhook-secret', 'x-hook-signature', 'idempotency-key']);
const noiseHeaders = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 20 }).filter((name) => !RESERVED_HEADERS.has(name.toLowerCase())),
  fc.string({ unit: 'binary', maxLength: 40 }),
  { maxKeys: 4 },
);
const headerKey = fc.option(fc.oneof(validKey, fc.string({ unit: 'binary', maxLength: 80 })), { nil: undefined });
const wrongSecret = fc.string({ unit: 'binary', maxLength: 40 }).filter((value) => value !== SECRET);

interface Case {
  readonly signal: Signal;
  readonly auth: AuthMode;
  readonly wrong: string;
  readonly headers: Record<string, string>;
  readonly headerKey: string | undefined;
}

const caseOf = (signals: fc.Arbitrary<Signal>, auth: fc.Arbitrary<AuthMode>) =>
  fc.record({ signal: signals, auth, wrong: wrongSecret, headers: noiseHeaders, headerKey });

function eventOf(broker: Broker, testCase: Case) {
  const bodySecret = testCase.auth === 'body' ? SECRET : testCase.auth === 'wrong-body' ? testCase.wrong : undefined;
  const body = bodySecret === undefined ? testCase.signal.body : withBodySecret(testCase.signal.body, bodySecret);
  const signal = { ...testCase.signal, body };
  const raw = typeof signal.body === 'string' ? Buffer.from(signal.body, 'utf8') : Buffer.from(signal.body);
  const headers: Record<string, string> = { ...testCase.headers };
  const query: Record<string, string> = {};
  const sign = (secret: string) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;
  switch (testCase.auth) {
    case 'header':
      headers['x-webhook-secret'] = SECRET;
      break;
    case 'query':
      query.secret = SECRET;
      break;
    case 'signature':
      headers['x-hook-signature'] = sign(SECRET);
      break;
    case 'wrong-header':
      headers['x-webhook-secret'] = testCase.wrong;
      break;
    case 'wrong-query':
      query.secret = testCase.wrong;
      break;
    case 'wrong-signature':
      headers['x-hook-signature'] = sign(testCase.wrong);
      break;
    case 'empty':
      headers['x-webhook-secret'] = '';
      break;
    case 'none':
    case 'body':
    case 'wrong-body':
      break;
  }
  if (testCase.headerKey !== undefined) headers['idempotency-key'] = testCase.headerKey;
  const event = apiGatewayEvent({ route: `POST /${broker}`, body: signal.body, base64: signal.base64, headers, query });
  return { event, raw };
}

const counts = {
  runs: 0,
  byStatus: {} as Record<number, number>,
  verdicts: { check: 0, invalid: 0, order: 0, signal: 0 },
};

/** What a generator promises: every case placed, every case refused, or no promise (the oracle decides). */
type Expectation = 'placed' | 'refused' | 'any';

async function checkCase(broker: Broker, handler: WebhookHandler, testCase: Case, expectation: Expectation) {
  counts.runs += 1;
  const { event, raw } = eventOf(broker, testCase);
  const before = sent.length;

  const response = await handler(event);

  const calls = sent.slice(before);
  counts.byStatus[response.statusCode] = (counts.byStatus[response.statusCode] ?? 0) + 1;
  expect(response.statusCode).not.toBe(500);
  // The body secret counts only in a body that decodes as an object: anything else presents no credential.
  const authorised =
    testCase.auth === 'header' ||
    testCase.auth === 'query' ||
    testCase.auth === 'signature' ||
    (testCase.auth === 'body' && decodedObject(raw)?.secret === SECRET);
  if (!authorised) {
    expect(expectation).not.toBe('placed');
    expect({ status: response.statusCode, body: response.body, calls: calls.length }).toEqual({
      status: 401,
      body: 'Unauthorized',
      calls: 0,
    });
    return;
  }
  const verdict = judge(broker, raw, testCase.headerKey);
  counts.verdicts[verdict.kind] += 1;
  if (verdict.kind === 'check') {
    expect({ status: response.statusCode, calls: calls.length }).toEqual({ status: 200, calls: 0 });
  } else if (verdict.kind === 'signal') {
    // Arbitrary input in the signal form: a JSON answer naming its result, and no broker call unless it is placed.
    const answer = JSON.parse(response.body) as { result?: unknown };
    expect(typeof answer.result).toBe('string');
    if (response.statusCode !== 200) expect(calls).toHaveLength(0);
  } else if (verdict.kind === 'invalid') {
    expect({ status: response.statusCode, body: response.body, calls: calls.length }).toEqual({
      status: 400,
      body: INVALID,
      calls: 0,
    });
  } else if (response.statusCode === 200) {
    expect(calls).toHaveLength(1);
    expectFaithful(broker, verdict.fields, calls[0]?.body ?? '');
  } else {
    // The oracle is necessary, not sufficient (e.g. more than 15 significant digits): a refusal is allowed.
    expect({ status: response.statusCode, body: response.body, calls: calls.length }).toEqual({
      status: 400,
      body: INVALID,
      calls: 0,
    });
  }
  if (expectation === 'placed') {
    expect({ status: response.statusCode, calls: calls.length }).toEqual({ status: 200, calls: 1 });
  }
  if (expectation === 'refused')
    expect({ status: response.statusCode, calls: calls.length }).toEqual({ status: 400, calls: 0 });
}

describe.each(['alor', 'tinkoff'] as const)('%s webhook under generated input', (broker: Broker) => {
  const handler = handlerFor(broker);
  const quietly = async (run: () => Promise<void>) => {
    // Thousands of log lines: keep the stdout spy from holding them all.
    const write = vi.mocked(process.stdout.write);
    await run();
    write.mockClear();
  };

  it('places every order built by the rules, once, as sent, with any secret form that is right', async () => {
    await quietly(() =>
      fc.assert(
        fc.asyncProperty(
          caseOf(signalFromText(ruleOrder), fc.constantFrom<AuthMode>('header', 'query', 'signature', 'body')).filter(
            (testCase) => testCase.headerKey === undefined || /^[\x20-\x7e]{1,64}$/.test(testCase.headerKey),
          ),
          (testCase) => checkCase(broker, handler, testCase, 'placed'),
        ),
        { numRuns: RUNS.rules },
      ),
    );
  });

  it('refuses hostile orders with 400 (or 401 without the secret) and never calls the broker', async () => {
    await quietly(() =>
      fc.assert(
        fc.asyncProperty(caseOf(signalFromText(hostileOrder(broker)), fc.constantFrom(...authModes)), (testCase) =>
          checkCase(broker, handler, testCase, 'refused'),
        ),
        { numRuns: RUNS.hostile },
      ),
    );
  });

  it('never answers 500 and never orders on arbitrary bodies and headers', async () => {
    await quietly(() =>
      fc.assert(
        fc.asyncProperty(caseOf(anyBody, fc.constantFrom(...authModes)), (testCase) =>
          checkCase(broker, handler, testCase, 'any'),
        ),
        { numRuns: RUNS.anything },
      ),
    );
  });
});

describe('hostile input, by example', () => {
  it('refuses a body over 16 KiB with 400 before parsing it', async () => {
    const handler = handlerFor('alor');
    const body = `{"t":"SBER","p":1,"v":1,"d":"buy","pad":"${'x'.repeat(16 * 1024)}"}`;
    const parse = vi.spyOn(JSON, 'parse');
    const before = sent.length;

    const response = await handler(
      apiGatewayEvent({ route: 'POST /alor', body, headers: { 'x-webhook-secret': SECRET } }),
    );

    expect({ status: response.statusCode, body: response.body }).toEqual({ status: 400, body: INVALID });
    expect(parse.mock.calls.some(([text]) => typeof text === 'string' && text.length > 16 * 1024)).toBe(false);
    expect(sent.length).toBe(before);
  });

  it('ran at least 10,000 generated cases in all, reaching every answer and every verdict', () => {
    expect(counts.runs).toBeGreaterThanOrEqual(10_000);
    expect(Object.keys(counts.byStatus).sort()).toEqual(['200', '400', '401']);
    for (const status of [200, 400, 401]) expect(counts.byStatus[status]).toBeGreaterThan(1000);
    expect(counts.verdicts.check).toBeGreaterThan(10);
    expect(counts.verdicts.order).toBeGreaterThanOrEqual(RUNS.rules * 2);
    expect(sent.length).toBeGreaterThanOrEqual(RUNS.rules * 2);
  });
});
