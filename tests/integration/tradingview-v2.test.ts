import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toApiGatewayEvent } from '#local/api-gateway-event.ts';
import { type Broker, TRADINGVIEW_SOURCE_IPS } from '#shared/facts.ts';
import { alorPaperEnv, importHandler, TEST_WEBHOOK_SECRET, tinkoffPaperEnv } from '../helpers/handlers.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { flatten, holdPosition, jsonAnswer, positionOf, workingOrdersOf } from '../helpers/signals.ts';

/**
 * docs/tradingview.md#target-position-ver-2: the ver 2 alert messages the docs offer (a strategy whose position the
 * account follows, an indicator's exit), rendered as TradingView renders them and sent as TradingView sends them, with
 * the source allow-list on, through the exported handler of each function: the account ends where the strategy is.
 */

const DOCS_WITH_TEMPLATES = ['docs/tradingview.md', 'README.md', 'README.ru.md'] as const;

const FOUND = DOCS_WITH_TEMPLATES.flatMap((path) =>
  [
    ...readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8').matchAll(
      /^```json (v2-tradingview-[a-z-]+)\n([\s\S]*?)^```$/gm,
    ),
  ].map((match) => ({ path, marker: match[1] ?? '', text: match[2] ?? '' })),
);
const TEMPLATES = new Map([...FOUND].reverse().map(({ marker, text }) => [marker, text]));

/** What TradingView puts in for each placeholder on a 1-hour SBER chart (a lot is 10 shares at both paper brokers). */
function render(template: string, values: { exchange: string; positionSize?: string; timenow: string }): string {
  const known: Record<string, string | undefined> = {
    '{{exchange}}': values.exchange,
    '{{ticker}}': 'SBER',
    '{{interval}}': '60',
    '{{strategy.position_size}}': values.positionSize,
    '{{timenow}}': values.timenow,
  };
  return template.replace(/\{\{[^}]*\}\}/g, (placeholder) => {
    const value = known[placeholder];
    if (value === undefined) throw new Error(`a placeholder the test does not know: ${placeholder}`);
    return value;
  });
}

const paper = usePaperBrokers();

async function sendAlert(broker: Broker, message: string) {
  const env = broker === 'alor' ? alorPaperEnv(paper) : tinkoffPaperEnv(paper);
  const handler = await importHandler(broker, { ...env, ALLOWED_SOURCE_IPS: 'tradingview' });
  const response = await handler(
    toApiGatewayEvent({
      method: 'POST',
      url: `/${broker}?secret=${TEST_WEBHOOK_SECRET}`,
      headers: { 'content-type': 'application/json', 'user-agent': 'Go-http-client/1.1' },
      body: Buffer.from(message, 'utf8'),
      routeKey: `POST /${broker}`,
      sourceIp: TRADINGVIEW_SOURCE_IPS[0],
    }),
  );
  return jsonAnswer(response);
}

describe('docs/tradingview.md#target-position-ver-2', () => {
  it('offers the strategy and the exit template, each copy of them the same text', () => {
    expect([...TEMPLATES.keys()].sort()).toEqual([
      'v2-tradingview-indicator-close',
      'v2-tradingview-strategy-position',
    ]);
    expect(FOUND.map(({ path }) => path).sort()).toEqual([
      'README.md',
      'README.md',
      'README.ru.md',
      'README.ru.md',
      'docs/tradingview.md',
      'docs/tradingview.md',
    ]);
    const differing = FOUND.filter(({ marker, text }) => TEMPLATES.get(marker) !== text);
    expect(differing.map(({ path, marker }) => `${path}: ${marker}`)).toEqual([]);
  });

  it.each(['alor', 'tinkoff'] as const)(
    '%s: the account follows the strategy (30 → -20 → 0 shares), a resent alert changes nothing, the exit closes',
    async (broker) => {
      flatten(paper, broker, 'SBER');
      const strategy = TEMPLATES.get('v2-tradingview-strategy-position') ?? '';
      const close = TEMPLATES.get('v2-tradingview-indicator-close') ?? '';
      const at = (positionSize: string, timenow: string) =>
        render(strategy, { exchange: 'MOEX', positionSize, timenow });

      const long = await sendAlert(broker, at('30', '2026-12-01T10:00:00Z'));
      const resent = await sendAlert(broker, at('30', '2026-12-01T10:00:00Z'));
      const short = await sendAlert(broker, at('-20', '2026-12-01T11:00:00Z'));
      const flat = await sendAlert(broker, at('0', '2026-12-01T12:00:00Z'));

      expect(long.json).toMatchObject({ result: 'placed', target: 3, orders: [{ side: 'buy', lots: 3 }] });
      expect(resent.json).toMatchObject({ result: 'nothing-to-do' });
      expect(short.json).toMatchObject({ result: 'placed', target: -2, orders: [{ side: 'sell', lots: 5 }] });
      expect(flat.json).toMatchObject({ result: 'placed', target: 0, orders: [{ side: 'buy', lots: 2 }] });
      expect(positionOf(paper, broker, 'SBER')).toBe(0);

      holdPosition(paper, broker, 'SBER', 4);
      const exit = await sendAlert(broker, render(close, { exchange: 'MOEX_DLY', timenow: '2026-12-01T13:00:00Z' }));
      expect(exit).toMatchObject({ status: 200, json: { result: 'placed', intent: 'close', orders: [{ lots: 4 }] } });
      expect(positionOf(paper, broker, 'SBER')).toBe(0);
      expect(workingOrdersOf(paper, broker, 'SBER')).toEqual([]);
    },
  );

  it.each(['alor', 'tinkoff'] as const)(
    '%s: a strategy size that is not whole lots is refused, nothing ordered',
    async (broker) => {
      flatten(paper, broker, 'SBER');
      const strategy = TEMPLATES.get('v2-tradingview-strategy-position') ?? '';

      const answer = await sendAlert(
        broker,
        render(strategy, { exchange: 'MOEX', positionSize: '25.0', timenow: '2026-12-01T10:00:00Z' }),
      );

      expect(answer).toMatchObject({ status: 400, json: { result: 'not-whole-lots' } });
      expect(positionOf(paper, broker, 'SBER')).toBe(0);
    },
  );
});
