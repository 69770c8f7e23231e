import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { CallLog } from '#local/call-log.ts';
import { loadAlorConfig } from '#shared/brokers/alor/config.ts';
import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { type AlorExchange, BROKERS, type Broker, LOCAL_ENV } from '#shared/facts.ts';
import type { WebhookHandler } from '#shared/http/inbound/webhook-handler.ts';
import { loadedStoreSdk } from '#shared/store/sdk-modules.ts';
import { ValueStore } from '#shared/store/value-store.ts';
import { type BrokerMode, parsePort, prepareEnvironment } from './environment.ts';
import { type LocalNotifications, startLocalNotifications, type TelegramMode } from './notifications.ts';
import { createRoutes } from './routes.ts';
import { createSetupCheck } from './setup-check.ts';

/**
 * The local HTTP server of `npm start`: the two webhook functions behind a stand-in for API Gateway, and the console.
 *
 * The functions run exactly as on Lambda: the environment is prepared first, then each function's module is
 * imported and its exported `handler` is called with an HTTP API payload 2.0 event. So the module-scope
 * `loadAlorConfig()` / `loadTinkoffConfig()` runs as in a cold container, and nothing here builds a config or
 * a handler of its own. Everything listens on 127.0.0.1 only.
 */

export const HOST = '127.0.0.1';
const CALL_LOG_SIZE = 100;

export interface BrokerSetup {
  readonly mode: BrokerMode;
  /** Where the function sends orders: the paper broker's loopback URL or the configured broker URL. */
  readonly brokerUrl: string;
  readonly webhookUrl: string;
}

export interface DevServer {
  readonly url: string;
  readonly port: number;
  /** The first accepted webhook secret: the one to use. */
  readonly secret: string;
  readonly secretGenerated: boolean;
  readonly brokers: Readonly<Record<Broker, BrokerSetup>>;
  readonly alorExchange: AlorExchange;
  /** Where the Telegram messages go: the fake Telegram on 127.0.0.1, or a real bot from `.env`. */
  readonly telegram: { readonly mode: TelegramMode; readonly apiUrl: string };
  readonly notes: readonly string[];
  /** Settings that make every call fail closed: shown in the banner and on stderr. */
  readonly warnings: readonly string[];
  close(): Promise<void>;
}

export interface DevServerOptions {
  /** The environment to read and prepare for the functions; must be `process.env` for the functions to see it. */
  readonly env?: NodeJS.ProcessEnv;
  /** @default PORT, else 3000; 0 picks a free port. */
  readonly port?: number;
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Starts the paper brokers (where needed), the webhook routes and the console. One per process. */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const env = options.env ?? process.env;
  const port = options.port ?? parsePort(env[LOCAL_ENV.port]);
  const environment = await prepareEnvironment(env);
  const { paper } = environment;

  // The environment is ready: load the functions as Lambda does, module-scope config and all.
  let handlers: Record<Broker, WebhookHandler>;
  let notifications: LocalNotifications;
  try {
    const [alor, tinkoff] = await Promise.all([
      import('#functions/alor/handler.ts'),
      import('#functions/tinkoff/handler.ts'),
    ]);
    handlers = { alor: alor.handler, tinkoff: tinkoff.handler };
    notifications = await startLocalNotifications(env);
  } catch (error) {
    await paper?.close();
    throw error;
  }
  // The functions have just loaded this same configuration: "Check setup" checks what they use.
  const settings = { alor: loadAlorConfig(env), tinkoff: loadTinkoffConfig(env) };
  const alorExchange = settings.alor.exchange;
  const store = new ValueStore({ ttlMs: settings.alor.secretsCacheTtlMs, sdk: loadedStoreSdk });

  const sockets = new Set<Socket>();
  let boundPort = port;
  const server = createServer(
    createRoutes({
      handlers,
      environment,
      alorExchange,
      notifications,
      calls: new CallLog({
        limit: CALL_LOG_SIZE,
        secrets: () => [...environment.hiddenValues, ...notifications.hiddenValues],
      }),
      host: HOST,
      localHosts: () => new Set([`${HOST}:${boundPort}`, `localhost:${boundPort}`]),
      setupCheck: createSetupCheck(environment, settings, store, env),
    }),
  );
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  try {
    await listen(server, port);
  } catch (error) {
    await Promise.all([paper?.close(), notifications.close()]);
    throw error;
  }
  boundPort = (server.address() as AddressInfo).port;
  const url = `http://${HOST}:${boundPort}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    port: boundPort,
    secret: environment.secret,
    secretGenerated: environment.secretGenerated,
    notes: environment.notes,
    warnings: environment.warnings,
    alorExchange,
    telegram: { mode: notifications.mode, apiUrl: notifications.apiUrl },
    brokers: Object.fromEntries(
      BROKERS.map((broker) => [
        broker,
        { mode: environment.modes[broker], brokerUrl: environment.brokerUrls[broker], webhookUrl: `${url}/${broker}` },
      ]),
    ) as Record<Broker, BrokerSetup>,
    close: () => {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await Promise.all([closed, paper?.close(), notifications.close()]);
      })();
      return closing;
    },
  };
}
