/**
 * The Google store of prod VPN delete requests and approvals (docs/vpn-runs.md "Approval of a
 * delete"), the twin of functions/aws/vpn-approvals.ts: recording an approval answers the waiting
 * workflow's callback, so the vpn-half workflow resumes and deletes.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { Clock } from '#core/clock.ts';
import { UnavailableError } from '#core/errors.ts';
import { retryable } from '#core/link/waits.ts';
import type { VpnApprovalStore, VpnDeleteApproval, VpnDeleteRequest } from '#core/vpn/approval.ts';

/**
 * Delete requests and approvals in Firestore: `vpnApprovals/<runId>~<vpnId>` with `request` (what
 * the half refused), `approval` (what the intake recorded) and, while an execution waits for it,
 * `callback` (its callback URL) and `waitUntil` (the wait's deadline, epoch ms). Recording an
 * approval answers the waiting execution's callback (`resume`, the intake's), so it deletes.
 */
export class FirestoreVpnApprovals implements VpnApprovalStore {
  readonly #db: Firestore;
  readonly #clock: Clock | undefined;
  readonly #resume: ((callback: string, output: unknown) => Promise<void>) | undefined;
  constructor(
    db: Firestore,
    o: { clock?: Clock; resume?: (callback: string, output: unknown) => Promise<void> } = {},
  ) {
    this.#db = db;
    this.#clock = o.clock;
    this.#resume = o.resume;
  }
  #doc(runId: string, vpnId: string) {
    return this.#db.collection('vpnApprovals').doc(`${runId}~${vpnId}`);
  }
  async #field<T>(runId: string, vpnId: string, f: 'request' | 'approval'): Promise<T | undefined> {
    return ((await this.#doc(runId, vpnId).get()).data()?.[f] as T | undefined) ?? undefined;
  }
  request(runId: string, vpnId: string) {
    return this.#field<VpnDeleteRequest>(runId, vpnId, 'request');
  }
  approval(runId: string, vpnId: string) {
    return this.#field<VpnDeleteApproval>(runId, vpnId, 'approval');
  }
  async recordRequest(r: VpnDeleteRequest): Promise<void> {
    await this.#doc(r.runId, r.vpnId).set({ request: r }, { merge: true });
  }
  /**
   * Records the approval, then answers the waiting execution's callback if its wait is still on, so
   * it resumes and deletes. The callback is removed only once answered (a callback whose execution
   * ended answers 404, which counts as answered): a send that fails for now (429, 5xx) leaves it,
   * and the approval, recorded, so approving again resumes the execution, and the wait's deadline
   * applies the recorded approval if nobody does (`expireGcpVpnDelete`).
   */
  async recordApproval(runId: string, vpnId: string, a: VpnDeleteApproval): Promise<void> {
    const ref = this.#doc(runId, vpnId);
    const waiting = await this.#db.runTransaction(async (tx) => {
      const data = (await tx.get(ref)).data();
      tx.set(ref, { approval: a }, { merge: true });
      return { callback: data?.callback as string | undefined, until: Number(data?.waitUntil ?? 0) };
    });
    const now = this.#clock?.now() ?? Date.now();
    if (!waiting.callback || waiting.until <= now || !this.#resume) return;
    try {
      await this.#resume(waiting.callback, { runId, vpnId, approvedBy: a.approver });
    } catch (e) {
      if (!retryable(e)) throw e;
      throw new UnavailableError(
        `the approval of the delete of ${vpnId} in run ${runId} is recorded, but the execution waiting for it could not be resumed now (${(e as Error).message}): approve again to resume it, or it is applied at the wait's deadline`,
      );
    }
    await this.unpark(runId, vpnId, waiting.callback);
  }
  /**
   * Parks an execution's callback for a delete with its request, unless another execution's wait
   * for it is still within its deadline; an approval already recorded comes back with the answer.
   */
  async park(w: {
    request: VpnDeleteRequest;
    callback: string;
    waitUntil: number;
  }): Promise<{ parked: true; approval?: VpnDeleteApproval } | { parked: false; waitingIn: string }> {
    const ref = this.#doc(w.request.runId, w.request.vpnId);
    const now = this.#clock?.now() ?? Date.now();
    return this.#db.runTransaction(async (tx) => {
      const data = (await tx.get(ref)).data();
      const other = data?.callback as string | undefined;
      if (other && other !== w.callback && Number(data?.waitUntil ?? 0) > now)
        return { parked: false as const, waitingIn: other.replace(/\/callbacks\/.*$/, '') };
      tx.set(ref, { request: w.request, callback: w.callback, waitUntil: w.waitUntil }, { merge: true });
      const approval = data?.approval as VpnDeleteApproval | undefined;
      return approval ? { parked: true as const, approval } : { parked: true as const };
    });
  }
  /** Ends a wait (answered, or at its deadline): its callback is removed (only that execution's). */
  async unpark(runId: string, vpnId: string, callback: string): Promise<void> {
    const { FieldValue } = await import('@google-cloud/firestore');
    const ref = this.#doc(runId, vpnId);
    await this.#db.runTransaction(async (tx) => {
      if ((await tx.get(ref)).data()?.callback !== callback) return;
      tx.set(ref, { callback: FieldValue.delete(), waitUntil: FieldValue.delete() }, { merge: true });
    });
  }
}
