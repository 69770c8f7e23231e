import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OrderOutcome } from '#shared/brokers/outcome.ts';
import { brokerRequestId } from '#shared/brokers/request-id.ts';
import { POST_ORDER_PATH, V1_LIMIT_ORDER_PATH } from '#shared/brokers/tinkoff/client.ts';
import {
  INVALID_TOKEN_MESSAGE,
  instrumentResponseToLookup,
  listedOrderToTinkoffTerms,
  listingToInstrumentRequest,
  orderStateResponseToOutcome,
  orderToListing,
  orderToPostOrderRequest,
  orderToV1LimitOrder,
  postOrderResponseToOutcome,
  tickerToTinkoffTicker,
  v1ResponseToOutcome,
} from '#shared/brokers/tinkoff/mapping.ts';
import { type TinkoffFigiOrder, TinkoffFigiOrderSchema } from '#shared/brokers/tinkoff/order.ts';
import {
  InstrumentRequestSchema,
  PostOrderRequestSchema,
  V1LimitOrderRequestSchema,
} from '#shared/brokers/tinkoff/schemas.ts';
import { toCanonicalDecimal } from '#shared/decimal.ts';
import { InstrumentRefusedError } from '#shared/errors.ts';
import { expectCredentialRejected, expectUnavailable, thrown } from '../helpers/broker-errors.ts';
import { parsedOrders } from '../helpers/orders.ts';
import { checkedSchema, specViolations } from './broker-spec.ts';

const FIGI = 'BBG000B9XRY4';
const ACCOUNT = '2000123456';
const ORDER_ID = '0b7c2f4e-6a1d-5e3b-8c9f-1a2b3c4d5e6f';
const ORDER: TinkoffFigiOrder = {
  ticker: 'BRK B',
  price: '12.3',
  lots: 5,
  side: 'buy',
  figi: FIGI,
  idempotencyKey: undefined,
};
const HTML = '<!DOCTYPE html><html><body>Service Unavailable</body></html>';

function expectBadToken(act: () => unknown): void {
  expectCredentialRejected(act, 400, 'Неверный торговый токен');
}

describe('tickerToTinkoffTicker', () => {
  it.each([
    ['BRK B', 'BRK.B'],
    ['SBER', 'SBER'],
    ['A B C', 'A.B C'],
    ['sber', 'SBER'],
    ['brk b', 'BRK.B'],
  ])('turns %j into %j (upper case, the first space only)', (ticker, expected) => {
    expect(tickerToTinkoffTicker(ticker)).toBe(expected);
  });
});

describe('orderToPostOrderRequest', () => {
  it('builds the v1PostOrderRequest body with an exact Quotation', () => {
    expect(orderToPostOrderRequest(ORDER, ACCOUNT, ORDER_ID)).toEqual({
      instrumentId: FIGI,
      quantity: '5',
      price: { units: '12', nano: 300_000_000 },
      direction: 'ORDER_DIRECTION_BUY',
      accountId: ACCOUNT,
      orderType: 'ORDER_TYPE_LIMIT',
      orderId: ORDER_ID,
    });
  });

  it('maps sell to ORDER_DIRECTION_SELL', () => {
    expect(orderToPostOrderRequest({ ...ORDER, side: 'sell' }, ACCOUNT, ORDER_ID).direction).toBe(
      'ORDER_DIRECTION_SELL',
    );
  });

  it.each([
    ['4.35', { units: '4', nano: 350_000_000 }],
    ['0.000000001', { units: '0', nano: 1 }],
    ['999999999999', { units: '999999999999', nano: 0 }],
    ['0.1', { units: '0', nano: 100_000_000 }],
    ['123456.123456789', { units: '123456', nano: 123_456_789 }],
  ])('sends the price %s as %j', (price, quotation) => {
    expect(orderToPostOrderRequest({ ...ORDER, price }, ACCOUNT, ORDER_ID).price).toEqual(quotation);
  });

  it('targets the documented PostOrder path', () => {
    expect(POST_ORDER_PATH).toBe('/tinkoff.public.invest.api.contract.v1.OrdersService/PostOrder');
  });

  const parsedOrder = parsedOrders(TinkoffFigiOrderSchema, fc.stringMatching(/^[A-Za-z0-9-]{1,64}$/));

  it('builds a body that the wire schema and the official spec accept, with the exact price, for any order', () => {
    fc.assert(
      fc.property(parsedOrder, fc.option(fc.string({ minLength: 1, maxLength: 64 })), (order, key) => {
        const orderId = brokerRequestId('tinkoff', ACCOUNT, key ?? undefined, order);
        const onTheWire: unknown = JSON.parse(JSON.stringify(orderToPostOrderRequest(order, ACCOUNT, orderId)));
        const { price } = onTheWire as { price: { units: string; nano: number } };

        expect(PostOrderRequestSchema.safeParse(onTheWire).success).toBe(true);
        expect(specViolations(onTheWire, checkedSchema('tinvestPostOrderRequest'))).toEqual([]);
        expect(orderId.length).toBeLessThanOrEqual(36);
        // units + nano/1e9, by string arithmetic, is the trader's decimal exactly.
        expect(price.nano).toBeGreaterThanOrEqual(0);
        expect(price.nano).toBeLessThan(1_000_000_000);
        expect(toCanonicalDecimal(`${price.units}.${String(price.nano).padStart(9, '0')}`)).toBe(order.price);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('orderToV1LimitOrder', () => {
  it('builds the v1 LimitOrderRequest body', () => {
    expect(orderToV1LimitOrder(ORDER)).toEqual({ lots: 5, operation: 'Buy', price: 12.3 });
    expect(orderToV1LimitOrder({ ...ORDER, side: 'sell' }).operation).toBe('Sell');
  });

  it('conforms to the wire schema and the official v1 spec', () => {
    const onTheWire: unknown = JSON.parse(JSON.stringify(orderToV1LimitOrder(ORDER)));

    expect(V1LimitOrderRequestSchema.safeParse(onTheWire).success).toBe(true);
    expect(specViolations(onTheWire, checkedSchema('tinkoffV1LimitOrderRequest'))).toEqual([]);
  });

  it('targets the v1 limit-order path', () => {
    expect(V1_LIMIT_ORDER_PATH).toBe('/openapi/orders/limit-order');
  });
});

describe('orderStateResponseToOutcome (what became of a 30057 duplicate)', () => {
  it('answers a live order as placed', () => {
    const state = JSON.stringify({ orderId: '777', executionReportStatus: 'EXECUTION_REPORT_STATUS_NEW' });

    expect(orderStateResponseToOutcome(200, state)).toEqual({ status: 'placed', orderId: '777', replayed: true });
  });

  it.each(['EXECUTION_REPORT_STATUS_REJECTED', 'EXECUTION_REPORT_STATUS_CANCELLED'])(
    'answers %s as a refusal without a message',
    (executionReportStatus) => {
      const state = JSON.stringify({ orderId: '777', executionReportStatus });

      expect(orderStateResponseToOutcome(200, state)).toEqual({ status: 'refused', message: 'Запрос не выполнен' });
    },
  );

  it.each([
    ['order not found (50005)', 404, JSON.stringify({ code: 5, message: 'Order not found', description: 50005 })],
    ['a 500', 500, ''],
    ['HTML', 200, HTML],
    ['a 200 without a status', 200, '{}'],
  ])('answers %s as the broker unavailable, never as placed', (_case, status, text) => {
    expectUnavailable(() => orderStateResponseToOutcome(status, text), text || undefined);
  });

  it('answers a rejected token as "Неверный торговый токен"', () => {
    expectBadToken(() => orderStateResponseToOutcome(401, ''));
    expectBadToken(() =>
      orderStateResponseToOutcome(400, JSON.stringify({ code: 16, message: 'bad token', description: 40003 })),
    );
  });
});

describe('postOrderResponseToOutcome', () => {
  const answer = (fields: Record<string, unknown>) => JSON.stringify({ orderId: 'R123456', ...fields });

  it.each(['EXECUTION_REPORT_STATUS_NEW', 'EXECUTION_REPORT_STATUS_FILL', 'EXECUTION_REPORT_STATUS_PARTIALLYFILL'])(
    'places the order on 200 with %s',
    (executionReportStatus) => {
      expect(postOrderResponseToOutcome(200, answer({ executionReportStatus }))).toEqual({
        status: 'placed',
        orderId: 'R123456',
        replayed: false,
      } satisfies OrderOutcome);
    },
  );

  it('checks the documented success answer against the spec', () => {
    const success = JSON.parse(answer({ executionReportStatus: 'EXECUTION_REPORT_STATUS_NEW', lotsRequested: '5' }));

    expect(specViolations(success, checkedSchema('tinvestPostOrderResponse'))).toEqual([]);
  });

  it.each(['EXECUTION_REPORT_STATUS_REJECTED', 'EXECUTION_REPORT_STATUS_CANCELLED'])(
    'refuses with the message on 200 %s',
    (executionReportStatus) => {
      expect(
        postOrderResponseToOutcome(200, answer({ executionReportStatus, message: 'Недостаточно средств' })),
      ).toEqual({
        status: 'refused',
        message: 'Недостаточно средств',
      });
    },
  );

  it.each([
    ['no message', {}],
    ['an empty message', { message: '' }],
    ['a blank message', { message: '   ' }],
  ])('refuses with "Запрос не выполнен" on 200 REJECTED with %s', (_case, fields) => {
    expect(
      postOrderResponseToOutcome(200, answer({ executionReportStatus: 'EXECUTION_REPORT_STATUS_REJECTED', ...fields })),
    ).toEqual({
      status: 'refused',
      message: 'Запрос не выполнен',
    });
  });

  it.each([
    ['HTML', HTML],
    ['empty', ''],
    ['JSON without executionReportStatus', '{"orderId":"1"}'],
  ])('treats a 200 that is %s as the broker unavailable', (_case, text) => {
    expectUnavailable(() => postOrderResponseToOutcome(200, text));
  });

  it.each([
    [
      '401 with the catalogue body',
      401,
      '{"code":16,"message":"Authentication token is missing or invalid","description":"40003"}',
    ],
    ['401 without a body', 401, ''],
    ['401 with HTML', 401, HTML],
    ['description 40003 as a string', 400, '{"code":16,"message":"x","description":"40003"}'],
    ['description 40003 as a number', 400, '{"code":16,"message":"x","description":40003}'],
    ['description 40003 on a 403', 403, '{"code":7,"description":"40003"}'],
  ])('treats %s as a bad trading token (400)', (_case, status, text) => {
    expectBadToken(() => postOrderResponseToOutcome(status, text));
  });

  it('exports the contract text of the bad-token row', () => {
    expect(INVALID_TOKEN_MESSAGE).toBe('Неверный торговый токен');
  });

  it.each([
    ['a string', '"30057"'],
    ['a number', '30057'],
  ])('reads a duplicate orderId (30057 as %s) as its own result, for the client to look up', (_case, description) => {
    const text = `{"code":3,"message":"The order is a duplicate, but the order report was not found","description":${description}}`;

    expect(postOrderResponseToOutcome(400, text)).toEqual({ status: 'duplicate' });
  });

  it('refuses with the broker’s message on another 4xx error', () => {
    const text = '{"code":3,"message":"Not enough balance","description":"30042"}';

    expect(postOrderResponseToOutcome(400, text)).toEqual({ status: 'refused', message: 'Not enough balance' });
  });

  it.each([
    ['an error without message', '{"code":3,"description":"30079"}'],
    ['an empty body', ''],
    ['a blank body', '  \n'],
    ['an empty JSON object', '{}'],
  ])('refuses with "Запрос не выполнен" on 400 with %s', (_case, text) => {
    expect(postOrderResponseToOutcome(400, text)).toEqual({ status: 'refused', message: 'Запрос не выполнен' });
  });

  it.each([
    ['400 HTML', 400, HTML],
    ['400 JSON of the wrong shape', 400, '{"message":42}'],
    ['408', 408, ''],
    ['429', 429, '{"code":8,"message":"limit","description":"80002"}'],
    ['500', 500, '{"code":13,"message":"internal","description":"70001"}'],
    ['502 HTML', 502, HTML],
    ['503', 503, ''],
    ['304', 304, ''],
  ])('treats %s as the broker unavailable, without quoting the body', (_case, status, text) => {
    expectUnavailable(() => postOrderResponseToOutcome(status, text), text || undefined);
  });
});

describe('v1ResponseToOutcome', () => {
  const ok = (payload: Record<string, unknown>) =>
    JSON.stringify({ trackingId: 'abc', status: 'Ok', payload: { orderId: '1234', operation: 'Buy', ...payload } });

  it('places the order on status Ok', () => {
    expect(v1ResponseToOutcome(200, ok({ status: 'New', requestedLots: 5, executedLots: 0 }))).toEqual({
      status: 'placed',
      orderId: '1234',
      replayed: false,
    });
  });

  it('checks the documented v1 answers against the spec', () => {
    expect(
      specViolations(
        JSON.parse(ok({ status: 'New', requestedLots: 5, executedLots: 0 })),
        checkedSchema('tinkoffV1LimitOrderResponse'),
      ),
    ).toEqual([]);
    expect(
      specViolations(
        { trackingId: 't', status: 'Error', payload: { message: 'Недостаточно средств', code: 'NOT_ENOUGH_BALANCE' } },
        checkedSchema('tinkoffV1Error'),
      ),
    ).toEqual([]);
  });

  it('accepts the status in any case', () => {
    expect(v1ResponseToOutcome(200, JSON.stringify({ status: 'OK', payload: { status: 'new' } }))).toMatchObject({
      status: 'placed',
    });
  });

  it.each([
    ['with its message', { status: 'Rejected', message: 'Недостаточно средств' }, 'Недостаточно средств'],
    ['in lower case', { status: 'rejected', message: 'Нет торгов' }, 'Нет торгов'],
    ['without a message', { status: 'Rejected' }, 'Запрос не выполнен'],
  ])('refuses a Rejected order %s', (_case, payload, message) => {
    expect(v1ResponseToOutcome(200, ok(payload))).toEqual({ status: 'refused', message });
  });

  it.each([
    [500, 'Недостаточно средств'],
    [400, 'Instrument not found'],
    [200, 'Заявка не принята'],
  ])('refuses a status Error answer (HTTP %i) with its message', (status, message) => {
    const text = JSON.stringify({ trackingId: 't', status: 'Error', payload: { message, code: 'X' } });

    expect(v1ResponseToOutcome(status, text)).toEqual({ status: 'refused', message });
  });

  it('refuses a status Error answer without a message with "Запрос не выполнен"', () => {
    expect(v1ResponseToOutcome(500, '{"trackingId":"t","status":"Error","payload":{}}')).toEqual({
      status: 'refused',
      message: 'Запрос не выполнен',
    });
  });

  it('treats 401 as a bad trading token (400), whatever the body', () => {
    expectBadToken(() => v1ResponseToOutcome(401, ''));
    expectBadToken(() => v1ResponseToOutcome(401, HTML));
  });

  it.each([
    ['HTML', 200, HTML],
    ['empty', 200, ''],
    ['Ok without payload', 200, '{"status":"Ok"}'],
    ['an unknown status', 200, '{"status":"Maybe","payload":{}}'],
    ['Ok on a 500', 500, '{"status":"Ok","payload":{"status":"New"}}'],
    ['a 502 page', 502, HTML],
  ])('treats %s as the broker unavailable', (_case, status, text) => {
    expectUnavailable(() => v1ResponseToOutcome(status, text), text || undefined);
  });
});

describe('orderToListing and listingToInstrumentRequest (an order without f)', () => {
  const order = { ...ORDER, figi: undefined };

  it.each([
    ['no exchange', undefined, { ticker: 'BRK.B', classCode: 'TQBR' }],
    ['MOEX', 'MOEX', { ticker: 'BRK.B', classCode: 'TQBR' }],
    ['SPBX', 'SPBX', { ticker: 'BRK.B', classCode: 'SPBXM' }],
  ] as const)('looks the ticker up, in T-Invest spelling, where %s says', (_case, exchange, listing) => {
    expect(orderToListing({ ...order, exchange }, 'TQBR')).toEqual(listing);
  });

  it('takes the configured class code for MOEX', () => {
    expect(orderToListing({ ...order, exchange: 'MOEX' }, 'TQTF').classCode).toBe('TQTF');
  });

  it('asks GetInstrumentBy by ticker within the class code, as the spec describes the request', () => {
    const request = listingToInstrumentRequest({ ticker: 'SBER', classCode: 'TQBR' });

    expect(request).toEqual({ idType: 'INSTRUMENT_ID_TYPE_TICKER', classCode: 'TQBR', id: 'SBER' });
    expect(InstrumentRequestSchema.safeParse(request).success).toBe(true);
    expect(specViolations(request, checkedSchema('tinvestInstrumentRequest'))).toEqual([]);
  });
});

describe('instrumentResponseToLookup', () => {
  const UID = 'e6123145-9665-43e0-8413-cd61b8aa9b13';
  const instrument = (fields: Record<string, unknown>) =>
    JSON.stringify({ instrument: { figi: 'BBG004730N88', ticker: 'SBER', classCode: 'TQBR', uid: UID, ...fields } });
  const error = (code: number, description: number, message: string) => JSON.stringify({ code, message, description });

  it.each([
    ['tradable through the API', { apiTradeAvailableFlag: true, lot: 10 }, true],
    ['not tradable through the API', { apiTradeAvailableFlag: false }, false],
    ['without the flag (proto3 JSON leaves a false out)', {}, false],
  ])('finds an instrument %s', (_case, fields, apiTradeAvailable) => {
    expect(instrumentResponseToLookup(200, instrument(fields))).toEqual({
      status: 'found',
      uid: UID,
      apiTradeAvailable,
    });
    expect(specViolations(JSON.parse(instrument(fields)).instrument, checkedSchema('tinvestInstrument'))).toEqual([]);
  });

  it('answers 50002 as not found', () => {
    expect(instrumentResponseToLookup(404, error(5, 50002, 'Instrument not found'))).toEqual({ status: 'not-found' });
  });

  it('passes another error of the broker on as a refusal with its message', () => {
    expect(instrumentResponseToLookup(400, error(3, 30013, '`class_code` require for `id_type` = `ticker`'))).toEqual({
      status: 'refused',
      message: '`class_code` require for `id_type` = `ticker`',
    });
  });

  it('answers a rejected token as "Неверный торговый токен"', () => {
    expectBadToken(() => instrumentResponseToLookup(401, ''));
    expectBadToken(() => instrumentResponseToLookup(400, error(16, 40003, 'bad token')));
  });

  it.each([
    ['a 200 without an instrument', 200, '{}'],
    ['a 200 without a uid', 200, instrument({ uid: '' })],
    ['HTML', 200, HTML],
    ['a 500', 500, error(13, 70001, 'Internal error')],
    ['a 429', 429, ''],
    ['a 404 page', 404, HTML],
  ])('treats %s as the broker unavailable', (_case, status, text) => {
    expectUnavailable(() => instrumentResponseToLookup(status, text), text || undefined);
  });
});

describe('listedOrderToTinkoffTerms', () => {
  const order = { ...ORDER, figi: undefined };
  const listing = { ticker: 'BRK.B', classCode: 'SPBXM' };
  const refusal = (act: () => unknown) => thrown(act) as InstrumentRefusedError;

  it('names the instrument by the uid T-Invest gave, and says where it was found', () => {
    const terms = listedOrderToTinkoffTerms(order, listing, { status: 'found', uid: 'u-1', apiTradeAvailable: true });

    expect(terms).toEqual({ figi: 'u-1', side: 'buy', lots: 5, price: '12.3', listing });
    expect(orderToPostOrderRequest(terms, ACCOUNT, ORDER_ID).instrumentId).toBe('u-1');
  });

  it.each([
    ['not found', { status: 'not-found' }, 'Инструмент не найден: BRK.B (SPBXM)', 'not found'],
    [
      'not tradable through the API',
      { status: 'found', uid: 'u-1', apiTradeAvailable: false },
      'Инструмент недоступен для торговли через API: BRK.B',
      'not tradable through the API',
    ],
    ['refused with a message', { status: 'refused', message: ' Нет доступа ' }, 'Нет доступа', 'lookup refused'],
    ['refused without a message', { status: 'refused', message: '' }, 'Запрос не выполнен', 'lookup refused'],
  ] as const)('refuses an instrument %s with 400 and the reason', (_case, lookup, publicMessage, reason) => {
    const error = refusal(() => listedOrderToTinkoffTerms(order, listing, lookup));

    expect(error).toBeInstanceOf(InstrumentRefusedError);
    expect(error).toMatchObject({ statusCode: 400, publicMessage, reason });
  });
});
