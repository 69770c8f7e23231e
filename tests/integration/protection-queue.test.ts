import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeAwsStore, SEND_MESSAGE, startFakeAwsStore } from '#local/aws-store.ts';
import { PAPER_INSTRUMENTS } from '#local/paper-broker/index.ts';
import { toSqsEvent } from '#local/sqs-event.ts';
import { PROTECTION_WATCH_SECONDS } from '#shared/facts.ts';
import { type Env, importFollowUpHandler, importHandler, tinkoffPaperEnv } from '../helpers/handlers.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { flatten, jsonAnswer, positionOf, signalEvent } from '../helpers/signals.ts';

/**
 * A protected T-Invest entry's watch in the deployed code path (docs/contract.md#protection): the webhook and the
 * follow-up send to T-Invest's follow-up queue with the real SQS client (loaded on demand), pointed at the fake AWS
 * store's SQS; the test takes the messages off it and delivers them as Lambda's event source would. No time passes.
 */

const paper = usePaperBrokers();
let store: FakeAwsStore;
/** The queue's URL at the fake store: the SQS client sends to the host of the queue's URL. */
let QUEUE = '';
const SBER_UID = PAPER_INSTRUMENTS.tinkoff.find((instrument) => instrument.ticker === 'SBER')?.uid ?? '';

beforeAll(async () => {
  store = await startFakeAwsStore();
  QUEUE = `${store.url}/000000000000/PppWebhooks-TinkoffFollowUp`;
});
afterAll(async () => {
  await store.close();
});

const env = (): Env => ({ ...tinkoffPaperEnv(paper), ...store.env(), TINKOFF_FOLLOW_UP_QUEUE_URL: QUEUE });

describe('tinkoff: the watch on SQS', () => {
  it('is queued before the entry, and checks until the pair is done', async () => {
    flatten(paper, 'tinkoff', 'SBER');
    paper.tinkoff.setLastPrice(SBER_UID, 100);
    const handler = await importHandler('tinkoff', env());
    const followUp = await importFollowUpHandler('tinkoff', env());

    const answer = jsonAnswer(
      await handler(signalEvent('tinkoff', { t: 'MOEX:SBER', d: 'buy', v: 1, p: '100', sl: '95', tp: '105' })),
    );
    const queued = store.takeMessages(QUEUE);
    expect(queued).toEqual([
      { body: expect.stringContaining('"type":"protect"'), delaySeconds: PROTECTION_WATCH_SECONDS },
    ]);
    expect(store.count(SEND_MESSAGE, QUEUE)).toBe(1);

    paper.tinkoff.setOrderState((answer.json.orders as { id: string }[])[0]?.id ?? '', { status: 'filled' });
    await followUp(toSqsEvent(queued.map((message) => JSON.parse(message.body))));
    const next = store.takeMessages(QUEUE);
    expect(next).toHaveLength(1);
    expect(paper.tinkoff.stopOrders.filter((stop) => stop.status === 'STOP_ORDER_STATUS_ACTIVE')).toHaveLength(2);

    paper.tinkoff.setLastPrice(SBER_UID, 106);
    await followUp(toSqsEvent(next.map((message) => JSON.parse(message.body))));

    expect(positionOf(paper, 'tinkoff', 'SBER')).toBe(0);
    expect(paper.tinkoff.stopOrders.filter((stop) => stop.status === 'STOP_ORDER_STATUS_ACTIVE')).toEqual([]);
    expect(store.takeMessages(QUEUE)).toEqual([]);
  });

  it('places nothing when the watch cannot be queued', async () => {
    flatten(paper, 'tinkoff', 'SBER');
    store.failWith('InternalError');
    try {
      const handler = await importHandler('tinkoff', env());
      const before = paper.tinkoff.orders.length;
      const answer = jsonAnswer(
        await handler(signalEvent('tinkoff', { t: 'MOEX:SBER', d: 'buy', v: 1, o: 'market', sl: '95' })),
      );

      expect(answer).toMatchObject({
        status: 400,
        json: { result: 'refused', message: 'Не удалось поставить проверку защиты в очередь: заявка не выставлена' },
      });
      expect(paper.tinkoff.orders).toHaveLength(before);
    } finally {
      store.failWith(undefined);
    }
  });
});
