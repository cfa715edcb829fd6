/**
 * Traffic through the network world: a flow's packets follow the routes each side selected (a
 * VPC's route table, then its gateway; a Google network's effective routes), across a crosslink
 * link or a VPN's tunnels (ECMP shares), and either reach a network holding the destination or are
 * dropped with a reason. `flowRates` turns the flows into the rate of every tunnel, link and flow
 * counter; `awsVpnMetric` reads those counters as CloudWatch samples them.
 */
import type { Cidr } from '#core/net/cidr.ts';
import type { CounterSet } from './counters.ts';
import { type GcpNetwork, gcpNetworkId, type NetworkId, regional } from './network-resources.ts';
import {
  awsRank,
  gatewaysOf,
  gcpRank,
  type Snapshot,
  selectBest,
  vpcRouteTable,
  vpcTgwAttachment,
} from './network-routing.ts';
import { ipOf, type NetworkState, within } from './network-state.ts';
import { type AwsGatewayRoute, counterKey, type Flow, type FlowPath } from './network-views.ts';
import type { Pair } from './network-vpn.ts';

/**
 * Routes every flow (setting its `path`) and returns the rate (bytes/s) of every counter: each
 * tunnel and link counter exists (at 0) from the moment its resource does.
 */
export function flowRates(s: NetworkState, snap: Snapshot, flows: Iterable<Flow>): Map<string, number> {
  const rates = new Map<string, number>();
  for (const vpn of s.vpnConnections.values())
    for (const t of vpn.tunnels) {
      rates.set(counterKey.awsTunnelIn(vpn.vpnConnectionId, t.outsideIpAddress), 0);
      rates.set(counterKey.awsTunnelOut(vpn.vpnConnectionId, t.outsideIpAddress), 0);
    }
  for (const t of s.vpnTunnels.values()) {
    rates.set(counterKey.gcpTunnelSent(t.project, t.region, t.name), 0);
    rates.set(counterKey.gcpTunnelReceived(t.project, t.region, t.name), 0);
  }
  for (const l of snap.links) {
    rates.set(counterKey.linkAwsToGcp(l.linkId), 0);
    rates.set(counterKey.linkGcpToAws(l.linkId), 0);
  }
  const add = (k: string, v: number) => rates.set(k, (rates.get(k) ?? 0) + v);
  for (const flow of flows) {
    const { path, hops } = routeFlow(s, snap, flow.from, ipOf(flow.to));
    flow.path = path;
    for (const h of hops) add(h.key, flow.bytesPerSecond * h.share);
    add(counterKey.flowDelivered(flow.id), path.delivered ? flow.bytesPerSecond : 0);
    add(counterKey.flowDropped(flow.id), path.delivered ? 0 : flow.bytesPerSecond);
  }
  return rates;
}

/** Follows a packet from `from` to `ip`: which counters it crosses, and whether it arrives. */
export function routeFlow(
  s: NetworkState,
  snap: Snapshot,
  from: NetworkId,
  ip: Cidr,
): { path: FlowPath; hops: Array<{ key: string; share: number }> } {
  const none = (reason: string) => ({
    path: { delivered: false, via: { kind: 'none' as const }, reason },
    hops: [],
  });
  if (from.startsWith('projects/')) {
    const net = s.gcpNetworks.get(from);
    if (!net) return none(`network ${from} does not exist`);
    if (net.subnets.some((s) => within(s.ipCidrRange, ip)))
      return { path: { delivered: true, via: { kind: 'local' } }, hops: [] };
    const routes = (snap.gcp.get(from) ?? []).filter((r) => r.best);
    const best = selectBest(routes, ip, (r) => r.destRange, gcpRank);
    const first = best[0];
    if (!first) return none(`no route to ${ip.text} in ${from}`);
    if (first.routeType === 'PEERING') {
      const link = snap.links.find((l) => l.linkId === first.nextHopPeering);
      const delivered = link !== undefined && deliveredOnAws(s, snap, gatewaysOf(s, link), ip);
      return {
        path: {
          delivered,
          via: { kind: 'link', linkId: first.nextHopPeering as string },
          ...(delivered ? {} : { reason: 'no AWS network behind the link holds the address' }),
        },
        hops: [{ key: counterKey.linkGcpToAws(first.nextHopPeering as string), share: 1 }],
      };
    }
    // VPN tunnels (ECMP across the selected ones).
    const tunnelPairs = best
      .map((r) =>
        snap.pairs.find(
          (p) =>
            p.gcp.name === r.nextHopVpnTunnel &&
            p.gcp.region === r.region &&
            p.gcp.project === net.project &&
            p.ipsecUp,
        ),
      )
      .filter((p): p is Pair => p !== undefined);
    if (tunnelPairs.length === 0) return none('the selected tunnel has no live peer');
    const share = 1 / tunnelPairs.length;
    const hops = tunnelPairs.flatMap((p) => [
      { key: counterKey.gcpTunnelSent(p.gcp.project, p.gcp.region, p.gcp.name), share },
      { key: counterKey.awsTunnelIn(p.vpn.vpnConnectionId, p.aws.outsideIpAddress), share },
    ]);
    const vpn = (tunnelPairs[0] as Pair).vpn;
    const delivered = deliveredOnAws(
      s,
      snap,
      [vpn.vpnGatewayId ?? `attach:${vpn.transitGatewayAttachmentId}`],
      ip,
    );
    return {
      path: {
        delivered,
        via: {
          kind: 'vpn',
          vpnConnectionId: vpn.vpnConnectionId,
          awsTunnels: tunnelPairs.map((p) => p.aws.outsideIpAddress),
          gcpTunnels: tunnelPairs.map((p) => p.gcp.name),
        },
        ...(delivered ? {} : { reason: 'no AWS network behind the VPN holds the address' }),
      },
      hops,
    };
  }

  const vpc = s.vpcs.get(from);
  if (!vpc) return none(`VPC ${from} does not exist`);
  const rtb = s.routeTables.get(vpc.mainRouteTableId);
  const vpcRoutes = rtb ? vpcRouteTable(s, rtb.routeTableId, () => snap) : [];
  const best = selectBest(
    vpcRoutes,
    ip,
    (r) => r.destinationCidrBlock,
    (r) => [r.origin === 'CreateRouteTable' ? 0 : r.origin === 'CreateRoute' ? 1 : 2],
  )[0];
  if (!best) return none(`no route to ${ip.text} in ${from}`);
  if (best.gatewayId === 'local') return { path: { delivered: true, via: { kind: 'local' } }, hops: [] };
  if (best.state === 'blackhole') return none(`route ${best.destinationCidrBlock} is a blackhole`);
  let gwRoutes: AwsGatewayRoute[];
  if (best.gatewayId) gwRoutes = (snap.vgw.get(best.gatewayId) ?? []).filter((r) => r.best);
  else {
    const att = vpcTgwAttachment(s, vpc.vpcId, best.transitGatewayId);
    gwRoutes = att?.associatedRouteTableId
      ? (snap.tgw.get(att.associatedRouteTableId) ?? []).filter((r) => r.best)
      : [];
  }
  const hop = selectBest(gwRoutes, ip, (r) => r.destinationCidrBlock, awsRank)[0];
  if (!hop || hop.target.kind === 'blackhole') return none(`the gateway has no route to ${ip.text}`);
  if (hop.target.kind === 'vpc') {
    const delivered = s.vpcs.get(hop.target.vpcId)?.cidrBlocks.some((c) => within(c, ip)) ?? false;
    return { path: { delivered, via: { kind: 'local' } }, hops: [] };
  }
  if (hop.target.kind === 'link') {
    const linkId = hop.target.linkId;
    const link = snap.links.find((l) => l.linkId === linkId);
    const net = link ? s.gcpNetworks.get(gcpNetworkId(link.gcp.project, link.gcp.network)) : undefined;
    const delivered = net?.subnets.some((s) => within(s.ipCidrRange, ip)) ?? false;
    return {
      path: {
        delivered,
        via: { kind: 'link', linkId },
        ...(delivered ? {} : { reason: 'no Google subnet behind the link holds the address' }),
      },
      hops: [{ key: counterKey.linkAwsToGcp(linkId), share: 1 }],
    };
  }
  const vpnId = hop.target.vpnConnectionId;
  const tunnelPairs = hop.target.tunnels
    .map((ipAddr) =>
      snap.pairs.find((p) => p.vpn.vpnConnectionId === vpnId && p.aws.outsideIpAddress === ipAddr),
    )
    .filter((p): p is Pair => p !== undefined);
  if (tunnelPairs.length === 0) return none('the VPN has no live tunnel');
  const share = 1 / tunnelPairs.length;
  const hops = tunnelPairs.flatMap((p) => [
    { key: counterKey.awsTunnelOut(p.vpn.vpnConnectionId, p.aws.outsideIpAddress), share },
    { key: counterKey.gcpTunnelReceived(p.gcp.project, p.gcp.region, p.gcp.name), share },
  ]);
  const gnet = gcpNetworkOfTunnel(s, tunnelPairs[0] as Pair);
  const delivered = gnet?.subnets.some((s) => within(s.ipCidrRange, ip)) ?? false;
  return {
    path: {
      delivered,
      via: {
        kind: 'vpn',
        vpnConnectionId: vpnId,
        awsTunnels: tunnelPairs.map((p) => p.aws.outsideIpAddress),
        gcpTunnels: tunnelPairs.map((p) => p.gcp.name),
      },
      ...(delivered ? {} : { reason: 'no Google subnet behind the VPN holds the address' }),
    },
    hops,
  };
}

function gcpNetworkOfTunnel(s: NetworkState, p: Pair): GcpNetwork | undefined {
  const t = p.gcp;
  const gwNet = t.vpnGateway
    ? s.haVpnGateways.get(regional(t.project, t.region, t.vpnGateway))?.network
    : t.targetVpnGateway
      ? s.targetVpnGateways.get(regional(t.project, t.region, t.targetVpnGateway))?.network
      : undefined;
  return gwNet ? s.gcpNetworks.get(gcpNetworkId(t.project, gwNet)) : undefined;
}

/** Whether a packet entering AWS through `gateways` (vgw ids, tgw ids, or `attach:<id>`) reaches a VPC holding `ip`. */
function deliveredOnAws(s: NetworkState, snap: Snapshot, gateways: string[], ip: Cidr): boolean {
  for (const g of gateways) {
    if (g.startsWith('vgw-')) {
      const vgw = s.vpnGateways.get(g);
      for (const a of vgw?.vpcAttachments ?? [])
        if (a.state === 'attached' && s.vpcs.get(a.vpcId)?.cidrBlocks.some((c) => within(c, ip))) return true;
      continue;
    }
    let rtbId: string | undefined;
    if (g.startsWith('attach:')) rtbId = s.tgwAttachments.get(g.slice(7))?.associatedRouteTableId;
    else {
      const att = [...s.tgwAttachments.values()].find(
        (a) =>
          a.transitGatewayId === g && a.resourceType === 'direct-connect-gateway' && a.state === 'available',
      );
      rtbId = att?.associatedRouteTableId;
    }
    const routes = rtbId ? (snap.tgw.get(rtbId) ?? []).filter((r) => r.best) : [];
    const hop = selectBest(routes, ip, (r) => r.destinationCidrBlock, awsRank)[0];
    if (hop?.target.kind === 'vpc') {
      const vpcId = hop.target.vpcId;
      if (s.vpcs.get(vpcId)?.cidrBlocks.some((c) => within(c, ip))) return true;
    }
  }
  return false;
}

/** One tunnel's CloudWatch `AWS/VPN` metric over [start, end), by `periodSeconds` windows. */
export interface AwsVpnMetricQuery {
  vpnConnectionId: string;
  tunnelIpAddress: string;
  metric: 'TunnelDataIn' | 'TunnelDataOut' | 'TunnelState';
  stat: 'Sum' | 'Average' | 'Maximum' | 'Minimum' | 'SampleCount';
  start: number;
  end: number;
  periodSeconds: number;
}

/**
 * CloudWatch `AWS/VPN` datapoints of one tunnel (dimensions VpnId + TunnelIpAddress), for
 * GetMetricData / GetMetricStatistics: AWS samples the tunnel every 5 minutes; each TunnelDataIn /
 * TunnelDataOut sample is the bytes of its 5 minutes, TunnelState is 1 (up) or 0. Per
 * `periodSeconds` window (ending at `end`, oldest first) it returns the statistic over the samples
 * in it; windows before the tunnel existed are omitted, as CloudWatch has no data there.
 */
export function awsVpnMetric(
  counters: CounterSet,
  now: number,
  q: AwsVpnMetricQuery,
): Array<{ timestamp: number; value: number }> {
  const SAMPLE = 300_000;
  const key =
    q.metric === 'TunnelDataIn'
      ? counterKey.awsTunnelIn(q.vpnConnectionId, q.tunnelIpAddress)
      : q.metric === 'TunnelDataOut'
        ? counterKey.awsTunnelOut(q.vpnConnectionId, q.tunnelIpAddress)
        : `aws-tunnel-state/${q.vpnConnectionId}/${q.tunnelIpAddress}`;
  const c = counters.get(key);
  if (!c || !(q.periodSeconds > 0)) return [];
  const period = q.periodSeconds * 1000;
  const out: Array<{ timestamp: number; value: number }> = [];
  // CloudWatch aligns periods to the epoch; samples fall on 5-minute boundaries.
  for (let t = Math.floor(q.start / period) * period; t < q.end; t += period) {
    const samples: number[] = [];
    // Each sample covers [s, s + 5 min) and is stamped s; only complete samples are published.
    const last = Math.min(q.end, now);
    for (
      let s = Math.max(t, Math.floor(c.since / SAMPLE) * SAMPLE);
      s < t + period && s + SAMPLE <= last;
      s += SAMPLE
    ) {
      const from = Math.max(s, c.since);
      samples.push(q.metric === 'TunnelState' ? c.rateAt(from) : c.integrate(from, s + SAMPLE));
    }
    if (samples.length === 0) continue;
    const sum = samples.reduce((a, b) => a + b, 0);
    const value =
      q.stat === 'Sum'
        ? sum
        : q.stat === 'Average'
          ? sum / samples.length
          : q.stat === 'Maximum'
            ? Math.max(...samples)
            : q.stat === 'Minimum'
              ? Math.min(...samples)
              : samples.length;
    out.push({ timestamp: t, value });
  }
  return out;
}
