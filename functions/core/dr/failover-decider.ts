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
 * Failback needs the primary healthy by quorum for the plan's stable period, a replication path not
 * reported unhealthy, and (if the plan says so) an approval. Replication (link) signals never move
 * traffic: rerouting around a failed link is BGP's job.
 *
 * Decisions are emitted when the outcome or its deciding reason changes (and for every move); the
 * same plan and stream always give the same decisions. State is plain JSON so that it can be stored
 * between invocations.
 */
import { formatDuration } from '../clock.ts';
import { ValidationError } from '../errors.ts';
import { type Action, type DrPlan, independentObservers, isInside, observerOf, type Side } from './plan.ts';
import { type DrRecord, isControl, type SignalStatus } from './signal-log.ts';

export type DecisionKind = 'failover' | 'failback' | 'hold';

export type ReasonCode =
  // why a hold
  | 'paused'
  | 'override'
  | 'no-quorum'
  | 'hysteresis'
  | 'dampened'
  | 'standby-not-healthy'
  | 'no-side-serving'
  | 'awaiting-approval'
  | 'primary-not-recovered'
  | 'stable-period'
  | 'replication-unhealthy'
  // why a move
  | 'quorum'
  | 'hysteresis-elapsed'
  | 'not-dampened'
  | 'standby-healthy'
  | 'primary-healthy'
  | 'stable-period-elapsed'
  | 'side-serving'
  | 'approved'
  | 'manual-override'
  // notes that never decide anything
  | 'approval-withdrawn'
  | 'replication-degraded';

export interface Reason {
  code: ReasonCode;
  message: string;
}

export interface Decision {
  time: string;
  service: string;
  /** Strictly increasing across the decisions of a service: fences the actions it starts. */
  epoch: number;
  /** What was evaluated: a new signal, an operator control, or the passing of time (a deadline). */
  trigger: 'signal' | 'control' | 'tick';
  decision: DecisionKind;
  /** For a failover or failback: waiting for an approval, approved (by `by`), or not required. */
  approval?: 'pending' | 'approved' | 'not-required';
  /** Who approved, or who set the override that caused the move. */
  by?: string;
  /** The side serving traffic once this decision is carried out. */
  active: Side;
  /** The deciding reason first. */
  reasons: Reason[];
  /** For a failover or failback that is to be carried out: the plan's ordered actions. */
  actions?: Action[];
}

/** An evaluation with no new input: lets time-based rules (hysteresis, stable period, staleness) fire. */
export interface Tick {
  time: string;
  tick: true;
}

export type DeciderInput = DrRecord | Tick;

export interface DeciderState {
  service: string;
  epoch: number;
  /** Time of the last input (ms since the epoch), null before the first. */
  now: number | null;
  active: Side;
  /** Latest report per `vantage/signal`. */
  reports: Record<string, { status: SignalStatus; at: number }>;
  primaryDownSince: number | null;
  primaryUpSince: number | null;
  lastFailoverAt: number | null;
  pending: { decision: 'failover' | 'failback'; since: number; approvedBy?: string } | null;
  override: { side: Side; by: string } | null;
  paused: { by: string; since: number } | null;
  /** Outcome and deciding reason of the last decision: a decision is emitted when it changes. */
  lastKey: string | null;
}

export interface StepResult {
  state: DeciderState;
  decision?: Decision;
  /** Why the input was not taken into account (not in the plan, nothing to approve...). */
  ignored?: string;
}

export function initialState(plan: DrPlan, options: { epoch?: number; active?: Side } = {}): DeciderState {
  return {
    service: plan.service,
    epoch: options.epoch ?? 0,
    now: null,
    active: options.active ?? 'primary',
    reports: {},
    primaryDownSince: null,
    primaryUpSince: null,
    lastFailoverAt: null,
    pending: null,
    override: null,
    paused: null,
    lastKey: null,
  };
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const other = (side: Side): Side => (side === 'primary' ? 'standby' : 'primary');

/** What the independent observers of one side (or of the replication path) currently say. */
interface SideView {
  observers: string[];
  healthy: string[];
  unhealthy: string[];
}

/** Which reports count for a subject and which observer each belongs to; computed once per plan. */
interface Watch {
  observers: string[];
  reports: { key: string; observer: string }[];
}
const watches = new WeakMap<DrPlan, Record<Side | 'replication', Watch>>();

function watchesOf(plan: DrPlan): Record<Side | 'replication', Watch> {
  let w = watches.get(plan);
  if (w) return w;
  const byId = new Map(plan.vantagePoints.map((vp) => [vp.id, vp]));
  const build = (subject: Side | 'replication'): Watch => {
    const reports: Watch['reports'] = [];
    for (const signal of plan.signals) {
      if (signal.observes !== subject) continue;
      for (const id of signal.vantagePoints) {
        const vp = byId.get(id)!;
        // a vantage point inside the region it watches is not independent: it does not count
        if (subject !== 'replication' && isInside(vp, plan[subject])) continue;
        reports.push({ key: `${id}/${signal.name}`, observer: observerOf(vp) });
      }
    }
    const observers =
      subject === 'replication'
        ? [...new Set(reports.map((r) => r.observer))].sort()
        : independentObservers(plan, subject);
    return { observers, reports };
  };
  w = { primary: build('primary'), standby: build('standby'), replication: build('replication') };
  watches.set(plan, w);
  return w;
}

function observe(plan: DrPlan, state: DeciderState, subject: Side | 'replication'): SideView {
  const now = state.now ?? 0;
  const { observers, reports } = watchesOf(plan)[subject];
  const status = new Map<string, 'healthy' | 'unhealthy'>();
  for (const { key, observer } of reports) {
    const report = state.reports[key];
    if (!report || now - report.at >= plan.settings.staleAfterMs || report.status === 'unknown') continue;
    if (report.status === 'unhealthy') status.set(observer, 'unhealthy');
    else if (status.get(observer) !== 'unhealthy') status.set(observer, 'healthy');
  }
  const pick = (s: string) => observers.filter((o) => status.get(o) === s);
  return { observers, healthy: pick('healthy'), unhealthy: pick('unhealthy') };
}

const isHealthy = (v: SideView, quorum: number) => v.healthy.length >= quorum && v.unhealthy.length === 0;
const list = (xs: string[]) => (xs.length ? xs.join(', ') : 'none');
const tally = (v: SideView, what: 'healthy' | 'unhealthy') =>
  `${v[what].length} of ${v.observers.length} independent vantage points (${list(v[what])})`;

/** A reason whose text is only written when the decision is emitted: most evaluations emit nothing. */
interface Draft {
  code: ReasonCode;
  message: () => string;
}

interface Candidate {
  decision: DecisionKind;
  approval?: 'pending' | 'approved' | 'not-required';
  by?: string;
  reasons: Draft[];
}

const hold = (code: ReasonCode, message: () => string, ...more: Draft[]): Candidate => ({
  decision: 'hold',
  reasons: [{ code, message }, ...more],
});

/** Decides for the current state. Updates the trackers (down / up since) and a pending approval in `state`; the move itself is applied by step(). */
function evaluate(plan: DrPlan, state: DeciderState): Candidate {
  const now = state.now!;
  const s = plan.settings;
  const primary = observe(plan, state, 'primary');
  const standby = observe(plan, state, 'standby');
  const replication = observe(plan, state, 'replication');
  const primaryDown = primary.unhealthy.length >= s.quorum;
  const primaryUp = isHealthy(primary, s.quorum);
  state.primaryDownSince = primaryDown ? (state.primaryDownSince ?? now) : null;
  state.primaryUpSince = primaryUp ? (state.primaryUpSince ?? now) : null;

  const notes: Draft[] = [];
  if (replication.unhealthy.length > 0)
    notes.push({
      code: 'replication-degraded',
      message: () =>
        `replication path reported unhealthy by ${list(replication.unhealthy)}: RPO at risk; link failures are BGP's to reroute and never move traffic`,
    });

  const { paused, lastFailoverAt } = state;
  if (paused)
    return hold(
      'paused',
      () => `global pause switch is on (set by ${paused.by} at ${iso(paused.since)}): nothing moves`,
      ...notes,
    );

  const views: Record<Side, SideView> = { primary, standby };
  if (state.override) {
    const target = state.override.side;
    const pinned = `manual override by ${state.override.by} pins the service to the ${target}`;
    if (target === state.active)
      return hold('override', () => `${pinned}; automatic decisions wait for a release`, ...notes);
    if (!isHealthy(views[target], s.quorum))
      return hold(
        'no-side-serving',
        () =>
          `${pinned}, but the ${target} is not seen serving (healthy: ${tally(views[target], 'healthy')}; unhealthy: ${list(views[target].unhealthy)}): at least one side must be serving, so traffic stays on the ${state.active}`,
        ...notes,
      );
    return {
      decision: target === 'standby' ? 'failover' : 'failback',
      approval: 'approved',
      by: state.override.by,
      reasons: [
        {
          code: 'manual-override',
          message: () => `${pinned} (bypasses quorum, hysteresis, dampening and approval)`,
        },
        {
          code: 'side-serving',
          message: () => `the ${target} is seen healthy by ${tally(views[target], 'healthy')}`,
        },
        ...notes,
      ],
    };
  }

  const withdrawn = (c: Candidate): Candidate => {
    const pending = state.pending;
    if (pending) {
      c.reasons.push({
        code: 'approval-withdrawn',
        message: () => `the ${pending.decision} pending approval since ${iso(pending.since)} is withdrawn`,
      });
      state.pending = null;
    }
    return c;
  };
  const approve = (
    kind: 'failover' | 'failback',
    approval: 'required' | 'none',
    reasons: Draft[],
  ): Candidate => {
    if (approval === 'none')
      return { decision: kind, approval: 'not-required', reasons: [...reasons, ...notes] };
    const approvedBy = state.pending?.decision === kind ? state.pending.approvedBy : undefined;
    if (approvedBy)
      return {
        decision: kind,
        approval: 'approved',
        by: approvedBy,
        reasons: [...reasons, { code: 'approved', message: () => `approved by ${approvedBy}` }, ...notes],
      };
    state.pending ??= { decision: kind, since: now };
    const since = state.pending.since;
    return {
      decision: kind,
      approval: 'pending',
      reasons: [
        ...reasons,
        {
          code: 'awaiting-approval',
          message: () => `waiting for an approval (pending since ${iso(since)})`,
        },
        ...notes,
      ],
    };
  };

  if (state.active === 'primary') {
    if (!primaryDown)
      return withdrawn(
        hold(
          'no-quorum',
          () => `${tally(primary, 'unhealthy')} report the primary unhealthy; failover needs ${s.quorum}`,
          ...notes,
        ),
      );
    const quorum: Draft = {
      code: 'quorum',
      message: () => `${tally(primary, 'unhealthy')} report the primary unhealthy (quorum ${s.quorum})`,
    };
    const downFor = now - state.primaryDownSince!;
    if (downFor < s.hysteresisMs)
      return withdrawn(
        hold(
          'hysteresis',
          () =>
            `the primary has been unhealthy by quorum since ${iso(state.primaryDownSince!)}; failover needs ${formatDuration(s.hysteresisMs)} of it (not before ${iso(state.primaryDownSince! + s.hysteresisMs)})`,
          quorum,
          ...notes,
        ),
      );
    if (lastFailoverAt !== null && now - lastFailoverAt < s.dampeningMs)
      return withdrawn(
        hold(
          'dampened',
          () =>
            `last failover at ${iso(lastFailoverAt)}: at most one failover per ${formatDuration(s.dampeningMs)} (next not before ${iso(lastFailoverAt + s.dampeningMs)})`,
          quorum,
          ...notes,
        ),
      );
    if (standby.unhealthy.length >= s.quorum)
      return withdrawn(
        hold(
          'no-side-serving',
          () =>
            `neither side is serving: the primary and the standby are both unhealthy by quorum (standby: ${tally(standby, 'unhealthy')}); moving traffic would not help`,
          quorum,
          ...notes,
        ),
      );
    if (!isHealthy(standby, s.quorum))
      return withdrawn(
        hold(
          'standby-not-healthy',
          () =>
            `"standby healthy" does not hold: ${tally(standby, 'healthy')} see it healthy and ${list(standby.unhealthy)} unhealthy; it needs ${s.quorum} healthy and none unhealthy`,
          quorum,
          ...notes,
        ),
      );
    return approve('failover', s.failoverApproval, [
      quorum,
      {
        code: 'hysteresis-elapsed',
        message: () =>
          `unhealthy by quorum since ${iso(state.primaryDownSince!)} (${formatDuration(downFor)} >= ${formatDuration(s.hysteresisMs)})`,
      },
      {
        code: 'not-dampened',
        message: () =>
          lastFailoverAt === null
            ? 'no earlier failover'
            : `last failover at ${iso(lastFailoverAt)}, outside the ${formatDuration(s.dampeningMs)} window`,
      },
      {
        code: 'standby-healthy',
        message: () => `the standby is seen healthy by ${tally(standby, 'healthy')}, unhealthy by none`,
      },
    ]);
  }

  // Failed over: the way back.
  if (!primaryUp) {
    if (standby.unhealthy.length >= s.quorum)
      return withdrawn(
        hold(
          'no-side-serving',
          () =>
            `neither side is serving: the standby is unhealthy by quorum (${tally(standby, 'unhealthy')}) and the primary has not recovered (healthy: ${tally(primary, 'healthy')})`,
          ...notes,
        ),
      );
    return withdrawn(
      hold(
        'primary-not-recovered',
        () =>
          `the primary is seen healthy by ${tally(primary, 'healthy')} and unhealthy by ${list(primary.unhealthy)}; failback needs ${s.quorum} healthy and none unhealthy`,
        ...notes,
      ),
    );
  }
  const upFor = now - state.primaryUpSince!;
  const healthy: Draft = {
    code: 'primary-healthy',
    message: () => `the primary is seen healthy by ${tally(primary, 'healthy')}, unhealthy by none`,
  };
  if (upFor < s.stablePeriodMs)
    return withdrawn(
      hold(
        'stable-period',
        () =>
          `the primary has been healthy by quorum since ${iso(state.primaryUpSince!)}; failback needs a stable period of ${formatDuration(s.stablePeriodMs)} (not before ${iso(state.primaryUpSince! + s.stablePeriodMs)})`,
        healthy,
        ...notes,
      ),
    );
  if (replication.unhealthy.length > 0)
    return withdrawn(
      hold(
        'replication-unhealthy',
        () =>
          `the replication path is reported unhealthy by ${list(replication.unhealthy)}: failing back now would lose writes made on the standby`,
        healthy,
      ),
    );
  return approve('failback', s.failbackApproval, [
    healthy,
    {
      code: 'stable-period-elapsed',
      message: () =>
        `healthy by quorum since ${iso(state.primaryUpSince!)} (${formatDuration(upFor)} >= ${formatDuration(s.stablePeriodMs)})`,
    },
  ]);
}

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
    if (input.control === 'pause') state.paused = { by: input.by, since: at };
    else if (input.control === 'resume') state.paused = null;
    else if (input.service !== plan.service) ignored = `control for another service (${input.service})`;
    else if (input.control === 'override') {
      state.override = { side: input.side!, by: input.by };
      state.pending = null;
    } else if (input.control === 'release') state.override = null;
    else if (state.paused) ignored = `approval by ${input.by} not taken: the global pause switch is on`;
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
    if (candidate.decision === 'failover') state.lastFailoverAt = at;
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
 * skipped; the global pause applies to every service.
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
    const global = isControl(record) && (record.control === 'pause' || record.control === 'resume');
    if (!global && record.service !== plan.service) return;
    const at = Date.parse(record.time);
    for (let d = nextDeadline(plan, state); d !== null && d <= at; d = nextDeadline(plan, state)) {
      const r = step(plan, state, { time: iso(d), tick: true });
      state = r.state;
      if (r.decision) decisions.push(r.decision);
    }
    const r = step(plan, state, record);
    state = r.state;
    if (r.decision) decisions.push(r.decision);
    if (r.ignored) ignored.push({ index, reason: r.ignored });
  });
  return { decisions, ignored, state };
}
