/**
 * The DR failover decider's guards: what the independent observers say of each side (the scene), and
 * the guards that hold or let a failover or failback go, in the order failover-decider.ts lists them,
 * down to a pending or granted approval. `evaluate` is the one entry: failover-decider.ts steps the
 * state and emits; this module decides.
 */
import { formatDuration } from '../clock.ts';
import { type DeciderState, type DecisionKind, iso, type ReasonCode } from './failover-state.ts';
import { independentObservers, isInside, observerOf } from './observers.ts';
import type { DrPlan, Side } from './plan.ts';

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
export function evaluate(plan: DrPlan, state: DeciderState): Candidate {
  const scene = sceneOf(plan, state);
  const first = paused(scene) ?? overridden(scene) ?? drilled(scene);
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
        () =>
          `${paused.plan ? "the plan's pause" : 'global pause switch'} is on (set by ${paused.by} at ${iso(paused.since)}): nothing moves`,
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

/**
 * A drill moves to its side with that side's readiness guards and the plan's approval, without
 * quorum, hysteresis or dampening (nothing failed: the operator commanded it); on the standby it
 * holds until the drill's end, so the primary's stable period does not fail it back early. A standby
 * that fails by quorum while the drill holds the service on it ends the drill there: the way back is
 * taken as at the drill's end (the primary never failed), so a game day never keeps the service on a
 * side that stopped serving.
 */
const drilled: Guard = (scene) => {
  const { state, settings, standby, notes } = scene;
  const drill = state.drill;
  if (!drill) return undefined;
  const commanded: Draft = {
    code: 'drill-commanded',
    message: () =>
      `drill commanded by ${drill.by} at ${iso(drill.since)}: a planned move to the ${drill.side}`,
  };
  const standbyFailed = drill.side === 'standby' && standby.unhealthy.length >= settings.quorum;
  if (drill.side === state.active && standbyFailed) {
    const held = firstHold(scene, [primaryNotRecovered, replicationUnhealthy]);
    if (held) return held;
    return approve(scene, 'failback', settings.failbackApproval, [
      {
        code: 'drill-standby-failed',
        message: () =>
          `the standby failed during the drill by ${drill.by} (started ${iso(drill.since)}): unhealthy by ${tally(standby, 'unhealthy')}; the drill ends and the service goes back`,
      },
      primaryHealthyReason(scene),
    ]);
  }
  if (drill.side === state.active)
    return hold(
      'drill',
      () => `a drill by ${drill.by} holds the service on the ${drill.side} until its end (dr drill)`,
      ...notes,
    );
  if (drill.side === 'standby') {
    if (!isHealthy(standby, settings.quorum))
      return withdrawn(
        state,
        hold(
          'standby-not-healthy',
          () =>
            `the drill by ${drill.by} waits: the standby is not ready (healthy: ${tally(standby, 'healthy')}; unhealthy: ${list(standby.unhealthy)}; it needs ${settings.quorum} healthy and none unhealthy)`,
          ...notes,
        ),
      );
    return approve(scene, 'failover', settings.failoverApproval, [
      commanded,
      {
        code: 'standby-healthy',
        message: () => `the standby is seen healthy by ${tally(standby, 'healthy')}, unhealthy by none`,
      },
    ]);
  }
  const held = firstHold(scene, [primaryNotRecovered, replicationUnhealthy]);
  if (held) return held;
  return approve(scene, 'failback', settings.failbackApproval, [commanded, primaryHealthyReason(scene)]);
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
