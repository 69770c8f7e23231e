import { describe, expect, it } from 'vitest';
import { PAPER_ALOR, PAPER_TINKOFF } from '#local/paper-broker/index.ts';
import { BROKERS, type Broker } from '#shared/facts.ts';
import { SIGNAL_KEYS } from '#shared/signal.ts';
import { apiGatewayEvent } from '../helpers/events.ts';
import { type Env, importHandler, TEST_WEBHOOK_SECRET } from '../helpers/handlers.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { allOutput, logLines } from '../helpers/logs.ts';
import {
  flatten,
  holdPosition,
  jsonAnswer,
  ordersOf,
  paperEnvOf,
  positionOf,
  signalContainer,
  workingOrdersOf,
} from '../helpers/signals.ts';

/**
 * docs/contract.md#signals-ver-2 through the exported handler of each function, against both paper brokers: a target
 * position reached from where the account is, repeated and reordered signals that heal instead of doubling, exits,
 * cancels, and the refusals of a body or a broker. Each test name starts with the row of the contract it shows.
 */

const paper = usePaperBrokers();

const envOf = (broker: Broker, overrides: Env = {}) => paperEnvOf(paper, broker, overrides);
/** A cold container of the function, whose signals then run warm one after the other. */
const container = (broker: Broker, overrides: Env = {}) => signalContainer(paper, broker, overrides);

const SBER = 'MOEX:SBER';

describe.each(BROKERS)('%s: a target position', (broker) => {
  it('placed: 0 → pos 3 buys 3 lots at market, answering what it read and placed', async () => {
    flatten(paper, broker, 'SBER');
    const send = await container(broker);

    const answer = await send({ t: SBER, pos: 3, o: 'market' });

    const placed = ordersOf(paper, broker, 'SBER').at(-1);
    expect(answer).toEqual({
      status: 200,
      contentType: 'application/json; charset=utf-8',
      json: {
        result: 'placed',
        message: 'Заявка выставлена',
        ticker: 'SBER',
        intent: 'position',
        position: 0,
        working: 0,
        target: 3,
        cancelled: [],
        orders: [{ leg: 'entry', side: 'buy', lots: 3, type: 'market', id: placed?.id, replayed: false }],
      },
    });
    expect(positionOf(paper, broker, 'SBER')).toBe(3);
  });

  it('nothing-to-do: the same signal again orders nothing', async () => {
    flatten(paper, broker, 'SBER');
    const send = await container(broker);
    await send({ t: SBER, pos: 3, o: 'market' });
    const booked = ordersOf(paper, broker, 'SBER').length;

    const again = await send({ t: SBER, pos: 3, o: 'market' });

    expect(again.status).toBe(200);
    expect(again.json).toEqual({
      result: 'nothing-to-do',
      message: 'Позиция уже такая: заявка не нужна',
      ticker: 'SBER',
      intent: 'position',
      position: 3,
      working: 0,
      target: 3,
      cancelled: [],
      orders: [],
    });
    expect(ordersOf(paper, broker, 'SBER')).toHaveLength(booked);
    expect(positionOf(paper, broker, 'SBER')).toBe(3);
  });

  it('nothing-to-do: pos 3 while a buy of 3 is still working orders nothing', async () => {
    flatten(paper, broker, 'SBER');
    const send = await container(broker);
    const first = await send({ t: SBER, pos: 3, p: '250.5' });
    const booked = ordersOf(paper, broker, 'SBER').length;

    const again = await send({ t: SBER, pos: 3, p: '251' });

    expect(first.json).toMatchObject({
      result: 'placed',
      orders: [{ side: 'buy', lots: 3, type: 'limit', price: '250.5' }],
    });
    expect(again.json).toMatchObject({ result: 'nothing-to-do', position: 0, working: 3, target: 3 });
    expect(ordersOf(paper, broker, 'SBER')).toHaveLength(booked);
    expect(workingOrdersOf(paper, broker, 'SBER')).toEqual([expect.objectContaining({ side: 'buy', lots: 3 })]);
  });

  it('placed: pos 1 from 3 sells 2; from +3 to -2 is one sell of 5', async () => {
    flatten(paper, broker, 'SBER');
    holdPosition(paper, broker, 'SBER', 3);
    const send = await container(broker);

    const down = await send({ t: SBER, pos: 1, o: 'market' });
    holdPosition(paper, broker, 'SBER', 3);
    const reverse = await send({ t: SBER, pos: -2, o: 'market' });

    expect(down.json).toMatchObject({ result: 'placed', position: 3, target: 1, orders: [{ side: 'sell', lots: 2 }] });
    expect(reverse.json).toMatchObject({
      result: 'placed',
      position: 3,
      target: -2,
      orders: [{ side: 'sell', lots: 5 }],
    });
    expect(positionOf(paper, broker, 'SBER')).toBe(-2);
  });

  it('placed: pos in shares is whole lots of the instrument (SBER: 10 a lot)', async () => {
    flatten(paper, broker, 'SBER');
    const send = await container(broker);

    const answer = await send({ t: SBER, pos: '30', pu: 'shares', o: 'market' });

    expect(answer.json).toMatchObject({ result: 'placed', target: 3, orders: [{ side: 'buy', lots: 3 }] });
    expect(positionOf(paper, broker, 'SBER')).toBe(3);
  });

  it('not-whole-lots: shares that do not divide by the lot are refused with 400, nothing ordered', async () => {
    flatten(paper, broker, 'SBER');
    const send = await container(broker);
    const booked = ordersOf(paper, broker, 'SBER').length;

    const answer = await send({ t: SBER, pos: 25, pu: 'shares', o: 'market' });

    expect(answer).toMatchObject({
      status: 400,
      json: { result: 'not-whole-lots', message: 'pos 25 шт. не делится на лот 10 шт.' },
    });
    expect(ordersOf(paper, broker, 'SBER')).toHaveLength(booked);
    expect(logLines().at(-1)).toMatchObject({ outcome: 'signal-refused', rule: 'not-whole-lots', status: 400 });
  });

  it('placed: cancel: true cancels the working orders first, and only the position counts', async () => {
    flatten(paper, broker, 'SBER');
    holdPosition(paper, broker, 'SBER', 1);
    const send = await container(broker);
    await send({ t: SBER, d: 'sell', v: 1, p: '300' });
    const [working] = workingOrdersOf(paper, broker, 'SBER');

    const answer = await send({ t: SBER, pos: 4, o: 'market', cancel: true });

    expect(answer.json).toMatchObject({
      result: 'placed',
      position: 1,
      working: 0,
      target: 4,
      cancelled: [working?.id],
      orders: [{ side: 'buy', lots: 3, type: 'market' }],
    });
    expect(workingOrdersOf(paper, broker, 'SBER')).toEqual([]);
    expect(positionOf(paper, broker, 'SBER')).toBe(4);
  });

  it('placed: a resent signal with cancel: true keeps its own working order and adds nothing', async () => {
    flatten(paper, broker, 'SBER');
    const send = await container(broker);
    const signal = { t: SBER, pos: 2, p: '250', cancel: true };
    const first = await send(signal, { key: `resend-${broker}` });
    const booked = ordersOf(paper, broker, 'SBER').length;

    const resent = await send(signal, { key: `resend-${broker}` });

    expect(first.json).toMatchObject({ result: 'placed', orders: [{ side: 'buy', lots: 2 }] });
    expect(resent.json).toMatchObject({ result: 'nothing-to-do', cancelled: [], working: 2 });
    expect(ordersOf(paper, broker, 'SBER')).toHaveLength(booked);
    expect(workingOrdersOf(paper, broker, 'SBER')).toHaveLength(1);
  });
});

describe.each(BROKERS)('%s: exits and cancels', (broker) => {
  it('placed: x close cancels the working orders and flattens at market: position 0, no active orders', async () => {
    flatten(paper, broker, 'SBER');
    holdPosition(paper, broker, 'SBER', 4);
    const send = await container(broker);
    await send({ t: SBER, d: 'buy', v: 1, p: '200' });
    const [working] = workingOrdersOf(paper, broker, 'SBER');

    const answer = await send({ t: SBER, x: 'close' });

    expect(answer.json).toMatchObject({
      result: 'placed',
      message: 'Позиция закрывается: заявка выставлена',
      intent: 'close',
      position: 4,
      target: 0,
      cancelled: [working?.id],
      orders: [{ side: 'sell', lots: 4, type: 'market' }],
    });
    expect(positionOf(paper, broker, 'SBER')).toBe(0);
    expect(workingOrdersOf(paper, broker, 'SBER')).toEqual([]);
  });

  it('nothing-to-do: x close when flat with nothing working', async () => {
    flatten(paper, broker, 'SBER');
    const send = await container(broker);

    const answer = await send({ t: SBER, x: 'close' });

    expect(answer).toMatchObject({
      status: 200,
      json: { result: 'nothing-to-do', message: 'Позиция уже закрыта: заявок нет' },
    });
  });

  it('cancelled: x cancel cancels every working order of the instrument, none left, others kept', async () => {
    flatten(paper, broker, 'SBER');
    flatten(paper, broker, 'GAZP');
    const send = await container(broker);
    await send({ t: SBER, d: 'buy', v: 1, p: '200' });
    await send({ t: SBER, d: 'sell', v: 2, p: '400' });
    await send({ t: 'MOEX:GAZP', d: 'buy', v: 1, p: '100' });
    const ids = workingOrdersOf(paper, broker, 'SBER').map((order) => order.id);

    const answer = await send({ t: SBER, x: 'cancel' });

    expect(answer).toMatchObject({
      status: 200,
      json: { result: 'cancelled', message: 'Снято заявок: 2', intent: 'cancel', cancelled: ids, orders: [] },
    });
    expect(workingOrdersOf(paper, broker, 'SBER')).toEqual([]);
    expect(workingOrdersOf(paper, broker, 'GAZP')).toHaveLength(1);
  });

  it('nothing-to-do: x cancel with nothing working', async () => {
    flatten(paper, broker, 'SBER');
    const send = await container(broker);

    expect((await send({ t: SBER, x: 'cancel' })).json).toMatchObject({
      result: 'nothing-to-do',
      message: 'Активных заявок нет: снимать нечего',
    });
  });

  it('placed: an order (d, v) with o: market is placed as it says, with no read', async () => {
    flatten(paper, broker, 'SBER');
    const send = await container(broker);
    paper[broker].resetStats();

    const answer = await send({ t: SBER, d: 'buy', v: 2, o: 'market' });

    expect(answer.json).toMatchObject({
      result: 'placed',
      intent: 'order',
      orders: [{ side: 'buy', lots: 2, type: 'market' }],
    });
    expect(answer.json).not.toHaveProperty('position');
    expect(positionOf(paper, broker, 'SBER')).toBe(2);
  });
});

describe('refusals of a v2 body', () => {
  it.each(BROKERS)(
    'unknown-key: %s refuses ver 2 with a key it does not know, naming it, calling no broker',
    async (broker) => {
      const send = await container(broker);
      paper[broker].resetStats();

      const answer = await send({ t: SBER, pos: 1, o: 'market', stoploss: '2%' });

      expect(answer).toEqual({
        status: 400,
        contentType: 'application/json; charset=utf-8',
        json: {
          result: 'unknown-key',
          message: 'Неизвестное поле сигнала: stoploss',
          issues: ['stoploss: unknown key'],
        },
      });
      expect(paper[broker].stats.requests).toBe(0);
      expect(logLines()).toEqual([expect.objectContaining({ outcome: 'invalid', issues: ['stoploss: unknown key'] })]);
    },
  );

  it.each(BROKERS)(
    'unsupported-version: %s refuses a ver it does not know, whatever else the body holds',
    async (broker) => {
      const handler = await importHandler(broker, envOf(broker));
      const event = apiGatewayEvent({
        route: `POST /${broker}`,
        body: JSON.stringify({ ver: 3, t: 'MOEX:SBER', d: 'buy', v: 10000, vt: 'rub', p: 250 }),
        headers: { 'x-webhook-secret': TEST_WEBHOOK_SECRET },
      });

      expect(jsonAnswer(await handler(event))).toMatchObject({
        status: 400,
        json: {
          result: 'unsupported-version',
          message: 'Версия сигнала не поддерживается: этот сервер понимает ver 2',
        },
      });
    },
  );

  it.each(BROKERS)('mixed-intents: %s refuses pos with d and v, naming the rule', async (broker) => {
    const send = await container(broker);

    expect(await send({ t: SBER, pos: 1, d: 'buy', v: 1, o: 'market' })).toMatchObject({
      status: 400,
      json: { result: 'mixed-intents', message: 'Сигнал смешивает намерения: pos не сочетается с d и v' },
    });
  });

  it.each(BROKERS)('bad-payload: %s answers a broken rule in JSON, with its issues', async (broker) => {
    const send = await container(broker);

    expect(await send({ t: SBER, pos: 1 })).toMatchObject({
      status: 400,
      json: { result: 'bad-payload', message: 'Некорректные данные в заявке', issues: ['p: required with o: limit'] },
    });
  });

  it.each([
    ['alor', { pos: 1, o: 'best' }, 'Alor не поддерживает o: best'],
    ['alor', { t: 'SPBX:AAPL', x: 'cancel' }, 'Alor не снимает заявки на SPBX через API'],
    ['tinkoff', { pos: 1, p: 1, tif: 'gtc' }, 'T-Invest не поддерживает tif: gtc'],
    ['tinkoff', { pos: 1, o: 'market', tif: 'day' }, 'T-Invest не принимает tif: day для o: market'],
  ] as const)('not-supported: %s refuses %j with 400 naming it, calling no broker', async (broker, fields, message) => {
    const send = await container(broker);
    paper[broker].resetStats();

    expect(await send({ t: SBER, ...fields })).toMatchObject({
      status: 400,
      json: { result: 'not-supported', message },
    });
    expect(paper[broker].stats.requests).toBe(0);
  });

  it('not-supported: T-Invest on API v1 takes no v2 signal, and its capabilities say so', async () => {
    const send = await container('tinkoff', { TINKOFF_API: 'v1', TINKOFF_API_URL: paper.tinkoff.url });

    expect(await send({ t: SBER, f: 'BBG004730N88', pos: 1, o: 'market' })).toMatchObject({
      status: 400,
      json: { result: 'not-supported', message: 'Эта функция не принимает сигналы ver 2 (TINKOFF_API=v1)' },
    });
    expect((await send({ check: true })).json).toEqual({
      result: 'check',
      message: '200 OK',
      broker: 'tinkoff',
      versions: [],
      dryRun: false,
    });
  });
});

describe('capabilities', () => {
  it.each(BROKERS)(
    'capabilities: %s answers check with ver with what it supports, and calls no broker',
    async (broker) => {
      const send = await container(broker);
      paper[broker].resetStats();

      const answer = await send({ check: true });

      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({
        result: 'check',
        message: '200 OK',
        broker,
        versions: [2],
        keys: [...SIGNAL_KEYS],
        intents: ['order', 'position', 'close', 'cancel'],
        o: broker === 'alor' ? ['limit', 'market'] : ['limit', 'market', 'best'],
        cancel: { exchanges: broker === 'alor' ? ['MOEX'] : ['MOEX', 'SPBX'] },
        sizing: { vt: ['lots', 'rub', 'pct', 'risk'], cap: 'no-margin' },
        guards: { killSwitch: false, signalMaxAgeSeconds: 60, maxLotsPerOrder: 1_000_000, dailyLossLimit: null },
        dryRun: false,
      });
      expect(paper[broker].stats.requests).toBe(0);
    },
  );

  it.each(BROKERS)('check: %s still answers {"check": true} with the text 200 OK', async (broker) => {
    const handler = await importHandler(broker, envOf(broker));
    const event = apiGatewayEvent({
      route: `POST /${broker}`,
      body: '{"check":true}',
      headers: { 'x-webhook-secret': TEST_WEBHOOK_SECRET },
    });

    expect(await handler(event)).toMatchObject({ statusCode: 200, body: '200 OK' });
  });
});

describe('the other answers, to a v2 body', () => {
  it.each([
    ['alor', { ALOR_PORTFOLIO: '' }, 'no-account', 'Не задан портфель ФР Alor'],
    ['tinkoff', { TINKOFF_TOKEN: '' }, 'no-credential', 'Не задан торговый токен'],
  ] as const)(
    '%s answers the row %s in JSON, its status and text as in the table',
    async (broker, env, row, message) => {
      const send = await container(broker, env);

      expect(await send({ t: SBER, pos: 1, o: 'market' })).toEqual({
        status: 404,
        contentType: 'application/json; charset=utf-8',
        json: { result: row, message, ticker: 'SBER', intent: 'position', cancelled: [], orders: [] },
      });
    },
  );

  it.each(BROKERS)('refused: %s passes a broker refusal of the order on as 400 with its text', async (broker) => {
    flatten(paper, broker, 'SBER');
    const send = await container(broker);
    paper[broker].injectFault({
      route: broker === 'alor' ? 'market-order' : 'order',
      fault: {
        kind: 'status',
        status: 400,
        body: JSON.stringify(
          broker === 'alor'
            ? { message: 'Недостаточно средств' }
            : { code: 3, message: 'Недостаточно средств', description: 30042 },
        ),
      },
    });

    expect(await send({ t: SBER, pos: 1, o: 'market' })).toMatchObject({
      status: 400,
      json: { result: 'refused', message: 'Недостаточно средств', position: 0, target: 1, orders: [] },
    });
  });

  it.each(BROKERS)('broker-timeout: %s answers 504 in JSON with the cancels done before it', async (broker) => {
    flatten(paper, broker, 'SBER');
    const send = await container(broker, { BROKER_TIMEOUT_MS: '600' });
    await send({ t: SBER, d: 'buy', v: 1, p: '200' });
    const [working] = workingOrdersOf(paper, broker, 'SBER');
    paper[broker].injectFault({
      route: broker === 'alor' ? 'market-order' : 'order',
      fault: { kind: 'hang-before-headers' },
    });

    const answer = await send({ t: SBER, pos: 2, o: 'market', cancel: true });

    expect(answer).toMatchObject({
      status: 504,
      json: { result: 'broker-timeout', message: 'Брокер не ответил вовремя', cancelled: [working?.id] },
    });
    expect(logLines().at(-1)).toMatchObject({
      outcome: 'broker_timeout',
      signal: { intent: 'position', cancelled: 1 },
    });
  });

  it.each(BROKERS)(
    'dry-run: %s reads and plans, cancels and orders nothing, and says what it would do',
    async (broker) => {
      flatten(paper, broker, 'SBER');
      holdPosition(paper, broker, 'SBER', 1);
      const send = await container(broker, { DRY_RUN: 'true' });
      const booked = ordersOf(paper, broker, 'SBER').length;

      const answer = await send({ t: SBER, pos: 3, o: 'market' });

      expect(answer).toMatchObject({
        status: 200,
        json: {
          result: 'dry-run',
          message: 'Проверка без заявки (DRY_RUN): брокеру ничего не отправлено',
          position: 1,
          target: 3,
          orders: [{ leg: 'entry', side: 'buy', lots: 2, type: 'market' }],
        },
      });
      expect(ordersOf(paper, broker, 'SBER')).toHaveLength(booked);
    },
  );
});

describe('logs of a v2 signal', () => {
  it.each(BROKERS)(
    '%s logs one line with the signal, the order in its terms and the broker id, nothing secret',
    async (broker) => {
      flatten(paper, broker, 'SBER');
      const send = await container(broker);

      const answer = await send({ t: SBER, pos: 2, o: 'market' }, { key: `log-${broker}` });

      const id = (answer.json.orders as { id: string }[])[0]?.id;
      expect(logLines()).toEqual([
        expect.objectContaining({
          message: 'webhook answered',
          status: 200,
          outcome: 'placed',
          ticker: 'SBER',
          signal: { intent: 'position', position: 0, working: 0, target: 2, cancelled: 0 },
          order: expect.objectContaining({ side: 'buy', lots: 2, type: 'market' }),
          brokerOrderId: id,
          replayed: false,
        }),
      ]);
      const secrets = broker === 'alor' ? [PAPER_ALOR.refreshToken] : [PAPER_TINKOFF.token];
      for (const secret of [TEST_WEBHOOK_SECRET, ...secrets]) expect(allOutput()).not.toContain(secret);
    },
  );
});
