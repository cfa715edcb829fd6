/**
 * The DR executor's state on Google (docs/dr-executor.md "On Google: the dr-failover workflow"), in
 * Firestore, the twin of the AWS store in the links table:
 *
 * | document                                        | fields                                                         |
 * | ----------------------------------------------- | -------------------------------------------------------------- |
 * | `drExecutors/<service>`                         | `epoch`: the claimed epoch; `owner`: the execution that claimed it; `version`; `finished`; `status`; `run` (JSON) |
 * | `drExecutors/<service>/runs/<epoch, 10 digits>` | `run` (JSON): a finished run, kept once the next one starts    |
 * | `drExecutors/<service>/refused/<time>#<epoch>`  | `refusal` (JSON): a claim refused, and why                     |
 * | `drExecutors/<service>/results/<epoch>#<index>` | `result` (JSON), `receivedAt`: what the other cloud relayed back |
 * | `drDeciders/<service>`                          | `decidedAt`, `decidedEpoch`: the last decision handed on; `checkpointAt` (ms), `checkpointPlan`, `checkpoint` (JSON): the decider's kept state |
 * | `drDeciders/<service>/starts/<epoch, 10 digits>` | `key`, `createdAt`, `executionName`: the start of the decision's workflow execution (execution-starter.ts `startOnce`) |
 *
 * The head holds the claimed epoch and the current run in one document, read and written in one
 * transaction, so the epoch and the run are fenced together:
 * - **claim**: the head is written only when there is none, or when its epoch is below the new one
 *   and its run has finished. Two steps holding the same decision cannot both start a run; a
 *   duplicate or stale decision, or one that comes while a run is open, is refused and recorded.
 * - **save**: an advance is written only over the version it was read at (and never lowers the
 *   epoch); a writer that lost the race gets a ConflictError and reads the run again.
 * - **the decision hook's ledger** (functions/core/dr/decision-hook.ts): the decided time and the
 *   decider's checkpoint, in a document of their own (the hook's writes never race the run's), each
 *   moved only forward in a transaction: the decided time only from the value the hook read, the
 *   checkpoint only to a later time.
 * - **results**: the first relayed result of an epoch's action is kept (`create`); a redelivery of it
 *   changes nothing.
 */
import { FieldPath, type Firestore } from '@google-cloud/firestore';
import { type Decided, type DecisionLedger, isAfter } from '#core/dr/decision-hook.ts';
import { type ActionResult, claimIssue, isFinished, type Run } from '#core/dr/executor.ts';
import type { DrRunStore } from '#core/dr/executor-steps.ts';
import type { Claim, Refusal, StoredRun } from '#core/dr/executor-store.ts';
import type { DeciderCheckpoint } from '#core/dr/failover-decider.ts';
import { ConflictError } from '#core/errors.ts';
import type { StartRecordPort } from './execution-starter.ts';
import type { StartRecord } from './link-store.ts';

/** gRPC status ALREADY_EXISTS. */
const ALREADY_EXISTS = 6;
const padEpoch = (epoch: number) => String(epoch).padStart(10, '0');

/** A save over a version that is no longer the stored one: another advance was saved first. */
export class RunVersionConflict extends ConflictError {
  override name = 'RunVersionConflict';
}

export class FirestoreDrExecutorStore implements DrRunStore, DecisionLedger {
  readonly #db: Firestore;

  constructor(db: Firestore) {
    this.#db = db;
  }

  #head(service: string) {
    return this.#db.collection('drExecutors').doc(service);
  }

  #fields(run: Run, version: number, owner: string) {
    return {
      epoch: run.epoch,
      owner,
      version,
      finished: isFinished(run),
      status: run.status,
      run: JSON.stringify(run),
    };
  }

  async current(service: string): Promise<StoredRun | undefined> {
    const snap = await this.#head(service).get();
    return snap.exists
      ? { run: JSON.parse(String(snap.get('run'))) as Run, version: Number(snap.get('version')) }
      : undefined;
  }

  async claim(run: Run, time: string, owner: string): Promise<Claim> {
    const head = this.#head(run.service);
    const outcome: { again?: StoredRun; issue?: string } = await this.#db.runTransaction(async (tx) => {
      const snap = await tx.get(head);
      const stored = snap.exists ? (JSON.parse(String(snap.get('run'))) as Run) : undefined;
      if (stored && snap.get('owner') === owner && Number(snap.get('epoch')) === run.epoch)
        return { again: { run: stored, version: Number(snap.get('version')) } };
      const issue =
        claimIssue(stored ? Number(snap.get('epoch')) : null, run.epoch) ??
        (stored && !isFinished(stored)
          ? `the run of epoch ${stored.epoch} is ${stored.status}: one run at a time, the decision is not taken`
          : undefined);
      if (issue) return { issue };
      tx.set(head, this.#fields(run, 1, owner));
      if (stored)
        tx.set(head.collection('runs').doc(padEpoch(stored.epoch)), { run: JSON.stringify(stored) });
      return {};
    });
    if (outcome.again) return { claimed: true, stored: outcome.again, again: true };
    if (outcome.issue === undefined) return { claimed: true, stored: { run, version: 1 } };
    const refusal: Refusal = { service: run.service, epoch: run.epoch, time, reason: outcome.issue };
    await head
      .collection('refused')
      .doc(`${new Date(time).toISOString()}#${padEpoch(run.epoch)}`)
      .set({ refusal: JSON.stringify(refusal) });
    return { claimed: false, refusal };
  }

  async save(run: Run, version: number): Promise<StoredRun> {
    const head = this.#head(run.service);
    await this.#db.runTransaction(async (tx) => {
      const snap = await tx.get(head);
      if (!snap.exists || Number(snap.get('version')) !== version || Number(snap.get('epoch')) > run.epoch)
        throw new RunVersionConflict(
          `the ${run.service} run of epoch ${run.epoch} is no longer at version ${version}: another advance was saved first`,
        );
      tx.set(head, this.#fields(run, version + 1, String(snap.get('owner'))));
    });
    return { run, version: version + 1 };
  }

  async putResult(result: ActionResult, receivedAt: string): Promise<void> {
    try {
      await this.#head(result.service)
        .collection('results')
        .doc(`${padEpoch(result.epoch)}#${result.index}`)
        .create({ result: JSON.stringify(result), receivedAt });
    } catch (e) {
      if ((e as { code?: unknown }).code !== ALREADY_EXISTS) throw e;
    }
  }

  async result(
    service: string,
    epoch: number,
    index: number,
  ): Promise<{ result: ActionResult; receivedAt: string } | undefined> {
    const snap = await this.#head(service)
      .collection('results')
      .doc(`${padEpoch(epoch)}#${index}`)
      .get();
    return snap.exists
      ? {
          result: JSON.parse(String(snap.get('result'))) as ActionResult,
          receivedAt: String(snap.get('receivedAt')),
        }
      : undefined;
  }

  #decider(service: string) {
    return this.#db.collection('drDeciders').doc(service);
  }

  async decidedAt(service: string): Promise<Decided | null> {
    const snap = await this.#decider(service).get();
    const time = snap.get('decidedAt') as string | undefined;
    return time === undefined ? null : { time, epoch: (snap.get('decidedEpoch') as number | undefined) ?? 0 };
  }

  async checkpoint(service: string, plan: string): Promise<DeciderCheckpoint | null> {
    const snap = await this.#decider(service).get();
    const at = snap.get('checkpointAt') as number | undefined;
    return at === undefined || snap.get('checkpointPlan') !== plan
      ? null
      : { at, state: JSON.parse(String(snap.get('checkpoint'))) };
  }

  async keepCheckpoint(service: string, plan: string, checkpoint: DeciderCheckpoint): Promise<boolean> {
    const doc = this.#decider(service);
    return this.#db.runTransaction(async (tx) => {
      const snap = await tx.get(doc);
      const stored = snap.get('checkpointAt') as number | undefined;
      if (stored !== undefined && stored >= checkpoint.at && snap.get('checkpointPlan') === plan)
        return false;
      tx.set(
        doc,
        { checkpointAt: checkpoint.at, checkpointPlan: plan, checkpoint: JSON.stringify(checkpoint.state) },
        { merge: true },
      );
      return true;
    });
  }

  async markDecided(service: string, previous: Decided | null, next: Decided): Promise<boolean> {
    if (!isAfter(next, previous)) return false;
    const iso = (t: string) => new Date(t).toISOString();
    const doc = this.#decider(service);
    return this.#db.runTransaction(async (tx) => {
      const snap = await tx.get(doc);
      const time = snap.get('decidedAt') as string | undefined;
      const epoch = (snap.get('decidedEpoch') as number | undefined) ?? 0;
      const same =
        previous === null ? time === undefined : time === iso(previous.time) && epoch === previous.epoch;
      if (!same) return false;
      tx.set(doc, { decidedAt: iso(next.time), decidedEpoch: next.epoch }, { merge: true });
      return true;
    });
  }

  /** The create-if-absent record of the start of a decision's execution (execution-starter.ts's guard). */
  decisionStart(service: string, epoch: number, key: string, now: number): StartRecordPort {
    const ref = this.#decider(service).collection('starts').doc(padEpoch(epoch));
    return {
      claim: async () => {
        const record: StartRecord = { key, createdAt: now };
        try {
          await ref.create(record);
          return { created: true, record };
        } catch (e) {
          if ((e as { code?: unknown }).code !== ALREADY_EXISTS) throw e;
        }
        return { created: false, record: (await ref.get()).data() as StartRecord };
      },
      setExecution: (name) =>
        this.#db.runTransaction(async (tx) => {
          const current = (await tx.get(ref)).data() as StartRecord | undefined;
          if (!current) throw new ConflictError(`no start record for ${service} epoch ${epoch}`);
          if (current.executionName) return current;
          tx.update(ref, { executionName: name });
          return { ...current, executionName: name };
        }),
    };
  }

  /** The finished runs that a later claim replaced, oldest first. */
  async finishedRuns(service: string): Promise<Run[]> {
    const snap = await this.#head(service).collection('runs').orderBy(FieldPath.documentId()).get();
    return snap.docs.map((d) => JSON.parse(String(d.get('run'))) as Run);
  }

  /** The refused claims, in time order. */
  async refusals(service: string): Promise<Refusal[]> {
    const snap = await this.#head(service).collection('refused').orderBy(FieldPath.documentId()).get();
    return snap.docs.map((d) => JSON.parse(String(d.get('refusal'))) as Refusal);
  }
}
