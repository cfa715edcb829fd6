/**
 * Lambda `drSignals` (docs/dr-signals.md): the AWS side's vantage points and its copy of the signal
 * log. One function, three inputs from the bus:
 *
 * - the schedule (every minute, only where the stack runs in the AWS vantage point's region): the
 *   vantage point's probes, and the external checker's Route 53 `HealthCheckStatus` when the
 *   deployment maps its signals to health checks; each observation recorded in the links table and
 *   sent to Google as `DrSignalObserved`;
 * - Google's `DrSignalObserved` (relayed to the bus): recorded once;
 * - `LinkStateChanged` of the link carrying the service's replication (this side's or Google's):
 *   the replication signal of the plan's AWS vantage point, recorded and sent.
 *
 * Then, where the plan's traffic switch is on AWS and the failover state machine is deployed
 * (CROSSLINK_DR_FAILOVER_ARN), the decider runs on every signal held and hands each new decision on
 * (./dr-decide.ts).
 *
 * The DR plan is embedded in the bundle at packaging (esbuild `define` of CROSSLINK_DR_PLAN from
 * config/dr-plan.cjs, which validates it and derives the decider's settings), as the policy is: no
 * YAML parser, no schema compiler and no file in the zip.
 */

import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { type Clock, systemClock } from '#core/clock.ts';
import type { Observation } from '#core/dr/observations.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import type { HttpGet } from '#core/dr/probe-run.ts';
import {
  recordAndSend,
  recordSignalEvent,
  type SignalEventResult,
  scheduledProbe,
  type VantageDeps,
} from '#core/dr/vantage.ts';
import type { Origin } from '#core/envelope.ts';
import { ValidationError } from '#core/errors.ts';
import { jsonSetting, need } from '#core/link/settings.ts';
import { type DecideDeps, type DecideOutcome, decideAndStart, decisionHookFromEnv } from './dr-decide.ts';
import { embeddedDrPlan } from './dr-plan.ts';
import type { EmfMetrics } from './emf.ts';
import { type EventBridgeEvent, fromEventBridgeEvent } from './envelope.ts';
import { EventBridgeSink } from './event-sink.ts';
import { readHealthCheckSignals } from './health-check-signals.ts';
import { fetchGet } from './http-get.ts';
import { DynamoDbSignalLog } from './signal-log.ts';

/** How long a probe waits for an answer: well inside the schedule's minute. */
const PROBE_TIMEOUT_MS = 5_000;

export interface DrSignalsDeps extends VantageDeps {
  plan: DrPlan | undefined;
  log: DynamoDbSignalLog;
  get: (vantage: string) => HttpGet;
  cloudwatch: CloudWatchClient;
  /** The control endpoint the probes' own network must always reach (CROSSLINK_DR_CONTROL_URL). */
  controlUrl: string;
  /** The external checker: its vantage point and which health check answers each of its signals (CROSSLINK_DR_HEALTH_CHECKS). */
  healthChecks?: { vantage: string; healthChecks: Record<string, string> };
  /** The link carrying the service's replication (CROSSLINK_DR_REPLICATION_LINK). */
  replicationLink?: string;
  /** The decision hook where this side executes the plan (CROSSLINK_DR_FAILOVER_ARN): ./dr-decide.ts. */
  decide?: DecideDeps;
}

/** Reads CROSSLINK_DR_HEALTH_CHECKS: `{"vantage": "<id>", "healthChecks": {"<signal>": "<id>"}}`, or empty. */
export function readHealthCheckMap(env: NodeJS.ProcessEnv): DrSignalsDeps['healthChecks'] {
  const value = jsonSetting(env, 'CROSSLINK_DR_HEALTH_CHECKS');
  if (value === undefined) return undefined;
  const v = value as { vantage?: unknown; healthChecks?: unknown };
  const checks = v?.healthChecks;
  if (
    typeof v?.vantage !== 'string' ||
    !checks ||
    typeof checks !== 'object' ||
    Object.values(checks).some((id) => typeof id !== 'string')
  )
    throw new ValidationError(
      [
        {
          path: 'CROSSLINK_DR_HEALTH_CHECKS',
          reason:
            'must be {"vantage": "<vantage point id>", "healthChecks": {"<signal>": "<health check id>"}}',
        },
      ],
      'DR settings',
    );
  return { vantage: v.vantage, healthChecks: checks as Record<string, string> };
}

let cached: DrSignalsDeps | undefined;

/** The function's dependencies from its environment, once per cold start. */
export function drSignalsDepsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  plan: DrPlan | undefined = embeddedDrPlan(),
  clock: Clock = systemClock,
): DrSignalsDeps {
  if (cached) return cached;
  const region = need(env, 'AWS_REGION');
  const origin: Origin = { cloud: 'aws', accountId: need(env, 'CROSSLINK_ACCOUNT_ID'), region };
  const dynamo = new DynamoDBClient({ region });
  const log = new DynamoDbSignalLog(dynamo, need(env, 'CROSSLINK_TABLE'));
  const bus = new EventBridgeSink(new EventBridgeClient({ region }), { busName: need(env, 'CROSSLINK_BUS') });
  const decide = decisionHookFromEnv(env, { plan, log, dynamo, bus, origin, clock });
  cached = {
    plan,
    origin,
    clock,
    log,
    bus,
    get: (vantage) => fetchGet(vantage, PROBE_TIMEOUT_MS),
    // Route 53 publishes HealthCheckStatus to us-east-1 only.
    cloudwatch: new CloudWatchClient({ region: 'us-east-1' }),
    controlUrl: env.CROSSLINK_DR_CONTROL_URL ?? '',
    healthChecks: readHealthCheckMap(env),
    ...(env.CROSSLINK_DR_REPLICATION_LINK ? { replicationLink: env.CROSSLINK_DR_REPLICATION_LINK } : {}),
    ...(decide && { decide }),
  };
  return cached;
}

export interface ScheduledRun {
  probes: Observation[];
  healthChecks: Observation[];
}

/** One scheduled run: this region's vantage point's probes, then the external checker's health checks. */
export async function scheduledRun(deps: DrSignalsDeps): Promise<ScheduledRun> {
  const { plan, observations: probes } = await scheduledProbe(
    { ...deps, streaks: deps.log },
    {
      plan: { value: deps.plan, name: 'CROSSLINK_DR_PLAN (CROSSLINK_DR_PLAN_FILE at packaging)' },
      controlUrl: { value: deps.controlUrl, name: 'CROSSLINK_DR_CONTROL_URL' },
    },
  );
  let healthChecks: Observation[] = [];
  if (deps.healthChecks) {
    healthChecks = await readHealthCheckSignals(
      { cloudwatch: deps.cloudwatch, clock: deps.clock },
      { plan, ...deps.healthChecks },
    );
    await recordAndSend(deps, healthChecks);
  }
  return { probes, healthChecks };
}

/** What one invocation observed, by the side that made the observations (the staleness alarms' metric). */
export type DrSignalsResult = (
  | SignalEventResult
  | { side: 'aws'; observations: number; outcome: ScheduledRun }
) & { decided?: DecideOutcome };

/** One bus event: the schedule, Google's observation, or a link's state change. */
export async function drSignalsStep(deps: DrSignalsDeps, ev: EventBridgeEvent): Promise<DrSignalsResult> {
  let result: DrSignalsResult;
  if (ev.source === 'aws.events' && ev['detail-type'] === 'Scheduled Event') {
    const run = await scheduledRun(deps);
    result = { side: 'aws', observations: run.probes.length + run.healthChecks.length, outcome: run };
  } else
    result = await recordSignalEvent(
      deps,
      { plan: deps.plan, replicationLink: deps.replicationLink },
      fromEventBridgeEvent(ev),
    );
  // Then the decider on every signal held: a schedule's tick lets its time-based rules fire.
  return deps.decide ? { ...result, decided: await decideAndStart(deps.decide) } : result;
}

/** Counts the observations handled as EMF `DrSignalsRecorded` by side (`origin`): the staleness alarms read it. */
export function countObserved(m: EmfMetrics, result: DrSignalsResult): void {
  if (!result.side) return;
  m.addDimension('origin', result.side);
  m.addMetric('DrSignalsRecorded', 'Count', result.observations);
}
