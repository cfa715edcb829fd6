/**
 * Undrain when VPN traffic returns (functions/core/vpn/traffic-return.ts): which drained VPNs' traffic
 * since their drain is above the policy's idleMaxBytesPerHour, as the planner's idle gate counts it,
 * and the check the watchers' schedule runs every minute, with its ports in memory: nothing read when
 * nothing is drained, one run per period of returned traffic, its id claimed so that two checks that
 * read the same sample undrain once, a check that stopped after its claim finished by the next.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import type { CloudEvent } from '#core/envelope.ts';
import * as checks from '#core/events/checks.ts';
import { checkEventData } from '#core/events/schemas.ts';
import type { TrafficSample } from '#core/vpn/model.ts';
import { planDecommission } from '#core/vpn/planner.ts';
import { DEFAULT_POLICY } from '#core/vpn/policy.ts';
import type { RunDrain } from '#core/vpn/run.ts';
import {
  TRAFFIC_CLAIM_LEASE_MS,
  trafficReturns,
  undrainForTraffic,
  type VpnTrafficDeps,
} from '#core/vpn/traffic-return.ts';
import { MemoryVpnRuns } from '../../support/memory-vpn-runs.ts';
import { HOUR, inventory, link, NOW, vpn } from './builders.ts';

const MIN = 60_000;
const LIMIT = 1_000_000;
const DRAINED_AT = '2026-12-07T06:02:00.000Z';
const TUNNELS = [
  'projects/payments-prod/regions/us-east4/vpnTunnels/a-0',
  'projects/payments-prod/regions/us-east4/vpnTunnels/a-1',
];
const VPN_A = 'vpn-0aaaaaaaaaaaaaaa1';
const VPN_B = 'vpn-0bbbbbbbbbbbbbbb2';

const drain = (vpn: string, drainedAt = DRAINED_AT): RunDrain => ({
  vpnConnectionId: vpn,
  runId: 'vpn-dev-20261207T060000Z',
  drainedAt,
  method: 'gcp-bgp-peers',
  prefixes: [{ prefix: '10.20.0.0/16', toward: 'gcp' }],
  links: ['lk-1'],
  gcpTunnels: TUNNELS,
  awsRegion: 'us-east-1',
});

/** One 5-minute sample of `bytes` starting at `start` (ISO). */
const sample = (vpn: string, start: string, bytes: number, metric = 'TunnelDataIn') => ({
  vpnConnectionId: vpn,
  metric,
  start,
  end: new Date(Date.parse(start) + 5 * MIN).toISOString(),
  bytes,
});
const asSamples = (list: ReturnType<typeof sample>[]): TrafficSample[] =>
  list.map((s) => ({ ...s, start: Date.parse(s.start), end: Date.parse(s.end) }) as TrafficSample);

describe('which drained VPNs carry traffic again', () => {
  it('counts whole periods from the drain on, every metric of a period together, above the limit only', () => {
    // Arrange: the period holding the drain (06:00-06:05) carried traffic from before it; 06:05 is
    // quiet; 06:10 is above the limit only with both directions added; vpn-b stays under it.
    const samples = asSamples([
      sample(VPN_A, '2026-12-07T06:00:00.000Z', 50_000_000),
      sample(VPN_A, '2026-12-07T06:05:00.000Z', 0),
      sample(VPN_A, '2026-12-07T06:10:00.000Z', 50_000),
      sample(VPN_A, '2026-12-07T06:10:00.000Z', 50_000, 'TunnelDataOut'),
      sample(VPN_A, '2026-12-07T06:15:00.000Z', 900_000),
      sample(VPN_B, '2026-12-07T06:10:00.000Z', 80_000),
    ]);
    // Act
    const out = trafficReturns(
      [drain(VPN_A), drain(VPN_B)],
      samples,
      LIMIT,
      Date.parse('2026-12-07T06:20:00.000Z'),
    );
    // Assess: 100,000 bytes in 5 minutes is 1.2 MB/h; vpn-b's 80,000 is 960 kB/h.
    expect(out).toEqual([
      {
        vpnId: VPN_A,
        drain: drain(VPN_A),
        start: Date.parse('2026-12-07T06:10:00.000Z'),
        end: Date.parse('2026-12-07T06:15:00.000Z'),
        bytesPerHour: 1_200_000,
      },
    ]);
  });

  it('decides as the planner does: its idle gate says "VPN traffic returned" for the same samples', () => {
    // Arrange: a drained VPN, one 5-minute sample after its drain just above the limit, or just under it.
    const since = NOW - 2 * HOUR;
    const limit = DEFAULT_POLICY.idleMaxBytesPerHour;
    const at = (bytes: number): TrafficSample[] => [
      { vpnConnectionId: 'vpn-1', metric: 'TunnelDataOut', start: since, end: since + 5 * MIN, bytes },
    ];
    const d = drain('vpn-1', new Date(since).toISOString());
    const planned = (bytes: number) => {
      const inv = inventory({
        vpns: [vpn({ id: 'vpn-1', drainedAt: since })],
        links: [link({ id: 'lk-1' })],
      });
      const p = planDecommission({ ...inv, traffic: at(bytes) }, DEFAULT_POLICY, NOW);
      return p.vpns.find((v) => v.vpnConnectionId === 'vpn-1')?.summary ?? '';
    };
    const sizes = [(limit / 12) * 1.01, (limit / 12) * 0.99];
    // Act
    const mine = sizes.map((b) => trafficReturns([d], at(b), limit, NOW).length > 0);
    const planner = sizes.map((b) => planned(b).includes('VPN traffic returned'));
    // Assess
    expect(mine).toEqual([true, false]);
    expect(planner).toEqual(mine);
  });
});

describe('the check the watchers’ schedule runs', () => {
  let store: MemoryVpnRuns;
  let put: CloudEvent[];
  let clock: ManualClock;
  let reads: { vpns: string[]; from: string; now: string }[];
  let traffic: ReturnType<typeof sample>[];

  const deps = (): VpnTrafficDeps => ({
    runs: store,
    bus: { put: async (events) => void put.push(...events) },
    clock,
    origin: { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' },
    installation: 'dev',
    principal: 'arn:aws:iam::000000000000:role/crosslink-dev-VpnRunEventsRole',
    idleMaxBytesPerHour: LIMIT,
    traffic: async (drains, from, now) => {
      reads.push({
        vpns: drains.map((d) => d.vpnConnectionId).sort(),
        from: new Date(from).toISOString(),
        now: new Date(now).toISOString(),
      });
      return { traffic };
    },
  });

  beforeEach(() => {
    store = new MemoryVpnRuns();
    put = [];
    reads = [];
    traffic = [];
    clock = new ManualClock('2026-12-07T06:21:30.000Z');
  });

  it('reads nothing when no VPN is drained', async () => {
    // Act
    const out = await undrainForTraffic(deps(), 'ev-1');
    // Assess
    expect(out).toEqual({ drained: 0, runs: [], reason: 'no VPN is drained' });
    expect(reads).toEqual([]);
    expect(put).toEqual([]);
  });

  it('reads the drained VPNs from their earliest drain’s period, and leaves quiet ones drained', async () => {
    // Arrange
    await store.putDrain(drain(VPN_A));
    await store.putDrain(drain(VPN_B, '2026-12-07T05:58:10.000Z'));
    traffic = [sample(VPN_A, '2026-12-07T06:10:00.000Z', 1000)];
    // Act
    const out = await undrainForTraffic(deps(), 'ev-1');
    // Assess
    expect(reads).toEqual([
      { vpns: [VPN_A, VPN_B], from: '2026-12-07T05:55:00.000Z', now: '2026-12-07T06:21:30.000Z' },
    ]);
    expect(out.runs).toEqual([]);
    expect(put).toEqual([]);
    expect(await store.drains()).toHaveLength(2);
  });

  it('undrains a VPN whose traffic returned, as a run of its own; a check reading the same sample again does nothing', async () => {
    // Arrange
    await store.putDrain(drain(VPN_A));
    await store.putDrain(drain(VPN_B));
    traffic = [sample(VPN_A, '2026-12-07T06:10:00.000Z', 200_000)];
    // Act
    const first = await undrainForTraffic(deps(), 'ev-1');
    clock.advance(MIN);
    const next = await undrainForTraffic(deps(), 'ev-2');
    // Assess: the run is named by the period's start plus a second, requested by this side's role.
    expect(first.runs).toEqual([{ runId: 'vpn-dev-20261207T061001Z', vpns: [VPN_A] }]);
    expect(put.map((e) => `${e.type} ${e.subject}`)).toEqual([`crosslink.VpnUndrainRequested.v1 ${VPN_A}`]);
    const cmd = checkEventData(checks.VpnUndrainRequested, put[0]?.data);
    expect(cmd).toMatchObject({
      runId: 'vpn-dev-20261207T061001Z',
      vpnId: VPN_A,
      requestedBy: 'arn:aws:iam::000000000000:role/crosslink-dev-VpnRunEventsRole',
      requestedAt: '2026-12-07T06:21:30.000Z',
      gcpTunnels: TUNNELS,
    });
    expect((await store.drains()).map((d) => d.vpnConnectionId)).toEqual([VPN_B]);
    expect(await store.header('vpn-dev-20261207T061001Z')).toMatchObject({
      trigger: 'traffic',
      status: 'reported',
      apply: true,
      traffic: {
        vpns: [VPN_A],
        samples: [
          {
            vpnId: VPN_A,
            start: '2026-12-07T06:10:00.000Z',
            end: '2026-12-07T06:15:00.000Z',
            bytesPerHour: 2_400_000,
          },
        ],
      },
    });
    expect(next.runs).toEqual([]);
    expect(put).toHaveLength(1);
  });

  it('makes one undrain when two checks read the same sample at once', async () => {
    // Arrange
    await store.putDrain(drain(VPN_A));
    traffic = [sample(VPN_A, '2026-12-07T06:10:00.000Z', 200_000)];
    // Act
    const [one, two] = await Promise.all([
      undrainForTraffic(deps(), 'ev-1'),
      undrainForTraffic(deps(), 'ev-2'),
    ]);
    // Assess
    expect([...one.runs, ...two.runs]).toEqual([{ runId: 'vpn-dev-20261207T061001Z', vpns: [VPN_A] }]);
    expect(put).toHaveLength(1);
    expect(store.headers.size).toBe(1);
  });

  it('sends again when the same firing is tried again (its claim is its own)', async () => {
    // Arrange: the first try claimed, then its commands failed.
    await store.putDrain(drain(VPN_A));
    traffic = [sample(VPN_A, '2026-12-07T06:10:00.000Z', 200_000)];
    const failing = { ...deps(), bus: { put: async () => Promise.reject(new Error('bus unavailable')) } };
    await expect(undrainForTraffic(failing, 'ev-1')).rejects.toThrow('bus unavailable');
    // Act
    const retried = await undrainForTraffic(deps(), 'ev-1');
    // Assess
    expect(retried.runs).toEqual([{ runId: 'vpn-dev-20261207T061001Z', vpns: [VPN_A] }]);
    expect(put).toHaveLength(1);
    expect(await store.drains()).toEqual([]);
  });

  it('finishes the undrain of a check that stopped after its claim, once the claim’s lease has passed', async () => {
    // Arrange
    await store.putDrain(drain(VPN_A));
    traffic = [sample(VPN_A, '2026-12-07T06:10:00.000Z', 200_000)];
    const failing = { ...deps(), bus: { put: async () => Promise.reject(new Error('bus unavailable')) } };
    await expect(undrainForTraffic(failing, 'ev-1')).rejects.toThrow('bus unavailable');
    // Act
    clock.advance(MIN);
    const within = await undrainForTraffic(deps(), 'ev-2');
    clock.advance(TRAFFIC_CLAIM_LEASE_MS);
    const after = await undrainForTraffic(deps(), 'ev-3');
    // Assess
    expect(within.runs).toEqual([]);
    expect(after.runs).toEqual([{ runId: 'vpn-dev-20261207T061001Z', vpns: [VPN_A] }]);
    expect(put).toHaveLength(1);
    expect(await store.header('vpn-dev-20261207T061001Z')).toMatchObject({ status: 'reported' });
  });

  it('takes the next second for a VPN whose sample of the same period became visible after another’s run', async () => {
    // Arrange: vpn-a's run for the 06:10 period exists; vpn-b's sample of that period comes later.
    await store.putDrain(drain(VPN_A));
    traffic = [sample(VPN_A, '2026-12-07T06:10:00.000Z', 200_000)];
    await undrainForTraffic(deps(), 'ev-1');
    await store.putDrain(drain(VPN_B));
    traffic.push(sample(VPN_B, '2026-12-07T06:10:00.000Z', 300_000, 'received_bytes_count'));
    // Act
    clock.advance(MIN);
    const out = await undrainForTraffic(deps(), 'ev-2');
    // Assess
    expect(out.runs).toEqual([{ runId: 'vpn-dev-20261207T061002Z', vpns: [VPN_B] }]);
    expect(put.map((e) => e.subject)).toEqual([VPN_A, VPN_B]);
  });

  it('leaves a scheduled run of the same time alone: its id is on a whole minute', async () => {
    // Arrange: a manual run claimed the period start plus a second before (ids are per second).
    await store.claim({
      runId: 'vpn-dev-20261207T061001Z',
      installation: 'dev',
      scheduledAt: '2026-12-07T06:10:01.000Z',
      trigger: 'manual',
      requestedBy: 'arn:aws:iam::000000000000:user/alice',
      apply: false,
      execution: 'arn:aws:states:us-east-1:000000000000:execution:crosslink-vpn-run-dev:x',
      claimedAt: '2026-12-07T06:10:01.000Z',
      status: 'reported',
    });
    await store.putDrain(drain(VPN_A));
    traffic = [sample(VPN_A, '2026-12-07T06:10:00.000Z', 200_000)];
    // Act
    const out = await undrainForTraffic(deps(), 'ev-1');
    // Assess
    expect(out.runs).toEqual([{ runId: 'vpn-dev-20261207T061002Z', vpns: [VPN_A] }]);
    expect((await store.header('vpn-dev-20261207T061001Z'))?.trigger).toBe('manual');
  });

  it('refuses a malformed sample from the reader, naming the field', async () => {
    // Arrange
    await store.putDrain(drain(VPN_A));
    traffic = [{ ...sample(VPN_A, '2026-12-07T06:10:00.000Z', 1), bytes: -1 }];
    // Act
    const out = undrainForTraffic(deps(), 'ev-1');
    // Assess
    await expect(out).rejects.toThrow(/traffic\[0\]\.bytes: must not be negative/);
    expect(put).toEqual([]);
  });
});
