/**
 * The AWS watcher: neither provider emits state events, so this side polls its own connections
 * (scheduled, paginated) and also runs early when a CloudTrail `interconnect` call arrives from the
 * default bus. `watchHalves` decides what really changed (a disappearance is confirmed by a Get);
 * each change is recorded with the next sequence, emitted as `LinkSideStateChanged`, and the stage
 * waiting on it is resumed.
 */

import { scanOwnHalves, watchHalves } from '#core/link/watcher.ts';
import { type HalfView, toObserved } from './interconnect-adapter.ts';
import { flushStaleOutboxes, recordOwnHalf, type StepDeps } from './link-steps.ts';

export interface WatchReport {
  changed: string[];
  /** Connections no link record knows. */
  orphans: string[];
  /** Links that FAILED with their connection still there (compensation gave up): `linkId connectionId`. */
  failedWithHalf: string[];
  unchanged: number;
}

export async function watch(deps: StepDeps): Promise<WatchReport> {
  const { known, stale, failed, creating } = await scanOwnHalves(deps.store, 'aws');
  const listed = await deps.halves.listHalves();
  const views = new Map<string, HalfView | null>(listed.map((h) => [h.connectionId, h]));
  const result = await watchHalves(
    {
      side: 'aws',
      policyHash: deps.policy.hash,
      known,
      listed: listed.map(toObserved),
      creating,
      now: deps.clock.now(),
    },
    async (k) => {
      const h = await deps.halves.getHalf(k.resourceId);
      views.set(k.resourceId, h);
      return h ? toObserved(h) : null;
    },
  );
  for (const change of result.changes)
    await recordOwnHalf(
      deps,
      change.linkId,
      change.resourceId ? (views.get(change.resourceId) ?? null) : null,
    );
  // Events a failed put left in an outbox (after their state was written) go out now, same ids.
  await flushStaleOutboxes(deps, stale);
  // A FAILED link's connection seen gone this round is no longer billing.
  for (const c of result.changes)
    if (c.nativeState === null || c.nativeState === 'deleted') failed.delete(c.linkId);
  const failedWithHalf = [...failed].map(([linkId, connectionId]) => `${linkId} ${connectionId}`);
  const orphans = result.orphans.map((o) => o.resourceId);
  deps.metrics?.orphaned?.(orphans.length + failedWithHalf.length);
  return {
    changed: result.changes.map((c) => c.linkId),
    orphans,
    failedWithHalf,
    unchanged: result.unchanged,
  };
}
