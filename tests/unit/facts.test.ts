import { describe, expect, it } from 'vitest';
import { ENV, FUNCTION_SETTING_NAME, isProductionBrokerUrl, LOCAL_ENV } from '#shared/facts.ts';

describe('shared/facts.ts', () => {
  it('counts every environment variable of the functions as a function setting, and none of the local run', () => {
    expect(Object.values(ENV).filter((name) => !FUNCTION_SETTING_NAME.test(name))).toEqual([]);
    expect(Object.values(LOCAL_ENV).filter((name) => FUNCTION_SETTING_NAME.test(name))).toEqual([]);
  });

  it.each([
    ['https://api.alor.ru', true],
    ['https://oauth.alor.ru/refresh', true],
    ['https://invest-public-api.tbank.ru/rest', true],
    ['https://invest-public-api.tinkoff.ru/rest', true],
    ['https://api-invest.tinkoff.ru/openapi', true],
    ['https://apidev.alor.ru', false],
    ['https://oauthdev.alor.ru', false],
    ['https://sandbox-invest-public-api.tbank.ru/rest', false],
    ['http://127.0.0.1:4010', false],
  ])('tells whether %s trades real money: %s', (url, production) => {
    expect(isProductionBrokerUrl(url)).toBe(production);
  });
});
