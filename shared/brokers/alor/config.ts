import {
  baseUrl,
  type CommonConfig,
  CommonEnvSchema,
  commonConfig,
  type Env,
  emptyAsUnset,
  optionalText,
  parseEnv,
  source,
  type ValueSource,
} from '../../config.ts';
import {
  ALOR_DEFAULT_API_URL,
  ALOR_DEFAULT_OAUTH_URL,
  ALOR_EXCHANGES,
  type AlorExchange,
  DEFAULT_ALOR_EXCHANGE,
  ENV,
} from '../../facts.ts';
import { httpUrl } from '../../settings-rules.ts';
import * as z from '../../zod.ts';

/** Alor's settings (docs/contract.md#configuration), beside those every function reads (shared/config.ts). */
const AlorEnvSchema = z.extend(CommonEnvSchema, {
  [ENV.alorRefreshTokenSecretId]: optionalText,
  [ENV.alorRefreshToken]: optionalText,
  [ENV.alorPortfolioParameter]: optionalText,
  [ENV.alorPortfolio]: optionalText,
  [ENV.alorExchange]: z.pipe(
    z.optional(z.enum([...ALOR_EXCHANGES, ''])),
    z.transform((value: AlorExchange | '' | undefined) => value || DEFAULT_ALOR_EXCHANGE),
  ),
  [ENV.alorOauthUrl]: baseUrl,
  [ENV.alorApiUrl]: baseUrl,
  [ENV.alorFollowUpQueueUrl]: z.union([z.optional(httpUrl), emptyAsUnset]),
});

export interface AlorConfig extends CommonConfig {
  readonly broker: 'alor';
  readonly refreshToken: ValueSource;
  readonly portfolio: ValueSource;
  readonly exchange: AlorExchange;
  readonly oauthUrl: string;
  readonly apiUrl: string;
  /** The SQS follow-up queue a protected entry's watch goes on; unset: the process's own (`npm start`, tests). */
  readonly followUpQueueUrl?: string | undefined;
}

export function loadAlorConfig(env: Env = process.env): AlorConfig {
  const parsed = parseEnv(AlorEnvSchema, env);
  return {
    broker: 'alor',
    ...commonConfig(parsed),
    refreshToken: source(parsed[ENV.alorRefreshTokenSecretId], parsed[ENV.alorRefreshToken], 'secret'),
    portfolio: source(parsed[ENV.alorPortfolioParameter], parsed[ENV.alorPortfolio], 'parameter'),
    exchange: parsed[ENV.alorExchange],
    oauthUrl: parsed[ENV.alorOauthUrl] ?? ALOR_DEFAULT_OAUTH_URL,
    apiUrl: parsed[ENV.alorApiUrl] ?? ALOR_DEFAULT_API_URL,
    followUpQueueUrl: parsed[ENV.alorFollowUpQueueUrl],
  };
}
