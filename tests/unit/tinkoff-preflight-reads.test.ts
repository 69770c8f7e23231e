import { describe, expect, it } from 'vitest';
import { instrumentIdToRequest, instrumentResponseToInstrument } from '#shared/brokers/tinkoff/mapping.ts';
import { accountsResponseToAccounts, infoResponseToQualified } from '#shared/brokers/tinkoff/preflight-reads.ts';
import { expectCredentialRejected, expectUnavailable } from '../helpers/broker-errors.ts';
import { checkedSchema, specViolations } from './broker-spec.ts';

const FIGI = 'BBG000B9XRY4';
const ACCOUNT = '2000123456';
const HTML = '<!DOCTYPE html><html><body>Service Unavailable</body></html>';

function expectBadToken(act: () => unknown): void {
  expectCredentialRejected(act, 400, 'Неверный торговый токен');
}

describe('the preflight read calls (GetAccounts, GetInfo, GetInstrumentBy)', () => {
  const TOKEN_REFUSED = JSON.stringify({
    code: 16,
    message: 'Authentication token is missing or invalid',
    description: 40003,
  });
  const ACCOUNT_JSON = {
    id: ACCOUNT,
    type: 'ACCOUNT_TYPE_TINKOFF',
    name: 'Брокерский счёт',
    status: 'ACCOUNT_STATUS_OPEN',
    openedDate: '2024-01-15T07:00:00Z',
    accessLevel: 'ACCOUNT_ACCESS_LEVEL_READ_ONLY',
  };

  it("reads the accounts with their status and the token's access", () => {
    expect(specViolations(ACCOUNT_JSON, checkedSchema('tinvestAccount'))).toEqual([]);
    expect(accountsResponseToAccounts(200, JSON.stringify({ accounts: [ACCOUNT_JSON] }))).toEqual([
      {
        id: ACCOUNT,
        type: 'ACCOUNT_TYPE_TINKOFF',
        name: 'Брокерский счёт',
        status: 'ACCOUNT_STATUS_OPEN',
        accessLevel: 'ACCOUNT_ACCESS_LEVEL_READ_ONLY',
      },
    ]);
    expect(accountsResponseToAccounts(200, '{}')).toEqual([]);
  });

  it.each([
    ['HTTP 401', 401, ''],
    ['error 40003', 400, TOKEN_REFUSED],
  ])('takes %s as a refused token', (_case, status, text) => {
    expectBadToken(() => accountsResponseToAccounts(status, text));
    expectBadToken(() => infoResponseToQualified(status, text));
    expectBadToken(() => instrumentResponseToInstrument(status, text));
  });

  it.each([
    ['GetAccounts', 'a 5xx', accountsResponseToAccounts, 503, '{}'],
    ['GetAccounts', 'HTML', accountsResponseToAccounts, 200, HTML],
    ['GetAccounts', 'JSON of another shape', accountsResponseToAccounts, 200, '{"accounts":"none"}'],
    ['GetInfo', 'a 5xx', infoResponseToQualified, 503, '{}'],
    ['GetInfo', 'HTML', infoResponseToQualified, 200, HTML],
    ['GetInstrumentBy', 'HTML', instrumentResponseToInstrument, 200, HTML],
  ] as const)('takes %s answering %s as an unavailable broker', (_method, _case, read, status, text) => {
    expectUnavailable(() => read(status, text));
  });

  it('reads the qualified investor status, false when absent', () => {
    expect(infoResponseToQualified(200, '{"qualStatus":true}')).toBe(true);
    expect(infoResponseToQualified(200, '{}')).toBe(false);
  });

  it.each([
    [FIGI, { idType: 'INSTRUMENT_ID_TYPE_FIGI', id: FIGI }],
    [
      'e6123145-9665-43e0-8413-cd61b8aa9b13',
      { idType: 'INSTRUMENT_ID_TYPE_UID', id: 'e6123145-9665-43e0-8413-cd61b8aa9b13' },
    ],
  ])('looks %s up the way a signal names it', (id, request) => {
    expect(instrumentIdToRequest(id)).toEqual(request);
    expect(specViolations(request, checkedSchema('tinvestInstrumentRequest'))).toEqual([]);
  });

  it('reads the instrument, its flags false when absent, and no instrument for 50002', () => {
    const instrument = {
      uid: '2c2e4645-e9f4-48d7-a389-396bcfc944f9',
      figi: FIGI,
      ticker: 'AAPL',
      name: 'Apple',
      lot: 1,
      apiTradeAvailableFlag: true,
      buyAvailableFlag: true,
    };
    expect(instrumentResponseToInstrument(200, JSON.stringify({ instrument }))).toEqual({
      ...instrument,
      sellAvailableFlag: false,
      forQualInvestorFlag: false,
    });
    const notFound = JSON.stringify({ code: 5, message: 'Instrument not found', description: 50002 });
    expect(instrumentResponseToInstrument(404, notFound)).toBeUndefined();
    expect(instrumentResponseToInstrument(400, notFound)).toBeUndefined();
    expectUnavailable(() => instrumentResponseToInstrument(500, '{}'));
  });
});
