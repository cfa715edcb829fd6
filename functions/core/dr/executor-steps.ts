/**
 * The deployed executor's steps over a store, a bus and a clock (docs/dr-executor.md "On Google: the
 * dr-failover workflow"): what the executor's workflow asks its function, one step at a time. The
 * rules are executor.ts's; this module stores the run between steps and performs its effects:
 *
 * - `claim {decision}`: opens the run of a move and claims its epoch in the store (only above the
 *   stored one, and only when the run before it has finished); a refusal is recorded and answered.
 * - `local-result {service, epoch, index, outcome, detail?}`: the result of an action the workflow
 *   ran on the executor's own cloud (a hook it called).
 * - `poll {service}`: takes the result the other cloud relayed back for the action under way, if it
 *   came, then the passing of time (an action's or an approval's deadline).
 * - `decision {decision}`: a later decision for the open run (the approved move of a pending one,
 *   or the hold that withdraws it).
 * - `control {service, control: pause | resume, by}`: an operator's pause or resume.
 *
 * The operators' recorded controls (`controls`, the side's signal log) are read at every step: a run
 * is opened paused while the plan is paused, and a run under way takes the plan's last pause or
 * resume before the step's own input (./controls.ts `pauseInputs`), so a pause recorded while an
 * action was under way holds the run before the next one, and a resume starts it at the next poll.
 *
 * Every step answers `DrExecutorNext`: the run's status, the local action to run now (with its hook
 * and timeout), or how long to wait before polling again. Each advance is saved over the version it
 * was read at, so two steps racing on one run cannot both apply; the loser's ConflictError is
 * retried by the workflow, which reads the run again. Effects: the catalog events on the bus (a
 * `DrActionStarted` with `via: relay` is the command the relay carries to the other cloud), pages in
 * the answer (the workflow fails on them, which pages).
 */
import type { Clock } from '../clock.ts';
import { buildEvent, type Origin } from '../envelope.ts';
import { type Issue, NotFoundError, ValidationError } from '../errors.ts';
import type { EventSink } from '../link/ports.ts';
import { pauseInputs, recordedPause } from './controls.ts';
import {
  type ActionResult,
  type Advance,
  advance,
  isFinished,
  type Page,
  type Run,
  type RunInput,
  startRun,
} from './executor.ts';
import { decisionMade, runEvents } from './executor-events.ts';
import type { DrExecutorStore, StoredRun } from './executor-store.ts';
import { restartEffects, runDeadline, stepCommand } from './executor-supervision.ts';
import type { Decision } from './failover-state.ts';
import type { DrPlan } from './plan.ts';
import type { ControlRecord } from './signal-log.ts';

/**
 * Where Google's executor keeps the plan's epoch and its run (./executor-store.ts, the interface
 * both clouds' stores share), and the results the other cloud relays back to it, which the
 * workflow's polls read.
 */
export interface DrRunStore extends DrExecutorStore {
  /** A result relayed back by the other cloud, kept with when it came, once per epoch and action (the first one wins). */
  putResult(result: ActionResult, receivedAt: string): Promise<void>;
  result(
    service: string,
    epoch: number,
    index: number,
  ): Promise<{ result: ActionResult; receivedAt: string } | undefined>;
}

export interface DrExecutorDeps {
  plan: DrPlan;
  runs: DrRunStore;
  bus: EventSink;
  origin: Origin;
  clock: Clock;
  /** The address of a hook function on this cloud (a Cloud Function's URL). */
  hookUrl: (name: string) => string;
  /** How often the workflow polls for a relayed result (default 10 s). */
  pollSeconds?: number;
  /** The plan's recorded operator controls, in the order they were recorded (none when absent). */
  controls?: (service: string) => Promise<ControlRecord[]>;
}

/** The local action the workflow runs now: its hook called with `command`, within `timeoutSeconds`. */
export interface LocalAction {
  index: number;
  type: string;
  hook: string;
  url: string;
  timeoutSeconds: number;
  deadline: string;
  command: Record<string, unknown>;
}

export interface DrExecutorNext {
  service: string;
  epoch: number;
  status: Run['status'];
  finished: boolean;
  local?: LocalAction;
  /** Poll again after this many seconds (waiting for a relayed result, an approval or a resume). */
  waitSeconds?: number;
  /** The claim was refused (a duplicate or stale decision, or a run still open): nothing started. */
  refused?: string;
  /** The pages this step raised; once the run has finished, every page of the run. */
  pages: Page[];
}

export type DrExecutorStep =
  | { step: 'claim'; decision: Decision; execution: string }
  | {
      step: 'local-result';
      service: string;
      epoch: number;
      index: number;
      outcome: 'succeeded' | 'failed';
      detail?: string;
    }
  | { step: 'poll'; service: string }
  | { step: 'decision'; decision: Decision }
  | { step: 'control'; service: string; control: 'pause' | 'resume'; by: string };

const STEPS = ['claim', 'local-result', 'poll', 'decision', 'control'] as const;
const DEFAULT_POLL_SECONDS = 10;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A decision as the decider emits it, checked field by field against the plan. */
function parseDecision(plan: DrPlan, raw: unknown, path: string): Decision {
  const issues: Issue[] = [];
  if (!isObject(raw)) throw new ValidationError([{ path, reason: 'must be a decision object' }], 'DR step');
  if (raw.service !== plan.service)
    issues.push({ path: `${path}.service`, reason: `must be the plan's service (${plan.service})` });
  if (!Number.isInteger(raw.epoch) || (raw.epoch as number) < 1)
    issues.push({ path: `${path}.epoch`, reason: 'must be a positive integer' });
  if (!['failover', 'failback', 'hold'].includes(raw.decision as string))
    issues.push({ path: `${path}.decision`, reason: 'must be failover, failback or hold' });
  if (typeof raw.time !== 'string' || Number.isNaN(Date.parse(raw.time)))
    issues.push({ path: `${path}.time`, reason: 'must be an ISO 8601 time' });
  if (raw.approval !== undefined && !['pending', 'approved', 'not-required'].includes(raw.approval as string))
    issues.push({ path: `${path}.approval`, reason: 'must be pending, approved or not-required' });
  if (!Array.isArray(raw.reasons)) issues.push({ path: `${path}.reasons`, reason: 'must be a list' });
  if (issues.length) throw new ValidationError(issues, 'DR step');
  return raw as unknown as Decision;
}

function parseStep(plan: DrPlan, raw: unknown): DrExecutorStep {
  if (!isObject(raw)) throw new ValidationError([{ path: '', reason: 'must be a JSON object' }], 'DR step');
  if (!STEPS.includes(raw.step as never))
    throw new ValidationError([{ path: 'step', reason: `must be one of ${STEPS.join(', ')}` }], 'DR step');
  const step = raw.step as DrExecutorStep['step'];
  if (step === 'decision') return { step, decision: parseDecision(plan, raw.decision, 'decision') };
  if (step === 'claim') {
    const issues: Issue[] = [];
    let decision: Decision | undefined;
    try {
      decision = parseDecision(plan, raw.decision, 'decision');
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      issues.push(...e.issues);
    }
    if (typeof raw.execution !== 'string' || raw.execution === '')
      issues.push({ path: 'execution', reason: 'must name the workflow execution that claims the run' });
    if (issues.length || !decision) throw new ValidationError(issues, 'DR step');
    return { step, decision, execution: raw.execution as string };
  }
  const issues: Issue[] = [];
  if (raw.service !== plan.service)
    issues.push({ path: 'service', reason: `must be the plan's service (${plan.service})` });
  if (step === 'local-result') {
    if (!Number.isInteger(raw.epoch) || (raw.epoch as number) < 1)
      issues.push({ path: 'epoch', reason: 'must be a positive integer' });
    if (!Number.isInteger(raw.index) || (raw.index as number) < 0)
      issues.push({ path: 'index', reason: 'must be an action index (0 or more)' });
    if (raw.outcome !== 'succeeded' && raw.outcome !== 'failed')
      issues.push({ path: 'outcome', reason: 'must be succeeded or failed' });
    if (raw.detail !== undefined && typeof raw.detail !== 'string')
      issues.push({ path: 'detail', reason: 'must be text' });
  }
  if (step === 'control') {
    if (raw.control !== 'pause' && raw.control !== 'resume')
      issues.push({ path: 'control', reason: 'must be pause or resume' });
    if (typeof raw.by !== 'string' || raw.by === '')
      issues.push({ path: 'by', reason: 'must name the principal' });
  }
  if (issues.length) throw new ValidationError(issues, 'DR step');
  return raw as unknown as DrExecutorStep;
}

/** One step of the executor's workflow. */
export async function drExecutorStep(deps: DrExecutorDeps, raw: unknown): Promise<DrExecutorNext> {
  const input = parseStep(deps.plan, raw);
  const now = new Date(deps.clock.now()).toISOString();
  if (input.step === 'claim') {
    const decision = input.decision;
    if (decision.decision === 'hold')
      throw new ValidationError(
        [{ path: 'decision.decision', reason: 'a hold has no actions to carry out' }],
        'DR step',
      );
    // A decision made before the plan's pause and taken after it opens the run paused.
    const controls = deps.controls ? await deps.controls(decision.service) : [];
    const started = startRun(deps.plan, decision, recordedPause(controls, decision.service));
    const claim = await deps.runs.claim(started.run, now, input.execution);
    // A retried claim finds its own run: the action under way starts again (a relayed command
    // published again, a local hook answered again), in case the first attempt stopped before it.
    if (claim.claimed && claim.again)
      return perform(deps, claim.stored, {
        run: claim.stored.run,
        effects: restartEffects(claim.stored.run, now),
      });
    if (!claim.claimed)
      return {
        service: decision.service,
        epoch: decision.epoch,
        status: started.run.status,
        finished: true,
        refused: claim.refusal.reason,
        pages: [],
      };
    await publish(deps, [decisionMade(decision)]);
    return perform(deps, claim.stored, started);
  }
  const stored = await deps.runs.current(deps.plan.service);
  if (!stored) throw new NotFoundError(`no ${deps.plan.service} run has been claimed`);
  if (input.step === 'decision') await publish(deps, [decisionMade(input.decision)]);
  const controls = deps.controls ? await deps.controls(stored.run.service) : [];
  const inputs = [
    ...pauseInputs(stored.run, controls, now),
    ...(await runInputs(deps, stored.run, input, now)),
  ];
  let a: Advance = { run: stored.run, effects: [] };
  for (const i of inputs) {
    const b = advance(a.run, i);
    a = { run: b.run, effects: [...a.effects, ...b.effects] };
  }
  if (a.effects.length === 0 && sameRun(a.run, stored.run)) return answer(deps, stored.run, []);
  return perform(deps, await deps.runs.save(a.run, stored.version), a);
}

const sameRun = (a: Run, b: Run) => JSON.stringify(a) === JSON.stringify(b);

/** The run's inputs a step brings: its own, then (for a poll) the relayed result and the time. */
async function runInputs(deps: DrExecutorDeps, run: Run, input: DrExecutorStep, now: string) {
  switch (input.step) {
    case 'local-result':
      // The time first: a result that comes after the action's deadline finds the run stalled.
      return [
        { type: 'tick', time: now },
        {
          type: 'result',
          result: {
            service: input.service,
            epoch: input.epoch,
            index: input.index,
            outcome: input.outcome,
            time: now,
            ...(input.detail && { detail: input.detail }),
          },
        },
      ] satisfies RunInput[];
    case 'decision':
      return [{ type: 'decision', decision: input.decision }] satisfies RunInput[];
    case 'control':
      return [{ type: input.control, by: input.by, time: now }] satisfies RunInput[];
    default: {
      const out: RunInput[] = [];
      const started = run.steps.find((s) => s.status === 'started' && s.via === 'relay');
      if (started?.epoch !== undefined) {
        const kept = await deps.runs.result(run.service, started.epoch, started.index);
        // Taken in the order things happened: a result that came before the action's deadline, then
        // the time; one that came after it finds the run stalled (and pages if it says succeeded).
        if (kept && started.deadline && Date.parse(kept.receivedAt) < Date.parse(started.deadline))
          return [
            { type: 'result', result: kept.result },
            { type: 'tick', time: now },
          ] satisfies RunInput[];
        out.push({ type: 'tick', time: now });
        if (kept) out.push({ type: 'result', result: kept.result });
        return out;
      }
      out.push({ type: 'tick', time: now });
      return out;
    }
  }
}

/** Publishes the effects' events and answers what the workflow does next. */
async function perform(deps: DrExecutorDeps, stored: StoredRun, a: Advance): Promise<DrExecutorNext> {
  await publish(deps, runEvents(deps.plan, stored.run, a.effects));
  const pages = a.effects.flatMap((e) => (e.type === 'page' ? [e.page] : []));
  return answer(deps, stored.run, pages);
}

function answer(deps: DrExecutorDeps, run: Run, pages: Page[]): DrExecutorNext {
  const base = {
    service: run.service,
    epoch: run.epoch,
    status: run.status,
    finished: isFinished(run),
    pages,
  };
  // A finished run answers every page it raised: the workflow fails with them as the cause.
  if (isFinished(run)) return { ...base, pages: run.pages };
  const step = run.steps.find((s) => s.status === 'started');
  if (step?.via === 'local' && step.deadline && step.epoch !== undefined) {
    const hook = 'hook' in step.action ? step.action.hook : undefined;
    if (!hook)
      throw new ValidationError(
        [
          {
            path: `actions.${run.decision}[${step.index}].hook`,
            reason: 'a local action needs a hook to call',
          },
        ],
        'DR plan',
      );
    const left = Math.max(1, Math.ceil((Date.parse(step.deadline) - deps.clock.now()) / 1000));
    return {
      ...base,
      local: {
        index: step.index,
        type: step.action.type,
        hook: hook.function,
        url: deps.hookUrl(hook.function),
        timeoutSeconds: left,
        deadline: step.deadline,
        command: { ...stepCommand(run, step, step.epoch, step.deadline) },
      },
    };
  }
  const poll = deps.pollSeconds ?? DEFAULT_POLL_SECONDS;
  const deadline = runDeadline(run);
  const untilDeadline = deadline
    ? Math.max(1, Math.ceil((Date.parse(deadline) - deps.clock.now()) / 1000))
    : poll;
  return { ...base, waitSeconds: Math.min(poll, untilDeadline) };
}

async function publish(deps: DrExecutorDeps, events: ReturnType<typeof runEvents>): Promise<void> {
  if (events.length === 0) return;
  await deps.bus.put(
    events.map((e) =>
      buildEvent({
        name: e.name,
        origin: deps.origin,
        subject: e.data.service,
        data: e.data,
        clock: deps.clock,
      }),
    ),
  );
}

/**
 * A result the other cloud relayed back (its `DrActionFinished`), kept for the executor's next poll.
 * Only a result of the plan's service with the outcome a commanded side gives is kept.
 */
export async function keepRelayedResult(
  deps: Pick<DrExecutorDeps, 'plan' | 'runs' | 'clock'>,
  data: Record<string, unknown>,
): Promise<ActionResult> {
  const issues: Issue[] = [];
  if (data.service !== deps.plan.service)
    issues.push({ path: 'data.service', reason: `must be the plan's service (${deps.plan.service})` });
  if (!Number.isInteger(data.epoch) || (data.epoch as number) < 1)
    issues.push({ path: 'data.epoch', reason: 'must be a positive integer' });
  if (!Number.isInteger(data.index) || (data.index as number) < 0)
    issues.push({ path: 'data.index', reason: 'must be an action index' });
  if (!['succeeded', 'failed', 'refused'].includes(data.outcome as string))
    issues.push({
      path: 'data.outcome',
      reason: 'must be succeeded, failed or refused (a commanded side’s)',
    });
  if (typeof data.finishedAt !== 'string' || Number.isNaN(Date.parse(data.finishedAt)))
    issues.push({ path: 'data.finishedAt', reason: 'must be an ISO 8601 time' });
  if (issues.length) throw new ValidationError(issues, 'relayed DR result');
  const result: ActionResult = {
    service: data.service as string,
    epoch: data.epoch as number,
    index: data.index as number,
    outcome: data.outcome as ActionResult['outcome'],
    time: data.finishedAt as string,
    ...(typeof data.detail === 'string' && { detail: data.detail }),
  };
  await deps.runs.putResult(result, new Date(deps.clock.now()).toISOString());
  return result;
}
