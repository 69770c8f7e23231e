import { defineConfig } from 'vitest/config';

/**
 * Test kinds as projects, each runnable alone (`npm run test:unit` …); `npm test` runs them all side by side. They
 * were once run in two groups, so that suites asserting an answer within BROKER_TIMEOUT_MS + 200 ms would not share the
 * two cores with esbuild and the browser; no test bounds wall-clock time any more (deadlines are shown on fake clocks
 * or by their order against a broker's delay in the same process), and side by side the 2 cores finish sooner.
 */
export default defineConfig({
  test: {
    setupFiles: ['tests/helpers/setup.ts'],
    restoreMocks: true,
    unstubEnvs: true,
    projects: [
      { extends: true, test: { name: 'unit', include: ['tests/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'infra',
          include: ['tests/infra/**/*.test.ts'],
          testTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: { name: 'e2e', include: ['tests/e2e/**/*.test.ts'], testTimeout: 60_000 },
      },
    ],
  },
});
