/**
 * A VPN run over 1,000 VPNs on each coordinator: the AWS state machine (workflows/aws/vpn-run.asl.json)
 * on the local Step Functions interpreter and the Google workflow (workflows/gcp/vpn-run.workflows.yaml)
 * on the local Workflows interpreter, each task answered by the real core steps with the runs' store
 * and the buses in memory and the other side's inventory through the exchange in pages (a synthetic
 * estate of paired VPNs, test/support/vpn-run-engines.ts): no cloud, so the counts are the
 * orchestration's own. Goals: at most 10% of each execution limit (Step Functions: 25,000 history
 * events; Workflows: 100,000 steps, and the 512 KB of variables, which the Google run must fit a
 * tenth of: it runs under a 51 KB cap and fails if it outgrows it).
 */
import type { Figure } from '../scripts/bench-figures.ts';
import { LIMITS, measureVpnRun } from '../test/support/vpn-run-engines.ts';

const VPNS = 1_000;

export async function run(): Promise<Figure[]> {
  console.log('engines: local Step Functions and Workflows interpreters, ports in memory (no cloud)');
  const aws = await measureVpnRun(VPNS, 'aws');
  const gcp = await measureVpnRun(VPNS, 'gcp', { memoryFraction: 0.1 });
  const perVpn = (n: number | undefined) => ((n ?? 0) / VPNS).toFixed(3);
  console.log(
    `aws: ${aws.state}, ${aws.pages} pages, ${aws.historyEvents} history events (${perVpn(aws.historyEvents)}/VPN), ${aws.transitions} transitions (${perVpn(aws.transitions)}/VPN), ${aws.ms.toFixed(0)} ms`,
  );
  console.log(
    `gcp: ${gcp.state}, ${gcp.pages} pages, ${gcp.steps} steps (${perVpn(gcp.steps)}/VPN) under a ${gcp.memoryLimitBytes} B memory cap, ${gcp.ms.toFixed(0)} ms`,
  );
  const awsGoal = LIMITS.awsHistoryEvents / 10;
  const gcpGoal = LIMITS.gcpSteps / 10;
  return [
    {
      figure: `AWS run over ${VPNS} VPNs: history events (local engine)`,
      measured: `${aws.historyEvents} (${perVpn(aws.historyEvents)}/VPN), ${aws.state}`,
      goal: `<= ${awsGoal} (10% of ${LIMITS.awsHistoryEvents})`,
      met: aws.state === 'SUCCEEDED' && (aws.historyEvents ?? Infinity) <= awsGoal,
    },
    {
      figure: `AWS run over ${VPNS} VPNs: state transitions`,
      measured: `${aws.transitions} (${perVpn(aws.transitions)}/VPN)`,
      goal: `<= ${awsGoal} (within the history goal)`,
      met: (aws.transitions ?? Infinity) <= awsGoal,
    },
    {
      figure: `Google run over ${VPNS} VPNs: Workflows steps (local engine)`,
      measured: `${gcp.steps} (${perVpn(gcp.steps)}/VPN), ${gcp.state}`,
      goal: `<= ${gcpGoal} (10% of ${LIMITS.gcpSteps})`,
      met: gcp.state === 'SUCCEEDED' && (gcp.steps ?? Infinity) <= gcpGoal,
    },
    {
      figure: `Google run over ${VPNS} VPNs: variables' memory`,
      measured: `fits ${gcp.memoryLimitBytes} B: ${gcp.state}`,
      goal: `<= ${LIMITS.gcpMemoryBytes / 10} B (10% of 512 KB)`,
      met: gcp.state === 'SUCCEEDED',
    },
  ];
}
