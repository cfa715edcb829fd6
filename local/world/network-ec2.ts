/**
 * The AWS side of the network world as EC2 and Direct Connect change it: VPCs and their route
 * tables, virtual private gateways, Transit Gateways (attachments, route tables, propagation),
 * Direct Connect gateway associations, customer gateways and Site-to-Site VPN connections with
 * their static routes. Each change is checked as EC2 checks it (a NetworkError naming the resource
 * and the reason otherwise) and, where it can move a route, reported through `changed`, so the
 * world recomputes its routes at that virtual instant.
 */
import { parseCidr } from '#core/net/cidr.ts';
import {
  type AwsRouteTable,
  type AwsStaticRoute,
  type AwsVpc,
  type AwsVpnTunnel,
  type CustomerGateway,
  NetworkError,
  notFound,
  type TgwAttachment,
  type TgwResourceType,
  type TgwRouteTable,
  type TransitGateway,
  type VpnConnection,
  type VpnGateway,
} from './network-resources.ts';
import { hostOf, ipOf, type NetworkState } from './network-state.ts';

export class Ec2Resources {
  readonly #s: NetworkState;
  readonly #changed: () => void;

  constructor(state: NetworkState, changed: () => void) {
    this.#s = state;
    this.#changed = changed;
  }

  addVpc(opts: {
    accountId: string;
    region: string;
    cidrBlocks: string[];
    vpcId?: string;
    tags?: Record<string, string>;
  }): AwsVpc {
    if (opts.cidrBlocks.length === 0)
      throw new NetworkError('Invalid', 'a VPC needs at least one CIDR block');
    for (const c of opts.cidrBlocks) parseCidr(c);
    const vpcId = opts.vpcId ?? this.#s.id('vpc');
    if (this.#s.vpcs.has(vpcId)) throw new NetworkError('AlreadyExists', `VPC ${vpcId} exists`, vpcId);
    const rtb: AwsRouteTable = {
      routeTableId: this.#s.id('rtb'),
      vpcId,
      accountId: opts.accountId,
      region: opts.region,
      main: true,
      staticRoutes: [],
      propagatingVgws: [],
    };
    const vpc: AwsVpc = {
      vpcId,
      accountId: opts.accountId,
      region: opts.region,
      cidrBlocks: opts.cidrBlocks.map((c) => parseCidr(c).text),
      mainRouteTableId: rtb.routeTableId,
      tags: opts.tags ?? {},
    };
    this.#s.vpcs.set(vpcId, vpc);
    this.#s.routeTables.set(rtb.routeTableId, rtb);
    this.#changed();
    return vpc;
  }

  createRoute(routeTableId: string, route: AwsStaticRoute): void {
    const rtb = this.#s.rtb(routeTableId);
    const dest = parseCidr(route.destinationCidrBlock).text;
    if (!route.gatewayId && !route.transitGatewayId)
      throw new NetworkError('Invalid', 'a route needs a gatewayId or a transitGatewayId');
    if (rtb.staticRoutes.some((r) => parseCidr(r.destinationCidrBlock).text === dest))
      throw new NetworkError('AlreadyExists', `route ${dest} exists in ${routeTableId}`, dest);
    rtb.staticRoutes.push({ ...route, destinationCidrBlock: dest });
    this.#changed();
  }

  deleteRoute(routeTableId: string, destinationCidrBlock: string): void {
    const rtb = this.#s.rtb(routeTableId);
    const dest = parseCidr(destinationCidrBlock).text;
    const before = rtb.staticRoutes.length;
    rtb.staticRoutes = rtb.staticRoutes.filter((r) => r.destinationCidrBlock !== dest);
    if (rtb.staticRoutes.length === before) throw notFound('route', `${dest} in ${routeTableId}`);
    this.#changed();
  }

  /** EnableVgwRoutePropagation. */
  enableVgwRoutePropagation(routeTableId: string, vpnGatewayId: string): void {
    const rtb = this.#s.rtb(routeTableId);
    this.#s.vgw(vpnGatewayId);
    if (!rtb.propagatingVgws.includes(vpnGatewayId)) rtb.propagatingVgws.push(vpnGatewayId);
    this.#changed();
  }

  /**
   * DisableVgwRoutePropagation: acts on the whole gateway, so every route it holds (the VPN's and
   * a link's through an associated Direct Connect gateway) leaves the table.
   */
  disableVgwRoutePropagation(routeTableId: string, vpnGatewayId: string): void {
    const rtb = this.#s.rtb(routeTableId);
    rtb.propagatingVgws = rtb.propagatingVgws.filter((g) => g !== vpnGatewayId);
    this.#changed();
  }

  createVpnGateway(opts: {
    accountId: string;
    region: string;
    amazonSideAsn?: number;
    tags?: Record<string, string>;
  }): VpnGateway {
    const vgw: VpnGateway = {
      vpnGatewayId: this.#s.id('vgw'),
      accountId: opts.accountId,
      region: opts.region,
      amazonSideAsn: opts.amazonSideAsn ?? 64512,
      state: 'available',
      vpcAttachments: [],
      tags: opts.tags ?? {},
    };
    this.#s.vpnGateways.set(vgw.vpnGatewayId, vgw);
    return vgw;
  }

  attachVpnGateway(vpnGatewayId: string, vpcId: string): void {
    const vgw = this.#s.vgw(vpnGatewayId);
    this.#s.vpc(vpcId);
    if (vgw.vpcAttachments.some((a) => a.state === 'attached'))
      throw new NetworkError('IncorrectState', `${vpnGatewayId} is already attached to a VPC`, vpnGatewayId);
    vgw.vpcAttachments = [{ vpcId, state: 'attached' }];
    this.#changed();
  }

  detachVpnGateway(vpnGatewayId: string, vpcId: string): void {
    const vgw = this.#s.vgw(vpnGatewayId);
    const a = vgw.vpcAttachments.find((x) => x.vpcId === vpcId && x.state === 'attached');
    if (!a)
      throw new NetworkError('IncorrectState', `${vpnGatewayId} is not attached to ${vpcId}`, vpnGatewayId);
    a.state = 'detached';
    this.#changed();
  }

  createTransitGateway(opts: {
    accountId: string;
    region: string;
    amazonSideAsn?: number;
    vpnEcmpSupport?: 'enable' | 'disable';
    tags?: Record<string, string>;
  }): TransitGateway {
    const transitGatewayId = this.#s.id('tgw');
    const rtb: TgwRouteTable = {
      transitGatewayRouteTableId: this.#s.id('tgw-rtb'),
      transitGatewayId,
      propagations: [],
      staticRoutes: [],
    };
    const tgw: TransitGateway = {
      transitGatewayId,
      accountId: opts.accountId,
      region: opts.region,
      amazonSideAsn: opts.amazonSideAsn ?? 64512,
      state: 'available',
      vpnEcmpSupport: opts.vpnEcmpSupport ?? 'enable',
      associationDefaultRouteTableId: rtb.transitGatewayRouteTableId,
      propagationDefaultRouteTableId: rtb.transitGatewayRouteTableId,
      tags: opts.tags ?? {},
    };
    this.#s.transitGateways.set(transitGatewayId, tgw);
    this.#s.tgwRouteTables.set(rtb.transitGatewayRouteTableId, rtb);
    return tgw;
  }

  /** Creates an attachment associated with and propagating to the default route table. */
  #attach(transitGatewayId: string, resourceType: TgwResourceType, resourceId: string): TgwAttachment {
    const tgw = this.#s.tgw(transitGatewayId);
    const att: TgwAttachment = {
      transitGatewayAttachmentId: this.#s.id('tgw-attach'),
      transitGatewayId,
      resourceType,
      resourceId,
      state: 'available',
      associatedRouteTableId: tgw.associationDefaultRouteTableId,
    };
    this.#s.tgwAttachments.set(att.transitGatewayAttachmentId, att);
    this.#s.tgwRtb(tgw.propagationDefaultRouteTableId).propagations.push(att.transitGatewayAttachmentId);
    return att;
  }

  attachVpcToTransitGateway(transitGatewayId: string, vpcId: string): TgwAttachment {
    this.#s.vpc(vpcId);
    const att = this.#attach(transitGatewayId, 'vpc', vpcId);
    this.#changed();
    return att;
  }

  /** EnableTransitGatewayRouteTablePropagation. */
  enableTgwPropagation(transitGatewayRouteTableId: string, transitGatewayAttachmentId: string): void {
    const rtb = this.#s.tgwRtb(transitGatewayRouteTableId);
    this.#s.tgwAttachment(transitGatewayAttachmentId);
    if (!rtb.propagations.includes(transitGatewayAttachmentId)) {
      this.#notePropagation(
        'tgw-propagation-enabled',
        transitGatewayRouteTableId,
        transitGatewayAttachmentId,
      );
      rtb.propagations.push(transitGatewayAttachmentId);
    }
    this.#changed();
  }

  /** DisableTransitGatewayRouteTablePropagation: the per-VPN drain on a Transit Gateway. */
  disableTgwPropagation(transitGatewayRouteTableId: string, transitGatewayAttachmentId: string): void {
    const rtb = this.#s.tgwRtb(transitGatewayRouteTableId);
    if (!rtb.propagations.includes(transitGatewayAttachmentId))
      throw new NetworkError(
        'IncorrectState',
        `${transitGatewayAttachmentId} does not propagate to ${transitGatewayRouteTableId}`,
      );
    this.#notePropagation('tgw-propagation-disabled', transitGatewayRouteTableId, transitGatewayAttachmentId);
    rtb.propagations = rtb.propagations.filter((a) => a !== transitGatewayAttachmentId);
    this.#changed();
  }

  /** Logs a propagation change of a VPN's attachment (another attachment's is not a VPN's). */
  #notePropagation(
    kind: 'tgw-propagation-enabled' | 'tgw-propagation-disabled',
    routeTableId: string,
    attachmentId: string,
  ): void {
    const vpn = [...this.#s.vpnConnections.values()].find(
      (v) => v.transitGatewayAttachmentId === attachmentId,
    );
    if (vpn)
      this.#s.noteVpnChange({
        side: 'aws',
        kind,
        vpnConnectionId: vpn.vpnConnectionId,
        resource: `${routeTableId}/${attachmentId}`,
      });
  }

  createTgwRoute(
    transitGatewayRouteTableId: string,
    route: { destinationCidrBlock: string; transitGatewayAttachmentId?: string; blackhole?: boolean },
  ): void {
    const rtb = this.#s.tgwRtb(transitGatewayRouteTableId);
    rtb.staticRoutes.push({ ...route, destinationCidrBlock: parseCidr(route.destinationCidrBlock).text });
    this.#changed();
  }

  /**
   * Associates a Direct Connect gateway with a VGW or TGW (for links whose view does not list
   * gateways). A TGW association creates the `direct-connect-gateway` attachment.
   */
  associateDxGateway(dxGatewayIdIn: string, gatewayId: string): void {
    // Direct Connect gateway ids are UUIDs; compare them case-insensitively (stored upper-case).
    const dxGatewayId = dxGatewayIdIn.toUpperCase();
    if (gatewayId.startsWith('tgw-')) {
      const exists = [...this.#s.tgwAttachments.values()].some(
        (a) => a.transitGatewayId === gatewayId && a.resourceId === dxGatewayId && a.state === 'available',
      );
      if (!exists) this.#attach(gatewayId, 'direct-connect-gateway', dxGatewayId);
    } else this.#s.vgw(gatewayId);
    const set = this.#s.dxAssociations.get(dxGatewayId) ?? new Set<string>();
    set.add(gatewayId);
    this.#s.dxAssociations.set(dxGatewayId, set);
    this.#changed();
  }

  /** Removes a Direct Connect gateway association (the TGW attachment, if any, is deleted). */
  disassociateDxGateway(dxGatewayIdIn: string, gatewayId: string): void {
    const dxGatewayId = dxGatewayIdIn.toUpperCase();
    this.#s.dxAssociations.get(dxGatewayId)?.delete(gatewayId);
    for (const a of this.#s.tgwAttachments.values())
      if (
        a.transitGatewayId === gatewayId &&
        a.resourceId === dxGatewayId &&
        a.resourceType === 'direct-connect-gateway'
      ) {
        a.state = 'deleted';
        for (const rtb of this.#s.tgwRouteTables.values())
          rtb.propagations = rtb.propagations.filter((x) => x !== a.transitGatewayAttachmentId);
      }
    this.#changed();
  }

  createCustomerGateway(opts: {
    accountId: string;
    region: string;
    ipAddress: string;
    bgpAsn: number;
    tags?: Record<string, string>;
  }): CustomerGateway {
    ipOf(opts.ipAddress);
    const cgw: CustomerGateway = {
      customerGatewayId: this.#s.id('cgw'),
      accountId: opts.accountId,
      region: opts.region,
      ipAddress: opts.ipAddress,
      bgpAsn: opts.bgpAsn,
      type: 'ipsec.1',
      state: 'available',
      tags: opts.tags ?? {},
    };
    this.#s.customerGateways.set(cgw.customerGatewayId, cgw);
    return cgw;
  }

  deleteCustomerGateway(customerGatewayId: string): void {
    const cgw = this.#s.customerGateways.get(customerGatewayId);
    if (!cgw || cgw.state === 'deleted') throw notFound('customer gateway', customerGatewayId);
    const user = [...this.#s.vpnConnections.values()].find(
      (v) => v.customerGatewayId === customerGatewayId && v.state !== 'deleted',
    );
    if (user)
      throw new NetworkError(
        'IncorrectState',
        `customer gateway ${customerGatewayId} is used by ${user.vpnConnectionId}`,
        customerGatewayId,
      );
    cgw.state = 'deleted';
  }

  createVpnConnection(opts: {
    accountId: string;
    region: string;
    customerGatewayId: string;
    vpnGatewayId?: string;
    transitGatewayId?: string;
    staticRoutesOnly?: boolean;
    tunnels?: Array<Partial<Pick<AwsVpnTunnel, 'tunnelInsideCidr' | 'preSharedKey'>>>;
    tags?: Record<string, string>;
    bgpMed?: number;
  }): VpnConnection {
    const cgw = this.#s.customerGateways.get(opts.customerGatewayId);
    if (!cgw || cgw.state === 'deleted') throw notFound('customer gateway', opts.customerGatewayId);
    if (!!opts.vpnGatewayId === !!opts.transitGatewayId)
      throw new NetworkError(
        'Invalid',
        'a VPN connection needs exactly one of vpnGatewayId and transitGatewayId',
      );
    if (opts.vpnGatewayId) this.#s.vgw(opts.vpnGatewayId);
    if (opts.transitGatewayId) this.#s.tgw(opts.transitGatewayId);
    const vpnConnectionId = this.#s.id('vpn');
    const tunnels = [0, 1].map((i): AwsVpnTunnel => {
      const inside = opts.tunnels?.[i]?.tunnelInsideCidr ?? this.#s.insideCidr();
      return {
        outsideIpAddress: this.#s.publicIp('aws'),
        tunnelInsideCidr: inside,
        awsInsideIpAddress: hostOf(inside, 1),
        customerInsideIpAddress: hostOf(inside, 2),
        preSharedKey: opts.tunnels?.[i]?.preSharedKey ?? `psk-${vpnConnectionId}-${i}`,
      };
    });
    const vpn: VpnConnection = {
      vpnConnectionId,
      accountId: opts.accountId,
      region: opts.region,
      customerGatewayId: opts.customerGatewayId,
      vpnGatewayId: opts.vpnGatewayId,
      transitGatewayId: opts.transitGatewayId,
      transitGatewayAttachmentId: undefined,
      type: 'ipsec.1',
      category: 'VPN',
      state: 'available',
      staticRoutesOnly: opts.staticRoutesOnly ?? false,
      routes: [],
      tunnels,
      tags: opts.tags ?? {},
      bgpMed: opts.bgpMed ?? 100,
    };
    if (opts.transitGatewayId)
      vpn.transitGatewayAttachmentId = this.#attach(
        opts.transitGatewayId,
        'vpn',
        vpnConnectionId,
      ).transitGatewayAttachmentId;
    this.#s.vpnConnections.set(vpnConnectionId, vpn);
    this.#changed();
    return vpn;
  }

  /** DeleteVpnConnection: the connection stays listed as `deleted`, its tunnels go down. */
  deleteVpnConnection(vpnConnectionId: string): void {
    const vpn = this.#s.vpn(vpnConnectionId);
    this.#s.noteVpnChange({
      side: 'aws',
      kind: 'vpn-connection-deleted',
      vpnConnectionId,
      resource: vpnConnectionId,
    });
    vpn.state = 'deleted';
    if (vpn.transitGatewayAttachmentId) {
      const att = this.#s.tgwAttachments.get(vpn.transitGatewayAttachmentId);
      if (att) att.state = 'deleted';
      for (const rtb of this.#s.tgwRouteTables.values())
        rtb.propagations = rtb.propagations.filter((a) => a !== vpn.transitGatewayAttachmentId);
    }
    this.#changed();
  }

  /** CreateVpnConnectionRoute: static VPNs only. */
  createVpnConnectionRoute(vpnConnectionId: string, destinationCidrBlock: string): void {
    const vpn = this.#s.vpn(vpnConnectionId);
    if (!vpn.staticRoutesOnly)
      throw new NetworkError(
        'Invalid',
        `${vpnConnectionId} uses BGP; static routes apply to static VPNs only`,
      );
    const dest = parseCidr(destinationCidrBlock).text;
    const existing = vpn.routes.find((r) => r.destinationCidrBlock === dest);
    if (existing?.state === 'available')
      throw new NetworkError('AlreadyExists', `route ${dest} exists on ${vpnConnectionId}`, dest);
    vpn.routes = vpn.routes.filter((r) => r.destinationCidrBlock !== dest);
    vpn.routes.push({ destinationCidrBlock: dest, source: 'Static', state: 'available' });
    this.#changed();
  }

  /** DeleteVpnConnectionRoute: the route is withdrawn at once (listed as `deleted` for a while). */
  deleteVpnConnectionRoute(vpnConnectionId: string, destinationCidrBlock: string): void {
    const vpn = this.#s.vpn(vpnConnectionId);
    const dest = parseCidr(destinationCidrBlock).text;
    const r = vpn.routes.find((x) => x.destinationCidrBlock === dest && x.state === 'available');
    if (!r) throw notFound('VPN connection route', `${dest} on ${vpnConnectionId}`);
    r.state = 'deleted';
    this.#changed();
  }
}
