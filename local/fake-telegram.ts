import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { TELEGRAM_MAX_MESSAGE_CHARS } from '#shared/facts.ts';
import { readRequestBody } from './http-body.ts';

/**
 * A stand-in for Telegram's Bot API on 127.0.0.1, for the tests and `npm start`: `POST /bot<token>/sendMessage`
 * checked as Telegram checks it (the token's form and value, the chat, the text's length after entity parsing, HTML
 * parse mode's tags and entities), answered as Telegram answers (`{ok, result}` or `{ok: false, error_code,
 * description, parameters}`). It keeps the messages it accepted and every request it received, and can be told to
 * answer 429 with `retry_after`, a 5xx, or to drop connections, as the real API does on a bad day.
 */

export interface FakeTelegramOptions {
  /** The bot's token; requests with another one get 401. @default FAKE_TELEGRAM.botToken */
  readonly botToken?: string;
  /** The one chat the bot may write to; any other gets 400 "chat not found". @default FAKE_TELEGRAM.chatId */
  readonly chatId?: string;
  readonly port?: number;
}

/** The bot and chat `npm start` and the tests use: obvious fakes in Telegram's formats. */
export const FAKE_TELEGRAM = { botToken: '123456789:FAKE-fake-fake-fake-fake-fake-fake1', chatId: '-1001234567890' };

export interface TelegramEntity {
  readonly type: string;
  readonly offset: number;
  readonly length: number;
}

/** A message the fake accepted: what the chat would show. */
export interface FakeTelegramMessage {
  readonly messageId: number;
  readonly chatId: string;
  /** The text as sent, with its markup. */
  readonly html: string;
  /** The text as the chat shows it: entities parsed. */
  readonly text: string;
  readonly entities: readonly TelegramEntity[];
  readonly date: string;
}

/** One request as received, accepted or not. */
export interface FakeTelegramRequest {
  readonly path: string;
  readonly body: string;
}

/** How the next requests are answered. */
export type TelegramFault =
  | { readonly kind: 'rate-limited'; readonly retryAfter: number }
  | { readonly kind: 'status'; readonly status: number }
  /** The connection is reset before any answer, as when the API is unreachable. */
  | { readonly kind: 'down' };

export interface FakeTelegram {
  readonly url: string;
  readonly botToken: string;
  readonly chatId: string;
  readonly messages: readonly FakeTelegramMessage[];
  readonly requests: readonly FakeTelegramRequest[];
  /** The next `times` sendMessage requests get `fault` instead of being accepted. */
  injectFault(fault: TelegramFault, times?: number): void;
  clearFaults(): void;
  reset(): void;
  close(): Promise<void>;
}

const TOKEN_FORM = /^\d{5,12}:[A-Za-z0-9_-]{30,40}$/;
const MAX_REQUEST_BYTES = 64 * 1024;
const MAX_KEPT = 10_000;
/** The tags of Telegram's HTML parse mode (core.telegram.org/bots/api#html-style). */
const TAG_TYPES: Readonly<Record<string, string>> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  'tg-spoiler': 'spoiler',
  span: 'spoiler',
  a: 'text_link',
  code: 'code',
  pre: 'pre',
  blockquote: 'blockquote',
};
const NAMED_ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"' };

export type ParsedHtml = { ok: true; text: string; entities: TelegramEntity[] } | { ok: false; description: string };

const cantParse = (detail: string): ParsedHtml => ({
  ok: false,
  description: `Bad Request: can't parse entities: ${detail}`,
});

/** HTML parse mode as Telegram applies it: known tags only, balanced, the four named entities and numeric ones. */
export function parseTelegramHtml(html: string): ParsedHtml {
  let text = '';
  const entities: TelegramEntity[] = [];
  const open: { name: string; offset: number }[] = [];
  let index = 0;
  while (index < html.length) {
    const char = html[index] ?? '';
    const byteOffset = Buffer.byteLength(html.slice(0, index));
    if (char === '<') {
      const match = /^<(\/?)([a-zA-Z-]+)((?:\s[^<>]*)?)>/.exec(html.slice(index));
      if (match === null) return cantParse(`Unsupported start tag at byte offset ${byteOffset}`);
      const [whole, closing, rawName = ''] = match;
      const name = rawName.toLowerCase();
      const type = TAG_TYPES[name];
      if (type === undefined) return cantParse(`Unsupported start tag "${name}" at byte offset ${byteOffset}`);
      if (closing === '/') {
        const last = open.pop();
        if (last === undefined || last.name !== name) {
          return cantParse(`Unmatched end tag at byte offset ${byteOffset}, expected "</${last?.name ?? ''}>"`);
        }
        if (text.length > last.offset) entities.push({ type, offset: last.offset, length: text.length - last.offset });
      } else {
        open.push({ name, offset: text.length });
      }
      index += whole.length;
    } else if (char === '&') {
      const match = /^&(#\d{1,7}|#x[\da-fA-F]{1,6}|[a-zA-Z]+);/.exec(html.slice(index));
      const name = match?.[1] ?? '';
      const decoded = name.startsWith('#x')
        ? String.fromCodePoint(Number.parseInt(name.slice(2), 16))
        : name.startsWith('#')
          ? String.fromCodePoint(Number(name.slice(1)))
          : NAMED_ENTITIES[name];
      if (match === null) {
        // Telegram keeps an ampersand that starts no entity.
        text += '&';
        index += 1;
        continue;
      }
      if (decoded === undefined) return cantParse(`Unsupported HTML entity "&${name};" at byte offset ${byteOffset}`);
      text += decoded;
      index += match[0].length;
    } else if (char === '>') {
      return cantParse(`Unexpected end of tag at byte offset ${byteOffset}`);
    } else {
      text += char;
      index += 1;
    }
  }
  const unclosed = open.pop();
  if (unclosed !== undefined) return cantParse(`Can't find end tag corresponding to start tag "${unclosed.name}"`);
  return { ok: true, text, entities };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

const failure = (code: number, description: string, parameters?: Record<string, number>) => ({
  ok: false,
  error_code: code,
  description,
  ...(parameters === undefined ? {} : { parameters }),
});

export async function startFakeTelegram(options: FakeTelegramOptions = {}): Promise<FakeTelegram> {
  const botToken = options.botToken ?? FAKE_TELEGRAM.botToken;
  const chatId = options.chatId ?? FAKE_TELEGRAM.chatId;
  const messages: FakeTelegramMessage[] = [];
  const requests: FakeTelegramRequest[] = [];
  const sockets = new Set<Socket>();
  let faults: { fault: TelegramFault; times: number }[] = [];
  let messageId = 100;

  const takeFault = (): TelegramFault | undefined => {
    const rule = faults[0];
    if (rule === undefined) return undefined;
    rule.times -= 1;
    if (rule.times <= 0) faults = faults.slice(1);
    return rule.fault;
  };

  const sendMessage = (payload: Record<string, unknown>): { status: number; body: unknown } => {
    if (String(payload.chat_id ?? '') !== chatId)
      return { status: 400, body: failure(400, 'Bad Request: chat not found') };
    if (payload.parse_mode !== undefined && payload.parse_mode !== 'HTML') {
      return { status: 400, body: failure(400, 'Bad Request: unsupported parse_mode') };
    }
    const html = typeof payload.text === 'string' ? payload.text : '';
    const parsed: ParsedHtml =
      payload.parse_mode === 'HTML' ? parseTelegramHtml(html) : { ok: true, text: html, entities: [] };
    if (!parsed.ok) return { status: 400, body: failure(400, parsed.description) };
    if (parsed.text.trim() === '') return { status: 400, body: failure(400, 'Bad Request: message text is empty') };
    if (parsed.text.length > TELEGRAM_MAX_MESSAGE_CHARS) {
      return { status: 400, body: failure(400, 'Bad Request: message is too long') };
    }
    messageId += 1;
    const date = new Date();
    if (messages.length >= MAX_KEPT) messages.shift();
    messages.push({ messageId, chatId, html, text: parsed.text, entities: parsed.entities, date: date.toISOString() });
    return {
      status: 200,
      body: {
        ok: true,
        result: {
          message_id: messageId,
          from: { id: Number(botToken.split(':')[0]), is_bot: true, first_name: 'PPP webhooks' },
          chat: { id: Number(chatId), type: 'private' },
          date: Math.floor(date.getTime() / 1000),
          text: parsed.text,
          ...(parsed.entities.length === 0 ? {} : { entities: parsed.entities }),
        },
      },
    };
  };

  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    const raw = await readRequestBody(request, MAX_REQUEST_BYTES);
    if (raw.tooLarge) {
      response.setHeader('connection', 'close');
      return send(response, 413, failure(413, 'Request Entity Too Large'));
    }
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const body = raw.bytes.toString('utf8');
    if (requests.length >= MAX_KEPT) requests.shift();
    requests.push({ path, body });
    const route = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(path);
    if (route === null || !TOKEN_FORM.test(route[1] ?? '')) return send(response, 404, failure(404, 'Not Found'));
    if (route[1] !== botToken) return send(response, 401, failure(401, 'Unauthorized'));
    if (route[2] !== 'sendMessage' || request.method !== 'POST') {
      return send(response, 404, failure(404, 'Not Found: method not found'));
    }
    const fault = takeFault();
    if (fault?.kind === 'down') return request.socket.resetAndDestroy();
    if (fault?.kind === 'rate-limited') {
      return send(
        response,
        429,
        failure(429, `Too Many Requests: retry after ${fault.retryAfter}`, { retry_after: fault.retryAfter }),
      );
    }
    if (fault?.kind === 'status') return send(response, fault.status, failure(fault.status, 'Internal Server Error'));
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      return send(response, 400, failure(400, "Bad Request: can't parse JSON object"));
    }
    if (typeof payload !== 'object' || payload === null) {
      return send(response, 400, failure(400, 'Bad Request: message text is empty'));
    }
    const answer = sendMessage(payload as Record<string, unknown>);
    send(response, answer.status, answer.body);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    botToken,
    chatId,
    messages,
    requests,
    injectFault: (fault, times = 1) => {
      faults.push({ fault, times });
    },
    clearFaults: () => {
      faults = [];
    },
    reset: () => {
      faults = [];
      messages.length = 0;
      requests.length = 0;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
