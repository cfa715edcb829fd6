/**
 * The response shapes of local EC2 (VPN connection with its customer gateway configuration, route
 * table, transit gateway attachment and propagation): how the network model's records read on the
 * wire, shared by the describe operations of several resource families.
 */

import type { AwsGatewayRoute, CustomerGateway, TgwAttachment, VpnConnection } from '#local/world/network.ts';
import { type Ctx, net, routeTable, sideTags, tagSet } from './common.ts';

function customerGatewayConfiguration(
  vpn: VpnConnection,
  cgw: CustomerGateway | undefined,
  amazonAsn: number,
): string {
  const tunnels = vpn.tunnels
    .map(
      (t) =>
        `<ipsec_tunnel><customer_gateway><tunnel_outside_address><ip_address>${cgw?.ipAddress ?? ''}</ip_address></tunnel_outside_address>` +
        `<tunnel_inside_address><ip_address>${t.customerInsideIpAddress}</ip_address><network_mask>255.255.255.252</network_mask><network_cidr>30</network_cidr></tunnel_inside_address>` +
        (vpn.staticRoutesOnly ? '' : `<bgp><asn>${cgw?.bgpAsn ?? ''}</asn><hold_time>30</hold_time></bgp>`) +
        `</customer_gateway><vpn_gateway><tunnel_outside_address><ip_address>${t.outsideIpAddress}</ip_address></tunnel_outside_address>` +
        `<tunnel_inside_address><ip_address>${t.awsInsideIpAddress}</ip_address><network_mask>255.255.255.252</network_mask><network_cidr>30</network_cidr></tunnel_inside_address>` +
        (vpn.staticRoutesOnly ? '' : `<bgp><asn>${amazonAsn}</asn><hold_time>30</hold_time></bgp>`) +
        `</vpn_gateway><ike><pre_shared_key>${t.preSharedKey}</pre_shared_key></ike></ipsec_tunnel>`,
    )
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<vpn_connection id="${vpn.vpnConnectionId}"><customer_gateway_id>${vpn.customerGatewayId}</customer_gateway_id><vpn_gateway_id>${vpn.vpnGatewayId ?? vpn.transitGatewayId ?? ''}</vpn_gateway_id><vpn_connection_type>ipsec.1</vpn_connection_type>${tunnels}</vpn_connection>`;
}

export function vpnView(ctx: Ctx, vpn: VpnConnection) {
  const n = net(ctx);
  const deleted = vpn.state === 'deleted';
  const cgw = n.customerGateways.get(vpn.customerGatewayId);
  const asn = vpn.vpnGatewayId
    ? (n.vpnGateways.get(vpn.vpnGatewayId)?.amazonSideAsn ?? 64512)
    : (n.transitGateways.get(vpn.transitGatewayId ?? '')?.amazonSideAsn ?? 64512);
  return {
    customerGatewayConfiguration: deleted ? undefined : customerGatewayConfiguration(vpn, cgw, asn),
    customerGatewayId: vpn.customerGatewayId,
    category: vpn.category,
    state: vpn.state,
    type: vpn.type,
    vpnConnectionId: vpn.vpnConnectionId,
    vpnGatewayId: vpn.vpnGatewayId,
    transitGatewayId: vpn.transitGatewayId,
    options: {
      enableAcceleration: false,
      staticRoutesOnly: vpn.staticRoutesOnly,
      localIpv4NetworkCidr: '0.0.0.0/0',
      remoteIpv4NetworkCidr: '0.0.0.0/0',
      outsideIpAddressType: 'PublicIpv4',
      tunnelInsideIpVersion: 'ipv4',
      tunnelOptionSet: vpn.tunnels.map((t) => ({
        outsideIpAddress: t.outsideIpAddress,
        tunnelInsideCidr: t.tunnelInsideCidr,
        preSharedKey: t.preSharedKey,
      })),
    },
    routes: vpn.routes.map((r) => ({
      destinationCidrBlock: r.destinationCidrBlock,
      source: r.source,
      state: r.state,
    })),
    tagSet: tagSet(vpn.tags),
    vgwTelemetry: n.vgwTelemetry(vpn.vpnConnectionId).map((t) => ({
      outsideIpAddress: t.outsideIpAddress,
      status: deleted ? 'DOWN' : t.status,
      lastStatusChange: new Date(t.lastStatusChange),
      statusMessage: t.statusMessage,
      acceptedRouteCount: t.acceptedRouteCount,
    })),
  };
}

export function routeTableView(ctx: Ctx, rtbId: string) {
  const n = net(ctx);
  const rtb = routeTable(ctx, rtbId);
  return {
    routeTableId: rtb.routeTableId,
    vpcId: rtb.vpcId,
    ownerId: rtb.accountId,
    associationSet: rtb.main
      ? [
          {
            main: true,
            routeTableAssociationId: `rtbassoc-${rtb.routeTableId.slice(4)}`,
            routeTableId: rtb.routeTableId,
            associationState: { state: 'associated' },
          },
        ]
      : [],
    propagatingVgwSet: rtb.propagatingVgws.map((gatewayId) => ({ gatewayId })),
    routeSet: n.vpcRoutes(rtb.routeTableId).map((r) => ({
      destinationCidrBlock: r.destinationCidrBlock,
      gatewayId: r.gatewayId,
      transitGatewayId: r.transitGatewayId,
      origin: r.origin,
      state: r.state,
    })),
    tagSet: tagSet(sideTags(ctx, rtb.routeTableId)),
  };
}

export function attachmentsOf(ctx: Ctx, route: AwsGatewayRoute) {
  const n = net(ctx);
  if (!route.transitGatewayAttachmentId) return [];
  const a = n.tgwAttachments.get(route.transitGatewayAttachmentId);
  return [
    {
      resourceId: a?.resourceId,
      transitGatewayAttachmentId: route.transitGatewayAttachmentId,
      resourceType: a?.resourceType,
    },
  ];
}

export function propagationView(rtbId: string, att: TgwAttachment, enabled: boolean) {
  return {
    propagation: {
      transitGatewayAttachmentId: att.transitGatewayAttachmentId,
      resourceId: att.resourceId,
      resourceType: att.resourceType,
      transitGatewayRouteTableId: rtbId,
      state: enabled ? 'enabled' : 'disabled',
    },
  };
}
