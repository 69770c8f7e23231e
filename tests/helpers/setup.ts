import { afterAll, beforeEach, vi } from 'vitest';
import { removeTempDirs } from './temp-dirs.ts';

/**
 * Every test starts quiet: the service's JSON log lines (process.stdout) and console output are captured
 * by spies that tests can read (`logLines()` in tests/helpers/logs.ts) instead of printed.
 */
beforeEach(() => {
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation(() => undefined);
  }
});

/** Temporary directories made with `createTempDir` go once the test file is done. */
afterAll(removeTempDirs);
