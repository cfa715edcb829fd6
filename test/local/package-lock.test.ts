/**
 * The packaging lock of local/aws/wiring.ts: one holder at a time across processes and within one
 * (concurrent callers wait, nested calls run at once), and a lock whose owner is gone is taken over.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { withPackageLock } from '#local/aws/wiring/packaging.ts';

const dirs: string[] = [];
const serviceDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'crosslink-lock-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('withPackageLock', () => {
  it('runs concurrent callers one at a time, and a nested call at once', async () => {
    const dir = serviceDir();
    const trace: string[] = [];
    const job = (name: string) =>
      withPackageLock(dir, async () => {
        trace.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 150));
        await withPackageLock(dir, async () => trace.push(`${name} nested`));
        trace.push(`${name} out`);
      });
    await Promise.all([job('a'), job('b')]);
    expect(trace).toEqual(['a in', 'a nested', 'a out', 'b in', 'b nested', 'b out']);
    expect(existsSync(join(dir, '.crosslink-package.lock'))).toBe(false);
  });

  it('takes over a lock whose owner has exited, and waits for a live one until its timeout', async () => {
    const dir = serviceDir();
    const lock = join(dir, '.crosslink-package.lock');
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), exited.stdout.toString());
    expect(await withPackageLock(dir, async () => 'ran')).toBe('ran');

    mkdirSync(lock);
    writeFileSync(join(lock, 'pid'), String(process.ppid));
    await expect(withPackageLock(dir, async () => 'ran', 300)).rejects.toThrow(/held by pid \d+/);
    expect(existsSync(lock)).toBe(true);
  });
});
