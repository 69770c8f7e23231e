import { describe, expect, it } from 'vitest';
import { post, useDevServer } from '../e2e/dev-server-process.ts';

/**
 * `npm start` with v2 signals (docs/contract.md#signals-ver-2): the dev server as a child process, driven over HTTP; the
 * paper positions read through the console's state endpoint (`positions.alor`, `positions.tinkoff`: arrays of
 * `{instrument, lots}`), and the last price a market order fills at set through the console's API.
 */

const SECRET = 'dev-server-signals-secret-0001';
const AUTH = { 'content-type': 'application/json', 'x-webhook-secret': SECRET };

interface State {
  positions: { alor: { instrument: string; lots: number }[]; tinkoff: { instrument: string; lots: number }[] };
  books: { alor: { symbol: string; type: string; price: number }[]; tinkoff: { orderType: string; price: string }[] };
}

describe('npm start: v2 signals and the paper positions', () => {
  const running = useDevServer({ WEBHOOK_SECRET: SECRET });
  const state = async (): Promise<State> => {
    const response = await fetch(`${running().url}/api/state`, { signal: AbortSignal.timeout(5000) });
    return (await response.json()) as State;
  };
  const setLastPrice = (broker: string, body: unknown) =>
    fetch(`${running().url}/api/paper/${broker}/last-price`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });

  it('starts with no positions on either paper account', async () => {
    expect((await state()).positions).toEqual({ alor: [], tinkoff: [] });
  });

  it('shows the position a pos signal reaches, filled at the last price the console set', async () => {
    expect((await setLastPrice('alor', { instrument: 'SBER', price: 287.5 })).status).toBe(200);
    expect((await setLastPrice('tinkoff', { instrument: 'BBG004730N88', price: 288.25 })).status).toBe(200);

    const alor = await post(running().alor, '{"ver":2,"t":"MOEX:SBER","pos":3,"o":"market"}', AUTH);
    const tinkoff = await post(running().tinkoff, '{"ver":2,"t":"MOEX:SBER","pos":-2,"o":"market"}', AUTH);

    expect(alor.status).toBe(200);
    expect(JSON.parse(alor.text)).toMatchObject({ result: 'placed', target: 3 });
    expect(JSON.parse(tinkoff.text)).toMatchObject({ result: 'placed', target: -2 });
    const after = await state();
    expect(after.positions).toEqual({
      alor: [{ instrument: 'SBER', lots: 3 }],
      tinkoff: [{ instrument: 'BBG004730N88', lots: -2 }],
    });
    expect(after.books.alor.at(-1)).toMatchObject({ symbol: 'SBER', type: 'market', price: 287.5 });
    expect(after.books.tinkoff.at(-1)).toMatchObject({ orderType: 'ORDER_TYPE_MARKET', price: '288.25' });
  });

  it('answers the capabilities of each function', async () => {
    for (const route of [running().alor, running().tinkoff]) {
      const answer = await post(route, '{"check":true,"ver":2}', AUTH);
      expect(JSON.parse(answer.text)).toMatchObject({ result: 'check', versions: [2] });
    }
  });

  it('refuses a last price that is not a price, and a body that is not JSON', async () => {
    const zero = await setLastPrice('alor', { instrument: 'SBER', price: 0 });
    expect({ status: zero.status, body: await zero.json() }).toEqual({
      status: 400,
      body: { message: 'a last price is a number above zero' },
    });
    const text = await fetch(`${running().url}/api/paper/alor/last-price`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
      signal: AbortSignal.timeout(5000),
    });
    expect(text.status).toBe(400);
  });
});
