/**
 * An operator's control taken where the plan's executor is deployed (docs/dr-executor.md
 * "Operations"), both clouds: AWS's `drControl` (functions/aws/dr-control.ts, the links table) and
 * Google's `dr-control` (functions/gcp/dr-control.ts, Firestore) parse their platform's request and
 * verified caller, then call `takeControl` over their log, their executor's store and their
 * decision hook:
 *
 * - the control is checked without replaying the signal log (./controls.ts `storedControlIssues`: an
 *   approval against the executor's run as stored, a pause or a resume against the recorded
 *   controls), refused with ControlRefusedError naming the field;
 * - it is recorded at the number after the last control read, only if no control holds it (a
 *   conditional write): a control racing it is checked again against the log that holds the other;
 * - a request retried with the same idempotency key finds its control recorded and records nothing;
 * - then the decision hook runs: the decider sees the control at once (a pause holds it, an approval
 *   lets the pending move through at the next epoch).
 *
 * The principal recorded is the caller the platform verified, never a field of the request; the time
 * is the deployment's clock, after the last control's (the decider orders controls by time, the
 * executor by number).
 */
import type { Clock } from '../clock.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors.ts';
import { type ControlRequest, recordOf, storedControlIssues } from './controls.ts';
import type { Run } from './executor.ts';
import type { Decision } from './failover-state.ts';
import type { DrPlan } from './plan.ts';
import type { ControlRecord } from './signal-log.ts';

/** A control the stored state does not allow now (a wrong epoch, a second pause): nothing recorded. */
export class ControlRefusedError extends ConflictError {
  override name = 'ControlRefusedError';
}

/** A recorded control, with its number and the idempotency key of the request that recorded it. */
export interface StoredControl {
  sequence: number;
  record: ControlRecord;
  request?: string;
}

/** Where a side keeps the operators' controls (its copy of the signal log). */
export interface ControlLog {
  /** The service's controls, in the order they were recorded. */
  controls(service: string): Promise<StoredControl[]>;
  /** Records a control at `sequence`, only when none holds that number: false when another did first. */
  recordControl(sequence: number, record: ControlRecord, request?: string): Promise<boolean>;
}

export interface ControlTakingDeps {
  plan: DrPlan | undefined;
  /** Where the plan is missing: what deploys it (named in the 404). */
  planSetting: string;
  log: ControlLog;
  clock: Clock;
  /** The executor's current (or last) run; null where no executor runs here. */
  run(service: string): Promise<Run | null>;
  /** The decision hook, run once the control is recorded: the decisions it handed on. */
  decide(): Promise<Decision[]>;
}

/** What a recorded (or found) control answers. */
export interface ControlAnswer {
  control: ControlRecord;
  /** False when a request with the same idempotency key had recorded it already. */
  recorded: boolean;
  /** The decisions the hook handed on after it (an approved move, the hold of a pause). */
  decisions: Decision[];
}

export interface ControlCall {
  service: string;
  request: ControlRequest;
  /** The caller the platform verified. */
  by: string;
  /** The request's idempotency key, if it gave one. */
  key?: string;
}

/** Writes lost to a racing control before the request gives up (the caller may retry it). */
const RACES = 5;

/** The plan this deployment holds for `service`, or NotFoundError naming the field. */
export function deployedPlan(deps: Pick<ControlTakingDeps, 'plan' | 'planSetting'>, service: string): DrPlan {
  const plan = deps.plan;
  if (!plan || plan.service !== service)
    throw new NotFoundError(
      plan
        ? `service: no DR plan for "${service}" is deployed here (this deployment's plan is ${plan.service})`
        : `service: no DR plan is deployed here (${deps.planSetting}), so "${service}" has none`,
    );
  return plan;
}

/** Checks the control, records it once, runs the decision hook; `created` says whether this call recorded it. */
export async function takeControl(
  deps: ControlTakingDeps,
  call: ControlCall,
): Promise<ControlAnswer & { created: boolean }> {
  const { service, request, by, key } = call;
  const plan = deployedPlan(deps, service);
  if (key !== undefined && (key.length === 0 || key.length > 128))
    throw new ValidationError([{ path: 'idempotency-key', reason: 'must be 1 to 128 characters' }]);
  for (let attempt = 0; attempt < RACES; attempt++) {
    const controls = await deps.log.controls(service);
    const earlier = key === undefined ? undefined : controls.find((c) => c.request === key);
    if (earlier) {
      if (earlier.record.by !== by || earlier.record.control !== request.control)
        throw new ControlRefusedError(
          `idempotency-key: "${key}" recorded a ${earlier.record.control} by ${earlier.record.by}; use a new key for another control`,
        );
      // Recorded by an earlier request whose hook may not have run (it failed after the write): run it.
      return { control: earlier.record, recorded: false, created: false, decisions: await deps.decide() };
    }
    const record = checked(
      plan,
      await deps.run(service),
      controls.map((c) => c.record),
      request,
      by,
      Math.max(deps.clock.now(), Date.parse(controls.at(-1)?.record.time ?? '') + 1 || 0),
    );
    const next = (controls.at(-1)?.sequence ?? 0) + 1;
    if (await deps.log.recordControl(next, record, key))
      return { control: record, recorded: true, created: true, decisions: await deps.decide() };
  }
  throw new ConflictError(
    `${service}: other controls were recorded while this one was checked, ${RACES} times: try again`,
  );
}

/**
 * The control's line, or ControlRefusedError naming the field: an approval checked against the
 * executor's run as stored, a pause or a resume against the recorded controls.
 */
function checked(
  plan: DrPlan,
  run: Run | null,
  controls: readonly ControlRecord[],
  request: ControlRequest,
  by: string,
  now: number,
): ControlRecord {
  const time = new Date(now).toISOString();
  const issues = storedControlIssues(run, controls, plan, request, time);
  if (issues.length > 0)
    throw new ControlRefusedError(issues.map((i) => `${plan.service}: ${i.path}: ${i.reason}`).join('; '));
  return recordOf(plan, request, by, time, run?.decision);
}

/**
 * A side's log as the decider replays it, at or after `since` (ms): the observations of that window
 * and the operators' controls (an operator's few, read whole, the earlier ones left out), in time order.
 */
export async function logRecords<T extends { time: string }>(
  log: {
    since(service: string, since?: number): Promise<T[]>;
    controls(service: string): Promise<StoredControl[]>;
  },
  service: string,
  since = 0,
): Promise<(T | ControlRecord)[]> {
  const [observations, controls] = await Promise.all([log.since(service, since), log.controls(service)]);
  return mergeByTime<T | ControlRecord>(
    observations,
    controls.map((c) => c.record).filter((c) => Date.parse(c.time) >= since),
  );
}

/** Two time-ordered lists as one: the log the decider replays (a control after the observations of its time). */
export function mergeByTime<T extends { time: string }>(
  observations: readonly T[],
  controls: readonly T[],
): T[] {
  const sorted = [...controls].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  const out: T[] = [];
  let i = 0;
  for (const o of observations) {
    while (i < sorted.length && Date.parse((sorted[i] as T).time) < Date.parse(o.time))
      out.push(sorted[i++] as T);
    out.push(o);
  }
  return [...out, ...sorted.slice(i)];
}
