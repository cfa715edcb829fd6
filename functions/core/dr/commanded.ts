/**
 * The commanded side of a DR plan (docs/dr-executor.md, "The commanded side on Google", "The
 * commanded side on AWS"): the cloud that does not own the plan's traffic switch runs its own actions
 * (promote, scale) only when the executor commands them. The executor's `DrActionStarted` for an
 * action on this side (`via: relay`), carried by the relay, is the command; so is AWS's own
 * executor's for an action with a hook on AWS (`via: commanded`: each hook in an invocation of its
 * own, behind the same fence). It is admitted through a
 * fence kept by this side's store, the plan's hook for the action runs, and the result goes back as
 * `DrActionFinished`, which the relay carries to the executor. Both clouds' commanded sides are this
 * code over their own fence (Firestore, DynamoDB) and hook runner (a Cloud Function over HTTPS, a
 * Lambda function invoked).
 *
 * - The action is the deployed plan's own (`actions.<decision>[index]`), never one the event
 *   describes: an event naming another type than the plan's at that place is refused.
 * - A lower epoch, or a command past its deadline, is refused and recorded, and the refusal is sent
 *   back (`refused`). A redelivery of a command that ran gets the recorded result again and runs
 *   nothing; one that arrives while its hook is running is retried later (`UnavailableError`).
 *
 * The fence as stored (`StoredFence`): the core's `FenceState` and the commands running (admitted,
 * their hook not answered yet, by `<epoch>#<index>` with their deadline). `admitStored` and
 * `recordStored` are what each store applies in one conditional write or transaction.
 */
import type { Clock } from '../clock.ts';
import { buildEvent, type CloudEvent, type Origin, parseEventType } from '../envelope.ts';
import { UnavailableError, ValidationError } from '../errors.ts';
import type { DrActionFinishedData, DrActionStartedData } from '../events/catalog.ts';
import type { EventSink } from '../link/ports.ts';
import { type ActionCommand, type ActionResult, actionTimeoutMs, executorCloud } from './executor.ts';
import {
  type Admission,
  admit,
  FENCE_REFUSALS_KEPT,
  type FenceState,
  initialFence,
  recordResult,
} from './fence.ts';
import type { Action, DrPlan } from './plan.ts';

export type FenceAdmission = Admission | { verdict: 'in-progress'; state: FenceState };

/** The fence and the commands admitted whose hook has not answered (`<epoch>#<index>` -> deadline). */
export interface StoredFence {
  fence: FenceState;
  running: Record<string, string>;
}

export const freshFence = (service: string): StoredFence => ({ fence: initialFence(service), running: {} });

const keyOf = (c: { epoch: number; index: number }) => `${c.epoch}#${c.index}`;

/**
 * Admits (or refuses) `command` at `time` against the stored fence; `next` is what to write (none
 * when nothing changes). A command admitted and running is `in-progress` until its deadline; past it
 * with no result (its hook never answered: the function died in it) it is refused and recorded, since
 * the executor stopped waiting for it there and stalled.
 */
export function admitStored(
  stored: StoredFence,
  command: ActionCommand,
  time: string,
): { admission: FenceAdmission; next?: StoredFence } {
  const { fence } = stored;
  const running = { ...stored.running };
  const key = keyOf(command);
  const deadline = running[key];
  if (deadline !== undefined && !fence.results[key]) {
    if (Date.parse(time) < Date.parse(deadline))
      return { admission: { verdict: 'in-progress', state: fence } };
    const detail = `admitted, but its hook gave no result before its deadline ${deadline}: not run again`;
    const result: ActionResult = {
      service: command.service,
      epoch: command.epoch,
      index: command.index,
      outcome: 'refused',
      time,
      detail,
    };
    const refused = [
      ...fence.refused,
      { epoch: command.epoch, index: command.index, time, reason: detail },
    ].slice(-FENCE_REFUSALS_KEPT);
    const state = recordResult({ ...fence, refused }, result);
    delete running[key];
    return { admission: { verdict: 'refused', state, result }, next: { fence: state, running } };
  }
  const admission = admit(fence, command, time);
  if (admission.verdict === 'duplicate') return { admission };
  if (admission.verdict === 'run') running[key] = command.deadline;
  return { admission, next: { fence: admission.state, running } };
}

/**
 * The stored fence with an admitted command's result recorded (no longer running). A `refused`
 * result is of a command whose hook was never called (`HookNotCalled`: its deadline passed between
 * the admission and the call): it is kept among the refusals, not as the action's result, so the
 * action is free again and a copy the executor sends again with a new deadline runs. Nothing ran, so
 * running that copy is the action's first run.
 */
export function recordStored(stored: StoredFence, result: ActionResult): StoredFence {
  const running = { ...stored.running };
  delete running[keyOf(result)];
  if (result.outcome === 'refused') {
    const refused = [
      ...stored.fence.refused,
      { epoch: result.epoch, index: result.index, time: result.time, reason: result.detail ?? 'not run' },
    ].slice(-FENCE_REFUSALS_KEPT);
    return { fence: { ...stored.fence, refused }, running };
  }
  return { fence: recordResult(stored.fence, result), running };
}

/** A commanded side's fence in its store: each admission and record one atomic write. */
export interface CommandedFence {
  read(service: string): Promise<FenceState>;
  admit(command: ActionCommand, time: string): Promise<FenceAdmission>;
  record(result: ActionResult): Promise<FenceState>;
}

/** Runs the plan's hook of an action on this side; throws when the hook reports a failure. */
export type HookRunner = (action: Action, command: ActionCommand) => Promise<{ detail?: string }>;

export interface CommandedDeps {
  plan: DrPlan | undefined;
  fence: CommandedFence;
  bus: EventSink;
  /** This side: its cloud is the commanded one, the executor the other. */
  origin: Origin;
  clock: Clock;
  runHook: HookRunner;
}

export type CommandOutcome =
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'ran' | 'duplicate' | 'refused'; result: ActionResult };

const CLOUD_NAMES = { aws: 'AWS', gcp: 'Google' } as const;
const iso = (ms: number) => new Date(ms).toISOString();

/** One delivered event: a command for this side runs through the fence; every other event is ignored. */
export async function onCommand(deps: CommandedDeps, event: CloudEvent): Promise<CommandOutcome> {
  const side = deps.origin.cloud;
  const other = side === 'aws' ? 'gcp' : 'aws';
  if (parseEventType(event.type)?.name !== 'DrActionStarted')
    return { outcome: 'ignored', reason: "not an executor's DrActionStarted" };
  const data = event.data as DrActionStartedData;
  // The other cloud's executor commands across the relay; this cloud's own executor commands its
  // actions with a hook here (`via: commanded`), each then run in an invocation of its own.
  const via =
    event.crosslinkorigin === other ? 'relay' : event.crosslinkorigin === side ? 'commanded' : undefined;
  if (!via)
    return {
      outcome: 'ignored',
      reason: `not the ${CLOUD_NAMES[other]} or ${CLOUD_NAMES[side]} executor's DrActionStarted`,
    };
  if (data.via !== via || data.action?.cloud !== side)
    return { outcome: 'ignored', reason: 'an action the executor runs itself' };
  const plan = deps.plan;
  if (!plan) return { outcome: 'ignored', reason: 'no DR plan deployed (CROSSLINK_DR_PLAN)' };
  if (data.service !== plan.service)
    return {
      outcome: 'ignored',
      reason: `"${data.service}" is not the deployed plan's service (${plan.service})`,
    };
  if (executorCloud(plan) !== (via === 'relay' ? other : side))
    return {
      outcome: 'ignored',
      reason: `a ${via === 'relay' ? 'relayed' : 'commanded'} command, but ${CLOUD_NAMES[executorCloud(plan)]} executes the deployed plan`,
    };
  const action = plan.actions[data.decision]?.[data.index];
  if (!action || action.type !== data.action.type || action.cloud !== side)
    throw new ValidationError(
      [
        {
          path: 'data.action',
          reason: `${data.action.type} on ${data.action.cloud} is not the plan's action ${data.index} of its ${data.decision} (${action ? `${action.type} on ${action.cloud}` : 'none'})`,
        },
      ],
      'DrActionStarted',
    );
  const command: ActionCommand = {
    service: data.service,
    decision: data.decision,
    epoch: data.epoch,
    index: data.index,
    action,
    deadline: data.deadline,
  };
  const admission = await deps.fence.admit(command, iso(deps.clock.now()));
  if (admission.verdict === 'in-progress')
    throw new UnavailableError(
      `${command.service} epoch ${command.epoch} action ${command.index} is running: its result is sent when it ends`,
    );
  if (admission.verdict !== 'run') {
    await reply(deps, data, admission.result);
    return { outcome: admission.verdict, result: admission.result };
  }
  let result: ActionResult;
  try {
    const ran = await deps.runHook(action, command);
    result = {
      ...base(command),
      outcome: 'succeeded',
      time: iso(deps.clock.now()),
      ...(ran.detail && { detail: ran.detail }),
    };
  } catch (e) {
    result = {
      ...base(command),
      // A hook never called ran nothing: a refusal (the executor sends the command again), not a failure.
      outcome: e instanceof HookNotCalled ? 'refused' : 'failed',
      time: iso(deps.clock.now()),
      detail: `${(e as Error).name}: ${(e as Error).message}`,
    };
  }
  await deps.fence.record(result);
  await reply(deps, data, result);
  return { outcome: result.outcome === 'refused' ? 'refused' : 'ran', result };
}

const base = (c: ActionCommand) => ({ service: c.service, epoch: c.epoch, index: c.index });

/**
 * The result as DrActionFinished (`reportedBy: commanded`) on this side's bus or topic, which the
 * relay carries to the other cloud's executor, or this cloud's executor takes from its own bus.
 */
async function reply(deps: CommandedDeps, started: DrActionStartedData, result: ActionResult): Promise<void> {
  const data: DrActionFinishedData = {
    service: result.service,
    decision: started.decision,
    epoch: result.epoch,
    index: result.index,
    action: started.action,
    outcome: result.outcome,
    ...(result.detail && { detail: result.detail }),
    reportedBy: 'commanded',
    finishedAt: result.time,
    // Which copy of the command this answers: the executor sends one again with a new deadline.
    deadline: started.deadline,
  };
  await deps.bus.put([
    buildEvent({
      name: 'DrActionFinished',
      origin: deps.origin,
      subject: result.service,
      data,
      clock: deps.clock,
    }),
  ]);
}

// ---------------------------------------------------------------------------------------------
// What both clouds' hook runners share

/** A hook that failed, could not be called, or gave no answer in time (`HookTimedOut`). */
export class HookFailed extends Error {
  constructor(message: string, name = 'HookFailed') {
    super(message);
    this.name = name;
  }
}

/** A hook not called at all: the command's deadline passed between its admission and the call. */
export class HookNotCalled extends HookFailed {
  constructor(message: string) {
    super(message, 'HookNotCalled');
  }
}

/** The action's hook (promote and scale have one; a flip on the executor's side may not). */
export function hookOf(action: Action, side: string): { function: string } {
  if (!('hook' in action) || !action.hook)
    throw new HookFailed(`${action.type} has no hook to run on ${side}`);
  return action.hook;
}

/**
 * The commanded function's own time limit on both clouds (serverless.yml drCommanded `timeout`,
 * gcp.yml dr-commanded `timeoutSeconds`: 900 s, the longest an action's hook may be), less 30 s to
 * record and send the answer: a hook slower than that is answered `HookTimedOut` rather than the
 * platform ending the invocation with no answer sent (test/unit/dr/hook-max-wait.test.ts checks
 * both deployment files against it).
 */
export const COMMANDED_TIMEOUT_S = 900;
export const HOOK_MAX_WAIT_MS = (COMMANDED_TIMEOUT_S - 30) * 1000;

/**
 * How long a hook may take: the time left before the command's deadline, at most the action's
 * timeout. None left and the hook is not called (`HookNotCalled`): the executor stops waiting at the
 * deadline, so a later answer could only page there; answered `refused`, it sends the command again.
 */
export function hookTimeLeftMs(plan: DrPlan, action: Action, command: ActionCommand, now: number): number {
  const left = Math.min(actionTimeoutMs(plan, action), Date.parse(command.deadline) - now);
  if (left <= 0)
    throw new HookNotCalled(
      `${hookOf(action, 'this side').function} not called: the command's deadline ${command.deadline} has passed`,
    );
  return left;
}

/**
 * A hook's answer: its body's `detail`, when a string, is the result's detail; a body saying
 * `{"outcome": "failed"}` is a failure.
 */
export function hookAnswer(name: string, text: string): { detail?: string } {
  let body: { outcome?: unknown; detail?: unknown } | undefined;
  try {
    const v = JSON.parse(text) as unknown;
    body = v && typeof v === 'object' ? (v as typeof body) : undefined;
  } catch {
    body = undefined;
  }
  const detail = typeof body?.detail === 'string' ? body.detail : undefined;
  if (body?.outcome === 'failed')
    throw new HookFailed(`${name} reported a failure${detail ? `: ${detail}` : ''}`);
  return detail ? { detail } : {};
}

/** No answer within `ms`: the hook timed out (an abort of the call). */
export const isTimeout = (e: unknown): boolean =>
  (e as Error)?.name === 'TimeoutError' || (e as Error)?.name === 'AbortError';

export const hookTimedOut = (name: string, ms: number) =>
  new HookFailed(`${name} gave no answer within ${ms / 1000}s`, 'HookTimedOut');
