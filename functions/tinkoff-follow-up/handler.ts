import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { createTinkoffFollowUpHandler } from '#shared/brokers/tinkoff/follow-up.ts';

/** The Lambda entry of T-Invest's follow-up (its SQS queue): configuration parsed once per container, at init. */
export const handler = createTinkoffFollowUpHandler(loadTinkoffConfig());
