import { createAlorHandler, initAlorContainer } from '#shared/brokers/alor/index.ts';
import { loadAlorConfig } from '#shared/config.ts';

/** The Lambda entry: configuration, the store and the broker connections are made once per container, at init. */
const config = loadAlorConfig();

export const handler = createAlorHandler(config, await initAlorContainer(config));
