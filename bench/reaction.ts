/**
 * How soon a link follows its provider (test/support/reaction.ts): from a half ready at the provider
 * to the link ACTIVE, and from a half down to the link DOWN, p50 and p95 of virtual time beside the
 * goals (60 s, 120 s), for 1, 100 and 1,000 links, with the watchers on their deployed 1-minute
 * schedule and, for 1,000 links side by side, on a 5-minute one. 1 and 100 links run the AWS
 * watcher's code on the local cloud (Interconnect over the wire, DynamoDB on dynalite); 1,000 run
 * the core's decision on in-memory ports (a local cloud making 1,000 connections takes minutes of
 * wall time). Then a watcher run with nothing to watch, beside the 100 ms goal: the handler's code
 * on the local cloud, and the whole scheduled invocation of the deployed AWS half.
 */
import { resolve } from 'node:path';
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

/** The median of idle runs' wall times beside the 100 ms goal: printed, and added to `figures`. */
function idleFigure(figures: Figure[], times: number[], line: string, figure: string): void {
  const p50 = percentile(times, 50);
  console.log(`${line}: p50 ${p50.toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms (goal < 100 ms)`);
  figures.push({ figure, measured: `${p50.toFixed(1)} ms`, goal: '< 100 ms', met: p50 < 100 });
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
    idleFigure(
      figures,
      times,
      'a watcher run with nothing to watch (local cloud, DynamoDB on dynalite)',
      'AWS watcher run with nothing to watch (local cloud), p50 of 20',
    );
  } finally {
    await half.stop();
    await cloud.stop();
  }
}

/**
 * The AWS half as serverless.yml deploys it (no link): the watcher's schedule fires on the virtual
 * clock, EventBridge invokes the Lambda in its sandbox, the handler reads the store and stops. A
 * run's wall time is from the timer firing to the last request of the invocation settling (the
 * clock tracks both); median and max of 20 runs after the first (the sandbox's cold start). One run
 * in 15 also lists the connections for orphans (`CROSSLINK_ORPHAN_SWEEP_EVERY`).
 */
async function idleScheduledRun(figures: Figure[]): Promise<void> {
  const cloud = await startLocalCloud({
    ports: 0,
    clock: { mode: 'manual', start: '2026-06-01T00:00:00Z' },
    seed: 1,
    log: () => {},
    awsHalf: { repoDir: resolve(import.meta.dirname, '..') },
  });
  const { clock } = cloud;
  try {
    const times: number[] = [];
    for (let i = 0; i < 21; i++) {
      const t0 = performance.now();
      await clock.advance(WATCHER_EVERY_MS);
      let end = performance.now();
      // Settled: nothing tracked in flight for 100 ms (a hop between two requests is shorter).
      while (performance.now() - end < 100) {
        await new Promise((r) => setTimeout(r, 1));
        if (clock.activity.inFlight > 0) end = performance.now();
      }
      if (i > 0) times.push(Math.max(end, clock.activity.lastActive - performance.timeOrigin) - t0);
    }
    idleFigure(
      figures,
      times,
      'a scheduled AWS watcher run with no link, EventBridge -> Lambda -> DynamoDB on the local cloud',
      'AWS watcher scheduled run with no link, end to end (local cloud), p50 of 20',
    );
  } finally {
    await cloud.stop();
  }
}

export async function run(): Promise<Figure[]> {
  const figures: Figure[] = [];
  const deployed = 'every minute';
  const before = 'every 5 min';
  console.log('reaction (virtual time; the changes spread over 10 minutes)');
  report('local cloud', deployed, await reactionOnLocalCloud(1, WATCHER_EVERY_MS), figures);
  report('local cloud', deployed, await reactionOnLocalCloud(100, WATCHER_EVERY_MS), figures);
  report('core', deployed, await reactionOnCore(1000, WATCHER_EVERY_MS), figures);
  report('core', before, await reactionOnCore(1000, 5 * 60_000), figures);
  await idleRun(figures);
  await idleScheduledRun(figures);
  return figures;
}
