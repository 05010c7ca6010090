import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Deletes what test queues leave in Redis once the run is over.
    globalSetup: ['@inlet/testkit/global-setup'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
