/**
 * How a vantage point turns what it saw into a line of the signal log (events/dr-signal.v1.schema.json):
 * a probe's HTTP outcomes (N failures in a row), Route 53's `HealthCheckStatus` datapoints, and the
 * replication link's state. Pure: the adapters on each cloud do the I/O and pass the outcomes in.
 *
 * A vantage point whose own network is down cannot tell anything about the service: its report is
 * `unknown` with reason `vantage-down`, never `unhealthy`, so it cannot push the decider toward a
 * failover. It knows its network is down because its control endpoint (one it must always reach)
 * failed together with the probe.
 */
import { ValidationError } from '../errors.ts';
import type { DrPlan, SignalSpec } from './plan.ts';
import type { SignalRecord, SignalStatus } from './signal-log.ts';

/** Why a report has the status it has, when the status alone would mislead. */
export type ObservationReason = 'vantage-down' | 'no-data';

/** A signal line, with the optional reason the schema allows. */
export type Observation = SignalRecord & { reason?: ObservationReason };

/** What a probe signal's `detail` asks for: `GET <url>, <n> failures in a row`. */
export interface ProbeTarget {
  method: 'GET';
  url: string;
  failuresInARow: number;
}

const PROBE_DETAIL = /^GET (https?:\/\/\S+?),?(?:\s+(\d+) failures? in a row)?(?:\s|$)/;

/**
 * Reads a probe signal's `detail`. Without a count, one failure is enough (`1 failure in a row`).
 * Throws ValidationError naming `signals[i].detail` when the detail says no GET of an http(s) URL.
 */
export function probeTarget(spec: SignalSpec, path: string): ProbeTarget {
  const m = PROBE_DETAIL.exec(spec.detail ?? '');
  if (!m?.[1])
    throw new ValidationError(
      [
        {
          path: `${path}.detail`,
          reason: `a probe signal's detail must start with "GET <http(s) URL>" (optionally ", <n> failures in a row"); got ${JSON.stringify(spec.detail ?? '')}`,
        },
      ],
      'DR plan',
    );
  const n = m[2] === undefined ? 1 : Number(m[2]);
  if (n < 1 || n > 10)
    throw new ValidationError(
      [{ path: `${path}.detail`, reason: `failures in a row must be 1 to 10; got ${n}` }],
      'DR plan',
    );
  return { method: 'GET', url: m[1], failuresInARow: n };
}

/** The probe signals one vantage point runs, with their targets. */
export function probesOf(plan: DrPlan, vantage: string): { spec: SignalSpec; target: ProbeTarget }[] {
  if (!plan.vantagePoints.some((vp) => vp.id === vantage))
    throw new ValidationError(
      [{ path: 'vantage', reason: `${vantage} is not a vantage point of plan ${plan.service}` }],
      'probe',
    );
  return plan.signals.flatMap((spec, i) =>
    spec.source === 'probe' && spec.vantagePoints.includes(vantage)
      ? [{ spec, target: probeTarget(spec, `signals[${i}]`) }]
      : [],
  );
}

/** One try of a probe: an HTTP answer (its status code), or no answer (timeout, refused, reset). */
export type ProbeOutcome = { answered: true; status: number } | { answered: false; error: string };

/** What a probe keeps between runs for one signal: its failures in a row and what it last reported. */
export interface ProbeStreak {
  failures: number;
  reported: SignalStatus;
}

export const NEW_STREAK: ProbeStreak = { failures: 0, reported: 'unknown' };

const describeOutcome = (o: ProbeOutcome) => (o.answered ? `HTTP ${o.status}` : o.error);

/**
 * One probe run. A 2xx answer is a success and resets the streak. Anything else is a failure; the
 * signal turns unhealthy at the target's count of failures in a row and keeps its last status
 * before that. When the vantage point's control endpoint failed too (`vantageReachable: false`),
 * the run says nothing of the service: the report is `unknown` (`vantage-down`) and the streak is
 * left as it was, so a vantage point's own outage never counts as failures of the service.
 */
export function observeProbe(
  previous: ProbeStreak,
  target: ProbeTarget,
  outcome: ProbeOutcome,
  vantageReachable: boolean,
): { streak: ProbeStreak; status: SignalStatus; detail: string; reason?: ObservationReason } {
  const ok = outcome.answered && outcome.status >= 200 && outcome.status < 300;
  if (!ok && !vantageReachable)
    return {
      streak: previous,
      status: 'unknown',
      reason: 'vantage-down',
      detail: `vantage point's network down: ${target.url} (${describeOutcome(outcome)}) and its control endpoint both unreachable`,
    };
  if (ok)
    return {
      streak: { failures: 0, reported: 'healthy' },
      status: 'healthy',
      detail: `GET ${target.url}: ${describeOutcome(outcome)}`,
    };
  const failures = previous.failures + 1;
  const status = failures >= target.failuresInARow ? 'unhealthy' : previous.reported;
  return {
    streak: { failures, reported: status },
    status,
    detail: `GET ${target.url}: ${describeOutcome(outcome)} (${failures} of ${target.failuresInARow} failures in a row)`,
  };
}

/** One datapoint of Route 53's `HealthCheckStatus` (1 healthy, 0 not), as GetMetricData returns it. */
export interface MetricPoint {
  time: number;
  value: number;
}

/**
 * The external checker's report from `HealthCheckStatus` (statistic Minimum, one-minute period): the
 * newest datapoint no older than `maxAgeMs` decides; none is `unknown` (`no-data`), never unhealthy.
 */
export function healthCheckObservation(
  points: readonly MetricPoint[],
  now: number,
  maxAgeMs: number,
  healthCheckId: string,
): { status: SignalStatus; detail: string; reason?: ObservationReason } {
  const recent = points.filter((p) => p.time <= now && now - p.time <= maxAgeMs);
  const newest = recent.reduce<MetricPoint | undefined>((a, p) => (!a || p.time > a.time ? p : a), undefined);
  if (!newest)
    return {
      status: 'unknown',
      reason: 'no-data',
      detail: `HealthCheckStatus of ${healthCheckId}: no datapoint in the last ${Math.round(maxAgeMs / 1000)}s`,
    };
  return {
    status: newest.value >= 1 ? 'healthy' : 'unhealthy',
    detail: `HealthCheckStatus of ${healthCheckId}: ${newest.value} at ${new Date(newest.time).toISOString()}`,
  };
}

/**
 * The replication link's report from its state: ACTIVE and DEGRADED (some BGP sessions down, the
 * path still up) carry replication; DOWN and FAILED do not; the provisioning and retired states say
 * nothing of the path. A link signal never moves traffic: the decider only notes it and holds failback.
 */
export function linkObservation(state: string, reason: string): { status: SignalStatus; detail: string } {
  const status: SignalStatus =
    state === 'ACTIVE' || state === 'DEGRADED'
      ? 'healthy'
      : state === 'DOWN' || state === 'FAILED'
        ? 'unhealthy'
        : 'unknown';
  return { status, detail: `link ${state}: ${reason}` };
}

/** The signals of the plan one vantage point reports, by source. */
export function signalsOf(plan: DrPlan, vantage: string, source: string): SignalSpec[] {
  return plan.signals.filter((s) => s.source === source && s.vantagePoints.includes(vantage));
}

/**
 * The replication signals one vantage point reports from the link's `LinkStateChanged` (its `to`
 * state and `reason`): one line per replication signal the plan gives it, at the event's time. The
 * deployment names which link carries the service's replication; other links' events are not passed.
 */
export function linkSignals(
  plan: DrPlan,
  vantage: string,
  change: { time: string; to: string; reason: string },
): Observation[] {
  const o = linkObservation(change.to, change.reason);
  return plan.signals
    .filter((s) => s.observes === 'replication' && s.vantagePoints.includes(vantage))
    .map((s) => ({
      time: change.time,
      service: plan.service,
      vantage,
      signal: s.name,
      status: o.status,
      detail: o.detail,
    }));
}
