/**
 * Local EC2's Site-to-Site VPN operations: describe and delete VPN connections and customer
 * gateways (deleted ones stay listed as `deleted` for the retention), and static VPN routes
 * (refused on BGP VPNs).
 */

import { AwsError } from '../../errors.ts';
import type { Handler, World } from '../../service.ts';
import {
  applyFilters,
  cidr,
  customerGateway,
  type Filter,
  here,
  IncorrectState,
  ids,
  mapNetworkError,
  net,
  notFound,
  required,
  side,
  tagSet,
  visible,
  vpnConnection,
} from './common.ts';
import { vpnView } from './views.ts';

export const vpnConnectionOperations: Record<string, Handler<{ world: World }>> = {
  DescribeVpnConnections(input: { VpnConnectionId?: string[]; Filter?: Filter[] }, ctx) {
    const wanted = ids(input.VpnConnectionId);
    let vpns = [...net(ctx).vpnConnections.values()].filter(
      (v) => here(ctx, v) && visible(ctx, v.vpnConnectionId, v.state),
    );
    if (wanted) {
      for (const id of wanted)
        if (!vpns.some((v) => v.vpnConnectionId === id))
          throw notFound('InvalidVpnConnectionID', 'vpnConnection', id);
      vpns = vpns.filter((v) => wanted.includes(v.vpnConnectionId));
    }
    const n = net(ctx);
    vpns = applyFilters(
      vpns,
      input.Filter,
      {
        'vpn-connection-id': (v) => v.vpnConnectionId,
        state: (v) => v.state,
        type: (v) => v.type,
        'customer-gateway-id': (v) => v.customerGatewayId,
        'vpn-gateway-id': (v) => v.vpnGatewayId,
        'transit-gateway-id': (v) => v.transitGatewayId,
        'option.static-routes-only': (v) => String(v.staticRoutesOnly),
        'route.destination-cidr-block': (v) =>
          v.routes.filter((r) => r.state === 'available').map((r) => r.destinationCidrBlock),
        'bgp-asn': (v) => n.customerGateways.get(v.customerGatewayId)?.bgpAsn,
        'customer-gateway-configuration': () => [],
      },
      (v) => v.tags,
    );
    return { vpnConnectionSet: vpns.map((v) => vpnView(ctx, v)) };
  },

  DeleteVpnConnection(input: { VpnConnectionId?: string }, ctx) {
    const id = required(input.VpnConnectionId, 'VpnConnectionId');
    vpnConnection(ctx, id);
    try {
      net(ctx).deleteVpnConnection(id);
    } catch (err) {
      mapNetworkError(err, () => notFound('InvalidVpnConnectionID', 'vpnConnection', id));
    }
    side(ctx.world).deletedAt.set(id, ctx.clock.now());
    return { return: true };
  },

  DescribeCustomerGateways(input: { CustomerGatewayId?: string[]; Filter?: Filter[] }, ctx) {
    const wanted = ids(input.CustomerGatewayId);
    let cgws = [...net(ctx).customerGateways.values()].filter(
      (c) => here(ctx, c) && visible(ctx, c.customerGatewayId, c.state),
    );
    if (wanted) {
      for (const id of wanted)
        if (!cgws.some((c) => c.customerGatewayId === id))
          throw notFound('InvalidCustomerGatewayID', 'customerGateway', id);
      cgws = cgws.filter((c) => wanted.includes(c.customerGatewayId));
    }
    cgws = applyFilters(
      cgws,
      input.Filter,
      {
        'customer-gateway-id': (c) => c.customerGatewayId,
        'bgp-asn': (c) => c.bgpAsn,
        'ip-address': (c) => c.ipAddress,
        state: (c) => c.state,
        type: (c) => c.type,
      },
      (c) => c.tags,
    );
    return {
      customerGatewaySet: cgws.map((c) => ({
        customerGatewayId: c.customerGatewayId,
        state: c.state,
        type: c.type,
        ipAddress: c.ipAddress,
        bgpAsn: String(c.bgpAsn),
        bgpAsnExtended: String(c.bgpAsn),
        tagSet: tagSet(c.tags),
      })),
    };
  },

  DeleteCustomerGateway(input: { CustomerGatewayId?: string }, ctx) {
    const id = required(input.CustomerGatewayId, 'CustomerGatewayId');
    customerGateway(ctx, id);
    try {
      net(ctx).deleteCustomerGateway(id);
    } catch (err) {
      mapNetworkError(err, () => notFound('InvalidCustomerGatewayID', 'customerGateway', id));
    }
    side(ctx.world).deletedAt.set(id, ctx.clock.now());
    return { return: true };
  },

  CreateVpnConnectionRoute(input: { VpnConnectionId?: string; DestinationCidrBlock?: string }, ctx) {
    const id = required(input.VpnConnectionId, 'VpnConnectionId');
    const dest = cidr(input.DestinationCidrBlock, 'DestinationCidrBlock');
    const vpn = vpnConnection(ctx, id);
    if (!vpn.staticRoutesOnly) {
      throw IncorrectState(
        `The VPN connection ${id} uses dynamic (BGP) routing; static routes can only be added to a VPN connection with static routing.`,
      );
    }
    try {
      net(ctx).createVpnConnectionRoute(id, dest.text);
    } catch (err) {
      mapNetworkError(err, () => notFound('InvalidVpnConnectionID', 'vpnConnection', id));
    }
    return { return: true };
  },

  DeleteVpnConnectionRoute(input: { VpnConnectionId?: string; DestinationCidrBlock?: string }, ctx) {
    const id = required(input.VpnConnectionId, 'VpnConnectionId');
    const dest = cidr(input.DestinationCidrBlock, 'DestinationCidrBlock');
    const vpn = vpnConnection(ctx, id);
    if (!vpn.staticRoutesOnly) {
      throw IncorrectState(`The VPN connection ${id} uses dynamic (BGP) routing; it has no static routes.`);
    }
    try {
      net(ctx).deleteVpnConnectionRoute(id, dest.text);
    } catch (err) {
      mapNetworkError(
        err,
        () =>
          new AwsError(
            'InvalidRoute.NotFound',
            `no route with destination-cidr-block ${dest.text} in VPN connection ${id}`,
            { status: 400 },
          ),
      );
    }
    return { return: true };
  },
};
