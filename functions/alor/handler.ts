import { createAlorHandler } from '#shared/brokers/alor/index.ts';
import { loadAlorConfig } from '#shared/config.ts';
import { initSecretStore } from '#shared/secrets.ts';

/** The Lambda entry: configuration and the store are made once per container, at init. */
const config = loadAlorConfig();

export const handler = createAlorHandler(config, { store: await initSecretStore(config, config.portfolio) });
