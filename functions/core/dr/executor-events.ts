/**
 * The DR events' `data` (events/Dr*.v1.schema.json) from the decider's decisions and the executor's
 * effects: what the adapters publish on their bus, and what the samples are built from.
 */
import type {
  DrActionFinishedData,
  DrActionRef,
  DrActionStartedData,
  DrDecisionMadeData,
  DrMovedData,
} from '../events/catalog.ts';
import type { Effect, Run, RunStep } from './executor.ts';
import type { Decision } from './failover-state.ts';
import type { DrPlan } from './plan.ts';

export type DrEvent =
  | { name: 'DrDecisionMade'; data: DrDecisionMadeData }
  | { name: 'DrActionStarted'; data: DrActionStartedData }
  | { name: 'DrActionFinished'; data: DrActionFinishedData }
  | { name: 'DrFailedOver' | 'DrFailedBack'; data: DrMovedData };

export function decisionMade(decision: Decision): DrEvent {
  return {
    name: 'DrDecisionMade',
    data: {
      service: decision.service,
      epoch: decision.epoch,
      decision: decision.decision,
      ...(decision.approval && { approval: decision.approval }),
      ...(decision.by && { by: decision.by }),
      active: decision.active,
      trigger: decision.trigger,
      reasons: decision.reasons,
      decidedAt: decision.time,
    },
  };
}

/** What both action events say of the action: the service, the move, the epoch it ran under, which action. */
const stepFields = (run: Run, step: RunStep) => ({
  service: run.service,
  decision: run.decision,
  epoch: step.epoch ?? run.epoch,
  index: step.index,
  action: { type: step.action.type, cloud: step.action.cloud } satisfies DrActionRef,
});

/** The catalog events among a run's effects, in order (starts, pages and the rest are not events). */
export function runEvents(plan: DrPlan, run: Run, effects: readonly Effect[]): DrEvent[] {
  const out: DrEvent[] = [];
  for (const e of effects) {
    if (e.type !== 'event') continue;
    if (e.name === 'DrActionStarted')
      out.push({
        name: e.name,
        data: {
          ...stepFields(run, e.step),
          via: e.step.via,
          deadline: e.step.deadline as string,
          startedAt: e.step.startedAt as string,
        },
      });
    else if (e.name === 'DrActionFinished')
      out.push({
        name: e.name,
        data: {
          ...stepFields(run, e.step),
          outcome:
            e.step.status === 'timed-out'
              ? 'timed-out'
              : e.step.status === 'succeeded'
                ? 'succeeded'
                : 'failed',
          ...(e.step.detail && { detail: e.step.detail }),
          finishedAt: e.step.finishedAt as string,
        },
      });
    else {
      const [from, to] =
        e.name === 'DrFailedOver' ? [plan.primary, plan.standby] : [plan.standby, plan.primary];
      out.push({
        name: e.name,
        data: {
          service: run.service,
          epoch: e.run.epoch,
          from: { cloud: from.cloud, region: from.region },
          to: { cloud: to.cloud, region: to.region },
          ...(e.run.approval.by && { approvedBy: e.run.approval.by }),
          startedAt: e.run.startedAt,
          finishedAt: e.run.finishedAt as string,
          actions: e.run.steps.length,
        },
      });
    }
  }
  return out;
}
