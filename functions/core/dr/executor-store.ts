/**
 * Where a DR executor keeps the plan's claimed epoch and its run: one interface for both clouds'
 * stores (AWS's in the links table, functions/aws/dr-executor-store.ts; Google's in Firestore,
 * functions/gcp/dr-executor-store.ts), held to one contract (test/support/dr-run-store-contract.ts).
 *
 * - **claim** fences the epoch and the run together: taken only above the stored epoch, and only when
 *   the stored run has finished; refused otherwise, the refusal recorded with its reason. The claim
 *   names its **owner** (the workflow or state machine execution that claims): a retried claim whose
 *   first answer was lost finds its own run again (`again`), where any other owner's claim of the
 *   same epoch is a duplicate and is refused. Without it, a step retried after its claim was stored
 *   would be refused as a duplicate, and the run it opened would have no one watching its deadlines.
 * - **save** writes an advance only over the version it was read at, and never lowers the stored
 *   epoch; the loser of a race gets a ConflictError (RunVersionConflict) and reads the run again.
 */
import type { Run } from './executor.ts';

/** The run as stored, with the version a save must name. */
export interface StoredRun {
  run: Run;
  version: number;
}

/** A claim refused, and why: recorded by the store. */
export interface Refusal {
  service: string;
  epoch: number;
  time: string;
  reason: string;
}

/**
 * A claim's outcome. `again`: this owner had already claimed the epoch, as a retried claim whose
 * first answer was lost finds it; the run goes on from where it is.
 */
export type Claim =
  | { claimed: true; stored: StoredRun; again?: boolean }
  | { claimed: false; refusal: Refusal };

export interface DrExecutorStore {
  /**
   * Claims the run's epoch for `owner`: only above the stored one, and only when the stored run has
   * finished (or when `owner` itself holds this epoch already: `again`). A refusal is recorded.
   */
  claim(run: Run, time: string, owner: string): Promise<Claim>;
  /** The current (or last) run with its version, or undefined before the first claim. */
  current(service: string): Promise<StoredRun | undefined>;
  /** Saves an advance over `version`; throws ConflictError when another advance was saved first. */
  save(run: Run, version: number): Promise<StoredRun>;
}
