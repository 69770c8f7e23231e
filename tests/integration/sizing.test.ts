import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_PAPER_MONEY } from '#local/paper-broker/book.ts';
import { PAPER_ALOR, PAPER_TINKOFF, type PaperBrokers } from '#local/paper-broker/index.ts';
import { BROKERS, type Broker } from '#shared/facts.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { useHeldFollowUpQueue } from '../helpers/protection.ts';
import { flatten, holdPosition, instrumentId, ordersOf, positionOf, signalContainer } from '../helpers/signals.ts';

/**
 * docs/contract.md#sizing through the exported handler of each function, against both paper brokers: `vt` in roubles,
 * in percent of the portfolio and in percent of it at risk to `sl` gives the lots a person would compute (lots of 1,
 * 10 and 100 pieces), capped by what the broker lets the account buy, and a size below one lot is refused with the
 * numbers it came from. The paper account holds 1 000 000 ₽, all of it cash, unless a test says otherwise. A risk
 * size's `sl` is its entry's stop-loss too (docs/contract.md#protection), for the lots it sized.
 */

const paper = usePaperBrokers();
// A protected T-Invest entry's watch goes to a queue: held, never delivered here.
useHeldFollowUpQueue();

const container = (broker: Broker) => signalContainer(paper, broker);

function setMoney(paperBrokers: PaperBrokers, broker: Broker, change: Partial<typeof DEFAULT_PAPER_MONEY>) {
  if (broker === 'alor') paperBrokers.alor.setMoney(PAPER_ALOR.portfolio, change);
  else paperBrokers.tinkoff.setMoney(PAPER_TINKOFF.accountId, change);
}

function setLastPrice(broker: Broker, ticker: string, price: number) {
  paper[broker].setLastPrice(instrumentId(broker, ticker), price);
}

beforeEach(() => {
  for (const broker of BROKERS) setMoney(paper, broker, DEFAULT_PAPER_MONEY);
});

/** Lots of 1 (LKOH), 10 (SBER) and 100 (IRAO) pieces: each size, and the lots a person computes from it. */
const CASES = [
  // 10 000 ₽ / (250 × 1) = 40
  { ticker: 'LKOH', lot: 1, p: 250, v: 10_000, vt: 'rub', lots: 40 },
  // 5% of 1 000 000 ₽ = 50 000 ₽ / 250 = 200
  { ticker: 'LKOH', lot: 1, p: 250, v: 5, vt: 'pct', lots: 200 },
  // 1% of 1 000 000 ₽ = 10 000 ₽ at risk; 2% of 250 = 5 ₽ a lot → 2000
  { ticker: 'LKOH', lot: 1, p: 250, v: 1, vt: 'risk', sl: '2%', lots: 2000 },
  // 10 000 ₽ / (250 × 10) = 4
  { ticker: 'SBER', lot: 10, p: 250, v: 10_000, vt: 'rub', lots: 4 },
  // 50 000 ₽ / 2 500 = 20
  { ticker: 'SBER', lot: 10, p: 250, v: 5, vt: 'pct', lots: 20 },
  // 10 000 ₽ at risk; (250 − 245) × 10 = 50 ₽ a lot → 200
  { ticker: 'SBER', lot: 10, p: 250, v: 1, vt: 'risk', sl: 245, lots: 200 },
  // 10 000 ₽ / (3.5 × 100) = 28.57 → 28
  { ticker: 'IRAO', lot: 100, p: 3.5, v: 10_000, vt: 'rub', lots: 28 },
  // 50 000 ₽ / 350 = 142.86 → 142
  { ticker: 'IRAO', lot: 100, p: 3.5, v: 5, vt: 'pct', lots: 142 },
  // 0.5% = 5 000 ₽ at risk; 1% of 350 = 3.5 ₽ a lot → 1428.57 → 1428
  { ticker: 'IRAO', lot: 100, p: 3.5, v: 0.5, vt: 'risk', sl: '1%', lots: 1428 },
] as const;

describe.each(BROKERS)('%s: sizing', (broker) => {
  it.each(CASES)(
    'placed: $vt $v on $ticker (lot $lot) at $p buys $lots lots',
    async ({ ticker, p, v, vt, lots, ...rest }) => {
      flatten(paper, broker, ticker);
      const send = await container(broker);
      const sl = 'sl' in rest ? rest.sl : undefined;

      const answer = await send({ t: `MOEX:${ticker}`, d: 'buy', v, vt, p, ...(sl === undefined ? {} : { sl }) });

      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ result: 'placed', intent: 'order', size: { vt, v, lots } });
      expect((answer.json.orders as unknown[])[0]).toMatchObject({
        leg: 'entry',
        side: 'buy',
        lots,
        type: 'limit',
        price: String(p),
      });
      // The risk's stop-loss protects the lots it sized, once the entry fills.
      if (sl !== undefined) expect(answer.json.protection).toMatchObject({ status: 'on-fill', lots });
      expect(ordersOf(paper, broker, ticker).at(-1)).toMatchObject({ side: 'buy', lots });
    },
  );

  it('placed: the issue\'s measured body ("v":10000,"vt":"rub" at 250) buys 4 lots of 10, not 10 000 lots', async () => {
    flatten(paper, broker, 'SBER');
    const send = await container(broker);

    const answer = await send({ t: 'MOEX:SBER', d: 'buy', v: 10000, vt: 'rub', p: 250 });

    expect(answer.json).toMatchObject({ result: 'placed', orders: [{ lots: 4 }] });
    expect(ordersOf(paper, broker, 'SBER').at(-1)).toMatchObject({ lots: 4 });
  });

  it('placed: a market order is sized at the last price', async () => {
    flatten(paper, broker, 'SBER');
    setLastPrice(broker, 'SBER', 320);
    const send = await container(broker);

    const answer = await send({ t: 'MOEX:SBER', d: 'buy', v: 10_000, vt: 'rub', o: 'market' });

    // 10 000 ₽ / (320 × 10) = 3.125 → 3
    expect(answer.json).toMatchObject({ result: 'placed', size: { lots: 3, lotValue: 3200 }, orders: [{ lots: 3 }] });
  });

  it("placed: the size is capped by what the account's own money buys, and the answer says so", async () => {
    flatten(paper, broker, 'SBER');
    setMoney(paper, broker, { cash: 100_000 });
    const send = await container(broker);

    const answer = await send({ t: 'MOEX:SBER', d: 'buy', v: 10_000_000, vt: 'rub', p: 250 });

    // 4 000 lots wanted; 100 000 ₽ buys 40 lots of 2 500 ₽
    expect(answer.json).toMatchObject({
      result: 'placed',
      size: { lots: 4000, cappedTo: 40 },
      orders: [{ lots: 40 }],
    });
  });

  it('size-zero: a budget below one lot is refused with the numbers it came from, nothing sent', async () => {
    flatten(paper, broker, 'SBER');
    const send = await container(broker);
    const booked = ordersOf(paper, broker, 'SBER').length;

    const answer = await send({ t: 'MOEX:SBER', d: 'buy', v: 1000, vt: 'rub', p: 250 });

    expect(answer).toMatchObject({
      status: 400,
      json: {
        result: 'size-zero',
        message: 'Размер заявки 0 лотов: 1 000 ₽ меньше цены лота 2 500 ₽ (250 × 10 шт.)',
      },
    });
    expect(ordersOf(paper, broker, 'SBER')).toHaveLength(booked);
  });

  it('size-zero: a percentage of a small portfolio, with both numbers', async () => {
    setMoney(paper, broker, { portfolioValue: 40_000, cash: 40_000 });
    const send = await container(broker);

    const answer = await send({ t: 'MOEX:SBER', d: 'buy', v: 5, vt: 'pct', p: 250 });

    expect(answer.json).toMatchObject({
      result: 'size-zero',
      message: 'Размер заявки 0 лотов: 5% портфеля 40 000 ₽ = 2 000 ₽ меньше цены лота 2 500 ₽ (250 × 10 шт.)',
    });
  });

  it('size-zero: no cash left to buy one lot, with what the size asked for', async () => {
    setMoney(paper, broker, { cash: 1000 });
    const send = await container(broker);

    const answer = await send({ t: 'MOEX:SBER', d: 'buy', v: 10_000, vt: 'rub', p: 250 });

    expect(answer.json).toMatchObject({
      result: 'size-zero',
      message: 'Размер заявки 0 лотов: брокер разрешает купить 0 лотов без плеча (по расчёту 4)',
    });
  });

  it("bad-stop: a risk size whose sl is above a buy's entry is refused, nothing sent", async () => {
    const send = await container(broker);
    const booked = ordersOf(paper, broker, 'SBER').length;

    const answer = await send({ t: 'MOEX:SBER', d: 'buy', v: 1, vt: 'risk', sl: 260, p: 250 });

    expect(answer).toMatchObject({
      status: 400,
      json: { result: 'bad-stop', message: 'sl 260 не защищает покупку: вход по 250' },
    });
    expect(ordersOf(paper, broker, 'SBER')).toHaveLength(booked);
  });

  it('placed: pos in percent is a target in lots, traded from the position held', async () => {
    flatten(paper, broker, 'SBER');
    holdPosition(paper, broker, 'SBER', 5);
    setLastPrice(broker, 'SBER', 250);
    const send = await container(broker);

    const answer = await send({ t: 'MOEX:SBER', pos: 2, vt: 'pct', o: 'market' });

    // 2% of 1 000 000 ₽ = 20 000 ₽ / 2 500 = 8 lots; 5 held → buy 3
    expect(answer.json).toMatchObject({
      result: 'placed',
      intent: 'position',
      position: 5,
      target: 8,
      size: { vt: 'pct', v: 2, lots: 8 },
      orders: [{ side: 'buy', lots: 3, type: 'market' }],
    });
    expect(positionOf(paper, broker, 'SBER')).toBe(8);
  });

  it('placed: a negative pos in roubles is a short target', async () => {
    flatten(paper, broker, 'SBER');
    holdPosition(paper, broker, 'SBER', 2);
    setLastPrice(broker, 'SBER', 250);
    const send = await container(broker);

    const answer = await send({ t: 'MOEX:SBER', pos: -5000, vt: 'rub', o: 'market' });

    // −5 000 ₽ / 2 500 = −2 lots; from 2 held: sell 4, capped by the 2 lots held (no margin)
    expect(answer.json).toMatchObject({
      result: 'placed',
      target: -2,
      size: { lots: 2, cappedTo: 2 },
      orders: [{ side: 'sell', lots: 2 }],
    });
  });

  it('nothing-to-do: the same sized signal again orders nothing more', async () => {
    flatten(paper, broker, 'SBER');
    setLastPrice(broker, 'SBER', 250);
    const send = await container(broker);
    await send({ t: 'MOEX:SBER', pos: 10_000, vt: 'rub', o: 'market' });
    const booked = ordersOf(paper, broker, 'SBER').length;

    const again = await send({ t: 'MOEX:SBER', pos: 10_000, vt: 'rub', o: 'market' });

    expect(again.json).toMatchObject({ result: 'nothing-to-do', position: 4, target: 4 });
    expect(ordersOf(paper, broker, 'SBER')).toHaveLength(booked);
  });

  it('placed: a resent sized order with the same key is the same broker order, whatever it sizes to now', async () => {
    flatten(paper, broker, 'SBER');
    const send = await container(broker);
    const first = await send({ t: 'MOEX:SBER', d: 'buy', v: 10_000, vt: 'rub', p: 250 }, { key: 'sized-once' });
    setMoney(paper, broker, { cash: 5000 });

    const again = await send({ t: 'MOEX:SBER', d: 'buy', v: 10_000, vt: 'rub', p: 250 }, { key: 'sized-once' });

    const firstId = (first.json.orders as { id: string }[])[0]?.id;
    expect(again.json).toMatchObject({ result: 'placed', orders: [{ id: firstId, replayed: true }] });
  });
});
