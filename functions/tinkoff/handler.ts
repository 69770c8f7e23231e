import { createTinkoffHandler, initTinkoffContainer } from '#shared/brokers/tinkoff/index.ts';
import { loadTinkoffConfig } from '#shared/config.ts';

/** The Lambda entry: configuration, the store and the broker connections are made once per container, at init. */
const config = loadTinkoffConfig();

export const handler = createTinkoffHandler(config, await initTinkoffContainer(config));
