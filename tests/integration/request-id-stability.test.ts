import { describe, expect, it } from 'vitest';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { orderSignal, paperHandler, receivedOrderIds } from '../helpers/resilience.ts';
import { signalContainer } from '../helpers/signals.ts';

/**
 * docs/contract.md#idempotency across a deploy: a keyed signal resent after an upgrade must reach the broker under the
 * same request id (Alor's `X-REQID`, T-Invest's `orderId`) as before it, or the broker takes it for a new order. The ids
 * are derived from names (shared/brokers/request-id.ts), field names included, so a rename in an order's terms or a v2
 * signal as read would silently change them: these ids are pinned as the released code derives them. A change here is
 * a change of the contract, never a refactoring.
 */

const paper = usePaperBrokers();

const KEY = 'release-pinned-key';

const isOrder = (request: { route: string }) => request.route === 'order' || request.route === 'market-order';
const alorIds = () => paper.alor.received.filter(isOrder).map((request) => String(request.headers['x-reqid']));
const tinkoffIds = () =>
  paper.tinkoff.received.filter(isOrder).map((request) => (JSON.parse(request.rawBody) as { orderId: string }).orderId);

describe('idempotency across a deploy: a keyed order keeps its broker request id', () => {
  it('Alor, the widget body: X-REQID', async () => {
    await paperHandler('alor', paper)(orderSignal('alor', { headerKey: KEY }));

    expect(receivedOrderIds('alor', paper)).toEqual(['851f1087-c6c9-5097-bc80-917875e51823']);
  });

  it('T-Invest, the widget body with f: orderId', async () => {
    await paperHandler('tinkoff', paper)(orderSignal('tinkoff', { headerKey: KEY }));

    expect(receivedOrderIds('tinkoff', paper)).toEqual(['fa6ec691-8165-5b79-b108-006abbd7c1fb']);
  });

  it('T-Invest, a body without f (the instrument looked up by ticker): orderId', async () => {
    const body = { t: 'SBER', p: '250.5', v: 1, d: 'buy' };
    await paperHandler('tinkoff', paper)(orderSignal('tinkoff', { body, headerKey: KEY }));

    expect(receivedOrderIds('tinkoff', paper)).toEqual(['eff1c5e5-9137-5dc7-bbfd-9f4d60ad5648']);
  });

  it('a ver 2 market entry at each broker: its leg ids', async () => {
    const signal = { ver: 2, t: 'MOEX:SBER', pos: 2, o: 'market' };
    await (await signalContainer(paper, 'alor'))(signal, { key: KEY });
    await (await signalContainer(paper, 'tinkoff'))(signal, { key: KEY });

    expect({ alor: alorIds(), tinkoff: tinkoffIds() }).toEqual({
      alor: ['a1c04b63-1d61-5e16-80f1-dead9a7feca3'],
      tinkoff: ['5af57128-0728-52a1-8e59-67c190f16931'],
    });
  });
});
