import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toApiGatewayEvent } from '#local/api-gateway-event.ts';
import { PAPER_INSTRUMENTS } from '#local/paper-broker/index.ts';
import { type Broker, TRADINGVIEW_SOURCE_IPS } from '#shared/facts.ts';
import {
  alorPaperEnv,
  type ContractAnswer,
  type Env,
  importHandler,
  TEST_WEBHOOK_SECRET,
  tinkoffPaperEnv,
} from '../helpers/handlers.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';

/**
 * docs/tradingview.md#messages: every alert message the docs offer, rendered as TradingView renders it and sent as
 * TradingView sends it (from one of its addresses, the secret in the URL or the message, `application/json` when the
 * message is JSON and `text/plain` otherwise), through the exported handler of each function with the source allow-list
 * on, places the intended order on the paper broker.
 */

/** Where a trader copies alert messages from: the page of them all, and the READMEs' copies of the main ones. */
const DOCS_WITH_TEMPLATES = ['docs/tradingview.md', 'README.md', 'README.ru.md'] as const;

/** Every alert message of those files, by the marker of its fenced block (```json tradingview-…), with its file. */
const FOUND = DOCS_WITH_TEMPLATES.flatMap((path) =>
  [
    ...readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8').matchAll(
      /^```json (tradingview-[a-z-]+)\n([\s\S]*?)^```$/gm,
    ),
  ].map((match) => ({ path, marker: match[1] ?? '', text: match[2] ?? '' })),
);

/** The alert messages by marker, as the first file holding each has it (a copy must be the same: checked below). */
const TEMPLATES = new Map([...FOUND].reverse().map(({ marker, text }) => [marker, text]));

/** What TradingView puts in for each placeholder, on a chart like this. */
interface Chart {
  readonly exchange: string;
  readonly ticker: string;
  readonly interval: string;
  readonly action: 'buy' | 'sell';
  readonly contracts: string;
  /** The strategy's position after the order: `{{strategy.position_size}}`. */
  readonly positionSize: string;
  readonly close: string;
}

const CHARTS: readonly Chart[] = [
  {
    exchange: 'MOEX',
    ticker: 'SBER',
    interval: '60',
    action: 'buy',
    contracts: '1',
    positionSize: '1',
    close: '285.45',
  },
  {
    exchange: 'MOEX_DLY',
    ticker: 'SBER',
    interval: '1D',
    action: 'sell',
    contracts: '10',
    positionSize: '-10',
    close: '285.45',
  },
  {
    exchange: 'MOEX',
    ticker: 'GAZP',
    interval: '5',
    action: 'sell',
    contracts: '1.0',
    positionSize: '0',
    close: '128.3',
  },
];

/** Each alert fires a second after the one before: `{{timenow}}`, as TradingView writes it. */
let firedAt = Date.parse('2025-01-31T10:00:00Z');
const nextAlertTime = () => {
  firedAt += 1000;
  return `${new Date(firedAt).toISOString().slice(0, 19)}Z`;
};

/** The order each message is meant to place on a chart: the side and lots the strategy or the message fixes. */
const INTENDED: Readonly<Record<string, (chart: Chart) => { side: 'buy' | 'sell'; lots: number }>> = {
  'tradingview-strategy': (chart) => ({ side: chart.action, lots: Number(chart.contracts) }),
  'tradingview-strategy-body-secret': (chart) => ({ side: chart.action, lots: Number(chart.contracts) }),
  'tradingview-indicator-buy': () => ({ side: 'buy', lots: 1 }),
  'tradingview-indicator-sell': () => ({ side: 'sell', lots: 1 }),
};

/** A template as TradingView fills it in when an alert fires at `timenow` (a new alert each call, by default). */
function render(template: string, chart: Chart, timenow = nextAlertTime()): string {
  const values: Record<string, string> = {
    '{{exchange}}': chart.exchange,
    '{{ticker}}': chart.ticker,
    '{{interval}}': chart.interval,
    '{{strategy.order.action}}': chart.action,
    '{{strategy.order.contracts}}': chart.contracts,
    '{{strategy.position_size}}': chart.positionSize,
    '{{close}}': chart.close,
    '{{timenow}}': timenow,
  };
  const rendered = template
    .replace(/\{\{[^}]*\}\}/g, (placeholder) => {
      const value = values[placeholder];
      if (value === undefined) throw new Error(`a placeholder the test does not know: ${placeholder}`);
      return value;
    })
    .replace('<webhook secret>', TEST_WEBHOOK_SECRET);
  return rendered;
}

/** TradingView's content type: JSON when the message parses as JSON, plain text otherwise. */
function contentTypeOf(message: string): string {
  try {
    JSON.parse(message);
    return 'application/json';
  } catch {
    return 'text/plain; charset=utf-8';
  }
}

const paper = usePaperBrokers();

function envOf(broker: Broker): Env {
  const env = broker === 'alor' ? alorPaperEnv(paper) : tinkoffPaperEnv(paper);
  return { ...env, ALLOWED_SOURCE_IPS: 'tradingview' };
}

/** An alert as TradingView posts it: the message as the body, from one of its addresses, to the URL given. */
async function sendAlert(
  broker: Broker,
  message: string,
  options: { contentType?: string; urlSecret?: boolean; sourceIp?: string } = {},
): Promise<ContractAnswer> {
  const handler = await importHandler(broker, envOf(broker));
  const secret = options.urlSecret === false ? '' : `?secret=${TEST_WEBHOOK_SECRET}`;
  const event = toApiGatewayEvent({
    method: 'POST',
    url: `/${broker}${secret}`,
    headers: { 'content-type': options.contentType ?? contentTypeOf(message), 'user-agent': 'Go-http-client/1.1' },
    body: Buffer.from(message, 'utf8'),
    routeKey: `POST /${broker}`,
    sourceIp: options.sourceIp ?? TRADINGVIEW_SOURCE_IPS[0],
  });
  const response = await handler(event);
  return { status: response.statusCode, body: response.body, headers: response.headers };
}

/** The order the paper broker booked last, in one shape for both brokers. */
function lastOrder(broker: Broker) {
  if (broker === 'alor') {
    const order = paper.alor.orders.at(-1);
    return (
      order && {
        instrument: `${order.exchange}:${order.symbol}`,
        side: order.side,
        lots: order.quantity,
        price: String(order.price),
      }
    );
  }
  const order = paper.tinkoff.orders.at(-1);
  const listed = PAPER_INSTRUMENTS.tinkoff.find((instrument) => instrument.uid === order?.instrumentId);
  return (
    order && {
      instrument: `${listed?.classCode}:${listed?.ticker}`,
      side: order.direction,
      lots: order.lots,
      price: order.price,
    }
  );
}

describe('docs/tradingview.md#messages', () => {
  it('offers a strategy and indicator alerts, each checked below', () => {
    expect([...TEMPLATES.keys()].sort()).toEqual(Object.keys(INTENDED).sort());
  });

  it('gives every copy of a message in another file the same text', () => {
    const differing = FOUND.filter(({ marker, text }) => TEMPLATES.get(marker) !== text);
    expect(differing.map(({ path, marker }) => `${path}: ${marker}`)).toEqual([]);
  });

  const cases = [...TEMPLATES.keys()].flatMap((marker) =>
    (['alor', 'tinkoff'] as const).flatMap((broker) => CHARTS.map((chart) => [marker, broker, chart] as const)),
  );

  it.each(cases)('%s, sent to /%s from a %j chart, places the intended order', async (marker, broker, chart) => {
    const message = render(TEMPLATES.get(marker) ?? '', chart);
    const before = broker === 'alor' ? paper.alor.orders.length : paper.tinkoff.orders.length;
    const bodySecret = message.includes('"secret"');

    const answer = await sendAlert(broker, message, { urlSecret: !bodySecret });

    expect(contentTypeOf(message)).toBe('application/json');
    expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: '200 OK' });
    expect((broker === 'alor' ? paper.alor.orders.length : paper.tinkoff.orders.length) - before).toBe(1);
    const { side, lots } = INTENDED[marker]?.(chart) ?? { side: 'none', lots: 0 };
    expect(lastOrder(broker)).toEqual({
      instrument: broker === 'alor' ? `MOEX:${chart.ticker}` : `TQBR:${chart.ticker}`,
      side,
      lots,
      price: chart.close,
    });
  });
});

describe('docs/tradingview.md#messages: the id of an alert', () => {
  const markers = [...TEMPLATES.keys()];

  it.each(markers)('%s carries an id built from {{timenow}} and {{interval}}, 1-64 printable characters', (marker) => {
    const template = TEMPLATES.get(marker) ?? '';
    expect(template).toMatch(/"id": "\{\{interval\}\}-[^"]*\{\{timenow\}\}"/);
    for (const chart of CHARTS) {
      const { id } = JSON.parse(render(template, chart)) as { id: string };
      expect(id).toMatch(/^[\x20-\x7e]{1,64}$/);
    }
  });

  it.each(markers.flatMap((marker) => (['alor', 'tinkoff'] as const).map((broker) => [marker, broker] as const)))(
    '%s: the same alert delivered twice by TradingView places one order at %s',
    async (marker, broker) => {
      const message = render(TEMPLATES.get(marker) ?? '', CHARTS[0] as Chart);
      const bodySecret = message.includes('"secret"');
      const before = broker === 'alor' ? paper.alor.orders.length : paper.tinkoff.orders.length;

      const answers = [
        await sendAlert(broker, message, { urlSecret: !bodySecret }),
        await sendAlert(broker, message, { urlSecret: !bodySecret }),
      ];

      expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
      expect((broker === 'alor' ? paper.alor.orders.length : paper.tinkoff.orders.length) - before).toBe(1);
    },
  );

  it.each(markers)('%s: two alerts a second apart with the same order place two orders', async (marker) => {
    const template = TEMPLATES.get(marker) ?? '';
    const chart = CHARTS[0] as Chart;
    const before = paper.tinkoff.orders.length;

    for (const message of [render(template, chart), render(template, chart)]) {
      expect(await sendAlert('tinkoff', message, { urlSecret: !message.includes('"secret"') })).toMatchObject({
        status: 200,
      });
    }

    expect(paper.tinkoff.orders.length - before).toBe(2);
  });
});

describe('TradingView requests', () => {
  const message = () => render(TEMPLATES.get('tradingview-strategy') ?? '', CHARTS[0] as Chart);

  it.each(['text/plain', 'text/plain; charset=utf-8', 'application/x-www-form-urlencoded', 'application/json'])(
    'places a JSON message whatever its content type says (%s)',
    async (contentType) => {
      expect(await sendAlert('alor', message(), { contentType })).toMatchObject({ status: 200, body: '200 OK' });
    },
  );

  it.each([
    ['plain text', 'buy SBER 1 at 285.45'],
    [
      'strategy placeholders left unfilled (a strategy message on an indicator alert)',
      '{"t":"MOEX:SBER","d":"{{strategy.order.action}}","v":"{{strategy.order.contracts}}","p":"285.45"}',
    ],
    ['placeholders filled in empty', '{"t":"MOEX:SBER","d":"","v":"","p":"285.45"}'],
    ['an exchange neither broker trades on', '{"t":"NASDAQ:AAPL","d":"buy","v":"1","p":"190.1"}'],
  ])('answers %s with 400 and places nothing', async (_case, text) => {
    const answer = await sendAlert('tinkoff', text);

    expect(answer).toMatchObject({ status: 400, body: 'Некорректные данные в заявке' });
    expect(paper.tinkoff.stats.requests).toBe(0);
  });

  it('answers a message that is not JSON 401 when the secret could only have been in it', async () => {
    expect(await sendAlert('alor', 'buy SBER', { urlSecret: false })).toMatchObject({ status: 401 });
  });

  it('answers 403 "Forbidden" to an alert from an address TradingView does not publish, the secret notwithstanding', async () => {
    expect(await sendAlert('alor', message(), { sourceIp: '198.51.100.23' })).toMatchObject({
      status: 403,
      body: 'Forbidden',
    });
    expect(paper.alor.stats.requests).toBe(0);
  });
});
