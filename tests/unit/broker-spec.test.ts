import { describe, expect, it } from 'vitest';
import {
  CHECKED_SCHEMAS,
  catalogueEntry,
  checkedSchema,
  resolveCheckedSchemas,
  specComponent,
  specViolations,
} from './broker-spec.ts';

describe('broker spec snapshot', () => {
  it('holds every checked schema, each with properties', () => {
    for (const name of Object.keys(CHECKED_SCHEMAS) as Array<keyof typeof CHECKED_SCHEMAS>) {
      expect(Object.keys(checkedSchema(name).properties ?? {}).length, name).toBeGreaterThan(1);
    }
  });

  it('equals the schemas resolved from the spec snapshot in docs/broker-specs/', () => {
    expect(resolveCheckedSchemas()).toEqual(
      Object.fromEntries(Object.keys(CHECKED_SCHEMAS).map((name) => [name, checkedSchema(name as 'alorOrderError')])),
    );
  });

  it('reads block lists, quoted scalars and block scalars the way YAML does', () => {
    const direction = specComponent('tinvest-v2-openapi.yaml', 'v1OrderDirection');

    expect(direction.enum).toEqual(['ORDER_DIRECTION_UNSPECIFIED', 'ORDER_DIRECTION_BUY', 'ORDER_DIRECTION_SELL']);
    expect(direction.default).toBe('ORDER_DIRECTION_UNSPECIFIED');
    expect(specComponent('alor-WarpOpenAPIv2.yml', 'field_SideCommon').description).toContain('`buy` — Купля');
  });
});

describe('T-Invest error catalogue snapshot', () => {
  // shared/brokers/tinkoff/mapping.ts treats these codes of an error's `description` specially.
  it.each([
    ['40003', 'a rejected token', { type: 'UNAUTHENTICATED', message: 'Authentication token is missing or invalid' }],
    ['30057', 'a repeated orderId', { message: 'The order is a duplicate, but the order report was not found' }],
    ['50005', 'no order for the orderId', { type: 'NOT_FOUND', message: 'Order not found' }],
    ['50002', 'an instrument GetInstrumentBy does not know', { type: 'NOT_FOUND', message: 'Instrument not found' }],
  ])('has %s as %s', (code, _meaning, expected) => {
    expect(catalogueEntry(code)).toMatchObject(expected);
  });
});

describe('specViolations', () => {
  const schema = checkedSchema('tinvestPostOrderRequest');
  const valid = {
    instrumentId: 'BBG000B9XRY4',
    quantity: '1',
    price: { units: '12', nano: 300_000_000 },
    direction: 'ORDER_DIRECTION_BUY',
    accountId: '2000000000',
    orderType: 'ORDER_TYPE_LIMIT',
    orderId: '6f1c2c58-3b8e-5d6a-9b1f-0c2d3e4f5a6b',
  };

  it('finds nothing wrong with a conforming value', () => {
    expect(specViolations(valid, schema)).toEqual([]);
  });

  it.each([
    ['an unknown field', { ...valid, figi: 'BBG000B9XRY4' }, ['$.figi: not in the spec']],
    ['a missing required field', { ...valid, orderId: undefined }, ['$.orderId: not a string']],
    ['an absent required field', (({ orderId: _, ...rest }) => rest)(valid), ['$.orderId: required']],
    ['an int64 sent as a number', { ...valid, quantity: 1 }, ['$.quantity: not a string']],
    ['an int64 string with a fraction', { ...valid, quantity: '1.5' }, ['$.quantity: not an int64 string']],
    ['a value outside the enum', { ...valid, direction: 'BUY' }, ['$.direction: not in the enum']],
    [
      'a nested type error',
      { ...valid, price: { units: 12, nano: 0.5 } },
      ['$.price.units: not a string', '$.price.nano: not an integer'],
    ],
    ['int32 overflow', { ...valid, price: { units: '1', nano: 2 ** 31 } }, ['$.price.nano: not int32']],
  ])('reports %s', (_case, value, problems) => {
    expect(specViolations(value, schema)).toEqual(problems);
  });
});
