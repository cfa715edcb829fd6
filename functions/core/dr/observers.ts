/**
 * Which vantage points observe a side independently (docs/dr-decider.md): pure functions of the
 * plan's document, apart from plan.ts so that the decider's code imports no schema compiler and no
 * YAML parser (plan.ts re-exports them).
 */
import type { DrPlanDocument, Location, Side, VantagePoint } from './plan.ts';

/**
 * Which observer a vantage point is: vantage points in the same cloud and region (or run by the same
 * external provider) fail together, so they are one observer, not several.
 */
export function observerOf(vp: VantagePoint): string {
  return vp.cloud === 'external' ? `external:${vp.provider}` : `${vp.cloud}:${vp.region}`;
}

/** A vantage point inside the region it watches dies with it and sees what that region sees: it is not independent. */
export function isInside(vp: VantagePoint, location: Location): boolean {
  return vp.cloud === location.cloud && vp.region === location.region;
}

/** The independent observers of one side: distinct observers among the signal's vantage points, outside that side's region. */
export function independentObservers(plan: DrPlanDocument, side: Side): string[] {
  const location = plan[side];
  const byId = new Map(plan.vantagePoints.map((vp) => [vp.id, vp]));
  const observers = new Set<string>();
  for (const signal of plan.signals) {
    if (signal.observes !== side) continue;
    for (const id of signal.vantagePoints) {
      const vp = byId.get(id);
      if (vp && !isInside(vp, location)) observers.add(observerOf(vp));
    }
  }
  return [...observers].sort();
}
