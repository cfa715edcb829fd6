/**
 * The VPN runs' store in memory, with the DynamoDB adapter's semantics (put-if-absent claims, a
 * `changed` result kept over a later other answer, a drain moved only while that run's is recorded,
 * newest first).
 */
import type { RunDrain, RunEntry } from '#core/vpn/run.ts';
import {
  type UndrainClaim,
  undrainClaimKey,
  type VpnRunHeader,
  type VpnRunResult,
  type VpnRunStore,
} from '#core/vpn/run-steps.ts';

export class MemoryVpnRuns implements VpnRunStore {
  readonly headers = new Map<string, VpnRunHeader>();
  readonly pages = new Map<string, RunEntry[]>();
  readonly drainsByVpn = new Map<string, RunDrain>();
  readonly resultsByRun = new Map<string, Map<string, VpnRunResult>>();
  readonly undrainsByKey = new Map<string, UndrainClaim>();

  async claim(h: VpnRunHeader) {
    const existing = this.headers.get(h.runId);
    if (existing) return { claimed: false as const, existing };
    this.headers.set(h.runId, h);
    return { claimed: true as const };
  }
  async header(runId: string) {
    return this.headers.get(runId);
  }
  async saveHeader(h: VpnRunHeader) {
    this.headers.set(h.runId, h);
  }
  async savePage(runId: string, page: number, entries: readonly RunEntry[]) {
    this.pages.set(`${runId}#${page}`, structuredClone([...entries]));
  }
  async page(runId: string, page: number) {
    return this.pages.get(`${runId}#${page}`);
  }
  async drains() {
    return [...this.drainsByVpn.values()];
  }
  async drainsOfLink(linkId: string) {
    return [...this.drainsByVpn.values()].filter((d) => d.links.includes(linkId));
  }
  async putDrain(d: RunDrain) {
    this.drainsByVpn.set(d.vpnConnectionId, d);
  }
  async moveDrain(vpnId: string, runId: string, drainedAt: string) {
    const d = this.drainsByVpn.get(vpnId);
    if (!d || d.runId !== runId || Date.parse(drainedAt) <= Date.parse(d.drainedAt)) return false;
    this.drainsByVpn.set(vpnId, { ...d, drainedAt });
    return true;
  }
  async clearDrain(d: RunDrain) {
    this.drainsByVpn.delete(d.vpnConnectionId);
  }
  async claimUndrain(c: UndrainClaim) {
    const key = `${c.linkId}~${undrainClaimKey(c.drains)}`;
    const existing = this.undrainsByKey.get(key);
    if (existing) return { claimed: false as const, existing };
    this.undrainsByKey.set(key, c);
    return { claimed: true as const };
  }
  async undrainClaims(linkId: string) {
    return [...this.undrainsByKey.values()].filter((c) => c.linkId === linkId);
  }
  async putResult(runId: string, r: VpnRunResult) {
    const m = this.resultsByRun.get(runId) ?? new Map<string, VpnRunResult>();
    const key = `${r.vpnId}#${r.action}#${r.side}`;
    if (m.get(key)?.outcome === 'changed' && r.outcome !== 'changed') return false;
    m.set(key, r);
    this.resultsByRun.set(runId, m);
    return true;
  }
  async result(runId: string, k: Pick<VpnRunResult, 'vpnId' | 'action' | 'side'>) {
    return this.resultsByRun.get(runId)?.get(`${k.vpnId}#${k.action}#${k.side}`);
  }
  async results(runId: string) {
    return [...(this.resultsByRun.get(runId)?.values() ?? [])];
  }
  async list(limit: number) {
    const items = [...this.headers.values()].sort((a, b) =>
      `${b.scheduledAt} ${b.runId}`.localeCompare(`${a.scheduledAt} ${a.runId}`),
    );
    return { items: items.slice(0, limit) };
  }
}
