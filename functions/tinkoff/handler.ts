import { createTinkoffHandler } from '#shared/brokers/tinkoff/index.ts';
import { loadTinkoffConfig } from '#shared/config.ts';
import { initSecretStore } from '#shared/secrets.ts';

/** The Lambda entry: configuration and the store are made once per container, at init. */
const config = loadTinkoffConfig();

export const handler = createTinkoffHandler(config, { store: await initSecretStore(config, config.accountId) });
