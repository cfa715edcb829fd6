import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import LongestFirst from './test/support/sequencer.ts';

/**
 * What both projects share; the global setup and the reporters are the run's (below). A test's and
 * a hook's wall deadline only guards against a hang: tests wait on events, and a machine loaded by
 * other runs must not fail them, so both are the 120 s every test stays within.
 */
const shared = {
  testTimeout: 120_000,
  hookTimeout: 120_000,
  pool: 'forks',
} as const;

export default defineConfig({
  test: {
    // Two projects (docs/testing.md): `local`, the tests whose subject is the simulator (local/),
    // all under test/local; `product`, every other test file (functions/, workflows/, stacks/, the
    // deployment files, the CLI, the end-to-end flows). `vitest run --project local` or
    // `--project product` runs one alone.
    projects: [
      { test: { ...shared, name: 'product', include: ['test/**/*.test.ts'], exclude: ['test/local/**'] } },
      { test: { ...shared, name: 'local', include: ['test/local/**/*.test.ts'] } },
    ],
    // The real Pub/Sub and Firestore emulators, started once per run on a test file's first lease
    // and shared by every file of both projects, each lease in a project of its own
    // (docs/testing.md).
    globalSetup: ['./test/support/emulators-setup.ts'],
    // One test file per core at once, at least two and at most four: vitest's default leaves one
    // core free (`availableParallelism() - 1`), which on a 2-core machine runs the files one after
    // another. A whole-system file spends much of its time waiting on processes and the emulators,
    // so two files overlap well even on two cores; past four, the whole-system files' function
    // processes and Lambda workers (a few hundred MB each file) crowd the shared emulators.
    maxWorkers: Math.min(4, Math.max(2, availableParallelism())),
    // Longest files first (the last run's durations, or estimated from what a file is).
    sequence: { sequencer: LongestFirst },
    // The default report, then the wall time, the ten slowest files and one plain count line.
    reporters: ['default', './test/support/timing-reporter.ts'],
  },
});
