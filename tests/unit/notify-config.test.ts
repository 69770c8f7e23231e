import { describe, expect, it } from 'vitest';
import { ConfigError } from '#shared/config-error.ts';
import { DEFAULT_NOTIFY_KINDS, NOTIFY_KINDS } from '#shared/facts.ts';
import { loadNotifierConfig, loadNotifierResources } from '#shared/notify/config.ts';

describe('loadNotifierConfig', () => {
  it('defaults to Russian, every kind but check, a 10 s follow-up and the real Telegram API; off until configured', () => {
    expect(loadNotifierConfig({})).toEqual({
      botToken: { kind: 'unset' },
      chatId: { kind: 'unset' },
      apiUrl: 'https://api.telegram.org',
      language: 'ru',
      kinds: new Set(DEFAULT_NOTIFY_KINDS),
      followUpDelaySeconds: 10,
      secretsCacheTtlMs: 300_000,
    });
    expect(DEFAULT_NOTIFY_KINDS).toEqual(NOTIFY_KINDS.filter((kind) => kind !== 'check'));
  });

  it('reads the stored references, which win over plain values', () => {
    const config = loadNotifierConfig({
      TELEGRAM_BOT_TOKEN_SECRET_ID: 'ppp-webhooks/telegram/bot-token',
      TELEGRAM_BOT_TOKEN: 'ignored',
      TELEGRAM_CHAT_ID_PARAMETER: '/ppp-webhooks/telegram/chat-id',
      NOTIFY_LANGUAGE: 'en',
      NOTIFY_KINDS: ' refused , failed ',
      FOLLOW_UP_DELAY_SECONDS: '30',
    });
    expect(config).toMatchObject({
      botToken: { kind: 'secret', id: 'ppp-webhooks/telegram/bot-token' },
      chatId: { kind: 'parameter', name: '/ppp-webhooks/telegram/chat-id' },
      language: 'en',
      kinds: new Set(['refused', 'failed']),
      followUpDelaySeconds: 30,
    });
  });

  it.each([
    [{ NOTIFY_KINDS: 'placed,fills' }, 'NOTIFY_KINDS: must be a comma list of'],
    [{ NOTIFY_LANGUAGE: 'de' }, 'NOTIFY_LANGUAGE'],
    [{ FOLLOW_UP_DELAY_SECONDS: '901' }, 'FOLLOW_UP_DELAY_SECONDS'],
    [{ FOLLOW_UP_DELAY_SECONDS: '1.5' }, 'FOLLOW_UP_DELAY_SECONDS: must be a whole number of seconds'],
    [{ TELEGRAM_API_URL: 'ftp://x' }, 'TELEGRAM_API_URL'],
  ])('fails the cold start on %j, naming the variable', (env, message) => {
    expect(() => loadNotifierConfig(env)).toThrow(ConfigError);
    expect(() => loadNotifierConfig(env)).toThrow(message);
  });

  it('reads NOTIFY_KINDS=all as every kind, and an empty value as unset', () => {
    expect(loadNotifierConfig({ NOTIFY_KINDS: 'all' }).kinds).toEqual(new Set(NOTIFY_KINDS));
    expect(loadNotifierConfig({ NOTIFY_KINDS: ' ' }).kinds).toEqual(new Set(DEFAULT_NOTIFY_KINDS));
  });
});

describe('loadNotifierResources', () => {
  it('requires the table and every queue the stack sets', () => {
    expect(() => loadNotifierResources({ NOTIFY_TABLE_NAME: 't' })).toThrow(/NOTIFY_QUEUE_URL/);
  });
});
