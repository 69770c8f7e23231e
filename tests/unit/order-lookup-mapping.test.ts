import { describe, expect, it } from 'vitest';
import { orderLookupPath } from '#shared/brokers/alor/client.ts';
import { orderLookupResponseToState as alorState } from '#shared/brokers/alor/mapping.ts';
import { orderLookupResponseToState as tinkoffState } from '#shared/brokers/tinkoff/mapping.ts';
import { BrokerCredentialRejectedError, BrokerUnavailableError } from '#shared/errors.ts';

/** A follow-up's order lookup, answer by answer: the order's state, or a typed failure. */

const alorOrder = (status: string, qty: number, filled: number) =>
  JSON.stringify({
    id: '41423837024',
    symbol: 'GAZP',
    exchange: 'MOEX',
    type: 'limit',
    side: 'buy',
    status,
    qty,
    filled,
  });
const tinkoffOrder = (executionReportStatus: string, lotsRequested: string, lotsExecuted: string) =>
  JSON.stringify({ orderId: '77', executionReportStatus, lotsRequested, lotsExecuted });

describe('Alor order lookup', () => {
  it.each([
    [alorOrder('filled', 3, 3), { status: 'filled', lots: 3, filledLots: 3 }],
    [alorOrder('working', 3, 1), { status: 'partly-filled', lots: 3, filledLots: 1 }],
    [alorOrder('working', 3, 0), { status: 'working', lots: 3, filledLots: 0 }],
    [alorOrder('rejected', 3, 0), { status: 'rejected', lots: 3, filledLots: 0 }],
    [alorOrder('canceled', 3, 2), { status: 'canceled', lots: 3, filledLots: 2 }],
  ])('reads %s', (text, state) => {
    expect(alorState(200, text)).toEqual(state);
  });

  it('reads 404 as an order Alor does not know', () => {
    expect(alorState(404, '')).toEqual({ status: 'not-found' });
  });

  it.each([
    [401, '', BrokerCredentialRejectedError],
    [503, '', BrokerUnavailableError],
    [200, '<html></html>', BrokerUnavailableError],
    [200, JSON.stringify({ status: 'partially' }), BrokerUnavailableError],
  ])('fails on HTTP %i %j', (status, text, error) => {
    expect(() => alorState(status, text)).toThrow(error);
  });

  it('puts the exchange, portfolio and order id into the path, encoded', () => {
    expect(orderLookupPath('MOEX', 'D 1', '42/1')).toBe('/md/v2/Clients/MOEX/D%201/orders/42%2F1');
  });
});

describe('T-Invest order lookup', () => {
  it.each([
    [tinkoffOrder('EXECUTION_REPORT_STATUS_FILL', '3', '3'), { status: 'filled', lots: 3, filledLots: 3 }],
    [
      tinkoffOrder('EXECUTION_REPORT_STATUS_PARTIALLYFILL', '3', '1'),
      { status: 'partly-filled', lots: 3, filledLots: 1 },
    ],
    [tinkoffOrder('EXECUTION_REPORT_STATUS_NEW', '3', '0'), { status: 'working', lots: 3, filledLots: 0 }],
    [tinkoffOrder('EXECUTION_REPORT_STATUS_UNSPECIFIED', '3', '0'), { status: 'working', lots: 3, filledLots: 0 }],
    [tinkoffOrder('EXECUTION_REPORT_STATUS_REJECTED', '3', '0'), { status: 'rejected', lots: 3, filledLots: 0 }],
    [tinkoffOrder('EXECUTION_REPORT_STATUS_CANCELLED', '3', '0'), { status: 'canceled', lots: 3, filledLots: 0 }],
  ])('reads %s', (text, state) => {
    expect(tinkoffState(200, text)).toEqual(state);
  });

  it('reads error 50005 as an order T-Invest does not know', () => {
    expect(tinkoffState(404, JSON.stringify({ code: 5, message: 'Order not found', description: '50005' }))).toEqual({
      status: 'not-found',
    });
  });

  it.each([
    [401, '', BrokerCredentialRejectedError],
    [400, JSON.stringify({ code: 16, description: 40003 }), BrokerCredentialRejectedError],
    [500, '', BrokerUnavailableError],
    [200, JSON.stringify({ lotsExecuted: '1' }), BrokerUnavailableError],
  ])('fails on HTTP %i %j', (status, text, error) => {
    expect(() => tinkoffState(status, text)).toThrow(error);
  });
});
