import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type PaperBrokers, type PaperBrokersOptions, startPaperBrokers } from '#local/paper-broker/index.ts';

/**
 * Paper brokers for one test file: started before its tests, closed after them, and with no fault left over and
 * counters at zero before each test. The value returned stands for the brokers once started (a proxy to them), so a
 * file writes `const paper = usePaperBrokers()` and uses `paper.alor` as it would the started brokers.
 */
export function usePaperBrokers(options?: PaperBrokersOptions): PaperBrokers {
  let started: PaperBrokers | undefined;
  beforeAll(async () => {
    started = await startPaperBrokers(options);
  });
  afterAll(async () => {
    await started?.close();
  });
  beforeEach(() => {
    for (const server of [started?.alor, started?.tinkoff]) {
      server?.clearFaults();
      server?.resetStats();
    }
  });
  return new Proxy({} as PaperBrokers, {
    get: (_target, property) => {
      if (started === undefined) throw new Error('paper brokers are used before beforeAll started them');
      return Reflect.get(started, property);
    },
  });
}
