/**
 * The messaging resources of a template: SQS queues, EventBridge buses, the resource-based
 * policies of buses and queues, and EventBridge rules with their targets and schedules.
 */

import { parsePolicy } from '../iam/policy.ts';
import {
  deleteBus,
  deleteRule,
  findBus,
  putBusPolicyStatement,
  putRule,
  putTargets,
  type Target,
} from '../services/events.ts';
import { deleteQueue, ensureQueue, queuesOf } from '../services/sqs.ts';
import type { Wiring } from './template.ts';

/** Queues first (with their redrive policies), then buses: everything else points at them. */
export function wireQueuesAndBuses(w: Wiring): void {
  const { world, accountId, region, loaded, removers, physical, attrs, resolve, byType } = w;
  for (const [logical, r] of byType('AWS::SQS::Queue')) {
    const p = resolve(r.Properties ?? {});
    const queueAttrs: Record<string, unknown> = {};
    for (const k of [
      'VisibilityTimeout',
      'DelaySeconds',
      'MessageRetentionPeriod',
      'ReceiveMessageWaitTimeSeconds',
      'MaximumMessageSize',
      'RedrivePolicy',
    ]) {
      if (p[k] !== undefined) queueAttrs[k] = p[k];
    }
    const n = attrs[logical]?.QueueName as string;
    ensureQueue(world, accountId, region, n, queueAttrs);
    loaded.queues.push(n);
    removers[logical] = () => {
      deleteQueue(world, accountId, region, n);
    };
  }
  const events = world.stateOf<{
    buses: Map<string, { name: string; arn: string; rules: Map<string, unknown> }>;
  }>('events', accountId, region);
  for (const [logical] of byType('AWS::Events::EventBus')) {
    const n = physical[logical] as string;
    if (!events.buses.has(n))
      events.buses.set(n, { name: n, arn: attrs[logical]?.Arn as string, rules: new Map() });
    removers[logical] = () => deleteBus(world, accountId, region, n);
  }
}

/** Resource-based policies the services keep: each bus's statements, each queue's policy. */
export function wireResourcePolicies(w: Wiring): void {
  const { world, accountId, region, removers, resolve, byType } = w;
  for (const [logical, r] of byType('AWS::Events::EventBusPolicy')) {
    const p = resolve(r.Properties);
    const bus = findBus(world, accountId, region, String(p.EventBusName ?? 'default'));
    if (!bus) throw new Error(`template: ${logical}: no event bus ${p.EventBusName}`);
    try {
      putBusPolicyStatement(bus, String(p.StatementId), p.Statement);
    } catch (err) {
      throw new Error(`template: ${logical}: ${(err as Error).message}`);
    }
    removers[logical] = () => {
      bus.policy?.delete(String(p.StatementId));
    };
  }
  for (const [logical, r] of byType('AWS::SQS::QueuePolicy')) {
    const p = resolve(r.Properties);
    for (const url of p.Queues as string[]) {
      const q = queuesOf(world, `arn:aws:sqs:${region}:${accountId}:${String(url).split('/').pop()}`);
      if (!q) throw new Error(`template: ${logical}: no queue ${url}`);
      try {
        parsePolicy(p.PolicyDocument, `${logical}`, 'resource');
      } catch (err) {
        throw new Error(`template: ${logical}: ${(err as Error).message}`);
      }
      q.attributes.Policy = JSON.stringify(p.PolicyDocument);
    }
    removers[logical] = () => {
      for (const url of p.Queues as string[])
        delete queuesOf(world, `arn:aws:sqs:${region}:${accountId}:${String(url).split('/').pop()}`)
          ?.attributes.Policy;
    };
  }
}

/** Rules with their targets and schedules, once what they target exists. */
export function wireRules(w: Wiring): void {
  const { world, accountId, region, loaded, removers, name, resolve, byType } = w;
  for (const [logical, r] of byType('AWS::Events::Rule')) {
    const p = resolve(r.Properties);
    const ruleName = name(logical, p.Name);
    const rule = putRule(world, accountId, region, {
      Name: ruleName,
      EventBusName: p.EventBusName,
      EventPattern:
        p.EventPattern === undefined
          ? undefined
          : typeof p.EventPattern === 'string'
            ? p.EventPattern
            : JSON.stringify(p.EventPattern),
      ScheduleExpression: p.ScheduleExpression,
      State: p.State,
      Description: p.Description,
    });
    const result = putTargets(
      world,
      accountId,
      region,
      ruleName,
      p.EventBusName,
      (p.Targets ?? []) as Target[],
    );
    if (result.FailedEntryCount > 0) {
      throw new Error(
        `template: rule ${logical}: ${result.FailedEntries.map((f) => f.ErrorMessage).join('; ')}`,
      );
    }
    loaded.rules.push(rule.name);
    removers[logical] = () => {
      const bus = findBus(world, accountId, region, String(p.EventBusName ?? 'default'));
      if (bus) deleteRule(bus, ruleName);
    };
  }
}
