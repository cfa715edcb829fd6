/**
 * Reads the Google side from gcloud's JSON: `{vpnTunnels: <gcloud compute vpn-tunnels list
 * --format=json>, routers: <gcloud compute routers list --format=json>, routerStatus: {<router name>:
 * <gcloud compute routers get-status NAME --region R --format=json>}, externalVpnGateways?: <gcloud
 * compute external-vpn-gateways list --format=json>}`. get-status does not name its router, hence the
 * map.
 */
import type { Cidr } from '../net/cidr.ts';
import type { GcpBgpPeer, GcpTunnel } from './model.ts';
import { gcpResourcePath, type Json, lastSegment, Reader, readLabels } from './read.ts';

export interface GcpRoute {
  readonly prefix: Cidr;
  readonly nextHopVpnTunnel: string | undefined;
  readonly nextHopPeering: string | undefined;
  readonly nextHop: string;
}

export interface GcpRouter {
  readonly name: string;
  readonly region: string;
  readonly network: string;
  readonly bgpPeers: readonly GcpBgpPeer[];
  /** Ranges advertised in CUSTOM mode (router-wide or per peer): configured, so visible even when drained. */
  readonly customAdvertised: ReadonlyMap<string, readonly Cidr[]>;
  readonly status:
    | {
        readonly bestRoutes: readonly GcpRoute[];
        readonly bestRoutesForRouter: readonly GcpRoute[];
        /** peer name -> prefixes it advertises to AWS. */
        readonly advertised: ReadonlyMap<string, readonly Cidr[]>;
      }
    | undefined;
}

export interface GcpExport {
  readonly tunnels: readonly (GcpTunnel & { readonly router: string; readonly region: string })[];
  readonly routers: readonly GcpRouter[];
  readonly externalVpnGateways: readonly string[];
}

type ExportedTunnel = GcpExport['tunnels'][number];

/** One entry of `vpnTunnels`; undefined when a field it needs is bad or it has no Cloud Router. */
function readTunnel(r: Reader, t: unknown, p: string): ExportedTunnel | undefined {
  const o = r.object(t, p);
  if (!o) return undefined;
  const name = r.string(o.name, `${p}.name`);
  const peerIp = r.string(o.peerIp, `${p}.peerIp`);
  const status = r.string(o.status, `${p}.status`);
  const router = r.optionalString(o.router, `${p}.router`);
  const region = r.string(o.region, `${p}.region`);
  const selfLink = r.optionalString(o.selfLink, `${p}.selfLink`);
  const peerExternalGateway = r.optionalString(o.peerExternalGateway, `${p}.peerExternalGateway`);
  const labels = readLabels(r, o.labels, `${p}.labels`);
  if (!name || !peerIp || !status || !region) return undefined;
  if (!router) return undefined; // a static (policy-based) Classic VPN tunnel: no Cloud Router, never an HA VPN half.
  return {
    name,
    selfLink: gcpResourcePath(selfLink ?? `${gcpResourcePath(region)}/vpnTunnels/${name}`),
    peerIp,
    status,
    peerExternalGateway: peerExternalGateway && lastSegment(peerExternalGateway),
    labels,
    router: lastSegment(router),
    region: lastSegment(region),
  };
}

/**
 * A router's BGP peers on VPN tunnels (interface -> linked tunnel), sorted by name, and the ranges
 * each advertises in CUSTOM mode (its own, or the router's).
 */
function readBgpPeers(
  r: Reader,
  o: Json,
  p: string,
): { bgpPeers: GcpBgpPeer[]; custom: Map<string, Cidr[]> } {
  const interfaces = new Map<string, string>();
  for (const [j, f] of (r.array(o.interfaces, `${p}.interfaces`, true) ?? []).entries()) {
    const fo = r.object(f, `${p}.interfaces[${j}]`);
    const fname = fo && r.string(fo.name, `${p}.interfaces[${j}].name`);
    const linked = fo?.linkedVpnTunnel;
    if (fname && typeof linked === 'string') interfaces.set(fname, gcpResourcePath(linked));
  }
  const custom = new Map<string, Cidr[]>();
  const bgp = o.bgp === undefined ? {} : (r.object(o.bgp, `${p}.bgp`) ?? {});
  const routerWide =
    bgp.advertiseMode === 'CUSTOM' ? ranges(r, bgp.advertisedIpRanges, `${p}.bgp.advertisedIpRanges`) : [];
  const bgpPeers: GcpBgpPeer[] = [];
  for (const [j, b] of (r.array(o.bgpPeers, `${p}.bgpPeers`, true) ?? []).entries()) {
    const bp = `${p}.bgpPeers[${j}]`;
    const bo = r.object(b, bp);
    if (!bo) continue;
    const peer = r.string(bo.name, `${bp}.name`);
    const iface = r.string(bo.interfaceName, `${bp}.interfaceName`);
    // Compute returns enable as the string "TRUE" / "FALSE"; absent means TRUE.
    if (bo.enable !== undefined && bo.enable !== 'TRUE' && bo.enable !== 'FALSE')
      r.fail(`${bp}.enable`, 'expected "TRUE" or "FALSE"');
    const own =
      bo.advertiseMode === 'CUSTOM'
        ? ranges(r, bo.advertisedIpRanges, `${bp}.advertisedIpRanges`)
        : routerWide;
    const tunnel = iface ? interfaces.get(iface) : undefined;
    if (peer && iface && tunnel) {
      bgpPeers.push({ name: peer, interfaceName: iface, enabled: bo.enable !== 'FALSE', tunnel });
      if (own.length > 0) custom.set(peer, own);
    }
  }
  return { bgpPeers: bgpPeers.sort((a, b) => a.name.localeCompare(b.name)), custom };
}

/** A router's `get-status`: its best routes and what each BGP peer advertises. */
function readRouterStatus(r: Reader, raw: unknown, name: string): GcpRouter['status'] {
  const sp = `routerStatus.${name}`;
  const result = r.object(r.object(raw, sp)?.result, `${sp}.result`);
  const advertised = new Map<string, Cidr[]>();
  for (const [j, s] of (r.array(result?.bgpPeerStatus, `${sp}.result.bgpPeerStatus`, true) ?? []).entries()) {
    const so = r.object(s, `${sp}.result.bgpPeerStatus[${j}]`);
    const peer = so && r.string(so.name, `${sp}.result.bgpPeerStatus[${j}].name`);
    const adv = routes(r, so?.advertisedRoutes, `${sp}.result.bgpPeerStatus[${j}].advertisedRoutes`);
    if (peer)
      advertised.set(
        peer,
        adv.map((a) => a.prefix),
      );
  }
  return {
    bestRoutes: routes(r, result?.bestRoutes, `${sp}.result.bestRoutes`),
    bestRoutesForRouter: routes(r, result?.bestRoutesForRouter, `${sp}.result.bestRoutesForRouter`),
    advertised,
  };
}

/** One entry of `routers`, with its status when exported; undefined when a field it needs is bad. */
function readRouter(r: Reader, rt: unknown, p: string, statusByRouter: Json): GcpRouter | undefined {
  const o = r.object(rt, p);
  if (!o) return undefined;
  const name = r.string(o.name, `${p}.name`);
  const network = r.string(o.network, `${p}.network`);
  const region = r.string(o.region, `${p}.region`);
  const { bgpPeers, custom } = readBgpPeers(r, o, p);
  const raw = name === undefined ? undefined : statusByRouter[name];
  const status = raw === undefined ? undefined : readRouterStatus(r, raw, name as string);
  if (!name || !network || !region) return undefined;
  return {
    name,
    region: lastSegment(region),
    network: gcpResourcePath(network),
    bgpPeers,
    customAdvertised: custom,
    status,
  };
}

export function importGcpExport(input: unknown): GcpExport {
  const r = new Reader();
  const root = r.object(input, '');
  if (!root) r.done('Google export');
  const top = root as Json;
  if (top.vpnTunnels === undefined)
    r.fail('vpnTunnels', 'missing: `gcloud compute vpn-tunnels list --format=json`');
  if (top.routers === undefined) r.fail('routers', 'missing: `gcloud compute routers list --format=json`');

  const tunnels: ExportedTunnel[] = [];
  for (const [i, t] of (r.array(top.vpnTunnels, 'vpnTunnels') ?? []).entries()) {
    const tunnel = readTunnel(r, t, `vpnTunnels[${i}]`);
    if (tunnel) tunnels.push(tunnel);
  }

  const statusByRouter =
    top.routerStatus === undefined ? {} : (r.object(top.routerStatus, 'routerStatus') ?? {});
  const routers: GcpRouter[] = [];
  for (const [i, rt] of (r.array(top.routers, 'routers') ?? []).entries()) {
    const router = readRouter(r, rt, `routers[${i}]`, statusByRouter);
    if (router) routers.push(router);
  }
  for (const name of Object.keys(statusByRouter))
    if (!routers.some((x) => x.name === name))
      r.fail(`routerStatus.${name}`, 'no router of that name in routers');

  const externalVpnGateways: string[] = [];
  for (const [i, g] of (r.array(top.externalVpnGateways, 'externalVpnGateways', true) ?? []).entries()) {
    const o = r.object(g, `externalVpnGateways[${i}]`);
    const name = o && r.string(o.name, `externalVpnGateways[${i}].name`);
    if (name) externalVpnGateways.push(name);
  }

  r.done('Google export');
  return {
    tunnels: tunnels.sort((a, b) => a.selfLink.localeCompare(b.selfLink)),
    routers: routers.sort((a, b) => `${a.region}/${a.name}`.localeCompare(`${b.region}/${b.name}`)),
    externalVpnGateways: externalVpnGateways.sort(),
  };
}

function ranges(r: Reader, v: unknown, path: string): Cidr[] {
  const out: Cidr[] = [];
  for (const [i, x] of (r.array(v, path, true) ?? []).entries()) {
    const o = r.object(x, `${path}[${i}]`);
    const c = o && r.cidr(o.range, `${path}[${i}].range`);
    if (c) out.push(c);
  }
  return out;
}

function routes(r: Reader, v: unknown, path: string): GcpRoute[] {
  const out: GcpRoute[] = [];
  for (const [i, x] of (r.array(v, path, true) ?? []).entries()) {
    const o = r.object(x, `${path}[${i}]`);
    if (!o) continue;
    const prefix = r.cidr(o.destRange, `${path}[${i}].destRange`);
    const tunnel = typeof o.nextHopVpnTunnel === 'string' ? gcpResourcePath(o.nextHopVpnTunnel) : undefined;
    const peering = typeof o.nextHopPeering === 'string' ? o.nextHopPeering : undefined;
    const nextHop =
      tunnel ??
      peering ??
      [o.nextHopIp, o.nextHopGateway, o.nextHopInstance, o.nextHopIlb, o.nextHopInterconnectAttachment].find(
        (h): h is string => typeof h === 'string',
      ) ??
      'unknown next hop';
    if (prefix) out.push({ prefix, nextHopVpnTunnel: tunnel, nextHopPeering: peering, nextHop });
  }
  return out;
}
