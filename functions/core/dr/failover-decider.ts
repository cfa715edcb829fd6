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

/**
 * What every guard reads: the current views of both sides and of the replication path, whether the
 * primary is down or up by quorum, and the notes that ride on most outcomes.
 */
interface Scene {
  plan: DrPlan;
  state: DeciderState;
  settings: DrPlan['settings'];
  now: number;
  primary: SideView;
  standby: SideView;
  replication: SideView;
  primaryDown: boolean;
  primaryUp: boolean;
  notes: Draft[];
}

/** A guard holds (returns its candidate) or lets the decision go on (returns undefined). */
type Guard = (scene: Scene) => Candidate | undefined;

/**
 * Decides for the current state. Updates the trackers (down / up since) and a pending approval in
 * `state`; the move itself is applied by step(). Guards run in the order the module comment lists.
 */
function evaluate(plan: DrPlan, state: DeciderState): Candidate {
  const scene = sceneOf(plan, state);
  const first = paused(scene) ?? overridden(scene);
  if (first) return first;
  return state.active === 'primary' ? towardStandby(scene) : towardPrimary(scene);
}

/** Observes, and moves the down / up trackers to what the observers now say. */
function sceneOf(plan: DrPlan, state: DeciderState): Scene {
  const now = state.now!;
  const settings = plan.settings;
  const primary = observe(plan, state, 'primary');
  const standby = observe(plan, state, 'standby');
  const replication = observe(plan, state, 'replication');
  const primaryDown = primary.unhealthy.length >= settings.quorum;
  const primaryUp = isHealthy(primary, settings.quorum);
  state.primaryDownSince = primaryDown ? (state.primaryDownSince ?? now) : null;
  state.primaryUpSince = primaryUp ? (state.primaryUpSince ?? now) : null;
  const notes: Draft[] = [];
  if (replication.unhealthy.length > 0)
    notes.push({
      code: 'replication-degraded',
      message: () =>
        `replication path reported unhealthy by ${list(replication.unhealthy)}: RPO at risk; link failures are BGP's to reroute and never move traffic`,
    });
  return { plan, state, settings, now, primary, standby, replication, primaryDown, primaryUp, notes };
}

const paused: Guard = ({ state: { paused }, notes }) =>
  paused
    ? hold(
        'paused',
        () => `global pause switch is on (set by ${paused.by} at ${iso(paused.since)}): nothing moves`,
        ...notes,
      )
    : undefined;

/** A manual override moves to its side (when that side is seen serving) without the other guards. */
const overridden: Guard = ({ state, settings, primary, standby, notes }) => {
  if (!state.override) return undefined;
  const { side: target, by } = state.override;
  const view = target === 'primary' ? primary : standby;
  const pinned = `manual override by ${by} pins the service to the ${target}`;
  if (target === state.active)
    return hold('override', () => `${pinned}; automatic decisions wait for a release`, ...notes);
  if (!isHealthy(view, settings.quorum))
    return hold(
      'no-side-serving',
      () =>
        `${pinned}, but the ${target} is not seen serving (healthy: ${tally(view, 'healthy')}; unhealthy: ${list(view.unhealthy)}): at least one side must be serving, so traffic stays on the ${state.active}`,
      ...notes,
    );
  return {
    decision: target === 'standby' ? 'failover' : 'failback',
    approval: 'approved',
    by,
    reasons: [
      {
        code: 'manual-override',
        message: () => `${pinned} (bypasses quorum, hysteresis, dampening and approval)`,
      },
      { code: 'side-serving', message: () => `the ${target} is seen healthy by ${tally(view, 'healthy')}` },
      ...notes,
    ],
  };
};

// ---------- on the primary: the guards of a failover ----------

const quorumReason = ({ primary, settings }: Scene): Draft => ({
  code: 'quorum',
  message: () => `${tally(primary, 'unhealthy')} report the primary unhealthy (quorum ${settings.quorum})`,
});

const noQuorum: Guard = ({ primary, primaryDown, settings, notes }) =>
  primaryDown
    ? undefined
    : hold(
        'no-quorum',
        () =>
          `${tally(primary, 'unhealthy')} report the primary unhealthy; failover needs ${settings.quorum}`,
        ...notes,
      );

const hysteresis: Guard = (scene) => {
  const { state, settings, now, notes } = scene;
  const since = state.primaryDownSince!;
  if (now - since >= settings.hysteresisMs) return undefined;
  return hold(
    'hysteresis',
    () =>
      `the primary has been unhealthy by quorum since ${iso(since)}; failover needs ${formatDuration(settings.hysteresisMs)} of it (not before ${iso(since + settings.hysteresisMs)})`,
    quorumReason(scene),
    ...notes,
  );
};

const dampened: Guard = (scene) => {
  const { state, settings, now, notes } = scene;
  const last = state.lastFailoverAt;
  if (last === null || now - last >= settings.dampeningMs) return undefined;
  return hold(
    'dampened',
    () =>
      `last failover at ${iso(last)}: at most one failover per ${formatDuration(settings.dampeningMs)} (next not before ${iso(last + settings.dampeningMs)})`,
    quorumReason(scene),
    ...notes,
  );
};

/** "At least one side serving": a standby down by quorum is no place to move to. */
const standbyDown: Guard = (scene) => {
  const { standby, settings, notes } = scene;
  if (standby.unhealthy.length < settings.quorum) return undefined;
  return hold(
    'no-side-serving',
    () =>
      `neither side is serving: the primary and the standby are both unhealthy by quorum (standby: ${tally(standby, 'unhealthy')}); moving traffic would not help`,
    quorumReason(scene),
    ...notes,
  );
};

const standbyNotHealthy: Guard = (scene) => {
  const { standby, settings, notes } = scene;
  if (isHealthy(standby, settings.quorum)) return undefined;
  return hold(
    'standby-not-healthy',
    () =>
      `"standby healthy" does not hold: ${tally(standby, 'healthy')} see it healthy and ${list(standby.unhealthy)} unhealthy; it needs ${settings.quorum} healthy and none unhealthy`,
    quorumReason(scene),
    ...notes,
  );
};

const FAILOVER_GUARDS: readonly Guard[] = [noQuorum, hysteresis, dampened, standbyDown, standbyNotHealthy];

function towardStandby(scene: Scene): Candidate {
  const held = firstHold(scene, FAILOVER_GUARDS);
  if (held) return held;
  const { state, settings, now, standby } = scene;
  const since = state.primaryDownSince!;
  const last = state.lastFailoverAt;
  return approve(scene, 'failover', settings.failoverApproval, [
    quorumReason(scene),
    {
      code: 'hysteresis-elapsed',
      message: () =>
        `unhealthy by quorum since ${iso(since)} (${formatDuration(now - since)} >= ${formatDuration(settings.hysteresisMs)})`,
    },
    {
      code: 'not-dampened',
      message: () =>
        last === null
          ? 'no earlier failover'
          : `last failover at ${iso(last)}, outside the ${formatDuration(settings.dampeningMs)} window`,
    },
    {
      code: 'standby-healthy',
      message: () => `the standby is seen healthy by ${tally(standby, 'healthy')}, unhealthy by none`,
    },
  ]);
}

// ---------- failed over: the guards of the way back ----------

const primaryHealthyReason = ({ primary }: Scene): Draft => ({
  code: 'primary-healthy',
  message: () => `the primary is seen healthy by ${tally(primary, 'healthy')}, unhealthy by none`,
});

/** Without a recovered primary there is no way back; with the standby down too, nothing serves. */
const primaryNotRecovered: Guard = ({ primary, standby, primaryUp, settings, notes }) => {
  if (primaryUp) return undefined;
  if (standby.unhealthy.length >= settings.quorum)
    return hold(
      'no-side-serving',
      () =>
        `neither side is serving: the standby is unhealthy by quorum (${tally(standby, 'unhealthy')}) and the primary has not recovered (healthy: ${tally(primary, 'healthy')})`,
      ...notes,
    );
  return hold(
    'primary-not-recovered',
    () =>
      `the primary is seen healthy by ${tally(primary, 'healthy')} and unhealthy by ${list(primary.unhealthy)}; failback needs ${settings.quorum} healthy and none unhealthy`,
    ...notes,
  );
};

const stablePeriod: Guard = (scene) => {
  const { state, settings, now, notes } = scene;
  const since = state.primaryUpSince!;
  if (now - since >= settings.stablePeriodMs) return undefined;
  return hold(
    'stable-period',
    () =>
      `the primary has been healthy by quorum since ${iso(since)}; failback needs a stable period of ${formatDuration(settings.stablePeriodMs)} (not before ${iso(since + settings.stablePeriodMs)})`,
    primaryHealthyReason(scene),
    ...notes,
  );
};

/** Failing back over a broken replication path would lose the standby's writes (the deciding reason, so no note). */
const replicationUnhealthy: Guard = (scene) => {
  const { replication } = scene;
  if (replication.unhealthy.length === 0) return undefined;
  return hold(
    'replication-unhealthy',
    () =>
      `the replication path is reported unhealthy by ${list(replication.unhealthy)}: failing back now would lose writes made on the standby`,
    primaryHealthyReason(scene),
  );
};

const FAILBACK_GUARDS: readonly Guard[] = [primaryNotRecovered, stablePeriod, replicationUnhealthy];

function towardPrimary(scene: Scene): Candidate {
  const held = firstHold(scene, FAILBACK_GUARDS);
  if (held) return held;
  const { state, settings, now } = scene;
  const since = state.primaryUpSince!;
  return approve(scene, 'failback', settings.failbackApproval, [
    primaryHealthyReason(scene),
    {
      code: 'stable-period-elapsed',
      message: () =>
        `healthy by quorum since ${iso(since)} (${formatDuration(now - since)} >= ${formatDuration(settings.stablePeriodMs)})`,
    },
  ]);
}

// ---------- shared by both ways ----------

/** The first guard that holds; a hold withdraws a pending approval (and says so). */
function firstHold(scene: Scene, guards: readonly Guard[]): Candidate | undefined {
  for (const guard of guards) {
    const held = guard(scene);
    if (held) return withdrawn(scene.state, held);
  }
  return undefined;
}

function withdrawn(state: DeciderState, c: Candidate): Candidate {
  const pending = state.pending;
  if (pending) {
    c.reasons.push({
      code: 'approval-withdrawn',
      message: () => `the ${pending.decision} pending approval since ${iso(pending.since)} is withdrawn`,
    });
    state.pending = null;
  }
  return c;
}

/** A move that has passed its guards: carried out now, or once approved (a pending approval starts here). */
function approve(
  { state, now, notes }: Scene,
  kind: 'failover' | 'failback',
  approval: 'required' | 'none',
  reasons: Draft[],
): Candidate {
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
      { code: 'awaiting-approval', message: () => `waiting for an approval (pending since ${iso(since)})` },
      ...notes,
    ],
  };
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
