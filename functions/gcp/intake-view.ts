/**
 * The intake's view of the stage starter. A start another starter holds at that moment
 * (`StartInProgressError`: the starter function got this side's LinkRequested /
 * LinkDecommissionRequested at the same moment and has claimed the start record, but not yet
 * created the execution) is a start, not an error for the person asking: that starter finishes it,
 * or its redelivery does. It also counts as **running**: the core raises a decommission's attempt
 * only past a run that has ended, and asking the Executions API at that moment finds nothing yet,
 * which started a second run (two drains, two deletes). The event consumers keep the error, so
 * Pub/Sub redelivers and the guard is asked again.
 */
import { executionName } from '#core/ids.ts';
import type { IntakeDeps } from '#core/link/intake.ts';
import { StartInProgressError } from './execution-starter.ts';

export function intakeView<D extends IntakeDeps>(deps: D): D {
  const inFlight = new Set<string>();
  const view = Object.create(deps) as D;
  view.stages = {
    start: async (stage, input, attempt) => {
      try {
        return await deps.stages.start(stage, input, attempt);
      } catch (e) {
        if (!(e instanceof StartInProgressError)) throw e;
        const key = executionName(input.linkId, stage, attempt);
        inFlight.add(key);
        return { executionName: key, started: false };
      }
    },
    running: async (stage, linkId, attempt) =>
      inFlight.has(executionName(linkId, stage, attempt)) || deps.stages.running(stage, linkId, attempt),
  };
  return view;
}
