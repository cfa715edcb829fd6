/**
 * The AWS half: Step Functions state transitions of one provisioning (initiate, both approvals in)
 * at provider delays of 5, 30 and 120 simulated minutes, with the watcher every 5 minutes (its schedule), each beside
 * its goal (at most 40, plus 3 per hour of delay) and beside a baseline that polls every 30 s as the
 * official waiter does (Wait -> Get -> Choice: 3 transitions per poll, computed). How it is
 * measured: test/support/orchestration-cost.ts; test/workflows/orchestration-cost.test.ts fails over
 * the goal. The Lambda packages' sizes and init times: bench/lambda-packages.ts.
 */

import { WATCHER_EVERY_MS } from '#core/link/watch.ts';
import type { Figure } from '../scripts/bench-figures.ts';
import { awsProvisioningTransitions, costGoal, PROVIDER_DELAYS } from '../test/support/orchestration-cost.ts';

export async function run(): Promise<Figure[]> {
  console.log('state transitions of one provisioning (initiate, approvals in, watcher every 5 minutes)');
  console.log('provider delay   crosslink   goal   30 s polling baseline (3 per poll)');
  const figures: Figure[] = [];
  for (const d of PROVIDER_DELAYS) {
    const ours = await awsProvisioningTransitions(d, WATCHER_EVERY_MS / 60_000);
    const goal = costGoal(d);
    const baseline = d * 2 * 3;
    console.log(
      `${String(d).padStart(7)} min   ${String(ours).padStart(9)}   ${String(goal).padStart(4)}   ${String(baseline).padStart(10)}`,
    );
    figures.push({
      figure: `AWS: state transitions of one provisioning, provider delay ${d} min (30 s polling: ${baseline})`,
      measured: String(ours),
      goal: `<= ${goal}`,
      met: ours <= goal,
    });
  }
  return figures;
}
