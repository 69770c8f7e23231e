import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { FAKE_TELEGRAM, startFakeTelegram } from '#local/fake-telegram.ts';
import { UsageError } from '../../scripts/context.ts';
import { run } from '../../scripts/notify.ts';
import { useLocalServer } from '../helpers/local-servers.ts';

/** `npm run notify -- test` against the fake Telegram, with the values from the environment or from the AWS stores. */

const secretsManager = mockClient(SecretsManagerClient);
const ssm = mockClient(SSMClient);
const clients = () => ({ secretsManager: new SecretsManagerClient({}), ssm: new SSMClient({}) });

describe('scripts/notify.ts', () => {
  const telegram = useLocalServer(startFakeTelegram, (started) => started.reset());
  beforeEach(() => {
    secretsManager.reset();
    ssm.reset();
  });

  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { out: (text: string) => out.push(text), err: (text: string) => err.push(text) }, out, err };
  };

  it('sends a test message with the bot token and chat id of .env, and never prints the token', async () => {
    const { io: streams, out, err } = io();
    const env = {
      TELEGRAM_BOT_TOKEN: FAKE_TELEGRAM.botToken,
      TELEGRAM_CHAT_ID: FAKE_TELEGRAM.chatId,
      TELEGRAM_API_URL: telegram.url,
      NOTIFY_LANGUAGE: 'en',
    };

    await expect(run(['test'], env, streams, clients)).resolves.toBe(0);

    expect(telegram.messages.map((message) => message.text)).toEqual([
      '🔔 ppp-webhooks\nTest message: the notifications are set up.',
    ]);
    expect(out).toEqual([expect.stringMatching(/^Sent a test message to chat -1001234567890 \(message \d+\)\.$/)]);
    expect([...out, ...err].join('\n')).not.toContain(FAKE_TELEGRAM.botToken.split(':')[1]);
  });

  it('sends with the values stored for the deployed stack', async () => {
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'ppp-webhooks/telegram/bot-token' })
      .resolves({ SecretString: FAKE_TELEGRAM.botToken });
    ssm
      .on(GetParameterCommand, { Name: '/ppp-webhooks/telegram/chat-id' })
      .resolves({ Parameter: { Value: FAKE_TELEGRAM.chatId } });
    const { io: streams } = io();

    await expect(run(['test', '--deployed'], { TELEGRAM_API_URL: telegram.url }, streams, clients)).resolves.toBe(0);

    expect(telegram.messages.map((message) => message.text)).toEqual([
      '🔔 ppp-webhooks\nПроверочное сообщение: уведомления настроены.',
    ]);
  });

  it('says what to set when Telegram is not configured, and sends nothing', async () => {
    const { io: streams, err } = io();
    await expect(run(['test'], {}, streams, clients)).resolves.toBe(2);
    expect(err).toEqual([
      'Telegram is not configured: put TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID into .env, or use --deployed',
    ]);
    expect(telegram.requests).toEqual([]);
  });

  it('reports a message Telegram refuses', async () => {
    const { io: streams, err } = io();
    const env = { TELEGRAM_BOT_TOKEN: FAKE_TELEGRAM.botToken, TELEGRAM_CHAT_ID: '42', TELEGRAM_API_URL: telegram.url };
    await expect(run(['test'], env, streams, clients)).resolves.toBe(1);
    expect(err).toEqual(['Telegram did not take the test message: HTTP 400 Bad Request: chat not found']);
  });

  it('knows only the test command', async () => {
    await expect(run(['send', 'hello'], {}, io().io, clients)).rejects.toThrow(UsageError);
  });
});
