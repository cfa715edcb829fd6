import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The real Pub/Sub and Firestore emulators, started once per run on a test file's first lease
    // and shared by every file, each lease in a project of its own (docs/testing.md).
    globalSetup: ['./test/support/emulators-setup.ts'],
    // The default report, then the wall time, the ten slowest files and one plain count line.
    reporters: ['default', './test/support/timing-reporter.ts'],
  },
});
