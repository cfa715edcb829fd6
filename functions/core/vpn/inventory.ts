/**
 * Builds the planner's model from the imported exports: pairs each AWS VPN connection with the Google
 * HA VPN tunnels whose peer IP is one of its tunnels' outside IPs, gathers the prefixes each VPN
 * carries (observed routes, configured custom advertisements, static routes, and crosslink's drain
 * record for a VPN whose routes are already withdrawn), and the effective routes of both sides.
 */
import type { AwsExport } from './import-aws.ts';
import type { GcpExport, GcpRouter } from './import-gcp.ts';
import type { LinksFile } from './import-state.ts';
import type {
  CarriedPrefix,
  DrainRecord,
  EffectiveRoute,
  GcpVpnHalf,
  Inventory,
  Link,
  NextHop,
  TrafficSample,
  Unpaired,
  Vpn,
} from './model.ts';
import { addTo } from './multimap.ts';

export interface Exports {
  readonly aws: AwsExport;
  readonly gcp: GcpExport;
  readonly links?: LinksFile | undefined;
  readonly traffic?: readonly TrafficSample[] | undefined;
}

type ExportedTunnel = GcpExport['tunnels'][number];
type AddPrefix = (p: CarriedPrefix) => void;

/** What pairing the VPNs builds up: the tunnels accounted for, each paired tunnel's VPN, the leftovers. */
interface Pairing {
  readonly routers: ReadonlyMap<string, GcpRouter>;
  readonly usedTunnels: Set<string>;
  readonly vpnOfTunnel: Map<string, string>;
  readonly unpaired: Unpaired[];
}

/**
 * The Google half of an AWS VPN: the tunnels on the router of the first tunnel whose peer IP is one
 * of the VPN's outside IPs, their BGP peers, and the prefixes the router advertises or routes
 * through them. Tunnels of that peer IP on another router, or a router missing from the export, are
 * reported unpaired.
 */
function pairGcpHalf(
  a: AwsExport['vpnConnections'][number],
  tunnels: readonly ExportedTunnel[],
  pairing: Pairing,
  add: AddPrefix,
): GcpVpnHalf | undefined {
  const first = tunnels[0];
  if (!first) return undefined;
  const router = pairing.routers.get(`${first.region}/${first.router}`);
  if (!router) {
    pairing.unpaired.push({
      side: 'aws',
      id: a.vpnConnectionId,
      reason: `its Google tunnels' router ${first.router} is not in the export`,
    });
    return undefined;
  }
  const own = tunnels.filter((t) => t.router === first.router && t.region === first.region);
  const links = new Set(own.map((t) => t.selfLink));
  for (const t of own) {
    pairing.usedTunnels.add(t.selfLink);
    pairing.vpnOfTunnel.set(t.selfLink, a.vpnConnectionId);
  }
  const peers = router.bgpPeers.filter((b) => links.has(b.tunnel));
  for (const b of peers) {
    for (const c of router.customAdvertised.get(b.name) ?? [])
      add({
        prefix: c,
        toward: 'gcp',
        source: `gcp:routers.${router.name}.bgpPeers[${b.name}].advertisedIpRanges`,
      });
    for (const c of router.status?.advertised.get(b.name) ?? [])
      add({ prefix: c, toward: 'gcp', source: `gcp:bgpPeerStatus[${b.name}].advertisedRoutes` });
  }
  for (const rt of [...(router.status?.bestRoutesForRouter ?? []), ...(router.status?.bestRoutes ?? [])])
    if (rt.nextHopVpnTunnel && links.has(rt.nextHopVpnTunnel))
      add({ prefix: rt.prefix, toward: 'aws', source: `gcp:routers.${router.name}.bestRoutes` });
  if (own.length < tunnels.length)
    for (const t of tunnels.filter((x) => !links.has(x.selfLink))) {
      pairing.usedTunnels.add(t.selfLink); // accounted for: reported just below
      pairing.unpaired.push({
        side: 'gcp',
        id: t.selfLink,
        reason: `peer IP of ${a.vpnConnectionId} but on router ${t.router}, not ${first.router}`,
      });
    }
  return {
    router: router.name,
    region: router.region,
    network: router.network,
    tunnels: own.map(({ router: _r, region: _g, ...t }) => t).sort((x, y) => x.name.localeCompare(y.name)),
    bgpPeers: peers,
    statusObserved: router.status !== undefined,
  };
}

/**
 * One AWS VPN with its Google half, the prefixes it carries (static routes, Transit Gateway routes,
 * the Google router's, crosslink's drain record) and whether it is drained, and since when.
 */
function vpnOf(
  a: AwsExport['vpnConnections'][number],
  aws: AwsExport,
  tunnelsByPeerIp: ReadonlyMap<string, ExportedTunnel[]>,
  tgwRoutesOfVpn: ReadonlyMap<string, AwsExport['tgwRoutes'][number][]>,
  drains: ReadonlyMap<string, DrainRecord>,
  pairing: Pairing,
): Vpn {
  const tunnels = a.tunnels.flatMap((t) => tunnelsByPeerIp.get(t.outsideIp) ?? []);
  const prefixes = new Map<string, CarriedPrefix>();
  const add: AddPrefix = (p) => {
    const key = `${p.toward}:${p.prefix.text}`;
    if (!prefixes.has(key)) prefixes.set(key, p);
  };
  for (const c of aws.staticRoutes.get(a.vpnConnectionId) ?? [])
    add({ prefix: c, toward: 'gcp', source: 'aws:VpnConnection.Routes' });
  for (const rt of tgwRoutesOfVpn.get(a.vpnConnectionId) ?? [])
    add({ prefix: rt.prefix, toward: 'gcp', source: `aws:TransitGatewayRoutes.${rt.routeTableId}` });

  const half = pairGcpHalf(a, tunnels, pairing, add);

  const record = drains.get(a.vpnConnectionId);
  for (const p of record?.prefixes ?? []) add(p);
  const peersOff = half !== undefined && half.bgpPeers.length > 0 && half.bgpPeers.every((b) => !b.enabled);
  const drained = peersOff || record?.method === 'tgw-propagation';
  const bgpDownSince = a.tunnels.every((t) => t.status === 'DOWN' && t.lastStatusChange !== undefined)
    ? Math.max(...a.tunnels.map((t) => t.lastStatusChange as number))
    : undefined;

  return {
    id: a.vpnConnectionId,
    aws: a,
    gcp: half,
    networks: { aws: a.gateway.id, gcp: half?.network },
    prefixes: [...prefixes.values()],
    drain: drained ? { since: record?.drainedAt ?? bgpDownSince, recorded: record !== undefined } : undefined,
  };
}

/**
 * The effective routes of both sides. Google: the routers' best routes (next hop a VPN tunnel, or a
 * peering = a link). AWS: Transit Gateway routes (a Direct Connect gateway attachment = a link).
 */
function effectiveRoutesOf(
  aws: AwsExport,
  gcp: GcpExport,
  linkList: readonly Link[],
  vpnOfTunnel: ReadonlyMap<string, string>,
): EffectiveRoute[] {
  const linkByPeering = new Map<string, string>();
  const linkByDxgw = new Map<string, string>();
  for (const l of linkList) {
    if (l.gcp.peering) linkByPeering.set(`${l.gcp.network}|${l.gcp.peering}`, l.id);
    if (l.aws.directConnectGatewayId)
      linkByDxgw.set(`${l.aws.gateway}|${l.aws.directConnectGatewayId}`, l.id);
  }
  const effectiveRoutes: EffectiveRoute[] = [];
  for (const router of gcp.routers) {
    for (const rt of router.status?.bestRoutes ?? []) {
      let via: NextHop;
      const vpn = rt.nextHopVpnTunnel && vpnOfTunnel.get(rt.nextHopVpnTunnel);
      const link = rt.nextHopPeering && linkByPeering.get(`${router.network}|${rt.nextHopPeering}`);
      if (vpn) via = { kind: 'vpn', id: vpn };
      else if (link) via = { kind: 'link', id: link };
      else via = { kind: 'other', what: rt.nextHop };
      effectiveRoutes.push({ side: 'gcp', network: router.network, prefix: rt.prefix, via: [via] });
    }
  }
  for (const rt of aws.tgwRoutes) {
    const via: NextHop[] = rt.attachments.map((x) => {
      const link =
        x.resourceType === 'direct-connect-gateway'
          ? linkByDxgw.get(`${rt.transitGatewayId}|${x.resourceId}`)
          : undefined;
      if (link) return { kind: 'link', id: link };
      if (x.resourceType === 'vpn') return { kind: 'vpn', id: x.resourceId };
      return { kind: 'other', what: `${x.resourceType} ${x.resourceId}` };
    });
    effectiveRoutes.push({ side: 'aws', network: rt.transitGatewayId, prefix: rt.prefix, via });
  }
  return effectiveRoutes;
}

export function buildInventory({ aws, gcp, links, traffic = [] }: Exports): Inventory {
  const linkList: readonly Link[] = links?.links ?? [];
  const drains = new Map<string, DrainRecord>((links?.drains ?? []).map((d) => [d.vpnConnectionId, d]));
  const tunnelsByPeerIp = new Map<string, ExportedTunnel[]>();
  for (const t of gcp.tunnels) addTo(tunnelsByPeerIp, t.peerIp, t);
  const tgwRoutesOfVpn = new Map<string, AwsExport['tgwRoutes'][number][]>();
  for (const rt of aws.tgwRoutes)
    for (const x of rt.attachments) if (x.resourceType === 'vpn') addTo(tgwRoutesOfVpn, x.resourceId, rt);

  const pairing: Pairing = {
    routers: new Map<string, GcpRouter>(gcp.routers.map((r) => [`${r.region}/${r.name}`, r])),
    usedTunnels: new Set<string>(),
    vpnOfTunnel: new Map<string, string>(),
    unpaired: [],
  };
  const vpns = aws.vpnConnections.map((a) => vpnOf(a, aws, tunnelsByPeerIp, tgwRoutesOfVpn, drains, pairing));
  for (const t of gcp.tunnels)
    if (!pairing.usedTunnels.has(t.selfLink))
      pairing.unpaired.push({
        side: 'gcp',
        id: t.selfLink,
        reason: `no AWS VPN tunnel has outside IP ${t.peerIp}`,
      });

  return {
    vpns,
    unpaired: pairing.unpaired,
    links: linkList,
    effectiveRoutes: effectiveRoutesOf(aws, gcp, linkList, pairing.vpnOfTunnel),
    observedTransitGateways: aws.observedTransitGateways,
    traffic,
    gcpTunnelGateways: gcp.tunnels.map((t) => ({ tunnel: t.selfLink, gateway: t.peerExternalGateway })),
  };
}
