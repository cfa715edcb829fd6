/**
 * A packaging that is given up leaves nothing running: `osls package` (packageService) and its
 * process group end on an abort, on its timeout and on the exit of the process that started it,
 * and the packaging lock is free again. osls packages a one-function service in a temporary
 * directory; its processes are found by their working directory (/proc/<pid>/cwd).
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageService } from '#local/aws/wiring/packaging.ts';
import { until } from '../support/timers.ts';

const dirs: string[] = [];
/** A service osls can package: one function, no plugins. */
function service(): string {
  const d = realpathSync(mkdtempSync(join(tmpdir(), 'crosslink-package-abort-')));
  dirs.push(d);
  writeFileSync(
    join(d, 'serverless.yml'),
    'service: abort-me\nframeworkVersion: "4"\nprovider:\n  name: aws\n  runtime: nodejs24.x\nfunctions:\n  hello:\n    handler: handler.hello\n',
  );
  writeFileSync(join(d, 'handler.js'), 'exports.hello = async () => 1;\n');
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The pids of the processes whose working directory is `dir`. */
function runningIn(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`) === dir) pids.push(Number(name));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

describe('packageService stops osls when it is given up', () => {
  it('ends osls and its group on an abort, rejects naming the pid and the reason, and frees the lock', async () => {
    // Prepare
    const dir = service();
    const controller = new AbortController();
    const packaging = packageService(dir, { signal: controller.signal });
    packaging.catch(() => {});
    await until(() => runningIn(dir).length > 0);
    // Act
    controller.abort('the test gave up');
    // Assess
    const err = (await packaging.catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/^osls package \(pid (\d+)\) in .+ stopped: aborted \(the test gave up\)$/);
    const pid = Number(/pid (\d+)/.exec(err.message)?.[1]);
    expect(runningIn(dir)).toEqual([]);
    expect(() => process.kill(-pid, 0)).toThrow(/ESRCH/);
    expect(existsSync(join(dir, '.crosslink-package.lock'))).toBe(false);
    expect(existsSync(join(dir, '.serverless', '.crosslink-inputs.sha256'))).toBe(false);
  });

  it('ends osls when it runs over its timeout', async () => {
    // Prepare
    const dir = service();
    // Act
    const err = (await packageService(dir, { timeoutMs: 300 }).catch((e: Error) => e)) as Error;
    // Assess
    expect(err.message).toMatch(/stopped: it ran over 0.3 s$/);
    expect(runningIn(dir)).toEqual([]);
  });

  it('refuses at once when the signal is already aborted, starting nothing', async () => {
    const dir = service();
    await expect(packageService(dir, { signal: AbortSignal.abort('no') })).rejects.toBe('no');
    expect(runningIn(dir)).toEqual([]);
  });

  it('ends osls when the process that started it exits', async () => {
    // Prepare: a process that starts a packaging, then exits while osls runs.
    const dir = service();
    const packaging = resolve('local/aws/wiring/packaging.ts');
    const script = `
      import { packageService } from ${JSON.stringify(packaging)};
      import { readdirSync, readlinkSync } from 'node:fs';
      packageService(${JSON.stringify(dir)}).catch(() => {});
      const running = () => readdirSync('/proc').some((p) => { try { return /^\\d+$/.test(p) && Number(p) !== process.pid && readlinkSync('/proc/' + p + '/cwd') === ${JSON.stringify(dir)}; } catch { return false; } });
      const t = setInterval(() => { if (running()) { clearInterval(t); process.exit(0); } }, 20);
    `;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
    // Act
    const code = await new Promise<number | null>((r) => parent.once('exit', (c) => r(c)));
    // Assess: the exit handler killed the group before the parent was gone.
    expect(code).toBe(0);
    await until(() => runningIn(dir).length === 0, 5_000);
  });
});
