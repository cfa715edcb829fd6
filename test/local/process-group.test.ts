import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProcessGroup } from '#local/processes.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(f: () => boolean, ms = 5_000): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ProcessGroup', () => {
  it('stops a child and the grandchildren it started, as a group', async () => {
    // Prepare: a parent shell whose own child would survive a SIGTERM to the parent alone.
    const group = new ProcessGroup();
    const child = group.spawn('sh', ['-c', 'trap "" TERM; sleep 30 & echo $!; wait'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const grandchild = await new Promise<number>((resolve) => {
      child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    });
    expect(alive(grandchild)).toBe(true);
    // Act
    await group.stopAll(500);
    // Assess
    await until(() => !alive(grandchild));
    expect(alive(child.pid!)).toBe(false);
    expect(group.size).toBe(0);
  });

  it('is stopped by the reaper when its parent is killed with SIGKILL', async () => {
    // Prepare: a parent process whose group's leader ignores SIGTERM and has a child of its own.
    const parent = spawn(
      process.execPath,
      [resolve(import.meta.dirname, '../fixtures/process-group-parent.ts')],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const { leader, grandchild } = await new Promise<{ leader: number; grandchild: number }>((ok) => {
      parent.stdout?.once('data', (d: Buffer) => ok(JSON.parse(d.toString())));
    });
    expect(alive(leader) && alive(grandchild)).toBe(true);
    // Act: no handler of the parent runs.
    parent.kill('SIGKILL');
    // Assess: the whole group is gone within 5 s (SIGTERM ignored, then SIGKILL after the grace).
    await until(() => !alive(leader) && !alive(grandchild), 5_000);
  });
});
