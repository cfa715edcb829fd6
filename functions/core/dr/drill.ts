/**
 * A DR drill (game day) of a plan, as `crosslink dr drill <plan>` prints it before it runs: the
 * executor, the failover's actions in order, a hold on the standby, the failback's actions in order,
 * and the RTO budget the drill is measured against. Pure: the plan in, the schedule out.
 *
 * The budget is the worst case the plan allows, beside its RTO objective: detection (the probe's
 * failures in a row, one probe a minute as the deployed probes run), the decider's hysteresis, every
 * failover action taking its whole timeout, and the DNS record's TTL, which the plan does not hold
 * (the client's cached answer outlives the flip by up to one TTL; the drill's report measures it).
 */
import { parseDuration } from '../clock.ts';
import { actionTimeoutMs, executorCloud, stepVia, type Via } from './executor.ts';
import type { Action, Cloud, DrPlan } from './plan.ts';

/** How often the deployed probes run (serverless.yml rate(1 minute), gcp.yml `* * * * *`). */
export const PROBE_SCHEDULE_MS = 60_000;
/** Detection: a probe signal fails this many times in a row before a vantage point reports it (the acceptance's 3 probe intervals). */
export const DETECTION_PROBES = 3;

export interface DrillAction {
  index: number;
  action: Action;
  via: Via;
  timeoutMs: number;
}

export interface DrillMove {
  move: 'failover' | 'failback';
  to: { cloud: Cloud; region: string };
  approval: 'none' | 'required';
  actions: DrillAction[];
}

export interface Drill {
  service: string;
  executor: Cloud;
  failover: DrillMove;
  holdMs: number;
  failback: DrillMove;
  budget: {
    detectionMs: number;
    hysteresisMs: number;
    /** Every failover action taking its whole timeout. */
    actionsMs: number;
    /** detection + hysteresis + actions; the TTL comes on top. */
    totalMs: number;
    rtoMs: number;
  };
}

export function drill(plan: DrPlan, o: { holdMs: number }): Drill {
  const executor = executorCloud(plan);
  const move = (m: 'failover' | 'failback'): DrillMove => ({
    move: m,
    to: m === 'failover' ? plan.standby : plan.primary,
    approval: m === 'failover' ? plan.settings.failoverApproval : plan.settings.failbackApproval,
    actions: plan.actions[m].map((action, index) => ({
      index,
      action,
      via: stepVia(executor, action),
      timeoutMs: actionTimeoutMs(plan, action),
    })),
  });
  const failover = move('failover');
  const detectionMs = DETECTION_PROBES * PROBE_SCHEDULE_MS;
  const actionsMs = failover.actions.reduce((sum, a) => sum + a.timeoutMs, 0);
  return {
    service: plan.service,
    executor,
    failover,
    holdMs: o.holdMs,
    failback: move('failback'),
    budget: {
      detectionMs,
      hysteresisMs: plan.settings.hysteresisMs,
      actionsMs,
      totalMs: detectionMs + plan.settings.hysteresisMs + actionsMs,
      rtoMs: parseDuration(plan.objectives.rto),
    },
  };
}
