/**
 * How the local EventBridge Scheduler invokes a schedule's target on the virtual clock, as the
 * Scheduler User Guide describes it:
 *
 * - each invocation assumes the schedule's execution role as `scheduler.amazonaws.com` (the role's
 *   trust policy must allow it, with the schedule as `aws:SourceArn`), and calls the target's
 *   action with that role's session, which IAM authorizes (`states:StartExecution`,
 *   `lambda:InvokeFunction`, `events:PutEvents`, `sqs:SendMessage`);
 * - the target's `Input` gets the context attributes `<aws.scheduler.schedule-arn>`,
 *   `<aws.scheduler.scheduled-time>`, `<aws.scheduler.execution-id>` and
 *   `<aws.scheduler.attempt-number>` replaced;
 * - a failed invocation is retried with backoff under the target's `RetryPolicy` (default 185
 *   retries within 24 h), then sent to its dead-letter queue (with the execution role, which needs
 *   `sqs:SendMessage` there) or dropped; every outcome is counted per schedule;
 * - a `FLEXIBLE` window invokes at a seeded random time within `MaximumWindowInMinutes` after the
 *   scheduled time; the scheduled time stays the one the attributes carry.
 */
import { randomUUID } from 'node:crypto';
import type { Timer } from '#local/clock.ts';
import { putEventsFor } from '../events/put-events.ts';
import { authorizeEngineCall, sessionOf } from '../iam/enforce.ts';
import type { World } from '../service.ts';
import { lambdaRuntime } from '../services/lambda.ts';
import { queuesOf } from '../services/sqs.ts';
import { startExecutionFor } from '../services/states.ts';
import type { SchedulerExpression } from './expressions.ts';
import { type ScheduleRequest, type TargetSpec, targetKind } from './requests.ts';

/** What the Scheduler counts per schedule (its CloudWatch metrics, by the same names). */
export interface ScheduleCounts {
  InvocationAttemptCount: number;
  TargetErrorCount: number;
  InvocationsFailedToBeSentToDeadLetterCount: number;
  InvocationsSentToDeadLetterCount: number;
  InvocationDroppedCount: number;
  /** Invocations the target accepted. */
  Delivered: number;
}

export interface Schedule extends ScheduleRequest {
  arn: string;
  /** Epoch ms. */
  creationDate: number;
  lastModificationDate: number;
  expression: SchedulerExpression;
  timer?: Timer | undefined;
  /** The next scheduled time looked for is at or after this (epoch ms). */
  cursor: number;
  counts: ScheduleCounts;
}

export interface ScheduleGroup {
  name: string;
  arn: string;
  creationDate: number;
  lastModificationDate: number;
}

/** One invocation's final outcome (tests, `sim status`). */
export interface Invocation {
  schedule: string;
  scheduledTime: string;
  targetArn: string;
  attempts: number;
  outcome: 'delivered' | 'dead-lettered' | 'dropped';
  error?: string;
}

export interface SchedulerState {
  accountId: string;
  region: string;
  groups: Map<string, ScheduleGroup>;
  /** By `<group>/<name>`. */
  schedules: Map<string, Schedule>;
  invocations: Invocation[];
}

export const emptyCounts = (): ScheduleCounts => ({
  InvocationAttemptCount: 0,
  TargetErrorCount: 0,
  InvocationsFailedToBeSentToDeadLetterCount: 0,
  InvocationsSentToDeadLetterCount: 0,
  InvocationDroppedCount: 0,
  Delivered: 0,
});

/** Backoff between retries: exponential from 1 s, capped at 5 min (the Scheduler publishes no figures). */
const retryDelayMs = (attempt: number) => Math.min(1000 * 2 ** attempt, 300_000);

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The target input with the context attributes replaced. */
export function contextInput(
  input: string | undefined,
  values: { scheduleArn: string; scheduledTime: number; executionId: string; attempt: number },
): string | undefined {
  if (input === undefined) return undefined;
  const attrs: Record<string, string> = {
    'schedule-arn': values.scheduleArn,
    'scheduled-time': isoSeconds(values.scheduledTime),
    'execution-id': values.executionId,
    'attempt-number': String(values.attempt),
  };
  return input.replace(/<aws\.scheduler\.([a-z-]+)>/g, (all, key: string) => attrs[key] ?? all);
}

/** The action the execution role must be allowed on the target, by its kind. */
const TARGET_ACTION = {
  states: 'states:StartExecution',
  lambda: 'lambda:InvokeFunction',
  events: 'events:PutEvents',
  sqs: 'sqs:SendMessage',
} as const;

/** Calls the target once as the execution role's session; throws why it failed. */
async function callTarget(world: World, schedule: Schedule, target: TargetSpec, input: string | undefined) {
  const asScheduler = {
    service: 'scheduler.amazonaws.com',
    sourceArn: schedule.arn,
    sourceAccount: schedule.arn.split(':')[4] as string,
  };
  authorizeEngineCall(world, asScheduler, 'sts:AssumeRole', target.RoleArn);
  const session = { session: sessionOf(target.RoleArn, `scheduler-${schedule.Name}`.slice(0, 64)) };
  const kind = targetKind(target.Arn);
  if (!kind) throw new Error(`unsupported target ${target.Arn}`);
  const [, , , region = '', account = ''] = target.Arn.split(':');
  const context: Record<string, string> =
    kind === 'events' && target.EventBridgeParameters
      ? {
          'events:source': target.EventBridgeParameters.Source,
          'events:detail-type': target.EventBridgeParameters.DetailType,
        }
      : {};
  authorizeEngineCall(world, session, TARGET_ACTION[kind], target.Arn, context);
  switch (kind) {
    case 'states':
      startExecutionFor(world, target.Arn, input ?? '{}');
      return;
    case 'lambda':
      lambdaRuntime(world, account, region).invokeAsync(target.Arn, JSON.parse(input ?? '{}'));
      return;
    case 'sqs': {
      const q = queuesOf(world, target.Arn);
      if (!q) throw new Error(`The specified queue ${target.Arn} does not exist.`);
      q.send(input ?? '');
      return;
    }
    case 'events': {
      const out = await putEventsFor(world, account, region, [
        {
          Source: target.EventBridgeParameters?.Source as string,
          DetailType: target.EventBridgeParameters?.DetailType as string,
          Detail: input ?? '{}',
          EventBusName: target.Arn,
        },
      ]);
      const failed = out.Entries[0];
      if (failed && 'ErrorCode' in failed) throw new Error(`${failed.ErrorCode}: ${failed.ErrorMessage}`);
      return;
    }
  }
}

/**
 * One scheduled invocation: attempts, retries and the dead-letter queue, each outcome counted on
 * the schedule and recorded in the state. The target is the one the schedule had when it fired.
 */
export function invoke(world: World, state: SchedulerState, schedule: Schedule, scheduledTime: number): void {
  const clock = world.clock;
  const target = structuredClone(schedule.Target);
  const started = clock.now();
  const maxAttempts = (target.RetryPolicy?.MaximumRetryAttempts ?? 185) + 1;
  const maxAgeMs = (target.RetryPolicy?.MaximumEventAgeInSeconds ?? 86_400) * 1000;
  const executionId = randomUUID().replace(/-/g, '').slice(0, 16);
  const counts = schedule.counts;
  const record = (outcome: Invocation['outcome'], attempts: number, error?: string) => {
    state.invocations.push({
      schedule: `${schedule.GroupName}/${schedule.Name}`,
      scheduledTime: isoSeconds(scheduledTime),
      targetArn: target.Arn,
      attempts,
      outcome,
      ...(error !== undefined && { error }),
    });
    if (state.invocations.length > 1000) state.invocations.shift();
  };
  const attempt = async (n: number) => {
    if (clock.stopped) return;
    counts.InvocationAttemptCount++;
    const input = contextInput(target.Input, {
      scheduleArn: schedule.arn,
      scheduledTime,
      executionId,
      attempt: n + 1,
    });
    try {
      await callTarget(world, schedule, target, input);
      counts.Delivered++;
      record('delivered', n + 1);
    } catch (err) {
      counts.TargetErrorCount++;
      const message = (err as Error).message;
      const delay = retryDelayMs(n);
      if (n + 1 < maxAttempts && clock.now() + delay - started <= maxAgeMs) {
        clock.at(clock.now() + delay, () => attempt(n + 1));
        return;
      }
      deadLetter(world, schedule, target, input ?? '', {
        message,
        attempts: n + 1,
        exhausted: n + 1 >= maxAttempts ? 'MaximumRetryAttempts' : 'MaximumEventAgeInSeconds',
        record,
      });
    }
  };
  queueMicrotask(() => void attempt(0));
}

function deadLetter(
  world: World,
  schedule: Schedule,
  target: TargetSpec,
  body: string,
  failure: {
    message: string;
    attempts: number;
    exhausted: string;
    record: (outcome: Invocation['outcome'], attempts: number, error?: string) => void;
  },
): void {
  const counts = schedule.counts;
  const dlqArn = target.DeadLetterConfig?.Arn;
  if (!dlqArn) {
    counts.InvocationDroppedCount++;
    failure.record('dropped', failure.attempts, failure.message);
    return;
  }
  try {
    // The Scheduler sends to the dead-letter queue with the schedule's execution role.
    authorizeEngineCall(
      world,
      { session: sessionOf(target.RoleArn, `scheduler-${schedule.Name}`.slice(0, 64)) },
      'sqs:SendMessage',
      dlqArn,
    );
    const q = queuesOf(world, dlqArn);
    if (!q) throw new Error(`The specified queue ${dlqArn} does not exist.`);
    const attr = (v: string) => ({ DataType: 'String', StringValue: v });
    q.send(body === '' ? '{}' : body, {
      attributes: {
        ERROR_CODE: attr(/AccessDenied/i.test(failure.message) ? 'AccessDeniedException' : 'TargetError'),
        ERROR_MESSAGE: attr(failure.message.slice(0, 256)),
        EXHAUSTED_RETRY_CONDITION: attr(failure.exhausted),
        RETRY_ATTEMPTS: attr(String(failure.attempts - 1)),
        SCHEDULE_ARN: attr(schedule.arn),
        TARGET_ARN: attr(target.Arn),
      },
    });
    counts.InvocationsSentToDeadLetterCount++;
    failure.record('dead-lettered', failure.attempts, failure.message);
  } catch (err) {
    counts.InvocationsFailedToBeSentToDeadLetterCount++;
    counts.InvocationDroppedCount++;
    failure.record(
      'dropped',
      failure.attempts,
      `${failure.message}; dead-letter queue: ${(err as Error).message}`,
    );
  }
}

/**
 * Arms the schedule's next invocation on the virtual clock (none while DISABLED). After the last
 * one (an `at()` that ran, an EndDate reached), a schedule whose ActionAfterCompletion is DELETE is
 * deleted.
 */
export function arm(world: World, state: SchedulerState, schedule: Schedule): void {
  schedule.timer?.cancel();
  schedule.timer = undefined;
  if (schedule.State !== 'ENABLED' || world.clock.stopped) return;
  const due = schedule.expression.next(Math.max(schedule.cursor, world.clock.now()));
  if (due === undefined) {
    complete(state, schedule);
    return;
  }
  const window = schedule.FlexibleTimeWindow;
  const jitter =
    window.Mode === 'FLEXIBLE'
      ? Math.floor(world.random.next() * (window.MaximumWindowInMinutes as number) * 60_000)
      : 0;
  schedule.timer = world.clock.at(due + jitter, () => {
    schedule.timer = undefined;
    schedule.cursor = due + 1;
    invoke(world, state, schedule, due);
    arm(world, state, schedule);
  });
}

function complete(state: SchedulerState, schedule: Schedule): void {
  const key = `${schedule.GroupName}/${schedule.Name}`;
  if (schedule.ActionAfterCompletion === 'DELETE' && state.schedules.get(key) === schedule)
    state.schedules.delete(key);
}
