/**
 * Amazon EventBridge on the edge (JSON 1.1, `AWSEvents.<Op>`): the default and custom buses,
 * PutEvents with per-entry failures, rules with event patterns (local/aws/events/pattern.ts) or
 * schedules (rate / cron on the virtual clock), targets (Lambda, Step Functions, SQS, another bus)
 * with Input / InputPath / InputTransformer, retry policies and dead-letter queues, and
 * TestEventPattern.
 *
 * Delivery to targets is in local/aws/events/targets.ts; the CloudTrail events other simulated
 * services emit are in local/aws/events/cloudtrail.ts.
 */
import { randomUUID } from 'node:crypto';
import { errorClass } from '../errors.ts';
import { InvalidEventPatternError, matchesPattern, parsePattern } from '../events/pattern.ts';
import { busOf, putEventsFor } from '../events/put-events.ts';
import { InvalidScheduleError, parseSchedule, type Schedule } from '../events/schedule.ts';
import { deliver } from '../events/targets.ts';
import { parsePolicy } from '../iam/policy.ts';
import { defineService, type World } from '../service.ts';

const ResourceNotFound = errorClass('ResourceNotFoundException', 400);
const ResourceAlreadyExists = errorClass('ResourceAlreadyExistsException', 400);
const Validation = errorClass('ValidationException', 400);
const InvalidEventPattern = errorClass('InvalidEventPatternException', 400);

export interface Target {
  Id: string;
  Arn: string;
  RoleArn?: string;
  Input?: string;
  InputPath?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
  RetryPolicy?: { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number };
  DeadLetterConfig?: { Arn?: string };
}

export interface Rule {
  name: string;
  arn: string;
  busName: string;
  eventPattern?: string;
  scheduleExpression?: string;
  state: 'ENABLED' | 'DISABLED';
  description?: string;
  targets: Map<string, Target>;
  schedule?: Schedule;
  timer?: { cancel(): void };
}

export interface Bus {
  name: string;
  arn: string;
  rules: Map<string, Rule>;
  /** The bus's resource-based policy: its statements by StatementId (PutPermission, EventBusPolicy). */
  policy?: Map<string, Record<string, unknown>>;
}

/** The bus policy as a document (JSON text), when it has statements. */
export function busPolicyText(bus: Bus): string | undefined {
  if (!bus.policy || bus.policy.size === 0) return undefined;
  return JSON.stringify({ Version: '2012-10-17', Statement: [...bus.policy.values()] });
}

/**
 * Adds or replaces one statement of a bus's policy (what PutPermission and
 * AWS::Events::EventBusPolicy do), refused naming the element when it is malformed.
 */
export function putBusPolicyStatement(
  bus: Bus,
  statementId: string,
  statement: Record<string, unknown>,
): void {
  if (!/^[a-zA-Z0-9-_]{1,64}$/.test(statementId))
    throw Validation(`StatementId ${statementId} is not valid: 1-64 letters, digits, - and _.`);
  const next = new Map(bus.policy ?? []);
  next.set(statementId, { ...statement, Sid: statementId });
  try {
    parsePolicy({ Version: '2012-10-17', Statement: [...next.values()] }, `policy of ${bus.arn}`, 'resource');
  } catch (err) {
    throw Validation(`The policy of event bus ${bus.name} is malformed: ${(err as Error).message}`);
  }
  bus.policy = next;
}

/** The bus named by name or ARN in (account, region), if it exists. */
export function findBus(world: World, accountId: string, region: string, nameOrArn: string): Bus | undefined {
  const name = nameOrArn.startsWith('arn:') ? (nameOrArn.split('/').pop() as string) : nameOrArn;
  return stateOf(world, accountId, region).buses.get(name);
}

/** Deletes a bus with its rules (their schedules stop). */
export function deleteBus(world: World, accountId: string, region: string, name: string): void {
  const state = stateOf(world, accountId, region);
  const bus = state.buses.get(name);
  if (!bus) return;
  for (const r of bus.rules.values()) r.timer?.cancel();
  state.buses.delete(bus.name);
}

/** Deletes a rule of `bus` with its targets, as CloudFormation does (RemoveTargets, then DeleteRule). */
export function deleteRule(bus: Bus, name: string): void {
  const r = bus.rules.get(name);
  if (!r) return;
  r.targets.clear();
  r.timer?.cancel();
  bus.rules.delete(name);
}

export interface Delivery {
  rule: string;
  targetId: string;
  targetArn: string;
  eventId: string;
  attempts: number;
  outcome: 'delivered' | 'dead-lettered' | 'dropped';
  error?: string;
}

export interface EventsState {
  accountId: string;
  region: string;
  buses: Map<string, Bus>;
  /** Every delivery attempt's final outcome (tests, `sim status`). */
  deliveries: Delivery[];
  /**
   * Deliveries with no final outcome yet: an attempt under way or a retry waiting on the clock
   * (`sim status`: what a harness waiting for quiet must count, as a retry can come hours later).
   */
  pending: number;
  /** Events accepted by PutEvents, newest last (bounded). */
  recent: unknown[];
}

function busArn(region: string, accountId: string, name: string): string {
  return `arn:aws:events:${region}:${accountId}:event-bus/${name}`;
}

function stateOf(world: World, accountId: string, region: string): EventsState {
  return world.stateOf<EventsState>('events', accountId, region);
}

function ruleOf(state: EventsState, name: unknown, bus: unknown): Rule {
  const b = busOf(state, bus);
  const r = b.rules.get(String(name));
  if (!r) throw ResourceNotFound(`Rule ${String(name)} does not exist on EventBus ${b.name}.`);
  return r;
}

function armSchedule(world: World, state: EventsState, rule: Rule): void {
  rule.timer?.cancel();
  rule.timer = undefined;
  if (!rule.schedule || rule.state !== 'ENABLED') return;
  const due = rule.schedule.next(world.clock.now());
  if (due === undefined) return;
  rule.timer = world.clock.at(due, () => {
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: state.accountId,
      time: new Date(due).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: state.region,
      resources: [rule.arn],
      detail: {},
    };
    for (const target of rule.targets.values()) deliver(world, state, rule, target, event);
    armSchedule(world, state, rule);
  });
}

/** PutRule from code (the CloudFormation wiring); the API operation uses it too. */
export function putRule(
  world: World,
  accountId: string,
  region: string,
  input: {
    Name: string;
    EventBusName?: string;
    EventPattern?: string;
    ScheduleExpression?: string;
    State?: string;
    Description?: string;
  },
): Rule {
  const state = stateOf(world, accountId, region);
  if (typeof input.Name !== 'string' || !/^[.\-_A-Za-z0-9]{1,64}$/.test(input.Name)) {
    throw Validation(
      `1 validation error detected: Value '${String(input.Name)}' at 'name' failed to satisfy constraint`,
    );
  }
  const bus = busOf(state, input.EventBusName);
  if (!input.EventPattern && !input.ScheduleExpression)
    throw Validation('Parameter(s) EventPattern or ScheduleExpression must be specified.');
  if (input.EventPattern) {
    try {
      parsePattern(input.EventPattern);
    } catch (err) {
      if (err instanceof InvalidEventPatternError) throw InvalidEventPattern(err.message);
      throw err;
    }
  }
  let schedule: Schedule | undefined;
  if (input.ScheduleExpression) {
    if (bus.name !== 'default')
      throw Validation('ScheduleExpression is supported only on the default event bus.');
    try {
      schedule = parseSchedule(input.ScheduleExpression, world.clock.now());
    } catch (err) {
      if (err instanceof InvalidScheduleError) throw Validation(err.message);
      throw err;
    }
  }
  const arn = `arn:aws:events:${region}:${accountId}:rule/${bus.name === 'default' ? '' : `${bus.name}/`}${input.Name}`;
  const existing = bus.rules.get(input.Name);
  const rule: Rule = existing ?? {
    name: input.Name,
    arn,
    busName: bus.name,
    state: 'ENABLED',
    targets: new Map(),
  };
  rule.eventPattern = input.EventPattern;
  rule.scheduleExpression = input.ScheduleExpression;
  rule.description = input.Description;
  rule.state = input.State === 'DISABLED' ? 'DISABLED' : 'ENABLED';
  if (input.ScheduleExpression !== existing?.scheduleExpression || !existing) rule.schedule = schedule;
  bus.rules.set(input.Name, rule);
  armSchedule(world, state, rule);
  return rule;
}

export function putTargets(
  world: World,
  accountId: string,
  region: string,
  ruleName: string,
  busName: string | undefined,
  targets: Target[],
) {
  const state = stateOf(world, accountId, region);
  const rule = ruleOf(state, ruleName, busName);
  const failed: { TargetId: string; ErrorCode: string; ErrorMessage: string }[] = [];
  for (const t of targets) {
    if (typeof t?.Id !== 'string' || typeof t.Arn !== 'string' || !t.Arn.startsWith('arn:')) {
      failed.push({
        TargetId: String(t?.Id),
        ErrorCode: 'ValidationException',
        ErrorMessage: 'Target Id and Arn are required',
      });
      continue;
    }
    const service = t.Arn.split(':')[2];
    if (!['lambda', 'states', 'sqs', 'events'].includes(service as string)) {
      failed.push({
        TargetId: t.Id,
        ErrorCode: 'ValidationException',
        ErrorMessage: `Targets of service ${service} are not supported locally (Lambda, Step Functions, SQS, EventBridge)`,
      });
      continue;
    }
    rule.targets.set(t.Id, { ...t });
  }
  if (rule.schedule && !rule.timer) armSchedule(world, state, rule);
  return { FailedEntryCount: failed.length, FailedEntries: failed };
}

/** The EventBridge state of (account, region): tests read deliveries here. */
export function eventsOf(world: World, accountId: string, region: string): EventsState {
  return stateOf(world, accountId, region);
}

function describeRule(r: Rule) {
  return {
    Name: r.name,
    Arn: r.arn,
    EventBusName: r.busName,
    EventPattern: r.eventPattern,
    ScheduleExpression: r.scheduleExpression,
    State: r.state,
    Description: r.description,
  };
}

export default defineService<EventsState>({
  name: 'events',
  async deliver(world, { arn, accountId, region }, payload) {
    // A rule's target gets the event as text (targetInput): bus to bus, it keeps its source,
    // detail-type and detail, as EventBridge forwards it.
    let parsed: unknown = payload;
    if (typeof payload === 'string') {
      try {
        parsed = JSON.parse(payload);
      } catch {
        parsed = undefined;
      }
    }
    const entry = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    await putEventsFor(world, accountId, region, [
      {
        Source: String(entry.source ?? 'lambda'),
        DetailType: String(entry['detail-type'] ?? 'Lambda Function Invocation Result - Failure'),
        Detail: JSON.stringify(entry.detail ?? entry),
        EventBusName: arn,
      },
    ]);
  },
  signingName: 'events',
  protocol: 'json1.1',
  targetPrefix: 'AWSEvents',
  errors: {
    throttling: { code: 'ThrottlingException', status: 400 },
    server: { code: 'InternalException', status: 500 },
  },
  createState: ({ accountId, region }) => ({
    accountId,
    region,
    buses: new Map([
      ['default', { name: 'default', arn: busArn(region, accountId, 'default'), rules: new Map() }],
    ]),
    deliveries: [],
    pending: 0,
    recent: [],
  }),
  status: (state) => ({
    buses: [...state.buses.values()].map((b) => ({ name: b.name, rules: [...b.rules.keys()] })),
    deliveries: state.deliveries.length,
    pending: state.pending,
  }),
  operations: {
    PutEvents(input, ctx) {
      const entries = input.Entries;
      if (!Array.isArray(entries) || entries.length < 1 || entries.length > 10) {
        throw Validation(
          "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and 10",
        );
      }
      return putEventsFor(ctx.world, ctx.accountId, ctx.region, entries);
    },
    CreateEventBus(input, ctx) {
      const name = String(input.Name ?? '');
      if (!/^[/.\-_A-Za-z0-9]{1,256}$/.test(name) || name === 'default')
        throw Validation(`Event bus name ${name} is not valid.`);
      if (ctx.state.buses.has(name)) throw ResourceAlreadyExists(`Event bus ${name} already exists.`);
      const arn = busArn(ctx.region, ctx.accountId, name);
      ctx.state.buses.set(name, { name, arn, rules: new Map() });
      return { EventBusArn: arn };
    },
    DeleteEventBus(input, ctx) {
      if (input.Name === 'default') throw Validation('Cannot delete event bus default.');
      deleteBus(ctx.world, ctx.accountId, ctx.region, String(input.Name));
      return {};
    },
    DescribeEventBus(input, ctx) {
      const b = busOf(ctx.state, input.Name);
      const policy = busPolicyText(b);
      return { Name: b.name, Arn: b.arn, ...(policy && { Policy: policy }) };
    },
    PutPermission(input, ctx) {
      const bus = busOf(ctx.state, input.EventBusName);
      if (typeof input.Policy === 'string') {
        let doc: { Statement?: unknown };
        try {
          doc = JSON.parse(input.Policy);
          parsePolicy(doc, `policy of ${bus.arn}`, 'resource');
        } catch (err) {
          throw Validation(`The policy is malformed: ${(err as Error).message}`);
        }
        const list = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
        bus.policy = new Map(
          list.map((st, i) => {
            const sid = String((st as { Sid?: unknown }).Sid ?? `statement-${i}`);
            return [sid, st as Record<string, unknown>];
          }),
        );
        return {};
      }
      if (input.Action !== 'events:PutEvents')
        throw Validation(`Action must be events:PutEvents (got ${String(input.Action)}).`);
      const principal = String(input.Principal ?? '');
      if (principal !== '*' && !/^\d{12}$/.test(principal))
        throw Validation(`Principal must be a 12-digit account id or * (got ${principal}).`);
      const condition = input.Condition as { Type?: string; Key?: string; Value?: string } | undefined;
      putBusPolicyStatement(bus, String(input.StatementId ?? ''), {
        Effect: 'Allow',
        Principal: principal === '*' ? '*' : { AWS: `arn:aws:iam::${principal}:root` },
        Action: 'events:PutEvents',
        Resource: bus.arn,
        ...(condition && {
          Condition: { [String(condition.Type)]: { [String(condition.Key)]: String(condition.Value) } },
        }),
      });
      return {};
    },
    RemovePermission(input, ctx) {
      const bus = busOf(ctx.state, input.EventBusName);
      if (input.RemoveAllPermissions === true) {
        delete bus.policy;
        return {};
      }
      const sid = String(input.StatementId ?? '');
      if (!bus.policy?.has(sid)) throw ResourceNotFound(`Statement with the provided id does not exist.`);
      bus.policy.delete(sid);
      return {};
    },
    ListEventBuses(input, ctx) {
      const prefix = String(input.NamePrefix ?? '');
      return {
        EventBuses: [...ctx.state.buses.values()]
          .filter((b) => b.name.startsWith(prefix))
          .map((b) => ({ Name: b.name, Arn: b.arn })),
      };
    },
    PutRule(input, ctx) {
      return { RuleArn: putRule(ctx.world, ctx.accountId, ctx.region, input).arn };
    },
    DescribeRule(input, ctx) {
      return describeRule(ruleOf(ctx.state, input.Name, input.EventBusName));
    },
    ListRules(input, ctx) {
      const bus = busOf(ctx.state, input.EventBusName);
      const prefix = String(input.NamePrefix ?? '');
      return { Rules: [...bus.rules.values()].filter((r) => r.name.startsWith(prefix)).map(describeRule) };
    },
    EnableRule(input, ctx) {
      const r = ruleOf(ctx.state, input.Name, input.EventBusName);
      r.state = 'ENABLED';
      armSchedule(ctx.world, ctx.state, r);
      return {};
    },
    DisableRule(input, ctx) {
      const r = ruleOf(ctx.state, input.Name, input.EventBusName);
      r.state = 'DISABLED';
      armSchedule(ctx.world, ctx.state, r);
      return {};
    },
    DeleteRule(input, ctx) {
      const bus = busOf(ctx.state, input.EventBusName);
      const r = bus.rules.get(String(input.Name));
      if (!r) return {};
      if (r.targets.size > 0 && input.Force !== true) {
        throw Validation("Rule can't be deleted since it has targets.");
      }
      deleteRule(bus, r.name);
      return {};
    },
    PutTargets(input, ctx) {
      if (!Array.isArray(input.Targets) || input.Targets.length === 0)
        throw Validation('Targets must not be empty');
      return putTargets(ctx.world, ctx.accountId, ctx.region, input.Rule, input.EventBusName, input.Targets);
    },
    ListTargetsByRule(input, ctx) {
      return { Targets: [...ruleOf(ctx.state, input.Rule, input.EventBusName).targets.values()] };
    },
    RemoveTargets(input, ctx) {
      const r = ruleOf(ctx.state, input.Rule, input.EventBusName);
      for (const id of input.Ids ?? []) r.targets.delete(id);
      return { FailedEntryCount: 0, FailedEntries: [] };
    },
    TestEventPattern(input) {
      let pattern: ReturnType<typeof parsePattern>;
      try {
        pattern = parsePattern(String(input.EventPattern));
      } catch (err) {
        if (err instanceof InvalidEventPatternError) throw InvalidEventPattern(err.message);
        throw err;
      }
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(String(input.Event));
      } catch {
        throw Validation('Parameter Event is not valid.');
      }
      for (const f of ['id', 'account', 'source', 'time', 'region', 'detail-type']) {
        if (!(f in event)) throw Validation(`Parameter Event is not valid: the event has no '${f}'.`);
      }
      return { Result: matchesPattern(pattern, event) };
    },
  },
});
