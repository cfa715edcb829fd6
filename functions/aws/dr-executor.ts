/**
 * The DR executor on AWS (docs/dr-executor.md, "The deployed executor on AWS"): the adapter around
 * the core run (functions/core/dr/executor.ts) that the `crosslink-dr-failover-<stage>` state machine
 * and the bus drive through Lambda `drExecutor`. Three inputs:
 *
 * - `decision`: the decider's move (the state machine's input) and the execution that gives it. With
 *   no open run it claims the decision's epoch for that execution (functions/aws/dr-executor-store.ts)
 *   and starts the run, and the same execution's retry finds its run again; with a run awaiting
 *   approval it is the approved (or withdrawn) move, applied to that run. A refused claim is recorded.
 * - `tick`: the passing of time (the state machine's wait loop): an action past its deadline stalls
 *   the run and pages; an approval past its deadline pages. A stalled run is watched on through its
 *   late-result window: a late result (`result`) within it lets the run go on.
 * - `result`: a commanded side's `DrActionFinished` (`reportedBy: commanded`) from the bus: Google's
 *   for a relayed action (relayed to the bus), AWS's own `drCommanded`'s for an action with a hook
 *   on AWS (`via: commanded`).
 *
 * Each input advances the run and the run is stored over the version it was read at (a lost race reads
 * it again) before any effect is performed: the catalog events go on the bus (a relayed action's
 * `DrActionStarted` is Google's command, carried by the relay; a `via: commanded` action's is
 * `drCommanded`'s, which runs its hook in an invocation of its own behind AWS's fence), pages are
 * counted for the pages alarm, and a local action, the ARC flip (functions/aws/arc-switch.ts), runs
 * here and now, its outcome the next input. No hook runs in this function: consecutive hooks would
 * share its 900 s. A crash between the store and the effects leaves an action without a start: the
 * state machine's retry of the claim finds its own claim and starts the action under way again
 * (`restartEffects`), which is safe to repeat (a commanded action, which the commanded side's fence
 * runs once; the ARC flip, which sets the same states).
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Clock } from '#core/clock.ts';
import { systemClock } from '#core/clock.ts';
import { pauseInputs, recordedPause } from '#core/dr/controls.ts';
import {
  type ActionCommand,
  type ActionResult,
  type Advance,
  advance,
  type Effect,
  isFinished,
  isWatched,
  type Page,
  type Run,
  startRun,
} from '#core/dr/executor.ts';
import { type DrEvent, runEvents } from '#core/dr/executor-events.ts';
import { executorRegionIssue } from '#core/dr/executor-region.ts';
import type { DrExecutorStore, StoredRun } from '#core/dr/executor-store.ts';
import { restartEffects, runDeadline } from '#core/dr/executor-supervision.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import type { ControlRecord } from '#core/dr/signal-log.ts';
import { buildEvent, type Origin } from '#core/envelope.ts';
import { ValidationError } from '#core/errors.ts';
import type { DrActionFinishedData } from '#core/events/catalog.ts';
import { DrActionFinished as DrActionFinishedCheck } from '#core/events/checks.ts';
import type { EventSink } from '#core/link/ports.ts';
import { jsonSetting, need } from '#core/link/settings.ts';
import { assertValid } from '#core/validation.ts';
import { type ArcAction, type ArcFlip, type ClusterEndpoint, flipRoutingControls } from './arc-switch.ts';
import { DynamoDbDrExecutorStore, RunVersionConflict } from './dr-executor-store.ts';
import { type EventBridgeEvent, fromEventBridgeEvent } from './envelope.ts';
import { EventBridgeSink } from './event-sink.ts';
import { DynamoDbSignalLog } from './signal-log.ts';

export interface DrExecutorDeps {
  plan: DrPlan;
  runs: DrExecutorStore;
  bus: EventSink;
  origin: Origin;
  clock: Clock;
  /** The ARC flip through the cluster's regional endpoints, under the executor's role. */
  flip: (action: ArcAction) => Promise<ArcFlip>;
  /** Counts a page for the pages alarm and logs it. */
  page: (page: ExecutorPage) => void;
  /** How often the state machine looks at a run between its deadlines (ms). */
  pollMs?: number;
  /**
   * The plan's operator controls as recorded in this side's signal log (signal-log.ts `DRCTL#`):
   * each input first brings the run to the last pause or resume among them.
   */
  controls?: (service: string) => Promise<ControlRecord[]>;
}

/**
 * A page of the deployed executor: the run's own, or its refusal to act where it is deployed (the
 * region the plan's executor must not run in: functions/core/dr/executor-region.ts).
 */
export type ExecutorPage = Page | { time: string; reason: 'executor-misplaced'; message: string };

/**
 * The executor deployed in the region it must not run in: it refuses every input. Not retried by the
 * state machine, so the execution fails (its failed-executions alarm) and the page is counted.
 */
export class DrExecutorMisplaced extends Error {
  override name = 'DrExecutorMisplaced';
}

export type DrExecutorInput =
  | {
      drExecutor: 'decision';
      decision: Decision;
      /** The state machine execution that gives it (`$$.Execution.Id`): the claim's owner. */
      execution: string;
    }
  /**
   * `opened`: when the run the execution watches was opened (its `startedAt`, which an approval's
   * new epoch keeps); a tick for a run since replaced by the next claim ends that execution.
   */
  | { drExecutor: 'tick'; service: string; opened?: string }
  | { drExecutor: 'result'; result: ActionResult };

/** What the state machine reads: whether the run is over, and when to look again. */
export interface DrExecutorState {
  service: string;
  epoch: number;
  /** When the run was opened (its `startedAt`): the ticks name the run they watch by it. */
  opened?: string;
  status: Run['status'] | 'not-taken';
  /** Whether the execution stops watching: the run ended (a stalled one, once its late-result window has passed). */
  finished: boolean;
  /** When the state machine looks at the run again (ISO): its next deadline, or sooner. */
  waitUntil?: string;
  /** Whether the state machine's execution that gave this input watches the run's deadlines: the
   * one whose decision opened the run does; one whose decision went to a run already open does not. */
  supervise: boolean;
  /** Why a decision was not taken (a duplicate, stale, or one while a run is open). */
  refused?: string;
}

const DEFAULT_POLL_MS = 10_000;
/** Advances retried after a lost race before giving up (the state machine's retry takes over). */
const RACE_RETRIES = 5;

const iso = (ms: number) => new Date(ms).toISOString();

/** Refuses an input that is not one of the three, naming the field. */
export function parseExecutorInput(raw: unknown): DrExecutorInput {
  const v = raw as Record<string, unknown> | null;
  const kind = v?.drExecutor;
  const fail = (path: string, reason: string): never => {
    throw new ValidationError([{ path, reason }], 'DR executor input');
  };
  if (kind === 'decision') {
    const d = v?.decision as Decision | undefined;
    if (!d || typeof d !== 'object') return fail('decision', "is required: the decider's move");
    if (d.decision !== 'failover' && d.decision !== 'failback' && d.decision !== 'hold')
      fail('decision.decision', 'must be failover, failback or hold');
    if (!Number.isInteger(d.epoch)) fail('decision.epoch', 'must be an integer');
    if (typeof d.service !== 'string') fail('decision.service', 'must be a string');
    if (typeof d.time !== 'string' || Number.isNaN(Date.parse(d.time)))
      fail('decision.time', 'must be an ISO time');
    if (typeof v?.execution !== 'string' || v.execution === '')
      fail('execution', "must name the state machine execution that gives the decision (its claim's owner)");
    return { drExecutor: 'decision', decision: d, execution: v?.execution as string };
  }
  if (kind === 'tick') {
    if (typeof v?.service !== 'string') fail('service', "must be a string: the plan's service");
    if (v?.opened !== undefined && (typeof v.opened !== 'string' || Number.isNaN(Date.parse(v.opened))))
      fail('opened', 'must be an ISO time: when the run the execution watches was opened');
    return {
      drExecutor: 'tick',
      service: v?.service as string,
      ...(v?.opened !== undefined && { opened: v.opened as string }),
    };
  }
  if (kind === 'result') {
    const r = v?.result as ActionResult | undefined;
    if (!r || typeof r !== 'object') return fail('result', "is required: the action's result");
    if (!Number.isInteger(r.epoch)) fail('result.epoch', 'must be an integer');
    if (!Number.isInteger(r.index)) fail('result.index', 'must be an integer');
    if (!['succeeded', 'failed', 'refused'].includes(r.outcome))
      fail('result.outcome', 'must be succeeded, failed or refused');
    if (r.deadline !== undefined && (typeof r.deadline !== 'string' || Number.isNaN(Date.parse(r.deadline))))
      fail('result.deadline', 'must be an ISO time: the deadline of the command it answers');
    return { drExecutor: 'result', result: r };
  }
  return fail('drExecutor', 'must be decision, tick or result');
}

/** A commanded side's `DrActionFinished` (its data) as the run's result input. */
export function resultOfFinished(data: {
  service: string;
  epoch: number;
  index: number;
  outcome: string;
  finishedAt: string;
  detail?: string;
  deadline?: string;
}): ActionResult {
  if (data.outcome === 'timed-out')
    throw new ValidationError(
      [{ path: 'outcome', reason: "timed-out is the executor's own verdict, not a commanded side's result" }],
      'DrActionFinished',
    );
  return {
    service: data.service,
    epoch: data.epoch,
    index: data.index,
    outcome: data.outcome as ActionResult['outcome'],
    time: data.finishedAt,
    ...(data.detail && { detail: data.detail }),
    ...(data.deadline && { deadline: data.deadline }),
  };
}

/** Applies one input and performs what it leads to; returns the run's state for the state machine. */
export async function applyExecutorInput(
  deps: DrExecutorDeps,
  input: DrExecutorInput,
): Promise<DrExecutorState> {
  const service =
    input.drExecutor === 'decision'
      ? input.decision.service
      : input.drExecutor === 'tick'
        ? input.service
        : input.result.service;
  if (service !== deps.plan.service)
    throw new ValidationError(
      [{ path: 'service', reason: `"${service}" is not the deployed plan's service (${deps.plan.service})` }],
      'DR executor input',
    );
  if (input.drExecutor === 'decision') {
    // A claim, unless the decision is for the open run (an approval or a withdrawal, a later epoch).
    // The open run's own epoch is claimed again: by the execution that claimed it (a retried task)
    // it is found again, by any other it is a duplicate, refused and recorded.
    const current = await deps.runs.current(service);
    if (!current || isFinished(current.run) || current.run.epoch === input.decision.epoch)
      return claim(deps, input.decision, input.execution);
  }
  for (let attempt = 0; ; attempt++) {
    const current = await deps.runs.current(service);
    if (!current)
      return {
        service,
        epoch: 0,
        status: 'not-taken',
        finished: true,
        supervise: false,
        refused: 'no run has been claimed',
      };
    // A stalled run watched for its late result may be replaced by the next claim: that run is its
    // own execution's to watch, and this one ends.
    if (input.drExecutor === 'tick' && input.opened !== undefined && input.opened !== current.run.startedAt)
      return { ...stateOf(deps, current, true), finished: true };
    const controlled = await underControl(deps, current.run);
    const advanced = advance(controlled.run, toRunInput(deps, input));
    // A look that changes nothing (a tick before any deadline) writes nothing: a tick every 10 s
    // would otherwise rewrite the run, and race a result's advance, for nothing.
    const effects = [...controlled.effects, ...advanced.effects];
    if (effects.length === 0 && JSON.stringify(advanced.run) === JSON.stringify(current.run))
      return stateOf(deps, current, input.drExecutor === 'tick');
    try {
      const stored = await deps.runs.save(advanced.run, current.version);
      return stateOf(deps, await perform(deps, stored, effects), input.drExecutor === 'tick');
    } catch (e) {
      if (!(e instanceof RunVersionConflict) || attempt >= RACE_RETRIES) throw e;
    }
  }
}

/**
 * The run brought to the plan's recorded pause or resume (functions/core/dr/controls.ts
 * `pauseInputs`), with what that leads to: a resume starts the next action. The log is read at every
 * input, so a control recorded while an action was under way holds the run before the next one.
 */
async function underControl(deps: DrExecutorDeps, run: Run): Promise<Advance> {
  if (!deps.controls) return { run, effects: [] };
  const inputs = pauseInputs(run, await deps.controls(run.service), iso(deps.clock.now()));
  let controlled: Advance = { run, effects: [] };
  for (const input of inputs) {
    const next = advance(controlled.run, input);
    controlled = { run: next.run, effects: [...controlled.effects, ...next.effects] };
  }
  return controlled;
}

function toRunInput(deps: DrExecutorDeps, input: DrExecutorInput) {
  switch (input.drExecutor) {
    case 'decision':
      return { type: 'decision' as const, decision: input.decision };
    case 'tick':
      return { type: 'tick' as const, time: iso(deps.clock.now()) };
    case 'result':
      return { type: 'result' as const, result: input.result, receivedAt: iso(deps.clock.now()) };
  }
}

async function claim(deps: DrExecutorDeps, decision: Decision, execution: string): Promise<DrExecutorState> {
  if (decision.decision === 'hold')
    return {
      service: decision.service,
      epoch: decision.epoch,
      status: 'not-taken',
      finished: true,
      supervise: false,
      refused: 'a hold has no actions to carry out',
    };
  // A decision made before the plan's pause and taken after it opens the run paused.
  const controls = deps.controls ? await deps.controls(decision.service) : [];
  const started = startRun(deps.plan, decision, recordedPause(controls, decision.service));
  const claimed = await deps.runs.claim(started.run, iso(deps.clock.now()), execution);
  if (!claimed.claimed)
    return {
      service: decision.service,
      epoch: decision.epoch,
      status: 'not-taken',
      finished: true,
      supervise: false,
      refused: claimed.refusal.reason,
    };
  // Its own claim found again: the first attempt stored the run and performed its effects, or
  // stopped before it did. The action under way is started again (`restartEffects`: the fence and
  // the flip make that safe) and the run goes on from where it is, watched by this execution.
  if (claimed.again)
    return stateOf(
      deps,
      await perform(deps, claimed.stored, restartEffects(claimed.stored.run, iso(deps.clock.now()))),
      true,
    );
  return stateOf(deps, await perform(deps, claimed.stored, started.effects), true);
}

/**
 * Performs a stored advance's effects in order. A local action runs now; its outcome is advanced and
 * stored (over the version just written) before the effects that follow from it.
 */
async function perform(
  deps: DrExecutorDeps,
  stored: StoredRun,
  effects: readonly Effect[],
): Promise<StoredRun> {
  const events = runEvents(deps.plan, stored.run, effects);
  if (events.length > 0) await deps.bus.put(events.map((e) => envelope(deps, e)));
  for (const e of effects) if (e.type === 'page') deps.page(e.page);
  const local = effects.find((e) => e.type === 'start-action' && e.via === 'local');
  if (local?.type !== 'start-action') return stored;
  const result = await runLocal(deps, local.command.action, local.command);
  const next: Advance = advance(stored.run, { type: 'result', result });
  return perform(deps, await deps.runs.save(next.run, stored.version), next.effects);
}

async function runLocal(
  deps: DrExecutorDeps,
  action: Run['steps'][number]['action'],
  command: ActionCommand,
): Promise<ActionResult> {
  const base = { service: command.service, epoch: command.epoch, index: command.index };
  try {
    // The flip is the one action this function runs; an action with a hook is `via: commanded`.
    if (action.type !== 'arc-routing-control')
      throw new Error(`${action.type} on ${action.cloud} is not run by the executor on AWS`);
    const flipped = await deps.flip(action);
    const detail = `via ${flipped.region}${flipped.passed.length ? ` (passed over ${flipped.passed.join('; ')})` : ''}`;
    return {
      ...base,
      outcome: 'succeeded',
      time: iso(deps.clock.now()),
      detail,
    };
  } catch (err) {
    const e = err as { name?: string; message?: string };
    return {
      ...base,
      outcome: 'failed',
      time: iso(deps.clock.now()),
      detail: `${e.name ?? 'Error'}: ${e.message ?? ''}`,
    };
  }
}

function envelope(deps: DrExecutorDeps, e: DrEvent) {
  return buildEvent({
    name: e.name,
    origin: deps.origin,
    subject: e.data.service,
    data: e.data,
    clock: deps.clock,
  });
}

function stateOf(deps: DrExecutorDeps, stored: StoredRun, supervise: boolean): DrExecutorState {
  const { run } = stored;
  // A stalled run is watched until the tick at its late-result window's end closes it, in the
  // stored run (functions/core/dr/executor.ts `lateResultsUntil`).
  const finished = !isWatched(run);
  const deadline = runDeadline(run);
  const poll = deps.clock.now() + (deps.pollMs ?? DEFAULT_POLL_MS);
  const waitUntil = finished ? undefined : iso(deadline ? Math.min(Date.parse(deadline), poll) : poll);
  return {
    service: run.service,
    epoch: run.epoch,
    opened: run.startedAt,
    status: run.status,
    finished,
    supervise,
    ...(waitUntil && { waitUntil }),
  };
}

// ---------------------------------------------------------------------------------------------
// The deployed function's wiring

/**
 * The plan the packaging embeds (config/dr-plan.cjs, esbuild `define` of CROSSLINK_DR_PLAN): the
 * same plan drSignals decides on.
 */
declare const CROSSLINK_DR_PLAN: DrPlan | null | undefined;

/** Reads CROSSLINK_DR_ARC_ENDPOINTS: the ARC cluster's endpoints, `[{"Endpoint": "https://…/v1", "Region": "…"}]`. */
export function readArcEndpoints(env: NodeJS.ProcessEnv): ClusterEndpoint[] {
  const value = jsonSetting(env, 'CROSSLINK_DR_ARC_ENDPOINTS');
  const ok =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((e) => typeof e?.Endpoint === 'string' && typeof e?.Region === 'string');
  if (!ok)
    throw new ValidationError(
      [
        {
          path: 'CROSSLINK_DR_ARC_ENDPOINTS',
          reason:
            'must be the ARC cluster\'s endpoints as DescribeCluster gives them: [{"Endpoint": "https://…/v1", "Region": "<region>"}, …]',
        },
      ],
      'DR executor settings',
    );
  return value as ClusterEndpoint[];
}

let cached: DrExecutorDeps | undefined;

/**
 * The function's dependencies from its environment, once per cold start. In the region the plan's
 * executor must not run in (AWS_REGION), it pages and throws DrExecutorMisplaced at every
 * invocation and acts on nothing: the CloudFormation rule refuses such a stack at deploy, and this
 * refuses a function that got there another way.
 */
export function drExecutorDepsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  onPage: (page: ExecutorPage) => void = () => {},
  clock: Clock = systemClock,
): DrExecutorDeps {
  if (cached) return cached;
  const plan = typeof CROSSLINK_DR_PLAN === 'undefined' ? null : CROSSLINK_DR_PLAN;
  if (!plan)
    throw new ValidationError(
      [
        {
          path: 'CROSSLINK_DR_PLAN',
          reason: 'no DR plan was embedded at packaging (CROSSLINK_DR_PLAN_FILE)',
        },
      ],
      'DR executor settings',
    );
  const region = need(env, 'AWS_REGION');
  const misplaced = executorRegionIssue(plan, 'aws', region);
  if (misplaced) {
    const message = `AWS_REGION ${region}: ${misplaced}`;
    onPage({ time: iso(clock.now()), reason: 'executor-misplaced', message });
    throw new DrExecutorMisplaced(message);
  }
  const endpoints = readArcEndpoints(env);
  const dynamo = new DynamoDBClient({ region });
  const log = new DynamoDbSignalLog(dynamo, need(env, 'CROSSLINK_TABLE'));
  cached = {
    plan,
    runs: new DynamoDbDrExecutorStore(dynamo, need(env, 'CROSSLINK_TABLE')),
    controls: async (service) => (await log.controls(service)).map((c) => c.record),
    bus: new EventBridgeSink(new EventBridgeClient({ region }), { busName: need(env, 'CROSSLINK_BUS') }),
    origin: { cloud: 'aws', accountId: need(env, 'CROSSLINK_ACCOUNT_ID'), region },
    clock,
    // The role's own credentials: its policy holds the ARC grants and the Deny of overrides.
    flip: (action) => flipRoutingControls({ requestTimeoutMs: 5_000 }, { endpoints, action }),
    page: onPage,
  };
  return cached;
}

/**
 * One invocation: the state machine's input, or a commanded side's `DrActionFinished` from the bus
 * (DrExecutorRule): Google's, relayed, or AWS's own `drCommanded`'s. The executor's own
 * `DrActionFinished` (no `reportedBy`) is its record of a result it already took, never a result.
 */
export async function drExecutorStep(
  deps: DrExecutorDeps,
  event: EventBridgeEvent | Record<string, unknown>,
): Promise<DrExecutorState> {
  if ('detail-type' in event) {
    const ce = fromEventBridgeEvent(event as EventBridgeEvent);
    if (!ce.type.includes('DrActionFinished'))
      throw new ValidationError(
        [{ path: 'detail-type', reason: `${ce.type}: only a commanded side's DrActionFinished is a result` }],
        'DR executor input',
      );
    const data = assertValid<DrActionFinishedData>(
      DrActionFinishedCheck.validate,
      ce.data,
      'DrActionFinished data',
    );
    if (ce.crosslinkorigin !== 'gcp' && data.reportedBy !== 'commanded')
      throw new ValidationError(
        [
          {
            path: 'data.reportedBy',
            reason: `a DrActionFinished from ${ce.crosslinkorigin} is a result only when its commanded side reports it (reportedBy: commanded): the executor's own is its record`,
          },
        ],
        'DR executor input',
      );
    return applyExecutorInput(deps, { drExecutor: 'result', result: resultOfFinished(data) });
  }
  return applyExecutorInput(deps, parseExecutorInput(event));
}
