/**
 * A commanded side's dependencies for the tests of both clouds' (functions/core/dr/commanded.ts):
 * the cloud's own fence, a bus that records what is put, a clock the test moves, and a hook runner
 * that records the actions it was asked to run and answers as `hook` says.
 */
import type { CommandedDeps, CommandedFence } from '#core/dr/commanded.ts';
import type { Action, DrPlan } from '#core/dr/plan.ts';
import type { CloudEvent, Origin } from '#core/envelope.ts';
import type { DrActionFinishedData } from '#core/events/catalog.ts';

export interface CommandedHarness {
  deps: CommandedDeps;
  /** What the commanded side put on its bus or topic. */
  sent: CloudEvent[];
  /** The types of the actions whose hook ran, in order. */
  ran: string[];
  now: { ms: number };
}

export function commandedHarness(o: {
  plan: DrPlan;
  fence: CommandedFence;
  origin: Origin;
  now: number;
  hook?: (a: Action) => Promise<{ detail?: string }>;
}): CommandedHarness {
  const hook = o.hook ?? (async () => ({ detail: 'done' }));
  const h: CommandedHarness = { sent: [], ran: [], now: { ms: o.now }, deps: undefined as never };
  h.deps = {
    plan: o.plan,
    fence: o.fence,
    bus: { put: async (e) => void h.sent.push(...e) },
    origin: o.origin,
    clock: { now: () => h.now.ms },
    runHook: async (action) => {
      h.ran.push(action.type);
      return hook(action);
    },
  };
  return h;
}

/** A DrActionFinished's data. */
export const finishedData = (e: CloudEvent | undefined) => e?.data as DrActionFinishedData;
