/**
 * A vantage point at work on one side: its scheduled probe run recorded in this side's copy of the
 * signal log and sent to the other side (`DrSignalObserved`), the other side's observations
 * recorded here, and the replication link's state changes turned into link signals. The log, the
 * streaks, the event sink, the HTTP GET and the clock are ports: each cloud passes its own.
 *
 * Each side's copy of the log holds what it observed and what reached it from the other side: when
 * the relay is cut, each keeps recording its own observations and the other's stop arriving, which
 * `dr status` shows as the other side's vantage point going stale.
 */
import type { Clock } from '../clock.ts';
import { buildEvent, type CloudEvent, type Origin, parseEventType } from '../envelope.ts';
import { ValidationError } from '../errors.ts';
import type { DrSignalObservedData } from '../events/catalog.ts';
import { DrSignalObserved, LinkStateChanged } from '../events/checks.ts';
import { checkEventData } from '../events/schemas.ts';
import type { EventSink } from '../link/ports.ts';
import { linkSignals, type Observation, type ProbeStreak } from './observations.ts';
import type { DrPlan } from './plan.ts';
import { type HttpGet, runProbes } from './probe-run.ts';

/** A side's copy of the signal log (DynamoDB on AWS, Firestore on Google). */
export interface SignalLogStore {
  /** Records each observation once (the same time, vantage point and signal is kept once); returns how many were new. */
  record(observations: readonly Observation[]): Promise<number>;
  /** The service's observations at or after `since` (ms since the epoch), in time order. */
  since(service: string, since?: number): Promise<Observation[]>;
}

/** What a vantage point's probes keep between runs (failures in a row, last report), by signal. */
export interface ProbeStreakStore {
  streaks(service: string, vantage: string): Promise<Record<string, ProbeStreak>>;
  keepStreaks(service: string, vantage: string, streaks: Record<string, ProbeStreak>): Promise<void>;
}

export interface VantageDeps {
  log: SignalLogStore;
  /** Where this side sends its observations for the relay (the crosslink bus / events topic). */
  bus: EventSink;
  origin: Origin;
  clock: Clock;
}

/** The event subject of an observation: the service, vantage point and signal. */
export const drSignalSubject = (o: { service: string; vantage: string; signal: string }) =>
  `${o.service}/${o.vantage}/${o.signal}`;

/**
 * Records observations made on this side and sends each to the other side as `DrSignalObserved`.
 * Recorded first: a failed send is retried by the caller's retry, and the record, kept once, is
 * not doubled.
 */
export async function recordAndSend(
  deps: VantageDeps,
  observations: readonly Observation[],
): Promise<number> {
  const added = await deps.log.record(observations);
  if (observations.length > 0)
    await deps.bus.put(
      observations.map((o) =>
        buildEvent<DrSignalObservedData>({
          name: 'DrSignalObserved',
          origin: deps.origin,
          subject: drSignalSubject(o),
          data: o,
          clock: deps.clock,
        }),
      ),
    );
  return added;
}

/**
 * Refuses a vantage point that is not this deployment's: a probe claims its vantage point's cloud
 * and region, which the decider's independence rests on, so it must run there. Throws
 * ValidationError naming `vantage`.
 */
export function checkPlacement(plan: DrPlan, vantage: string, origin: Origin): void {
  const vp = plan.vantagePoints.find((v) => v.id === vantage);
  const reason = !vp
    ? `${vantage} is not a vantage point of plan ${plan.service}`
    : vp.cloud !== origin.cloud || vp.region !== origin.region
      ? `${vantage} is in ${vp.cloud} ${vp.region ?? `(${vp.provider})`}; this probe runs in ${origin.cloud} ${origin.region}: deploy it in its vantage point's region`
      : undefined;
  if (reason) throw new ValidationError([{ path: 'vantage', reason }], 'DR probe');
}

/**
 * This deployment's vantage point: the plan's vantage point of the cloud and region the function
 * runs in. Throws ValidationError naming `vantagePoints` when the plan has none there.
 */
export function placedVantage(plan: DrPlan, origin: Origin): string {
  const vp = plan.vantagePoints.find((v) => v.cloud === origin.cloud && v.region === origin.region);
  if (!vp)
    throw new ValidationError(
      [
        {
          path: 'vantagePoints',
          reason: `plan ${plan.service} has no ${origin.cloud} vantage point in ${origin.region}, where this function runs`,
        },
      ],
      'DR signals',
    );
  return vp.id;
}

export interface ProbeVantageInput {
  plan: DrPlan;
  vantage: string;
  /** Answers whenever the vantage point's own network works. */
  controlUrl: string;
}

/**
 * Main course of a scheduled probe: every probe signal of the vantage point observed once, with the
 * streaks kept from the last run, recorded here and sent to the other side. Errors: ValidationError
 * for a vantage point not placed where this runs or a probe detail the plan does not allow.
 */
export async function probeVantage(
  deps: VantageDeps & { get: HttpGet; streaks: ProbeStreakStore },
  input: ProbeVantageInput,
): Promise<{ observations: Observation[]; recorded: number }> {
  checkPlacement(input.plan, input.vantage, deps.origin);
  const service = input.plan.service;
  const kept = await deps.streaks.streaks(service, input.vantage);
  const run = await runProbes(
    { get: deps.get, clock: deps.clock },
    { plan: input.plan, vantage: input.vantage, controlUrl: input.controlUrl, streaks: kept },
  );
  const recorded = await recordAndSend(deps, run.observations);
  await deps.streaks.keepStreaks(service, input.vantage, run.streaks);
  return { observations: run.observations, recorded };
}

/** A deployed probe's settings, each with the name the deployment gives it (for the error that names it). */
export interface ProbeSettings {
  plan: { value: DrPlan | undefined; name: string };
  controlUrl: { value: string; name: string };
}

/**
 * A deployed vantage point's scheduled run: the plan's vantage point of this function's cloud and
 * region probes (`probeVantage`). Throws ValidationError naming a missing setting, or
 * `vantagePoints` when the plan has no vantage point where this runs.
 */
export async function scheduledProbe(
  deps: VantageDeps & { get: (vantage: string) => HttpGet; streaks: ProbeStreakStore },
  settings: ProbeSettings,
): Promise<{ plan: DrPlan; observations: Observation[] }> {
  const plan = settings.plan.value;
  const missing = [
    ...(plan ? [] : [{ path: settings.plan.name, reason: 'is required for a probe run: the DR plan' }]),
    ...(settings.controlUrl.value
      ? []
      : [
          {
            path: settings.controlUrl.name,
            reason: "is required: an endpoint the probe's own network always reaches",
          },
        ]),
  ];
  if (!plan || missing.length > 0) throw new ValidationError(missing, 'DR signals');
  const vantage = placedVantage(plan, deps.origin);
  const run = await probeVantage(
    { ...deps, get: deps.get(vantage) },
    { plan, vantage, controlUrl: settings.controlUrl.value },
  );
  return { plan, observations: run.observations };
}

export type ConsumeOutcome = { outcome: 'recorded' | 'ignored'; reason: string };

/**
 * The other side's `DrSignalObserved`: recorded in this side's log once. This side's own events and
 * other events are ignored; data that breaks the schema throws ValidationError naming the field.
 */
export async function recordPeerSignal(
  deps: { log: SignalLogStore; origin: Origin },
  event: CloudEvent,
): Promise<ConsumeOutcome> {
  const name = parseEventType(event.type)?.name;
  if (name !== 'DrSignalObserved')
    return { outcome: 'ignored', reason: `${name ?? event.type} is not a DR signal` };
  if (event.crosslinkorigin === deps.origin.cloud) return { outcome: 'ignored', reason: 'own event' };
  const o = checkEventData(DrSignalObserved, event.data);
  const added = await deps.log.record([o]);
  return {
    outcome: added ? 'recorded' : 'ignored',
    reason: added
      ? `${drSignalSubject(o)} at ${o.time}`
      : `${drSignalSubject(o)} at ${o.time} already recorded`,
  };
}

/**
 * The vantage point of `cloud` that reports the replication link (the plan's first of that cloud
 * with a replication signal): the link's state is read from the link records on that side, wherever
 * in the cloud its functions run. Throws ValidationError naming `signals` when the plan gives none.
 */
export function linkVantage(plan: DrPlan, cloud: Origin['cloud']): string {
  const vp = plan.vantagePoints.find(
    (v) =>
      v.cloud === cloud &&
      plan.signals.some((s) => s.observes === 'replication' && s.vantagePoints.includes(v.id)),
  );
  if (!vp)
    throw new ValidationError(
      [
        {
          path: 'signals',
          reason: `plan ${plan.service} gives no ${cloud} vantage point a replication signal`,
        },
      ],
      'DR link signals',
    );
  return vp.id;
}

export interface LinkSignalsInput {
  plan: DrPlan;
  /** This side's vantage point that reports the replication link. */
  vantage: string;
  /** The link that carries the service's replication: other links' changes are not its signal. */
  linkId: string;
}

/**
 * A `LinkStateChanged` of the replication link (this side's or relayed from the other): one line per
 * replication signal the plan gives this side's vantage point, at the event's time, recorded and
 * sent. A link signal never moves traffic: the decider notes it and holds failback. Other events and
 * other links are ignored.
 */
export async function recordLinkChange(
  deps: VantageDeps,
  input: LinkSignalsInput,
  event: CloudEvent,
): Promise<ConsumeOutcome & { lines: number }> {
  if (parseEventType(event.type)?.name !== 'LinkStateChanged')
    return { outcome: 'ignored', reason: `${event.type} is not a link state change`, lines: 0 };
  const data = checkEventData(LinkStateChanged, event.data);
  if (data.linkId !== input.linkId)
    return {
      outcome: 'ignored',
      reason: `${data.linkId} does not carry ${input.plan.service}'s replication`,
      lines: 0,
    };
  const lines = linkSignals(input.plan, input.vantage, {
    time: event.time,
    to: data.to,
    reason: data.reason,
  });
  const added = await recordAndSend(deps, lines);
  return {
    outcome: added ? 'recorded' : 'ignored',
    reason: `link ${data.to}: ${lines.length} signal(s) of ${input.vantage}${added ? '' : ', already recorded'}`,
    lines: lines.length,
  };
}

/** What one delivered event observed, by the side whose vantage points made the observations (the staleness alarms' count). */
export interface SignalEventResult {
  /** The side whose vantage points made the observations handled; none when nothing was. */
  side?: Origin['cloud'];
  observations: number;
  outcome: ConsumeOutcome;
}

/**
 * One delivered event on either side: the other side's `DrSignalObserved` recorded once, or the
 * replication link's `LinkStateChanged` recorded as this side's link signal (ignored without a plan
 * or a replication link). This side's own observations and other events are ignored.
 */
export async function recordSignalEvent(
  deps: VantageDeps,
  input: { plan: DrPlan | undefined; replicationLink: string | undefined },
  event: CloudEvent,
): Promise<SignalEventResult> {
  if (parseEventType(event.type)?.name === 'LinkStateChanged') {
    if (!input.plan)
      return { observations: 0, outcome: { outcome: 'ignored', reason: 'no DR plan deployed' } };
    if (!input.replicationLink)
      return {
        observations: 0,
        outcome: { outcome: 'ignored', reason: 'no replication link configured' },
      };
    const out = await recordLinkChange(
      deps,
      {
        plan: input.plan,
        vantage: linkVantage(input.plan, deps.origin.cloud),
        linkId: input.replicationLink,
      },
      event,
    );
    return { side: deps.origin.cloud, observations: out.lines, outcome: out };
  }
  const out = await recordPeerSignal(deps, event);
  return out.reason === 'own event' || out.reason.endsWith('is not a DR signal')
    ? { observations: 0, outcome: out }
    : { side: event.crosslinkorigin, observations: 1, outcome: out };
}
