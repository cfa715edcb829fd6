/**
 * The order test files start in: longest first, so that on two workers the long files overlap and
 * the short ones fill the gaps at the end, rather than one long file starting last and running
 * alone.
 *
 * A file's expected duration is its duration in vitest's results cache (the last run's, under
 * `node_modules/.vite/vitest`) when it has one. A fresh clone has no cache, so there it is
 * estimated from what the file is: an end-to-end or workflow test (test/e2e, test/workflows) runs
 * whole systems for about a minute; a file that boots heavy parts (both halves, the serverless.yml
 * or gcp.yml deployment, the emulators, a child `npm`/`node` process) takes seconds; any other is
 * short, the larger first (vitest's own fallback).
 */
import { readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const WHOLE_SYSTEM = /^test\/(e2e|workflows)\//;
const HEAVY = /startBothHalves|startLinkCloud|leaseEmulators|emulators: true|gcpConfig|awsHalf|spawn\(/;

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const expected = new Map<TestSpecification, number>();
    for (const spec of files) {
      const path = relative(root, spec.moduleId);
      const cached = this.ctx.cache.getFileTestResults(`${spec.project.name}:${path}`)?.duration;
      expected.set(spec, cached ?? estimate(spec.moduleId, path));
    }
    return [...files].sort((a, b) => (expected.get(b) ?? 0) - (expected.get(a) ?? 0));
  }
}

/** Milliseconds a file is expected to take with no measurement of it. */
function estimate(file: string, path: string): number {
  const bytes = statSync(file).size;
  if (WHOLE_SYSTEM.test(path)) return 60_000 + bytes;
  if (HEAVY.test(readFileSync(file, 'utf8'))) return 10_000 + bytes;
  return bytes / 10;
}
