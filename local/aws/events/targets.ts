/**
 * EventBridge's delivery to rule targets: the matching rules of a bus, what each target receives
 * (Input, InputPath, InputTransformer), the authorization EventBridge's call needs (the target's
 * role, or the service principal that the target's resource policy must allow), and retries with
 * the dead-letter queue. The API and the buses are in services/events.ts.
 */
import { type ActingAs, authorizeEngineCall, sessionOf } from '../iam/enforce.ts';
import type { World } from '../service.ts';
import type { Bus, Delivery, EventsState, Rule, Target } from '../services/events.ts';
import { queuesOf } from '../services/sqs.ts';
import { selectPath } from '../sfn/jsonpath.ts';
import { matchesPattern, parsePattern } from './pattern.ts';

/** Backoff between target retries: exponential from 1 s, capped at 5 min (EventBridge does not publish its own). */
const retryDelayMs = (attempt: number) => Math.min(1000 * 2 ** attempt, 300_000);

/** Delivers an event accepted on `bus` to the targets of each enabled rule whose pattern matches. */
export function dispatch(world: World, state: EventsState, bus: Bus, event: Record<string, unknown>): void {
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

/**
 * Delivers one event to one target as EventBridge does: authorized, retried with backoff within
 * the retry policy, then sent to the dead-letter queue (if EventBridge may send there) or dropped;
 * each final outcome recorded in the state's deliveries.
 */
export function deliver(
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
    let retrying = false;
    try {
      await tryOnce(n, () => {
        retrying = true;
      });
    } finally {
      // Settled once its final outcome is recorded (or the last step failed): never left pending.
      if (!retrying) state.pending--;
    }
  };
  const tryOnce = async (n: number, retry: () => void) => {
    try {
      authorizeTarget(world, state, rule, target, event);
      await world.deliver(target.Arn, payload);
      record('delivered', n + 1);
    } catch (err) {
      const message = (err as Error).message;
      const delay = retryDelayMs(n);
      if (n + 1 < maxAttempts && clock.now() + delay - started <= maxAgeMs) {
        retry();
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
  state.pending++;
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
