import { describe, expect, it } from 'vitest';
import { PAPER_INSTRUMENTS, PAPER_TINKOFF } from '#local/paper-broker/index.ts';
import { TINKOFF_V2_PREFIX } from '#local/paper-broker/tinkoff.ts';
import { brokerRequestId } from '#shared/brokers/request-id.ts';
import { GET_INSTRUMENT_BY_PATH } from '#shared/brokers/tinkoff/instruments.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { allExchangesSettled, orderSignal, paperHandler, receivedOrderIds } from '../helpers/resilience.ts';
import { catalogueEntry, checkedSchema, specViolations } from '../unit/broker-spec.ts';

/**
 * T-Invest orders without `f` (docs/contract.md#request): the instrument comes from `InstrumentsService/GetInstrumentBy`,
 * remembered per container, within the request's one deadline, and the broker request id is named after the
 * instrument found. Broker requests are counted on the paper T-Invest.
 */

const paper = usePaperBrokers();

const signal = (t: string, fields: Record<string, unknown> = {}) =>
  orderSignal('tinkoff', { body: { t, p: '250.5', v: 1, d: 'buy', ...fields } });

const SBER_UID = 'e6123145-9665-43e0-8413-cd61b8aa9b13';

describe('instrument lookup: one request per ticker and container', () => {
  it('costs the first order for a ticker one extra request, and later orders for it none', async () => {
    const handler = paperHandler('tinkoff', paper);
    const steps = [
      ['SBER', { instrument: 1, order: 1 }],
      ['SBER', { instrument: 1, order: 2 }],
      ['MOEX_DLY:SBER', { instrument: 1, order: 3 }],
      ['GAZP', { instrument: 2, order: 4 }],
      ['SPBX:AAPL', { instrument: 3, order: 5 }],
      ['GAZP', { instrument: 3, order: 6 }],
    ] as const;

    for (const [t, requests] of steps) {
      expect((await handler(signal(t))).statusCode).toBe(200);
      expect({ t, requests: paper.tinkoff.stats.byRoute }).toEqual({ t, requests });
    }
  });

  it('looks up again in another container', async () => {
    await paperHandler('tinkoff', paper)(signal('SBER'));
    await paperHandler('tinkoff', paper)(signal('SBER'));

    expect(paper.tinkoff.stats.byRoute).toEqual({ instrument: 2, order: 2 });
  });

  it.each([
    ['a mistyped ticker', 'SBRE', 'Инструмент не найден: SBRE (TQBR)'],
    ['an instrument the API may not trade', 'NOAPI', 'Инструмент недоступен для торговли через API: NOAPI'],
  ])('answers a storm of signals for %s with one request', async (_case, t, body) => {
    const handler = paperHandler('tinkoff', paper);

    const answers = [];
    for (let i = 0; i < 5; i += 1) answers.push(await handler(signal(t)));

    expect(new Set(answers.map((answer) => `${answer.statusCode} ${answer.body}`))).toEqual(new Set([`400 ${body}`]));
    expect(paper.tinkoff.stats.byRoute).toEqual({ instrument: 1 });
  });

  it('does not remember a lookup that failed: the next order asks again', async () => {
    const handler = paperHandler('tinkoff', paper);
    paper.tinkoff.injectFault({ route: 'instrument', fault: { kind: 'status', status: 500 } });

    const failed = await handler(signal('SBER'));
    const placed = await handler(signal('SBER'));

    expect([failed.statusCode, placed.statusCode]).toEqual([502, 200]);
    expect(paper.tinkoff.stats.byRoute).toEqual({ instrument: 2, order: 1 });
  });

  it.each([
    [
      "a refusal that may be the token's (403, PermissionDenied)",
      403,
      JSON.stringify({ code: 7, message: 'no access to the instrument', description: '40002' }),
      'no access to the instrument',
    ],
    ['a rejected token (401)', 401, '{}', 'Неверный торговый токен'],
  ])('does not remember %s: the next order, with the token fixed, asks again', async (_case, status, body, text) => {
    const handler = paperHandler('tinkoff', paper);
    paper.tinkoff.injectFault({ route: 'instrument', fault: { kind: 'status', status, body } });

    const refused = await handler(signal('SBER'));
    const placed = await handler(signal('SBER'));

    expect([refused.statusCode, refused.body, placed.statusCode]).toEqual([400, text, 200]);
    expect(paper.tinkoff.stats.byRoute).toEqual({ instrument: 2, order: 1 });
  });

  it('reads a ticker in any case as the same listing: sber, Sber and SBER cost one lookup and name one order', async () => {
    const handler = paperHandler('tinkoff', paper);
    const keyed = (t: string) =>
      orderSignal('tinkoff', { body: { t, p: '250.5', v: 1, d: 'buy' }, headerKey: 'case-1' });

    const answers = [await handler(keyed('sber')), await handler(keyed('Sber')), await handler(keyed('MOEX:SBER'))];

    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200]);
    expect(paper.tinkoff.stats.byRoute).toEqual({ instrument: 1, order: 3 });
    const ids = new Set(receivedOrderIds('tinkoff', paper));
    expect(ids.size).toBe(1);
    expect(paper.tinkoff.orders.filter((order) => ids.has(order.orderRequestId ?? ''))).toHaveLength(1);
  });

  it('remembers a mistyped ticker once in any case: sbre after SBRE asks nothing', async () => {
    const handler = paperHandler('tinkoff', paper);

    const answers = [await handler(signal('SBRE')), await handler(signal('sbre'))];

    expect(answers.map((answer) => answer.body)).toEqual([
      'Инструмент не найден: SBRE (TQBR)',
      'Инструмент не найден: SBRE (TQBR)',
    ]);
    expect(paper.tinkoff.stats.byRoute).toEqual({ instrument: 1 });
  });

  it('does not look up an order that names its instrument with f', async () => {
    await paperHandler('tinkoff', paper)(signal('SBER', { f: 'BBG004730N88' }));

    expect(paper.tinkoff.stats.byRoute).toEqual({ order: 1 });
  });
});

describe('instrument lookup: one deadline for the request', () => {
  it('leaves the order only what the lookup did not use of BROKER_TIMEOUT_MS (700 ms)', async () => {
    // Each call alone fits in the deadline; together they do not.
    paper.tinkoff.injectFault({ route: 'instrument', fault: { kind: 'delay', ms: 450 } });
    paper.tinkoff.injectFault({ route: 'order', fault: { kind: 'delay', ms: 450 } });

    const answer = await paperHandler('tinkoff', paper)(signal('SBER'));

    expect({ status: answer.statusCode, body: answer.body }).toEqual({
      status: 504,
      body: 'Брокер не ответил вовремя',
    });
  });

  it('sends no order when the lookup used the whole deadline', async () => {
    paper.tinkoff.injectFault({ route: 'instrument', fault: { kind: 'hang-before-headers' } });

    const answer = await paperHandler('tinkoff', paper)(signal('SBER'));
    await allExchangesSettled(paper, 'tinkoff');

    expect(answer.statusCode).toBe(504);
    expect(paper.tinkoff.stats.byRoute).toEqual({ instrument: 1 });
  });
});

describe('instrument lookup: idempotency', () => {
  it('names the broker request id after the instrument found, so a resent signal places one order', async () => {
    const handler = paperHandler('tinkoff', paper);
    const resend = () => orderSignal('tinkoff', { body: { t: 'SBER', p: '250.5', v: 1, d: 'buy' }, headerKey: 'tv-1' });

    const answers = [await handler(resend()), await handler(resend())];

    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200]);
    const terms = {
      figi: SBER_UID,
      side: 'buy',
      lots: 1,
      price: '250.5',
      listing: { ticker: 'SBER', classCode: 'TQBR' },
    };
    const requestId = brokerRequestId('tinkoff', PAPER_TINKOFF.accountId, 'tv-1', terms);
    expect(receivedOrderIds('tinkoff', paper)).toEqual([requestId, requestId]);
    expect(paper.tinkoff.orders.filter((order) => order.orderRequestId === requestId)).toHaveLength(1);
  });
});

describe('paper T-Invest GetInstrumentBy, against the spec', () => {
  const ask = async (body: unknown, token: string = PAPER_TINKOFF.token) => {
    const response = await fetch(`${paper.tinkoff.url}${TINKOFF_V2_PREFIX}${GET_INSTRUMENT_BY_PATH}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };

  it('answers every paper instrument by ticker, FIGI and uid with a v1Instrument the spec accepts', async () => {
    for (const instrument of PAPER_INSTRUMENTS.tinkoff) {
      const ways = [
        { idType: 'INSTRUMENT_ID_TYPE_TICKER', classCode: instrument.classCode, id: instrument.ticker },
        { idType: 'INSTRUMENT_ID_TYPE_FIGI', id: instrument.figi },
        { idType: 'INSTRUMENT_ID_TYPE_UID', id: instrument.uid },
      ];
      for (const request of ways) {
        expect(specViolations(request, checkedSchema('tinvestInstrumentRequest'))).toEqual([]);
        const { status, json } = await ask(request);

        expect({ request, status, uid: (json.instrument as { uid?: string }).uid }).toEqual({
          request,
          status: 200,
          uid: instrument.uid,
        });
        expect(specViolations(json.instrument, checkedSchema('tinvestInstrument'))).toEqual([]);
      }
    }
  });

  it.each([
    ['an unknown ticker', { idType: 'INSTRUMENT_ID_TYPE_TICKER', classCode: 'TQBR', id: 'NOPE' }, 404, '50002'],
    ['a ticker without a class code', { idType: 'INSTRUMENT_ID_TYPE_TICKER', id: 'SBER' }, 400, '30013'],
    ['an empty id', { idType: 'INSTRUMENT_ID_TYPE_FIGI', id: '' }, 400, '30007'],
  ])('answers %s with the catalogue error', async (_case, request, status, code) => {
    const answer = await ask(request);

    expect(answer).toEqual({
      status,
      json: { code: expect.any(Number), message: catalogueEntry(code)?.message, description: Number(code) },
    });
  });

  it('refuses an unknown token with 401 and 40003', async () => {
    expect(await ask({ idType: 'INSTRUMENT_ID_TYPE_FIGI', id: 'BBG004730N88' }, 'nope')).toMatchObject({
      status: 401,
      json: { description: 40003 },
    });
  });
});
