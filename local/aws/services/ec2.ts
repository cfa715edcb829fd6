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
 */

import { parseDuration } from '#core/clock.ts';
import { type Cidr, contains, parseCidr } from '#core/net/cidr.ts';
import {
  type AwsGatewayRoute,
  type CustomerGateway,
  gcpNetworkId,
  NetworkError,
  type NetworkWorld,
  type TgwAttachment,
  type VpnConnection,
} from '#local/world/network.ts';
import { buildVpn, type VpnBuildOptions } from '#local/world/vpn-builder.ts';
import { adminError } from '../common/admin-error.ts';
import { networkOf } from '../common/network.ts';
import { AwsError, errorClass } from '../errors.ts';
import { defineService, type RequestContext, type World } from '../service.ts';

const InvalidParameterValue = errorClass('InvalidParameterValue', 400);
const InvalidParameterCombination = errorClass('InvalidParameterCombination', 400);
const MissingParameter = errorClass('MissingParameter', 400);
const IncorrectState = errorClass('IncorrectState', 400);
const InvalidNextToken = errorClass('InvalidNextToken', 400);

const notFound = (code: string, kind: string, id: string) =>
  new AwsError(`${code}.NotFound`, `The ${kind} ID '${id}' does not exist`, { status: 400 });

type Ctx = RequestContext<unknown>;
type Tags = Record<string, string>;
interface Filter {
  Name?: string;
  Value?: string[];
}

// ---------- per-world side state: tags of resources the model has none for, deletion times ----------

interface Ec2Side {
  tags: Map<string, Tags>;
  deletedAt: Map<string, number>;
}
const sides = new WeakMap<World, Ec2Side>();
function side(world: World): Ec2Side {
  let s = sides.get(world);
  if (!s) {
    s = { tags: new Map(), deletedAt: new Map() };
    sides.set(world, s);
  }
  return s;
}

function retentionMs(world: World): number {
  return parseDuration(world.settings<{ deletedRetention: string }>('ec2').deletedRetention ?? '1h');
}

/** Deleted resources stay visible for a while, then vanish (inferred retention). */
function visible(ctx: Ctx, id: string, state: string): boolean {
  if (state !== 'deleted') return true;
  const at = side(ctx.world).deletedAt.get(id);
  return at === undefined || ctx.clock.now() - at < retentionMs(ctx.world);
}

const net = (ctx: Ctx): NetworkWorld => networkOf(ctx.world);
const here = (ctx: Ctx, r: { accountId: string; region: string }) =>
  r.accountId === ctx.accountId && r.region === ctx.region;

// ---------- inputs ----------

function ids(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v : [v]).map(String);
}

function required(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0) {
    throw MissingParameter(`The request must contain the parameter ${name}`);
  }
  return v;
}

function maxResults(v: unknown, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw InvalidParameterValue(
      `Value ( ${String(v)} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`,
    );
  }
  return n;
}

function cidr(v: unknown, name: string): Cidr {
  const text = required(v, name);
  try {
    return parseCidr(text);
  } catch {
    throw InvalidParameterValue(
      `Value (${text}) for parameter ${name} is invalid. This is not a valid CIDR block.`,
    );
  }
}

/** EC2 filter values may use `*` and `?`. */
function glob(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
}

/**
 * Keeps the items every filter matches (values OR-ed, filters AND-ed). `fields` maps a filter name
 * to the item's values; `tag:<key>` and `tag-key` / `tag-value` work on every resource.
 */
function applyFilters<T>(
  items: T[],
  filters: Filter[] | undefined,
  fields: Record<string, (item: T) => unknown>,
  tagsOf: (item: T) => Tags,
): T[] {
  if (!filters) return items;
  return items.filter((item) =>
    filters.every((f) => {
      const name = required(f.Name, 'Filter.Name');
      const wanted = (f.Value ?? []).map(glob);
      let values: unknown;
      if (name.startsWith('tag:')) {
        const v = tagsOf(item)[name.slice(4)];
        values = v === undefined ? [] : [v];
      } else if (name === 'tag-key') values = Object.keys(tagsOf(item));
      else if (name === 'tag-value') values = Object.values(tagsOf(item));
      else {
        const field = fields[name];
        if (!field) throw InvalidParameterValue(`The filter '${name}' is invalid`);
        values = field(item);
      }
      const list = (Array.isArray(values) ? values : [values]).filter((x) => x !== undefined).map(String);
      return wanted.some((re) => list.some((x) => re.test(x)));
    }),
  );
}

const tagSet = (tags: Tags) => Object.entries(tags).map(([key, value]) => ({ key, value }));

/** Opaque page tokens, bound to the call's filters so a token cannot be replayed elsewhere. */
function paginate<T>(items: T[], max: number | undefined, token: unknown, bound: unknown) {
  let start = 0;
  const key = JSON.stringify(bound);
  if (token !== undefined) {
    try {
      const t = JSON.parse(Buffer.from(String(token), 'base64url').toString()) as { i: number; k: string };
      if (t.k !== key || !Number.isInteger(t.i)) throw new Error('other call');
      start = t.i;
    } catch {
      throw InvalidNextToken('The token provided is invalid or has expired.');
    }
  }
  if (max === undefined) return { items: items.slice(start), nextToken: undefined };
  const end = start + max;
  return {
    items: items.slice(start, end),
    nextToken:
      end < items.length ? Buffer.from(JSON.stringify({ i: end, k: key })).toString('base64url') : undefined,
  };
}

// ---------- model errors in EC2's words ----------

function mapNetworkError(err: unknown, notFoundAs?: () => AwsError): never {
  if (err instanceof NetworkError) {
    if (err.code === 'NotFound' && notFoundAs) throw notFoundAs();
    if (err.code === 'Invalid') throw InvalidParameterValue(err.message);
    if (err.code === 'AlreadyExists') throw new AwsError('RouteAlreadyExists', err.message, { status: 400 });
    if (err.code === 'IncorrectState' || err.code === 'InUse') throw IncorrectState(err.message);
    throw InvalidParameterValue(err.message);
  }
  throw err;
}

// ---------- lookups scoped to the caller's account and region ----------

function vpnConnection(ctx: Ctx, id: string, live = true): VpnConnection {
  const v = net(ctx).vpnConnections.get(id);
  if (!v || !here(ctx, v) || (live && v.state === 'deleted') || !visible(ctx, id, v.state)) {
    throw notFound('InvalidVpnConnectionID', 'vpnConnection', id);
  }
  return v;
}

function customerGateway(ctx: Ctx, id: string): CustomerGateway {
  const c = net(ctx).customerGateways.get(id);
  if (!c || !here(ctx, c) || c.state === 'deleted')
    throw notFound('InvalidCustomerGatewayID', 'customerGateway', id);
  return c;
}

function routeTable(ctx: Ctx, id: string) {
  const r = net(ctx).routeTables.get(id);
  if (!r || !here(ctx, r)) throw notFound('InvalidRouteTableID', 'routeTable', id);
  return r;
}

function vpnGateway(ctx: Ctx, id: string) {
  const g = net(ctx).vpnGateways.get(id);
  if (!g || !here(ctx, g) || g.state === 'deleted') throw notFound('InvalidVpnGatewayID', 'vpnGateway', id);
  return g;
}

function tgwRouteTable(ctx: Ctx, id: string) {
  const n = net(ctx);
  const r = n.tgwRouteTables.get(id);
  const tgw = r ? n.transitGateways.get(r.transitGatewayId) : undefined;
  if (!r || !tgw || !here(ctx, tgw)) throw notFound('InvalidRouteTableID', 'transitGatewayRouteTable', id);
  return r;
}

function tgwAttachment(ctx: Ctx, id: string): TgwAttachment {
  const n = net(ctx);
  const a = n.tgwAttachments.get(id);
  const tgw = a ? n.transitGateways.get(a.transitGatewayId) : undefined;
  if (!a || !tgw || !here(ctx, tgw) || a.state === 'deleted') {
    throw notFound('InvalidTransitGatewayAttachmentID', 'transitGatewayAttachment', id);
  }
  return a;
}

/** The tags record of any resource id (the model's own where it has one); throws for an unknown id. */
function tagsFor(ctx: Ctx, id: string): Tags {
  const n = net(ctx);
  if (id.startsWith('vpn-')) return vpnConnection(ctx, id, false).tags;
  if (id.startsWith('cgw-')) return customerGateway(ctx, id).tags;
  if (id.startsWith('vgw-')) return vpnGateway(ctx, id).tags;
  if (id.startsWith('vpc-')) {
    const vpc = n.vpcs.get(id);
    if (!vpc || !here(ctx, vpc)) throw notFound('InvalidVpcID', 'vpc', id);
    return vpc.tags;
  }
  if (id.startsWith('tgw-rtb-')) tgwRouteTable(ctx, id);
  else if (id.startsWith('tgw-attach-')) tgwAttachment(ctx, id);
  else if (id.startsWith('rtb-')) routeTable(ctx, id);
  else if (id.startsWith('tgw-')) {
    const tgw = n.transitGateways.get(id);
    if (!tgw || !here(ctx, tgw) || tgw.state === 'deleted')
      throw notFound('InvalidTransitGatewayID', 'transitGateway', id);
    return tgw.tags;
  } else throw new AwsError('InvalidID', `The ID '${id}' is not valid`, { status: 400 });
  const s = side(ctx.world);
  let t = s.tags.get(id);
  if (!t) {
    t = {};
    s.tags.set(id, t);
  }
  return t;
}

function sideTags(ctx: Ctx, id: string): Tags {
  return side(ctx.world).tags.get(id) ?? {};
}

function resourceType(id: string): string {
  if (id.startsWith('vpn-')) return 'vpn-connection';
  if (id.startsWith('cgw-')) return 'customer-gateway';
  if (id.startsWith('vgw-')) return 'vpn-gateway';
  if (id.startsWith('vpc-')) return 'vpc';
  if (id.startsWith('rtb-')) return 'route-table';
  if (id.startsWith('tgw-rtb-')) return 'transit-gateway-route-table';
  if (id.startsWith('tgw-attach-')) return 'transit-gateway-attachment';
  return 'transit-gateway';
}

// ---------- views ----------

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

function vpnView(ctx: Ctx, vpn: VpnConnection) {
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

function routeTableView(ctx: Ctx, rtbId: string) {
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

function attachmentsOf(ctx: Ctx, route: AwsGatewayRoute) {
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

function propagationView(rtbId: string, att: TgwAttachment, enabled: boolean) {
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

// ---------- the module ----------

export default defineService<{ world: World }>({
  name: 'ec2',
  signingName: 'ec2',
  protocol: 'ec2-query',
  xmlNamespace: 'http://ec2.amazonaws.com/doc/2016-11-15/',
  operations: {
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
          if (!vgws.some((g) => g.vpnGatewayId === id))
            throw notFound('InvalidVpnGatewayID', 'vpnGateway', id);
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

    DescribeTransitGatewayAttachments(
      input: {
        TransitGatewayAttachmentIds?: string[];
        Filter?: Filter[];
        MaxResults?: string;
        NextToken?: string;
      },
      ctx,
    ) {
      const n = net(ctx);
      const wanted = ids(input.TransitGatewayAttachmentIds);
      let atts = [...n.tgwAttachments.values()].filter((a) => {
        const tgw = n.transitGateways.get(a.transitGatewayId);
        return tgw !== undefined && here(ctx, tgw) && a.state !== 'deleted';
      });
      if (wanted) {
        for (const id of wanted)
          if (!atts.some((a) => a.transitGatewayAttachmentId === id))
            throw notFound('InvalidTransitGatewayAttachmentID', 'transitGatewayAttachment', id);
        atts = atts.filter((a) => wanted.includes(a.transitGatewayAttachmentId));
      }
      atts = applyFilters(
        atts,
        input.Filter,
        {
          'transit-gateway-attachment-id': (a) => a.transitGatewayAttachmentId,
          'transit-gateway-id': (a) => a.transitGatewayId,
          'resource-id': (a) => a.resourceId,
          'resource-type': (a) => a.resourceType,
          state: (a) => a.state,
          'association.transit-gateway-route-table-id': (a) => a.associatedRouteTableId,
        },
        (a) => sideTags(ctx, a.transitGatewayAttachmentId),
      );
      const page = paginate(atts, maxResults(input.MaxResults, 5, 1000), input.NextToken, [
        'DescribeTransitGatewayAttachments',
        ctx.accountId,
        input.Filter,
      ]);
      return {
        transitGatewayAttachments: page.items.map((a) => ({
          transitGatewayAttachmentId: a.transitGatewayAttachmentId,
          transitGatewayId: a.transitGatewayId,
          transitGatewayOwnerId: ctx.accountId,
          resourceOwnerId: ctx.accountId,
          resourceType: a.resourceType,
          resourceId: a.resourceId,
          state: a.state,
          association: a.associatedRouteTableId
            ? { transitGatewayRouteTableId: a.associatedRouteTableId, state: 'associated' }
            : undefined,
          tagSet: tagSet(sideTags(ctx, a.transitGatewayAttachmentId)),
        })),
        nextToken: page.nextToken,
      };
    },

    SearchTransitGatewayRoutes(
      input: { TransitGatewayRouteTableId?: string; Filter?: Filter[]; MaxResults?: string },
      ctx,
    ) {
      const rtb = tgwRouteTable(
        ctx,
        required(input.TransitGatewayRouteTableId, 'TransitGatewayRouteTableId'),
      );
      if (!input.Filter || input.Filter.length === 0)
        throw MissingParameter('The request must contain the parameter Filters');
      const max = maxResults(input.MaxResults, 5, 1000) ?? 1000;
      const routes = net(ctx).tgwRoutes(rtb.transitGatewayRouteTableId);
      const matchers: Record<string, (given: Cidr, route: Cidr) => boolean> = {
        'route-search.exact-match': (g, r) => g.text === r.text,
        'route-search.subnet-of-match': (g, r) => contains(g, r),
        'route-search.supernet-of-match': (g, r) => contains(r, g),
      };
      let found = routes;
      const plain: Filter[] = [];
      for (const f of input.Filter) {
        const name = required(f.Name, 'Filter.Name');
        const matcher = matchers[name];
        if (matcher) {
          const givens = (f.Value ?? []).map((v) => cidr(v, name));
          found = found.filter((route) =>
            givens.some((g) => matcher(g, parseCidr(route.destinationCidrBlock))),
          );
        } else if (name === 'route-search.longest-prefix-match') {
          const givens = (f.Value ?? []).map((v) => cidr(v, name));
          found = found.filter((route) => {
            const rc = parseCidr(route.destinationCidrBlock);
            return givens.some((g) => {
              if (!contains(rc, g)) return false;
              const best = Math.max(
                ...routes
                  .map((x) => parseCidr(x.destinationCidrBlock))
                  .filter((x) => contains(x, g))
                  .map((x) => x.length),
              );
              return rc.length === best;
            });
          });
        } else plain.push(f);
      }
      found = applyFilters(
        found,
        plain,
        {
          type: (r) => r.type,
          state: (r) => r.state,
          'attachment.transit-gateway-attachment-id': (r) => r.transitGatewayAttachmentId,
          'attachment.resource-id': (r) => attachmentsOf(ctx, r).map((a) => a.resourceId),
          'attachment.resource-type': (r) => attachmentsOf(ctx, r).map((a) => a.resourceType),
          'prefix-list-id': () => [],
        },
        () => ({}),
      );
      found.sort((a, b) => (a.destinationCidrBlock < b.destinationCidrBlock ? -1 : 1));
      return {
        routeSet: found.slice(0, max).map((r) => ({
          destinationCidrBlock: r.destinationCidrBlock,
          transitGatewayAttachments: attachmentsOf(ctx, r),
          type: r.type,
          state: r.state,
        })),
        additionalRoutesAvailable: found.length > max,
      };
    },

    EnableTransitGatewayRouteTablePropagation(
      input: { TransitGatewayRouteTableId?: string; TransitGatewayAttachmentId?: string },
      ctx,
    ) {
      const rtb = tgwRouteTable(
        ctx,
        required(input.TransitGatewayRouteTableId, 'TransitGatewayRouteTableId'),
      );
      const att = tgwAttachment(
        ctx,
        required(input.TransitGatewayAttachmentId, 'TransitGatewayAttachmentId'),
      );
      if (att.transitGatewayId !== rtb.transitGatewayId) {
        throw InvalidParameterValue(
          `${att.transitGatewayAttachmentId} is not an attachment of ${rtb.transitGatewayId}`,
        );
      }
      net(ctx).enableTgwPropagation(rtb.transitGatewayRouteTableId, att.transitGatewayAttachmentId);
      return propagationView(rtb.transitGatewayRouteTableId, att, true);
    },

    DisableTransitGatewayRouteTablePropagation(
      input: { TransitGatewayRouteTableId?: string; TransitGatewayAttachmentId?: string },
      ctx,
    ) {
      const rtb = tgwRouteTable(
        ctx,
        required(input.TransitGatewayRouteTableId, 'TransitGatewayRouteTableId'),
      );
      const att = tgwAttachment(
        ctx,
        required(input.TransitGatewayAttachmentId, 'TransitGatewayAttachmentId'),
      );
      try {
        net(ctx).disableTgwPropagation(rtb.transitGatewayRouteTableId, att.transitGatewayAttachmentId);
      } catch (err) {
        mapNetworkError(err);
      }
      return propagationView(rtb.transitGatewayRouteTableId, att, false);
    },

    DescribeTransitGatewayRouteTables(
      input: {
        TransitGatewayRouteTableIds?: string[];
        Filter?: Filter[];
        MaxResults?: string;
        NextToken?: string;
      },
      ctx,
    ) {
      const n = net(ctx);
      const wanted = ids(input.TransitGatewayRouteTableIds);
      let tables = [...n.tgwRouteTables.values()].filter((r) => {
        const tgw = n.transitGateways.get(r.transitGatewayId);
        return tgw !== undefined && here(ctx, tgw) && tgw.state !== 'deleted';
      });
      if (wanted) {
        for (const id of wanted) {
          if (!tables.some((t) => t.transitGatewayRouteTableId === id)) {
            throw notFound('InvalidRouteTableID', 'transitGatewayRouteTable', id);
          }
        }
        tables = tables.filter((t) => wanted.includes(t.transitGatewayRouteTableId));
      }
      const isDefault = (
        id: string,
        tgwId: string,
        which: 'associationDefaultRouteTableId' | 'propagationDefaultRouteTableId',
      ) => n.transitGateways.get(tgwId)?.[which] === id;
      tables = applyFilters(
        tables,
        input.Filter,
        {
          'transit-gateway-route-table-id': (t) => t.transitGatewayRouteTableId,
          'transit-gateway-id': (t) => t.transitGatewayId,
          state: () => 'available',
          'default-association-route-table': (t) =>
            String(
              isDefault(t.transitGatewayRouteTableId, t.transitGatewayId, 'associationDefaultRouteTableId'),
            ),
          'default-propagation-route-table': (t) =>
            String(
              isDefault(t.transitGatewayRouteTableId, t.transitGatewayId, 'propagationDefaultRouteTableId'),
            ),
        },
        (t) => sideTags(ctx, t.transitGatewayRouteTableId),
      );
      const page = paginate(tables, maxResults(input.MaxResults, 5, 1000), input.NextToken, [
        'DescribeTransitGatewayRouteTables',
        ctx.accountId,
        input.Filter,
      ]);
      return {
        transitGatewayRouteTables: page.items.map((t) => ({
          transitGatewayRouteTableId: t.transitGatewayRouteTableId,
          transitGatewayId: t.transitGatewayId,
          state: 'available',
          defaultAssociationRouteTable: isDefault(
            t.transitGatewayRouteTableId,
            t.transitGatewayId,
            'associationDefaultRouteTableId',
          ),
          defaultPropagationRouteTable: isDefault(
            t.transitGatewayRouteTableId,
            t.transitGatewayId,
            'propagationDefaultRouteTableId',
          ),
          tagSet: tagSet(sideTags(ctx, t.transitGatewayRouteTableId)),
        })),
        nextToken: page.nextToken,
      };
    },

    GetTransitGatewayRouteTablePropagations(
      input: {
        TransitGatewayRouteTableId?: string;
        Filter?: Filter[];
        MaxResults?: string;
        NextToken?: string;
      },
      ctx,
    ) {
      const rtb = tgwRouteTable(
        ctx,
        required(input.TransitGatewayRouteTableId, 'TransitGatewayRouteTableId'),
      );
      const n = net(ctx);
      let props = rtb.propagations
        .map((id) => n.tgwAttachments.get(id))
        .filter((a): a is TgwAttachment => a !== undefined && a.state !== 'deleted');
      props = applyFilters(
        props,
        input.Filter,
        {
          'transit-gateway-attachment-id': (a) => a.transitGatewayAttachmentId,
          'resource-id': (a) => a.resourceId,
          'resource-type': (a) => a.resourceType,
          state: () => 'enabled',
        },
        () => ({}),
      );
      const page = paginate(props, maxResults(input.MaxResults, 5, 1000), input.NextToken, [
        'GetTransitGatewayRouteTablePropagations',
        rtb.transitGatewayRouteTableId,
        input.Filter,
      ]);
      return {
        transitGatewayRouteTablePropagations: page.items.map((a) => ({
          transitGatewayAttachmentId: a.transitGatewayAttachmentId,
          resourceId: a.resourceId,
          resourceType: a.resourceType,
          state: 'enabled',
        })),
        nextToken: page.nextToken,
      };
    },

    CreateTags(input: { ResourceId?: string[]; Tag?: { Key?: string; Value?: string }[] }, ctx) {
      const resources = ids(input.ResourceId);
      if (!resources || resources.length === 0)
        throw MissingParameter('The request must contain the parameter resourceIdSet');
      const tags = input.Tag ?? [];
      if (tags.length === 0) throw MissingParameter('The request must contain the parameter tagSet');
      for (const t of tags) {
        if (!t.Key || t.Key.length > 128) throw InvalidParameterValue(`Tag key '${t.Key ?? ''}' is invalid`);
        if (t.Key.startsWith('aws:'))
          throw InvalidParameterValue("Tag keys starting with 'aws:' are reserved for internal use");
      }
      const records = resources.map((id) => tagsFor(ctx, id));
      for (const rec of records) {
        for (const t of tags) rec[t.Key as string] = t.Value ?? '';
        if (Object.keys(rec).length > 50)
          throw new AwsError('TagLimitExceeded', 'The maximum number of tags for a resource is 50', {
            status: 400,
          });
      }
      return { return: true };
    },

    DeleteTags(input: { ResourceId?: string[]; Tag?: { Key?: string; Value?: string }[] }, ctx) {
      const resources = ids(input.ResourceId);
      if (!resources || resources.length === 0)
        throw MissingParameter('The request must contain the parameter resourceIdSet');
      for (const id of resources) {
        const rec = tagsFor(ctx, id);
        if (!input.Tag || input.Tag.length === 0) {
          for (const k of Object.keys(rec)) delete rec[k];
          continue;
        }
        for (const t of input.Tag) {
          if (t.Key === undefined) continue;
          // With a value, only a tag with that value is removed (an empty value is a value too).
          if (t.Value === undefined || rec[t.Key] === t.Value) delete rec[t.Key];
        }
      }
      return { return: true };
    },

    DescribeTags(input: { Filter?: Filter[]; MaxResults?: string; NextToken?: string }, ctx) {
      const n = net(ctx);
      const all: { resourceId: string; resourceType: string; key: string; value: string }[] = [];
      const push = (id: string, tags: Tags) => {
        for (const [key, value] of Object.entries(tags))
          all.push({ resourceId: id, resourceType: resourceType(id), key, value });
      };
      for (const v of n.vpnConnections.values())
        if (here(ctx, v) && v.state !== 'deleted') push(v.vpnConnectionId, v.tags);
      for (const c of n.customerGateways.values())
        if (here(ctx, c) && c.state !== 'deleted') push(c.customerGatewayId, c.tags);
      for (const g of n.vpnGateways.values())
        if (here(ctx, g) && g.state !== 'deleted') push(g.vpnGatewayId, g.tags);
      for (const v of n.vpcs.values()) if (here(ctx, v)) push(v.vpcId, v.tags);
      for (const t of n.transitGateways.values())
        if (here(ctx, t) && t.state !== 'deleted') push(t.transitGatewayId, t.tags);
      for (const [id, tags] of side(ctx.world).tags) {
        try {
          tagsFor(ctx, id);
          push(id, tags);
        } catch {
          // another account's or region's resource
        }
      }
      all.sort((a, b) =>
        a.resourceId === b.resourceId ? (a.key < b.key ? -1 : 1) : a.resourceId < b.resourceId ? -1 : 1,
      );
      const filtered = applyFilters(
        all,
        input.Filter,
        {
          'resource-id': (t) => t.resourceId,
          'resource-type': (t) => t.resourceType,
          key: (t) => t.key,
          value: (t) => t.value,
        },
        () => ({}),
      );
      const page = paginate(filtered, maxResults(input.MaxResults, 5, 1000), input.NextToken, [
        'DescribeTags',
        ctx.accountId,
        ctx.region,
        input.Filter,
      ]);
      return { tagSet: page.items, nextToken: page.nextToken };
    },
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
  admin: {
    /** `{accountId?, region?, cidrBlocks, tags?}` → a VPC with its main route table. */
    'add-vpc'(body: { accountId?: string; region?: string; cidrBlocks?: string[]; tags?: Tags }, world) {
      return admin(() => ({
        vpc: networkOf(world).addVpc({
          accountId: body.accountId ?? '000000000000',
          region: body.region ?? world.defaultRegion,
          cidrBlocks: body.cidrBlocks ?? [],
          ...(body.tags ? { tags: body.tags } : {}),
        }),
      }));
    },
    /** `{accountId?, region?, vpcId?, amazonSideAsn?, propagate?}` → a VGW, attached (and propagating to the main table) when vpcId is given. */
    'add-vpn-gateway'(
      body: {
        accountId?: string;
        region?: string;
        vpcId?: string;
        amazonSideAsn?: number;
        propagate?: boolean;
      },
      world,
    ) {
      return admin(() => {
        const n = networkOf(world);
        const vpc = body.vpcId ? n.vpcs.get(body.vpcId) : undefined;
        if (body.vpcId && !vpc) throw new NetworkError('NotFound', `VPC ${body.vpcId} does not exist`);
        const vgw = n.createVpnGateway({
          accountId: vpc?.accountId ?? body.accountId ?? '000000000000',
          region: vpc?.region ?? body.region ?? world.defaultRegion,
          ...(body.amazonSideAsn ? { amazonSideAsn: body.amazonSideAsn } : {}),
        });
        if (vpc) {
          n.attachVpnGateway(vgw.vpnGatewayId, vpc.vpcId);
          if (body.propagate !== false) n.enableVgwRoutePropagation(vpc.mainRouteTableId, vgw.vpnGatewayId);
        }
        return { vpnGateway: vgw };
      });
    },
    /** `{accountId?, region?, vpcIds?}` → a Transit Gateway (VPCs attached). */
    'add-transit-gateway'(
      body: { accountId?: string; region?: string; vpcIds?: string[]; amazonSideAsn?: number },
      world,
    ) {
      return admin(() => {
        const n = networkOf(world);
        const tgw = n.createTransitGateway({
          accountId: body.accountId ?? '000000000000',
          region: body.region ?? world.defaultRegion,
          ...(body.amazonSideAsn ? { amazonSideAsn: body.amazonSideAsn } : {}),
        });
        const attachments = (body.vpcIds ?? []).map((v) =>
          n.attachVpcToTransitGateway(tgw.transitGatewayId, v),
        );
        return { transitGateway: tgw, attachments };
      });
    },
    /** `{routeTableId, destinationCidrBlock, gatewayId? | transitGatewayId?}`. */
    'add-route'(
      body: {
        routeTableId?: string;
        destinationCidrBlock?: string;
        gatewayId?: string;
        transitGatewayId?: string;
      },
      world,
    ) {
      return admin(() => {
        networkOf(world).createRoute(String(body.routeTableId), {
          destinationCidrBlock: String(body.destinationCidrBlock),
          ...(body.gatewayId ? { gatewayId: body.gatewayId } : {}),
          ...(body.transitGatewayId ? { transitGatewayId: body.transitGatewayId } : {}),
        });
        return { ok: true };
      });
    },
    /** `{project, name, subnets: [{name, region, ipCidrRange}]}` → a Google VPC network. */
    'add-gcp-network'(
      body: {
        project?: string;
        name?: string;
        subnets?: { name: string; region: string; ipCidrRange: string }[];
      },
      world,
    ) {
      return admin(() => ({
        network: networkOf(world).addGcpNetwork({
          project: String(body.project),
          name: String(body.name),
          subnets: body.subnets ?? [],
        }),
      }));
    },
    /** Both halves of a VPN (local/world/vpn-builder.ts options). */
    'build-vpn'(body: VpnBuildOptions, world) {
      return admin(() => ({ vpn: buildVpn(networkOf(world), body) }));
    },
    /** `{from: vpcId | "projects/p/global/networks/n", to, bytesPerSecond, name?}` → a flow of traffic. */
    'add-flow'(body: { from?: string; to?: string; bytesPerSecond?: number; name?: string }, world) {
      return admin(() => {
        const from = String(body.from);
        return {
          flow: networkOf(world).addFlow({
            from:
              from.includes('/') || from.startsWith('vpc-')
                ? from
                : gcpNetworkId(from.split(':')[0] as string, from.split(':')[1] ?? ''),
            to: String(body.to),
            bytesPerSecond: Number(body.bytesPerSecond ?? 0),
            ...(body.name ? { name: body.name } : {}),
          }),
        };
      });
    },
    /** `{flowId, bytesPerSecond}`. */
    'set-flow-rate'(body: { flowId?: string; bytesPerSecond?: number }, world) {
      return admin(() => {
        networkOf(world).setFlowRate(String(body.flowId), Number(body.bytesPerSecond));
        return { flow: networkOf(world).flow(String(body.flowId)) };
      });
    },
    /** What a VGW holds (AWS hides this; the simulator shows it for tests and `sim status`). */
    'vgw-routes'(body: { vpnGatewayId?: string }, world) {
      return admin(() => ({ routes: networkOf(world).vgwRoutes(String(body.vpnGatewayId)) }));
    },
  },
});

function admin<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof NetworkError) {
      throw adminError(
        err.code === 'NotFound' ? 404 : err.code === 'AlreadyExists' || err.code === 'InUse' ? 409 : 400,
        err.code,
        err.message,
      );
    }
    if (err instanceof Error && err.name === 'CidrError') throw adminError(400, 'Invalid', err.message);
    throw err;
  }
}
