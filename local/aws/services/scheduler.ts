/**
 * Amazon EventBridge Scheduler on the edge (REST-JSON, signing name `scheduler`): schedules in
 * schedule groups (the `default` group always exists), with `at()`, `rate()` and `cron()`
 * expressions in a time zone, start and end dates, state, flexible time windows and the action
 * after completion; the schedules fire on the virtual clock and invoke their targets with their
 * execution role (local/aws/scheduler/invoke.ts). IAM authorizes each call as `scheduler:<Op>` on
 * the schedule or group ARN; creating or updating a schedule also needs `iam:PassRole` on its role.
 * See docs/local-cloud.md "EventBridge Scheduler".
 */
import { AwsError } from '../errors.ts';
import { authorizeEngineCall, EngineAccessDenied } from '../iam/enforce.ts';
import {
  arm,
  emptyCounts,
  type Schedule,
  type ScheduleGroup,
  type SchedulerState,
} from '../scheduler/invoke.ts';
import {
  ConflictException,
  checkName,
  checkScheduleRequest,
  ResourceNotFoundException,
  ValidationException,
} from '../scheduler/requests.ts';
import { defineService, type RequestContext, type RestInput, type World } from '../service.ts';

export type { Schedule, ScheduleGroup, SchedulerState } from '../scheduler/invoke.ts';

const seconds = (ms: number) => ms / 1000;

function groupArn(region: string, accountId: string, name: string): string {
  return `arn:aws:scheduler:${region}:${accountId}:schedule-group/${name}`;
}

function newGroup(region: string, accountId: string, name: string, now: number): ScheduleGroup {
  return { name, arn: groupArn(region, accountId, name), creationDate: now, lastModificationDate: now };
}

/** The Scheduler's state in (account, region): tests and the wiring reach schedules here. */
export function schedulerOf(world: World, accountId: string, region: string): SchedulerState {
  return world.stateOf<SchedulerState>('scheduler', accountId, region);
}

function groupOf(state: SchedulerState, name: string): ScheduleGroup {
  const g = state.groups.get(name);
  if (!g) throw ResourceNotFoundException(`Schedule group ${name} does not exist.`);
  return g;
}

function scheduleOf(state: SchedulerState, group: string, name: string): Schedule {
  groupOf(state, group);
  const s = state.schedules.get(`${group}/${name}`);
  if (!s) throw ResourceNotFoundException(`Schedule ${name} does not exist.`);
  return s;
}

/**
 * Creates or replaces a schedule from a request body (CreateSchedule, UpdateSchedule, the
 * CloudFormation wiring). `caller` is who asks: it must be allowed `iam:PassRole` on the role.
 */
export function putSchedule(
  world: World,
  accountId: string,
  region: string,
  body: Record<string, unknown>,
  mode: 'create' | 'update',
  caller?: RequestContext['principal'],
): Schedule {
  const state = schedulerOf(world, accountId, region);
  const now = world.clock.now();
  const { request, expression } = checkScheduleRequest(body, now);
  groupOf(state, request.GroupName);
  const key = `${request.GroupName}/${request.Name}`;
  const existing = state.schedules.get(key);
  if (mode === 'create' && existing) {
    // A retried create (the SDK sends the same ClientToken) answers as the first one did.
    if (request.ClientToken !== undefined && existing.ClientToken === request.ClientToken) return existing;
    throw ConflictException(`Schedule ${request.Name} already exists.`);
  }
  if (mode === 'update' && !existing)
    throw ResourceNotFoundException(`Schedule ${request.Name} does not exist.`);
  if (caller) {
    try {
      authorizeEngineCall(world, { session: caller }, 'iam:PassRole', request.Target.RoleArn, {
        'iam:PassedToService': 'scheduler.amazonaws.com',
      });
    } catch (err) {
      if (err instanceof EngineAccessDenied)
        throw new AwsError('AccessDeniedException', err.message, { status: 403 });
      throw err;
    }
  }
  existing?.timer?.cancel();
  const schedule: Schedule = {
    ...request,
    arn: `arn:aws:scheduler:${region}:${accountId}:schedule/${request.GroupName}/${request.Name}`,
    creationDate: existing?.creationDate ?? now,
    lastModificationDate: now,
    expression,
    cursor: now,
    counts: existing?.counts ?? emptyCounts(),
  };
  state.schedules.set(key, schedule);
  arm(world, state, schedule);
  return schedule;
}

/** Deletes a schedule (DeleteSchedule, a stack's deletion); false when there is none. */
export function deleteSchedule(world: World, accountId: string, region: string, group: string, name: string) {
  const state = schedulerOf(world, accountId, region);
  const s = state.schedules.get(`${group}/${name}`);
  if (!s) return false;
  s.timer?.cancel();
  state.schedules.delete(`${group}/${name}`);
  return true;
}

/** Creates a schedule group (CreateScheduleGroup, AWS::Scheduler::ScheduleGroup). */
export function createScheduleGroup(
  world: World,
  accountId: string,
  region: string,
  name: string,
): ScheduleGroup {
  const state = schedulerOf(world, accountId, region);
  checkName(name, 'Name');
  if (state.groups.has(name)) throw ConflictException(`Schedule group ${name} already exists.`);
  const g = newGroup(region, accountId, name, world.clock.now());
  state.groups.set(name, g);
  return g;
}

/** Deletes a group with its schedules, as DeleteScheduleGroup does; the default group stays. */
export function deleteScheduleGroup(world: World, accountId: string, region: string, name: string): void {
  if (name === 'default') throw ValidationException('You cannot delete the default schedule group.');
  const state = schedulerOf(world, accountId, region);
  groupOf(state, name);
  for (const s of [...state.schedules.values()])
    if (s.GroupName === name) deleteSchedule(world, accountId, region, name, s.Name);
  state.groups.delete(name);
}

function describe(s: Schedule) {
  return {
    Arn: s.arn,
    Name: s.Name,
    GroupName: s.GroupName,
    ScheduleExpression: s.ScheduleExpression,
    ScheduleExpressionTimezone: s.ScheduleExpressionTimezone,
    Description: s.Description,
    State: s.State,
    StartDate: s.StartDate === undefined ? undefined : seconds(s.StartDate),
    EndDate: s.EndDate === undefined ? undefined : seconds(s.EndDate),
    CreationDate: seconds(s.creationDate),
    LastModificationDate: seconds(s.lastModificationDate),
    KmsKeyArn: s.KmsKeyArn,
    Target: s.Target,
    FlexibleTimeWindow: s.FlexibleTimeWindow,
    ActionAfterCompletion: s.ActionAfterCompletion,
  };
}

function describeGroup(g: ScheduleGroup) {
  return {
    Arn: g.arn,
    Name: g.name,
    State: 'ACTIVE',
    CreationDate: seconds(g.creationDate),
    LastModificationDate: seconds(g.lastModificationDate),
  };
}

const query = (input: RestInput, key: string): string | undefined => {
  const v = input.query[key];
  return Array.isArray(v) ? v[0] : v;
};

/** MaxResults (1-100) and NextToken (an offset this service issued) of a List call. */
function page<T>(items: T[], input: RestInput): { page: T[]; NextToken?: string } {
  const raw = query(input, 'MaxResults');
  const max = raw === undefined ? 100 : Number(raw);
  if (!Number.isInteger(max) || max < 1 || max > 100)
    throw ValidationException(
      `1 validation error detected: Value '${raw}' at 'MaxResults' failed to satisfy constraint: Member must have value between 1 and 100`,
    );
  const token = query(input, 'NextToken');
  const start = token === undefined ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Number.isInteger(start) || start < 0 || start > items.length)
    throw ValidationException(`The NextToken ${token} is not valid.`);
  const end = start + max;
  return {
    page: items.slice(start, end),
    ...(end < items.length && { NextToken: Buffer.from(String(end)).toString('base64url') }),
  };
}

export default defineService<SchedulerState>({
  name: 'scheduler',
  signingName: 'scheduler',
  protocol: 'rest-json',
  errors: {
    throttling: { code: 'ThrottlingException', status: 429 },
    server: { code: 'InternalServerException', status: 500 },
  },
  routes: [
    { method: 'POST', path: '/schedules/{Name}', operation: 'CreateSchedule' },
    { method: 'GET', path: '/schedules/{Name}', operation: 'GetSchedule' },
    { method: 'PUT', path: '/schedules/{Name}', operation: 'UpdateSchedule' },
    { method: 'DELETE', path: '/schedules/{Name}', operation: 'DeleteSchedule' },
    { method: 'GET', path: '/schedules', operation: 'ListSchedules' },
    { method: 'POST', path: '/schedule-groups/{Name}', operation: 'CreateScheduleGroup' },
    { method: 'GET', path: '/schedule-groups/{Name}', operation: 'GetScheduleGroup' },
    { method: 'DELETE', path: '/schedule-groups/{Name}', operation: 'DeleteScheduleGroup' },
    { method: 'GET', path: '/schedule-groups', operation: 'ListScheduleGroups' },
  ],
  createState: ({ accountId, region }, world) => ({
    accountId,
    region,
    groups: new Map([['default', newGroup(region, accountId, 'default', world.clock.now())]]),
    schedules: new Map(),
    invocations: [],
  }),
  dispose(state) {
    for (const s of state.schedules.values()) s.timer?.cancel();
  },
  status: (state) => ({
    groups: [...state.groups.keys()],
    schedules: [...state.schedules.values()].map((s) => ({
      name: `${s.GroupName}/${s.Name}`,
      expression: s.ScheduleExpression,
      state: s.State,
      next: s.timer ? new Date(s.timer.due).toISOString() : null,
      counts: s.counts,
    })),
  }),
  operations: {
    CreateSchedule(input: RestInput, ctx) {
      const body = { ...(input.body as Record<string, unknown>), Name: input.path.Name };
      const s = putSchedule(ctx.world, ctx.accountId, ctx.region, body, 'create', ctx.principal);
      return { ScheduleArn: s.arn };
    },
    UpdateSchedule(input: RestInput, ctx) {
      const body = { ...(input.body as Record<string, unknown>), Name: input.path.Name };
      const s = putSchedule(ctx.world, ctx.accountId, ctx.region, body, 'update', ctx.principal);
      return { ScheduleArn: s.arn };
    },
    GetSchedule(input: RestInput, ctx) {
      const name = checkName(input.path.Name, 'Name');
      const group = checkName(query(input, 'groupName') ?? 'default', 'GroupName');
      return describe(scheduleOf(ctx.state, group, name));
    },
    DeleteSchedule(input: RestInput, ctx) {
      const name = checkName(input.path.Name, 'Name');
      const group = checkName(query(input, 'groupName') ?? 'default', 'GroupName');
      scheduleOf(ctx.state, group, name);
      deleteSchedule(ctx.world, ctx.accountId, ctx.region, group, name);
      return {};
    },
    ListSchedules(input: RestInput, ctx) {
      const group = query(input, 'ScheduleGroup');
      const prefix = query(input, 'NamePrefix') ?? '';
      const state = query(input, 'State');
      if (state !== undefined && state !== 'ENABLED' && state !== 'DISABLED')
        throw ValidationException(
          `1 validation error detected: Value '${state}' at 'State' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]`,
        );
      const all = [...ctx.state.schedules.values()]
        .filter((s) => (group === undefined || s.GroupName === group) && s.Name.startsWith(prefix))
        .filter((s) => state === undefined || s.State === state)
        .sort((a, b) => a.arn.localeCompare(b.arn));
      const { page: items, NextToken } = page(all, input);
      return {
        Schedules: items.map((s) => ({
          Arn: s.arn,
          Name: s.Name,
          GroupName: s.GroupName,
          State: s.State,
          CreationDate: seconds(s.creationDate),
          LastModificationDate: seconds(s.lastModificationDate),
          Target: { Arn: s.Target.Arn },
        })),
        ...(NextToken && { NextToken }),
      };
    },
    CreateScheduleGroup(input: RestInput, ctx) {
      return {
        ScheduleGroupArn: createScheduleGroup(ctx.world, ctx.accountId, ctx.region, input.path.Name as string)
          .arn,
      };
    },
    GetScheduleGroup(input: RestInput, ctx) {
      return describeGroup(groupOf(ctx.state, checkName(input.path.Name, 'Name')));
    },
    DeleteScheduleGroup(input: RestInput, ctx) {
      deleteScheduleGroup(ctx.world, ctx.accountId, ctx.region, checkName(input.path.Name, 'Name'));
      return {};
    },
    ListScheduleGroups(input: RestInput, ctx) {
      const prefix = query(input, 'NamePrefix') ?? '';
      const all = [...ctx.state.groups.values()].filter((g) => g.name.startsWith(prefix));
      const { page: items, NextToken } = page(all, input);
      return { ScheduleGroups: items.map(describeGroup), ...(NextToken && { NextToken }) };
    },
  },
});
