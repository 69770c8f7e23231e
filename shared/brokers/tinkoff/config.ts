import {
  baseUrl,
  type CommonConfig,
  CommonEnvSchema,
  commonConfig,
  type Env,
  emptyAsUnset,
  guardsReadBroker,
  optionalText,
  parseEnv,
  source,
  type ValueSource,
} from '../../config.ts';
import { ConfigError } from '../../config-error.ts';
import {
  DEFAULT_TINKOFF_API,
  DEFAULT_TINKOFF_CLASS_CODE,
  ENV,
  TINKOFF_APIS,
  TINKOFF_DEFAULT_API_URL,
  type TinkoffApi,
} from '../../facts.ts';
import { classCode, httpUrl } from '../../settings-rules.ts';
import * as z from '../../zod.ts';

/** T-Invest's settings (docs/contract.md#configuration), beside those every function reads (shared/config.ts). */
const TinkoffEnvSchema = z.extend(CommonEnvSchema, {
  [ENV.tinkoffTokenSecretId]: optionalText,
  [ENV.tinkoffToken]: optionalText,
  [ENV.tinkoffAccountIdParameter]: optionalText,
  [ENV.tinkoffAccountId]: optionalText,
  [ENV.tinkoffApi]: z.pipe(
    z.optional(z.enum([...TINKOFF_APIS, ''])),
    z.transform((value: TinkoffApi | '' | undefined) => value || DEFAULT_TINKOFF_API),
  ),
  [ENV.tinkoffApiUrl]: baseUrl,
  [ENV.tinkoffClassCode]: z.pipe(
    z.union([z.optional(classCode), emptyAsUnset]),
    z.transform((value: string | undefined) => value ?? DEFAULT_TINKOFF_CLASS_CODE),
  ),
  [ENV.tinkoffFollowUpQueueUrl]: z.union([z.optional(httpUrl), emptyAsUnset]),
});

export interface TinkoffConfig extends CommonConfig {
  readonly broker: 'tinkoff';
  readonly token: ValueSource;
  readonly accountId: ValueSource;
  readonly api: TinkoffApi;
  readonly apiUrl: string;
  /** Where an order without `f` looks its ticker up when `t` names MOEX or no exchange. */
  readonly classCode: string;
  /** The SQS follow-up queue a protected entry's watch goes on; unset: the process's own (`npm start`, tests). */
  readonly followUpQueueUrl?: string | undefined;
}

export function loadTinkoffConfig(env: Env = process.env): TinkoffConfig {
  const parsed = parseEnv(TinkoffEnvSchema, env);
  const common = commonConfig(parsed);
  // The retired v1 API has no trading status, portfolio, prices or positions to guard an order with.
  if (parsed[ENV.tinkoffApi] === 'v1' && guardsReadBroker(common.guards)) {
    throw new ConfigError(
      `Invalid configuration: ${ENV.checkTradingStatus}, ${ENV.maxPositionLots}, ${ENV.maxOrderRub} and ${ENV.dailyLossLimit} need ${ENV.tinkoffApi}=v2`,
    );
  }
  return {
    broker: 'tinkoff',
    ...common,
    token: source(parsed[ENV.tinkoffTokenSecretId], parsed[ENV.tinkoffToken], 'secret'),
    accountId: source(parsed[ENV.tinkoffAccountIdParameter], parsed[ENV.tinkoffAccountId], 'parameter'),
    api: parsed[ENV.tinkoffApi],
    apiUrl: parsed[ENV.tinkoffApiUrl] ?? TINKOFF_DEFAULT_API_URL[parsed[ENV.tinkoffApi]],
    classCode: parsed[ENV.tinkoffClassCode],
    followUpQueueUrl: parsed[ENV.tinkoffFollowUpQueueUrl],
  };
}
