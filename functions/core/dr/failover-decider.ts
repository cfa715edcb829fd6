/**
 * The DR failover decider: a pure function from a time-ordered stream of health signals and operator
 * controls to `failover`, `failback` or `hold` decisions for one protected service, each with its
 * reasons and an epoch (a fencing token that increases with every decision).
 *
 * Guardrails, in the order they are checked:
 * - the global pause switch: nothing moves while it is on;
 * - a manual override pins the service to a side (it bypasses quorum, hysteresis, dampening and
 *   approval, never the "at least one side serving" assertion);
 * - quorum: at least `quorum` independent observers (a strict majority, of at least three) report the
 *   primary unhealthy; vantage points inside the primary's region do not count, `unknown` is not
 *   `unhealthy`, and a report older than `staleAfter` is unknown;
 * - hysteresis: the quorum has held without a break for `hysteresis`;
 * - dampening: at most one failover per `dampening` window;
 * - "standby healthy": a quorum sees the standby healthy and no independent observer sees it unhealthy;
 * - "at least one side serving": a move never targets a side that is not seen serving, and when
 *   neither side is serving the decider holds and says so;
 * - optional manual approval: `failover` pending approval, then `failover` approved.
 * A drill (`control: drill`, an operator's planned move) moves to its side without quorum, hysteresis
 * or dampening, but with the side's readiness guards and the plan's approval, and holds the service
 * on the standby until the drill's end commands it back, or the standby fails by quorum.
 * Failback needs the primary healthy by quorum for the plan's stable period, a replication path not
 * reported unhealthy, and (if the plan says so) an approval. Replication (link) signals never move
 * traffic: rerouting around a failed link is BGP's job.
 *
 * Decisions are emitted when the outcome or its deciding reason changes (and for every move); the
 * same plan and stream always give the same decisions. State is plain JSON so that it can be stored
 * between invocations.
 */
import { ValidationError } from '../errors.ts';
import { evaluate } from './failover-guards.ts';
import {
  type DeciderInput,
  type DeciderState,
  type Decision,
  initialState,
  iso,
  type StepResult,
} from './failover-state.ts';
import type { DrPlan, Side } from './plan.ts';
import { isControl } from './records.ts';
import type { DrRecord } from './signal-log.ts';

const other = (side: Side): Side => (side === 'primary' ? 'standby' : 'primary');

/** Applies one input; returns the new state and, when something changed, a decision. */
export function step(plan: DrPlan, previous: DeciderState, input: DeciderInput): StepResult {
  const at = Date.parse(input.time);
  if (Number.isNaN(at))
    throw new ValidationError([{ path: 'time', reason: `"${input.time}" is not a time` }], 'decider input');
  if (previous.now !== null && at < previous.now)
    throw new ValidationError(
      [
        {
          path: 'time',
          reason: `${input.time} is earlier than the last input (${iso(previous.now)}); inputs must be in time order`,
        },
      ],
      'decider input',
    );
  // A copy, never the caller's state: every nested object that evaluate() may change is copied too.
  const state: DeciderState = {
    ...previous,
    reports: { ...previous.reports },
    pending: previous.pending && { ...previous.pending },
  };
  state.now = at;
  let ignored: string | undefined;

  if ('tick' in input) {
    // time passes
  } else if (isControl(input)) {
    const mine = input.service === undefined || input.service === plan.service;
    if (input.control === 'pause' && mine)
      state.paused = { by: input.by, since: at, ...(input.service !== undefined && { plan: true as const }) };
    else if (input.control === 'resume' && mine) state.paused = null;
    else if (input.service !== plan.service) ignored = `control for another service (${input.service})`;
    else if (input.control === 'override') {
      state.override = { side: input.side!, by: input.by };
      state.pending = null;
    } else if (input.control === 'release') state.override = null;
    else if (input.control === 'drill') {
      // A drill's end with the service already on the primary has nothing to move back.
      state.drill =
        input.side === 'primary' && state.active === 'primary'
          ? null
          : { side: input.side!, by: input.by, since: at };
      state.pending = null;
    } else if (state.paused) ignored = `approval by ${input.by} not taken: the global pause switch is on`;
    else if (
      state.pending &&
      state.pending.decision === input.decision &&
      input.epoch !== undefined &&
      state.pending.epoch !== undefined &&
      input.epoch !== state.pending.epoch
    )
      ignored = `approval of epoch ${input.epoch} by ${input.by} not taken: the ${input.decision} pending is epoch ${state.pending.epoch}`;
    else if (state.pending && state.pending.decision === input.decision) state.pending.approvedBy = input.by;
    else
      ignored = `approval of a ${input.decision} by ${input.by} not taken: no ${input.decision} is pending`;
  } else if (input.service !== plan.service) {
    ignored = `signal for another service (${input.service})`;
  } else {
    const spec = plan.signals.find((sig) => sig.name === input.signal);
    if (!spec) ignored = `signal "${input.signal}" is not in the plan`;
    else if (!spec.vantagePoints.includes(input.vantage))
      ignored = `"${input.vantage}" is not a vantage point of signal "${input.signal}" in the plan`;
    else state.reports[`${input.vantage}/${input.signal}`] = { status: input.status, at };
  }

  const candidate = evaluate(plan, state);
  const moves = candidate.decision !== 'hold' && candidate.approval !== 'pending';
  const key = `${candidate.decision}/${candidate.approval ?? ''}/${candidate.reasons[0]?.code}`;
  if (!moves && key === state.lastKey) return ignored === undefined ? { state } : { state, ignored };
  // Written now, before a move resets the trackers the texts quote.
  const reasons = candidate.reasons.map((r) => ({ code: r.code, message: r.message() }));
  if (moves) {
    state.active = other(state.active);
    state.pending = null;
    state.primaryDownSince = null;
    state.primaryUpSince = null;
    // A drill's failover is commanded, not flapping: it does not hold back a real one (dampening).
    if (candidate.decision === 'failover' && candidate.reasons[0]?.code !== 'drill-commanded')
      state.lastFailoverAt = at;
    // Back on the primary a drill is over: at its end, or early when the standby failed during it.
    if (state.drill && state.active === 'primary') state.drill = null;
  }
  state.epoch += 1;
  state.lastKey = moves ? null : key;
  const decision: Decision = {
    time: input.time,
    service: plan.service,
    epoch: state.epoch,
    trigger: 'tick' in input ? 'tick' : isControl(input) ? 'control' : 'signal',
    decision: candidate.decision,
    ...(candidate.approval && { approval: candidate.approval }),
    ...(candidate.by && { by: candidate.by }),
    active: state.active,
    reasons,
    ...(moves && { actions: plan.actions[candidate.decision as 'failover' | 'failback'] }),
  };
  // The pending move's epoch is its first pending decision's: the run awaits approval at it.
  if (decision.approval === 'pending' && state.pending && state.pending.epoch === undefined)
    state.pending.epoch = state.epoch;
  return ignored === undefined ? { state, decision } : { state, decision, ignored };
}

/** The earliest time after `state.now` at which a time-based rule could change the outcome. */
export function nextDeadline(plan: DrPlan, state: DeciderState): number | null {
  const now = state.now;
  if (now === null) return null;
  const s = plan.settings;
  let next = Number.POSITIVE_INFINITY;
  const consider = (t: number) => {
    if (t > now && t < next) next = t;
  };
  if (state.active === 'primary' && state.primaryDownSince !== null)
    consider(state.primaryDownSince + s.hysteresisMs);
  if (state.active === 'standby' && state.primaryUpSince !== null)
    consider(state.primaryUpSince + s.stablePeriodMs);
  if (state.lastFailoverAt !== null) consider(state.lastFailoverAt + s.dampeningMs);
  for (const key in state.reports) consider(state.reports[key]!.at + s.staleAfterMs);
  return next === Number.POSITIVE_INFINITY ? null : next;
}

export interface ReplayResult {
  decisions: Decision[];
  /** Records that were not taken into account, by index in the stream. */
  ignored: { index: number; reason: string }[];
  state: DeciderState;
}

/**
 * Replays a time-ordered stream through the decider for the plan's service. Between two records it
 * evaluates at every deadline (hysteresis, stable period, dampening, staleness) so that a decision
 * carries the time its rule was met, not the time of the next record. Records of other services are
 * skipped; a pause without a service (the global switch) applies to every service.
 */
export function replay(
  plan: DrPlan,
  records: readonly DrRecord[],
  start: DeciderState = initialState(plan),
): ReplayResult {
  let state = start;
  const decisions: Decision[] = [];
  const ignored: { index: number; reason: string }[] = [];
  records.forEach((record, index) => {
    const global =
      isControl(record) &&
      (record.control === 'pause' || record.control === 'resume') &&
      record.service === undefined;
    if (!global && record.service !== plan.service) return;
    state = tickUntil(plan, state, Date.parse(record.time), decisions);
    const r = step(plan, state, record);
    state = r.state;
    if (r.decision) decisions.push(r.decision);
    if (r.ignored) ignored.push({ index, reason: r.ignored });
  });
  return { decisions, ignored, state };
}

/**
 * The decisions a signal log leads to by `now`: the log replayed, then every deadline up to `now`
 * evaluated (a hysteresis or staleness that ran out after the last record). What the deployed
 * executor's side runs on the signals it holds.
 */
export function decisionsUntil(plan: DrPlan, records: readonly DrRecord[], now: number): Decision[] {
  const { decisions, state } = replay(plan, records);
  tickUntil(plan, state, now, decisions);
  return decisions;
}

/**
 * The decider's state with every record up to `at` folded in and every deadline up to `at` evaluated:
 * what a deployed decider keeps between invocations so that each reads only the records after it.
 */
export interface DeciderCheckpoint {
  /** ms since the epoch. */
  at: number;
  state: DeciderState;
}

export interface IncrementalDecisions {
  /** The decisions after the checkpoint, up to `now`. */
  decisions: Decision[];
  /** The checkpoint to keep: the state at `now - settleMs`, or the one given when that is not later. */
  checkpoint: DeciderCheckpoint | null;
}

/**
 * `decisionsUntil` from a checkpoint: the records after its time (in time order; any at or before it
 * are skipped), folded from its state, then every deadline up to `now`. The new checkpoint is the
 * state at `now - settleMs`, the time after which a record may still arrive (a relayed
 * observation's crossing). For the same records, the decisions are those a replay of the whole log
 * gives: the fold is one sequence, cut where the checkpoint is kept. A record that arrives older
 * than the checkpoint is not taken: the log keeps it (an export replays it), the deployed decider
 * does not rewrite its past.
 */
export function decisionsSince(
  plan: DrPlan,
  checkpoint: DeciderCheckpoint | null,
  records: readonly DrRecord[],
  now: number,
  settleMs: number,
): IncrementalDecisions {
  const from = checkpoint?.at ?? Number.NEGATIVE_INFINITY;
  const keepAt = now - settleMs;
  const fresh = records.filter((r) => Date.parse(r.time) > from);
  const settled = replay(
    plan,
    fresh.filter((r) => Date.parse(r.time) <= keepAt),
    checkpoint?.state,
  );
  const decisions = [...settled.decisions];
  let state = settled.state;
  let kept = checkpoint;
  if (keepAt > from) {
    state = tickUntil(plan, state, keepAt, decisions);
    kept = { at: keepAt, state };
  }
  const rest = replay(
    plan,
    fresh.filter((r) => Date.parse(r.time) > keepAt),
    state,
  );
  decisions.push(...rest.decisions);
  tickUntil(plan, rest.state, now, decisions);
  return { decisions, checkpoint: kept };
}

/** Evaluates every deadline up to `at` (inclusive), adding the decisions to `into`; returns the state. */
function tickUntil(plan: DrPlan, start: DeciderState, at: number, into: Decision[]): DeciderState {
  let state = start;
  for (let d = nextDeadline(plan, state); d !== null && d <= at; d = nextDeadline(plan, state)) {
    const r = step(plan, state, { time: iso(d), tick: true });
    state = r.state;
    if (r.decision) into.push(r.decision);
  }
  return state;
}
