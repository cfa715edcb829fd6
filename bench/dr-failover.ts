/**
 * One DR failover per executor, on the local cloud (test/support/dr-failover-cost.ts): an outage of
 * the primary region, the decider fed by the real probes, and its decision carried out by the
 * executor as deployed on its cloud: on AWS (the payments plan, ARC-switched) the real dr-failover
 * ASL on the local Step Functions driving drExecutor; on Google (the ledger plan, Cloud-DNS-switched)
 * the dr-failover workflow on the local Workflows interpreter over Firestore on the emulator.
 * Printed: the transitions (AWS) or steps (Google) of the execution, and the virtual time from the
 * decision to the flip and to the clients served by the standby, beside the plan's RTO; the wall
 * time the executor took. The transitions and steps have no goal: docs/performance.md says why.
 */
import type { Figure } from '../scripts/bench-figures.ts';
import { awsFailoverCost, type FailoverCost, googleFailoverCost } from '../test/support/dr-failover-cost.ts';

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const min = (ms: number) => `${Math.round(ms / 60_000)} min`;

function report(label: string, unit: string, c: FailoverCost, figures: Figure[]): void {
  console.log(
    `${label} (${c.plan}): ${c.count} ${unit}${c.polls === undefined ? '' : ` (${c.polls} polls)`}, execution ${c.status}; decision -> flip ${s(c.decisionToFlipMs)}, decision -> clients served by the standby ${s(c.decisionToServedMs)} (virtual; plan RTO ${min(c.rtoMs)}); executor wall time ${c.wallToFlipMs.toFixed(0)} ms`,
  );
  figures.push(
    { figure: `${label}: ${unit} of one failover (${c.plan})`, measured: String(c.count), goal: 'none set' },
    {
      figure: `${label}: decision -> flip (virtual)`,
      measured: s(c.decisionToFlipMs),
      goal: `<= RTO ${min(c.rtoMs)}`,
      met: c.decisionToFlipMs <= c.rtoMs,
    },
    {
      figure: `${label}: decision -> clients served by the standby (virtual)`,
      measured: s(c.decisionToServedMs),
      goal: `<= RTO ${min(c.rtoMs)}`,
      met: c.decisionToServedMs <= c.rtoMs,
    },
    {
      figure: `${label}: executor wall time, decision -> flip`,
      measured: `${c.wallToFlipMs.toFixed(0)} ms`,
      goal: 'none set',
    },
  );
}

export async function run(): Promise<Figure[]> {
  const figures: Figure[] = [];
  report('AWS executor, Step Functions', 'state transitions', await awsFailoverCost(), figures);
  report('Google executor, Workflows', 'steps', await googleFailoverCost(), figures);
  return figures;
}
