import { createTinkoffFollowUpHandler } from '#shared/brokers/tinkoff/follow-up.ts';
import { loadTinkoffConfig } from '#shared/config.ts';

/** The Lambda entry of T-Invest's follow-up (its SQS queue): configuration parsed once per container, at init. */
export const handler = createTinkoffFollowUpHandler(loadTinkoffConfig());
