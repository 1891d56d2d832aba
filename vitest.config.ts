import { defineConfig } from 'vitest/config';

// One Vitest run covers unit tests beside the code (packages/*/src, services/*/src) and the
// cross-package suites in test/. Every test that needs Redis gets one from test/support/redis-source.ts;
// the conformance and e2e suites run against the Node and the Deno ingress (test/support/stack.ts).
// TESSERA_TEST_REDIS=cluster (npm run test:cluster) runs it all on a private 3-master Redis Cluster.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // the run on a cluster (npm run test:cluster) reports beside the run on one Redis
    reporters: [
      'default',
      [
        'json',
        { outputFile: process.env.TESSERA_TEST_REDIS === 'cluster' ? 'test-results/vitest-cluster.json' : 'test-results/vitest.json' },
      ],
    ],
  },
});
