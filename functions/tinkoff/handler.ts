import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { createTinkoffHandler, initTinkoffContainer } from '#shared/brokers/tinkoff/index.ts';

/** The Lambda entry: configuration, the store and the broker connections are made once per container, at init. */
const config = loadTinkoffConfig();

export const handler = createTinkoffHandler(config, await initTinkoffContainer(config));
