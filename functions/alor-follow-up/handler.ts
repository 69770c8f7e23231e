import { loadAlorConfig } from '#shared/brokers/alor/config.ts';
import { createAlorFollowUpHandler } from '#shared/brokers/alor/follow-up.ts';

/** The Lambda entry of Alor's follow-up (its SQS queue): configuration parsed once per container, at init. */
export const handler = createAlorFollowUpHandler(loadAlorConfig());
