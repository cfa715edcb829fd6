/**
 * Runs one of the tree checks (scripts/check-deps.ts, scripts/check-sizes.ts) on a fixture tree:
 * `files` written into a fresh temporary folder, the script run on it as `npm test` runs it on the
 * repository. Answers its exit code and all it printed.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

export async function checkTree(script: string, files: Record<string, string>) {
  const root = mkdtempSync(join(tmpdir(), 'crosslink-tree-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  const path = resolve(import.meta.dirname, '..', '..', 'scripts', script);
  return promisify(execFile)(process.execPath, [path, root]).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e) => ({ code: e.code as number, out: `${e.stdout}${e.stderr}` }),
  );
}
