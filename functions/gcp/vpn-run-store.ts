/**
 * The VPN runs' records in Firestore when Google coordinates (docs/vpn-runs.md, "Google as
 * coordinator"), the twin of functions/aws/vpn-run-store.ts:
 *
 * | document                                       | fields                                                        |
 * | ---------------------------------------------- | ------------------------------------------------------------- |
 * | `vpnRuns/<runId>`                              | `header` (JSON), `status`, `order` (`<scheduledAt> <runId>`)  |
 * | `vpnRuns/<runId>/pages/<nnnn>`                 | `entries` (JSON): the planned VPNs of one page                |
 * | `vpnRuns/<runId>/results/<vpnId>~<action>~<side>` | `result` (JSON): a half's answer                          |
 * | `vpnRunDrains/<vpnId>`                         | `drain` (JSON), `links` (the link ids a weakening undrains)   |
 * | `vpnRunUndrains/<linkId>~<key>`                | `claim` (JSON), `linkId`: the drains one weakening undoes     |
 *
 * The claim is a `create()` of the run's document (fails if it exists), a weakening's undrain claim
 * one of its own (`undrainClaimKey`). A result and a drain's move are written in a transaction over
 * what they read: a `changed` answer is not overwritten by another, and a cleared drain stays cleared. The inventory pages the
 * exchange keeps share the run's document (`inventoryPages`, vpn-inventory.ts). JSON text because a
 * run's entries hold nested arrays, which Firestore values cannot.
 */
import { FieldPath, type Firestore } from '@google-cloud/firestore';
import type { RunDrain, RunEntry } from '#core/vpn/run.ts';
import {
  type UndrainClaim,
  undrainClaimKey,
  type VpnRunHeader,
  type VpnRunResult,
  type VpnRunStore,
} from '#core/vpn/run-steps.ts';

/** gRPC status ALREADY_EXISTS: the run's document is there (another start claimed it). */
const ALREADY_EXISTS = 6;
const codeOf = (e: unknown): number | undefined => (e as { code?: unknown })?.code as number | undefined;

export class FirestoreVpnRuns implements VpnRunStore {
  readonly #db: Firestore;
  constructor(db: Firestore) {
    this.#db = db;
  }

  #run(runId: string) {
    return this.#db.collection('vpnRuns').doc(runId);
  }

  #fields(h: VpnRunHeader) {
    return { header: JSON.stringify(h), status: h.status, order: `${h.scheduledAt} ${h.runId}` };
  }

  async claim(h: VpnRunHeader): Promise<{ claimed: true } | { claimed: false; existing: VpnRunHeader }> {
    try {
      await this.#run(h.runId).create(this.#fields(h));
      return { claimed: true };
    } catch (e) {
      if (codeOf(e) !== ALREADY_EXISTS) throw e;
      const existing = await this.header(h.runId);
      if (!existing) throw e;
      return { claimed: false, existing };
    }
  }

  async header(runId: string): Promise<VpnRunHeader | undefined> {
    const snap = await this.#run(runId).get();
    const text = snap.exists ? snap.get('header') : undefined;
    return typeof text === 'string' ? (JSON.parse(text) as VpnRunHeader) : undefined;
  }

  async saveHeader(h: VpnRunHeader): Promise<void> {
    await this.#run(h.runId).set(this.#fields(h));
  }

  async savePage(runId: string, page: number, entries: readonly RunEntry[]): Promise<void> {
    await this.#run(runId)
      .collection('pages')
      .doc(String(page).padStart(4, '0'))
      .set({ entries: JSON.stringify(entries) });
  }

  async page(runId: string, page: number): Promise<RunEntry[] | undefined> {
    const snap = await this.#run(runId).collection('pages').doc(String(page).padStart(4, '0')).get();
    const text = snap.exists ? snap.get('entries') : undefined;
    return typeof text === 'string' ? (JSON.parse(text) as RunEntry[]) : undefined;
  }

  async drains(): Promise<RunDrain[]> {
    const snap = await this.#db.collection('vpnRunDrains').get();
    return snap.docs.map((d) => JSON.parse(String(d.get('drain'))) as RunDrain);
  }

  async drainsOfLink(linkId: string): Promise<RunDrain[]> {
    const snap = await this.#db.collection('vpnRunDrains').where('links', 'array-contains', linkId).get();
    return snap.docs.map((d) => JSON.parse(String(d.get('drain'))) as RunDrain);
  }

  async putDrain(d: RunDrain): Promise<void> {
    await this.#db
      .collection('vpnRunDrains')
      .doc(d.vpnConnectionId)
      .set({ drain: JSON.stringify(d), links: [...d.links] });
  }

  moveDrain(vpnId: string, runId: string, drainedAt: string): Promise<boolean> {
    const ref = this.#db.collection('vpnRunDrains').doc(vpnId);
    return this.#db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      const text = snap.exists ? snap.get('drain') : undefined;
      if (typeof text !== 'string') return false;
      const d = JSON.parse(text) as RunDrain;
      if (d.runId !== runId || Date.parse(drainedAt) <= Date.parse(d.drainedAt)) return false;
      tx.set(ref, { drain: JSON.stringify({ ...d, drainedAt }), links: [...d.links] });
      return true;
    });
  }

  async clearDrain(d: RunDrain): Promise<void> {
    await this.#db.collection('vpnRunDrains').doc(d.vpnConnectionId).delete();
  }

  async claimUndrain(
    c: UndrainClaim,
  ): Promise<{ claimed: true } | { claimed: false; existing: UndrainClaim }> {
    const ref = this.#db.collection('vpnRunUndrains').doc(`${c.linkId}~${undrainClaimKey(c.drains)}`);
    try {
      await ref.create({ claim: JSON.stringify(c), linkId: c.linkId });
      return { claimed: true };
    } catch (e) {
      if (codeOf(e) !== ALREADY_EXISTS) throw e;
      const text = (await ref.get()).get('claim');
      if (typeof text !== 'string') throw e;
      return { claimed: false, existing: JSON.parse(text) as UndrainClaim };
    }
  }

  async undrainClaims(linkId: string): Promise<UndrainClaim[]> {
    const snap = await this.#db.collection('vpnRunUndrains').where('linkId', '==', linkId).get();
    return snap.docs.map((d) => JSON.parse(String(d.get('claim'))) as UndrainClaim);
  }

  putResult(runId: string, r: VpnRunResult): Promise<boolean> {
    const ref = this.#run(runId).collection('results').doc(`${r.vpnId}~${r.action}~${r.side}`);
    return this.#db.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      const text = snap.exists ? snap.get('result') : undefined;
      const kept = typeof text === 'string' ? (JSON.parse(text) as VpnRunResult) : undefined;
      if (kept?.outcome === 'changed' && r.outcome !== 'changed') return false;
      tx.set(ref, { result: JSON.stringify(r) });
      return true;
    });
  }

  async result(
    runId: string,
    k: Pick<VpnRunResult, 'vpnId' | 'action' | 'side'>,
  ): Promise<VpnRunResult | undefined> {
    const snap = await this.#run(runId).collection('results').doc(`${k.vpnId}~${k.action}~${k.side}`).get();
    const text = snap.exists ? snap.get('result') : undefined;
    return typeof text === 'string' ? (JSON.parse(text) as VpnRunResult) : undefined;
  }

  async results(runId: string): Promise<VpnRunResult[]> {
    const snap = await this.#run(runId).collection('results').orderBy(FieldPath.documentId()).get();
    return snap.docs.map((d) => JSON.parse(String(d.get('result'))) as VpnRunResult);
  }

  async list(limit: number, cursor?: string): Promise<{ items: VpnRunHeader[]; cursor?: string }> {
    let q = this.#db.collection('vpnRuns').orderBy('order', 'desc');
    if (cursor) q = q.startAfter(cursor);
    const snap = await q.limit(limit + 1).get();
    const all = snap.docs.map((d) => ({
      order: String(d.get('order')),
      h: JSON.parse(String(d.get('header'))),
    }));
    const items = all.slice(0, limit).map((x) => x.h as VpnRunHeader);
    return all.length > limit ? { items, cursor: all[limit - 1]?.order as string } : { items };
  }
}
