/**
 * Compute Engine v1, the VPN and routing subset crosslink reads and changes: HA VPN tunnels,
 * (HA / Classic) VPN gateways, external VPN gateways, Cloud Routers (get, list, patch of BGP peers
 * and interfaces, getRouterStatus), routes, and the network's effective routes. Everything is a view
 * of the shared network world (local/world/network.ts), so what the AWS edge changes shows here
 * and the other way round. Mutations answer with a `compute#operation` that is already DONE (the
 * model applies them at once); `operations.get` / `wait` serve it back.
 */
import { createHash } from 'node:crypto';
import { bgpSessionsOf } from '#local/world/bgp-sessions.ts';
import type {
  BgpPeerStatus,
  GcpRoute,
  GcpVpnTunnel,
  NetworkWorld,
  RouterBgpPeer,
  RouterInterface,
} from '#local/world/network.ts';
import { NetworkError } from '#local/world/network.ts';
import { networkAdmin } from '#local/world/network-admin.ts';
import { networkOf } from '#local/world/registry.ts';
import {
  alreadyExists,
  errorInfo,
  failedPrecondition,
  GcpError,
  invalidArgument,
  notFound,
} from '../errors.ts';
import { defineGcpService, type GcpRequestContext } from '../service.ts';
import { transportsOf } from './networkconnectivity/reconcile.ts';

export const COMPUTE_BASE = 'https://www.googleapis.com/compute/v1';

interface Operation {
  kind: 'compute#operation';
  id: string;
  name: string;
  operationType: string;
  targetLink: string;
  targetId?: string;
  status: 'DONE';
  user: string;
  progress: 100;
  insertTime: string;
  startTime: string;
  endTime: string;
  selfLink: string;
  region?: string;
}

interface ComputeState {
  operations: Map<string, Operation>;
}

const iso = (ms: number) => new Date(ms).toISOString();
const regionLink = (p: string, r: string) => `${COMPUTE_BASE}/projects/${p}/regions/${r}`;
const networkLink = (p: string, n: string) => `${COMPUTE_BASE}/projects/${p}/global/networks/${n}`;
const tunnelLink = (p: string, r: string, n: string) => `${regionLink(p, r)}/vpnTunnels/${n}`;
const lastSegment = (ref: string) => ref.split('/').pop() as string;
const fingerprint = (v: unknown) =>
  createHash('sha256').update(JSON.stringify(v)).digest('base64').slice(0, 12);

/** The model's refusals in compute's words. */
function mapError(err: unknown, what: string): never {
  if (!(err instanceof NetworkError)) throw err;
  switch (err.code) {
    case 'NotFound':
      throw notFound(`The resource '${what}' was not found`);
    case 'AlreadyExists':
      throw alreadyExists(`The resource '${what}' already exists`);
    case 'InUse':
      throw new GcpError('FAILED_PRECONDITION', err.message, {
        httpStatus: 400,
        details: [errorInfo('resourceInUseByAnotherResource', 'compute.googleapis.com')],
      });
    case 'IncorrectState':
      throw failedPrecondition(err.message);
    default:
      throw invalidArgument(err.message);
  }
}

function attempt<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    mapError(err, what);
  }
}

function net(ctx: GcpRequestContext<ComputeState>): NetworkWorld {
  return networkOf(ctx.clock);
}

function operation(
  ctx: GcpRequestContext<ComputeState>,
  type: string,
  targetLink: string,
  region?: string,
  targetId?: string,
): Operation {
  const now = ctx.clock.now();
  const name = `operation-${now}-${ctx.world.random.chars(13, '0123456789abcdef')}`;
  const scope = region
    ? regionLink(ctx.params.project as string, region)
    : `${COMPUTE_BASE}/projects/${ctx.params.project}/global`;
  const op: Operation = {
    kind: 'compute#operation',
    id: String(BigInt(now) * 1000n + BigInt(Math.floor(ctx.world.random.next() * 1000))),
    name,
    operationType: type,
    targetLink,
    ...(targetId ? { targetId } : {}),
    status: 'DONE',
    user: ctx.caller?.email ?? 'unknown',
    progress: 100,
    insertTime: iso(now),
    startTime: iso(now),
    endTime: iso(now),
    selfLink: `${scope}/operations/${name}`,
    ...(region ? { region: regionLink(ctx.params.project as string, region) } : {}),
  };
  ctx.state.operations.set(name, op);
  return op;
}

function getOperation(ctx: GcpRequestContext<ComputeState>): Operation {
  const op = ctx.state.operations.get(ctx.params.operation as string);
  if (!op)
    throw notFound(
      `The resource '${ctx.path.replace(/^\/compute\/v1\//, '').replace(/\/wait$/, '')}' was not found`,
    );
  return op;
}

// --- renderers ---------------------------------------------------------------------------------

function renderTunnel(w: NetworkWorld, t: GcpVpnTunnel) {
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

function renderRoute(r: GcpRoute, project: string) {
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

function renderPeerStatus(p: BgpPeerStatus, project: string, region: string, now: number) {
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
function transportRouterStatus(
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

function renderRouter(w: NetworkWorld, project: string, region: string, name: string) {
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
function matches(filter: string | null, item: Record<string, unknown>): boolean {
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

function listOf<T extends Record<string, unknown>>(
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

// --- patch input ---------------------------------------------------------------------------------

function parseInterfaces(v: unknown): RouterInterface[] {
  if (!Array.isArray(v)) throw invalidArgument('interfaces must be a list', 'interfaces');
  return v.map((i: Record<string, unknown>, n) => {
    if (typeof i.name !== 'string')
      throw invalidArgument(`interfaces[${n}].name is required`, `interfaces[${n}].name`);
    return {
      name: i.name,
      ...(typeof i.linkedVpnTunnel === 'string' ? { linkedVpnTunnel: lastSegment(i.linkedVpnTunnel) } : {}),
      ...(typeof i.ipRange === 'string' ? { ipRange: i.ipRange } : {}),
    };
  });
}

function parsePeers(v: unknown): RouterBgpPeer[] {
  if (!Array.isArray(v)) throw invalidArgument('bgpPeers must be a list', 'bgpPeers');
  return v.map((p: Record<string, unknown>, n) => {
    const at = `bgpPeers[${n}]`;
    if (typeof p.name !== 'string') throw invalidArgument(`${at}.name is required`, `${at}.name`);
    if (typeof p.interfaceName !== 'string')
      throw invalidArgument(`${at}.interfaceName is required`, `${at}.interfaceName`);
    const asn = Number(p.peerAsn);
    if (!Number.isInteger(asn) || asn <= 0)
      throw invalidArgument(`${at}.peerAsn must be an ASN`, `${at}.peerAsn`);
    if (p.enable !== undefined && p.enable !== 'TRUE' && p.enable !== 'FALSE')
      throw invalidArgument(
        `Invalid value for field '${at}.enable': '${String(p.enable)}'. Expected TRUE or FALSE.`,
        `${at}.enable`,
      );
    return {
      name: p.name,
      interfaceName: p.interfaceName,
      peerAsn: asn,
      ...(typeof p.ipAddress === 'string' ? { ipAddress: p.ipAddress } : {}),
      ...(typeof p.peerIpAddress === 'string' ? { peerIpAddress: p.peerIpAddress } : {}),
      ...(p.enable ? { enable: p.enable as 'TRUE' | 'FALSE' } : {}),
      ...(p.advertisedRoutePriority !== undefined
        ? { advertisedRoutePriority: Number(p.advertisedRoutePriority) }
        : {}),
      ...(p.advertiseMode === 'CUSTOM' || p.advertiseMode === 'DEFAULT'
        ? { advertiseMode: p.advertiseMode }
        : {}),
      ...(Array.isArray(p.advertisedGroups) ? { advertisedGroups: p.advertisedGroups as string[] } : {}),
      ...(Array.isArray(p.advertisedIpRanges)
        ? { advertisedIpRanges: p.advertisedIpRanges as Array<{ range: string; description?: string }> }
        : {}),
    };
  });
}

// --- routes --------------------------------------------------------------------------------------

const R = '/compute/v1/projects/{project}/regions/{region}';
const G = '/compute/v1/projects/{project}/global';

export default defineGcpService<ComputeState>({
  name: 'compute',
  host: 'compute.googleapis.com',
  createState: () => ({ operations: new Map() }),
  status: (state, project) => ({ project, operations: state.operations.size }),
  admin: networkAdmin,
  routes: [
    {
      method: 'GET',
      path: `${R}/vpnTunnels`,
      operation: 'compute.vpnTunnels.list',
      handler: (ctx) => {
        const w = net(ctx);
        const { project, region } = ctx.params as { project: string; region: string };
        const items = [...w.vpnTunnels.values()]
          .filter((t) => t.project === project && t.region === region)
          .map((t) => renderTunnel(w, t));
        return listOf(ctx, 'compute#vpnTunnelList', items, `${regionLink(project, region)}/vpnTunnels`);
      },
    },
    {
      method: 'GET',
      path: '/compute/v1/projects/{project}/aggregated/vpnTunnels',
      operation: 'compute.vpnTunnels.aggregatedList',
      handler: (ctx) => {
        const w = net(ctx);
        const project = ctx.params.project as string;
        const items: Record<string, { vpnTunnels: unknown[] }> = {};
        for (const t of w.vpnTunnels.values()) {
          if (t.project !== project) continue;
          const rendered = renderTunnel(w, t);
          if (!matches(ctx.query.get('filter'), rendered)) continue;
          const bucket = items[`regions/${t.region}`] ?? { vpnTunnels: [] };
          bucket.vpnTunnels.push(rendered);
          items[`regions/${t.region}`] = bucket;
        }
        return {
          kind: 'compute#vpnTunnelAggregatedList',
          id: `projects/${project}/aggregated/vpnTunnels`,
          items,
        };
      },
    },
    {
      method: 'GET',
      path: `${R}/vpnTunnels/{tunnel}`,
      operation: 'compute.vpnTunnels.get',
      handler: (ctx) => {
        const { project, region, tunnel } = ctx.params as { project: string; region: string; tunnel: string };
        const w = net(ctx);
        return renderTunnel(
          w,
          attempt(`projects/${project}/regions/${region}/vpnTunnels/${tunnel}`, () =>
            w.vpnTunnel(project, region, tunnel),
          ),
        );
      },
    },
    {
      method: 'DELETE',
      path: `${R}/vpnTunnels/{tunnel}`,
      operation: 'compute.vpnTunnels.delete',
      handler: (ctx) => {
        const { project, region, tunnel } = ctx.params as { project: string; region: string; tunnel: string };
        const w = net(ctx);
        const t = attempt(`projects/${project}/regions/${region}/vpnTunnels/${tunnel}`, () =>
          w.vpnTunnel(project, region, tunnel),
        );
        w.deleteVpnTunnel(project, region, tunnel);
        return operation(ctx, 'delete', tunnelLink(project, region, tunnel), region, t.id);
      },
    },
    {
      method: 'GET',
      path: `${R}/vpnGateways`,
      operation: 'compute.vpnGateways.list',
      handler: (ctx) => {
        const { project, region } = ctx.params as { project: string; region: string };
        const items = [...net(ctx).haVpnGateways.values()]
          .filter((g) => g.project === project && g.region === region)
          .map((g) => ({
            kind: 'compute#vpnGateway',
            id: g.id,
            creationTimestamp: iso(g.creationTimestamp),
            name: g.name,
            region: regionLink(project, region),
            network: networkLink(project, g.network),
            vpnInterfaces: g.vpnInterfaces,
            stackType: 'IPV4_ONLY',
            labels: g.labels,
            selfLink: `${regionLink(project, region)}/vpnGateways/${g.name}`,
          }));
        return listOf(ctx, 'compute#vpnGatewayList', items, `${regionLink(project, region)}/vpnGateways`);
      },
    },
    {
      method: 'GET',
      path: `${G}/externalVpnGateways`,
      operation: 'compute.externalVpnGateways.list',
      handler: (ctx) => {
        const project = ctx.params.project as string;
        const items = [...net(ctx).externalVpnGateways.values()]
          .filter((g) => g.project === project)
          .map((g) => renderExternal(g));
        return listOf(
          ctx,
          'compute#externalVpnGatewayList',
          items,
          `${COMPUTE_BASE}/projects/${project}/global/externalVpnGateways`,
        );
      },
    },
    {
      method: 'GET',
      path: `${G}/externalVpnGateways/{gateway}`,
      operation: 'compute.externalVpnGateways.get',
      handler: (ctx) => {
        const { project, gateway } = ctx.params as { project: string; gateway: string };
        const g = net(ctx).externalVpnGateways.get(`${project}/${gateway}`);
        if (!g)
          throw notFound(
            `The resource 'projects/${project}/global/externalVpnGateways/${gateway}' was not found`,
          );
        return renderExternal(g);
      },
    },
    {
      method: 'DELETE',
      path: `${G}/externalVpnGateways/{gateway}`,
      operation: 'compute.externalVpnGateways.delete',
      handler: (ctx) => {
        const { project, gateway } = ctx.params as { project: string; gateway: string };
        const w = net(ctx);
        const g = w.externalVpnGateways.get(`${project}/${gateway}`);
        const what = `projects/${project}/global/externalVpnGateways/${gateway}`;
        attempt(what, () => w.deleteExternalVpnGateway(project, gateway));
        return operation(ctx, 'delete', `${COMPUTE_BASE}/${what}`, undefined, g?.id);
      },
    },
    {
      method: 'GET',
      path: `${R}/routers`,
      operation: 'compute.routers.list',
      handler: (ctx) => {
        const { project, region } = ctx.params as { project: string; region: string };
        const w = net(ctx);
        const items = [...w.routers.values()]
          .filter((r) => r.project === project && r.region === region)
          .map((r) => renderRouter(w, project, region, r.name));
        return listOf(ctx, 'compute#routerList', items, `${regionLink(project, region)}/routers`);
      },
    },
    {
      method: 'GET',
      path: '/compute/v1/projects/{project}/aggregated/routers',
      operation: 'compute.routers.aggregatedList',
      handler: (ctx) => {
        const project = ctx.params.project as string;
        const w = net(ctx);
        const items: Record<string, { routers: unknown[] }> = {};
        for (const r of w.routers.values()) {
          if (r.project !== project) continue;
          const bucket = items[`regions/${r.region}`] ?? { routers: [] };
          bucket.routers.push(renderRouter(w, project, r.region, r.name));
          items[`regions/${r.region}`] = bucket;
        }
        return { kind: 'compute#routerAggregatedList', id: `projects/${project}/aggregated/routers`, items };
      },
    },
    {
      method: 'GET',
      path: `${R}/routers/{router}`,
      operation: 'compute.routers.get',
      handler: (ctx) => {
        const { project, region, router } = ctx.params as { project: string; region: string; router: string };
        const w = net(ctx);
        return attempt(`projects/${project}/regions/${region}/routers/${router}`, () =>
          renderRouter(w, project, region, router),
        );
      },
    },
    {
      method: 'PATCH',
      path: `${R}/routers/{router}`,
      operation: 'compute.routers.patch',
      handler: (ctx) => {
        const { project, region, router } = ctx.params as { project: string; region: string; router: string };
        const w = net(ctx);
        const what = `projects/${project}/regions/${region}/routers/${router}`;
        const current = attempt(what, () => renderRouter(w, project, region, router));
        const body = ctx.body as Record<string, unknown>;
        if (typeof body.fingerprint === 'string' && body.fingerprint !== current.fingerprint)
          throw new GcpError(
            'FAILED_PRECONDITION',
            `Supplied fingerprint does not match current resource fingerprint.`,
            {
              httpStatus: 412,
              details: [errorInfo('conditionNotMet', 'compute.googleapis.com')],
            },
          );
        const patch: Parameters<NetworkWorld['patchRouter']>[3] = {};
        if (body.interfaces !== undefined) patch.interfaces = parseInterfaces(body.interfaces);
        if (body.bgpPeers !== undefined) patch.bgpPeers = parsePeers(body.bgpPeers);
        if (body.bgp !== undefined) patch.bgp = body.bgp as Record<string, never>;
        const r = attempt(what, () => w.patchRouter(project, region, router, patch));
        return operation(ctx, 'patch', `${regionLink(project, region)}/routers/${router}`, region, r.id);
      },
    },
    {
      method: 'GET',
      path: `${R}/routers/{router}/getRouterStatus`,
      operation: 'compute.routers.getRouterStatus',
      handler: (ctx) => {
        const { project, region, router } = ctx.params as { project: string; region: string; router: string };
        const w = net(ctx);
        // A router the project made wins over a transport's of the same name.
        const own = [...w.routers.values()].some(
          (r) => r.project === project && r.region === region && r.name === router,
        );
        const transport = own ? undefined : transportRouterStatus(ctx, project, region, router);
        if (transport) return transport;
        const s = attempt(`projects/${project}/regions/${region}/routers/${router}`, () =>
          w.routerStatus(project, region, router),
        );
        const network = s.network;
        return {
          kind: 'compute#routerStatusResponse',
          result: {
            network: networkLink(project, network),
            bestRoutes: s.bestRoutes.map((r) => renderRoute(r, project)),
            bestRoutesForRouter: s.bestRoutesForRouter.map((r) => renderRoute(r, project)),
            bgpPeerStatus: s.bgpPeerStatus.map((p) => renderPeerStatus(p, project, region, ctx.clock.now())),
          },
        };
      },
    },
    {
      method: 'GET',
      path: `${G}/routes`,
      operation: 'compute.routes.list',
      handler: (ctx) => {
        const project = ctx.params.project as string;
        const w = net(ctx);
        const items: Record<string, unknown>[] = [];
        for (const n of w.gcpNetworks.values()) {
          if (n.project !== project) continue;
          for (const r of w.gcpNetworkRoutes(project, n.name)) {
            // routes.list shows subnet and static routes; dynamic and peering routes are not resources.
            if (r.routeType !== 'SUBNET' && r.routeType !== 'STATIC') continue;
            items.push({
              ...renderRoute(r, project),
              name:
                r.name ??
                `default-route-${fingerprint(r.destRange)
                  .replace(/[^a-z0-9]/gi, '')
                  .toLowerCase()}`,
            });
          }
        }
        return listOf(ctx, 'compute#routeList', items, `${COMPUTE_BASE}/projects/${project}/global/routes`);
      },
    },
    {
      // Not a compute v1 method: the console's "Effective routes" view of a network, served here so
      // the planner can read what the VPC uses. routeType PEERING marks routes from a link.
      method: 'GET',
      path: `${G}/networks/{network}/getEffectiveRoutes`,
      operation: 'compute.networks.getEffectiveRoutes',
      handler: (ctx) => {
        const { project, network } = ctx.params as { project: string; network: string };
        const w = net(ctx);
        const all = ctx.query.get('view') === 'ALL';
        const routes = attempt(`projects/${project}/global/networks/${network}`, () =>
          w.gcpNetworkRoutes(project, network),
        );
        return {
          kind: 'compute#networkEffectiveRoutes',
          network: networkLink(project, network),
          routes: routes.filter((r) => all || r.best).map((r) => renderRoute(r, project)),
        };
      },
    },
    {
      method: 'GET',
      path: `${R}/operations/{operation}`,
      operation: 'compute.regionOperations.get',
      handler: getOperation,
    },
    {
      method: 'POST',
      path: `${R}/operations/{operation}/wait`,
      operation: 'compute.regionOperations.wait',
      handler: getOperation,
    },
    {
      method: 'GET',
      path: `${G}/operations/{operation}`,
      operation: 'compute.globalOperations.get',
      handler: getOperation,
    },
    {
      method: 'POST',
      path: `${G}/operations/{operation}/wait`,
      operation: 'compute.globalOperations.wait',
      handler: getOperation,
    },
  ],
});

function renderExternal(g: {
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
