/**
 * The commanded side's fence (docs/dr-executor.md "The epoch"): the highest epoch it has admitted,
 * the result of every action it ran under it (a redelivered command is answered with it and runs no
 * second time), and the commands it refused (a lower epoch, or one that came after its deadline).
 * Pure; each cloud's commanded side keeps it in its own store (functions/aws/dr-fence.ts,
 * functions/gcp/dr-fence.ts) through functions/core/dr/commanded.ts.
 */
import { ValidationError } from '../errors.ts';
import type { ActionCommand, ActionResult } from './executor.ts';

/** The commanded side's fence: the highest epoch admitted, the results given, the commands refused. */
export interface FenceState {
  service: string;
  epoch: number;
  /** Results by `<epoch>#<index>`: a redelivered command gets its result again and runs no second time. */
  results: Record<string, ActionResult>;
  refused: { epoch: number; index: number; time: string; reason: string }[];
}

export const initialFence = (service: string): FenceState => ({
  service,
  epoch: 0,
  results: {},
  refused: [],
});

export type Admission =
  | { verdict: 'run'; state: FenceState }
  | { verdict: 'duplicate'; state: FenceState; result: ActionResult }
  | { verdict: 'refused'; state: FenceState; result: ActionResult };

/**
 * Whether the commanded side runs a command: with the current epoch or a higher one (which becomes
 * current), once per action, before its deadline. A lower epoch is refused and recorded: it comes
 * from a superseded run. So is a command that arrives after its deadline (held up by a partition):
 * the executor has stopped waiting for it and stalled, so running it now would act behind its back.
 */
export function admit(fence: FenceState, command: ActionCommand, time: string): Admission {
  if (command.service !== fence.service)
    throw new ValidationError(
      [{ path: 'service', reason: `"${command.service}" is not this fence's service (${fence.service})` }],
      'action command',
    );
  const key = `${command.epoch}#${command.index}`;
  const done = fence.results[key];
  if (done) return { verdict: 'duplicate', state: fence, result: done };
  const reason =
    command.epoch < fence.epoch
      ? `epoch ${command.epoch} is below the current epoch ${fence.epoch}: a stale command, not run`
      : Date.parse(time) >= Date.parse(command.deadline)
        ? `arrived at ${time}, after its deadline ${command.deadline}: the executor no longer waits for it, not run`
        : undefined;
  if (reason !== undefined) {
    const result: ActionResult = {
      service: fence.service,
      epoch: command.epoch,
      index: command.index,
      outcome: 'refused',
      time,
      detail: reason,
    };
    const refused = [...fence.refused, { epoch: command.epoch, index: command.index, time, reason }].slice(
      -FENCE_REFUSALS_KEPT,
    );
    return { verdict: 'refused', state: { ...fence, refused }, result };
  }
  if (command.epoch === fence.epoch) return { verdict: 'run', state: fence };
  // A higher epoch: the results of lower ones are never given again (their commands are now stale),
  // so the fence keeps only the current epoch's, and stays as small as one run.
  const results = Object.fromEntries(
    Object.entries(fence.results).filter(([, r]) => r.epoch >= command.epoch),
  );
  return { verdict: 'run', state: { ...fence, epoch: command.epoch, results } };
}

/**
 * The refusals a fence keeps, the latest: each is also answered as a `refused` result (the executor
 * records it in its run's history), so the fence need not keep them all. One fence is one DynamoDB
 * item (at most 400 KB) or one Firestore document (1 MiB); an unbounded list would in time make
 * every write to it fail.
 */
export const FENCE_REFUSALS_KEPT = 50;

/** Records the result of an admitted command, so that a redelivery returns it again. */
export function recordResult(fence: FenceState, result: ActionResult): FenceState {
  return { ...fence, results: { ...fence.results, [`${result.epoch}#${result.index}`]: result } };
}
