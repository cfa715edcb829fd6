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
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const GRACE_MS = 1_500;
/** Each group with its leader's start time (from /proc; undefined where there is none). */
const groups = new Map<number, string | undefined>();

/** The start time of process `pid` (field 22 of /proc/<pid>/stat), undefined when none. */
function started(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * Whether `pgid` may still be the group registered. Linux does not reuse a pid while a group of
 * that id has members, so a process now holding that pid with another start time means the group
 * is gone and the id belongs to someone else.
 */
function stillOurs(pgid: number): boolean {
  const recorded = groups.get(pgid);
  const now = started(pgid);
  return recorded === undefined || now === undefined || now === recorded;
}

function signal(pgid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false; // the group is gone
  }
}

async function reap(): Promise<void> {
  const live = [...groups.keys()].filter((g) => stillOurs(g) && signal(g, 'SIGTERM'));
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
    if (line.startsWith('+')) groups.set(pgid, started(pgid));
    else if (line.startsWith('-')) groups.delete(pgid);
  })
  .on('close', () => {
    void reap().finally(() => process.exit(0));
  });
