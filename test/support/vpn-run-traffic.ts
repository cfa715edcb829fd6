/**
 * Undrain when VPN traffic returns, on the local cloud (docs/vpn-runs.md), with either cloud
 * coordinating (test/e2e/vpn-run-traffic.test.ts: AWS, vpn-run-traffic-gcp.test.ts: Google): both
 * halves deployed from the applying copy (vpn-run-apply.ts, IAM on both clouds), the example link
 * ACTIVE, the scheduled run drains the two VPNs it replaces. With the link up its routes win on both
 * sides (Direct Connect before a VPN at the virtual private gateway; priority 0 before the VPN's MED
 * on Google), so a VPN whose peer is enabled again carries nothing while the link covers the prefix.
 * Traffic returns when the network outgrows the link: Google's network gets a subnet the link does
 * not advertise (10.30.0.0/24), the VPC sends to it, and someone enables one of the nonprod VPN's
 * Cloud Router peers (as on Google's console: the world's router changed directly). Its BGP session
 * carries the new subnet to AWS, the VPC's traffic to it goes over the VPN, the provider publishes
 * the tunnel's 5-minute sample once the period has ended (CloudWatch `TunnelDataOut`, Monitoring
 * `received_bytes_count`), and the coordinator's next minute's check (AWS: vpnRunEvents on the
 * watcher's schedule; Google: the vpn-run function on the job crosslink-vpn-traffic) undrains the
 * VPN: one run of trigger `traffic`, Google's half enables the peer still disabled, and the prod VPN
 * stays drained. The figures (when the sample was visible, when the check saw it, when Google applied
 * the undrain) are printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counterKey } from '#local/world/network.ts';
import { type BothHalves, dumpOnFailure, waitFor } from './both-halves.ts';
import { type ClockDriver, driveClock } from './clock-driver.ts';
import { linkFlows } from './link-flows.ts';
import {
  bgpUp,
  type Coordinator,
  FLOW_RATE,
  PROJECT,
  type RunView,
  runs,
  scheduledRunDoing,
  show,
  startApplyingHalves,
  vpnIdOf,
} from './vpn-run-apply.ts';

const MINUTE = 60_000;
/** Both watchers, and so the traffic check, run every minute (serverless.yml, gcp.yml). */
const WATCHER_INTERVAL = MINUTE;
/** The samples the check reads: 5-minute sums, published once the period has ended (locally, no ingestion delay). */
const PERIOD = 5 * MINUTE;
/** The check's own work once it fires (reads, claim), at wall speed on a loaded machine. */
const CHECK_WORK = 30_000;
/** A subnet Google's network gains after the drain, which the link does not advertise. */
const NEW_SUBNET = '10.30.0.0/24';

let both: BothHalves;
let driver: ClockDriver | undefined;

/** What a traffic run is requested by: the reactions' role on AWS, the vpn-run function's account on Google. */
const REQUESTER = {
  aws: /:role\/crosslink-dev-VpnRunEventsRole/,
  gcp: /^crosslink-vpn-run@[a-z0-9-]+\.iam\.gserviceaccount\.com$/,
};

const { awsFirst, expectActive } = linkFlows(() => both);

/** The Cloud Router and BGP peers of a VPN's Google tunnels, with whether each is enabled. */
function peersOf(vpnId: string): {
  project: string;
  region: string;
  router: string;
  peers: { name: string; enabled: boolean }[];
} {
  const w = both.cloud.network;
  const tunnels = w.pairedTunnels(vpnId).map((p) => p.gcpTunnel);
  for (const r of w.routers.values()) {
    const ifaces = r.interfaces
      .filter((i) =>
        tunnels.some(
          (t) => i.linkedVpnTunnel === t.name || i.linkedVpnTunnel?.endsWith(`/vpnTunnels/${t.name}`),
        ),
      )
      .map((i) => i.name);
    if (ifaces.length === 0) continue;
    const peers = r.bgpPeers
      .filter((p) => ifaces.includes(p.interfaceName))
      .map((p) => ({ name: p.name, enabled: p.enable !== 'FALSE' }))
      .sort((a, b) => a.name.localeCompare(b.name));
    return { project: r.project, region: r.region, router: r.name, peers };
  }
  throw new Error(`no Cloud Router holds the peers of ${vpnId}'s tunnels`);
}

/** The scenario, with `coordinator` coordinating: its hooks and its test, in the calling file. */
export function trafficUndrainScenario(coordinator: Coordinator): void {
  beforeAll(async () => {
    both = await startApplyingHalves(coordinator);
  }, 900_000);

  afterAll(async () => {
    await driver?.stop();
    await both?.stop();
  });

  describe(`undrain when VPN traffic returns, ${coordinator === 'aws' ? 'AWS' : 'Google'} coordinating, on the local cloud`, () => {
    it('undrains a drained VPN that carries traffic again (a peer enabled to reach a subnet the link does not carry), at the first check after its sample is published: one run, the VPN undrained on both clouds', async (ctx) => {
      dumpOnFailure(ctx, both, `vpn-run-traffic-${coordinator}`);
      // Arrange: the link ACTIVE, the two VPNs drained by a scheduled run.
      const linkId = await awsFirst();
      await expectActive(linkId);
      const prod = vpnIdOf('payments-vpn-vgw');
      const nonprod = vpnIdOf('payments-vpn-vgw-2');
      const w = both.cloud.network;
      const drained = await scheduledRunDoing('drain', [prod, nonprod], 0);
      await waitFor('both VPNs drained on Google', async () => {
        const r = await show(drained.runId);
        return (
          r.results.filter((x) => x.action === 'drain' && x.side === 'gcp' && x.outcome === 'changed')
            .length === 2 && [...bgpUp(prod), ...bgpUp(nonprod)].every((u) => !u)
        );
      });
      // A period after the drain's (its samples hold the traffic from before it, so none of it counts),
      // and away from the half-hour runs' firings, so the check, not a scheduled run, sees the sample first.
      await waitFor('a minute between the half-hour runs, a period after the drain', async () => {
        const intoHalfHour = both.cloud.clock.now() % (30 * MINUTE);
        return intoHalfHour >= PERIOD + MINUTE && intoHalfHour < 15 * MINUTE;
      });
      // From here the functions' time runs at wall speed, so the check's work counts as it takes.
      await both.driver.stop();
      driver = driveClock(both.cloud.clock, { busyRate: 1 });
      const before = peersOf(nonprod);
      // A subnet the link does not carry, and the VPC's traffic to it: dropped while both VPNs are drained.
      w.addGcpSubnet(PROJECT, 'payments-vpc', {
        name: 'batch-east',
        region: 'us-east4',
        ipCidrRange: NEW_SUBNET,
      });
      const vpc = [...w.vpcs.values()].find((v) => v.cidrBlocks.includes('10.10.0.0/16'));
      if (!vpc) throw new Error('the estate has no VPC of 10.10.0.0/16');
      const flow = w.addFlow({
        name: 'aws-to-new-subnet',
        from: vpc.vpcId,
        to: '10.30.0.10',
        bytesPerSecond: FLOW_RATE,
      }).id;
      const droppedBefore = !w.flow(flow).path.delivered;

      // Act: one of the nonprod VPN's two peers enabled again, outside crosslink.
      const first = before.peers[0]?.name as string;
      w.setBgpPeersEnabled(before.project, before.region, before.router, [first], true);
      const enabledAt = both.cloud.clock.now();
      const overVpn = w.flow(flow).path;
      const undrain = await waitFor(
        'a traffic run undrained the nonprod VPN on both clouds',
        async () => {
          const h = (await runs()).find((r) => r.trigger === 'traffic');
          if (!h) return undefined;
          const r = await show(h.runId);
          const done = r.results.filter((x) => x.action === 'undrain').length === 2;
          return done
            ? { run: r, peers: peersOf(nonprod), bgp: bgpUp(nonprod), prodBgp: bgpUp(prod) }
            : undefined;
        },
        600_000,
      );
      const traffic = (await runs()).filter((r) => r.trigger === 'traffic');
      const run: RunView = undrain.run;
      const sample = run.traffic?.samples[0];
      const visibleAt = Date.parse(sample?.end ?? '');
      const detectedAt = Date.parse(run.claimedAt);
      const appliedAt = Math.max(
        ...run.results.filter((x) => x.side === 'gcp').map((x) => Date.parse(x.appliedAt)),
      );
      const carried = (w.vpnConnections.get(nonprod)?.tunnels ?? []).reduce(
        (sum, t) =>
          sum + w.counter(counterKey.awsTunnelOut(nonprod, t.outsideIpAddress), enabledAt, visibleAt),
        0,
      );
      console.info(
        `peer enabled -> VPN undrained: its first 5-minute sample ${sample?.start}..${sample?.end} (${sample?.bytesPerHour} bytes/h), ` +
          `visible ${(visibleAt - enabledAt) / 1000} s after the peer was enabled, seen by the check ${(detectedAt - visibleAt) / 1000} s after that, ` +
          `the undrain applied on Google ${(appliedAt - detectedAt) / 1000} s later; ${carried} bytes over the VPN before the sample was visible`,
      );

      // Assess: one run, requested by the reactions' role, for the nonprod VPN only.
      expect(traffic.map((h) => h.runId)).toEqual([run.runId]);
      expect(run.requestedBy).toMatch(REQUESTER[coordinator]);
      expect(run.traffic?.vpns).toEqual([nonprod]);
      expect(run.results.map((x) => `${x.vpnId} ${x.action} ${x.side} ${x.outcome}`).sort()).toEqual(
        [`${nonprod} undrain aws unchanged`, `${nonprod} undrain gcp changed`].sort(),
      );
      // The sample is the first period that began after the peer came back, above the policy's limit
      // (1 MB/h), and the check saw it within one watcher interval of its publication.
      expect(Date.parse(sample?.start ?? '')).toBe(Math.floor(enabledAt / PERIOD) * PERIOD);
      expect(sample?.bytesPerHour).toBeGreaterThan(1_000_000);
      expect(detectedAt - visibleAt).toBeGreaterThanOrEqual(0);
      expect(detectedAt - visibleAt).toBeLessThanOrEqual(WATCHER_INTERVAL + CHECK_WORK);
      expect(carried).toBeGreaterThan(0);
      // The world: every peer of the nonprod VPN enabled, BGP up on both its tunnels; the prod VPN drained.
      expect(before.peers.map((p) => p.enabled)).toEqual([false, false]);
      expect(undrain.peers.peers.map((p) => p.enabled)).toEqual([true, true]);
      expect(undrain.bgp).toEqual([true, true]);
      expect(undrain.prodBgp).toEqual([false, false]);
      expect(droppedBefore).toBe(true);
      expect(overVpn).toMatchObject({ delivered: true, via: { kind: 'vpn' } });
      expect(w.flow(flow).path.delivered).toBe(true);
    }, 1_500_000);
  });
}
