/**
 * Compute Engine v1, the VPN and routing subset crosslink reads and changes: HA VPN tunnels,
 * (HA / Classic) VPN gateways, external VPN gateways, Cloud Routers (get, list, patch of BGP peers
 * and interfaces, getRouterStatus), routes, and the network's effective routes. Everything is a view
 * of the shared network world (local/world/network.ts), so what the AWS edge changes shows here
 * and the other way round. Mutations answer with a `compute#operation` that is already DONE (the
 * model applies them at once); `operations.get` / `wait` serve it back.
 */
import type { NetworkWorld } from '#local/world/network.ts';
import { networkAdmin } from '#local/world/network-admin.ts';
import { errorInfo, GcpError, notFound } from '../errors.ts';
import { defineGcpService } from '../service.ts';
import {
  attempt,
  COMPUTE_BASE,
  type ComputeState,
  fingerprint,
  getOperation,
  iso,
  net,
  networkLink,
  operation,
  regionLink,
  tunnelLink,
} from './compute/model.ts';
import {
  listOf,
  matches,
  renderExternal,
  renderPeerStatus,
  renderRoute,
  renderRouter,
  renderTunnel,
  transportRouterStatus,
} from './compute/render.ts';
import { parseInterfaces, parsePeers } from './compute/validation.ts';

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
