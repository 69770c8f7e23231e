/**
 * Checks the Telegram messages end to end: sends a test message to the chat.
 *
 *   npm run notify -- test                 with TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID from .env (or the shell)
 *   npm run notify -- test --deployed      with the bot token and chat id stored for the deployed stack
 *                                          (`npm run secrets -- set telegram-bot-token` / `telegram-chat-id`)
 *
 * `-c key=value` works as for `npm run secrets` (the names come from `infra/config.ts`). `TELEGRAM_API_URL` points it
 * at another Bot API (the tests' fake). The token is never printed.
 */
import { pathToFileURL } from 'node:url';
import type { ValueSource } from '#shared/config.ts';
import { NOTIFY_ENV } from '#shared/facts.ts';
import { createKeepAliveAgent } from '#shared/http/outbound/client.ts';
import { loadNotifierConfig } from '#shared/notify/config.ts';
import { testMessage } from '#shared/notify/messages.ts';
import { TelegramClient } from '#shared/notify/telegram.ts';
import { loadedStoreSdk } from '#shared/store/sdk-modules.ts';
import { ValueStore } from '#shared/store/value-store.ts';
import { readConfig, readNotifyConfig } from '../infra/config.ts';
import { loadContext, parseArgs, UsageError } from './context.ts';
import { runStoreCommand, type StoreCommand } from './store-command.ts';

const USAGE = 'usage: npm run notify -- test [--deployed] [-c key=value ...]';

/** Runs one command (the AWS clients for `--deployed`, in the stack's region when context names one). Returns the process exit code. */
export const run: StoreCommand = async (argv, env, io, clients) => {
  const { positional, context } = parseArgs(argv);
  const deployed = positional.includes('--deployed');
  const [command, ...rest] = positional.filter((arg) => arg !== '--deployed');
  if (command !== 'test' || rest.length > 0) throw new UsageError(USAGE);

  const local = loadNotifierConfig(env);
  let botToken: ValueSource = local.botToken;
  let chatId: ValueSource = local.chatId;
  let language = local.language;
  let region: string | undefined;
  if (deployed) {
    const ctx = loadContext(new URL('../cdk.json', import.meta.url), context);
    const stack = readNotifyConfig((key) => ctx[key]);
    region = readConfig((key) => ctx[key]).env.region;
    botToken = { kind: 'secret', id: stack.telegramBotToken.name };
    chatId = { kind: 'parameter', name: stack.telegramChatId.name };
    language = stack.language;
  }
  const store = new ValueStore({ ttlMs: 1000, sdk: loadedStoreSdk, clients: () => clients(region) });
  const [token, chat] = await Promise.all([store.readSecret(botToken), store.readParameter(chatId)]);
  if (token === undefined || chat === undefined) {
    io.err(
      deployed
        ? 'Telegram is not configured for the deployed stack: npm run secrets -- set telegram-bot-token, then set telegram-chat-id'
        : `Telegram is not configured: put ${NOTIFY_ENV.telegramBotToken} and ${NOTIFY_ENV.telegramChatId} into .env, or use --deployed`,
    );
    return 2;
  }

  const agent = createKeepAliveAgent();
  try {
    const telegram = new TelegramClient({ dispatcher: agent, apiUrl: local.apiUrl });
    const result = await telegram.sendMessage({ botToken: token, chatId: chat }, testMessage(language));
    if (result.delivered) {
      io.out(`Sent a test message to chat ${chat} (message ${result.messageId}).`);
      return 0;
    }
    io.err(`Telegram did not take the test message: ${result.reason}`);
    return 1;
  } finally {
    await agent.close();
  }
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runStoreCommand(run);
}
