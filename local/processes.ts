/**
 * Child processes of the local cloud (the emulators, the function hosts, anything else it starts).
 * Each runs in its own process group, so stopping signals the whole group: `gcloud emulators
 * firestore start` leaves its Java child behind on a plain SIGTERM to the parent. Every group is
 * also registered with the reaper (local/reaper.ts), which stops the groups when this process ends
 * without stopping them itself (SIGKILL, a crash, a test worker torn down).
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const REAPER_MAIN = resolve(import.meta.dirname, 'reaper.ts');
let reaper: ChildProcess | undefined;

/** Tells this process's reaper (started on first use) that a group started or ended. */
function tellReaper(line: string): void {
  if (!reaper) {
    reaper = spawn(process.execPath, [REAPER_MAIN], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    reaper.unref();
    // A write after the reaper is gone (it never exits first, short of being killed) is not worth
    // failing the caller for: the groups are then only stopped by stopAll.
    reaper.stdin?.on('error', () => {});
  }
  reaper.stdin?.write(`${line}\n`);
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ProcessGroup {
  #children = new Set<ChildProcess>();

  /** Starts `command` detached in a new process group and remembers it. */
  spawn(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn(command, args, { stdio: 'ignore', ...options, detached: true });
    this.#children.add(child);
    const pgid = child.pid;
    if (pgid !== undefined) tellReaper(`+${pgid}`);
    child.once('exit', () => {
      this.#children.delete(child);
      // The leader's exit does not end its group (a JVM may outlive its launcher): the reaper
      // forgets a group only once nothing is left in it.
      if (pgid !== undefined && !groupAlive(pgid)) tellReaper(`-${pgid}`);
    });
    return child;
  }

  get size(): number {
    return this.#children.size;
  }

  /**
   * SIGKILL to every group at once, synchronously: for a `process.on('exit')` handler, where
   * nothing asynchronous runs any more.
   */
  killAll(): void {
    for (const child of this.#children) {
      if (child.pid === undefined) continue;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    }
  }

  /** SIGTERM to every group, then SIGKILL to what is left after `graceMs`. */
  async stopAll(graceMs = 5_000): Promise<void> {
    const alive = [...this.#children];
    const signal = (child: ChildProcess, sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // The group is already gone.
      }
    };
    for (const child of alive) signal(child, 'SIGTERM');
    const exited = alive.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) resolve();
          else child.once('exit', () => resolve());
        }),
    );
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([Promise.all(exited), timer])) === 'timeout') {
      for (const child of alive) signal(child, 'SIGKILL');
      await Promise.all(exited);
    }
  }
}
