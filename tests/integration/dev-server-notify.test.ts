import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServerProcess, post, spawnDevServer } from '../e2e/dev-server-process.ts';

/**
 * `npm start`'s Telegram messages, as a developer sees them: a signal to the local API, the notifier fed with the
 * in-process function's log line, the message in the fake Telegram and on the console's state; a paper order filled
 * from the console's API, and its follow-up message (`FOLLOW_UP_DELAY_SECONDS=0`).
 */

const SECRET = 'dev-server-notify-secret-01';
const AUTH = { 'content-type': 'application/json', 'x-webhook-secret': SECRET };

interface State {
  books: { tinkoff: { orderId: string; status: string; lotsExecuted: number }[] };
  messages: { text: string; delivered: boolean }[];
}

async function state(server: DevServerProcess): Promise<State> {
  const response = await fetch(`${server.url}/api/state`, { signal: AbortSignal.timeout(5000) });
  return (await response.json()) as State;
}

describe('npm start: Telegram messages', () => {
  let server: DevServerProcess | undefined;
  const running = () => {
    if (server === undefined) throw new Error('dev server not started');
    return server;
  };

  beforeAll(async () => {
    server = await spawnDevServer({ WEBHOOK_SECRET: SECRET, FOLLOW_UP_DELAY_SECONDS: '0' });
  }, 30_000);
  afterAll(async () => {
    if (server !== undefined && server.child.exitCode === null) await server.stop('SIGINT');
  });

  it('says in the banner that messages go to the fake Telegram on 127.0.0.1', () => {
    expect(running().output()).toMatch(
      /Telegram\s+fake Telegram at http:\/\/127\.0\.0\.1:\d+ \(messages in the console\)/,
    );
  });

  it('tells a placed order and its follow-up, and lets the console fill the order partly', async () => {
    const order = { t: 'SBER', p: '250.5', v: 4, d: 'buy', f: 'BBG004730N88' };
    const titles = async () => (await state(running())).messages.map((message) => message.text.split('\n')[0]);

    expect(await post(running().tinkoff, JSON.stringify(order), AUTH)).toEqual({ status: 200, text: '200 OK' });

    // FOLLOW_UP_DELAY_SECONDS=0: the follow-up runs at once and finds the order still working.
    await expect
      .poll(titles, { timeout: 10_000 })
      .toEqual(['⏳ Заявка ещё не исполнена · T-Invest', '✅ Заявка выставлена · T-Invest']);
    const orderId = (await state(running())).books.tinkoff.at(-1)?.orderId ?? '';
    const change = await fetch(`${running().url}/api/paper/tinkoff/orders/${orderId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'partly-filled', filledLots: 3 }),
    });
    expect(change.status).toBe(200);
    expect((await state(running())).books.tinkoff.at(-1)).toMatchObject({ status: 'partly-filled', lotsExecuted: 3 });
  });

  it('refuses an order state change that is not JSON, or from a page of another host', async () => {
    const url = `${running().url}/api/paper/alor/orders/1`;
    const form = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'status=filled',
    });
    expect(form.status).toBe(400);
    const { port } = new URL(running().url);
    const rebound = await new Promise<number | undefined>((resolve, reject) => {
      const call = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/api/paper/alor/orders/1',
          headers: { host: `attacker.example:${port}`, 'content-type': 'application/json' },
          timeout: 5000,
        },
        (response) => {
          response.resume();
          resolve(response.statusCode);
        },
      );
      call.on('error', reject);
      call.end('{"status":"filled"}');
    });
    expect(rebound).toBe(403);
  });
});
