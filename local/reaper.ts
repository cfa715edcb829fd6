#!/usr/bin/env node
/**
 * The reaper: a small process that outlives the local cloud (or a test worker) just long enough to
 * stop the process groups it started, however it ended. A SIGKILL leaves no handler to run, and the
 * groups (detached so that a stop reaches grandchildren such as the emulators' JVMs) are not in the
 * parent's group, so nothing else would stop them.
 *
 * Its parent writes `+<pgid>` when it starts a group and `-<pgid>` when the group is gone, one per
 * line, on the reaper's stdin. When stdin closes (the parent exited, by any means: the kernel closes
 * the pipe), every group still listed gets SIGTERM, and SIGKILL after GRACE_MS if it is still there.
 * It runs detached in its own session, so Ctrl-C at the terminal and a hang-up do not reach it.
 *
 * Hand-written because what it needs (pipe EOF as the parent-death signal, process groups) is a
 * few lines of `node:` APIs; the libraries for this (tree-kill and the like) kill a tree on
 * request, which needs a living parent.
 */
import { createInterface } from 'node:readline';

const GRACE_MS = 1_500;
const groups = new Set<number>();

function signal(pgid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false; // the group is gone
  }
}

async function reap(): Promise<void> {
  const live = [...groups].filter((g) => signal(g, 'SIGTERM'));
  const deadline = Date.now() + GRACE_MS;
  while (live.some((g) => signal(g, 0 as unknown as NodeJS.Signals)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const g of live) signal(g, 'SIGKILL');
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => {});
createInterface({ input: process.stdin })
  .on('line', (line) => {
    const pgid = Number(line.slice(1));
    if (!Number.isInteger(pgid) || pgid <= 1) return;
    if (line.startsWith('+')) groups.add(pgid);
    else if (line.startsWith('-')) groups.delete(pgid);
  })
  .on('close', () => {
    void reap().finally(() => process.exit(0));
  });
