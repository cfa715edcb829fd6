/**
 * The Google half: Workflows steps of one provisioning (initiate, both approvals in before the first
 * wait) at provider delays of 5, 30 and 120 simulated minutes, internal and external as Google bills
 * them, each beside its goal (at most 40, plus 3 per hour of delay) and beside a baseline workflow
 * that polls the transport every 30 s (sleep -> GET -> switch). The `up` callback comes when the
 * watcher (every 5 minutes, its schedule) first sees the transport ACTIVE. How it is measured:
 * test/support/orchestration-cost.ts; test/workflows/orchestration-cost.test.ts fails over the goal.
 */

import { WATCHER_EVERY_MS } from '#core/link/watch.ts';
import type { Figure } from '../scripts/bench-figures.ts';
import { costGoal, gcpProvisioningSteps, PROVIDER_DELAYS } from '../test/support/orchestration-cost.ts';

export async function run(): Promise<Figure[]> {
  console.log(
    'Workflows steps of one provisioning (initiate, approvals in; up by callback when the 5-min watcher sees it)',
  );
  console.log(
    'provider delay   crosslink: internal  external  total  goal   30 s polling: internal  external  total',
  );
  const figures: Figure[] = [];
  for (const d of PROVIDER_DELAYS) {
    const { crosslink: ours, baseline } = await gcpProvisioningSteps(d, WATCHER_EVERY_MS / 60_000);
    const goal = costGoal(d);
    console.log(
      `${String(d).padStart(7)} min   ${String(ours.internal).padStart(18)}  ${String(ours.external).padStart(8)}  ${String(ours.total).padStart(5)}  ${String(goal).padStart(4)}   ${String(baseline.internal).padStart(21)}  ${String(baseline.external).padStart(8)}  ${String(baseline.total).padStart(5)}`,
    );
    figures.push({
      figure: `Google: Workflows steps of one provisioning, provider delay ${d} min (30 s polling: ${baseline.total})`,
      measured: String(ours.total),
      goal: `<= ${goal}`,
      met: ours.total <= goal,
    });
  }
  return figures;
}
