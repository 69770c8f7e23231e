/**
 * The deployed stack's kill switch (docs/contract.md#kill-switch):
 *
 *   npm run kill -- on       every entry is refused, within KILL_SWITCH_TTL_SECONDS (5 s by default); exits pass
 *   npm run kill -- off      signals trade again
 *   npm run kill -- status   says which it is
 *
 * `on` and `off` write the SSM parameter the webhook functions read (`/<resourcePrefix>/kill-switch`) and tell the
 * Telegram chat, when the deployed stack has a bot token and chat id stored. `-c key=value` works as for `npm run
 * secrets` (the names come from `infra/config.ts`). `TELEGRAM_API_URL` points the message at another Bot API (the
 * tests' fake). The local run (`npm start`) has its own switch, in the console.
 */
import { pathToFileURL } from 'node:url';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { switchState } from '#shared/config.ts';
import { createKeepAliveAgent } from '#shared/http/outbound/client.ts';
import { loadNotifierConfig } from '#shared/notify/config.ts';
import { killSwitchMessage } from '#shared/notify/messages.ts';
import { TelegramClient } from '#shared/notify/telegram.ts';
import { loadedStoreSdk } from '#shared/store/sdk-modules.ts';
import { ValueStore } from '#shared/store/value-store.ts';
import { readConfig, readNotifyConfig } from '../infra/config.ts';
import { loadContext, parseArgs, UsageError } from './context.ts';
import { runStoreCommand, type StoreCommand } from './store-command.ts';

const USAGE = 'usage: npm run kill -- on|off|status [-c key=value ...]';

/** Runs one command (the AWS clients in the stack's region when context names one). Returns the process exit code. */
export const run: StoreCommand = async (argv, env, io, clients) => {
  const { positional, context } = parseArgs(argv);
  const [command, ...rest] = positional;
  if ((command !== 'on' && command !== 'off' && command !== 'status') || rest.length > 0) throw new UsageError(USAGE);

  const ctx = loadContext(new URL('../cdk.json', import.meta.url), context);
  const config = readConfig((key) => ctx[key]);
  const notify = readNotifyConfig((key) => ctx[key]);
  const parameter = config.guards.killSwitchParameter;
  if (parameter === undefined) {
    io.err(
      `${config.stackName} reads no kill switch (context killSwitch is false): deploy with -c killSwitch=true to have one`,
    );
    return 2;
  }
  const aws = clients(config.env.region);
  const store = new ValueStore({ ttlMs: 1, sdk: loadedStoreSdk, clients: () => aws });

  if (command === 'status') {
    const value = await store.readParameter({ kind: 'parameter', name: parameter });
    const on = switchState(value) ?? true;
    io.out(
      `Kill switch ${on ? 'ON' : 'OFF'} for ${config.stackName} (${parameter} ${value === undefined ? 'not set' : `= ${value}`}).`,
    );
    return 0;
  }

  const on = command === 'on';
  await aws.ssm.send(
    new PutParameterCommand({ Name: parameter, Value: on ? 'on' : 'off', Type: 'String', Overwrite: true }),
  );
  const ttl = config.guards.killSwitchTtlSeconds;
  io.out(
    on
      ? `Kill switch ON for ${config.stackName} (${parameter} = on): every entry is refused within ${ttl} s; exits (a close, a smaller position) pass.`
      : `Kill switch OFF for ${config.stackName} (${parameter} = off): signals trade again within ${ttl} s.`,
  );

  const [token, chat] = await Promise.all([
    store.readSecret({ kind: 'secret', id: notify.telegramBotToken.name }),
    store.readParameter({ kind: 'parameter', name: notify.telegramChatId.name }),
  ]);
  if (token === undefined || chat === undefined) {
    io.out(
      'No Telegram message: the stack has no bot token and chat id stored (npm run secrets -- set telegram-bot-token).',
    );
    return 0;
  }
  const agent = createKeepAliveAgent();
  try {
    const telegram = new TelegramClient({ dispatcher: agent, apiUrl: loadNotifierConfig(env).apiUrl });
    const result = await telegram.sendMessage(
      { botToken: token, chatId: chat },
      killSwitchMessage(on, config.stackName, notify.language),
    );
    if (result.delivered) io.out(`Told the Telegram chat ${chat}.`);
    else io.err(`Telegram did not take the message: ${result.reason}`);
    return 0;
  } finally {
    await agent.close();
  }
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runStoreCommand(run);
}
