/**
 * Compute Engine's wire views of the network world: VPN tunnels, routes, Cloud Routers and their
 * status (a transport's router included), external VPN gateways, and the paged, filtered list
 * envelope every `list` method answers with. Kept apart from the routes so each route reads as
 * lookup, change and answer.
 */
import { createHash } from 'node:crypto';
import { bgpSessionsOf } from '#local/world/bgp-sessions.ts';
import type { BgpPeerStatus, GcpRoute, GcpVpnTunnel, NetworkWorld } from '#local/world/network.ts';
import type { GcpRequestContext } from '../../service.ts';
import { transportsOf } from '../networkconnectivity/reconcile.ts';
import {
  COMPUTE_BASE,
  type ComputeState,
  fingerprint,
  iso,
  networkLink,
  regionLink,
  tunnelLink,
} from './model.ts';

// --- renderers ---------------------------------------------------------------------------------

export function renderTunnel(w: NetworkWorld, t: GcpVpnTunnel) {
  const status = w.gcpTunnelStatus(t.project, t.region, t.name);
  return {
    kind: 'compute#vpnTunnel',
    id: t.id,
    creationTimestamp: iso(t.creationTimestamp),
    name: t.name,
    description: t.description,
    region: regionLink(t.project, t.region),
    peerIp: t.peerIp,
    sharedSecretHash: createHash('sha256').update(t.sharedSecret).digest('base64').slice(0, 27),
    status: status.status,
    detailedStatus: status.detailedStatus,
    selfLink: tunnelLink(t.project, t.region, t.name),
    ikeVersion: t.ikeVersion,
    ...(t.vpnGateway
      ? {
          vpnGateway: `${regionLink(t.project, t.region)}/vpnGateways/${t.vpnGateway}`,
          vpnGatewayInterface: t.vpnGatewayInterface,
        }
      : {}),
    ...(t.targetVpnGateway
      ? { targetVpnGateway: `${regionLink(t.project, t.region)}/targetVpnGateways/${t.targetVpnGateway}` }
      : {}),
    ...(t.peerExternalGateway
      ? {
          peerExternalGateway: `${COMPUTE_BASE}/projects/${t.project}/global/externalVpnGateways/${t.peerExternalGateway}`,
          peerExternalGatewayInterface: t.peerExternalGatewayInterface,
        }
      : {}),
    ...(t.router ? { router: `${regionLink(t.project, t.region)}/routers/${t.router}` } : {}),
    labels: t.labels,
    labelFingerprint: fingerprint(t.labels),
  };
}

export function renderRoute(r: GcpRoute, project: string) {
  const network = r.network.split('/').pop() as string;
  return {
    kind: 'compute#route',
    ...(r.name ? { name: r.name } : {}),
    network: networkLink(project, network),
    destRange: r.destRange,
    priority: r.priority,
    routeType: r.routeType === 'PEERING' ? 'PEERING' : r.routeType,
    ...(r.nextHopIp ? { nextHopIp: r.nextHopIp } : {}),
    ...(r.nextHopVpnTunnel && r.region
      ? { nextHopVpnTunnel: tunnelLink(project, r.region, r.nextHopVpnTunnel) }
      : {}),
    ...(r.nextHopPeering ? { nextHopPeering: r.nextHopPeering } : {}),
    ...(r.routeType === 'SUBNET' ? { nextHopNetwork: networkLink(project, network) } : {}),
    ...(r.asPaths ? { asPaths: [{ pathSegmentType: 'AS_SEQUENCE', asLists: r.asPaths }] } : {}),
    routeStatus: r.best ? 'ACTIVE' : 'INACTIVE',
  };
}

function uptime(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return [d ? `${d} days` : '', h ? `${h} hours` : '', m ? `${m} minutes` : '', `${s} seconds`]
    .filter(Boolean)
    .join(', ');
}

export function renderPeerStatus(p: BgpPeerStatus, project: string, region: string, now: number) {
  const up = p.upSince === undefined ? 0 : Math.floor((now - p.upSince) / 1000);
  return {
    name: p.name,
    ...(p.ipAddress ? { ipAddress: p.ipAddress } : {}),
    ...(p.peerIpAddress ? { peerIpAddress: p.peerIpAddress } : {}),
    ...(p.linkedVpnTunnel ? { linkedVpnTunnel: tunnelLink(project, region, p.linkedVpnTunnel) } : {}),
    status: p.status,
    state: p.state,
    uptime: p.status === 'UP' ? uptime(up) : '',
    uptimeSeconds: String(up),
    numLearnedRoutes: p.numLearnedRoutes,
    advertisedRoutes: p.advertisedRoutes.map((r) => renderRoute(r, project)),
    ...(p.reason ? { statusReason: 'STATUS_REASON_UNSPECIFIED' } : {}),
  };
}

/**
 * The Cloud Router of a transport (Partner Cross-Cloud Interconnect): named as the transport, in its
 * project and region, one BGP peer per session of the link (`<transport>-bgp-<n>`, status from the
 * link world's sessions, local/world/bgp-sessions.ts). Which router holds a transport's sessions on
 * Google is inferred (docs/link-health.md): the transport resource names none. Undefined when no
 * transport of that name is in the project and region; no best routes are listed (its routes reach
 * the VPC over the transport's peering).
 */
export function transportRouterStatus(
  ctx: GcpRequestContext<ComputeState>,
  project: string,
  region: string,
  router: string,
) {
  const t = transportsOf(ctx.world).find(
    (x) => x.project === project && x.location === region && x.name.endsWith(`/transports/${router}`),
  );
  if (!t) return undefined;
  const sessions = (t.sharedId ? bgpSessionsOf(ctx.clock, t.sharedId) : undefined) ?? [];
  return {
    kind: 'compute#routerStatusResponse',
    result: {
      network: t.network?.startsWith('https://') ? t.network : `${COMPUTE_BASE}/${t.network}`,
      bestRoutes: [],
      bestRoutesForRouter: [],
      bgpPeerStatus: sessions.map((x) => ({
        name: `${router}-bgp-${x.index}`,
        status: x.up ? 'UP' : 'DOWN',
        state: x.up ? 'Established' : 'Active',
      })),
    },
  };
}

export function renderRouter(w: NetworkWorld, project: string, region: string, name: string) {
  const r = w.router(project, region, name);
  const body = {
    kind: 'compute#router',
    id: r.id,
    creationTimestamp: iso(r.creationTimestamp),
    name: r.name,
    region: regionLink(project, region),
    network: networkLink(project, r.network),
    interfaces: r.interfaces.map((i) => ({
      name: i.name,
      ...(i.linkedVpnTunnel ? { linkedVpnTunnel: tunnelLink(project, region, i.linkedVpnTunnel) } : {}),
      ...(i.ipRange ? { ipRange: i.ipRange } : {}),
      managementType: 'MANAGED_BY_USER',
    })),
    bgpPeers: r.bgpPeers.map((p) => ({
      name: p.name,
      interfaceName: p.interfaceName,
      ...(p.ipAddress ? { ipAddress: p.ipAddress } : {}),
      ...(p.peerIpAddress ? { peerIpAddress: p.peerIpAddress } : {}),
      peerAsn: p.peerAsn,
      advertisedRoutePriority: p.advertisedRoutePriority ?? 100,
      advertiseMode: p.advertiseMode ?? 'DEFAULT',
      ...(p.advertisedGroups ? { advertisedGroups: p.advertisedGroups } : {}),
      ...(p.advertisedIpRanges ? { advertisedIpRanges: p.advertisedIpRanges } : {}),
      enable: p.enable ?? 'TRUE',
      managementType: 'MANAGED_BY_USER',
    })),
    bgp: { keepaliveInterval: 20, advertiseMode: 'DEFAULT', ...r.bgp },
    selfLink: `${regionLink(project, region)}/routers/${r.name}`,
    encryptedInterconnectRouter: false,
  };
  return {
    ...body,
    fingerprint: fingerprint({ interfaces: body.interfaces, bgpPeers: body.bgpPeers, bgp: body.bgp }),
  };
}

/** A page of `items` by `maxResults` / `pageToken` (an offset, as opaque to clients as Google's). */
function page<T>(ctx: GcpRequestContext<ComputeState>, items: T[]): { items: T[]; nextPageToken?: string } {
  const max = Math.min(500, Number(ctx.query.get('maxResults') ?? 500) || 500);
  const start = Number(ctx.query.get('pageToken') ?? 0) || 0;
  const slice = items.slice(start, start + max);
  return { items: slice, ...(start + max < items.length ? { nextPageToken: String(start + max) } : {}) };
}

/** A `filter` of `name = "x"` / `name != "x"` / `name eq x` terms (what inventories pass), or no filter. */
export function matches(filter: string | null, item: Record<string, unknown>): boolean {
  if (!filter) return true;
  const terms = [...filter.matchAll(/\(?\s*([\w.]+)\s*(=|!=|eq|ne)\s*"?([^")\s]*)"?\s*\)?/g)];
  return terms.every(([, field, op, value]) => {
    const actual = String(
      (field as string).split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], item) ?? '',
    );
    const eq =
      op === '=' || op === 'eq'
        ? actual === value || new RegExp(`^${value}$`).test(actual)
        : actual !== value;
    return eq;
  });
}

export function listOf<T extends Record<string, unknown>>(
  ctx: GcpRequestContext<ComputeState>,
  kind: string,
  items: T[],
  selfLink: string,
) {
  const filtered = items.filter((i) => matches(ctx.query.get('filter'), i));
  const p = page(ctx, filtered);
  return {
    kind,
    id: selfLink,
    items: p.items,
    selfLink,
    ...(p.nextPageToken ? { nextPageToken: p.nextPageToken } : {}),
  };
}

export function renderExternal(g: {
  project: string;
  name: string;
  id: string;
  redundancyType: string;
  interfaces: Array<{ id: number; ipAddress: string }>;
  labels: Record<string, string>;
  description: string;
  creationTimestamp: number;
}) {
  return {
    kind: 'compute#externalVpnGateway',
    id: g.id,
    creationTimestamp: iso(g.creationTimestamp),
    name: g.name,
    description: g.description,
    redundancyType: g.redundancyType,
    interfaces: g.interfaces,
    labels: g.labels,
    labelFingerprint: fingerprint(g.labels),
    selfLink: `${COMPUTE_BASE}/projects/${g.project}/global/externalVpnGateways/${g.name}`,
  };
}
