/**
 * The AWS watcher: neither provider emits state events, so this side polls its own connections
 * (scheduled, paginated) and also runs early when a CloudTrail `interconnect` call arrives from the
 * default bus. `watchHalves` decides what really changed (a disappearance is confirmed by a Get);
 * each change is recorded with the next sequence, emitted as `LinkSideStateChanged`, and the stage
 * waiting on it is resumed.
 */

import { judgeHealth } from '#core/link/health.ts';
import { flushStaleOutboxes, observationOf } from '#core/link/record.ts';
import { recordOwnHalfAndResume } from '#core/link/waits.ts';
import {
  type KnownHalf,
  nothingWatched,
  orphanSweepDue,
  recordHealth,
  scanOwnHalves,
  watchHalves,
} from '#core/link/watch.ts';
import { type HalfView, toObserved } from './halves.ts';
import type { StepDeps } from './steps.ts';

export interface WatchReport {
  changed: string[];
  /** Connections no link record knows. */
  orphans: string[];
  /** Links that FAILED with their connection still there (compensation gave up): `linkId connectionId`. */
  failedWithHalf: string[];
  unchanged: number;
  /** Links whose health changed this round (`linkId status`). */
  health: string[];
  /** Links whose BGP sessions could not be read this round (`linkId: error`): their health stays. */
  healthErrors: string[];
}

export async function watch(deps: StepDeps): Promise<WatchReport> {
  const now = deps.clock.now();
  const scan = await scanOwnHalves(deps.store, 'aws', now);
  const { known, stale, failed, creating } = scan;
  // Nothing to watch and no orphan sweep due: the store's one read was the whole run.
  if (nothingWatched(scan) && !orphanSweepDue(now, deps.settings.orphanSweepEveryMs))
    return {
      changed: [],
      orphans: [],
      failedWithHalf: [],
      unchanged: 0,
      health: [],
      healthErrors: [],
    };
  const listed = await deps.halves.listHalves();
  const views = new Map<string, HalfView | null>(listed.map((h) => [h.connectionId, h]));
  const result = await watchHalves(
    {
      side: 'aws',
      policyHash: deps.policy.hash,
      known,
      listed: listed.map(toObserved),
      creating,
      now,
    },
    async (k) => {
      const h = await deps.halves.getHalf(k.resourceId);
      views.set(k.resourceId, h);
      return h ? toObserved(h) : null;
    },
  );
  for (const change of result.changes)
    await recordOwnHalfAndResume(
      deps,
      observationOf(change.linkId, change.resourceId ? (views.get(change.resourceId) ?? null) : null),
    );
  // Events a failed put left in an outbox (after their state was written) go out now, same ids.
  await flushStaleOutboxes(deps, stale);
  // A FAILED link's connection seen gone this round is no longer billing.
  for (const c of result.changes)
    if (c.nativeState === null || c.nativeState === 'deleted') failed.delete(c.linkId);
  const { health, healthErrors } = await observeHealth(deps, known, views);
  const failedWithHalf = [...failed].map(([linkId, connectionId]) => `${linkId} ${connectionId}`);
  const orphans = result.orphans.map((o) => o.resourceId);
  deps.metrics?.orphaned?.(orphans.length + failedWithHalf.length);
  return {
    changed: result.changes.map((c) => c.linkId),
    orphans,
    failedWithHalf,
    unchanged: result.unchanged,
    health,
    healthErrors,
  };
}

/** The account and region of an Interconnect connection, from its ARN. */
function placeOf(arn: string): { accountId?: string; region?: string } {
  const [, , , region, accountId] = arn.split(':');
  return { ...(region ? { region } : {}), ...(accountId ? { accountId } : {}) };
}

/**
 * The data path of every watched link whose connection is up: its BGP sessions judged by the core's
 * rules (docs/link-health.md) and recorded when the status changed.
 */
async function observeHealth(
  deps: StepDeps,
  known: readonly KnownHalf[],
  views: ReadonlyMap<string, HalfView | null>,
): Promise<{ health: string[]; healthErrors: string[] }> {
  const health: string[] = [];
  const healthErrors: string[] = [];
  if (!deps.bgp) return { health, healthErrors };
  for (const k of known) {
    const view = views.get(k.resourceId);
    if (!view || (view.state !== 'available' && view.state !== 'updating')) continue;
    try {
      const sessions = await deps.bgp.sessions(view.connectionId, placeOf(view.arn));
      const judged = judgeHealth({ connectionUp: true, sessions });
      if (!judged) continue;
      const r = await recordHealth(deps, k.linkId, judged);
      if (r.ignored === undefined) health.push(`${k.linkId} ${judged.status}`);
    } catch (e) {
      healthErrors.push(`${k.linkId}: ${(e as Error).message}`);
    }
  }
  return { health, healthErrors };
}
