import { loadNotifierConfig, loadNotifierResources } from '#shared/notify/config.ts';
import { createNotifierHandler } from '#shared/notify/lambda.ts';

/** The Lambda entry of the notifier: configuration parsed once per container, at init. */
export const handler = createNotifierHandler(loadNotifierConfig(), loadNotifierResources());
