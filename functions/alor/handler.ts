import { loadAlorConfig } from '#shared/brokers/alor/config.ts';
import { createAlorHandler, initAlorContainer } from '#shared/brokers/alor/index.ts';

/** The Lambda entry: configuration, the store and the broker connections are made once per container, at init. */
const config = loadAlorConfig();

export const handler = createAlorHandler(config, await initAlorContainer(config));
