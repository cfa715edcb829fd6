/** Helpers for Workflows engine tests: YAML in template literals, and a run on a manual clock. */

import type { VirtualClock } from '#local/clock.ts';
import {
  type ExecutionOutcome,
  runDefinition,
  type Value,
  type WorkflowPorts,
} from '#local/workflows/index.ts';
import type { RunOptions } from '#local/workflows/outcome.ts';
import { manualClock } from './timers.ts';

/** Strips the common indentation of a template literal so YAML can be written inline. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ''), '');
  const lines = text.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return lines.map((l) => l.slice(indent)).join('\n');
}

export interface TestRun extends ExecutionOutcome {
  clock: VirtualClock;
  logs: unknown[];
}

/** Runs a definition to the end, firing the clock's timers as the execution waits on them. */
export async function run(
  definition: string,
  argument?: Value,
  ports: Partial<WorkflowPorts> = {},
  options: RunOptions = {},
): Promise<TestRun> {
  const clock = (ports.clock as VirtualClock | undefined) ?? manualClock();
  const logs: unknown[] = [];
  const outcome = await clock.runUntil(
    runDefinition(definition, { log: (e) => logs.push(e), ...ports, clock }, argument, options),
  );
  return { ...outcome, clock, logs };
}

/** The raised error value of a failed run (fails the test if it did not fail). */
export function raised(r: ExecutionOutcome): Value {
  if (r.state !== 'FAILED')
    throw new Error(`expected FAILED, got ${r.state} with ${JSON.stringify(r.result)}`);
  return r.errorValue as Value;
}
