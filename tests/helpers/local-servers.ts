import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type PaperBrokers, type PaperBrokersOptions, startPaperBrokers } from '#local/paper-broker/index.ts';

/**
 * A local server for the tests of one file or `describe` block: started before them, closed after them, and put back
 * to a clean state before each test. The value returned stands for the server once started (a proxy to it), so a file
 * writes `const paper = usePaperBrokers()` and uses `paper.alor` as it would the started server.
 */
export function useLocalServer<TServer extends { close(): Promise<void> }>(
  start: () => Promise<TServer>,
  resetBeforeEachTest: (server: TServer) => void,
): TServer {
  let started: TServer | undefined;
  beforeAll(async () => {
    started = await start();
  });
  afterAll(async () => {
    await started?.close();
  });
  beforeEach(() => {
    if (started !== undefined) resetBeforeEachTest(started);
  });
  return new Proxy({} as TServer, {
    get: (_target, property) => {
      if (started === undefined) throw new Error('a local server is used before beforeAll started it');
      return Reflect.get(started, property);
    },
  });
}

/** Both paper brokers, with no fault left over and counters at zero before each test. */
export function usePaperBrokers(options?: PaperBrokersOptions): PaperBrokers {
  return useLocalServer(
    () => startPaperBrokers(options),
    (paper) => {
      for (const server of [paper.alor, paper.tinkoff]) {
        server.clearFaults();
        server.resetStats();
      }
    },
  );
}
