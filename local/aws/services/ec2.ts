/**
 * EC2 (ec2Query, XML, API 2016-11-15): the VPN and routing operations crosslink's VPN
 * decommission needs, reading and changing the shared network model (local/world/network.ts), so
 * that what Google's side sees and what CloudWatch counts follow every change made here.
 *
 * - VPN connections and customer gateways: describe (ids, filters, tags) and delete (deleted ones
 *   stay listed as `deleted` for `ec2.deletedRetention`, default 1h, inferred).
 * - Static VPN routes: create / delete, refused on BGP VPNs (`IncorrectState`, inferred code).
 * - VPC route tables: describe (routes with origin and state, propagating VGWs; pagination),
 *   enable / disable VGW route propagation. Disabling acts on the whole gateway: every route the
 *   VGW holds leaves the table, the VPN's and a link's (a Direct Connect gateway associated with the
 *   VGW), as in AWS (docs/reference/platform-semantics.md, section 4).
 * - Transit Gateways: SearchTransitGatewayRoutes (filters, MaxResults), enable / disable route
 *   table propagation of an attachment (the per-VPN drain), describe attachments and VPN gateways.
 * - Tags on every resource (CreateTags, DeleteTags, DescribeTags with pagination).
 *
 * Admin actions seed the network: VPCs, VGWs, TGWs, Google networks, VPNs built from both halves
 * (local/world/vpn-builder.ts), flows of traffic.
 *
 * This file assembles the module; the operations live beside it in ec2/, one file per resource
 * family, over ec2/common.ts (inputs, filters, pages, lookups) and ec2/views.ts (response shapes).
 */

import { networkOf } from '../common/network.ts';
import { defineService, type World } from '../service.ts';
import { ec2Admin } from './ec2/admin.ts';
import { routeTableOperations } from './ec2/route-tables.ts';
import { tagOperations } from './ec2/tags.ts';
import { transitGatewayOperations } from './ec2/transit-gateways.ts';
import { vpnConnectionOperations } from './ec2/vpn-connections.ts';

export default defineService<{ world: World }>({
  name: 'ec2',
  signingName: 'ec2',
  protocol: 'ec2-query',
  xmlNamespace: 'http://ec2.amazonaws.com/doc/2016-11-15/',
  operations: {
    ...vpnConnectionOperations,
    ...routeTableOperations,
    ...transitGatewayOperations,
    ...tagOperations,
  },
  createState: (_scope, world) => ({ world }),
  status: (state: { world: World }, scope) => {
    const n = networkOf(state.world);
    const mine = <T extends { accountId: string; region: string }>(m: Map<string, T>) =>
      [...m.values()].filter((x) => x.accountId === scope.accountId && x.region === scope.region);
    const vpns = mine(n.vpnConnections).filter((v) => v.state !== 'deleted');
    if (vpns.length === 0 && mine(n.vpcs).length === 0) return undefined;
    return {
      vpcs: mine(n.vpcs).map((v) => v.vpcId),
      vpnConnections: vpns.map((v) => ({
        id: v.vpnConnectionId,
        routing: v.staticRoutesOnly ? 'static' : 'bgp',
        on: v.vpnGatewayId ?? v.transitGatewayId,
        tunnelsUp: n.vgwTelemetry(v.vpnConnectionId).filter((t) => t.status === 'UP').length,
      })),
    };
  },
  admin: ec2Admin,
});
