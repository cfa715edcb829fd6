/**
 * The Google side's vantage point and its copy of the signal log (docs/dr-signals.md), as the AWS
 * side's `drSignals` (functions/aws/dr-signals.ts):
 *
 * - a scheduled run (Cloud Scheduler's POST): the plan's Google vantage point in the function's
 *   region runs its probes, each observation recorded in Firestore and published on the events
 *   topic as `DrSignalObserved`, which the relay carries to AWS;
 * - AWS's `DrSignalObserved` (a push of the peer events): recorded once;
 * - `LinkStateChanged` of the link carrying the service's replication (this side's or AWS's): the
 *   replication signal of the plan's Google vantage point, recorded and published.
 *
 * The plan is CROSSLINK_DR_PLAN (the plan's JSON; Cloud Run allows far larger variables than Lambda),
 * validated when the dependencies are built.
 */
import type { Firestore } from '@google-cloud/firestore';
import { fetchGet } from '#aws/http-get.ts';
import type { Clock } from '#core/clock.ts';
import type { Observation } from '#core/dr/observations.ts';
import { type DrPlan, validateDrPlan } from '#core/dr/plan.ts';
import type { HttpGet } from '#core/dr/probe-run.ts';
import {
  recordSignalEvent,
  type SignalEventResult,
  scheduledProbe,
  type VantageDeps,
} from '#core/dr/vantage.ts';
import type { Cloud, CloudEvent } from '#core/envelope.ts';
import type { EventSink } from '#core/link/ports.ts';
import { jsonSetting } from '#core/link/settings.ts';
import { FirestoreSignalLog } from './signal-log.ts';

/** How long a probe waits for an answer: well inside the schedule's minute. */
const PROBE_TIMEOUT_MS = 5_000;

export interface GcpDrSignalsDeps extends VantageDeps {
  plan: DrPlan | undefined;
  log: FirestoreSignalLog;
  get: (vantage: string) => HttpGet;
  /** An endpoint the probe's own network always reaches (CROSSLINK_DR_CONTROL_URL). */
  controlUrl: string;
  /** The link carrying the service's replication (CROSSLINK_DR_REPLICATION_LINK). */
  replicationLink?: string;
}

/** What a scheduled run observed (the staleness alert's log metric counts it). */
export interface GcpDrSignalsResult {
  side?: Cloud;
  observations: number;
  outcome: { observations: Observation[] };
}

/** Reads CROSSLINK_DR_PLAN (the plan as JSON); none: undefined. Throws ValidationError naming the variable or the plan's field. */
export function readDrPlanVariable(env: NodeJS.ProcessEnv): DrPlan | undefined {
  const value = jsonSetting(env, 'CROSSLINK_DR_PLAN');
  return value === undefined ? undefined : validateDrPlan(value, 'CROSSLINK_DR_PLAN');
}

/** The dependencies of a function placed in `project` / `region`, configured by `env`. */
export function buildGcpDrSignalsDeps(
  env: NodeJS.ProcessEnv,
  placement: { project: string; region: string },
  clients: { firestore: Firestore; bus: EventSink; clock: Clock },
): GcpDrSignalsDeps {
  return {
    plan: readDrPlanVariable(env),
    origin: { cloud: 'gcp', project: placement.project, region: placement.region },
    clock: clients.clock,
    log: new FirestoreSignalLog(clients.firestore),
    bus: clients.bus,
    get: (vantage) => fetchGet(vantage, PROBE_TIMEOUT_MS),
    controlUrl: env.CROSSLINK_DR_CONTROL_URL ?? '',
    ...(env.CROSSLINK_DR_REPLICATION_LINK ? { replicationLink: env.CROSSLINK_DR_REPLICATION_LINK } : {}),
  };
}

/** Cloud Scheduler's call: the Google vantage point's probes in the function's region. */
export async function gcpScheduledRun(deps: GcpDrSignalsDeps): Promise<GcpDrSignalsResult> {
  const { observations } = await scheduledProbe(
    { ...deps, streaks: deps.log },
    {
      plan: { value: deps.plan, name: 'CROSSLINK_DR_PLAN' },
      controlUrl: { value: deps.controlUrl, name: 'CROSSLINK_DR_CONTROL_URL' },
    },
  );
  return { side: 'gcp', observations: observations.length, outcome: { observations } };
}

/** A pushed event: AWS's observation, or a link's state change. */
export function gcpDrSignalsEvent(deps: GcpDrSignalsDeps, event: CloudEvent): Promise<SignalEventResult> {
  return recordSignalEvent(deps, { plan: deps.plan, replicationLink: deps.replicationLink }, event);
}
