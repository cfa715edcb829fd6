/**
 * An operator's control of a DR plan (`crosslink dr pause | resume | approve`), checked before it is
 * recorded in a signal log, offline (a file) or deployed (the AWS copy of the log): pure, no I/O.
 *
 * - `parseControlRequest`: the request's body, `{"control": "pause" | "resume" | "approve", "epoch": n}`
 *   (epoch for approve only, an integer of at least 1), each problem naming its field.
 * - `controlIssues`: whether the control can be taken against the decisions the log leads to: an
 *   approval names the epoch of the move awaiting it, before its deadline (`approvalIssues`); a pause
 *   needs the plan not paused, a resume needs it paused.
 * - `controlRecord`: the line recorded, with the principal the caller was verified as.
 * - `pauseInputs`: what a run under way takes from the plan's recorded pause and resume: the last of
 *   them says whether the plan is paused, and the run follows it between actions.
 */
import { type Issue, ValidationError } from '../errors.ts';
import { isFinished, isWatched, type Run, type RunInput } from './executor.ts';
import { runFromDecisions } from './executor-supervision.ts';
import type { DeciderState, Decision } from './failover-state.ts';
import type { DrPlan } from './plan.ts';
import type { ControlRecord } from './signal-log.ts';

export type OperatorControl = 'pause' | 'resume' | 'approve' | 'drill';

export interface ControlRequest {
  control: OperatorControl;
  /** For approve: the epoch of the move awaiting approval that the operator saw. */
  epoch?: number;
  /** For drill: its start (fail over to the standby and hold) or its end (fail back). */
  phase?: 'start' | 'end';
}

const CONTROLS: readonly string[] = ['pause', 'resume', 'approve', 'drill'];

/** The body of a control request; throws ValidationError naming each field that is wrong. */
export function parseControlRequest(body: unknown): ControlRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ValidationError(
      [{ path: '(body)', reason: 'must be a JSON object: {"control": "pause" | "resume" | "approve"}' }],
      'DR control',
    );
  const v = body as Record<string, unknown>;
  const issues: Issue[] = [];
  const control = v.control;
  if (typeof control !== 'string' || !CONTROLS.includes(control))
    issues.push({
      path: 'control',
      reason: `must be pause, resume, approve or drill, got ${JSON.stringify(control)}`,
    });
  if (control === 'approve') {
    if (!Number.isInteger(v.epoch) || (v.epoch as number) < 1)
      issues.push({
        path: 'epoch',
        reason: `must be an integer of at least 1 (the epoch awaiting approval, as dr status shows it), got ${JSON.stringify(v.epoch)}`,
      });
  } else if (v.epoch !== undefined)
    issues.push({ path: 'epoch', reason: 'is for approve only: a pause or a resume names no epoch' });
  issues.push(...phaseIssues(control, v.phase));
  for (const key of Object.keys(v))
    if (key !== 'control' && key !== 'epoch' && key !== 'phase')
      issues.push({ path: key, reason: 'is not a field of a DR control' });
  if (issues.length > 0) throw new ValidationError(issues, 'DR control');
  return {
    control: control as OperatorControl,
    ...(control === 'approve' && { epoch: v.epoch as number }),
    ...(control === 'drill' && { phase: v.phase as 'start' | 'end' }),
  };
}

function phaseIssues(control: unknown, phase: unknown): Issue[] {
  if (control === 'drill')
    return phase === 'start' || phase === 'end'
      ? []
      : [{ path: 'phase', reason: `must be start or end (the drill's), got ${JSON.stringify(phase)}` }];
  return phase === undefined ? [] : [{ path: 'phase', reason: 'is for drill only' }];
}

/** Whether the plan's own pause is on (a global pause switch, naming no service, is not the plan's). */
export const planPaused = (state: DeciderState): boolean => state.paused?.plan === true;

/**
 * Why the control cannot be taken at `time`, against the decisions the log leads to and the
 * decider's state after them; empty when it can.
 */
export function controlIssues(
  plan: DrPlan,
  decisions: readonly Decision[],
  state: DeciderState,
  request: ControlRequest,
  time: string,
): Issue[] {
  if (request.control === 'approve')
    return approvalIssues(
      runFromDecisions(plan, decisions, time),
      plan.service,
      request.epoch as number,
      time,
    );
  const paused = planPaused(state);
  if (request.control === 'drill')
    return drillIssues(request, paused, state.drill ?? null, state.active === 'standby' && !state.drill);
  if (request.control === 'pause' && paused) return [{ path: 'control', reason: 'already paused' }];
  if (request.control === 'resume' && !paused) return [{ path: 'control', reason: 'running (not paused)' }];
  return [];
}

/**
 * Why the control cannot be taken at `time` where the plan's executor is deployed: an approval against
 * the executor's run as stored (awaiting approval, its epoch, its deadline), a pause or a resume
 * against the plan's recorded controls. It reads no signal log, so it takes the same time however
 * long the log has grown. Empty when it can.
 */
export function storedControlIssues(
  run: Run | null,
  controls: readonly ControlRecord[],
  plan: DrPlan,
  request: ControlRequest,
  time: string,
): Issue[] {
  if (request.control === 'approve') return approvalIssues(run, plan.service, request.epoch as number, time);
  const paused = recordedPause(controls, plan.service) !== null;
  if (request.control === 'drill') {
    const last = controls.findLast((c) => c.service === plan.service && c.control === 'drill');
    // A failback started after the drill's start ended it (the standby failed during the hold).
    const endedEarly =
      last !== undefined && run?.decision === 'failback' && Date.parse(run.startedAt) > Date.parse(last.time);
    const drill =
      last?.side === 'standby' && !endedEarly ? { by: last.by, since: Date.parse(last.time) } : null;
    // The decider moved to the standby at a failover's decision, however its run ended (one that
    // failed or stalled is its page's to handle, not a drill's to start from); a failover withdrawn
    // or never approved moved nothing.
    const onStandby =
      run?.decision === 'failover' && run.status !== 'withdrawn' && run.status !== 'approval-timed-out';
    const underWay =
      run && !isFinished(run)
        ? [
            {
              path: 'control',
              reason: `the ${run.decision} of epoch ${run.epoch} is under way (${run.status})`,
            },
          ]
        : [];
    return [...underWay, ...drillIssues(request, paused, drill, onStandby && !drill)];
  }
  if (request.control === 'pause' && paused) return [{ path: 'control', reason: 'already paused' }];
  if (request.control === 'resume' && !paused) return [{ path: 'control', reason: 'running (not paused)' }];
  return [];
}

/**
 * Why a drill's start or end cannot be taken: a paused plan moves nothing; a drill starts from the
 * primary when no drill is under way, and ends only the drill under way.
 */
function drillIssues(
  request: ControlRequest,
  paused: boolean,
  drill: { by: string; since: number } | null,
  onStandby: boolean,
): Issue[] {
  if (paused) return [{ path: 'control', reason: 'paused: resume the plan before a drill moves it' }];
  if (request.phase === 'end')
    return drill ? [] : [{ path: 'phase', reason: 'no drill is under way to end' }];
  if (drill)
    return [
      {
        path: 'phase',
        reason: `a drill is under way (started by ${drill.by} at ${new Date(drill.since).toISOString()})`,
      },
    ];
  if (onStandby)
    return [{ path: 'phase', reason: 'the service is on the standby: a drill starts from the primary' }];
  return [];
}

/** The side a drill's control moves the service to: the standby at its start, the primary at its end. */
export const drillSide = (request: ControlRequest): 'standby' | 'primary' =>
  request.phase === 'end' ? 'primary' : 'standby';

/** The control's line in the log, replayed from the log's decisions: an approval names the move awaiting it. */
export function controlRecord(
  plan: DrPlan,
  decisions: readonly Decision[],
  request: ControlRequest,
  by: string,
  time: string,
): ControlRecord {
  const pending = decisions.findLast((d) => d.approval === 'pending');
  return recordOf(plan, request, by, time, pending?.decision as 'failover' | 'failback' | undefined);
}

/**
 * The control's line, wherever it is taken: an approval names the move it approves (`awaiting`, with
 * the epoch the operator saw), a drill the side it moves the service to.
 */
export function recordOf(
  plan: DrPlan,
  request: ControlRequest,
  by: string,
  time: string,
  awaiting: 'failover' | 'failback' | undefined,
): ControlRecord {
  return {
    time,
    control: request.control,
    service: plan.service,
    by,
    ...(request.control === 'approve' && awaiting && { decision: awaiting, epoch: request.epoch as number }),
    ...(request.control === 'drill' && { side: drillSide(request) }),
  };
}

/**
 * The pause or resume a run takes at `now` from the plan's recorded controls: the last pause or
 * resume naming the run's service says whether the plan is paused; a run that does not follow it
 * yet gets the input that makes it (none for a finished run, but for a stalled one still taking its
 * late result). The pause carries its recorded time
 * and principal; a resume carries `now`, since the next action starts then and its deadline counts
 * from it.
 */
export function pauseInputs(run: Run, controls: readonly ControlRecord[], now: string): RunInput[] {
  if (!isWatched(run)) return [];
  const last = lastPauseOrResume(controls, run.service);
  if (!last) return [];
  if (last.control === 'pause' && !run.paused) return [{ type: 'pause', by: last.by, time: last.time }];
  if (last.control === 'resume' && run.paused) return [{ type: 'resume', by: last.by, time: now }];
  return [];
}

/** The plan's pause as its recorded controls leave it (who paused it, since when), or null. */
export function recordedPause(controls: readonly ControlRecord[], service: string): Run['paused'] {
  const last = lastPauseOrResume(controls, service);
  return last?.control === 'pause' ? { by: last.by, since: last.time } : null;
}

const lastPauseOrResume = (controls: readonly ControlRecord[], service: string) =>
  controls.findLast((c) => c.service === service && (c.control === 'pause' || c.control === 'resume'));

/**
 * Whether an operator's approval of `epoch` can be taken now: the run must be awaiting approval at
 * that epoch, before its deadline. `dr approve` checks it before recording the approval.
 */
export function approvalIssues(run: Run | null, service: string, epoch: number, time: string): Issue[] {
  if (!Number.isInteger(epoch) || epoch < 1)
    return [{ path: 'epoch', reason: `${epoch} is not a positive integer` }];
  if (run?.status !== 'awaiting-approval')
    return [
      {
        path: 'epoch',
        reason: run
          ? `no ${service} move is awaiting approval (the run of epoch ${run.epoch} is ${run.status})`
          : `no ${service} move is awaiting approval`,
      },
    ];
  if (run.epoch !== epoch)
    return [
      {
        path: 'epoch',
        reason: `epoch ${epoch} is not the one awaiting approval (the ${run.decision} of epoch ${run.epoch} is)`,
      },
    ];
  if (run.approval.deadline && Date.parse(time) >= Date.parse(run.approval.deadline))
    return [
      { path: 'epoch', reason: `the approval of epoch ${epoch} timed out at ${run.approval.deadline}` },
    ];
  return [];
}
