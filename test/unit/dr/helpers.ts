/** Shared test helpers: the example plan as a mutable document, and plan variants. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { Decision } from '#core/dr/failover-state.ts';
import { type DrPlan, type DrPlanDocument, validateDrPlan } from '#core/dr/plan.ts';
import { type DrRecord, parseSignalLog } from '#core/dr/signal-log.ts';

export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const EXAMPLE_PLAN = join(ROOT, 'config', 'dr-plans', 'example-payments.yaml');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'dr');

export const planFiles = () =>
  readdirSync(join(ROOT, 'config', 'dr-plans'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(ROOT, 'config', 'dr-plans', f));

/** A fresh copy of the example plan's document, to change in a test. */
export function exampleDoc(): DrPlanDocument {
  return parse(readFileSync(EXAMPLE_PLAN, 'utf8')) as DrPlanDocument;
}

/** The example plan, changed by `edit`, validated. */
export function planWith(edit: (doc: DrPlanDocument) => void = () => {}): DrPlan {
  const doc = exampleDoc();
  edit(doc);
  return validateDrPlan(doc);
}

/** The example plan's vantage points and signals that watch the primary, and the standby. */
export const PRIMARY: [string, string][] = [
  ['aws-us-west-2', 'api-availability'],
  ['gcp-us-west1', 'api-availability'],
  ['route53-checkers', 'api-health-check'],
];
export const STANDBY: [string, string][] = [
  ['aws-us-west-2', 'standby-readiness'],
  ['gcp-us-west1', 'standby-readiness'],
  ['route53-checkers', 'standby-readiness'],
];

export function fixture(name: string): DrRecord[] {
  return parseSignalLog(readFileSync(join(FIXTURES, name), 'utf8'));
}

/** Issues of a ValidationError thrown by `fn`, or a failure if it does not throw one. */
export function issuesOf(fn: () => unknown): { path: string; reason: string }[] {
  try {
    fn();
  } catch (e) {
    const issues = (e as { issues?: { path: string; reason: string }[] }).issues;
    if (issues) return issues;
    throw e;
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}

/** A failover decision of `plan` that needs no approval, with the plan's actions (epoch 3 unless `over` says). */
export function failoverDecision(plan: DrPlan, over: Partial<Decision> = {}): Decision {
  return {
    time: '2026-03-02T10:06:03Z',
    service: plan.service,
    epoch: 3,
    trigger: 'tick',
    decision: 'failover',
    approval: 'not-required',
    active: 'standby',
    reasons: [{ code: 'quorum', message: 'a quorum of vantage points sees the primary down' }],
    actions: plan.actions.failover,
    ...over,
  };
}
