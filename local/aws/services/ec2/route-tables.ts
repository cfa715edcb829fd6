/**
 * Local EC2's VPC routing operations: describe route tables (routes with origin and state,
 * propagating VGWs, pagination), enable / disable VGW route propagation (acting on the whole
 * gateway, as AWS does), and describe virtual private gateways.
 */

import { AwsError } from '../../errors.ts';
import type { Handler, World } from '../../service.ts';
import {
  applyFilters,
  type Filter,
  here,
  InvalidParameterCombination,
  ids,
  maxResults,
  net,
  notFound,
  paginate,
  required,
  routeTable,
  sideTags,
  tagSet,
  vpnGateway,
} from './common.ts';
import { routeTableView } from './views.ts';

export const routeTableOperations: Record<string, Handler<{ world: World }>> = {
  DescribeRouteTables(
    input: { RouteTableId?: string[]; Filter?: Filter[]; MaxResults?: string; NextToken?: string },
    ctx,
  ) {
    const wanted = ids(input.RouteTableId);
    const max = maxResults(input.MaxResults, 5, 100);
    if (wanted && max !== undefined) {
      throw InvalidParameterCombination(
        'The parameter routeTableIds cannot be used with the parameter maxResults',
      );
    }
    let tables = [...net(ctx).routeTables.values()]
      .filter((r) => here(ctx, r))
      .map((r) => routeTableView(ctx, r.routeTableId));
    if (wanted) {
      for (const id of wanted)
        if (!tables.some((t) => t.routeTableId === id))
          throw notFound('InvalidRouteTableID', 'routeTable', id);
      tables = tables.filter((t) => wanted.includes(t.routeTableId));
    }
    tables = applyFilters(
      tables,
      input.Filter,
      {
        'route-table-id': (t) => t.routeTableId,
        'vpc-id': (t) => t.vpcId,
        'owner-id': (t) => t.ownerId,
        'association.main': (t) => String(t.associationSet.some((a) => a.main)),
        'association.route-table-association-id': (t) =>
          t.associationSet.map((a) => a.routeTableAssociationId),
        'route.destination-cidr-block': (t) => t.routeSet.map((r) => r.destinationCidrBlock),
        'route.gateway-id': (t) => t.routeSet.map((r) => r.gatewayId),
        'route.transit-gateway-id': (t) => t.routeSet.map((r) => r.transitGatewayId),
        'route.origin': (t) => t.routeSet.map((r) => r.origin),
        'route.state': (t) => t.routeSet.map((r) => r.state),
        'propagating-vgw-id': (t) => t.propagatingVgwSet.map((p) => p.gatewayId),
      },
      (t) => sideTags(ctx, t.routeTableId),
    );
    tables.sort((a, b) => (a.routeTableId < b.routeTableId ? -1 : 1));
    const page = paginate(tables, max, input.NextToken, [
      'DescribeRouteTables',
      ctx.accountId,
      ctx.region,
      input.Filter,
    ]);
    return { routeTableSet: page.items, nextToken: page.nextToken };
  },

  EnableVgwRoutePropagation(input: { RouteTableId?: string; GatewayId?: string }, ctx) {
    const rtb = routeTable(ctx, required(input.RouteTableId, 'RouteTableId'));
    const vgw = vpnGateway(ctx, required(input.GatewayId, 'GatewayId'));
    if (!vgw.vpcAttachments.some((a) => a.vpcId === rtb.vpcId && a.state === 'attached')) {
      throw new AwsError(
        'Gateway.NotAttached',
        `resource ${vgw.vpnGatewayId} is not attached to network ${rtb.vpcId}`,
        { status: 400 },
      );
    }
    net(ctx).enableVgwRoutePropagation(rtb.routeTableId, vgw.vpnGatewayId);
    return { return: true };
  },

  DisableVgwRoutePropagation(input: { RouteTableId?: string; GatewayId?: string }, ctx) {
    const rtb = routeTable(ctx, required(input.RouteTableId, 'RouteTableId'));
    const vgw = vpnGateway(ctx, required(input.GatewayId, 'GatewayId'));
    // The whole gateway: its VPNs' routes and any link's through an associated Direct Connect gateway.
    net(ctx).disableVgwRoutePropagation(rtb.routeTableId, vgw.vpnGatewayId);
    return { return: true };
  },

  DescribeVpnGateways(input: { VpnGatewayId?: string[]; Filter?: Filter[] }, ctx) {
    const wanted = ids(input.VpnGatewayId);
    let vgws = [...net(ctx).vpnGateways.values()].filter((g) => here(ctx, g) && g.state !== 'deleted');
    if (wanted) {
      for (const id of wanted)
        if (!vgws.some((g) => g.vpnGatewayId === id)) throw notFound('InvalidVpnGatewayID', 'vpnGateway', id);
      vgws = vgws.filter((g) => wanted.includes(g.vpnGatewayId));
    }
    vgws = applyFilters(
      vgws,
      input.Filter,
      {
        'vpn-gateway-id': (g) => g.vpnGatewayId,
        state: (g) => g.state,
        'amazon-side-asn': (g) => g.amazonSideAsn,
        'attachment.vpc-id': (g) => g.vpcAttachments.map((a) => a.vpcId),
        'attachment.state': (g) => g.vpcAttachments.map((a) => a.state),
        type: () => 'ipsec.1',
      },
      (g) => g.tags,
    );
    return {
      vpnGatewaySet: vgws.map((g) => ({
        vpnGatewayId: g.vpnGatewayId,
        state: g.state,
        type: 'ipsec.1',
        amazonSideAsn: g.amazonSideAsn,
        attachments: g.vpcAttachments.map((a) => ({ vpcId: a.vpcId, state: a.state })),
        tagSet: tagSet(g.tags),
      })),
    };
  },
};
