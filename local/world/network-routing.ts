/**
 * Route selection on both sides, by each provider's preference rules: what every virtual private
 * gateway, Transit Gateway route table and Google network holds (from VPCs, static routes, the
 * VPNs' BGP sessions and static routes, and the crosslink links), which candidate wins per
 * destination (`best`, with ECMP ties), and what a VPC's route table shows. `computeRoutes` is
 * the one pass the world makes after every change; the result is a `Snapshot` the views and the
 * traffic read until the next change.
 */
import { type Cidr, contains, parseCidr } from '#core/net/cidr.ts';
import { regional, type TgwAttachment, type VpnConnection } from './network-resources.ts';
import type { NetworkState } from './network-state.ts';
import type {
  AwsGatewayRoute,
  AwsRouteOrigin,
  AwsVpcRoute,
  GcpRoute,
  GcpRouteType,
  LinkRouteView,
} from './network-views.ts';
import { advertisedByGoogle, awsAsn, type Pair } from './network-vpn.ts';

/** The routes of the whole world at one instant. */
export interface Snapshot {
  pairs: Pair[];
  /** Routes per VGW id (all candidates, `best` marked). */
  vgw: Map<string, AwsGatewayRoute[]>;
  /** Routes per TGW route table id. */
  tgw: Map<string, AwsGatewayRoute[]>;
  /** Google routes per network key (all candidates, `best` marked). */
  gcp: Map<string, GcpRoute[]>;
  /** Google routes learned per router key (from its peers), and what each peer advertises. */
  learned: Map<string, GcpRoute[]>;
  advertised: Map<string, GcpRoute[]>;
  links: LinkRouteView[];
}

const AWS_ORIGIN_RANK: Record<AwsRouteOrigin, number> = {
  local: 0,
  static: 1,
  vpc: 2,
  dx: 3,
  'vpn-static': 4,
  'vpn-bgp': 5,
};

const GCP_TYPE_RANK: Record<GcpRouteType, number> = { SUBNET: 0, STATIC: 1, BGP: 1, PEERING: 2 };

/** Longest prefix, then the lowest rank tuple; every tied best wins (ECMP). */
export function selectBest<T>(
  candidates: readonly T[],
  ip: Cidr,
  prefixOf: (c: T) => string,
  rank: (c: T) => readonly number[],
): T[] {
  let best: T[] = [];
  let bestLen = -1;
  let bestRank: readonly number[] = [];
  for (const c of candidates) {
    const p = parseCidr(prefixOf(c));
    if (!contains(p, ip)) continue;
    const r = rank(c);
    const cmp = p.length !== bestLen ? bestLen - p.length : compareRank(r, bestRank);
    if (cmp < 0) {
      best = [c];
      bestLen = p.length;
      bestRank = r;
    } else if (cmp === 0) best.push(c);
  }
  return best;
}

function compareRank(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Marks `best` per destination (same prefix) among candidates. */
function markBest<T extends { best: boolean }>(
  routes: T[],
  prefixOf: (c: T) => string,
  rank: (c: T) => readonly number[],
  usable: (c: T) => boolean = () => true,
): T[] {
  const byPrefix = new Map<string, T[]>();
  for (const r of routes) {
    const k = parseCidr(prefixOf(r)).text;
    byPrefix.set(k, [...(byPrefix.get(k) ?? []), r]);
  }
  for (const group of byPrefix.values()) {
    const live = group.filter(usable);
    let bestRank: readonly number[] | undefined;
    for (const r of live) if (!bestRank || compareRank(rank(r), bestRank) < 0) bestRank = rank(r);
    for (const r of group)
      r.best = bestRank !== undefined && usable(r) && compareRank(rank(r), bestRank) === 0;
  }
  return routes;
}

/** AWS: static before propagated; then DX > VPC > static VPN > BGP VPN; then AS_PATH length; then MED. */
export function awsRank(r: AwsGatewayRoute): number[] {
  return [r.type === 'static' ? 0 : 1, AWS_ORIGIN_RANK[r.origin], r.asPath?.length ?? 0, r.med ?? 0];
}

/** Google: lowest priority, then local (static, dynamic) routes before peering routes. */
export function gcpRank(r: GcpRoute): number[] {
  return [r.routeType === 'SUBNET' ? -1 : 0, r.priority, GCP_TYPE_RANK[r.routeType]];
}

/** The AWS gateways (vgw, tgw) behind a link: those it names and those associated with its DX gateway. */
export function gatewaysOf(s: NetworkState, link: LinkRouteView): string[] {
  return [
    ...new Set([
      ...(link.aws.gateways ?? []),
      ...(s.dxAssociations.get(link.aws.dxGatewayId.toUpperCase()) ?? []),
    ]),
  ];
}

/** Every gateway's and network's routes, candidates and winners, from the current resources and links. */
export function computeRoutes(state: NetworkState, pairs: Pair[], links: LinkRouteView[]): Snapshot {
  const upLinks = links.filter((l) => l.up);

  // --- AWS: virtual private gateways.
  const vgw = new Map<string, AwsGatewayRoute[]>();
  for (const g of state.vpnGateways.values()) {
    if (g.state !== 'available') continue;
    const routes: AwsGatewayRoute[] = [];
    for (const l of upLinks)
      if (gatewaysOf(state, l).includes(g.vpnGatewayId))
        for (const p of l.toAws)
          routes.push({
            destinationCidrBlock: parseCidr(p).text,
            origin: 'dx',
            type: 'propagated',
            state: 'active',
            target: { kind: 'link', linkId: l.linkId },
            best: false,
          });
    for (const vpn of state.vpnConnections.values())
      if (vpn.vpnGatewayId === g.vpnGatewayId && vpn.state === 'available')
        routes.push(...vpnRoutes(state, vpn, pairs, false));
    vgw.set(
      g.vpnGatewayId,
      markBest(routes, (r) => r.destinationCidrBlock, awsRank),
    );
  }

  // --- AWS: transit gateway route tables. VPN attachments learn from Google (independent of TGW
  // tables), so one pass suffices; what AWS advertises back is read from these tables below.
  const tgw = new Map<string, AwsGatewayRoute[]>();
  for (const rtb of state.tgwRouteTables.values()) {
    const routes: AwsGatewayRoute[] = [];
    for (const s of rtb.staticRoutes) {
      const att = s.transitGatewayAttachmentId
        ? state.tgwAttachments.get(s.transitGatewayAttachmentId)
        : undefined;
      const live = !s.blackhole && att?.state === 'available';
      routes.push({
        destinationCidrBlock: s.destinationCidrBlock,
        origin: 'static',
        type: 'static',
        state: live ? 'active' : 'blackhole',
        target: live && att ? attachmentTarget(att, links) : { kind: 'blackhole' },
        ...(att ? { transitGatewayAttachmentId: att.transitGatewayAttachmentId } : {}),
        best: false,
      });
    }
    for (const attId of rtb.propagations) {
      const att = state.tgwAttachments.get(attId);
      if (att?.state !== 'available') continue;
      const base = {
        type: 'propagated' as const,
        state: 'active' as const,
        transitGatewayAttachmentId: attId,
        best: false,
      };
      if (att.resourceType === 'vpc') {
        for (const c of state.vpcs.get(att.resourceId)?.cidrBlocks ?? [])
          routes.push({
            ...base,
            destinationCidrBlock: c,
            origin: 'vpc',
            target: { kind: 'vpc', vpcId: att.resourceId },
          });
      } else if (att.resourceType === 'direct-connect-gateway') {
        for (const l of upLinks)
          if (l.aws.dxGatewayId.toUpperCase() === att.resourceId)
            for (const p of l.toAws)
              routes.push({
                ...base,
                destinationCidrBlock: parseCidr(p).text,
                origin: 'dx',
                target: { kind: 'link', linkId: l.linkId },
              });
      } else {
        const vpn = state.vpnConnections.get(att.resourceId);
        if (vpn?.state === 'available')
          for (const r of vpnRoutes(
            state,
            vpn,
            pairs,
            state.transitGateways.get(att.transitGatewayId)?.vpnEcmpSupport === 'enable',
          ))
            routes.push({ ...r, transitGatewayAttachmentId: attId });
      }
    }
    tgw.set(
      rtb.transitGatewayRouteTableId,
      markBest(
        routes,
        (r) => r.destinationCidrBlock,
        awsRank,
        (r) => r.state === 'active',
      ),
    );
  }

  // --- Google: routes per network.
  const gcp = new Map<string, GcpRoute[]>();
  const learned = new Map<string, GcpRoute[]>();
  const advertised = new Map<string, GcpRoute[]>();
  for (const [key, net] of state.gcpNetworks) {
    const routes: GcpRoute[] = [];
    for (const s of net.subnets)
      routes.push({
        network: key,
        destRange: s.ipCidrRange,
        priority: 0,
        routeType: 'SUBNET',
        region: s.region,
        best: false,
      });
    for (const s of state.gcpRoutes.values()) {
      if (s.project !== net.project || s.network !== net.name) continue;
      const tunnel = state.vpnTunnels.get(regional(s.project, s.region, s.nextHopVpnTunnel));
      const up = tunnel !== undefined && pairs.some((p) => p.gcp === tunnel && p.ipsecUp);
      routes.push({
        network: key,
        name: s.name,
        destRange: s.destRange,
        priority: s.priority,
        routeType: 'STATIC',
        nextHopVpnTunnel: s.nextHopVpnTunnel,
        region: s.region,
        // A route whose tunnel is down stays listed but is never selected.
        best: up,
      });
    }
    for (const p of pairs) {
      if (!p.bgpUp || !p.router || p.router.project !== net.project || p.router.network !== net.name)
        continue;
      const asn = awsAsn(state, p.vpn);
      for (const prefix of advertisedByAws(state, p, { tgw })) {
        const r: GcpRoute = {
          network: key,
          destRange: prefix,
          // Cloud Router uses the MED it receives as the learned route's priority.
          priority: p.vpn.bgpMed,
          routeType: 'BGP',
          nextHopVpnTunnel: p.gcp.name,
          region: p.gcp.region,
          nextHopIp: p.aws.awsInsideIpAddress,
          router: p.router.name,
          ...(asn === undefined ? {} : { asPaths: [asn] }),
          best: false,
        };
        routes.push(r);
        const rk = regional(p.router.project, p.router.region, p.router.name);
        learned.set(rk, [...(learned.get(rk) ?? []), r]);
      }
      advertised.set(`${p.vpn.vpnConnectionId}/${p.aws.outsideIpAddress}`, advertisedByGoogle(state, p));
    }
    for (const l of upLinks) {
      if (l.gcp.project !== net.project || l.gcp.network !== net.name) continue;
      for (const p of l.toGcp)
        routes.push({
          network: key,
          destRange: parseCidr(p).text,
          priority: l.gcpPriority ?? 0,
          routeType: 'PEERING',
          nextHopPeering: l.linkId,
          best: false,
        });
    }
    const usable = (r: GcpRoute) => r.routeType !== 'STATIC' || r.best;
    gcp.set(
      key,
      markBest(routes, (r) => r.destRange, gcpRank, usable),
    );
  }
  return { pairs, vgw, tgw, gcp, learned, advertised, links };
}

/** Where a Transit Gateway static route through an attachment leads. */
function attachmentTarget(att: TgwAttachment, links: readonly LinkRouteView[]): AwsGatewayRoute['target'] {
  if (att.resourceType === 'vpc') return { kind: 'vpc', vpcId: att.resourceId };
  if (att.resourceType === 'vpn') return { kind: 'vpn', vpnConnectionId: att.resourceId, tunnels: [] };
  const link = links.find((l) => l.up && l.aws.dxGatewayId.toUpperCase() === att.resourceId);
  return link ? { kind: 'link', linkId: link.linkId } : { kind: 'blackhole' };
}

/** The routes an AWS gateway learns from one VPN connection. */
function vpnRoutes(s: NetworkState, vpn: VpnConnection, pairs: Pair[], ecmp: boolean): AwsGatewayRoute[] {
  const mine = pairs.filter((p) => p.vpn === vpn);
  if (vpn.staticRoutesOnly) {
    const up = mine.filter((p) => p.ipsecUp).map((p) => p.aws.outsideIpAddress);
    if (up.length === 0) return [];
    // Static VPN routes are used by one tunnel at a time.
    return vpn.routes
      .filter((r) => r.state === 'available')
      .map((r) => ({
        destinationCidrBlock: r.destinationCidrBlock,
        origin: 'vpn-static' as const,
        type: 'propagated' as const,
        state: 'active' as const,
        target: { kind: 'vpn' as const, vpnConnectionId: vpn.vpnConnectionId, tunnels: [up[0] as string] },
        best: false,
      }));
  }
  const byPrefix = new Map<string, { tunnels: string[]; asPath: number[]; med: number }>();
  for (const p of mine) {
    if (!p.bgpUp) continue;
    for (const adv of advertisedByGoogle(s, p)) {
      const e = byPrefix.get(adv.destRange);
      if (!e)
        byPrefix.set(adv.destRange, {
          tunnels: [p.aws.outsideIpAddress],
          asPath: adv.asPaths ?? [],
          med: adv.priority,
        });
      else if (adv.priority < e.med)
        byPrefix.set(adv.destRange, {
          tunnels: [p.aws.outsideIpAddress],
          asPath: adv.asPaths ?? [],
          med: adv.priority,
        });
      else if (adv.priority === e.med && ecmp) e.tunnels.push(p.aws.outsideIpAddress);
    }
  }
  return [...byPrefix].map(([dest, e]) => ({
    destinationCidrBlock: dest,
    origin: 'vpn-bgp' as const,
    type: 'propagated' as const,
    state: 'active' as const,
    target: { kind: 'vpn' as const, vpnConnectionId: vpn.vpnConnectionId, tunnels: e.tunnels },
    asPath: e.asPath,
    med: e.med,
    best: false,
  }));
}

/** The prefixes AWS advertises to Google on one session. */
function advertisedByAws(s: NetworkState, pair: Pair, snap: Pick<Snapshot, 'tgw'>): string[] {
  const vpn = pair.vpn;
  if (vpn.vpnGatewayId) {
    const vgw = s.vpnGateways.get(vpn.vpnGatewayId);
    return (vgw?.vpcAttachments ?? [])
      .filter((a) => a.state === 'attached')
      .flatMap((a) => s.vpcs.get(a.vpcId)?.cidrBlocks ?? []);
  }
  const att = vpn.transitGatewayAttachmentId
    ? s.tgwAttachments.get(vpn.transitGatewayAttachmentId)
    : undefined;
  if (!att?.associatedRouteTableId) return [];
  return (snap.tgw.get(att.associatedRouteTableId) ?? [])
    .filter(
      (r) =>
        r.best && r.state === 'active' && r.transitGatewayAttachmentId !== att.transitGatewayAttachmentId,
    )
    .map((r) => r.destinationCidrBlock);
}

/** The live attachment of a VPC to a Transit Gateway (to the given one, if named). */
export function vpcTgwAttachment(
  s: NetworkState,
  vpcId: string,
  transitGatewayId?: string,
): TgwAttachment | undefined {
  return [...s.tgwAttachments.values()].find(
    (a) =>
      a.resourceType === 'vpc' &&
      a.resourceId === vpcId &&
      a.state === 'available' &&
      (transitGatewayId === undefined || a.transitGatewayId === transitGatewayId),
  );
}

/** A VPC's main route table as DescribeRouteTables shows it: one route per destination. */
export function vpcRouteTable(
  s: NetworkState,
  routeTableId: string,
  current: () => Pick<Snapshot, 'vgw'>,
): AwsVpcRoute[] {
  const rtb = s.rtb(routeTableId);
  const vpc = s.vpc(rtb.vpcId);
  const snap = current();
  const out = new Map<string, AwsVpcRoute>();
  for (const c of vpc.cidrBlocks)
    out.set(c, {
      destinationCidrBlock: c,
      gatewayId: 'local',
      origin: 'CreateRouteTable',
      state: 'active',
    });
  for (const r of rtb.staticRoutes) {
    if (out.has(r.destinationCidrBlock)) continue;
    const live = r.gatewayId
      ? s.vpnGateways
          .get(r.gatewayId)
          ?.vpcAttachments.some((a) => a.vpcId === vpc.vpcId && a.state === 'attached')
      : vpcTgwAttachment(s, vpc.vpcId, r.transitGatewayId) !== undefined;
    out.set(r.destinationCidrBlock, {
      destinationCidrBlock: r.destinationCidrBlock,
      ...(r.gatewayId ? { gatewayId: r.gatewayId } : { transitGatewayId: r.transitGatewayId }),
      origin: 'CreateRoute',
      state: live ? 'active' : 'blackhole',
    });
  }
  for (const vgwId of rtb.propagatingVgws) {
    const attached = s.vpnGateways
      .get(vgwId)
      ?.vpcAttachments.some((a) => a.vpcId === vpc.vpcId && a.state === 'attached');
    if (!attached) continue;
    for (const r of snap.vgw.get(vgwId) ?? []) {
      if (!r.best || out.has(r.destinationCidrBlock)) continue;
      out.set(r.destinationCidrBlock, {
        destinationCidrBlock: r.destinationCidrBlock,
        gatewayId: vgwId,
        origin: 'EnableVgwRoutePropagation',
        state: 'active',
      });
    }
  }
  return [...out.values()];
}
