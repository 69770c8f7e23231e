import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, vi } from 'vitest';
import type { FakeAwsStore } from '#local/aws-store.ts';
import { PAPER_ALOR, PAPER_TINKOFF, type PaperBrokers, startPaperBrokers } from '#local/paper-broker/index.ts';
import type { BrokerLambdaHandler } from '#shared/brokers/container.ts';
import type { FollowUpHandler } from '#shared/brokers/follow-up-handler.ts';
import { type Broker, ENV, FUNCTION_SETTING_NAME } from '#shared/facts.ts';
import { apiGatewayEvent } from './events.ts';

/** The webhook secret of the tests: an obvious fake. */
export const TEST_WEBHOOK_SECRET = 'test-webhook-secret-0001';

export type Env = Record<string, string>;

/** Alor settings that trade on the paper Alor. */
export function alorPaperEnv(paper: PaperBrokers): Env {
  return {
    [ENV.webhookSecret]: TEST_WEBHOOK_SECRET,
    [ENV.alorRefreshToken]: PAPER_ALOR.refreshToken,
    [ENV.alorPortfolio]: PAPER_ALOR.portfolio,
    [ENV.alorOauthUrl]: paper.alor.url,
    [ENV.alorApiUrl]: paper.alor.url,
  };
}

/** T-Invest settings that trade on the paper T-Invest (API v2). */
export function tinkoffPaperEnv(paper: PaperBrokers): Env {
  return {
    [ENV.webhookSecret]: TEST_WEBHOOK_SECRET,
    [ENV.tinkoffToken]: PAPER_TINKOFF.token,
    [ENV.tinkoffAccountId]: PAPER_TINKOFF.accountId,
    [ENV.tinkoffApiUrl]: paper.tinkoff.v2Url,
  };
}

/** Where a deployed function's values are stored: the names its `*_SECRET_ID` and `*_PARAMETER` settings give. */
export interface StoredNames {
  readonly webhookSecret: string;
  readonly alorToken: string;
  readonly alorPortfolio: string;
  readonly tinkoffToken: string;
  readonly tinkoffAccount: string;
}

/**
 * What the stack sets for a broker's function, pointed at the fake store (its API, and its extension's port unless
 * `extension` is false) and at the paper brokers.
 */
export function deployedFunctionEnv(
  broker: Broker,
  store: Pick<FakeAwsStore, 'env' | 'extensionEnv'>,
  paper: PaperBrokers,
  names: StoredNames,
  extension = true,
): Env {
  return {
    ...store.env(),
    ...(extension ? store.extensionEnv() : {}),
    [ENV.webhookSecretId]: names.webhookSecret,
    ...(broker === 'alor'
      ? {
          [ENV.alorRefreshTokenSecretId]: names.alorToken,
          [ENV.alorPortfolioParameter]: names.alorPortfolio,
          [ENV.alorOauthUrl]: paper.alor.url,
          [ENV.alorApiUrl]: paper.alor.url,
        }
      : {
          [ENV.tinkoffTokenSecretId]: names.tinkoffToken,
          [ENV.tinkoffAccountIdParameter]: names.tinkoffAccount,
          [ENV.tinkoffApiUrl]: paper.tinkoff.v2Url,
        }),
  };
}

/**
 * The exported `handler` of a function, as Lambda loads it: a fresh module graph (a cold container)
 * that reads exactly `env` at import. Variables not in `env` are cleared, so the host's shell cannot leak in.
 */
export async function importHandler(broker: Broker, env: Env): Promise<BrokerLambdaHandler> {
  stubFunctionEnv(env);
  const module =
    broker === 'alor' ? await import('#functions/alor/handler.ts') : await import('#functions/tinkoff/handler.ts');
  return module.handler;
}

/** The exported `handler` of a broker's follow-up function, as {@link importHandler} loads a webhook's. */
export async function importFollowUpHandler(broker: Broker, env: Env): Promise<FollowUpHandler> {
  stubFunctionEnv(env);
  const module =
    broker === 'alor'
      ? await import('#functions/alor-follow-up/handler.ts')
      : await import('#functions/tinkoff-follow-up/handler.ts');
  return module.handler;
}

/** Exactly `env` for the next import of a function, in a fresh module graph. */
function stubFunctionEnv(env: Env): void {
  for (const name of Object.keys(process.env)) {
    if (FUNCTION_SETTING_NAME.test(name)) vi.stubEnv(name, undefined);
  }
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  vi.resetModules();
}

/** The shape of one contract case's result: exactly what the caller sees. */
export interface ContractAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | number | boolean> | undefined;
}

/**
 * One broker's contract suite: paper brokers for the file (fresh faults and counters per test), a signal
 * builder that signs with the test secret, and `answer()`, which runs a signal through a cold `handler`
 * with the paper settings plus `overrides`.
 */
export function contractHarness(broker: Broker) {
  const state: { paper?: PaperBrokers } = {};
  const paper = (): PaperBrokers => {
    if (state.paper === undefined) throw new Error('contractHarness: used outside its tests');
    return state.paper;
  };
  const paperEnv = (): Env => (broker === 'alor' ? alorPaperEnv(paper()) : tinkoffPaperEnv(paper()));

  beforeAll(async () => {
    state.paper = await startPaperBrokers();
  });
  afterAll(async () => {
    await state.paper?.close();
  });
  beforeEach(() => {
    paper()[broker].clearFaults();
    paper()[broker].resetStats();
  });

  const signal = (body: unknown, headers: Record<string, string> = { 'x-webhook-secret': TEST_WEBHOOK_SECRET }) =>
    apiGatewayEvent({ route: `POST /${broker}`, body: JSON.stringify(body), headers });

  const answer = async (event: APIGatewayProxyEventV2, overrides: Env = {}): Promise<ContractAnswer> => {
    const handler = await importHandler(broker, { ...paperEnv(), ...overrides });
    const response = await handler(event);
    return { status: response.statusCode, body: response.body, headers: response.headers };
  };

  return { paper, paperEnv, signal, answer };
}
