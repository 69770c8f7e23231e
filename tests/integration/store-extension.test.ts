import { describe, expect, it } from 'vitest';
import { GET_PARAMETER, GET_SECRET_VALUE, startFakeAwsStore } from '#local/aws-store.ts';
import { PAPER_ALOR, PAPER_TINKOFF } from '#local/paper-broker/index.ts';
import { type Broker, ENV } from '#shared/facts.ts';
import { SELF_TEST_EVENT } from '#shared/store/self-test.ts';
import { apiGatewayEvent, SCHEDULED_EVENT } from '../helpers/events.ts';
import { deployedFunctionEnv, type Env, importHandler } from '../helpers/handlers.ts';
import { useLocalServer, usePaperBrokers } from '../helpers/local-servers.ts';
import { allOutput, logLines } from '../helpers/logs.ts';

/**
 * The webhook functions as deployed by default (`storeExtension`): their secrets and parameters read through the AWS
 * Parameters and Secrets extension's local port, served here by the fake store of local/aws-store.ts, with the AWS
 * SDK as the fallback for whatever the extension does not answer with a value. Each function is imported cold, init
 * included, and orders go to the paper brokers. AWS documents that the extension can be called during an invocation
 * only, not during init: a cold import asks it for nothing.
 */

const WEBHOOK_SECRET = 'extension-webhook-secret-3f9a';
const STORED = {
  webhookSecret: 'ppp/webhook-secret',
  alorToken: 'ppp/alor/refresh-token',
  alorPortfolio: '/ppp/alor/portfolio',
  tinkoffToken: 'ppp/tinkoff/token',
  tinkoffAccount: '/ppp/tinkoff/account-id',
};
const ORDER = { t: 'AAPL', p: '190.5', v: 1, d: 'buy', f: 'BBG000B9XRY4' };

const paper = usePaperBrokers();
const store = useLocalServer(startFakeAwsStore, (started) => {
  started.failWith(undefined);
  started.setExtensionLatency(0);
  started.resetRequests();
  started.setSecret(STORED.webhookSecret, WEBHOOK_SECRET);
  started.setSecret(STORED.alorToken, PAPER_ALOR.refreshToken);
  started.setParameter(STORED.alorPortfolio, PAPER_ALOR.portfolio);
  started.setSecret(STORED.tinkoffToken, PAPER_TINKOFF.token);
  started.setParameter(STORED.tinkoffAccount, PAPER_TINKOFF.accountId);
});

/** What the stack sets, the extension's port included; `overrides` replace any of it. */
const deployedEnv = (broker: Broker, overrides: Env = {}): Env => ({
  ...deployedFunctionEnv(broker, store, paper, STORED),
  ...overrides,
});

const signal = (broker: Broker, body: unknown, secret = WEBHOOK_SECRET) =>
  apiGatewayEvent({ route: `POST /${broker}`, body: JSON.stringify(body), headers: { 'x-webhook-secret': secret } });

const answer = (response: { statusCode: number; body: string }) => ({
  status: response.statusCode,
  body: response.body,
});

const storeReads = (via: 'api' | 'extension') => store.requests.filter((request) => request.via === via);
const idsReadThroughExtension = () =>
  storeReads('extension')
    .map((request) => request.id)
    .sort();
/** What an order reads from the store: the webhook secret, the broker credential and the account. */
const idsOfAnOrder = (broker: Broker) =>
  (broker === 'alor'
    ? [STORED.alorPortfolio, STORED.alorToken, STORED.webhookSecret]
    : [STORED.tinkoffAccount, STORED.tinkoffToken, STORED.webhookSecret]
  ).sort();

describe.each(['alor', 'tinkoff'] as const)('%s through the store extension', (broker) => {
  it('places an order with every value read through the extension, none through the AWS API', async () => {
    const handler = await importHandler(broker, deployedEnv(broker));

    expect(answer(await handler(signal(broker, { check: true })))).toEqual({ status: 200, body: '200 OK' });
    expect(answer(await handler(signal(broker, ORDER)))).toEqual({ status: 200, body: '200 OK' });

    expect(storeReads('api')).toEqual([]);
    expect(idsReadThroughExtension()).toEqual(idsOfAnOrder(broker));
    expect(broker === 'alor' ? paper.alor.orders.length : paper.tinkoff.orders.length).toBeGreaterThan(0);
  });

  it('asks the extension for nothing during init; the first check reads the webhook secret alone', async () => {
    const handler = await importHandler(broker, deployedEnv(broker));

    expect(store.requests).toEqual([]);
    expect(answer(await handler(signal(broker, { check: true })))).toEqual({ status: 200, body: '200 OK' });
    expect(storeReads('extension').map((request) => request.id)).toEqual([STORED.webhookSecret]);
    expect(storeReads('api')).toEqual([]);
  });

  it('answers an unauthenticated call 401 having read nothing but the webhook secret', async () => {
    const handler = await importHandler(broker, deployedEnv(broker));

    expect(answer(await handler(signal(broker, ORDER, 'wrong-secret')))).toEqual({ status: 401, body: 'Unauthorized' });
    expect(store.requests.map((request) => request.id)).toEqual([STORED.webhookSecret]);
  });

  it('asks for the broker credential and the account at once, each read being an AWS call of the extension', async () => {
    store.setExtensionLatency(100);
    const handler = await importHandler(broker, deployedEnv(broker));
    await handler(signal(broker, { check: true }));
    store.resetRequests();

    expect(answer(await handler(signal(broker, ORDER)))).toEqual({ status: 200, body: '200 OK' });
    expect(store.requests).toHaveLength(2);
    expect(store.peakExtensionReadsAtOnce).toBe(2);
  });

  it('reads ahead in a keep-warm invocation what the next order needs, so that order reads nothing', async () => {
    const handler = await importHandler(broker, deployedEnv(broker));

    expect(answer(await handler(SCHEDULED_EVENT))).toEqual({ status: 200, body: '200 OK' });
    expect(idsReadThroughExtension()).toEqual(idsOfAnOrder(broker));
    store.resetRequests();
    expect(answer(await handler(signal(broker, ORDER)))).toEqual({ status: 200, body: '200 OK' });
    expect(store.requests).toEqual([]);
  });

  it('answers the no-credential row (docs/contract.md#no-credential) of an absent token, the absence confirmed by the AWS API, not by the extension text', async () => {
    store.setSecret(broker === 'alor' ? STORED.alorToken : STORED.tinkoffToken, undefined);
    const handler = await importHandler(broker, deployedEnv(broker));

    const response = answer(await handler(signal(broker, ORDER)));

    expect(response).toEqual({
      status: 404,
      body: broker === 'alor' ? 'Не задан refresh-токен Alor Open API' : 'Не задан торговый токен',
    });
    const tokenId = broker === 'alor' ? STORED.alorToken : STORED.tinkoffToken;
    expect(store.count(GET_SECRET_VALUE, tokenId)).toBe(2);
    expect(storeReads('api').map((request) => request.id)).toEqual([tokenId]);
  });

  it('reads with the AWS SDK when the extension does not answer (not started, no layer), and still trades', async () => {
    const handler = await importHandler(broker, deployedEnv(broker, { [ENV.storeExtensionPort]: '1' }));

    expect(answer(await handler(signal(broker, ORDER)))).toEqual({ status: 200, body: '200 OK' });

    expect(storeReads('extension')).toEqual([]);
    expect(storeReads('api').length).toBe(3);
    // One line per invocation: the fallback is told at debug level only (the deployed preflight's self-test says which
    // way works).
    expect(logLines().map((line) => line.message)).toEqual(['webhook answered']);
  });

  it('writes the fallback to the SDK at debug level', async () => {
    const handler = await importHandler(
      broker,
      deployedEnv(broker, { [ENV.storeExtensionPort]: '1', LOG_LEVEL: 'debug' }),
    );

    expect(answer(await handler(signal(broker, ORDER)))).toEqual({ status: 200, body: '200 OK' });
    expect(allOutput()).toContain('store extension gave no value, reading with the SDK');
  });

  it('reads with the AWS SDK when the extension refuses the session token', async () => {
    const handler = await importHandler(broker, deployedEnv(broker, { [ENV.awsSessionToken]: 'another-token' }));

    expect(answer(await handler(signal(broker, ORDER)))).toEqual({ status: 200, body: '200 OK' });
    expect(storeReads('api').length).toBe(3);
  });

  it('runs the store self-test on a direct Invoke: each value read once through the extension, once through the SDK', async () => {
    const handler = await importHandler(broker, deployedEnv(broker));

    const report = await handler(SELF_TEST_EVENT);

    const read = { result: 'read' };
    const reads = { webhookSecret: read, credential: read, account: read };
    expect(report).toEqual({
      selfTest: 'store',
      broker,
      extension: { available: true, reads },
      sdk: { available: true, reads },
    });
    expect(idsReadThroughExtension()).toEqual(idsOfAnOrder(broker));
    expect(
      storeReads('api')
        .map((request) => request.id)
        .sort(),
    ).toEqual(idsOfAnOrder(broker));
    expect(broker === 'alor' ? paper.alor.stats.requests : paper.tinkoff.stats.requests).toBe(0);
    expect(JSON.stringify(report)).not.toContain(WEBHOOK_SECRET);
  });

  it('never runs the self-test for a call through API Gateway, whatever its body says', async () => {
    const handler = await importHandler(broker, deployedEnv(broker));

    const answer_ = await handler(signal(broker, SELF_TEST_EVENT));

    expect(answer(answer_)).toEqual({ status: 400, body: 'Некорректные данные в заявке' });
    expect(storeReads('api')).toEqual([]);
  });

  it('answers 500 without AWS text when neither the extension nor the API can read the store', async () => {
    const handler = await importHandler(broker, deployedEnv(broker));
    store.failWith('InternalServiceError');

    expect(answer(await handler(signal(broker, ORDER)))).toEqual({ status: 500, body: 'Внутренняя ошибка' });
    expect(store.count(GET_PARAMETER) + store.count(GET_SECRET_VALUE)).toBeGreaterThan(0);
  });
});
