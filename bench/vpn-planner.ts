/**
 * Planning 100, 1,000 and 10,000 VPNs: total milliseconds and microseconds per VPN (median of 5 runs
 * after a warm-up). Near-linear means the per-VPN figure stays about flat as the count grows.
 * Inventories are synthetic but shaped like the fixtures: four VPNs and one link per pair of networks,
 * hourly traffic for two days, Google best routes, a mix of active, drained, expired and more-specific.
 */
import { parseCidr } from '#core/net/cidr.ts';
import type { EffectiveRoute, Inventory, Link, TrafficSample, Vpn } from '#core/vpn/model.ts';
import { planDecommission } from '#core/vpn/planner.ts';
import { DEFAULT_POLICY } from '#core/vpn/policy.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function synthetic(count: number): Inventory {
  const vpns: Vpn[] = [];
  const links: Link[] = [];
  const effectiveRoutes: EffectiveRoute[] = [];
  const traffic: TrafficSample[] = [];
  const gcpTunnelGateways: { tunnel: string; gateway: string }[] = [];
  const pairs = Math.ceil(count / 4);
  for (let p = 0; p < pairs; p++) {
    const aws = `vgw-${p.toString(16).padStart(17, '0')}`;
    const gcp = `projects/bench/global/networks/net-${p}`;
    // 10.x.y.0/24 on AWS, 172.16-31.x.0/24 on Google: distinct per pair
    const awsPrefix = parseCidr(`10.${(p >> 8) & 255}.${p & 255}.0/24`);
    const gcpPrefix = parseCidr(`172.${16 + ((p >> 8) & 15)}.${p & 255}.0/24`);
    const moreSpecific = parseCidr(`10.${(p >> 8) & 255}.${p & 255}.128/25`);
    const linkId = `lk-${p}`;
    links.push({
      id: linkId,
      state: 'ACTIVE',
      aws: { gateway: aws, directConnectGatewayId: undefined, allowedPrefixes: [awsPrefix] },
      gcp: { network: gcp, peering: `peering-${p}`, advertisedRoutes: [gcpPrefix] },
      health: [{ at: NOW - 30 * DAY, status: 'healthy' }],
    });
    effectiveRoutes.push({
      side: 'gcp',
      network: gcp,
      prefix: awsPrefix,
      via: [{ kind: 'link', id: linkId }],
    });
    for (let k = 0; k < 4 && vpns.length < count; k++) {
      const id = `vpn-${(p * 4 + k).toString(16).padStart(17, '0')}`;
      const drainedAt = k === 0 ? NOW - 8 * DAY : k === 1 ? NOW - 2 * DAY : undefined;
      const names = [`${id}-t0`, `${id}-t1`];
      const prefixes = [
        { prefix: k === 3 ? moreSpecific : awsPrefix, toward: 'aws' as const, source: 'bench' },
        { prefix: gcpPrefix, toward: 'gcp' as const, source: 'bench' },
      ];
      if (k === 3)
        effectiveRoutes.push({ side: 'gcp', network: gcp, prefix: moreSpecific, via: [{ kind: 'vpn', id }] });
      vpns.push({
        id,
        aws: {
          vpnConnectionId: id,
          region: 'us-east-1',
          state: 'available',
          gateway: { kind: 'vgw', id: aws },
          transitGatewayAttachmentId: undefined,
          customerGatewayId: `cgw-${id}`,
          staticRoutesOnly: false,
          tunnels: names.map((_, i) => ({
            outsideIp: `3.${p & 255}.${k}.${i}`,
            status: drainedAt ? 'DOWN' : 'UP',
            lastStatusChange: drainedAt ?? NOW - 40 * DAY,
            acceptedRouteCount: 1,
          })),
          tags: {},
        },
        gcp: {
          router: `cr-${p}`,
          region: 'us-east4',
          network: gcp,
          tunnels: names.map((n) => ({
            name: n,
            selfLink: `projects/bench/regions/us-east4/vpnTunnels/${n}`,
            peerIp: '3.0.0.1',
            status: 'ESTABLISHED',
            peerExternalGateway: `aws-${id}`,
            labels: {},
          })),
          bgpPeers: names.map((n) => ({
            name: `bgp-${n}`,
            interfaceName: `if-${n}`,
            enabled: !drainedAt,
            tunnel: `projects/bench/regions/us-east4/vpnTunnels/${n}`,
          })),
          statusObserved: true,
        },
        networks: { aws, gcp },
        prefixes,
        drain: drainedAt ? { since: drainedAt, recorded: true } : undefined,
      });
      for (const n of names)
        gcpTunnelGateways.push({
          tunnel: `projects/bench/regions/us-east4/vpnTunnels/${n}`,
          gateway: `aws-${id}`,
        });
      for (let h = 48; h > 0; h--)
        for (const metric of ['TunnelDataOut', 'sent_bytes_count'] as const)
          traffic.push({
            vpnConnectionId: id,
            metric,
            start: NOW - h * HOUR,
            end: NOW - (h - 1) * HOUR,
            bytes: 2_000,
          });
    }
  }
  return {
    vpns,
    unpaired: [],
    links,
    effectiveRoutes,
    observedTransitGateways: [],
    traffic,
    gcpTunnelGateways,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

export async function run(): Promise<void> {
  const sizes = [100, 1_000, 10_000];
  planDecommission(synthetic(1_000), DEFAULT_POLICY, NOW); // warm-up
  let basePerVpn = 0;
  console.log('VPNs      plan ms   us/VPN   per-VPN ratio vs 100   actions');
  for (const n of sizes) {
    const inv = synthetic(n);
    const times: number[] = [];
    let summary = '';
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const plan = planDecommission(inv, DEFAULT_POLICY, NOW);
      times.push(performance.now() - t0);
      const t = plan.totals;
      summary = `keep ${t.keep} drain ${t.drain} undrain ${t.undrain} delete ${t.delete}`;
    }
    const ms = median(times);
    const perVpn = (ms * 1000) / n;
    if (n === sizes[0]) basePerVpn = perVpn;
    console.log(
      `${String(n).padStart(6)}  ${ms.toFixed(1).padStart(9)}  ${perVpn.toFixed(1).padStart(7)}  ${(perVpn / basePerVpn).toFixed(2).padStart(21)}   ${summary}`,
    );
  }
}
