/**
 * The VPN runs' stores against their local stand-ins, AWS's (functions/aws/vpn-run-store.ts) on
 * dynalite and Google's (functions/gcp/vpn-run-store.ts) on the Firestore emulator, and the in-memory
 * store the unit tests use, through one contract: the claim is put-if-absent, pages and results
 * round-trip (a result also read alone, by its VPN, action and side), the drains are listed whole and
 * by link and cleared from both, runs list newest first; a traffic check with nothing drained is one
 * read, no metric call; a weakening's undrain claim is put-if-absent by link and drains; a `changed`
 * result is never overwritten by another answer, even written at the same time; a drain moves only
 * while that run's is recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbVpnRuns } from '#aws/vpn-run-store.ts';
import { ManualClock } from '#core/clock.ts';
import type { RunDrain, RunEntry } from '#core/vpn/run.ts';
import type { UndrainClaim, VpnRunHeader, VpnRunResult, VpnRunStore } from '#core/vpn/run-steps.ts';
import { undrainForTraffic, type VpnTrafficDeps } from '#core/vpn/traffic-return.ts';
import { FirestoreVpnRuns } from '#gcp/vpn-run-store.ts';
import { type Dynalite, startDynalite } from '../support/dynalite.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';
import { MemoryVpnRuns } from '../support/memory-vpn-runs.ts';

let db: Dynalite;
let firestore: TestFirestore;

beforeAll(async () => {
  [db, firestore] = await Promise.all([startDynalite('runs'), startTestFirestore()]);
}, 120_000);
afterAll(async () => {
  await Promise.all([db?.stop(), firestore?.stop()]);
});

const header = (runId: string, scheduledAt: string, execution = 'exec-1'): VpnRunHeader => ({
  runId,
  installation: 'dev',
  scheduledAt,
  trigger: 'schedule',
  requestedBy: 'arn:aws:iam::000000000000:role/crosslink-vpn-run',
  apply: true,
  execution,
  claimedAt: scheduledAt,
  status: 'claimed',
});

const drain = (vpn: string, links: string[]): RunDrain => ({
  vpnConnectionId: vpn,
  runId: 'vpn-dev-20261206T030000Z',
  drainedAt: '2026-12-06T03:00:00.000Z',
  method: 'tgw-propagation',
  prefixes: [{ prefix: '10.20.0.0/16', toward: 'gcp' }],
  links,
  gcpTunnels: ['projects/payments-prod/regions/us-east4/vpnTunnels/t0'],
  awsRegion: 'us-east-1',
});

const STORES: [string, () => Promise<VpnRunStore>][] = [
  ['memory', async () => new MemoryVpnRuns()],
  ['DynamoDB (dynalite)', async () => new DynamoDbVpnRuns(db.client, await db.table())],
  ['Firestore (emulator)', async () => new FirestoreVpnRuns(firestore.db())],
];

describe.each(STORES)('the VPN runs store: %s', (_, make) => {
  it('claims a run once: a second claim returns the first', async () => {
    // Arrange
    const store = await make();
    // Act
    const first = await store.claim(header('vpn-dev-20261206T030000Z', '2026-12-06T03:00:00.000Z'));
    const second = await store.claim(
      header('vpn-dev-20261206T030000Z', '2026-12-06T03:00:00.000Z', 'exec-2'),
    );
    // Assess
    expect(first).toEqual({ claimed: true });
    expect(second).toEqual({ claimed: false, existing: expect.objectContaining({ execution: 'exec-1' }) });
  });

  it('answers a traffic check with nothing drained in one read: no metric call, under 100 ms', async () => {
    // Arrange
    const store = await make();
    let reads = 0;
    const deps: VpnTrafficDeps = {
      runs: store,
      bus: { put: async () => Promise.reject(new Error('nothing to put')) },
      clock: new ManualClock('2026-12-06T03:07:00.000Z'),
      origin: { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' },
      installation: 'dev',
      principal: 'arn:aws:iam::000000000000:role/crosslink-dev-VpnRunEventsRole',
      idleMaxBytesPerHour: 1_000_000,
      traffic: async () => {
        reads++;
        return { traffic: [] };
      },
    };
    // Act: five checks (the first warms the client); the fastest is the code path's cost.
    const took: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      expect((await undrainForTraffic(deps, `ev-${i}`)).drained).toBe(0);
      took.push(performance.now() - t0);
    }
    console.info(`traffic check, nothing drained: ${took.map((ms) => ms.toFixed(1)).join(', ')} ms`);
    // Assess
    expect(reads).toBe(0);
    expect(Math.min(...took)).toBeLessThan(100);
  });

  it('keeps pages and results, and lists runs newest first', async () => {
    // Arrange
    const store = await make();
    const entry = { vpnId: 'vpn-0a1b2c3d4e5f60718', action: 'drain', emit: true } as unknown as RunEntry;
    await store.claim(header('vpn-dev-20261205T030000Z', '2026-12-05T03:00:00.000Z'));
    await store.claim(header('vpn-dev-20261206T030000Z', '2026-12-06T03:00:00.000Z'));
    // Act
    await store.savePage('vpn-dev-20261206T030000Z', 0, [entry]);
    await store.putResult('vpn-dev-20261206T030000Z', {
      runId: 'vpn-dev-20261206T030000Z',
      vpnId: 'vpn-0a1b2c3d4e5f60718',
      side: 'aws',
      outcome: 'changed',
      method: 'tgw-propagation',
      changed: ['tgw-rtb-1'],
      reason: 'r',
      appliedAt: '2026-12-06T03:01:00.000Z',
      action: 'drain',
    });
    // Assess
    expect(await store.page('vpn-dev-20261206T030000Z', 0)).toEqual([entry]);
    expect(await store.page('vpn-dev-20261206T030000Z', 1)).toBeUndefined();
    expect((await store.results('vpn-dev-20261206T030000Z')).map((r) => r.outcome)).toEqual(['changed']);
    const key = { vpnId: 'vpn-0a1b2c3d4e5f60718', action: 'drain', side: 'aws' } as const;
    expect((await store.result('vpn-dev-20261206T030000Z', key))?.changed).toEqual(['tgw-rtb-1']);
    expect(await store.result('vpn-dev-20261206T030000Z', { ...key, side: 'gcp' })).toBeUndefined();
    expect(await store.result('vpn-dev-20261205T030000Z', key)).toBeUndefined();
    expect((await store.list(10)).items.map((h) => h.runId)).toEqual([
      'vpn-dev-20261206T030000Z',
      'vpn-dev-20261205T030000Z',
    ]);
  });

  it('lists the drains whole and by link, and clears a drain from both', async () => {
    // Arrange
    const store = await make();
    await store.putDrain(drain('vpn-0000000000000000a', ['lk-1', 'lk-2']));
    await store.putDrain(drain('vpn-0000000000000000b', ['lk-2']));
    // Act
    const byLink = (await store.drainsOfLink('lk-2')).map((d) => d.vpnConnectionId).sort();
    await store.clearDrain(drain('vpn-0000000000000000a', ['lk-1', 'lk-2']));
    // Assess
    expect(byLink).toEqual(['vpn-0000000000000000a', 'vpn-0000000000000000b']);
    expect((await store.drains()).map((d) => d.vpnConnectionId)).toEqual(['vpn-0000000000000000b']);
    expect(await store.drainsOfLink('lk-1')).toEqual([]);
    expect((await store.drains())[0]).toEqual(drain('vpn-0000000000000000b', ['lk-2']));
  });

  it("claims a weakening's undrain once per link and drains, apart from the link's drains", async () => {
    // Arrange
    const store = await make();
    await store.putDrain(drain('vpn-0000000000000000a', ['lk-3']));
    const claim = (execution: string, drains: string[], linkId = 'lk-3'): UndrainClaim => ({
      linkId,
      drains,
      runId: 'vpn-dev-20261206T130000Z',
      execution,
      claimedAt: '2026-12-06T13:00:00.000Z',
    });
    const ab = [
      'vpn-0000000000000000a@vpn-dev-20261206T030000Z',
      'vpn-0000000000000000b@vpn-dev-20261206T030000Z',
    ];
    // Act
    const first = await store.claimUndrain(claim('event:ev-aws', ab));
    const copy = await store.claimUndrain(claim('event:ev-gcp', [...ab].reverse()));
    const subset = await store.claimUndrain(claim('event:ev-gcp', ab.slice(1)));
    const otherLink = await store.claimUndrain(claim('event:ev-gcp', ab, 'lk-4'));
    // Assess
    expect(first).toEqual({ claimed: true });
    expect(copy).toEqual({ claimed: false, existing: claim('event:ev-aws', ab) });
    expect(subset).toEqual({ claimed: true });
    expect(otherLink).toEqual({ claimed: true });
    expect((await store.undrainClaims('lk-3')).map((c) => c.drains.length).sort()).toEqual([1, 2]);
    expect(await store.undrainClaims('lk-5')).toEqual([]);
    expect((await store.drainsOfLink('lk-3')).map((d) => d.vpnConnectionId)).toEqual([
      'vpn-0000000000000000a',
    ]);
  });

  it('never writes another answer over a changed one, even at the same time', async () => {
    // Arrange
    const store = await make();
    const runId = 'vpn-dev-20261207T030000Z';
    const answer = (outcome: VpnRunResult['outcome'], vpnId = 'vpn-0000000000000000c'): VpnRunResult => ({
      runId,
      vpnId,
      side: 'gcp',
      outcome,
      method: 'gcp-bgp-peers',
      changed: outcome === 'changed' ? ['peer-0'] : [],
      reason: outcome,
      appliedAt: '2026-12-07T03:01:00.000Z',
      action: 'drain',
    });
    // Act
    const unchanged = await store.putResult(runId, answer('unchanged'));
    const changed = await store.putResult(runId, answer('changed'));
    const gone = await store.putResult(runId, answer('gone'));
    const together = await Promise.all([
      store.putResult(runId, answer('changed', 'vpn-0000000000000000d')),
      store.putResult(runId, answer('unchanged', 'vpn-0000000000000000d')),
    ]);
    // Assess
    expect([unchanged, changed, gone]).toEqual([true, true, false]);
    expect(together.filter(Boolean).length).toBeGreaterThanOrEqual(1);
    expect((await store.results(runId)).map((r) => `${r.vpnId} ${r.outcome}`)).toEqual([
      'vpn-0000000000000000c changed',
      'vpn-0000000000000000d changed',
    ]);
  });

  it("moves a drain later only while that run's is recorded; a cleared one stays cleared", async () => {
    // Arrange
    const store = await make();
    const d = drain('vpn-0000000000000000e', ['lk-6']);
    await store.putDrain(d);
    const later = '2026-12-06T03:07:00.000Z';
    // Act
    const earlier = await store.moveDrain(d.vpnConnectionId, d.runId, '2026-12-06T02:59:00.000Z');
    const otherRun = await store.moveDrain(d.vpnConnectionId, 'vpn-dev-20261205T030000Z', later);
    const moved = await store.moveDrain(d.vpnConnectionId, d.runId, later);
    const afterMove = (await store.drains()).find((x) => x.vpnConnectionId === d.vpnConnectionId);
    await store.clearDrain(d);
    const cleared = await store.moveDrain(d.vpnConnectionId, d.runId, '2026-12-06T03:09:00.000Z');
    // Assess
    expect([earlier, otherRun, moved, cleared]).toEqual([false, false, true, false]);
    expect(afterMove).toEqual({ ...d, drainedAt: later });
    expect((await store.drains()).map((x) => x.vpnConnectionId)).not.toContain(d.vpnConnectionId);
    expect(await store.drainsOfLink('lk-6')).toEqual([]);
  });
});
