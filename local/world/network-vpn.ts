/**
 * The IPsec VPNs between the clouds: which Google tunnel pairs with which AWS tunnel (by their
 * outside addresses), whether IPsec and BGP come up on each pair by the rules both providers
 * apply (keys, ASNs, inside addresses, a peer's `enable`), what a Cloud Router advertises to AWS,
 * and the tunnel and session status the providers report, with the history (since when up) that
 * only the world's changes over virtual time can give.
 */

import { parseCidr } from '#core/net/cidr.ts';
import type { CounterSet } from './counters.ts';
import {
  type AwsVpnTunnel,
  type GcpRouter,
  type GcpVpnTunnel,
  gcpNetworkId,
  notFound,
  type RouterBgpPeer,
  regional,
  type VgwTelemetry,
  type VpnConnection,
} from './network-resources.ts';
import type { NetworkState } from './network-state.ts';
import type { BgpPeerStatus, GcpRoute, GcpTunnelStatus, RouterStatus } from './network-views.ts';

/** One AWS tunnel and the Google tunnel facing it, with the state of IPsec and BGP between them. */
export interface Pair {
  vpn: VpnConnection;
  tunnelIndex: number;
  aws: AwsVpnTunnel;
  gcp: GcpVpnTunnel;
  ipsecUp: boolean;
  ipsecReason: string | undefined;
  /** BGP session up (dynamic VPNs only). */
  bgpUp: boolean;
  bgpReason: string | undefined;
  router: GcpRouter | undefined;
  peer: RouterBgpPeer | undefined;
}

/** What the status views read of the world's current routes. */
export interface PairedRoutes {
  pairs: readonly Pair[];
  /** Google routes per network key. */
  gcp: ReadonlyMap<string, GcpRoute[]>;
  /** Google routes learned per router key. */
  learned: ReadonlyMap<string, GcpRoute[]>;
}

/** The Google-side outside address of a tunnel: its HA gateway interface or its Classic gateway. */
function gcpLocalIp(s: NetworkState, t: GcpVpnTunnel): string | undefined {
  if (t.vpnGateway)
    return s.haVpnGateways
      .get(regional(t.project, t.region, t.vpnGateway))
      ?.vpnInterfaces.find((i) => i.id === t.vpnGatewayInterface)?.ipAddress;
  if (t.targetVpnGateway)
    return s.targetVpnGateways.get(regional(t.project, t.region, t.targetVpnGateway))?.ipAddress;
  return undefined;
}

/** The Amazon-side ASN of a VPN connection (its VGW's or Transit Gateway's). */
export function awsAsn(s: NetworkState, vpn: VpnConnection): number | undefined {
  if (vpn.vpnGatewayId) return s.vpnGateways.get(vpn.vpnGatewayId)?.amazonSideAsn;
  if (vpn.transitGatewayId) return s.transitGateways.get(vpn.transitGatewayId)?.amazonSideAsn;
  return undefined;
}

/** Pairs every live AWS tunnel with the Google tunnels facing it, and says whether IPsec and BGP are up. */
export function pairTunnels(s: NetworkState): Pair[] {
  const byEndpoints = new Map<string, GcpVpnTunnel[]>();
  for (const t of s.vpnTunnels.values()) {
    const local = gcpLocalIp(s, t);
    if (!local) continue;
    const k = `${local}|${t.peerIp}`;
    byEndpoints.set(k, [...(byEndpoints.get(k) ?? []), t]);
  }
  const pairs: Pair[] = [];
  for (const vpn of s.vpnConnections.values()) {
    if (vpn.state !== 'available') continue;
    const cgw = s.customerGateways.get(vpn.customerGatewayId);
    if (!cgw) continue;
    vpn.tunnels.forEach((aws, tunnelIndex) => {
      for (const gcp of byEndpoints.get(`${cgw.ipAddress}|${aws.outsideIpAddress}`) ?? []) {
        let ipsecReason: string | undefined;
        if (gcp.sharedSecret !== aws.preSharedKey) ipsecReason = 'pre-shared keys differ';
        else if (gcp.ikeVersion !== 2 && gcp.ikeVersion !== 1) ipsecReason = 'IKE version mismatch';
        const ipsecUp = ipsecReason === undefined;
        const router = gcp.router ? s.routers.get(regional(gcp.project, gcp.region, gcp.router)) : undefined;
        const itf = router?.interfaces.find((i) => i.linkedVpnTunnel === gcp.name);
        const peer = itf ? router?.bgpPeers.find((p) => p.interfaceName === itf.name) : undefined;
        let bgpReason: string | undefined;
        if (vpn.staticRoutesOnly) bgpReason = 'the AWS VPN uses static routing';
        else if (!ipsecUp) bgpReason = 'IPsec is down';
        else if (!router) bgpReason = 'the tunnel has no Cloud Router';
        else if (!peer) bgpReason = `router ${router.name} has no BGP peer on tunnel ${gcp.name}`;
        else if (peer.enable === 'FALSE') bgpReason = 'the BGP peer is disabled';
        else if (peer.peerAsn !== awsAsn(s, vpn))
          bgpReason = `peer ASN ${peer.peerAsn} is not the AWS side's ASN ${awsAsn(s, vpn)}`;
        else if (cgw.bgpAsn !== router.bgp.asn)
          bgpReason = `the customer gateway's ASN ${cgw.bgpAsn} is not the router's ASN ${router.bgp.asn}`;
        else if (peer.peerIpAddress && peer.peerIpAddress !== aws.awsInsideIpAddress)
          bgpReason = `peer IP ${peer.peerIpAddress} is not the AWS inside address ${aws.awsInsideIpAddress}`;
        pairs.push({
          vpn,
          tunnelIndex,
          aws,
          gcp,
          ipsecUp,
          ipsecReason,
          bgpUp: bgpReason === undefined,
          bgpReason,
          router,
          peer,
        });
      }
    });
  }
  return pairs;
}

/** The prefixes a Cloud Router advertises to AWS on one session. */
export function advertisedByGoogle(state: NetworkState, pair: Pair): GcpRoute[] {
  const r = pair.router;
  const peer = pair.peer;
  if (!r || !peer) return [];
  const net = state.gcpNetworks.get(gcpNetworkId(r.project, r.network));
  const subnets = (net?.subnets ?? [])
    .filter((s) => net?.routingMode === 'GLOBAL' || s.region === r.region)
    .map((s) => s.ipCidrRange);
  const mode = peer.advertiseMode ?? r.bgp.advertiseMode ?? 'DEFAULT';
  let prefixes: string[];
  if (mode === 'DEFAULT') prefixes = subnets;
  else {
    const groups =
      peer.advertiseMode === 'CUSTOM' ? (peer.advertisedGroups ?? []) : (r.bgp.advertisedGroups ?? []);
    const ranges =
      peer.advertiseMode === 'CUSTOM' ? (peer.advertisedIpRanges ?? []) : (r.bgp.advertisedIpRanges ?? []);
    prefixes = [
      ...(groups.includes('ALL_SUBNETS') ? subnets : []),
      ...ranges.map((x) => parseCidr(x.range).text),
    ];
  }
  return [...new Set(prefixes)].map((destRange) => ({
    network: gcpNetworkId(r.project, r.network),
    destRange,
    priority: peer.advertisedRoutePriority ?? 100,
    routeType: 'BGP',
    nextHopIp: pair.aws.customerInsideIpAddress,
    asPaths: [r.bgp.asn],
    best: true,
  }));
}

/** An AWS tunnel is UP when IPsec is (static VPN) or its BGP session is (dynamic VPN). */
function awsTunnelUp(pairs: readonly Pair[], vpn: VpnConnection, t: AwsVpnTunnel): boolean {
  const pair = pairs.find((p) => p.vpn === vpn && p.aws === t);
  if (!pair) return false;
  return vpn.staticRoutesOnly ? pair.ipsecUp : pair.bgpUp;
}

/** Tunnel and BGP session status over time, and the views the EC2 and compute APIs give of it. */
export class VpnStatus {
  readonly #s: NetworkState;
  readonly #counters: CounterSet;
  readonly #snap: () => PairedRoutes;
  #awsTunnelStatus = new Map<string, { up: boolean; since: number }>();
  #bgpUpSince = new Map<string, number>();

  /** `snap` gives the current routes (computing them first if the world has not yet). */
  constructor(state: NetworkState, counters: CounterSet, snap: () => PairedRoutes) {
    this.#s = state;
    this.#counters = counters;
    this.#snap = snap;
  }

  /** Records which tunnels and sessions are up at `now` (lastStatusChange, TunnelState, upSince). */
  record(pairs: readonly Pair[], now: number): void {
    for (const vpn of this.#s.vpnConnections.values()) {
      for (const t of vpn.tunnels) {
        const key = `${vpn.vpnConnectionId}/${t.outsideIpAddress}`;
        const up = vpn.state === 'available' && awsTunnelUp(pairs, vpn, t);
        const prev = this.#awsTunnelStatus.get(key);
        if (!prev || prev.up !== up) this.#awsTunnelStatus.set(key, { up, since: now });
        this.#counters.set(`aws-tunnel-state/${key}`, now, up ? 1 : 0);
      }
    }
    const liveSessions = new Set<string>();
    for (const p of pairs) {
      if (!p.bgpUp) continue;
      const k = `${p.vpn.vpnConnectionId}/${p.aws.outsideIpAddress}`;
      liveSessions.add(k);
      if (!this.#bgpUpSince.has(k)) this.#bgpUpSince.set(k, now);
    }
    for (const k of [...this.#bgpUpSince.keys()]) if (!liveSessions.has(k)) this.#bgpUpSince.delete(k);
  }

  /** EC2 VgwTelemetry of a VPN connection. */
  vgwTelemetry(vpnConnectionId: string): VgwTelemetry[] {
    const vpn = this.#s.vpnConnections.get(vpnConnectionId);
    if (!vpn) throw notFound('VPN connection', vpnConnectionId);
    const snap = this.#snap();
    return vpn.tunnels.map((t) => {
      const st = this.#awsTunnelStatus.get(`${vpnConnectionId}/${t.outsideIpAddress}`);
      const pair = snap.pairs.find((p) => p.vpn === vpn && p.aws === t);
      const accepted = pair?.bgpUp ? advertisedByGoogle(this.#s, pair).length : 0;
      const up = st?.up ?? false;
      let message = 'Tunnel is down';
      if (up) message = vpn.staticRoutesOnly ? '' : `${accepted} BGP ROUTES`;
      else if (pair?.ipsecUp && !vpn.staticRoutesOnly) message = 'IPSEC IS UP';
      return {
        outsideIpAddress: t.outsideIpAddress,
        status: up ? 'UP' : 'DOWN',
        statusMessage: message,
        lastStatusChange: st?.since ?? this.#s.clock.now(),
        acceptedRouteCount: accepted,
      };
    });
  }

  gcpTunnelStatus(
    project: string,
    region: string,
    name: string,
  ): { status: GcpTunnelStatus; detailedStatus: string } {
    const t = this.#s.vpnTunnel(project, region, name);
    const pair = this.#snap().pairs.find((p) => p.gcp === t);
    if (!pair) return { status: 'NO_INCOMING_PACKETS', detailedStatus: 'No incoming packets from peer.' };
    if (!pair.ipsecUp)
      return {
        status: 'AUTHORIZATION_ERROR',
        detailedStatus: pair.ipsecReason ?? 'Peer authentication failed.',
      };
    if (t.vpnGateway && !t.router)
      return { status: 'WAITING_FOR_FULL_CONFIG', detailedStatus: 'Waiting for a Cloud Router.' };
    return { status: 'ESTABLISHED', detailedStatus: 'Tunnel is up and running.' };
  }

  /** routers.getRouterStatus. */
  routerStatus(project: string, region: string, name: string): RouterStatus {
    const r = this.#s.router(project, region, name);
    const snap = this.#snap();
    const netRoutes = snap.gcp.get(gcpNetworkId(project, r.network)) ?? [];
    const mine = netRoutes.filter((x) => x.router === name && x.region === region && x.best);
    const now = this.#s.clock.now();
    const bgpPeerStatus = r.bgpPeers.map((peer): BgpPeerStatus => {
      const itf = r.interfaces.find((i) => i.name === peer.interfaceName);
      const pair = snap.pairs.find((p) => p.router === r && p.peer?.name === peer.name);
      const up = pair?.bgpUp ?? false;
      const since = pair
        ? this.#bgpUpSince.get(`${pair.vpn.vpnConnectionId}/${pair.aws.outsideIpAddress}`)
        : undefined;
      const learned = (snap.learned.get(regional(project, region, name)) ?? []).filter(
        (x) => pair && x.nextHopVpnTunnel === pair.gcp.name,
      );
      let reason: string | undefined;
      if (peer.enable === 'FALSE') reason = 'the peer is disabled (enable: FALSE)';
      else if (!itf?.linkedVpnTunnel) reason = 'the interface has no VPN tunnel';
      else if (!pair) reason = `tunnel ${itf.linkedVpnTunnel} has no peer tunnel`;
      else if (!up) reason = pair.bgpReason ?? pair.ipsecReason;
      return {
        name: peer.name,
        linkedVpnTunnel: itf?.linkedVpnTunnel,
        ipAddress: peer.ipAddress ?? itf?.ipRange?.split('/')[0],
        peerIpAddress: peer.peerIpAddress,
        enable: peer.enable ?? 'TRUE',
        status: up ? 'UP' : 'DOWN',
        state: up ? 'Established' : peer.enable === 'FALSE' ? 'Idle' : 'Active',
        reason: up ? undefined : reason,
        upSince: up ? (since ?? now) : undefined,
        numLearnedRoutes: up ? learned.length : 0,
        advertisedRoutes: up && pair ? advertisedByGoogle(this.#s, pair) : [],
      };
    });
    return {
      network: r.network,
      bestRoutes: structuredClone(mine),
      bestRoutesForRouter: structuredClone(mine),
      bgpPeerStatus,
    };
  }

  /** Which Google tunnels pair with an AWS VPN connection's tunnels (by outside addresses). */
  pairedTunnels(vpnConnectionId: string): Array<{
    awsOutsideIp: string;
    gcpTunnel: { project: string; region: string; name: string };
    ipsecUp: boolean;
    bgpUp: boolean;
  }> {
    return this.#snap()
      .pairs.filter((p) => p.vpn.vpnConnectionId === vpnConnectionId)
      .map((p) => ({
        awsOutsideIp: p.aws.outsideIpAddress,
        gcpTunnel: { project: p.gcp.project, region: p.gcp.region, name: p.gcp.name },
        ipsecUp: p.ipsecUp,
        bgpUp: p.bgpUp,
      }));
  }
}
