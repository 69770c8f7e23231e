import { MockAgent } from 'undici';
import { afterEach, beforeEach } from 'vitest';

/**
 * An undici `MockAgent` for the tests of one file or `describe` block: a fresh one before each test, with no real
 * connection allowed, checked and closed after it (an interceptor a test set up but never used fails that test).
 * Call the returned function inside a test for that test's agent.
 */
export function useMockAgent(options?: MockAgent.Options): () => MockAgent {
  let agent: MockAgent | undefined;
  beforeEach(() => {
    agent = new MockAgent(options);
    agent.disableNetConnect();
  });
  afterEach(async () => {
    agent?.assertNoPendingInterceptors();
    await agent?.close();
  });
  return () => {
    if (agent === undefined) throw new Error('useMockAgent(): the agent exists only inside a test');
    return agent;
  };
}
