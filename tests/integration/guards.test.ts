import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GET_PARAMETER, startFakeAwsStore, UPDATE_ITEM } from '#local/aws-store.ts';
import { FAKE_TELEGRAM, startFakeTelegram } from '#local/fake-telegram.ts';
import { PAPER_ALOR, PAPER_INSTRUMENTS, PAPER_TINKOFF } from '#local/paper-broker/index.ts';
import { BROKERS, type Broker } from '#shared/facts.ts';
import { run as kill } from '../../scripts/kill.ts';
import { apiGatewayEvent } from '../helpers/events.ts';
import { type Env, importHandler, TEST_WEBHOOK_SECRET } from '../helpers/handlers.ts';
import { useLocalServer, usePaperBrokers } from '../helpers/local-servers.ts';
import { logLines } from '../helpers/logs.ts';
import {
  flatten,
  holdPosition,
  instrumentId,
  jsonAnswer,
  ordersOf,
  paperEnvOf,
  positionOf,
  signalEvent,
} from '../helpers/signals.ts';

/**
 * docs/contract.md#guards through the exported handler of each function, against both paper brokers: each guard
 * refuses an entry before anything is sent and lets an exit through; the kill switch set by `npm run kill` stops the
 * next entry within its TTL (on a fake clock: the cache is shown serving the old value until the TTL has passed); a
 * late signal is refused and the same one on time placed. Today's body is guarded too. Each test name starts with the
 * row of the contract it shows.
 */

const paper = usePaperBrokers();
const telegram = useLocalServer(startFakeTelegram, (started) => started.reset());
const TABLE = 'ppp-webhooks-position-locks';
const KILL_SWITCH = '/ppp-webhooks/kill-switch';
/** The AWS stores of the deployed functions: SSM (the kill switch, through the extension) and the lock's table. */
const store = useLocalServer(
  () => startFakeAwsStore({ tables: [TABLE] }),
  (started) => {
    started.resetRequests();
    started.setParameter(KILL_SWITCH, undefined);
    for (const key of [...started.items(TABLE).keys()]) started.deleteItem(TABLE, key);
  },
);

beforeEach(() => {
  for (const broker of BROKERS) {
    paper[broker].setScenario(undefined);
    setTrading(broker, 'SBER', true);
    paper[broker].setLastPrice(instrumentId(broker, 'SBER'), 250);
  }
});
afterEach(() => {
  vi.useRealTimers();
});

const envOf = (broker: Broker, overrides: Env = {}) => paperEnvOf(paper, broker, overrides);

/** The function's environment as deployed: the store (through its extension) and the lock's table, the fakes. */
function deployedEnv(broker: Broker, overrides: Env = {}): Env {
  return envOf(broker, { ...store.env(), ...store.extensionEnv(), POSITION_LOCK_TABLE: TABLE, ...overrides });
}

async function container(env: Env, broker: Broker) {
  const handler = await importHandler(broker, env);
  const send = async (body: Record<string, unknown>, options: { key?: string } = {}) =>
    jsonAnswer(await handler(signalEvent(broker, body, options)));
  /** Today's body, as the PPP widget sends it. */
  const order = async (body: Record<string, unknown>) => {
    const response = await handler(
      apiGatewayEvent({
        route: `POST /${broker}`,
        body: JSON.stringify(body),
        headers: { 'x-webhook-secret': TEST_WEBHOOK_SECRET },
      }),
    );
    return { status: response.statusCode, body: response.body };
  };
  return { send, order };
}

function setTrading(broker: Broker, ticker: string, trading: boolean) {
  if (broker === 'alor') paper.alor.setTrading('MOEX', ticker, trading);
  else paper.tinkoff.setTrading(instrumentId(broker, ticker), trading);
}

const SBER = 'MOEX:SBER';
const BUY = { t: SBER, d: 'buy', v: 1, o: 'market' };
/** Today's widget order for SBER at each broker (`f` is T-Invest's FIGI, ignored by Alor). */
const TODAY = { t: 'MOEX:SBER', p: 250, v: 1, d: 'buy', f: 'BBG004730N88' };

/** The kill switch command, against the fake store and the fake Telegram, with the stack's bot and chat stored. */
async function runKill(command: 'on' | 'off' | 'status') {
  store.setSecret('ppp-webhooks/telegram/bot-token', FAKE_TELEGRAM.botToken);
  store.setParameter('/ppp-webhooks/telegram/chat-id', FAKE_TELEGRAM.chatId);
  const out: string[] = [];
  const config = {
    endpoint: store.url,
    region: store.region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const code = await kill(
    [command],
    { TELEGRAM_API_URL: telegram.url },
    { out: (text) => out.push(text), err: (text) => out.push(text) },
    () => ({ secretsManager: new SecretsManagerClient(config), ssm: new SSMClient(config) }),
  );
  return { code, out };
}

describe.each(BROKERS)('%s: kill-switch', (broker) => {
  it('kill-switch: `npm run kill -- on` stops the next entry within its TTL, exits pass, and the chat is told', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-12-01T10:00:00Z') });
    flatten(paper, broker, 'SBER');
    const { send, order } = await container(deployedEnv(broker, { KILL_SWITCH_PARAMETER: KILL_SWITCH }), broker);
    expect((await send(BUY)).json.result).toBe('placed');
    const readsBefore = store.count(GET_PARAMETER, KILL_SWITCH);

    const on = await runKill('on');
    expect(on).toEqual({
      code: 0,
      out: [
        `Kill switch ON for PppWebhooks (${KILL_SWITCH} = on): every entry is refused within 5 s; exits (a close, a smaller position) pass.`,
        `Told the Telegram chat ${FAKE_TELEGRAM.chatId}.`,
      ],
    });
    // Within the TTL the container serves the switch it read: the store is not asked again.
    expect((await send(BUY)).json.result).toBe('placed');
    expect(store.count(GET_PARAMETER, KILL_SWITCH)).toBe(readsBefore);

    vi.setSystemTime(Date.now() + 5000);
    const booked = ordersOf(paper, broker, 'SBER').length;
    expect(await send(BUY)).toEqual({
      status: 423,
      contentType: 'application/json; charset=utf-8',
      json: {
        result: 'kill-switch',
        message: 'Торговля остановлена выключателем (kill switch): входы не исполняются, выходы проходят',
        ticker: 'SBER',
        intent: 'order',
        cancelled: [],
        orders: [],
      },
    });
    expect(await order(TODAY)).toEqual({
      status: 423,
      body: 'Торговля остановлена выключателем (kill switch): входы не исполняются, выходы проходят',
    });
    expect(ordersOf(paper, broker, 'SBER')).toHaveLength(booked);
    expect(store.count(GET_PARAMETER, KILL_SWITCH)).toBeGreaterThan(readsBefore);

    // The exit passes: the two lots bought are closed at market.
    expect((await send({ t: SBER, x: 'close' })).json).toMatchObject({ result: 'placed', orders: [{ lots: 2 }] });
    expect(positionOf(paper, broker, 'SBER')).toBe(0);

    expect((await runKill('off')).code).toBe(0);
    vi.setSystemTime(Date.now() + 5000);
    expect((await send(BUY)).json.result).toBe('placed');
    expect(telegram.messages.map((message) => message.text)).toEqual([
      '🛑 Выключатель торговли включён\nВходы не исполняются, выходы (закрытие, сокращение позиции) проходят. Выключить: npm run kill -- off\nРазвёртывание: PppWebhooks',
      '▶️ Выключатель торговли выключен\nСигналы снова исполняются.\nРазвёртывание: PppWebhooks',
    ]);
    expect(logLines()).toContainEqual(
      expect.objectContaining({ status: 423, outcome: 'guard-refused', rule: 'kill-switch' }),
    );
  });

  it('kill-switch: KILL_SWITCH=on (a local run) refuses an entry, lets a position that only shrinks through', async () => {
    flatten(paper, broker, 'SBER');
    holdPosition(paper, broker, 'SBER', 3);
    const { send } = await container(envOf(broker, { KILL_SWITCH: 'on' }), broker);

    expect((await send(BUY)).status).toBe(423);
    expect((await send({ t: SBER, pos: 1, o: 'market' })).json).toMatchObject({
      result: 'placed',
      orders: [{ side: 'sell', lots: 2 }],
    });
    expect((await send({ t: SBER, d: 'sell', v: 1, o: 'market' })).json).toMatchObject({ result: 'placed' });
    // Past flat is an entry: from 0 a sell opens a short.
    expect((await send({ t: SBER, d: 'sell', v: 1, o: 'market' })).status).toBe(423);
  });
});

describe.each(BROKERS)('%s: stale-signal', (broker) => {
  const NOW = new Date('2026-12-01T10:00:00Z').getTime();

  it('stale-signal: a signal 61 s late is refused, the same signal on time placed, an exit never refused for age', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    flatten(paper, broker, 'SBER');
    const { send } = await container(envOf(broker), broker);
    const booked = ordersOf(paper, broker, 'SBER').length;

    const late = await send({ ...BUY, ts: new Date(NOW - 61_000).toISOString() });
    expect(late).toMatchObject({
      status: 422,
      json: {
        result: 'stale-signal',
        message: 'Сигнал устарел: ему 61 с, допускается 60 с (SIGNAL_MAX_AGE_SECONDS)',
      },
    });
    expect(ordersOf(paper, broker, 'SBER')).toHaveLength(booked);

    expect((await send({ ...BUY, ts: new Date(NOW - 60_000).toISOString() })).json.result).toBe('placed');
    expect((await send({ ...BUY, ts: NOW - 600_000, ttl: 900 })).json.result).toBe('placed');
    expect((await send({ t: SBER, x: 'close', ts: new Date(NOW - 3_600_000).toISOString() })).json).toMatchObject({
      result: 'placed',
      orders: [{ side: 'sell', lots: 2 }],
    });
  });

  it('stale-signal: a ttl shorter than the default refuses sooner; a ts ahead of the clock by over a minute is refused', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    const { send } = await container(envOf(broker), broker);

    expect((await send({ ...BUY, ts: new Date(NOW - 11_000).toISOString(), ttl: 10 })).json).toMatchObject({
      result: 'stale-signal',
      message: 'Сигнал устарел: ему 11 с, допускается 10 с (ttl)',
    });
    expect((await send({ ...BUY, ts: new Date(NOW + 61_000).toISOString() })).json).toMatchObject({
      result: 'stale-signal',
      message: 'Время сигнала ts на 61 с впереди часов сервера',
    });
  });
});

describe.each(BROKERS)('%s: not-trading', (broker) => {
  it('not-trading: an entry is refused while the instrument does not trade; an exit still goes to the broker', async () => {
    flatten(paper, broker, 'SBER');
    holdPosition(paper, broker, 'SBER', 2);
    setTrading(broker, 'SBER', false);
    const { send, order } = await container(envOf(broker, { CHECK_TRADING_STATUS: 'true' }), broker);
    const booked = ordersOf(paper, broker, 'SBER').length;

    const entry = await send(BUY);
    expect(entry.status).toBe(409);
    expect(entry.json.result).toBe('not-trading');
    expect(String(entry.json.message)).toMatch(/^Инструмент сейчас не торгуется: /);
    expect((await order(TODAY)).status).toBe(409);
    expect(ordersOf(paper, broker, 'SBER')).toHaveLength(booked);

    // Not refused by the guard: the exchange itself refuses the close while it does not trade.
    const exit = await send({ t: SBER, x: 'close' });
    expect(exit.json.result).toBe('refused');
  });

  it('not-trading: the paper scenario instrument-not-trading stops every instrument', async () => {
    paper[broker].setScenario('instrument-not-trading');
    const { send } = await container(envOf(broker, { CHECK_TRADING_STATUS: 'true' }), broker);

    expect((await send(BUY)).json.result).toBe('not-trading');
  });
});

describe.each(BROKERS)('%s: a guard that cannot read', (broker) => {
  const STATUS_ROUTE = { alor: 'security', tinkoff: 'trading-status' } as const;

  it('broker-unavailable: an entry whose trading status does not come is not sent; an exit still is', async () => {
    flatten(paper, broker, 'SBER');
    holdPosition(paper, broker, 'SBER', 2);
    // Twice: a read answered 503 is sent once more.
    paper[broker].injectFault({ route: STATUS_ROUTE[broker], fault: { kind: 'status', status: 503 }, times: 2 });
    const { send } = await container(envOf(broker, { CHECK_TRADING_STATUS: 'true' }), broker);
    const booked = ordersOf(paper, broker, 'SBER').length;

    expect((await send(BUY)).json.result).toBe('broker-unavailable');
    expect(ordersOf(paper, broker, 'SBER')).toHaveLength(booked);
    paper[broker].injectFault({ route: STATUS_ROUTE[broker], fault: { kind: 'status', status: 503 }, times: 2 });
    expect((await send({ t: SBER, d: 'sell', v: 2, o: 'market' })).json.result).toBe('placed');
    expect(positionOf(paper, broker, 'SBER')).toBe(0);
  });
});

describe.each(BROKERS)('%s: daily-loss', (broker) => {
  it('daily-loss: entries are refused once the day has lost the limit, exits placed', async () => {
    flatten(paper, broker, 'SBER');
    holdPosition(paper, broker, 'SBER', 4);
    paper[broker].setScenario('daily-loss-reached');
    const { send, order } = await container(envOf(broker, { DAILY_LOSS_LIMIT: '5%' }), broker);

    expect(await send(BUY)).toMatchObject({
      status: 422,
      json: {
        result: 'daily-loss',
        message: 'Дневной убыток достиг лимита: -100 000 ₽ (-9.09%) при лимите 5%: входы не исполняются',
      },
    });
    expect(await order(TODAY)).toMatchObject({ status: 422 });
    expect((await send({ t: SBER, pos: 1, o: 'market' })).json).toMatchObject({
      result: 'placed',
      orders: [{ side: 'sell', lots: 3 }],
    });
  });

  it('daily-loss: a limit in roubles, not reached, lets entries through', async () => {
    const { send } = await container(envOf(broker, { DAILY_LOSS_LIMIT: '150000' }), broker);
    paper[broker].setScenario('daily-loss-reached');

    expect((await send(BUY)).json.result).toBe('placed');
  });
});

describe.each(BROKERS)('%s: order-limit', (broker) => {
  it("order-limit: today's body of 2 147 483 647 lots is refused by the default limit, nothing sent", async () => {
    const { order } = await container(envOf(broker), broker);
    paper[broker].resetStats();

    expect(await order({ ...TODAY, v: 2_147_483_647 })).toEqual({
      status: 422,
      body: 'Заявка больше лимита: 2147483647 лотов при лимите 1000000 (MAX_LOTS_PER_ORDER)',
    });
    expect(paper[broker].received.filter((request) => request.route === 'order')).toEqual([]);
  });

  it('order-limit: MAX_LOTS_PER_ORDER refuses a larger entry; an exit of more lots passes', async () => {
    flatten(paper, broker, 'SBER');
    holdPosition(paper, broker, 'SBER', 10);
    const { send } = await container(envOf(broker, { MAX_LOTS_PER_ORDER: '5' }), broker);

    expect((await send({ ...BUY, v: 6 })).json).toMatchObject({
      result: 'order-limit',
      message: 'Заявка больше лимита: 6 лотов при лимите 5 (MAX_LOTS_PER_ORDER)',
    });
    expect((await send({ t: SBER, x: 'close' })).json).toMatchObject({ result: 'placed', orders: [{ lots: 10 }] });
  });

  it('order-limit: MAX_ORDER_RUB refuses an entry worth more, with its value', async () => {
    const { send } = await container(envOf(broker, { MAX_ORDER_RUB: '10000' }), broker);

    expect((await send({ t: SBER, d: 'buy', v: 5, p: 250 })).json).toMatchObject({
      result: 'order-limit',
      message: 'Заявка больше лимита: 12 500 ₽ (5 × 2 500 ₽) при лимите 10 000 ₽ (MAX_ORDER_RUB)',
    });
    expect((await send({ t: SBER, d: 'buy', v: 4, p: 250 })).json.result).toBe('placed');
  });
});

describe.each(BROKERS)('%s: position-limit', (broker) => {
  it('position-limit: an entry past the limit is refused; a sell that shrinks the position passes', async () => {
    flatten(paper, broker, 'SBER');
    holdPosition(paper, broker, 'SBER', 4);
    const { send } = await container(envOf(broker, { MAX_POSITION_LOTS: '5' }), broker);

    expect((await send({ ...BUY, v: 2 })).json).toMatchObject({
      result: 'position-limit',
      message: 'Позиция превысит лимит: 6 лотов после заявки при лимите 5 (MAX_POSITION_LOTS)',
    });
    expect((await send({ t: SBER, pos: 7, o: 'market' })).json.result).toBe('position-limit');
    expect((await send({ ...BUY, v: 1 })).json.result).toBe('placed');
    expect((await send({ t: SBER, d: 'sell', v: 2, o: 'market' })).json.result).toBe('placed');
  });
});

describe.each(BROKERS)('%s: orders-per-day', (broker) => {
  it('orders-per-day: the limit counts across containers in the lock table; a resend is not counted twice; exits pass', async () => {
    flatten(paper, broker, 'SBER');
    const env = deployedEnv(broker, { MAX_ORDERS_PER_DAY: '2' });
    const first = await container(env, broker);
    expect((await first.send(BUY, { key: 'day-1' })).json.result).toBe('placed');
    // Another container: the count is the table's, not the process's.
    const second = await container(env, broker);
    expect((await second.send(BUY, { key: 'day-2' })).json.result).toBe('placed');
    expect((await first.send(BUY, { key: 'day-1' })).json).toMatchObject({
      result: 'placed',
      orders: [{ replayed: true }],
    });

    expect(await second.send(BUY, { key: 'day-3' })).toMatchObject({
      status: 429,
      json: { result: 'orders-per-day', message: 'Лимит заявок на день исчерпан: 2 из 2 (MAX_ORDERS_PER_DAY)' },
    });
    expect((await second.send({ t: SBER, x: 'close' })).json.result).toBe('placed');
    const account = broker === 'alor' ? PAPER_ALOR.portfolio : PAPER_TINKOFF.accountId;
    const [day] = [...store.items(TABLE).entries()].filter(([name]) => name.startsWith(`${broker}#${account}#orders#`));
    expect(day?.[1].placed).toEqual({ N: '2' });
    expect(store.count(UPDATE_ITEM)).toBeGreaterThanOrEqual(4);
  });

  it('orders-per-day: a signal that never got its lock (position-locked) gives its count back', async () => {
    flatten(paper, broker, 'SBER');
    const { send } = await container(
      deployedEnv(broker, { MAX_ORDERS_PER_DAY: '1', BROKER_TIMEOUT_MS: '400' }),
      broker,
    );
    const account = broker === 'alor' ? PAPER_ALOR.portfolio : PAPER_TINKOFF.accountId;
    const instrument =
      broker === 'alor' ? 'MOEX:SBER' : PAPER_INSTRUMENTS.tinkoff.find((listed) => listed.ticker === 'SBER')?.uid;
    const held = `${broker}#${account}#${instrument}`;
    store.putItem(TABLE, {
      pk: { S: held },
      holder: { S: 'another-container' },
      leaseUntil: { N: String(Date.now() + 60_000) },
      expiresAt: { N: String(Math.ceil(Date.now() / 1000) + 60) },
    });

    expect((await send({ t: SBER, pos: 1, o: 'market' })).json.result).toBe('position-locked');
    store.deleteItem(TABLE, held);

    // The one order of the day is still there to be placed, and then the day is full.
    expect((await send({ t: SBER, pos: 1, o: 'market' })).json.result).toBe('placed');
    expect((await send({ t: SBER, pos: 2, o: 'market' })).json.result).toBe('orders-per-day');
  });
});
