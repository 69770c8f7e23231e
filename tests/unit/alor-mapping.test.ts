import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMIT_ORDER_PATH } from '#shared/brokers/alor/client.ts';
import {
  orderResponseToOutcome,
  orderToAlorTerms,
  REFRESH_REJECTED_MESSAGE,
  refreshResponseToAccessToken,
  termsToAlorLimitOrder,
  tickerToAlorSymbol,
} from '#shared/brokers/alor/mapping.ts';
import { type AlorOrder, AlorOrderSchema } from '#shared/brokers/alor/order.ts';
import { AlorLimitOrderRequestSchema } from '#shared/brokers/alor/schemas.ts';
import type { OrderOutcome } from '#shared/brokers/outcome.ts';
import { toCanonicalDecimal } from '#shared/decimal.ts';
import { expectCredentialRejected, expectUnavailable } from '../helpers/broker-errors.ts';
import { parsedOrders } from '../helpers/orders.ts';
import { checkedSchema, specViolations } from './broker-spec.ts';

const ORDER: AlorOrder = { ticker: 'BRK.B', price: '300.5', lots: 2, side: 'buy', idempotencyKey: undefined };
const HTML = '<html><body><h1>502 Bad Gateway</h1></body></html>';

function expectRefreshRejected(act: () => unknown): void {
  expectCredentialRejected(act, 403, 'Refresh-токен неверный, заблокирован либо истёк');
}

describe('tickerToAlorSymbol', () => {
  it.each([
    ['BRK.B', 'BRK B'],
    ['SBER', 'SBER'],
    ['A.B.C', 'A B.C'],
    ['BRK B', 'BRK B'],
  ])('turns %j into %j (the first dot only)', (ticker, symbol) => {
    expect(tickerToAlorSymbol(ticker)).toBe(symbol);
  });
});

describe('termsToAlorLimitOrder', () => {
  it('builds the OrdersActionsLimitTVPost body', () => {
    expect(termsToAlorLimitOrder(orderToAlorTerms(ORDER, 'SPBX'), 'D71111')).toEqual({
      side: 'buy',
      quantity: 2,
      price: 300.5,
      instrument: { symbol: 'BRK B', exchange: 'SPBX' },
      user: { portfolio: 'D71111' },
    });
  });

  it('uses the configured exchange', () => {
    expect(termsToAlorLimitOrder(orderToAlorTerms({ ...ORDER, side: 'sell' }, 'MOEX'), 'D71111')).toMatchObject({
      side: 'sell',
      instrument: { exchange: 'MOEX' },
    });
  });

  it('uses the exchange the signal names instead of the configured one', () => {
    expect(termsToAlorLimitOrder(orderToAlorTerms({ ...ORDER, exchange: 'MOEX' }, 'SPBX'), 'D71111')).toMatchObject({
      instrument: { symbol: 'BRK B', exchange: 'MOEX' },
    });
  });

  it('sends the price as a JSON number, never a string', () => {
    const json = JSON.stringify(
      termsToAlorLimitOrder(orderToAlorTerms({ ...ORDER, price: '0.0000001' }, 'SPBX'), 'D71111'),
    );

    expect(json).toContain('"price":1e-7');
    expect(json).toContain('"quantity":2');
  });

  it('targets the documented limit-order path', () => {
    expect(LIMIT_ORDER_PATH).toBe('/commandapi/warptrans/TRADE/v2/client/orders/actions/limit');
  });

  const parsedOrder = parsedOrders(AlorOrderSchema);

  it('builds a body that the wire schema and the official spec accept, with the exact price, for any order', () => {
    fc.assert(
      fc.property(
        parsedOrder,
        fc.constantFrom('SPBX', 'MOEX'),
        fc.stringMatching(/^[A-Z0-9]{1,12}$/),
        (order, exchange, portfolio) => {
          const body = termsToAlorLimitOrder(orderToAlorTerms(order, exchange), portfolio);
          const onTheWire: unknown = JSON.parse(JSON.stringify(body));

          expect(AlorLimitOrderRequestSchema.safeParse(onTheWire).success).toBe(true);
          expect(specViolations(onTheWire, checkedSchema('alorLimitOrderRequest'))).toEqual([]);
          // The double Alor receives reads back as exactly the decimal the trader sent.
          expect(toCanonicalDecimal(String((onTheWire as { price: number }).price))).toBe(order.price);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('refreshResponseToAccessToken', () => {
  it('returns the AccessToken of a 200 answer', () => {
    expect(refreshResponseToAccessToken(200, '{"AccessToken":"eyJ.jwt.sig"}')).toBe('eyJ.jwt.sig');
  });

  it.each([
    ['401', 401, ''],
    ['403', 403, '{"message":"Forbidden"}'],
    ['400', 400, '{"message":"Invalid refresh token"}'],
    ['200 without AccessToken', 200, '{"message":"token expired"}'],
    ['200 with an empty AccessToken', 200, '{"AccessToken":""}'],
    ['200 with a non-string AccessToken', 200, '{"AccessToken":42}'],
    ['200 with JSON null', 200, 'null'],
  ])('treats %s as a rejected refresh token (403)', (_case, status, text) => {
    expectRefreshRejected(() => refreshResponseToAccessToken(status, text));
  });

  it('exports the contract text of the 403 row', () => {
    expect(REFRESH_REJECTED_MESSAGE).toBe('Refresh-токен неверный, заблокирован либо истёк');
  });

  it.each([
    ['an HTML 200', 200, HTML],
    ['an empty 200', 200, ''],
    ['a 500', 500, '{"AccessToken":"x"}'],
    ['a 502 page', 502, HTML],
    ['a 429', 429, ''],
    ['a 404', 404, ''],
  ])('treats %s as the broker unavailable', (_case, status, text) => {
    expectUnavailable(() => refreshResponseToAccessToken(status, text), text || undefined);
  });
});

describe('orderResponseToOutcome', () => {
  it.each([
    ['a string orderNumber', '{"message":"success","orderNumber":"18995978560"}', '18995978560'],
    ['a numeric orderNumber', '{"message":"success","orderNumber":18995978560}', '18995978560'],
    ['no orderNumber', '{"message":"success"}', undefined],
  ])('places the order on 200 success with %s', (_case, text, orderId) => {
    expect(orderResponseToOutcome(200, text)).toEqual({
      status: 'placed',
      orderId,
      replayed: false,
    } satisfies OrderOutcome);
  });

  it('checks the documented success answer against the spec', () => {
    expect(
      specViolations({ message: 'success', orderNumber: '18995978560' }, checkedSchema('alorOrderResponse')),
    ).toEqual([]);
  });

  it('refuses with the message of a 200 that is not "success"', () => {
    expect(orderResponseToOutcome(200, '{"message":"Order rejected by exchange"}')).toEqual({
      status: 'refused',
      message: 'Order rejected by exchange',
    });
  });

  it.each([
    ['HTML', HTML],
    ['empty', ''],
    ['JSON without message', '{"orderNumber":"1"}'],
    ['a JSON array', '[]'],
  ])('treats a 200 that is %s as the broker unavailable', (_case, text) => {
    expectUnavailable(() => orderResponseToOutcome(200, text));
  });

  it('refuses with the broker’s message on 400', () => {
    const text = '{"message":"Недостаточно средств для открытия позиции"}';

    expect(orderResponseToOutcome(400, text)).toEqual({
      status: 'refused',
      message: 'Недостаточно средств для открытия позиции',
    });
  });

  it('refuses with the fallback text when a 400 carries no message', () => {
    expect(orderResponseToOutcome(400, '{}')).toEqual({ status: 'refused', message: 'Запрос не выполнен' });
  });

  describe('the "already handled" replay of an X-REQID', () => {
    const ALREADY = 'Request with such X-ALOR-REQID was already handled. We return the response to that request.';
    const replay = (oldResponse: unknown) => JSON.stringify({ message: ALREADY, oldResponse });

    it('answers a replayed success, body as an object, as placed', () => {
      const text = replay({ statusCode: 200, body: { message: 'success', orderNumber: '18995978560' } });

      expect(orderResponseToOutcome(400, text)).toEqual({ status: 'placed', orderId: '18995978560', replayed: true });
    });

    it('answers a replayed success, body as a JSON string, as placed', () => {
      const text = replay({ statusCode: 200, body: JSON.stringify({ message: 'success', orderNumber: 18995978560 }) });

      expect(orderResponseToOutcome(400, text)).toEqual({ status: 'placed', orderId: '18995978560', replayed: true });
    });

    it('checks the documented replay answer against the spec', () => {
      const answer = JSON.parse(replay({ statusCode: 200, body: { message: 'success', orderNumber: '1' } }));

      expect(specViolations(answer, checkedSchema('alorOrderError'))).toEqual([]);
    });

    it.each([
      ['as an object', { message: 'Недостаточно средств' }],
      ['as a JSON string', JSON.stringify({ message: 'Недостаточно средств' })],
    ])('answers a replayed refusal, body %s, with the first refusal’s message', (_case, body) => {
      expect(orderResponseToOutcome(400, replay({ statusCode: 400, body }))).toEqual({
        status: 'refused',
        message: 'Недостаточно средств',
      });
    });

    it('does not take a replayed 200 whose message is not "success" as placed', () => {
      expect(orderResponseToOutcome(400, replay({ statusCode: 200, body: { message: 'rejected' } }))).toEqual({
        status: 'refused',
        message: 'rejected',
      });
    });

    it('falls back to the outer message when the replayed body has none', () => {
      expect(orderResponseToOutcome(400, replay({ statusCode: 400, body: {} }))).toEqual({
        status: 'refused',
        message: ALREADY,
      });
    });

    it.each([
      ['a string that is not JSON', 'oops'],
      ['a number', 5],
      ['null', null],
    ])('treats an oldResponse.body that is %s as the broker unavailable', (_case, body) => {
      expectUnavailable(() => orderResponseToOutcome(400, replay({ statusCode: 200, body })));
    });
  });

  it('treats 401 on the order call as a rejected refresh token (403)', () => {
    expectRefreshRejected(() => orderResponseToOutcome(401, ''));
  });

  it.each([
    ['400', 400],
    ['403', 403],
    ['404', 404],
  ])('answers %s without a body as a refusal without a message ("Запрос не выполнен")', (_case, status) => {
    expect(orderResponseToOutcome(status, '')).toEqual({ status: 'refused', message: 'Запрос не выполнен' });
  });

  it.each([
    ['400 HTML', 400, HTML],
    ['429', 429, '{"message":"Too many requests"}'],
    ['500', 500, '{"message":"Internal error"}'],
    ['502 HTML', 502, HTML],
    ['503', 503, ''],
    ['301', 301, ''],
  ])('treats %s as the broker unavailable, without quoting the body', (_case, status, text) => {
    const error = expectUnavailable(() => orderResponseToOutcome(status, text), text || undefined);

    expect(error.detail).toMatch(/^order HTTP \d{3}/);
  });
});
