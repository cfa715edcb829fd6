/** The DR executor's store in memory, with the Firestore adapter's semantics (test/support/dr-run-store-contract.ts holds both to them). */
import { type ActionResult, claimIssue, isFinished, type Run } from '#core/dr/executor.ts';
import type { DrRunStore } from '#core/dr/executor-steps.ts';
import type { Claim, Refusal, StoredRun } from '#core/dr/executor-store.ts';
import { ConflictError } from '#core/errors.ts';

export class MemoryDrRuns implements DrRunStore {
  readonly heads = new Map<string, StoredRun & { owner: string }>();
  readonly refused: Refusal[] = [];
  readonly finished: Run[] = [];
  readonly results = new Map<string, { result: ActionResult; receivedAt: string }>();

  async claim(run: Run, time: string, owner: string): Promise<Claim> {
    const head = this.heads.get(run.service);
    if (head && head.owner === owner && head.run.epoch === run.epoch)
      return { claimed: true, stored: { run: head.run, version: head.version }, again: true };
    const reason =
      claimIssue(head ? head.run.epoch : null, run.epoch) ??
      (head && !isFinished(head.run)
        ? `the run of epoch ${head.run.epoch} is ${head.run.status}: one run at a time, the decision is not taken`
        : undefined);
    if (reason) {
      const refusal = { service: run.service, epoch: run.epoch, time, reason };
      this.refused.push(refusal);
      return { claimed: false, refusal };
    }
    if (head) this.finished.push(head.run);
    this.heads.set(run.service, { run, version: 1, owner });
    return { claimed: true, stored: { run, version: 1 } };
  }

  async current(service: string): Promise<StoredRun | undefined> {
    const head = this.heads.get(service);
    return head && { run: head.run, version: head.version };
  }

  async save(run: Run, version: number): Promise<StoredRun> {
    const head = this.heads.get(run.service);
    if (!head || head.version !== version || head.run.epoch > run.epoch)
      throw new ConflictError(
        `the ${run.service} run of epoch ${run.epoch} is no longer at version ${version}`,
      );
    this.heads.set(run.service, { run, version: version + 1, owner: head.owner });
    return { run, version: version + 1 };
  }

  async putResult(result: ActionResult, receivedAt: string): Promise<void> {
    const key = `${result.service}/${result.epoch}#${result.index}`;
    if (!this.results.has(key)) this.results.set(key, { result, receivedAt });
  }

  async result(service: string, epoch: number, index: number) {
    return this.results.get(`${service}/${epoch}#${index}`);
  }
}
