/**
 * How soon a link follows its provider (test/support/reaction.ts): from a half ready at the provider
 * to the link ACTIVE, and from a half down to the link DOWN, p50 and p95 of virtual time beside the
 * goals (60 s, 120 s), for 1, 100 and 1,000 links, with the watchers on their deployed 5-minute
 * schedule and, side by side, on a 1-minute one. 1 and 100 links run the AWS watcher's code on the
 * local cloud (Interconnect over the wire, DynamoDB on dynalite); 1,000 run the core's decision on
 * in-memory ports (a local cloud making 1,000 connections takes minutes of wall time). Then a
 * watcher run with nothing to watch: its wall time on the local cloud beside the 100 ms goal.
 */
import { performance } from 'node:perf_hooks';
import { watch } from '#aws/watcher.ts';
import { WATCHER_EVERY_MS } from '#core/link/watch.ts';
import { startLocalCloud } from '#local/index.ts';
import type { Figure } from '../scripts/bench-figures.ts';
import { startAwsHalf } from '../test/support/aws-half.ts';
import { percentile, type Reaction, reactionOnCore, reactionOnLocalCloud } from '../test/support/reaction.ts';

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function report(where: string, schedule: string, r: Reaction, figures: Figure[]): void {
  const up50 = percentile(r.up, 50);
  const up95 = percentile(r.up, 95);
  const down50 = percentile(r.down, 50);
  const down95 = percentile(r.down, 95);
  console.log(
    `${String(r.links).padStart(5)} links  ${where.padEnd(11)} ${schedule.padEnd(13)} ready->ACTIVE p50 ${s(up50).padStart(7)} p95 ${s(up95).padStart(7)}   down->DOWN p50 ${s(down50).padStart(7)} p95 ${s(down95).padStart(7)}   run p50 ${percentile(r.runs, 50).toFixed(0)} ms max ${Math.max(...r.runs).toFixed(0)} ms   ${r.invocationsPerMinute} run/min`,
  );
  const at = `${r.links} link${r.links === 1 ? '' : 's'}, ${where}, ${schedule}`;
  figures.push(
    {
      figure: `reaction ready -> ACTIVE p50 (${at})`,
      measured: s(up50),
      goal: '<= 60 s',
      met: up50 <= 60_000,
    },
    {
      figure: `reaction ready -> ACTIVE p95 (${at})`,
      measured: s(up95),
      goal: '<= 120 s',
      met: up95 <= 120_000,
    },
    {
      figure: `reaction down -> DOWN p50 (${at})`,
      measured: s(down50),
      goal: '<= 60 s',
      met: down50 <= 60_000,
    },
    {
      figure: `reaction down -> DOWN p95 (${at})`,
      measured: s(down95),
      goal: '<= 120 s',
      met: down95 <= 120_000,
    },
  );
}

/** The AWS watcher with no link in the store and no orphan sweep due: median and max of 20 runs. */
async function idleRun(figures: Figure[]): Promise<void> {
  const cloud = await startLocalCloud({
    ports: 0,
    clock: { mode: 'manual', start: '2026-06-01T00:07:00Z' },
    seed: 1,
    log: () => {},
  });
  const half = await startAwsHalf(cloud);
  // As deployed (CROSSLINK_ORPHAN_SWEEP_EVERY's default): at 00:07 no sweep is due.
  Object.assign(half.deps.settings, { orphanSweepEveryMs: 15 * 60_000 });
  try {
    const times: number[] = [];
    for (let i = 0; i < 21; i++) {
      const t0 = performance.now();
      await watch(half.deps);
      if (i > 0) times.push(performance.now() - t0); // the first run opens the connections
    }
    const p50 = percentile(times, 50);
    console.log(
      `a watcher run with nothing to watch (local cloud, DynamoDB on dynalite): p50 ${p50.toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms (goal < 100 ms)`,
    );
    figures.push({
      figure: 'AWS watcher run with nothing to watch (local cloud), p50 of 20',
      measured: `${p50.toFixed(1)} ms`,
      goal: '< 100 ms',
      met: p50 < 100,
    });
  } finally {
    await half.stop();
    await cloud.stop();
  }
}

export async function run(): Promise<Figure[]> {
  const figures: Figure[] = [];
  const deployed = 'every 5 min';
  const minute = 'every minute';
  console.log('reaction (virtual time; the changes spread over 10 minutes)');
  report('local cloud', deployed, await reactionOnLocalCloud(1, WATCHER_EVERY_MS), figures);
  report('local cloud', deployed, await reactionOnLocalCloud(100, WATCHER_EVERY_MS), figures);
  report('local cloud', minute, await reactionOnLocalCloud(100, 60_000), figures);
  report('core', deployed, await reactionOnCore(1000, WATCHER_EVERY_MS), figures);
  report('core', minute, await reactionOnCore(1000, 60_000), figures);
  await idleRun(figures);
  return figures;
}
