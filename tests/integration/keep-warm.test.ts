import { describe, expect, it } from 'vitest';
import type { PaperBrokers } from '#local/paper-broker/index.ts';
import { loadAlorConfig } from '#shared/brokers/alor/config.ts';
import { createAlorHandler } from '#shared/brokers/alor/index.ts';
import { loadTinkoffConfig } from '#shared/brokers/tinkoff/config.ts';
import { createTinkoffHandler } from '#shared/brokers/tinkoff/index.ts';
import { type Broker, ENV } from '#shared/facts.ts';
import { createKeepAliveAgent } from '#shared/http/outbound/client.ts';
import { SCHEDULED_EVENT } from '../helpers/events.ts';
import { usePaperBrokers } from '../helpers/local-servers.ts';
import { logLines } from '../helpers/logs.ts';
import { orderSignal, paperEnv } from '../helpers/resilience.ts';

/**
 * The optional keep-warm schedule (EventBridge → the function, through IAM): a connection open to each broker origin
 * and Alor's access token valid past the next turn, so the next order is one broker request on an open connection.
 * It never reaches an order route. Counted with the paper brokers' request and connection counters.
 */

const paper = usePaperBrokers();
/** Access tokens living 10 minutes: shorter than a keep-warm's horizon (15 minutes), so every turn refreshes. */
const shortTokens = usePaperBrokers({ alor: { accessTokenTtlSeconds: 600 } });

/** A container with its own keep-alive agent, as deployed. */
function container(broker: Broker, brokers: PaperBrokers) {
  const env = { ...paperEnv(broker, brokers), [ENV.dryRun]: 'false' };
  const deps = { dispatcher: createKeepAliveAgent() };
  return broker === 'alor'
    ? createAlorHandler(loadAlorConfig(env), deps)
    : createTinkoffHandler(loadTinkoffConfig(env), deps);
}

describe('keep-warm', () => {
  it('Alor: refreshes the access token and opens both hosts, then the next order is one request', async () => {
    const handler = container('alor', paper);

    expect(await handler(SCHEDULED_EVENT)).toMatchObject({ statusCode: 200 });
    expect(paper.alor.stats.byRoute).toEqual({ refresh: 1 });
    const connectionsAfterKeepWarm = paper.alor.stats.connections;

    expect(await handler(orderSignal('alor'))).toMatchObject({ statusCode: 200 });
    expect(paper.alor.stats.byRoute).toEqual({ refresh: 1, order: 1 });
    expect(paper.alor.stats.connections).toBe(connectionsAfterKeepWarm);
  });

  it('Alor: leaves a token valid past the next turn alone', async () => {
    const handler = container('alor', paper);
    await handler(SCHEDULED_EVENT);

    await handler(SCHEDULED_EVENT);

    expect(paper.alor.stats.byRoute).toEqual({ refresh: 1 });
  });

  it('Alor: refreshes again a token that would expire before the next turn', async () => {
    const handler = container('alor', shortTokens);
    await handler(SCHEDULED_EVENT);

    await handler(SCHEDULED_EVENT);

    expect(shortTokens.alor.stats.byRoute).toEqual({ refresh: 2 });
  });

  it('T-Invest: opens a connection and calls nothing, then the next order is one request on it', async () => {
    const handler = container('tinkoff', paper);

    await handler(SCHEDULED_EVENT);
    await handler(SCHEDULED_EVENT);

    expect(paper.tinkoff.stats.requests).toBe(0);
    expect(paper.tinkoff.stats.connections).toBe(1);
    expect(await handler(orderSignal('tinkoff'))).toMatchObject({ statusCode: 200 });
    expect(paper.tinkoff.stats.byRoute).toEqual({ order: 1 });
    expect(paper.tinkoff.stats.connections).toBe(1);
  });

  it('logs one keep-warm line, and a failure as a warning that still answers', async () => {
    const handler = container('alor', paper);
    paper.alor.injectFault({ route: 'refresh', fault: { kind: 'status', status: 500, body: '' } });

    expect(await handler(SCHEDULED_EVENT)).toMatchObject({ statusCode: 200 });
    expect(logLines()).toEqual([
      expect.objectContaining({ level: 'warn', message: 'keep-warm', broker: 'alor', outcome: 'keep-warm' }),
    ]);
    expect(paper.alor.stats.byRoute.order).toBeUndefined();
  });
});
