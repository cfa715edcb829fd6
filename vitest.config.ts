import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The default report, then the wall time, the ten slowest files and one plain count line.
    reporters: ['default', './test/support/timing-reporter.ts'],
  },
});
