/**
 * The input shapes of EventBridge Scheduler's schedule operations (API reference, CreateSchedule /
 * UpdateSchedule / Target) and the checks beyond them the service makes before it stores a
 * schedule: the expression in its time zone, the flexible window's mode, the dates' order, and the
 * targets the local cloud delivers to (templated Step Functions, EventBridge, Lambda and SQS
 * targets). Each refusal is a ValidationException naming the member.
 */
import { errorClass } from '../errors.ts';
import { type Spec, validationMessage, violations } from '../validate.ts';
import { InvalidExpressionError, parseSchedulerExpression, type SchedulerExpression } from './expressions.ts';

export const ValidationException = errorClass('ValidationException', 400);
export const ResourceNotFoundException = errorClass('ResourceNotFoundException', 404);
export const ConflictException = errorClass('ConflictException', 409);

export const NAME = /^[0-9a-zA-Z-_.]+$/;
const ROLE_ARN = /^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const SQS_ARN = /^arn:aws(-[a-z]+)?:sqs:[a-z0-9-]+:\d{12}:[a-zA-Z0-9\-_]+$/;
const KMS_ARN = /^arn:aws(-[a-z]+)?:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[0-9a-zA-Z-_]*$/;

const name: Spec = { type: 'string', min: 1, max: 64, pattern: NAME };

const TARGET: Record<string, Spec> = {
  Arn: { type: 'string', required: true, min: 1, max: 1600 },
  RoleArn: { type: 'string', required: true, min: 1, max: 1600, pattern: ROLE_ARN },
  Input: { type: 'string', min: 1, max: 8192 },
  RetryPolicy: {
    type: 'structure',
    members: {
      MaximumEventAgeInSeconds: { type: 'integer', min: 60, max: 86_400 },
      MaximumRetryAttempts: { type: 'integer', min: 0, max: 185 },
    },
  },
  DeadLetterConfig: {
    type: 'structure',
    members: { Arn: { type: 'string', min: 1, max: 1600, pattern: SQS_ARN } },
  },
  EventBridgeParameters: {
    type: 'structure',
    members: {
      DetailType: { type: 'string', required: true, min: 1, max: 128 },
      Source: { type: 'string', required: true, min: 1, max: 256, pattern: /^(?!aws\.)[/.\-_A-Za-z0-9]+$/ },
    },
  },
  SqsParameters: {
    type: 'structure',
    members: { MessageGroupId: { type: 'string', min: 1, max: 128 } },
  },
};

/** CreateSchedule and UpdateSchedule take the same members (UpdateSchedule replaces every one). */
const SCHEDULE: Record<string, Spec> = {
  Name: { ...name, required: true },
  GroupName: name,
  ScheduleExpression: { type: 'string', required: true, min: 1, max: 256 },
  ScheduleExpressionTimezone: { type: 'string', min: 1, max: 50 },
  Description: { type: 'string', min: 0, max: 512 },
  State: { type: 'string', enum: ['ENABLED', 'DISABLED'] },
  ActionAfterCompletion: { type: 'string', enum: ['NONE', 'DELETE'] },
  KmsKeyArn: { type: 'string', min: 1, max: 2048, pattern: KMS_ARN },
  ClientToken: { type: 'string', min: 1, max: 64, pattern: /^[a-zA-Z0-9-_]+$/ },
  FlexibleTimeWindow: {
    type: 'structure',
    required: true,
    members: {
      Mode: { type: 'string', required: true, enum: ['OFF', 'FLEXIBLE'] },
      MaximumWindowInMinutes: { type: 'integer', min: 1, max: 1440 },
    },
  },
  Target: { type: 'structure', required: true, members: TARGET },
};

export interface TargetSpec {
  Arn: string;
  RoleArn: string;
  Input?: string;
  RetryPolicy?: { MaximumEventAgeInSeconds?: number; MaximumRetryAttempts?: number };
  DeadLetterConfig?: { Arn?: string };
  EventBridgeParameters?: { DetailType: string; Source: string };
  SqsParameters?: { MessageGroupId?: string };
}

/** A schedule request, checked: what the service stores. */
export interface ScheduleRequest {
  Name: string;
  GroupName: string;
  ScheduleExpression: string;
  ScheduleExpressionTimezone?: string;
  Description?: string;
  State: 'ENABLED' | 'DISABLED';
  ActionAfterCompletion: 'NONE' | 'DELETE';
  KmsKeyArn?: string;
  ClientToken?: string;
  /** Epoch ms. */
  StartDate?: number;
  EndDate?: number;
  FlexibleTimeWindow: { Mode: 'OFF' | 'FLEXIBLE'; MaximumWindowInMinutes?: number };
  Target: TargetSpec;
}

/** The target kinds the local Scheduler invokes, by the ARN's service and resource type. */
export type TargetKind = 'states' | 'lambda' | 'events' | 'sqs';

export function targetKind(arn: string): TargetKind | undefined {
  const [prefix, , service, , , resource = ''] = arn.split(':');
  if (prefix !== 'arn') return undefined;
  if (service === 'states' && resource === 'stateMachine') return 'states';
  if (service === 'lambda' && resource === 'function') return 'lambda';
  if (service === 'events' && resource.startsWith('event-bus/')) return 'events';
  if (service === 'sqs' && resource !== '') return 'sqs';
  return undefined;
}

/** A timestamp member (epoch seconds on the wire) as epoch ms. */
function timestamp(v: unknown, member: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw ValidationException(
      validationMessage([
        `Value '${String(v)}' at '${member}' failed to satisfy constraint: Member must be a timestamp`,
      ]),
    );
  return Math.round(v * 1000);
}

/**
 * Checks a CreateSchedule / UpdateSchedule request (the body with the path's Name) and parses its
 * expression; `now` is the service's clock (an `at()` in the past, or an EndDate past, is refused).
 */
export function checkScheduleRequest(
  body: Record<string, unknown>,
  now: number,
): { request: ScheduleRequest; expression: SchedulerExpression } {
  const problems = violations(body, SCHEDULE);
  if (problems.length > 0) throw ValidationException(validationMessage(problems));
  const startDate = timestamp(body.StartDate, 'StartDate');
  const endDate = timestamp(body.EndDate, 'EndDate');
  const window = body.FlexibleTimeWindow as ScheduleRequest['FlexibleTimeWindow'];
  if (window.Mode === 'FLEXIBLE' && window.MaximumWindowInMinutes === undefined)
    throw ValidationException(
      'FlexibleTimeWindow.MaximumWindowInMinutes is required when FlexibleTimeWindow.Mode is FLEXIBLE.',
    );
  if (window.Mode === 'OFF' && window.MaximumWindowInMinutes !== undefined)
    throw ValidationException(
      'FlexibleTimeWindow.MaximumWindowInMinutes must not be set when FlexibleTimeWindow.Mode is OFF.',
    );
  if (startDate !== undefined && endDate !== undefined && endDate <= startDate)
    throw ValidationException('The EndDate must be after the StartDate.');
  if (endDate !== undefined && endDate <= now)
    throw ValidationException('The EndDate must be in the future.');
  const target = body.Target as TargetSpec;
  const kind = targetKind(target.Arn);
  if (!kind)
    throw ValidationException(
      `Target.Arn ${target.Arn} is not a target the local Scheduler invokes: a state machine, a Lambda function, an event bus or an SQS queue (templated targets; universal targets are not modelled).`,
    );
  if (kind === 'events' && !target.EventBridgeParameters)
    throw ValidationException(
      'Target.EventBridgeParameters is required for an EventBridge PutEvents target.',
    );
  if (kind !== 'events' && target.EventBridgeParameters)
    throw ValidationException('Target.EventBridgeParameters is only for an EventBridge PutEvents target.');
  if (kind !== 'sqs' && target.SqsParameters)
    throw ValidationException('Target.SqsParameters is only for an SQS SendMessage target.');
  let expression: SchedulerExpression;
  try {
    expression = parseSchedulerExpression({
      expression: body.ScheduleExpression as string,
      timezone: body.ScheduleExpressionTimezone as string | undefined,
      startDate,
      endDate,
      anchor: now,
    });
  } catch (err) {
    if (err instanceof InvalidExpressionError) throw ValidationException(err.message);
    throw err;
  }
  if (expression.kind === 'at' && expression.next(now) === undefined)
    throw ValidationException(
      `Invalid Schedule Expression ${String(body.ScheduleExpression)}: the time is in the past.`,
    );
  const request: ScheduleRequest = {
    Name: body.Name as string,
    GroupName: (body.GroupName as string | undefined) ?? 'default',
    ScheduleExpression: body.ScheduleExpression as string,
    State: (body.State as ScheduleRequest['State'] | undefined) ?? 'ENABLED',
    ActionAfterCompletion: (body.ActionAfterCompletion as ScheduleRequest['ActionAfterCompletion']) ?? 'NONE',
    FlexibleTimeWindow: window,
    Target: target,
  };
  for (const k of ['ScheduleExpressionTimezone', 'Description', 'KmsKeyArn', 'ClientToken'] as const) {
    if (typeof body[k] === 'string') request[k] = body[k] as string;
  }
  if (startDate !== undefined) request.StartDate = startDate;
  if (endDate !== undefined) request.EndDate = endDate;
  return { request, expression };
}

/** A group name from a path or query member, checked. */
export function checkName(v: unknown, member: string): string {
  const problems = violations({ [member]: v }, { [member]: { ...name, required: true } });
  if (problems.length > 0) throw ValidationException(validationMessage(problems));
  return v as string;
}
