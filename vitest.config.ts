import { defineConfig } from 'vitest/config';

/**
 * Test kinds as projects, each runnable alone (`npm run test:unit` …). `npm test` runs them in two groups: the
 * integration suites (some assert an answer arrives within BROKER_TIMEOUT_MS + 200 ms) do not share the two cores
 * with the infra project's esbuild bundling and the browser of the e2e test.
 */
export default defineConfig({
  test: {
    setupFiles: ['tests/helpers/setup.ts'],
    restoreMocks: true,
    unstubEnvs: true,
    projects: [
      { extends: true, test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], sequence: { groupOrder: 0 } } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          testTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'infra',
          include: ['tests/infra/**/*.test.ts'],
          testTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: { name: 'e2e', include: ['tests/e2e/**/*.test.ts'], testTimeout: 60_000, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
