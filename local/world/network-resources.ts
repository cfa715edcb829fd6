/**
 * The resources of the simulated network, in the providers' own shapes: the AWS side (VPCs, route
 * tables, virtual private gateways, Transit Gateways, customer gateways, VPN connections; EC2 field
 * names) and the Google side (VPC networks, HA / Classic VPN gateways, VPN tunnels, Cloud Routers,
 * static routes; compute v1 field names), and the error every refused change raises. Shared by the
 * modules of the network world (network.ts composes them) and by the edges that serve them.
 */
// ---------------------------------------------------------------------------------------------
// Errors

export type NetworkErrorCode = 'NotFound' | 'AlreadyExists' | 'InUse' | 'Invalid' | 'IncorrectState';

/** A refused change, in the model's words; each edge maps `code` to its provider's error shape. */
export class NetworkError extends Error {
  readonly code: NetworkErrorCode;
  readonly resource: string | undefined;
  /** HTTP status for the admin API (edges map `code` to their own shapes instead). */
  readonly status: number;
  constructor(code: NetworkErrorCode, message: string, resource?: string) {
    super(message);
    this.name = 'NetworkError';
    this.code = code;
    this.resource = resource;
    this.status = code === 'NotFound' ? 404 : code === 'AlreadyExists' ? 409 : 400;
  }
}

export const notFound = (what: string, id: string) =>
  new NetworkError('NotFound', `${what} ${id} does not exist`, id);

// ---------------------------------------------------------------------------------------------
// AWS resources (field names follow the EC2 API shapes, camelCase)

export interface AwsVpc {
  vpcId: string;
  accountId: string;
  region: string;
  cidrBlocks: string[];
  mainRouteTableId: string;
  tags: Record<string, string>;
}

export interface AwsStaticRoute {
  destinationCidrBlock: string;
  /** `vgw-...` (or `local`), or undefined when the target is a Transit Gateway. */
  gatewayId?: string;
  transitGatewayId?: string;
}

export interface AwsRouteTable {
  routeTableId: string;
  vpcId: string;
  accountId: string;
  region: string;
  main: boolean;
  staticRoutes: AwsStaticRoute[];
  /** Virtual private gateways whose routes propagate into this table (EnableVgwRoutePropagation). */
  propagatingVgws: string[];
}

export interface VpnGateway {
  vpnGatewayId: string;
  accountId: string;
  region: string;
  amazonSideAsn: number;
  state: 'available' | 'deleted';
  vpcAttachments: Array<{ vpcId: string; state: 'attached' | 'detached' }>;
  tags: Record<string, string>;
}

export interface TransitGateway {
  transitGatewayId: string;
  accountId: string;
  region: string;
  amazonSideAsn: number;
  state: 'available' | 'deleted';
  vpnEcmpSupport: 'enable' | 'disable';
  associationDefaultRouteTableId: string;
  propagationDefaultRouteTableId: string;
  tags: Record<string, string>;
}

export type TgwResourceType = 'vpc' | 'vpn' | 'direct-connect-gateway';

export interface TgwAttachment {
  transitGatewayAttachmentId: string;
  transitGatewayId: string;
  resourceType: TgwResourceType;
  resourceId: string;
  state: 'available' | 'deleted';
  /** The route table this attachment's traffic is routed by. */
  associatedRouteTableId: string | undefined;
}

export interface TgwRouteTable {
  transitGatewayRouteTableId: string;
  transitGatewayId: string;
  /** Attachment ids whose routes propagate into this table. */
  propagations: string[];
  staticRoutes: Array<{
    destinationCidrBlock: string;
    transitGatewayAttachmentId?: string;
    blackhole?: boolean;
  }>;
}

export interface CustomerGateway {
  customerGatewayId: string;
  accountId: string;
  region: string;
  ipAddress: string;
  bgpAsn: number;
  type: 'ipsec.1';
  state: 'available' | 'deleted';
  tags: Record<string, string>;
}

export interface AwsVpnTunnel {
  outsideIpAddress: string;
  /** The /30 inside the tunnel: AWS takes the first host, the customer side the second. */
  tunnelInsideCidr: string;
  awsInsideIpAddress: string;
  customerInsideIpAddress: string;
  preSharedKey: string;
}

export interface VpnConnectionRoute {
  destinationCidrBlock: string;
  source: 'Static';
  state: 'available' | 'deleted';
}

export interface VpnConnection {
  vpnConnectionId: string;
  accountId: string;
  region: string;
  customerGatewayId: string;
  vpnGatewayId: string | undefined;
  transitGatewayId: string | undefined;
  transitGatewayAttachmentId: string | undefined;
  type: 'ipsec.1';
  category: 'VPN';
  state: 'available' | 'deleted';
  staticRoutesOnly: boolean;
  routes: VpnConnectionRoute[];
  tunnels: AwsVpnTunnel[];
  tags: Record<string, string>;
  /**
   * MED that AWS puts on the routes it advertises over this VPN's BGP sessions. AWS does not
   * document one; Cloud Router turns a received MED into the learned route's priority, so this is
   * the knob that decides ties against other Google-side routes (default 100).
   */
  bgpMed: number;
}

/** The live view of one AWS tunnel: EC2 `VgwTelemetry`. */
export interface VgwTelemetry {
  outsideIpAddress: string;
  status: 'UP' | 'DOWN';
  statusMessage: string;
  lastStatusChange: number;
  acceptedRouteCount: number;
}

// ---------------------------------------------------------------------------------------------
// Google resources (field names follow compute v1)

export interface GcpSubnet {
  name: string;
  region: string;
  ipCidrRange: string;
}

export interface GcpNetwork {
  project: string;
  name: string;
  routingMode: 'GLOBAL' | 'REGIONAL';
  subnets: GcpSubnet[];
}

export interface ExternalVpnGateway {
  project: string;
  name: string;
  id: string;
  redundancyType: 'SINGLE_IP_INTERNALLY_REDUNDANT' | 'TWO_IPS_REDUNDANCY' | 'FOUR_IPS_REDUNDANCY';
  interfaces: Array<{ id: number; ipAddress: string }>;
  labels: Record<string, string>;
  description: string;
  creationTimestamp: number;
}

export interface HaVpnGateway {
  project: string;
  region: string;
  name: string;
  id: string;
  network: string;
  vpnInterfaces: Array<{ id: number; ipAddress: string }>;
  labels: Record<string, string>;
  creationTimestamp: number;
}

/** A Classic VPN gateway: static routing only (the peer of an AWS static VPN). */
export interface TargetVpnGateway {
  project: string;
  region: string;
  name: string;
  id: string;
  network: string;
  ipAddress: string;
  creationTimestamp: number;
}

export interface GcpVpnTunnel {
  project: string;
  region: string;
  name: string;
  id: string;
  /** HA VPN: the gateway name and interface. */
  vpnGateway: string | undefined;
  vpnGatewayInterface: number | undefined;
  /** Classic VPN: the target VPN gateway name. */
  targetVpnGateway: string | undefined;
  peerExternalGateway: string | undefined;
  peerExternalGatewayInterface: number | undefined;
  peerIp: string;
  router: string | undefined;
  sharedSecret: string;
  ikeVersion: 1 | 2;
  labels: Record<string, string>;
  description: string;
  creationTimestamp: number;
}

export interface RouterInterface {
  name: string;
  linkedVpnTunnel?: string;
  /** `169.254.x.y/30`: the router's own address in the tunnel. */
  ipRange?: string;
}

export interface RouterBgpPeer {
  name: string;
  interfaceName: string;
  ipAddress?: string;
  peerIpAddress?: string;
  peerAsn: number;
  /** `FALSE` shuts the session (compute v1 spells it as a string enum). */
  enable?: 'TRUE' | 'FALSE';
  advertisedRoutePriority?: number;
  advertiseMode?: 'DEFAULT' | 'CUSTOM';
  advertisedGroups?: string[];
  advertisedIpRanges?: Array<{ range: string; description?: string }>;
}

export interface GcpRouter {
  project: string;
  region: string;
  name: string;
  id: string;
  network: string;
  bgp: {
    asn: number;
    advertiseMode?: 'DEFAULT' | 'CUSTOM';
    advertisedGroups?: string[];
    advertisedIpRanges?: Array<{ range: string; description?: string }>;
  };
  interfaces: RouterInterface[];
  bgpPeers: RouterBgpPeer[];
  creationTimestamp: number;
}

/** A custom static route (`compute.routes`): here, to a Classic VPN tunnel. */
export interface GcpStaticRoute {
  project: string;
  name: string;
  network: string;
  destRange: string;
  priority: number;
  nextHopVpnTunnel: string;
  /** Region of the next-hop tunnel. */
  region: string;
}

/** A network: an AWS VPC id (`vpc-...`) or a Google network `projects/<p>/global/networks/<n>`. */
export type NetworkId = string;

export const gcpNetworkId = (project: string, network: string): NetworkId =>
  `projects/${project}/global/networks/${network}`;

/** The key of a regional Google resource (tunnel, router, VPN gateway): `project/region/name`. */
export const regional = (project: string, region: string, name: string) => `${project}/${region}/${name}`;
