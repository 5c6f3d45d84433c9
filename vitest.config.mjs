import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    globalSetup: ['./__test__/setup/global.mjs'],
    include: ['__test__/**/*.test.{mjs,js,ts}'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Graceful server shutdown in teardown may take a while under load.
    teardownTimeout: 30_000,
    // Forks, one file at a time: the native addon and server restarts don't
    // mix well with worker threads or parallel files on a 2-core machine.
    pool: 'forks',
    fileParallelism: false,
  },
})
