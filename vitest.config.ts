import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'web/src/**/*.test.ts', 'tests/**/*.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    // Fails a test during which the process saw an unhandled rejection or an uncaught exception.
    setupFiles: ['tests/helpers/fail-on-unhandled.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Media tests run real FFmpeg ladders; two files at a time is what 2 cores carry.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
