/**
 * The run's steps (functions/core/vpn/run-steps.ts) with its ports in memory: the peer's inventory
 * faked as the relay's exchange will give it, this side's export and the links from the acme
 * exports. A duplicate start does nothing; the plan waits for the whole peer inventory; the pages
 * command what apply allows and keep the drains; a link going DEGRADED undrains exactly the VPNs
 * drained because of it, once; the halves' results are kept with their run; the report says the
 * saving.
 */
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import type { CloudEvent } from '#core/envelope.ts';
import { ConflictError } from '#core/errors.ts';
import * as checks from '#core/events/checks.ts';
import { checkEventData } from '#core/events/schemas.ts';
import { readPolicy } from '#core/vpn/policy.ts';
import type { RunDrain } from '#core/vpn/run.ts';
import type { PlannerLinkJson } from '#core/vpn/run-links.ts';
import {
  claimRun,
  emitPage,
  type PeerInventory,
  peerInventoryReady,
  planClaimedRun,
  recordResult,
  reportRun,
  undrainForLink,
  type VpnRunDeps,
} from '#core/vpn/run-steps.ts';
import { MemoryVpnRuns } from '../../support/memory-vpn-runs.ts';

const acme = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../examples/vpn/acme/${name}.json`, import.meta.url), 'utf8'));
const LINKS = acme('links') as {
  links: PlannerLinkJson[];
  drains: Omit<RunDrain, 'runId' | 'links' | 'gcpTunnels'>[];
  policy: unknown;
};
const AT = '2026-11-20T12:00:00.000Z';
const LINK = 'lk-01jc6rzt8q4m2n0s9v7w5x3y1a';

let store: MemoryVpnRuns;
let put: CloudEvent[];
let peer: PeerInventory;
let clock: ManualClock;

function deps(mode: 'dry-run' | 'apply' = 'apply'): VpnRunDeps & { principal: string } {
  return {
    runs: store,
    bus: { put: async (events) => void put.push(...events) },
    clock,
    origin: { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' },
    installation: 'dev',
    principal: 'arn:aws:iam::000000000000:role/crosslink-vpn-run',
    settings: { coordinator: 'aws', mode: { prod: mode, nonprod: mode }, planner: readPolicy(LINKS.policy) },
    prices: {
      currency: 'USD',
      awsConnectionHour: 0.05,
      gcpTunnelHour: null,
      hoursPerMonth: 730,
      source: 'test',
    },
    sources: {
      own: async () => ({ export: acme('aws'), traffic: acme('metrics') }),
      requestPeer: async () => {},
      peer: async () => peer,
      links: async () => ({ links: LINKS.links, skipped: ['lk-old: its record holds no endpoints'] }),
    },
  };
}

const start = (execution: string, apply = true) => ({
  scheduledAt: AT,
  trigger: 'schedule',
  apply,
  requestedBy: 'arn:aws:iam::000000000000:role/crosslink-vpn-run',
  execution,
});

/** Claim, plan and emit every page, as the state machine does. */
async function runWhole(d: VpnRunDeps, apply = true) {
  const { runId } = await claimRun(d, start('exec-1', apply));
  const { pages } = await planClaimedRun(d, runId);
  for (const p of pages) await emitPage(d, runId, p);
  return { runId, report: await reportRun(d, runId) };
}

const names = () => put.map((e) => `${e.type.split('.').slice(-2, -1)[0]} ${e.subject}`);

beforeEach(() => {
  store = new MemoryVpnRuns();
  // The drains earlier runs recorded (the acme links file's).
  for (const d of LINKS.drains)
    void store.putDrain({
      ...d,
      runId: 'vpn-dev-20261101T000000Z',
      links: [],
      gcpTunnels: [],
      awsRegion: 'us-east-1',
    });
  put = [];
  peer = { complete: true, export: acme('gcp') };
  clock = new ManualClock(AT);
});

describe('claiming a run', () => {
  it('makes a second start of the same scheduled time a no-op, and a retried claim of the same execution not', async () => {
    // Act
    const first = await claimRun(deps(), start('exec-1'));
    const retried = await claimRun(deps(), start('exec-1'));
    const second = await claimRun(deps(), start('exec-2'));
    // Assess
    expect(first).toEqual({ runId: 'vpn-dev-20261120T120000Z', duplicate: false });
    expect(retried.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.reason).toContain('exec-1');
  });

  it('refuses a start without its fields, naming them', async () => {
    // Act
    const bad = claimRun(deps(), { scheduledAt: 'soon', trigger: 'cron' });
    // Assess
    await expect(bad).rejects.toThrow(
      /scheduledAt: must be an ISO 8601 time; trigger: must be schedule or manual/,
    );
  });
});

describe("the peer's inventory", () => {
  it('is waited for until every page is in, and the plan refuses an incomplete one', async () => {
    // Arrange
    const { runId } = await claimRun(deps(), start('exec-1'));
    peer = { complete: false, missing: ['page 2 of 3'] };
    // Act
    const check = await peerInventoryReady(deps(), runId, 4);
    const plan = planClaimedRun(deps(), runId);
    // Assess
    expect(check).toEqual({ complete: false, attempts: 5, missing: ['page 2 of 3'] });
    await expect(plan).rejects.toThrow(ConflictError);
    expect(put).toEqual([]);
  });
});

describe('a run in apply mode', () => {
  it("commands the plan's drains, undrain and delete, and reports the saving", async () => {
    // Act
    const { runId, report } = await runWhole(deps());
    // Assess
    expect(names()).toEqual([
      'VpnDrainRequested vpn-0720b2c3d4e5f6072',
      'VpnDrainRequested vpn-0a1d7e3c9b2f40aa1',
      'VpnDeleteRequested vpn-0d4a0b6f2e5c73dd4',
      'VpnUndrainRequested vpn-0e5b1c7a3f6d84ee5',
      'VpnRunReported vpn-dev-20261120T120000Z',
    ]);
    expect(checkEventData(checks.VpnRunReported, put.at(-1)?.data)).toMatchObject({
      runId,
      totals: { keep: 4, drain: 2, undrain: 1, delete: 1, emitted: 4 },
      saving: { monthly: { aws: 36.5, gcp: null } },
    });
    expect(report.modes).toEqual({ prod: 'apply', nonprod: 'apply' });
    expect((await store.header(runId))?.status).toBe('reported');
    // A link the run could not read is reported, not silently dropped.
    expect((await store.header(runId))?.run?.unpaired.map((u) => u.id)).toContain('lk-old');
  });

  it('keeps a record of each drain it commanded, by the links it depends on, and clears the undrained and deleted', async () => {
    // Act
    await runWhole(deps());
    // Assess: 0c3f stays drained (kept: IaC-owned); 0d4a deleted and 0e5b undrained lose theirs.
    expect((await store.drains()).map((d) => d.vpnConnectionId).sort()).toEqual([
      'vpn-0720b2c3d4e5f6072',
      'vpn-0a1d7e3c9b2f40aa1',
      'vpn-0c3f9a5e1d4b62cc3',
    ]);
    expect((await store.drainsOfLink(LINK)).map((d) => d.vpnConnectionId)).toEqual(['vpn-0a1d7e3c9b2f40aa1']);
  });

  it('re-emitting a page after a lost answer commands the same runs and VPNs again (the halves dedupe)', async () => {
    // Arrange
    const { runId } = await claimRun(deps(), start('exec-1'));
    await planClaimedRun(deps(), runId);
    // Act
    await emitPage(deps(), runId, 0);
    await emitPage(deps(), runId, 0);
    // Assess
    const keys = put.map((e) => `${(e.data as { runId: string }).runId} ${e.subject}`);
    expect(new Set(keys).size).toBe(4);
    expect(keys).toHaveLength(8);
  });
});

describe('a dry run', () => {
  it('plans and reports, commands nothing and records no drain', async () => {
    // Act
    const { report } = await runWhole(deps('dry-run'));
    // Assess
    expect(names()).toEqual(['VpnRunReported vpn-dev-20261120T120000Z']);
    expect(report.totals.emitted).toBe(0);
    expect(report.saving.dryRunMonthly).toEqual({ aws: 36.5, gcp: null });
    expect((await store.drains()).map((d) => d.runId)).toEqual(
      LINKS.drains.map(() => 'vpn-dev-20261101T000000Z'),
    );
  });

  it('is what a manual start without apply gets, whatever the policy', async () => {
    // Act
    const { report } = await runWhole(deps('apply'), false);
    // Assess
    expect(report.modes).toEqual({ prod: 'dry-run', nonprod: 'dry-run' });
    expect(report.totals.emitted).toBe(0);
  });
});

describe("a link's weakening", () => {
  it('undrains the VPNs drained because of it at once, clears their drains, and a redelivery does nothing more', async () => {
    // Arrange
    await runWhole(deps());
    put = [];
    clock.advance(3_600_000);
    const event = { linkId: LINK, to: 'DEGRADED', time: '2026-11-20T13:00:00.000Z', eventId: 'ev-1' };
    // Act
    const out = await undrainForLink(deps(), event);
    const again = await undrainForLink(deps(), event);
    // Assess
    expect(out.undrained).toEqual(['vpn-0a1d7e3c9b2f40aa1']);
    expect(names()).toEqual(['VpnUndrainRequested vpn-0a1d7e3c9b2f40aa1']);
    const cmd = checkEventData(checks.VpnUndrainRequested, put[0]?.data);
    expect(cmd.runId).toBe('vpn-dev-20261120T130000Z');
    // Planned after the drain: the halves apply it (not stale).
    expect(Date.parse(cmd.requestedAt)).toBeGreaterThan(Date.parse(AT));
    expect(again.undrained).toEqual([]);
    expect(put).toHaveLength(1);
    expect((await store.drains()).map((d) => d.vpnConnectionId).sort()).toEqual([
      'vpn-0720b2c3d4e5f6072',
      'vpn-0c3f9a5e1d4b62cc3',
    ]);
    expect((await store.header(out.runId as string))?.undrain).toEqual({
      linkId: LINK,
      to: 'DEGRADED',
      vpns: ['vpn-0a1d7e3c9b2f40aa1'],
    });
  });

  /** Two drains of LINK, by an earlier run, and a weakening's delivery on `cloud`. */
  const twoDrains = async () => {
    for (const vpn of ['vpn-0000000000000000a', 'vpn-0000000000000000b'])
      await store.putDrain({
        vpnConnectionId: vpn,
        runId: 'vpn-dev-20261120T100000Z',
        drainedAt: '2026-11-20T10:00:00.000Z',
        method: 'gcp-bgp-peers',
        prefixes: [{ prefix: '10.20.0.0/16', toward: 'aws' }],
        links: [LINK],
        gcpTunnels: [`projects/payments-prod/regions/us-east4/vpnTunnels/${vpn}-t0`],
        awsRegion: 'us-east-1',
      });
  };
  const weakening = (eventId: string, time: string) => ({ linkId: LINK, to: 'DOWN', time, eventId });
  const undrainRuns = async () => [...store.headers.values()].filter((h) => h.trigger === 'link-state');

  it("makes one run of AWS's own LinkStateChanged and Google's relayed copy handled at once", async () => {
    // Arrange: the two copies of the weakening, a second apart, each with its own id.
    await twoDrains();
    // Act
    const [aws, gcp] = await Promise.all([
      undrainForLink(deps(), weakening('ev-aws', '2026-11-20T13:00:00.000Z')),
      undrainForLink(deps(), weakening('ev-gcp', '2026-11-20T13:00:01.000Z')),
    ]);
    // Assess: one undrain per VPN, one link-state run; the other copy names it.
    expect(names().sort()).toEqual([
      'VpnUndrainRequested vpn-0000000000000000a',
      'VpnUndrainRequested vpn-0000000000000000b',
    ]);
    expect((await undrainRuns()).map((h) => h.runId)).toEqual(['vpn-dev-20261120T130000Z']);
    expect(aws.undrained).toEqual(['vpn-0000000000000000a', 'vpn-0000000000000000b']);
    expect(gcp).toEqual({
      runId: 'vpn-dev-20261120T130000Z',
      undrained: [],
      reason: expect.stringContaining('(event:ev-aws) undrains them in vpn-dev-20261120T130000Z'),
    });
    expect(await store.drainsOfLink(LINK)).toEqual([]);
  });

  it('sends nothing for a copy that reads the drains while the first delivery clears them', async () => {
    // Arrange: the other copy is handled when the first has cleared one drain of two.
    await twoDrains();
    let other: Promise<Awaited<ReturnType<typeof undrainForLink>>> | undefined;
    const clear = store.clearDrain.bind(store);
    store.clearDrain = async (d) => {
      await clear(d);
      if (other) return;
      other = undrainForLink(deps(), weakening('ev-gcp', '2026-11-20T13:00:01.000Z'));
      await other;
    };
    // Act
    const first = await undrainForLink(deps(), weakening('ev-aws', '2026-11-20T13:00:00.000Z'));
    const second = await other;
    // Assess
    expect(first.undrained).toEqual(['vpn-0000000000000000a', 'vpn-0000000000000000b']);
    expect(second?.undrained).toEqual([]);
    expect(second?.reason).toContain('undrained by vpn-dev-20261120T130000Z');
    expect(put).toHaveLength(2);
    expect(await undrainRuns()).toHaveLength(1);
  });

  it('a redelivery of the claiming event after it stopped half-way undrains what it had not', async () => {
    // Arrange: the first attempt claims, commands, clears one drain and dies.
    await twoDrains();
    const clear = store.clearDrain.bind(store);
    let cleared = 0;
    store.clearDrain = async (d) => {
      await clear(d);
      if (++cleared === 1) throw new Error('the function died');
    };
    const event = weakening('ev-aws', '2026-11-20T13:00:00.000Z');
    await expect(undrainForLink(deps(), event)).rejects.toThrow('the function died');
    // Act
    const retry = await undrainForLink(deps(), event);
    const copy = await undrainForLink(deps(), weakening('ev-gcp', '2026-11-20T13:00:01.000Z'));
    // Assess: the retry continues its own claim in the same run; the other copy does nothing.
    expect(retry).toMatchObject({ runId: 'vpn-dev-20261120T130000Z', undrained: ['vpn-0000000000000000b'] });
    expect(copy.undrained).toEqual([]);
    expect(await store.drainsOfLink(LINK)).toEqual([]);
    expect(await undrainRuns()).toHaveLength(1);
  });

  it('does nothing for a link going ACTIVE, or one no drain depends on', async () => {
    // Arrange
    await runWhole(deps());
    put = [];
    // Act
    const active = await undrainForLink(deps(), { linkId: LINK, to: 'ACTIVE', time: AT, eventId: 'ev-2' });
    const other = await undrainForLink(deps(), {
      linkId: 'lk-01jc6s9w1y3a5c7e9g1j3l5n7q',
      to: 'DOWN',
      time: AT,
      eventId: 'ev-3',
    });
    // Assess
    expect(active.undrained).toEqual([]);
    expect(other.undrained).toEqual([]);
    expect(put).toEqual([]);
  });
});

describe('the halves’ results', () => {
  it('are kept with their run; a result of a run this side does not know is ignored', async () => {
    // Arrange
    const { runId } = await runWhole(deps());
    const result = {
      runId,
      vpnId: 'vpn-0a1d7e3c9b2f40aa1',
      side: 'gcp' as const,
      outcome: 'changed' as const,
      method: 'gcp-bgp-peers' as const,
      changed: ['projects/acme-net-prod/regions/us-east4/routers/cr/bgpPeers/p0'],
      reason: 'disabling BGP peers p0',
      appliedAt: AT,
      action: 'drain' as const,
    };
    // Act
    const kept = await recordResult(deps(), result);
    const ignored = await recordResult(deps(), { ...result, runId: 'vpn-plan-elsewhere' });
    // Assess
    expect(kept.recorded).toBe(true);
    expect(ignored.recorded).toBe(false);
    expect(await store.results(runId)).toEqual([result]);
  });

  it('keep the answer of a half that changed something when a duplicate command’s answer comes after it', async () => {
    // Arrange
    const { runId } = await runWhole(deps());
    const answer = (outcome: 'changed' | 'unchanged' | 'gone', appliedAt: string) => ({
      runId,
      vpnId: 'vpn-0a1d7e3c9b2f40aa1',
      side: 'aws' as const,
      outcome,
      method: 'tgw-propagation' as const,
      changed: outcome === 'changed' ? ['tgw-rtb-0a'] : [],
      reason: outcome,
      appliedAt,
      action: 'delete' as const,
    });
    const later = new Date(Date.parse(AT) + 60_000).toISOString();
    // Act
    const first = await recordResult(deps(), answer('unchanged', AT));
    const applied = await recordResult(deps(), answer('changed', AT));
    const duplicate = await recordResult(deps(), answer('gone', later));
    // Assess
    expect([first.recorded, applied.recorded, duplicate.recorded]).toEqual([true, true, false]);
    expect(await store.results(runId)).toEqual([answer('changed', AT)]);
  });

  it('keep the changed answer when a duplicate command’s answer is handled at the same time', async () => {
    // Arrange
    const { runId } = await runWhole(deps());
    const answer = (outcome: 'changed' | 'unchanged') => ({
      runId,
      vpnId: 'vpn-0a1d7e3c9b2f40aa1',
      side: 'gcp' as const,
      outcome,
      method: 'gcp-bgp-peers' as const,
      changed: outcome === 'changed' ? ['projects/p/regions/r/routers/cr/bgpPeers/p0'] : [],
      reason: outcome,
      appliedAt: AT,
      action: 'drain' as const,
    });
    // Act: both read no answer kept before either writes.
    const outs = await Promise.all([
      recordResult(deps(), answer('changed')),
      recordResult(deps(), answer('unchanged')),
    ]);
    // Assess
    expect(outs.map((o) => o.recorded)).toEqual([true, false]);
    expect(await store.results(runId)).toEqual([answer('changed')]);
  });

  it('move a drain record to when a half applied the drain; an unchanged answer or an earlier time does not', async () => {
    // Arrange: an applied run whose drains are recorded at its planning time.
    const { runId } = await runWhole(deps());
    const drain = (await store.drains()).find((d) => d.runId === runId);
    if (!drain) throw new Error('the run recorded no drain');
    const result = (outcome: 'changed' | 'unchanged', appliedAt: string) => ({
      runId,
      vpnId: drain.vpnConnectionId,
      side: 'gcp' as const,
      outcome,
      method: 'gcp-bgp-peers' as const,
      changed: [],
      reason: 'disabling BGP peers',
      appliedAt,
      action: 'drain' as const,
    });
    const later = new Date(Date.parse(drain.drainedAt) + 7 * 60_000).toISOString();
    const earlier = new Date(Date.parse(drain.drainedAt) - 60_000).toISOString();
    // Act
    await recordResult(deps(), result('unchanged', later));
    const afterUnchanged = (await store.drains()).find((d) => d.vpnConnectionId === drain.vpnConnectionId);
    await recordResult(deps(), result('changed', earlier));
    const afterEarlier = (await store.drains()).find((d) => d.vpnConnectionId === drain.vpnConnectionId);
    await recordResult(deps(), result('changed', later));
    const afterApplied = (await store.drains()).find((d) => d.vpnConnectionId === drain.vpnConnectionId);
    // Assess
    expect(afterUnchanged).toEqual(drain);
    expect(afterEarlier).toEqual(drain);
    expect(afterApplied).toEqual({ ...drain, drainedAt: later });
  });
});
