import { describe, expect, it } from 'vitest';
import { PAPER_ALOR, PAPER_INSTRUMENTS } from '#local/paper-broker/index.ts';
import type { FollowUpHandler } from '#shared/brokers/follow-up-handler.ts';
import { BROKERS, type Broker, PROTECTION_LOG_MESSAGE } from '#shared/facts.ts';
import { alorPaperEnv, type Env, importFollowUpHandler, importHandler, tinkoffPaperEnv } from '../helpers/handlers.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { logLines } from '../helpers/logs.ts';
import { useHeldFollowUpQueue } from '../helpers/protection.ts';
import { flatten, holdPosition, jsonAnswer, ordersOf, positionOf, signalEvent } from '../helpers/signals.ts';

/**
 * docs/contract.md#protection through the exported handlers, the T-Invest follow-up and both paper brokers: a limit
 * entry's stop-loss and take-profit held by the broker (nothing active before the fill; both once it filled), the
 * price crossing one of them (position 0, the other gone), a market entry protected at once, a partial fill protected
 * for what filled, an exit with protection open, the same signal twice, and protection the broker refuses. The
 * watch's messages wait on a held queue and are delivered by the test: no time passes.
 */

const paper = usePaperBrokers();
const queue = useHeldFollowUpQueue();

const SBER = 'MOEX:SBER';
const SBER_UID = PAPER_INSTRUMENTS.tinkoff.find((instrument) => instrument.ticker === 'SBER')?.uid ?? '';

function envOf(broker: Broker, overrides: Env = {}): Env {
  return { ...(broker === 'alor' ? alorPaperEnv(paper) : tinkoffPaperEnv(paper)), ...overrides };
}

interface Harness {
  send(body: Record<string, unknown>, options?: { key?: string }): Promise<ReturnType<typeof jsonAnswer>>;
  /** The watch's queued checks (at Alor: what its servers did with the pair; at T-Invest: the stops themselves). */
  watch(): Promise<void>;
}

async function harness(broker: Broker, overrides: Env = {}): Promise<Harness> {
  const handler = await importHandler(broker, envOf(broker, overrides));
  const followUp: FollowUpHandler = await importFollowUpHandler(broker, envOf(broker, overrides));
  return {
    send: async (body, options = {}) => jsonAnswer(await handler(signalEvent(broker, body, options))),
    watch: async () => {
      await queue.deliver(followUp);
    },
  };
}

/** A stop order in one shape for both brokers. */
interface Stop {
  readonly side: 'buy' | 'sell';
  readonly lots: number;
  readonly price: number;
  /** Working and able to trigger. */
  readonly active: boolean;
  readonly status: string;
}

function stopsOf(broker: Broker, ticker: string): Stop[] {
  if (broker === 'alor') {
    return paper.alor.stopOrders
      .filter((stop) => stop.symbol === ticker)
      .map((stop) => ({
        side: stop.side,
        lots: stop.quantity,
        price: stop.triggerPrice,
        active: stop.active && stop.status === 'working',
        status: stop.status,
      }));
  }
  const uid = PAPER_INSTRUMENTS.tinkoff.find((instrument) => instrument.ticker === ticker)?.uid;
  return paper.tinkoff.stopOrders
    .filter((stop) => stop.instrumentId === uid)
    .map((stop) => ({
      side: stop.direction,
      lots: stop.lots,
      price: Number(stop.stopPrice),
      active: stop.status === 'STOP_ORDER_STATUS_ACTIVE',
      status: stop.status,
    }));
}

const activeStops = (broker: Broker, ticker: string) => stopsOf(broker, ticker).filter((stop) => stop.active);

/** Flat, no order working, no stop order active, the last price 100: where a protected entry starts. */
function start(broker: Broker): void {
  flatten(paper, broker, 'SBER');
  cancelStops(broker);
  setLast(broker, 100);
}

function cancelStops(broker: Broker): void {
  if (broker === 'alor') {
    for (const stop of paper.alor.stopOrders) if (stop.status === 'working') stop.status = 'canceled';
  } else {
    for (const stop of paper.tinkoff.stopOrders) {
      if (stop.status === 'STOP_ORDER_STATUS_ACTIVE') stop.status = 'STOP_ORDER_STATUS_CANCELED';
    }
  }
}

function setLast(broker: Broker, price: number): void {
  if (broker === 'alor') paper.alor.setLastPrice('SBER', price);
  else paper.tinkoff.setLastPrice(SBER_UID, price);
}

function fillEntry(
  broker: Broker,
  id: string | undefined,
  change: { status: 'filled' | 'partly-filled'; filledLots?: number },
) {
  expect(paper[broker].setOrderState(id ?? '', change)).toBeUndefined();
}

const entryId = (answer: { json: Record<string, unknown> }) =>
  (answer.json.orders as { leg: string; id?: string }[]).find((order) => order.leg === 'entry')?.id;

describe.each(BROKERS)('%s: a limit entry with sl and tp', (broker) => {
  it('on-fill: nothing active before the fill; both once it filled; the stop crossed → position 0, take-profit gone', async () => {
    start(broker);
    const { send, watch } = await harness(broker);

    const answer = await send({ t: SBER, d: 'buy', v: 3, p: '100', sl: '95', tp: '110' });

    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      result: 'placed',
      protection: { status: 'on-fill', lots: 3, sl: '95', tp: '110' },
    });
    expect(activeStops(broker, 'SBER')).toEqual([]);
    await watch();
    expect(activeStops(broker, 'SBER')).toEqual([]);

    fillEntry(broker, entryId(answer), { status: 'filled' });
    await watch();
    expect(activeStops(broker, 'SBER')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ side: 'sell', lots: 3, price: 95 }),
        expect.objectContaining({ side: 'sell', lots: 3, price: 110 }),
      ]),
    );
    expect(activeStops(broker, 'SBER')).toHaveLength(2);
    expect(positionOf(paper, broker, 'SBER')).toBe(3);

    setLast(broker, 94);
    await watch();
    expect(positionOf(paper, broker, 'SBER')).toBe(0);
    expect(activeStops(broker, 'SBER')).toEqual([]);
    setLast(broker, 120);
    expect(positionOf(paper, broker, 'SBER')).toBe(0);
  });

  it('on-fill: the take-profit hit → position 0, the stop-loss gone', async () => {
    start(broker);
    const { send, watch } = await harness(broker);
    const answer = await send({ t: SBER, d: 'buy', v: 2, p: '100', sl: '5%', tp: '10%' });
    expect(answer.json).toMatchObject({ protection: { status: 'on-fill', lots: 2, sl: '95', tp: '110' } });
    fillEntry(broker, entryId(answer), { status: 'filled' });
    await watch();

    setLast(broker, 111);
    await watch();

    expect(positionOf(paper, broker, 'SBER')).toBe(0);
    expect(activeStops(broker, 'SBER')).toEqual([]);
    setLast(broker, 90);
    expect(positionOf(paper, broker, 'SBER')).toBe(0);
  });
});

describe.each(BROKERS)('%s: a market entry', (broker) => {
  it('active: protected at once, in the request, at prices from its fill', async () => {
    start(broker);
    setLast(broker, 200);
    const { send } = await harness(broker);

    const answer = await send({ t: SBER, d: 'sell', v: 2, o: 'market', sl: '2%', tp: '5%' });

    expect(answer.json).toMatchObject({
      result: 'placed',
      protection: { status: 'active', lots: 2, sl: '204', tp: '190' },
      orders: expect.arrayContaining([
        expect.objectContaining({ leg: 'entry', side: 'sell', lots: 2, type: 'market' }),
        expect.objectContaining({ leg: 'sl', side: 'buy', lots: 2, type: 'stop', price: '204' }),
        expect.objectContaining({ leg: 'tp', side: 'buy', lots: 2, type: 'stop', price: '190' }),
      ]),
    });
    expect(activeStops(broker, 'SBER')).toHaveLength(2);
    expect(positionOf(paper, broker, 'SBER')).toBe(-2);
  });
});

describe('alor: a partial fill', () => {
  it('a bracketed entry done short of its lots: the watch protects what filled with active stops', async () => {
    start('alor');
    const { send, watch } = await harness('alor');
    const answer = await send({ t: SBER, d: 'buy', v: 4, p: '100', sl: '90', tp: '120' });
    fillEntry('alor', entryId(answer), { status: 'partly-filled', filledLots: 1 });
    await watch();
    // Alor activates a bracket's stops once its entry executed: not yet.
    expect(activeStops('alor', 'SBER')).toEqual([]);

    expect(paper.alor.setOrderState(entryId(answer) ?? '', { status: 'canceled' })).toBeUndefined();
    await watch();

    expect(positionOf(paper, 'alor', 'SBER')).toBe(1);
    expect(activeStops('alor', 'SBER')).toEqual([
      expect.objectContaining({ side: 'sell', lots: 1, price: 90 }),
      expect.objectContaining({ side: 'sell', lots: 1, price: 120 }),
    ]);
    setLast('alor', 121);
    await watch();
    expect(positionOf(paper, 'alor', 'SBER')).toBe(0);
    expect(activeStops('alor', 'SBER')).toEqual([]);
    expect(queue.messages).toEqual([]);
  });
});

describe('tinkoff: a partial fill', () => {
  it('protects what filled, then what fills after', async () => {
    start('tinkoff');
    const { send, watch } = await harness('tinkoff');
    const answer = await send({ t: SBER, d: 'buy', v: 4, p: '100', sl: '90', tp: '120' });

    fillEntry('tinkoff', entryId(answer), { status: 'partly-filled', filledLots: 1 });
    await watch();
    expect(activeStops('tinkoff', 'SBER')).toEqual([
      expect.objectContaining({ side: 'sell', lots: 1, price: 90 }),
      expect.objectContaining({ side: 'sell', lots: 1, price: 120 }),
    ]);

    fillEntry('tinkoff', entryId(answer), { status: 'filled' });
    await watch();
    expect(activeStops('tinkoff', 'SBER')).toHaveLength(4);
    expect(activeStops('tinkoff', 'SBER').reduce((lots, stop) => lots + stop.lots, 0)).toBe(8);

    setLast('tinkoff', 89);
    await watch();
    expect(positionOf(paper, 'tinkoff', 'SBER')).toBe(0);
    expect(activeStops('tinkoff', 'SBER')).toEqual([]);
    expect(queue.messages).toEqual([]);
  });
});

describe.each(BROKERS)('%s: exits with protection open', (broker) => {
  it('x close: position 0, no stop left', async () => {
    start(broker);
    const { send, watch } = await harness(broker);
    await send({ t: SBER, d: 'buy', v: 2, o: 'market', sl: '90', tp: '120' });
    expect(activeStops(broker, 'SBER')).toHaveLength(2);

    const close = await send({ t: SBER, x: 'close' });
    await watch();

    expect(close.json).toMatchObject({ result: 'placed', position: 2, target: 0 });
    expect((close.json.cancelled as string[]).length).toBeGreaterThanOrEqual(1);
    expect(positionOf(paper, broker, 'SBER')).toBe(0);
    expect(activeStops(broker, 'SBER')).toEqual([]);
  });

  it('pos that reverses: the old stops go first, the new position is protected', async () => {
    start(broker);
    const { send } = await harness(broker);
    await send({ t: SBER, d: 'buy', v: 2, o: 'market', sl: '90', tp: '120' });

    const reverse = await send({ t: SBER, pos: -1, o: 'market', sl: '105', tp: '95' });

    expect(reverse.json).toMatchObject({
      result: 'placed',
      position: 2,
      target: -1,
      protection: { status: 'active', lots: 1 },
    });
    expect(positionOf(paper, broker, 'SBER')).toBe(-1);
    expect(activeStops(broker, 'SBER')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ side: 'buy', lots: 1, price: 105 }),
        expect.objectContaining({ side: 'buy', lots: 1, price: 95 }),
      ]),
    );
    expect(activeStops(broker, 'SBER')).toHaveLength(2);
  });
});

describe.each(BROKERS)('%s: the same signal twice', (broker) => {
  it('one set of stops', async () => {
    start(broker);
    const { send, watch } = await harness(broker);
    const signal = { t: SBER, d: 'buy', v: 2, p: '100', sl: '95', tp: '105' };
    const before = ordersOf(paper, broker, 'SBER').length;
    const stopsBefore = stopsOf(broker, 'SBER').length;
    const first = await send(signal, { key: `twice-${broker}` });
    await send(signal, { key: `twice-${broker}` });
    fillEntry(broker, entryId(first), { status: 'filled' });
    await watch();
    await watch();

    expect(ordersOf(paper, broker, 'SBER').slice(before)).toHaveLength(1);
    expect(stopsOf(broker, 'SBER').slice(stopsBefore)).toHaveLength(2);
    expect(activeStops(broker, 'SBER')).toHaveLength(2);
  });
});

describe.each(BROKERS)('%s: protection the broker refuses', (broker) => {
  it('failed: retried, then the urgent line, and what filled closed (CLOSE_UNPROTECTED unset)', async () => {
    start(broker);
    const { send, watch } = await harness(broker);
    paper[broker].refuseStops('not now');

    const answer = await send({ t: SBER, d: 'buy', v: 2, o: 'market', sl: '90', tp: '110' });
    for (let check = 0; check < 4; check++) await watch();
    paper[broker].refuseStops(undefined);

    expect(answer.status).toBe(200);
    expect(positionOf(paper, broker, 'SBER')).toBe(0);
    expect(activeStops(broker, 'SBER')).toEqual([]);
    const failure =
      broker === 'alor'
        ? logLines().find(
            (line) =>
              (line.signal as { protection?: { status?: string } } | undefined)?.protection?.status === 'failed',
          )
        : logLines().find(
            (line) =>
              line.message === PROTECTION_LOG_MESSAGE &&
              (line.events as { kind: string }[]).some((event) => event.kind === 'failed'),
          );
    expect(failure).toBeDefined();
  });

  it('failed: CLOSE_UNPROTECTED=false leaves the position open', async () => {
    start(broker);
    const { send, watch } = await harness(broker, { CLOSE_UNPROTECTED: 'false' });
    paper[broker].refuseStops('not now');

    await send({ t: SBER, d: 'buy', v: 2, o: 'market', sl: '90', tp: '110' });
    for (let check = 0; check < 4; check++) await watch();
    paper[broker].refuseStops(undefined);

    expect(positionOf(paper, broker, 'SBER')).toBe(2);
  });
});

describe('alor: what its spec leaves open', () => {
  it('refuses trail, which Alor has no order for', async () => {
    const { send } = await harness('alor');
    const answer = await send({ t: SBER, d: 'buy', v: 1, o: 'market', trail: '1%' });
    expect(answer).toMatchObject({
      status: 400,
      json: { result: 'not-supported', message: 'Alor не поддерживает trail' },
    });
  });

  it('places a bracket with PAPER_ALOR portfolio groups: TriggerBracketOrders and OnExecuteOrCancel', async () => {
    start('alor');
    holdPosition(paper, 'alor', 'SBER', 0);
    const { send } = await harness('alor');
    const answer = await send({ t: SBER, d: 'buy', v: 1, p: '100', sl: '95', tp: '105' });
    const groups = paper.alor.groups.filter((group) => group.orders.some((order) => order.orderId === entryId(answer)));
    expect(groups.map((group) => group.executionPolicy)).toEqual(['TriggerBracketOrders']);
    expect(paper.alor.groups.at(-1)?.executionPolicy).toBe('OnExecuteOrCancel');
    expect(PAPER_ALOR.portfolio).toBe('D00000');
  });
});

describe.each(BROKERS)('%s: the answers of docs/contract.md#protection', (broker) => {
  it('today’s body with sl and tp is a protected order, answered in JSON', async () => {
    start(broker);
    const handler = await importHandler(broker, envOf(broker));
    const body = JSON.stringify({ t: 'MOEX:SBER', p: '100', v: 1, d: 'buy', sl: '95', tp: '105', widget: 'x' });
    const event = signalEvent(broker, {});
    const answer = jsonAnswer(await handler({ ...event, body }));

    expect(answer).toMatchObject({
      status: 200,
      contentType: 'application/json; charset=utf-8',
      json: {
        result: 'placed',
        message: 'Заявка выставлена',
        intent: 'order',
        protection: { status: 'on-fill', lots: 1, sl: '95', tp: '105' },
      },
    });
  });

  it('bad-protection: a stop-loss above a buy’s limit price is refused with 400, nothing sent', async () => {
    start(broker);
    const { send } = await harness(broker);
    const before = ordersOf(paper, broker, 'SBER').length;

    const answer = await send({ t: SBER, d: 'buy', v: 1, p: '100', sl: '101', tp: '110' });

    expect(answer).toMatchObject({
      status: 400,
      json: { result: 'bad-protection', message: 'sl 101 должен быть ниже цены входа 100' },
    });
    expect(ordersOf(paper, broker, 'SBER')).toHaveLength(before);
    expect(stopsOf(broker, 'SBER').filter((stop) => stop.status === 'working' || stop.active)).toEqual([]);
  });

  it('capabilities: lists the protective keys the broker holds orders for', async () => {
    const { send } = await harness(broker);
    const answer = await send({ check: true });
    expect(answer.json).toMatchObject({
      keys: expect.arrayContaining(['sl', 'tp', 'trail']),
      protection: broker === 'alor' ? ['sl', 'tp'] : ['sl', 'tp', 'trail'],
    });
  });

  it('a pos that only reduces: the stops go first, nothing new to protect', async () => {
    start(broker);
    const { send } = await harness(broker);
    await send({ t: SBER, d: 'buy', v: 3, o: 'market', sl: '90', tp: '120' });

    const reduce = await send({ t: SBER, pos: 1, o: 'market', sl: '90' });

    expect(reduce.json).toMatchObject({
      result: 'placed',
      protection: { status: 'none', lots: 0, reason: 'the order opens no position' },
    });
    // At Alor the take-profit goes with its group once the stop-loss is cancelled: one cancel may be enough.
    expect((reduce.json.cancelled as string[]).length).toBeGreaterThanOrEqual(1);
    expect(positionOf(paper, broker, 'SBER')).toBe(1);
    expect(activeStops(broker, 'SBER')).toEqual([]);
  });
});

describe('tinkoff: a trailing take-profit and a watch that cannot reach the broker', () => {
  it('trail: the take-profit trails the best price from the entry, and executes its distance below it', async () => {
    start('tinkoff');
    const { send, watch } = await harness('tinkoff');

    const answer = await send({ t: SBER, d: 'buy', v: 1, o: 'market', trail: '2%' });

    expect(answer.json).toMatchObject({
      protection: { status: 'active', lots: 1, trail: '2%' },
      orders: expect.arrayContaining([expect.objectContaining({ leg: 'tp', type: 'trailing', price: '100' })]),
    });
    setLast('tinkoff', 110);
    setLast('tinkoff', 108);
    expect(positionOf(paper, 'tinkoff', 'SBER')).toBe(1);
    setLast('tinkoff', 107.7);
    await watch();
    expect(positionOf(paper, 'tinkoff', 'SBER')).toBe(0);
    expect(activeStops('tinkoff', 'SBER')).toEqual([]);
  });

  it('unreachable: the watch goes on, and the third failed check in a row is told', async () => {
    start('tinkoff');
    const { send, watch } = await harness('tinkoff');
    const answer = await send({ t: SBER, d: 'buy', v: 1, p: '100', sl: '95', tp: '105' });
    paper.tinkoff.injectFault({ route: 'order-state', fault: { kind: 'status', status: 500 }, times: 6 });

    for (let check = 0; check < 3; check++) await watch();
    paper.tinkoff.clearFaults();
    fillEntry('tinkoff', entryId(answer), { status: 'filled' });
    await watch();

    const lines = logLines().filter((line) => line.message === PROTECTION_LOG_MESSAGE);
    expect(lines.slice(0, 3).map((line) => [line.result, line.attempt, line.told])).toEqual([
      ['unreachable', 1, false],
      ['unreachable', 2, false],
      ['unreachable', 3, true],
    ]);
    expect(activeStops('tinkoff', 'SBER')).toHaveLength(2);
  });
});
