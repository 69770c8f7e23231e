import { type Broker, ENV } from '#shared/facts.ts';
import type { DevServer } from './server.ts';

/** What `npm start` prints once it is up: where everything is, what to mind, and requests ready to paste. */

/** A value as one shell word. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Ready-to-paste requests: a check ping and an order per broker, and the `?secret=` form. */
export function curlExamples(server: Pick<DevServer, 'secret' | 'brokers' | 'alorExchange'>): string[] {
  const json = "-H 'content-type: application/json'";
  const auth = `-H ${shellQuote(`x-webhook-secret: ${server.secret}`)}`;
  const moex = server.alorExchange === 'MOEX';
  const alorOrder = { t: moex ? 'SBER' : 'AAPL', p: moex ? 250.5 : 150.5, v: 1, d: 'buy' };
  const tinkoffOrder = { t: 'SBER', p: 250.5, v: 1, d: 'buy', f: 'BBG004730N88' };
  const lines: string[] = [];
  for (const [broker, order] of [
    ['alor', alorOrder],
    ['tinkoff', tinkoffOrder],
  ] as const) {
    const url = server.brokers[broker].webhookUrl;
    lines.push(
      `curl -sS -X POST ${url} ${auth} ${json} -d '{"check":true}'`,
      `curl -sS -X POST ${url} ${auth} ${json} -d ${shellQuote(JSON.stringify(order))}`,
    );
  }
  const alorUrl = server.brokers.alor.webhookUrl;
  lines.push(
    `curl -sS -X POST ${shellQuote(`${alorUrl}?secret=${encodeURIComponent(server.secret)}`)} ${json} -d '{"check":true}'`,
  );
  return lines;
}

export function banner(server: DevServer): string {
  const describe = (broker: Broker) => {
    const setup = server.brokers[broker];
    return setup.mode === 'paper' ? `paper broker at ${setup.brokerUrl}` : `REAL broker at ${setup.brokerUrl}`;
  };
  const generated = server.secretGenerated
    ? `   (generated for this run; set ${ENV.webhookSecret} in .env to keep one)`
    : '';
  return [
    '',
    'ppp-webhooks local run',
    `  console          ${server.url}/`,
    `  Alor webhook     ${server.brokers.alor.webhookUrl}      (${describe('alor')})`,
    `  T-Invest webhook ${server.brokers.tinkoff.webhookUrl}   (${describe('tinkoff')})`,
    `  webhook secret   ${server.secret}${generated}`,
    `  Telegram         ${
      server.telegram.mode === 'fake'
        ? `fake Telegram at ${server.telegram.apiUrl} (messages in the console)`
        : 'REAL bot from .env (TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID): messages go to your chat'
    }`,
    ...server.warnings.map((warning) => `  ${warning}`),
    ...server.notes.map((note) => `  NOTE: ${note}`),
    '',
    'Try it:',
    ...curlExamples(server).map((line) => `  ${line}`),
    '',
    'Ctrl+C stops it.',
    '',
  ].join('\n');
}
