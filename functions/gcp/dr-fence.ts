/**
 * The commanded side's fence on Google (docs/dr-executor.md, "The commanded side on Google"): the
 * core fence (functions/core/dr/commanded.ts `admitStored`, `recordStored`) kept in Firestore, one document
 * per plan's service, read and written in one transaction so that two deliveries of a command (a
 * Pub/Sub redelivery, a relay's second push) cannot both be admitted:
 *
 * | document                | fields                                                                   |
 * | ----------------------- | ------------------------------------------------------------------------ |
 * | `drFence/<service>`     | `fence` (JSON: the highest epoch admitted, the results, the refusals), `running` (JSON: `<epoch>#<index>` -> deadline of a command admitted whose hook has not answered) |
 *
 * - A command with a lower epoch than the fence's, or that arrives after its deadline, is refused
 *   and the refusal recorded (its result is `refused`).
 * - A command admitted once is `running` until its result is recorded; a delivery of it meanwhile is
 *   told so (`in-progress`: the push is answered so that Pub/Sub delivers it again later), and one
 *   after its result gets the recorded result (`duplicate`) and runs nothing.
 * - A command whose hook never answered (the function died in it) is, once past its deadline,
 *   recorded as refused: the executor stopped waiting for it at that deadline and stalled.
 */
import type { Firestore } from '@google-cloud/firestore';
import {
  admitStored,
  type CommandedFence,
  type FenceAdmission,
  freshFence,
  recordStored,
  type StoredFence,
} from '#core/dr/commanded.ts';
import type { ActionCommand, ActionResult } from '#core/dr/executor.ts';
import type { FenceState } from '#core/dr/fence.ts';

export type { FenceAdmission } from '#core/dr/commanded.ts';

/** The fence and the commands running, from the document (a fresh fence before the first command). */
function stored(snap: { exists: boolean; get(field: string): unknown }, service: string): StoredFence {
  if (!snap.exists) return freshFence(service);
  return {
    fence: JSON.parse(String(snap.get('fence'))) as FenceState,
    running: JSON.parse(String(snap.get('running') ?? '{}')) as Record<string, string>,
  };
}

const fields = (s: StoredFence) => ({ fence: JSON.stringify(s.fence), running: JSON.stringify(s.running) });

export class FirestoreDrFence implements CommandedFence {
  readonly #db: Firestore;

  constructor(db: Firestore) {
    this.#db = db;
  }

  #doc(service: string) {
    return this.#db.collection('drFence').doc(service);
  }

  /** The fence as stored (a fresh one before the first command). */
  async read(service: string): Promise<FenceState> {
    return stored(await this.#doc(service).get(), service).fence;
  }

  /** Admits (or refuses, and records the refusal of) a command at `time`, in one transaction. */
  admit(command: ActionCommand, time: string): Promise<FenceAdmission> {
    const ref = this.#doc(command.service);
    return this.#db.runTransaction(async (tx) => {
      const { admission, next } = admitStored(stored(await tx.get(ref), command.service), command, time);
      if (next) tx.set(ref, fields(next));
      return admission;
    });
  }

  /** Records the result of an admitted command, so that a redelivery gets it and runs nothing. */
  async record(result: ActionResult): Promise<FenceState> {
    const ref = this.#doc(result.service);
    return this.#db.runTransaction(async (tx) => {
      const next = recordStored(stored(await tx.get(ref), result.service), result);
      tx.set(ref, fields(next));
      return next.fence;
    });
  }
}
