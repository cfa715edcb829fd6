/**
 * What the adapters that supervise a run (functions/aws/dr-executor.ts, executor-steps.ts for the
 * Google workflow, controls.ts for `dr approve`) ask of it beside advancing it: the start a retried
 * claim performs again, the command of a started step, the run's next deadline, and the run as the
 * decisions alone leave it.
 */

import {
  type ActionCommand,
  advance,
  type Effect,
  lateResultsUntil,
  type Run,
  type RunStep,
  startRun,
} from './executor.ts';
import type { Decision } from './failover-state.ts';
import type { DrPlan } from './plan.ts';

/**
 * What an executor's retried step performs again when it finds its own claim (`again`): the start of
 * the action under way, if its deadline has not passed. The first attempt stored the run before its
 * effects, and may have stopped before it sent them (a Lambda timed out, an instance stopped); left
 * alone, the action would have no result and the run would stall at its deadline for nothing.
 * Starting it again is safe: the commanded side's fence (the other cloud's, or the executor's own
 * cloud's for `via: commanded`) runs an action once per epoch and answers a redelivered command with
 * its recorded result, and the ARC flip sets the same states. A hook the executor calls itself (no
 * fence on its side) is not started again: it stalls at its deadline. The same `startedAt` and
 * deadline are kept. A pause holds the next action, not the one under way, so a paused run's action
 * is started again too. Past the deadline nothing starts again: the run stalls and pages there, as it
 * would have.
 */
export function restartEffects(run: Run, time: string): Effect[] {
  if (run.status !== 'running') return [];
  const step = run.steps.find((s) => s.status === 'started');
  if (!step?.deadline || step.epoch === undefined || Date.parse(step.deadline) <= Date.parse(time)) return [];
  // A hook the executor calls itself has no fence on this side: a second call could act twice (a
  // promotion of a database the first call promoted). It is left to stall at its deadline.
  if (step.via === 'local' && 'hook' in step.action && step.action.hook) return [];
  return [
    { type: 'event', name: 'DrActionStarted', step: { ...step } },
    { type: 'start-action', command: stepCommand(run, step, step.epoch, step.deadline), via: step.via },
  ];
}

/** The command of a started step: what the commanded side or the hook is given. */
export function stepCommand(run: Run, step: RunStep, epoch: number, deadline: string): ActionCommand {
  return {
    service: run.service,
    decision: run.decision,
    epoch,
    index: step.index,
    action: step.action,
    deadline,
  };
}

/** The earliest deadline of a run (approval, the action under way, a stalled run's late-result window), or null. */
export function runDeadline(run: Run): string | null {
  if (run.status === 'awaiting-approval') return run.approval.deadline ?? null;
  if (run.status === 'stalled') return lateResultsUntil(run);
  if (run.status !== 'running') return null;
  return run.steps.find((s) => s.status === 'started')?.deadline ?? null;
}

/**
 * The executor's run as the decisions leave it at `time`: the last move the decider emitted (pending
 * or not), advanced through the decisions after it and the passing of time. Actions' results are not
 * in the decisions, so a run that started shows `running`. What `dr approve` checks an approval
 * against when it reads a recorded log.
 */
export function runFromDecisions(plan: DrPlan, decisions: readonly Decision[], time: string): Run | null {
  let run: Run | null = null;
  for (const d of decisions) {
    if (run) run = advance(run, { type: 'tick', time: d.time }).run;
    if (run?.status === 'awaiting-approval') run = advance(run, { type: 'decision', decision: d }).run;
    else if (d.decision !== 'hold') run = startRun(plan, d).run;
  }
  return run && advance(run, { type: 'tick', time }).run;
}
