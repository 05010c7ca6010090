import { defineConfig } from 'vitest/config';

// These tests start real processes; run the files one after another so they do not starve each other.
export default defineConfig({
  test: {
    // Deletes what test queues leave in Redis once the run is over.
    globalSetup: ['@inlet/testkit/global-setup'],
    testTimeout: 240_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
