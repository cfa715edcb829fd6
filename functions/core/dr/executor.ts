/**
 * The DR executor: carries out the decider's moves (failover, failback) for one plan, fenced by the
 * decision's epoch. Pure: no clock, no SDK, no I/O; the adapters (the AWS state machine, the Google
 * workflow) store the state and perform the effects it asks for.
 *
 * - One executor per plan: the cloud that owns the plan's traffic switch (ARC -> AWS, Cloud DNS ->
 *   Google) runs the decider and the run. The other cloud acts only when commanded, with the epoch.
 * - The epoch is the fencing token. The executor claims it with a conditional write (only a higher
 *   epoch than the stored one); every action carries it and every result records it. The other side
 *   keeps the highest epoch it has admitted and refuses, and records, any command with a lower one.
 * - The actions run in the plan's order, one at a time, each with its timeout. An action that reports
 *   a failure stops the run and pages, or (plan `execution.onFailure: fail-forward`) pages and goes
 *   on, except past a failed fence or promotion (`NEVER_PASSED`). An action whose result never came
 *   (timed out, as a partition leaves it) is unknown, not failed: where AWS executes its command is
 *   sent again under the same epoch (`ACTION_RESENDS`), then the run stalls and pages, whatever the
 *   plan says, and never flips. Where AWS executes, its late result within the run's late-result
 *   window is known, and the run goes on from it (`lateResultsUntil`).
 * - A decision pending approval opens a run that waits, until the approved decision (which the
 *   operator's `dr approve <plan> <epoch>` leads the decider to emit) or the approval timeout.
 * - Pause holds the run between actions: the action under way finishes, no next one starts.
 * The argument that a partition stalls and pages and never leaves two primaries: docs/dr-executor.md.
 */
import { ValidationError } from '../errors.ts';
import { actionTimeoutMs, executorCloud, stepVia, type Via } from './executor-plan.ts';
import type { Decision } from './failover-state.ts';
import { iso } from './failover-state.ts';
import type { Action, Cloud, DrPlan } from './plan.ts';

export { actionTimeoutMs, executorCloud, isFlip, stepVia, type Via } from './executor-plan.ts';

/**
 * Failures a run never fails forward past: a fence (promoting then leaves two writers once the old
 * writer's region returns) and a promotion (the flip would send traffic to a non-writer).
 */
const NEVER_PASSED = new Set<Action['type']>(['fence-writer', 'promote-replica']);

/**
 * Where AWS executes, the times a fenced action's command (`via` relay or commanded) is sent again
 * when its deadline passes with no result, or a refusal says it came too late, before the run stalls:
 * under the same epoch and index, each with its whole timeout. The commanded side's fence runs an
 * epoch's action at most once (a copy that comes after its own deadline is refused, one while an
 * earlier copy runs waits until that copy's deadline and is refused after it with no answer, which
 * stalls the run as unknown, one after it ran gets its result), so a command that never arrived, or
 * arrived late, runs now, and one that ran is answered. Not where Google executes: its store keeps the first
 * relayed result of an action, which may be an earlier copy's refusal (docs/dr-executor.md).
 */
export const ACTION_RESENDS = 2;

// ---------------------------------------------------------------------------------------------
// The fence

/**
 * The executor's claim of an epoch: allowed only above the stored one (the adapter writes it with a
 * condition saying the same, so two invocations of the executor cannot both claim it).
 */
export function claimIssue(stored: number | null, epoch: number): string | undefined {
  if (!Number.isInteger(epoch) || epoch < 1) return `epoch ${epoch} is not a positive integer`;
  if (stored !== null && epoch <= stored)
    return `epoch ${epoch} is not above the claimed epoch ${stored}: a duplicate or stale decision`;
  return undefined;
}

/** A command to run one action, sent to the cloud that runs it (across the relay to the other one). */
export interface ActionCommand {
  service: string;
  decision: 'failover' | 'failback';
  epoch: number;
  index: number;
  action: Action;
  /** When the executor stops waiting for the result. */
  deadline: string;
}

export type ActionOutcome = 'succeeded' | 'failed';

/** What the commanded side reports back, with the epoch it acted under. */
export interface ActionResult {
  service: string;
  epoch: number;
  index: number;
  outcome: ActionOutcome | 'refused';
  time: string;
  detail?: string;
  /**
   * The deadline of the command this answers: a command sent again carries a new one, so a refusal
   * of an earlier copy (it came late) is told from the answer to the copy waited on. Absent: taken
   * as the answer to the copy waited on.
   */
  deadline?: string;
}

// ---------------------------------------------------------------------------------------------
// The run

export type RunStatus =
  | 'awaiting-approval'
  | 'running'
  | 'succeeded'
  /** An action failed and the plan stops on failure, or a promotion failed. */
  | 'failed'
  /** An action's result never came: the state of the other side is unknown. */
  | 'stalled'
  | 'approval-timed-out'
  /** The decider withdrew the pending move before it was approved. */
  | 'withdrawn';

export type StepStatus = 'pending' | 'started' | 'succeeded' | 'failed' | 'timed-out';

export interface RunStep {
  index: number;
  action: Action;
  /** Who runs it: the executor itself, the other cloud across the relay, or its own commanded side (`stepVia`). */
  via: Via;
  timeoutMs: number;
  status: StepStatus;
  /** The epoch the action was started under and its result recorded with. */
  epoch?: number;
  startedAt?: string;
  deadline?: string;
  /** Times its command was sent again, each with a new deadline (`ACTION_RESENDS`). */
  resent?: number;
  finishedAt?: string;
  detail?: string;
}

export interface Page {
  time: string;
  reason: 'action-failed' | 'action-timed-out' | 'approval-timed-out' | 'stale-result';
  message: string;
}

export interface Run {
  service: string;
  decision: 'failover' | 'failback';
  epoch: number;
  executor: Cloud;
  status: RunStatus;
  startedAt: string;
  approval: { required: boolean; deadline?: string; by?: string };
  paused: { by: string; since: string } | null;
  onFailure: DrPlan['settings']['onFailure'];
  steps: RunStep[];
  pages: Page[];
  /** Epochs the run moved through (an approval's decision raises it), and what was refused. */
  history: { time: string; note: string }[];
  finishedAt?: string;
  /**
   * A stalled run's late-result window, open until this time (ISO): set at the stall where AWS
   * executes, closed (removed) by the tick at its end or by a pause, in the stored run itself, so
   * that the run's version orders a late result against the window's close (`lateResultsUntil`).
   */
  lateUntil?: string;
}

/** What the adapter is asked to do. */
export type Effect =
  | { type: 'start-action'; command: ActionCommand; via: Via }
  | { type: 'page'; page: Page }
  | { type: 'event'; name: 'DrActionStarted'; step: RunStep }
  | { type: 'event'; name: 'DrActionFinished'; step: RunStep }
  | { type: 'event'; name: 'DrFailedOver' | 'DrFailedBack'; run: Run };

export type RunInput =
  | { type: 'decision'; decision: Decision }
  | { type: 'pause'; by: string; time: string }
  | { type: 'resume'; by: string; time: string }
  /** `receivedAt`: when the executor got it (default: the result's own time). */
  | { type: 'result'; result: ActionResult; receivedAt?: string }
  | { type: 'tick'; time: string };

export interface Advance {
  run: Run;
  effects: Effect[];
}

const FINISHED: ReadonlySet<RunStatus> = new Set([
  'succeeded',
  'failed',
  'stalled',
  'approval-timed-out',
  'withdrawn',
]);

export const isFinished = (run: Run): boolean => FINISHED.has(run.status);

const copy = (run: Run): Run => ({
  ...run,
  approval: { ...run.approval },
  steps: run.steps.map((s) => ({ ...s })),
  pages: [...run.pages],
  history: [...run.history],
});

/**
 * Opens the run of a move (a failover or failback decision) and starts its first action, or waits for
 * approval when the decision is pending. A run opened while the plan is paused (`paused`: a decision
 * made before the pause, taken after it) starts no action until it is resumed.
 */
export function startRun(plan: DrPlan, decision: Decision, paused: Run['paused'] = null): Advance {
  if (decision.decision === 'hold')
    throw new ValidationError([{ path: 'decision', reason: 'a hold has no actions to carry out' }], 'DR run');
  if (decision.service !== plan.service)
    throw new ValidationError(
      [{ path: 'service', reason: `"${decision.service}" is not the plan's service (${plan.service})` }],
      'DR run',
    );
  const executor = executorCloud(plan);
  const pending = decision.approval === 'pending';
  const run: Run = {
    service: plan.service,
    decision: decision.decision,
    epoch: decision.epoch,
    executor,
    status: pending ? 'awaiting-approval' : 'running',
    startedAt: decision.time,
    approval: pending
      ? { required: true, deadline: iso(Date.parse(decision.time) + plan.settings.approvalTimeoutMs) }
      : { required: decision.approval === 'approved', ...(decision.by && { by: decision.by }) },
    paused,
    onFailure: plan.settings.onFailure,
    // A pending move carries no actions yet: they are the plan's for that move.
    steps: (decision.actions ?? plan.actions[decision.decision]).map((action, index) => ({
      index,
      action,
      via: stepVia(executor, action),
      timeoutMs: actionTimeoutMs(plan, action),
      status: 'pending',
    })),
    pages: [],
    history: [
      { time: decision.time, note: `epoch ${decision.epoch}: ${describe(decision)}` },
      ...(paused
        ? [{ time: decision.time, note: `opened paused (by ${paused.by} since ${paused.since})` }]
        : []),
    ],
  };
  return pending ? { run, effects: [] } : next(run, decision.time);
}

const describe = (d: Decision) =>
  `${d.decision}${d.approval ? ` (approval ${d.approval}${d.by ? ` by ${d.by}` : ''})` : ''}`;

/**
 * Applies one input to a run. A finished run takes nothing more (a late result is recorded only),
 * except a stalled one within its late-result window: its late result, a pause, a resume.
 */
export function advance(previous: Run, input: RunInput): Advance {
  const run = copy(previous);
  switch (input.type) {
    case 'decision':
      return onDecision(run, input.decision);
    case 'pause':
      if (run.paused || !isWatched(run)) return { run, effects: [] };
      run.paused = { by: input.by, since: input.time };
      run.history.push({ time: input.time, note: `paused by ${input.by}` });
      // A pause of a stalled run is an operator taking the move over: its late-result window closes
      // for good, and a resume does not open it again.
      if (run.lateUntil) {
        delete run.lateUntil;
        run.history.push({ time: input.time, note: 'late-result window closed by the pause' });
      }
      return { run, effects: [] };
    case 'resume':
      if (!run.paused) return { run, effects: [] };
      run.paused = null;
      run.history.push({ time: input.time, note: `resumed by ${input.by}` });
      return run.status === 'running' ? next(run, input.time) : { run, effects: [] };
    case 'result':
      return onResult(run, input.result, input.receivedAt ?? input.result.time);
    case 'tick':
      return onTick(run, input.time);
  }
}

function onDecision(run: Run, decision: Decision): Advance {
  if (decision.service !== run.service) return { run, effects: [] };
  const sameMove = decision.decision === run.decision && decision.approval !== 'pending';
  if (run.status === 'awaiting-approval') {
    if (sameMove) {
      const issue = claimIssue(run.epoch, decision.epoch);
      if (issue) {
        run.history.push({ time: decision.time, note: `refused: ${issue}` });
        return { run, effects: [] };
      }
      run.epoch = decision.epoch;
      run.status = 'running';
      run.approval = { ...run.approval, ...(decision.by && { by: decision.by }) };
      run.history.push({ time: decision.time, note: `epoch ${decision.epoch}: ${describe(decision)}` });
      return next(run, decision.time);
    }
    if (decision.decision === 'hold') {
      run.status = 'withdrawn';
      run.finishedAt = decision.time;
      run.history.push({
        time: decision.time,
        note: `epoch ${decision.epoch}: withdrawn (${decision.reasons[0]?.code ?? 'hold'})`,
      });
    }
    return { run, effects: [] };
  }
  run.history.push({
    time: decision.time,
    note: `epoch ${decision.epoch}: ${describe(decision)} not taken: the run of epoch ${run.epoch} is ${run.status}`,
  });
  return { run, effects: [] };
}

function onResult(run: Run, result: ActionResult, receivedAt: string): Advance {
  const step = run.steps[result.index];
  if (!step || result.service !== run.service) return { run, effects: [] };
  const late = takesLate(run, step, result, receivedAt);
  if (late) {
    run.status = 'running';
    delete run.finishedAt;
    delete run.lateUntil;
    step.status = 'started';
    run.history.push({
      time: receivedAt,
      note: `result of action ${result.index} under epoch ${result.epoch} (${result.outcome}) came after its deadline ${step.deadline}, before ${late}: taken, the run goes on`,
    });
  }
  if (result.epoch !== step.epoch || step.status !== 'started') {
    // A result for another epoch, or one that came after its timeout: recorded, never acted on.
    run.history.push({
      time: receivedAt,
      note: `result of action ${result.index} under epoch ${result.epoch} (${result.outcome}) not taken: the action is ${step.status}${step.epoch !== undefined ? ` under epoch ${step.epoch}` : ''}`,
    });
    const effects: Effect[] = [];
    const stale = `${run.service}: action ${result.index} (${step.action.type} on ${step.action.cloud}) succeeded after the run stopped waiting for it`;
    // Paged once per action: each copy of a command sent again is answered with the same success.
    if (
      step.status === 'timed-out' &&
      result.outcome === 'succeeded' &&
      !run.pages.some((p) => p.reason === 'stale-result' && p.message.startsWith(stale))
    ) {
      const page: Page = {
        time: receivedAt,
        reason: 'stale-result',
        message: `${stale}; check that side before resuming by hand`,
      };
      run.pages.push(page);
      effects.push({ type: 'page', page });
    }
    return { run, effects };
  }
  if (result.outcome === 'refused') {
    const waited = Date.parse(step.deadline ?? '');
    const late = Date.parse(result.time) >= waited;
    // The copy it answers: its own word, else (a commanded side that does not say) the copy waited
    // on unless one was sent again, when only a refusal past the current deadline can be its.
    const copy = result.deadline ?? (step.resent && !late ? undefined : step.deadline);
    if (copy === undefined || Date.parse(copy) !== waited) {
      run.history.push({
        time: receivedAt,
        note: `refusal of action ${result.index}'s copy with deadline ${copy ?? 'unnamed'} recorded, not taken: the copy waited on runs until ${step.deadline}`,
      });
      return { run, effects: [] };
    }
    // Refused at or after its deadline: it came too late and did not run.
    if (late) return expire(run, step, receivedAt, `was refused (${result.detail ?? 'after its deadline'})`);
    // A copy sent again, refused in time: an earlier copy was admitted and gave no answer by its
    // deadline, so what it did is unknown: the run stalls (its late answer is still taken).
    if (step.resent)
      return expire(run, step, receivedAt, `was refused (${result.detail ?? 'in time'})`, false);
  }
  // A late result's next action is given its whole timeout from its receipt, not from its own time.
  const time = late ? receivedAt : result.time;
  step.finishedAt = time;
  step.detail = result.detail;
  if (result.outcome === 'succeeded') {
    step.status = 'succeeded';
    return withFinished(next(run, time), step);
  }
  step.status = 'failed';
  const canGoOn =
    result.outcome === 'failed' && run.onFailure === 'fail-forward' && !NEVER_PASSED.has(step.action.type);
  const page: Page = {
    time: result.time,
    reason: 'action-failed',
    message: `${run.service}: ${run.decision} epoch ${run.epoch} action ${step.index} (${step.action.type} on ${step.action.cloud}) ${result.outcome}${result.detail ? `: ${result.detail}` : ''}; ${canGoOn ? 'failing forward (plan execution.onFailure)' : 'the run stops'}`,
  };
  run.pages.push(page);
  if (canGoOn) {
    const after = next(run, time);
    return withFinished({ run: after.run, effects: [{ type: 'page', page }, ...after.effects] }, step);
  }
  run.status = 'failed';
  run.finishedAt = time;
  return withFinished({ run, effects: [{ type: 'page', page }] }, step);
}

/**
 * Whether a stalled run takes its stalled action's late result, and until when (ISO), or undefined:
 * a success or failure (a refusal says nothing ran) under the run's epoch, received while the
 * late-result window is open (`lateResultsUntil`: not closed by its end's tick nor by a pause). The
 * outcome is then known, not unknown: the commanded side runs a command only before its deadline,
 * so a late result is of an action that started in time and took longer to report (a result held up
 * in delivery, a clock that moved while it travelled). Otherwise it is recorded and pages.
 */
function takesLate(run: Run, step: RunStep, result: ActionResult, receivedAt: string): string | undefined {
  const until = lateResultsUntil(run);
  const ok =
    until !== null &&
    step.status === 'timed-out' &&
    result.epoch === step.epoch &&
    result.outcome !== 'refused' &&
    Date.parse(receivedAt) < Date.parse(until);
  return ok ? until : undefined;
}

/**
 * The end of a stalled run's open late-result window (ISO), or null. The window opens at the stall
 * for as long as the whole move was given (its actions' timeouts summed), and its supervisor watches
 * the run until the tick at its end closes it. Only where AWS executes: Google's workflow ends at the
 * stall, its failure being the page, so nothing there would take a late result (docs/dr-executor.md
 * "What is not built yet").
 */
export function lateResultsUntil(run: Run): string | null {
  return run.status === 'stalled' ? (run.lateUntil ?? null) : null;
}

/** Whether a run's supervisor still watches it: open, or stalled with its late-result window open. */
export function isWatched(run: Run): boolean {
  return !isFinished(run) || lateResultsUntil(run) !== null;
}

function withFinished(advanced: Advance, step: RunStep): Advance {
  const finished = advanced.run.steps[step.index] as RunStep;
  return {
    run: advanced.run,
    effects: [{ type: 'event', name: 'DrActionFinished', step: finished }, ...advanced.effects],
  };
}

const VIA_SAID: Record<Via, string> = {
  local: '',
  relay: ', across the relay',
  commanded: ', through its commanded side',
};

function onTick(run: Run, time: string): Advance {
  const now = Date.parse(time);
  if (
    run.status === 'awaiting-approval' &&
    run.approval.deadline &&
    now >= Date.parse(run.approval.deadline)
  ) {
    run.status = 'approval-timed-out';
    run.finishedAt = time;
    const page: Page = {
      time,
      reason: 'approval-timed-out',
      message: `${run.service}: the ${run.decision} of epoch ${run.epoch} waited for approval until ${run.approval.deadline}; nothing was done`,
    };
    run.pages.push(page);
    return { run, effects: [{ type: 'page', page }] };
  }
  if (run.status === 'stalled' && run.lateUntil && now >= Date.parse(run.lateUntil)) {
    run.history.push({ time, note: `late-result window closed at ${run.lateUntil}` });
    delete run.lateUntil;
    return { run, effects: [] };
  }
  const started = run.steps.find((s) => s.status === 'started');
  if (run.status === 'running' && started?.deadline && now >= Date.parse(started.deadline))
    return expire(run, started, time, `gave no result within ${started.timeoutMs / 1000}s`);
  return { run, effects: [] };
}

/**
 * A started action whose deadline passed with no result, or whose command was refused as late: sent
 * again with a new deadline (`ACTION_RESENDS`; not when `sendAgain` is false), or else the run stalls
 * and pages. Its outcome is
 * then unknown, so no later action starts; where AWS executes its late result within the late-result
 * window lets the run go on.
 */
function expire(run: Run, step: RunStep, time: string, why: string, sendAgain = true): Advance {
  const now = Date.parse(time);
  const resent = step.resent ?? 0;
  const fenced = step.via === 'relay' || step.via === 'commanded';
  if (
    sendAgain &&
    run.executor === 'aws' &&
    !run.paused &&
    fenced &&
    resent < ACTION_RESENDS &&
    step.epoch !== undefined
  ) {
    const before = step.deadline;
    step.resent = resent + 1;
    step.deadline = iso(now + step.timeoutMs);
    run.history.push({
      time,
      note: `action ${step.index} (${step.action.type} on ${step.action.cloud}) ${why} (deadline ${before}): sent again (${step.resent} of ${ACTION_RESENDS}) under epoch ${step.epoch} until ${step.deadline}; its fence runs it at most once`,
    });
    return {
      run,
      effects: [
        { type: 'event', name: 'DrActionStarted', step: { ...step } },
        {
          type: 'start-action',
          command: {
            service: run.service,
            decision: run.decision,
            epoch: step.epoch,
            index: step.index,
            action: step.action,
            deadline: step.deadline,
          },
          via: step.via,
        },
      ],
    };
  }
  step.status = 'timed-out';
  step.finishedAt = time;
  run.status = 'stalled';
  run.finishedAt = time;
  if (run.executor === 'aws' && !run.paused)
    run.lateUntil = iso(now + run.steps.reduce((ms, s) => ms + s.timeoutMs, 0));
  const page: Page = {
    time,
    reason: 'action-timed-out',
    message: `${run.service}: ${run.decision} epoch ${run.epoch} action ${step.index} (${step.action.type} on ${step.action.cloud}${VIA_SAID[step.via]}) ${why}${resent ? ` (sent ${resent + 1} times)` : ''}; its outcome is unknown, so the run stalls before any later action${lateSaid(run)}`,
  };
  run.pages.push(page);
  return {
    run,
    effects: [
      { type: 'event', name: 'DrActionFinished', step },
      { type: 'page', page },
    ],
  };
}

function lateSaid(run: Run): string {
  const until = lateResultsUntil(run);
  return until
    ? `; its result until ${until} lets the run go on (pause the plan to take the move over by hand)`
    : '';
}

/** Starts the next pending action, or finishes the run when none is left. Nothing while paused. */
function next(run: Run, time: string): Advance {
  if (run.status !== 'running' || run.paused) return { run, effects: [] };
  if (run.steps.some((s) => s.status === 'started')) return { run, effects: [] };
  const step = run.steps.find((s) => s.status === 'pending');
  if (!step) {
    const failed = run.steps.some((s) => s.status === 'failed');
    run.status = failed ? 'failed' : 'succeeded';
    run.finishedAt = time;
    if (failed) return { run, effects: [] };
    return {
      run,
      effects: [{ type: 'event', name: run.decision === 'failover' ? 'DrFailedOver' : 'DrFailedBack', run }],
    };
  }
  step.status = 'started';
  step.epoch = run.epoch;
  step.startedAt = time;
  step.deadline = iso(Date.parse(time) + step.timeoutMs);
  const command: ActionCommand = {
    service: run.service,
    decision: run.decision,
    epoch: run.epoch,
    index: step.index,
    action: step.action,
    deadline: step.deadline,
  };
  return {
    run,
    effects: [
      { type: 'event', name: 'DrActionStarted', step: { ...step } },
      { type: 'start-action', command, via: step.via },
    ],
  };
}
