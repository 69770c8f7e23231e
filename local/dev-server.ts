import { pathToFileURL } from 'node:url';
import { readEnvFile } from '#local/env-file.ts';
import { checkNodeSupport } from '#local/node-support.ts';
import { ConfigError } from '#shared/config-error.ts';
import { LOCAL_ENV } from '#shared/facts.ts';
import { banner } from './dev-server/banner.ts';
import { type DevServer, startDevServer } from './dev-server/server.ts';

/**
 * `npm start`: the two webhook functions on this machine, behind a local stand-in for API Gateway, trading on the
 * paper brokers (or on a real broker whose token is configured), with a console page. This file is the command
 * line; `dev-server/` holds the rest: `environment.ts` (settings), `server.ts` (HTTP server), `routes.ts`
 * (routing), `banner.ts` (what is printed).
 */

/** The line a script (or a test) waits for; the rest of the line is JSON. */
export const READY_PREFIX = 'PPP_DEV_SERVER_READY ';

async function main(): Promise<void> {
  checkNodeSupport();
  let server: DevServer;
  let envFile: ReturnType<typeof readEnvFile>;
  try {
    envFile = readEnvFile(process.env);
    server = await startDevServer();
  } catch (error) {
    // Configuration errors name the variable, never its value; other errors are reported by name and code only.
    const { name, code } = error as NodeJS.ErrnoException;
    const text =
      error instanceof ConfigError
        ? error.message
        : code === 'EADDRINUSE'
          ? `the port is in use (set ${LOCAL_ENV.port})`
          : `${name} ${code ?? ''}`;
    process.stderr.write(`npm start failed: ${text}\n`);
    process.exit(1);
  }
  if (envFile !== undefined) process.stdout.write(`read ${envFile.names.length} setting(s) from ${envFile.file}\n`);
  for (const warning of server.warnings) process.stderr.write(`${warning}\n`);
  process.stdout.write(banner(server));
  process.stdout.write(
    `${READY_PREFIX}${JSON.stringify({
      url: server.url,
      alor: server.brokers.alor.webhookUrl,
      tinkoff: server.brokers.tinkoff.webhookUrl,
      modes: { alor: server.brokers.alor.mode, tinkoff: server.brokers.tinkoff.mode },
    })}\n`,
  );

  const stop = (signal: NodeJS.Signals) => {
    process.stdout.write(`\n${signal}: stopping\n`);
    // Keep-alive sockets to a real broker would keep the process alive: exit once the servers are closed.
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
