import { defineConfig } from 'vitest/config';

/**
 * One vitest run = one set of real services (test/global-setup.ts): embedded PostgreSQL, the Temporal
 * dev server and the SMTP capture, on free ports in temp dirs. Files run in forked processes, two at
 * a time (the machines this runs on have 2 cores; Temporal and PostgreSQL need some of it too).
 */
export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts', '{api,db,lib,workflows,activities,notifications}/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'dist/**', '.tools/**', '.data/**'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    // Integration tests start workers, time-skipping servers and child processes.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    slowTestThreshold: 10_000,
  },
});
