import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadAlorConfig } from '#shared/brokers/alor/config.ts';
import { createAlorHandler } from '#shared/brokers/alor/index.ts';
import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { createTinkoffHandler } from '#shared/brokers/tinkoff/index.ts';
import { ANSWER_MARGIN_MS, ANSWER_WITHIN_MS, type Broker, DEFAULT_BROKER_TIMEOUT_MS, ENV } from '#shared/facts.ts';
import type { StoreClients } from '#shared/store/sdk.ts';
import { loadedStoreSdk } from '#shared/store/sdk-modules.ts';
import { ValueStore } from '#shared/store/value-store.ts';
import { apiGatewayEvent } from '../helpers/events.ts';
import { logLines } from '../helpers/logs.ts';

/**
 * The store-timeout row (docs/contract.md#store-timeout) on a fake clock: a store that never answers is waited for
 * exactly until the request's deadline, so the answer is there at 2,700 ms of the fake clock, inside the 2,900 ms
 * promised (docs/contract.md#deadline-and-retries), and not a millisecond before. The bundled functions are run
 * against a real hanging store in tests/infra/bundle.test.ts.
 */

const SECRET = 'store-deadline-secret-5b2e';
const STORED = { webhookSecret: 'ppp/webhook-secret', token: 'ppp/token', account: '/ppp/account' };
const ORDER = { t: 'SBER', p: '250.5', v: 1, d: 'buy', f: 'BBG004730N88' };

/** Secrets Manager and SSM as a test wants them: `hanging` ids never answer, the others give their value. */
function store(hanging: readonly string[]): ValueStore {
  const values: Record<string, string> = {
    [STORED.webhookSecret]: SECRET,
    [STORED.token]: 'a-broker-token-9d1f',
    [STORED.account]: 'D00000',
  };
  const send = (command: { input: { SecretId?: string; Name?: string } }) => {
    const id = command.input.SecretId ?? command.input.Name ?? '';
    if (hanging.includes(id)) return new Promise(() => undefined);
    return Promise.resolve(
      command.input.SecretId === undefined ? { Parameter: { Value: values[id] } } : { SecretString: values[id] },
    );
  };
  const clients = { secretsManager: { send }, ssm: { send } } as unknown as StoreClients;
  return new ValueStore({ ttlMs: 300_000, sdk: loadedStoreSdk, clients: () => clients });
}

function handler(broker: Broker, hanging: readonly string[]) {
  const env =
    broker === 'alor'
      ? { [ENV.alorRefreshTokenSecretId]: STORED.token, [ENV.alorPortfolioParameter]: STORED.account }
      : { [ENV.tinkoffTokenSecretId]: STORED.token, [ENV.tinkoffAccountIdParameter]: STORED.account };
  const deps = { store: store(hanging) };
  const common = { [ENV.webhookSecretId]: STORED.webhookSecret, ...env };
  return broker === 'alor'
    ? createAlorHandler(loadAlorConfig(common), deps)
    : createTinkoffHandler(loadTinkoffConfig(common), deps);
}

const signal = (broker: Broker) =>
  apiGatewayEvent({
    route: `POST /${broker}`,
    body: JSON.stringify(ORDER),
    headers: { 'x-webhook-secret': SECRET },
  });

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe.each(['alor', 'tinkoff'] as const)('%s: store-timeout on a fake clock', (broker) => {
  it.each([
    [
      'the webhook secret',
      [STORED.webhookSecret],
      ANSWER_WITHIN_MS - ANSWER_MARGIN_MS,
      `secret:${STORED.webhookSecret}`,
    ],
    ['the broker token', [STORED.token], DEFAULT_BROKER_TIMEOUT_MS, `secret:${STORED.token}`],
    ['the account', [STORED.account], DEFAULT_BROKER_TIMEOUT_MS, `parameter:${STORED.account}`],
  ] as const)(
    'a hanging read of %s is answered 504 exactly at its deadline (%i ms)',
    async (_what, hanging, atMs, key) => {
      const answer = handler(broker, hanging)(signal(broker));
      const settled = vi.fn();
      answer.then(settled, settled);

      await vi.advanceTimersByTimeAsync(atMs - 1);
      expect(settled).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(1);

      expect(settled).toHaveBeenCalled();
      expect(await answer).toMatchObject({ statusCode: 504, body: 'Хранилище секретов не ответило вовремя' });
      expect(logLines()).toEqual([
        expect.objectContaining({ message: 'webhook answered', status: 504, outcome: 'store_timeout', store: key }),
      ]);
    },
  );
});

describe.each(['alor', 'tinkoff'] as const)('%s: a ver 2 signal on a fake clock', (broker) => {
  it('store-timeout: a hanging read of the broker token is answered 504 in JSON exactly at the deadline', async () => {
    const body = { ver: 2, t: 'MOEX:SBER', pos: 1, o: 'market', id: 'store-deadline-v2' };
    const event = apiGatewayEvent({
      route: `POST /${broker}`,
      body: JSON.stringify(body),
      headers: { 'x-webhook-secret': SECRET },
    });
    const answer = handler(broker, [STORED.token])(event);
    const settled = vi.fn();
    answer.then(settled, settled);

    await vi.advanceTimersByTimeAsync(DEFAULT_BROKER_TIMEOUT_MS - 1);
    expect(settled).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);

    const response = await answer;
    expect(response.statusCode).toBe(504);
    expect(JSON.parse(response.body)).toMatchObject({
      result: 'store-timeout',
      message: 'Хранилище секретов не ответило вовремя',
      ticker: 'SBER',
      orders: [],
    });
    expect(logLines()).toEqual([
      expect.objectContaining({ status: 504, outcome: 'store_timeout', store: `secret:${STORED.token}` }),
    ]);
  });
});
