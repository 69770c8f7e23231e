import { describe, expect, it } from 'vitest';
import { securityResponseToInstrument } from '#shared/brokers/alor/mapping.ts';
import { accessTokenToHolder, summaryResponseToAnswers } from '#shared/brokers/alor/preflight-reads.ts';
import { expectCredentialRejected, expectUnavailable } from '../helpers/broker-errors.ts';
import { checkedSchema, specViolations } from './broker-spec.ts';

const HTML = '<html><body><h1>502 Bad Gateway</h1></body></html>';

function expectRefreshRejected(act: () => unknown): void {
  expectCredentialRejected(act, 403, 'Refresh-токен неверный, заблокирован либо истёк');
}

describe('the preflight read calls (access token claims, portfolio summary, instrument)', () => {
  const jwt = (claims: unknown) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

  it.each([
    [
      'its user and portfolios',
      { sub: 'P012345', portfolios: 'D12345 G12345  7500ABC', exp: 1 },
      { user: 'P012345', portfolios: ['D12345', 'G12345', '7500ABC'] },
    ],
    ['no portfolios when the claim is absent', { exp: 1 }, { user: undefined, portfolios: undefined }],
    ['nothing from claims of another shape', { portfolios: ['D1'] }, { user: undefined, portfolios: undefined }],
  ])('reads from an access token %s', (_case, claims, holder) => {
    expect(accessTokenToHolder(jwt(claims))).toEqual(holder);
  });

  it('reads nothing from a token that is not a JWT', () => {
    expect(accessTokenToHolder('not-a-jwt')).toEqual({ user: undefined, portfolios: undefined });
  });

  it.each([
    [200, '{"buyingPower":100.5}', true],
    [403, '', false],
    [404, '', false],
  ])('takes a summary answer %i as the portfolio answering: %s', (status, text, answers) => {
    expect(summaryResponseToAnswers(status, text)).toBe(answers);
  });

  it('reads the instrument, and no instrument for the documented 404', () => {
    const security = { symbol: 'SBER', shortname: 'Сбербанк', lotsize: 10, tradingStatus: 17, tradingStatusInfo: null };
    expect(
      specViolations({ ...security, tradingStatusInfo: 'нормальный период торгов' }, checkedSchema('alorSecurity')),
    ).toEqual([]);
    expect(securityResponseToInstrument(200, JSON.stringify(security))).toEqual(security);
    expect(securityResponseToInstrument(404, '')).toBeUndefined();
  });

  it.each([
    ['a 5xx', 502, '{}'],
    ['HTML', 200, HTML],
  ])('takes %s to a read as an unavailable broker', (_case, status, text) => {
    expectUnavailable(() => summaryResponseToAnswers(status, text));
    expectUnavailable(() => securityResponseToInstrument(status, text));
  });

  it('takes a 401 to a read as the access token refused', () => {
    expectRefreshRejected(() => summaryResponseToAnswers(401, ''));
    expectRefreshRejected(() => securityResponseToInstrument(401, ''));
  });
});
