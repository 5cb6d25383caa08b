import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources through the `source` export condition,
// so tests never depend on a stale build.
const conditions = ['source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    reporters: ['default', './deploy/local/src/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{libs,apps,deploy,load-tests}/**/src/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', '**/*.cluster.test.ts', '**/node_modules/**', '**/dist/**'],
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['{libs,apps,deploy}/**/src/**/*.integration.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          globalSetup: ['./deploy/local/src/vitest-global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // Integration tests share one real Kafka, PostgreSQL and TimescaleDB: run files one at a time.
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // The chart installed on the project's own one-node Kubernetes cluster (deploy/cluster): run
          // alone (`npm run test:cluster`) and after the other projects in `npm test`.
          name: 'cluster',
          include: ['deploy/cluster/src/**/*.cluster.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
          testTimeout: 1_200_000,
          hookTimeout: 2_400_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
