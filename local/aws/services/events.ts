/**
 * Amazon EventBridge on the edge (JSON 1.1, `AWSEvents.<Op>`): the default and custom buses,
 * PutEvents with per-entry failures, rules with event patterns (local/aws/events/pattern.ts) or
 * schedules (rate / cron on the virtual clock), targets (Lambda, Step Functions, SQS, another bus)
 * with Input / InputPath / InputTransformer, retry policies and dead-letter queues, and
 * TestEventPattern.
 *
 * Other simulated services report their mutating calls with `emitCloudTrailEvent` (below): an
 * `AWS API Call via CloudTrail` event on the default bus of the caller's account and region, the
 * way CloudTrail delivers management events to EventBridge.
 */
import { randomUUID } from 'node:crypto';
import type { Principal } from '../credentials.ts';
import { errorClass } from '../errors.ts';
import { InvalidEventPatternError, matchesPattern, parsePattern } from '../events/pattern.ts';
import { InvalidScheduleError, parseSchedule, type Schedule } from '../events/schedule.ts';
import { type ActingAs, authorizeEngineCall, sessionOf } from '../iam/enforce.ts';
import { parsePolicy } from '../iam/policy.ts';
import { defineService, type World } from '../service.ts';
import { selectPath } from '../sfn/jsonpath.ts';
import { queuesOf } from './sqs.ts';

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
  /** Events accepted by PutEvents, newest last (bounded). */
  recent: unknown[];
}

export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: string[];
  Time?: Date | number | string;
  EventBusName?: string;
}

const MAX_ENTRY_BYTES = 256 * 1024;
/** Backoff between target retries: exponential from 1 s, capped at 5 min (EventBridge does not publish its own). */
const retryDelayMs = (attempt: number) => Math.min(1000 * 2 ** attempt, 300_000);

function busArn(region: string, accountId: string, name: string): string {
  return `arn:aws:events:${region}:${accountId}:event-bus/${name}`;
}

function stateOf(world: World, accountId: string, region: string): EventsState {
  return world.stateOf<EventsState>('events', accountId, region);
}

function busOf(state: EventsState, nameOrArn: unknown): Bus {
  const raw = typeof nameOrArn === 'string' && nameOrArn.length > 0 ? nameOrArn : 'default';
  const name = raw.startsWith('arn:') ? (raw.split('/').pop() as string) : raw;
  const bus = state.buses.get(name);
  if (!bus) throw ResourceNotFound(`Event bus ${name} does not exist.`);
  return bus;
}

function ruleOf(state: EventsState, name: unknown, bus: unknown): Rule {
  const b = busOf(state, bus);
  const r = b.rules.get(String(name));
  if (!r) throw ResourceNotFound(`Rule ${String(name)} does not exist on EventBus ${b.name}.`);
  return r;
}

/**
 * PutEvents from code (other services, destinations): same validation and partial-failure report
 * as the API.
 */
export async function putEventsFor(
  world: World,
  accountId: string,
  region: string,
  entries: PutEventsEntry[],
) {
  const state = stateOf(world, accountId, region);
  const results: ({ EventId: string } | { ErrorCode: string; ErrorMessage: string })[] = [];
  for (const e of entries) {
    const problem = entryProblem(e);
    if (problem) {
      results.push(problem);
      continue;
    }
    let bus: Bus;
    try {
      bus = busOf(state, e.EventBusName);
    } catch (err) {
      results.push({ ErrorCode: 'ResourceNotFoundException', ErrorMessage: (err as Error).message });
      continue;
    }
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': e.DetailType,
      source: e.Source,
      account: accountId,
      time: new Date(e.Time === undefined ? world.clock.now() : toMillis(e.Time))
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
      region,
      resources: e.Resources ?? [],
      detail: JSON.parse(e.Detail as string),
    };
    state.recent.push(event);
    if (state.recent.length > 1000) state.recent.shift();
    dispatch(world, state, bus, event);
    results.push({ EventId: event.id });
  }
  return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
}

function toMillis(t: Date | number | string): number {
  if (t instanceof Date) return t.getTime();
  if (typeof t === 'number') return t < 1e12 ? t * 1000 : t;
  return Date.parse(t);
}

function entryProblem(e: PutEventsEntry): { ErrorCode: string; ErrorMessage: string } | undefined {
  for (const field of ['Source', 'DetailType', 'Detail'] as const) {
    if (typeof e[field] !== 'string' || (e[field] as string).length === 0) {
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
      };
    }
  }
  let detail: unknown;
  try {
    detail = JSON.parse(e.Detail as string);
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  const size = Buffer.byteLength(JSON.stringify(e));
  if (size > MAX_ENTRY_BYTES)
    return {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: `Total size of the entries in the request is over the limit (${size} > ${MAX_ENTRY_BYTES} bytes).`,
    };
  return undefined;
}

function dispatch(world: World, state: EventsState, bus: Bus, event: Record<string, unknown>): void {
  for (const rule of bus.rules.values()) {
    if (rule.state !== 'ENABLED' || !rule.eventPattern) continue;
    if (!matchesPattern(parsePattern(rule.eventPattern), event)) continue;
    for (const target of rule.targets.values()) deliver(world, state, rule, target, event);
  }
}

/** Builds what the target receives: Input, InputPath or InputTransformer, else the event. */
export function targetInput(
  target: Target,
  event: Record<string, unknown>,
  rule: { name: string; arn: string },
): string {
  if (target.Input !== undefined) return target.Input;
  if (target.InputPath !== undefined) return JSON.stringify(selectPath(target.InputPath, event) ?? null);
  const t = target.InputTransformer;
  if (!t) return JSON.stringify(event);
  const values: Record<string, unknown> = {
    'aws.events.rule-arn': rule.arn,
    'aws.events.rule-name': rule.name,
    'aws.events.event.ingestion-time': event.time,
    'aws.events.event': event,
    'aws.events.event.json': event,
  };
  for (const [k, path] of Object.entries(t.InputPathsMap ?? {})) values[k] = selectPath(path, event);
  return t.InputTemplate.replace(
    /(")?<([\w.-]+)>(")?/g,
    (whole, open: string | undefined, name: string, close: string | undefined) => {
      if (!(name in values)) return whole;
      const v = values[name];
      if (open && close) {
        // Inside quotes: a string is inserted as its text (escaped); anything else as JSON text.
        if (typeof v === 'string') return `"${JSON.stringify(v).slice(1, -1)}"`;
        return `"${JSON.stringify(JSON.stringify(v ?? null)).slice(1, -1)}"`;
      }
      const inner = typeof v === 'string' ? v : JSON.stringify(v ?? null);
      return `${open ?? ''}${inner}${close ?? ''}`;
    },
  );
}

function deliver(
  world: World,
  state: EventsState,
  rule: Rule,
  target: Target,
  event: Record<string, unknown>,
): void {
  const clock = world.clock;
  const started = clock.now();
  const maxAttempts = (target.RetryPolicy?.MaximumRetryAttempts ?? 185) + 1;
  const maxAgeMs = (target.RetryPolicy?.MaximumEventAgeInSeconds ?? 86_400) * 1000;
  const payload = targetInput(target, event, rule);
  const record = (outcome: Delivery['outcome'], attempts: number, error?: string) => {
    const d: Delivery = {
      rule: rule.name,
      targetId: target.Id,
      targetArn: target.Arn,
      eventId: String(event.id),
      attempts,
      outcome,
    };
    if (error) d.error = error;
    state.deliveries.push(d);
    if (state.deliveries.length > 1000) state.deliveries.shift();
  };
  const attempt = async (n: number) => {
    try {
      authorizeTarget(world, state, rule, target, event);
      await world.deliver(target.Arn, payload);
      record('delivered', n + 1);
    } catch (err) {
      const message = (err as Error).message;
      const delay = retryDelayMs(n);
      if (n + 1 < maxAttempts && clock.now() + delay - started <= maxAgeMs) {
        clock.at(clock.now() + delay, () => attempt(n + 1));
        return;
      }
      const dlqArn = target.DeadLetterConfig?.Arn;
      let dlq = dlqArn ? queuesOf(world, dlqArn) : undefined;
      let dlqRefused: string | undefined;
      if (dlq && dlqArn) {
        // EventBridge sends to the DLQ as itself: the queue policy must allow it for this rule.
        try {
          authorizeEngineCall(world, asEventBridge(state, rule), 'sqs:SendMessage', dlqArn);
        } catch (refusal) {
          dlqRefused = (refusal as Error).message;
          dlq = undefined;
        }
      }
      if (dlq) {
        dlq.send(payload, {
          attributes: {
            RULE_ARN: { DataType: 'String', StringValue: rule.arn },
            TARGET_ARN: { DataType: 'String', StringValue: target.Arn },
            ERROR_CODE: { DataType: 'String', StringValue: 'ResourceNotFoundException' },
            ERROR_MESSAGE: { DataType: 'String', StringValue: message },
          },
        });
        record('dead-lettered', n + 1, message);
      } else record('dropped', n + 1, dlqRefused ? `${message}; dead-letter queue: ${dlqRefused}` : message);
    }
  };
  queueMicrotask(() => void attempt(0));
}

/** EventBridge acting for a rule: the service principal, with the rule as aws:SourceArn. */
function asEventBridge(state: EventsState, rule: Rule): ActingAs {
  return { service: 'events.amazonaws.com', sourceArn: rule.arn, sourceAccount: state.accountId };
}

/** What EventBridge needs to deliver to a target, by the target's service. */
const TARGET_ACTIONS: Record<string, string> = {
  sqs: 'sqs:SendMessage',
  lambda: 'lambda:InvokeFunction',
  states: 'states:StartExecution',
  events: 'events:PutEvents',
};

/**
 * Authorizes a delivery as EventBridge makes it: with the target's role when the rule gives one
 * (a bus or state machine target), else as the service principal, which the target's resource
 * policy must allow (a queue policy, a Lambda permission, with aws:SourceArn the rule).
 */
function authorizeTarget(
  world: World,
  state: EventsState,
  rule: Rule,
  target: Target,
  event: Record<string, unknown>,
): void {
  const service = target.Arn.split(':')[2] as string;
  const action = TARGET_ACTIONS[service];
  if (!action) return;
  // A queue that does not exist answers so before any policy is read (the delivery then fails).
  if (service === 'sqs' && !queuesOf(world, target.Arn)) return;
  const context: Record<string, string> =
    action === 'events:PutEvents'
      ? { 'events:source': String(event.source), 'events:detail-type': String(event['detail-type']) }
      : {};
  const as: ActingAs = target.RoleArn
    ? { session: sessionOf(target.RoleArn, `events-${rule.name}`.slice(0, 64)) }
    : asEventBridge(state, rule);
  authorizeEngineCall(world, as, action, target.Arn, context);
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

/**
 * Reports a simulated mutating call as CloudTrail does: an `AWS API Call via CloudTrail` event on
 * the default bus of the caller's account and region, source `aws.<service>`. Call it after the
 * call succeeded, e.g. from the Interconnect module:
 *
 *     emitCloudTrailEvent(ctx.world, { service: 'interconnect', eventName: 'CreateConnection',
 *       principal: ctx.principal, region: ctx.region, requestParameters: input, responseElements: out });
 */
export function emitCloudTrailEvent(
  world: World,
  call: {
    service: string;
    eventName: string;
    principal: Principal;
    region: string;
    requestParameters?: unknown;
    responseElements?: unknown;
    requestId?: string;
  },
): Promise<unknown> {
  const now = new Date(world.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const p = call.principal;
  const type = p.arn.includes(':assumed-role/')
    ? 'AssumedRole'
    : p.arn.endsWith(':root')
      ? 'Root'
      : p.arn.includes(':role/')
        ? 'AssumedRole'
        : 'IAMUser';
  const detail = {
    eventVersion: '1.09',
    userIdentity: {
      type,
      principalId: p.accessKeyId,
      arn: p.arn,
      accountId: p.accountId,
      accessKeyId: p.accessKeyId,
    },
    eventTime: now,
    eventSource: `${call.service}.amazonaws.com`,
    eventName: call.eventName,
    awsRegion: call.region,
    sourceIPAddress: '127.0.0.1',
    userAgent: 'crosslink-local',
    requestParameters: call.requestParameters ?? null,
    responseElements: call.responseElements ?? null,
    requestID: call.requestId ?? randomUUID(),
    eventID: randomUUID(),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: p.accountId,
    eventCategory: 'Management',
  };
  return putEventsFor(world, p.accountId, call.region, [
    {
      Source: `aws.${call.service}`,
      DetailType: 'AWS API Call via CloudTrail',
      Detail: JSON.stringify(detail),
    },
  ]);
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
    recent: [],
  }),
  status: (state) => ({
    buses: [...state.buses.values()].map((b) => ({ name: b.name, rules: [...b.rules.keys()] })),
    deliveries: state.deliveries.length,
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
