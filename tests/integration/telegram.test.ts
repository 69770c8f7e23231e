import { beforeEach, describe, expect, it } from 'vitest';
import { startFakeTelegram } from '#local/fake-telegram.ts';
import { createKeepAliveAgent } from '#shared/http/outbound/client.ts';
import { BACKOFF_MS, MAX_ATTEMPTS, TelegramClient } from '#shared/notify/telegram.ts';
import { useLocalServer } from '../helpers/local-servers.ts';

/** The client against the fake Telegram on 127.0.0.1, with a sleep that only records how long it was asked to wait. */
describe('TelegramClient', () => {
  const telegram = useLocalServer(startFakeTelegram, (started) => started.reset());
  let waits: number[];
  let client: TelegramClient;
  /** The client's clock: a wait moves it, nothing else does. */
  let clock: number;
  const target = () => ({ botToken: telegram.botToken, chatId: telegram.chatId });

  beforeEach(() => {
    waits = [];
    clock = 0;
    client = new TelegramClient({
      dispatcher: createKeepAliveAgent(),
      apiUrl: telegram.url,
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
      now: () => clock,
    });
  });

  it('sends HTML that Telegram accepts, with caller text escaped', async () => {
    const result = await client.sendMessage(target(), '<b>Refused</b>: &lt;script&gt;');

    expect(result).toEqual({ delivered: true, messageId: expect.any(Number), attempts: 1 });
    expect(telegram.messages.map((message) => message.text)).toEqual(['Refused: <script>']);
    expect(JSON.parse(telegram.requests[0]?.body ?? '{}')).toMatchObject({ parse_mode: 'HTML' });
  });

  it('cuts a text longer than 4,096 characters so that Telegram accepts it', async () => {
    const result = await client.sendMessage(target(), `<b>long</b> ${'x'.repeat(5000)}`);

    expect(result.delivered).toBe(true);
    expect(telegram.messages[0]?.text).toHaveLength(4096);
    expect(telegram.messages[0]?.text.endsWith('…')).toBe(true);
  });

  it('waits retry_after on 429, then delivers', async () => {
    telegram.injectFault({ kind: 'rate-limited', retryAfter: 7 });

    const result = await client.sendMessage(target(), 'after the wait');

    expect(result).toMatchObject({ delivered: true, attempts: 2 });
    expect(waits).toEqual([7000]);
    expect(telegram.messages).toHaveLength(1);
  });

  it('leaves the message to a later try when retry_after is longer than one send may wait', async () => {
    telegram.injectFault({ kind: 'rate-limited', retryAfter: 31 });

    const result = await client.sendMessage(target(), 'too long a wait');

    expect(result).toEqual({
      delivered: false,
      attempts: 1,
      reason: 'HTTP 429 Too Many Requests: retry after 31; a wait of 31 s is left to a later try',
      retryable: true,
    });
    expect(waits).toEqual([]);
  });

  it('leaves the message to a later try when retry_after ends past the time the send has', async () => {
    telegram.injectFault({ kind: 'rate-limited', retryAfter: 10 });

    const result = await client.sendMessage(target(), 'not in this run', { sendBy: 9_000 });

    expect(result).toMatchObject({ delivered: false, attempts: 1, retryable: true });
    expect(waits).toEqual([]);
    expect(telegram.messages).toEqual([]);
  });

  it('waits a retry_after that fits in the time the send has', async () => {
    telegram.injectFault({ kind: 'rate-limited', retryAfter: 5 });

    const result = await client.sendMessage(target(), 'just in time', { sendBy: 6_000 });

    expect(result).toMatchObject({ delivered: true, attempts: 2 });
    expect(waits).toEqual([5000]);
  });

  it("starts no attempt without a second of the send's time left", async () => {
    const result = await client.sendMessage(target(), 'too late', { sendBy: 999 });

    expect(result).toEqual({ delivered: false, attempts: 0, reason: 'no time left to send', retryable: true });
    expect(telegram.requests).toEqual([]);
  });

  it.each([
    ['a 5xx', { kind: 'status', status: 502 } as const],
    ['a dropped connection', { kind: 'down' } as const],
  ])('retries %s with backoff, then delivers', async (_case, fault) => {
    telegram.injectFault(fault, 2);

    const result = await client.sendMessage(target(), 'third time');

    expect(result).toMatchObject({ delivered: true, attempts: 3 });
    expect(waits).toEqual(BACKOFF_MS.slice(0, 2));
  });

  it('stops after a bounded number of attempts when Telegram stays down', async () => {
    telegram.injectFault({ kind: 'down' }, 10);

    const result = await client.sendMessage(target(), 'never');

    expect(result).toMatchObject({ delivered: false, attempts: MAX_ATTEMPTS, retryable: true });
    expect(telegram.requests).toHaveLength(MAX_ATTEMPTS);
    expect(waits).toEqual(BACKOFF_MS.slice(0, MAX_ATTEMPTS - 1));
  });

  it.each([
    ['a wrong token', { botToken: '123456789:WRONG-wrong-wrong-wrong-wrong-wrong1' }, 'HTTP 401 Unauthorized'],
    ['a malformed token', { botToken: 'not-a-token' }, 'HTTP 404 Not Found'],
    ['another chat', { chatId: '42' }, 'HTTP 400 Bad Request: chat not found'],
  ])('does not retry %s, and never quotes the token', async (_case, override, reason) => {
    const result = await client.sendMessage({ ...target(), ...override }, 'hello');

    expect(result).toEqual({ delivered: false, attempts: 1, reason, retryable: false });
    expect(result.delivered === false && result.reason).not.toContain(telegram.botToken.split(':')[1]);
  });

  it('reports markup Telegram cannot parse as final', async () => {
    const result = await client.sendMessage(target(), '<b>unclosed');

    expect(result).toMatchObject({ delivered: false, attempts: 1, retryable: false });
    expect(result.delivered === false && result.reason).toContain("can't parse entities");
  });
});
