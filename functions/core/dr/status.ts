/**
 * What `crosslink dr status` reports from a recorded signal log: the decider's decisions over it (run
 * up to `now`, deadlines included) and each vantage point's freshness. A vantage point that has not
 * reported within the plan's `staleAfter` is stale (its reports count as unknown to the decider); one
 * that never reported is silent; one whose newest report is `vantage-down` is blind: alive, but its
 * own network is down, so it says nothing of the service.
 */
import { nextDeadline, replay, step } from './failover-decider.ts';
import { type DeciderState, type Decision, iso } from './failover-state.ts';
import type { DrPlan } from './plan.ts';
import { type DrRecord, isControl, type SignalRecord } from './signal-log.ts';

export type Freshness = 'fresh' | 'stale' | 'silent' | 'blind';

export interface VantageFreshness {
  vantage: string;
  freshness: Freshness;
  /** Time of its newest report, if any. */
  lastReport?: string;
  /** How long ago that was, in ms. */
  ageMs?: number;
  /** That report's signal, status and reason. */
  last?: { signal: string; status: string; reason?: string };
}

export interface DrStatus {
  service: string;
  now: string;
  /** The side the decider has serving at `now`. */
  active: DeciderState['active'];
  epoch: number;
  decisions: Decision[];
  vantagePoints: VantageFreshness[];
}

/** Each vantage point's freshness at `now`, from the service's signal records. */
export function vantageFreshness(
  plan: DrPlan,
  records: readonly DrRecord[],
  now: number,
): VantageFreshness[] {
  const newest = new Map<string, SignalRecord>();
  for (const r of records) {
    if (isControl(r) || r.service !== plan.service) continue;
    const at = Date.parse(r.time);
    const seen = newest.get(r.vantage);
    if (at <= now && (!seen || at >= Date.parse(seen.time))) newest.set(r.vantage, r);
  }
  return plan.vantagePoints.map((vp) => {
    const last = newest.get(vp.id);
    if (!last) return { vantage: vp.id, freshness: 'silent' };
    const ageMs = now - Date.parse(last.time);
    const freshness: Freshness =
      ageMs >= plan.settings.staleAfterMs
        ? 'stale'
        : (last as { reason?: string }).reason === 'vantage-down'
          ? 'blind'
          : 'fresh';
    const reason = (last as { reason?: string }).reason;
    return {
      vantage: vp.id,
      freshness,
      lastReport: last.time,
      ageMs,
      last: { signal: last.signal, status: last.status, ...(reason && { reason }) },
    };
  });
}

/** Replays the log, then runs the decider's deadlines up to `now`. Records after `now` are left out. */
export function drStatus(plan: DrPlan, records: readonly DrRecord[], now: number): DrStatus {
  const upToNow = records.filter((r) => Date.parse(r.time) <= now);
  const result = replay(plan, upToNow);
  let state = result.state;
  const decisions = [...result.decisions];
  for (let d = nextDeadline(plan, state); d !== null && d <= now; d = nextDeadline(plan, state)) {
    const r = step(plan, state, { time: iso(d), tick: true });
    state = r.state;
    if (r.decision) decisions.push(r.decision);
  }
  return {
    service: plan.service,
    now: iso(now),
    active: state.active,
    epoch: state.epoch,
    decisions,
    vantagePoints: vantageFreshness(plan, upToNow, now),
  };
}
