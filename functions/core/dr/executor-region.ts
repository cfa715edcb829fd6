/**
 * Where a plan's executor may run (docs/dr-executor.md, "The region the executor runs in"). The
 * executor must survive what it moves traffic away from. A plan's primary and standby are on
 * different clouds, so exactly one of them is on the executor's cloud, and its region is refused:
 *
 * - the primary's, when the executor is on the primary's cloud (the payments plan: ARC on AWS, the
 *   primary in AWS us-east-1): a failover leaves that region, and an executor there would fail with
 *   the outage it is there to escape;
 * - the standby's, when the executor is on the standby's cloud (a plan with its primary on Google
 *   switched by ARC, or on AWS switched by Cloud DNS): after a failover that region serves
 *   everything, a failback leaves it, and an executor there would fail with it.
 */
import { executorCloud } from './executor.ts';
import type { Cloud, DrPlan, Side } from './plan.ts';

/** The region the plan's executor must not run in, on its cloud, and which side serves from it. */
export interface RefusedRegion {
  cloud: Cloud;
  region: string;
  side: Side;
}

export function refusedExecutorRegion(plan: DrPlan): RefusedRegion {
  const cloud = executorCloud(plan);
  const side: Side = plan.primary.cloud === cloud ? 'primary' : 'standby';
  return { cloud, region: plan[side].region, side };
}

/**
 * Why the plan's executor must not run in `region` of `cloud`, or undefined when it may (a cloud
 * that does not execute the plan runs no executor, so any region of it is fine).
 */
export function executorRegionIssue(plan: DrPlan, cloud: Cloud, region: string): string | undefined {
  const refused = refusedExecutorRegion(plan);
  if (refused.cloud !== cloud || refused.region !== region) return undefined;
  const move =
    refused.side === 'primary'
      ? 'a failover moves traffic away from it'
      : 'it serves after a failover and a failback moves traffic away from it';
  return `${plan.service}'s executor runs on ${cloud} (it owns the plan's traffic switch) and must not run in ${region}, the ${refused.side}'s region: ${move}, and an executor there would fail with the outage it is there to escape; deploy it in another region`;
}
