/**
 * A vitest reporter beside the default one: after the run it prints the suite's wall time, the
 * ten slowest test files (import, setup and tests, as vitest measures each file), and the counts
 * on one plain line (`tests: N passed, N failed, N skipped`) that CI logs can be read by.
 */
import type { Reporter, TestModule } from 'vitest/node';

function fileSeconds(m: TestModule): number {
  const d = m.diagnostic();
  return (
    (d.environmentSetupDuration + d.prepareDuration + d.collectDuration + d.setupDuration + d.duration) / 1000
  );
}

export default class TimingReporter implements Reporter {
  #t0 = Date.now();

  onTestRunStart(): void {
    this.#t0 = Date.now();
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const wall = (Date.now() - this.#t0) / 1000;
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') counts.passed++;
        else if (state === 'failed') counts.failed++;
        else counts.skipped++;
      }
    }
    const slowest = [...modules].sort((a, b) => fileSeconds(b) - fileSeconds(a)).slice(0, 10);
    const lines = [
      '',
      `suite wall time: ${wall.toFixed(1)} s for ${modules.length} files`,
      'slowest files:',
      ...slowest.map((m) => `  ${fileSeconds(m).toFixed(1).padStart(7)} s  ${m.relativeModuleId}`),
      `tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  }
}
