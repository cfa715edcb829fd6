/**
 * What the network world reads and reports besides its resources: the crosslink links it is fed
 * (`LinkRouteView`, from a `LinkRouteSource`), the routes each side selects and the status of BGP
 * sessions and tunnels as the providers' APIs show them, and the traffic (flows, their paths, the
 * counter names where their bytes show). The shapes of network.ts's answers, apart from the
 * resources themselves (network-resources.ts).
 */
import { type NetworkId, notFound } from './network-resources.ts';

// ---------------------------------------------------------------------------------------------
// Links (the link world)

/** What the network model needs to know about one crosslink link. */
export interface LinkRouteView {
  linkId: string;
  /** Both halves up and the link's BGP established: its routes are in both clouds. */
  up: boolean;
  aws: {
    accountId: string;
    dxGatewayId: string;
    /** Gateways (`vgw-...`, `tgw-...`) associated with the Direct Connect gateway, if the link world knows them. */
    gateways?: readonly string[];
  };
  gcp: { project: string; network: string };
  /** Direct Connect gateway allowed prefixes: the routes the Google network learns over the link. */
  toGcp: readonly string[];
  /** The transport's `advertisedRoutes`: the routes AWS learns over the link. */
  toAws: readonly string[];
  /** Priority of the link's peering routes in the Google network (default 0). */
  gcpPriority?: number;
}

export interface LinkRouteSource {
  links(): readonly LinkRouteView[];
  /** Called by the model to hear about link changes; returns an unsubscribe. */
  onChange?(listener: () => void): () => void;
  /**
   * The model says whether anything depends on prompt link changes (traffic is flowing), so a
   * source that has to poll polls only then.
   */
  setWatching?(on: boolean): void;
}

/** A link source the tests (and `npm start` before the link world) drive by hand. */
export class StaticLinks implements LinkRouteSource {
  #links = new Map<string, LinkRouteView>();
  #listeners = new Set<() => void>();
  links(): LinkRouteView[] {
    return [...this.#links.values()];
  }
  set(link: LinkRouteView): void {
    this.#links.set(link.linkId, { ...link });
    for (const l of this.#listeners) l();
  }
  update(linkId: string, patch: Partial<LinkRouteView>): void {
    const link = this.#links.get(linkId);
    if (!link) throw notFound('link', linkId);
    this.set({ ...link, ...patch });
  }
  delete(linkId: string): void {
    this.#links.delete(linkId);
    for (const l of this.#listeners) l();
  }
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

// ---------------------------------------------------------------------------------------------
// Routes as each side reports them

export type AwsRouteOrigin = 'local' | 'static' | 'dx' | 'vpn-static' | 'vpn-bgp' | 'vpc';

/** A route in a VPC route table (DescribeRouteTables): one per destination, the winner. */
export interface AwsVpcRoute {
  destinationCidrBlock: string;
  gatewayId?: string;
  transitGatewayId?: string;
  origin: 'CreateRouteTable' | 'CreateRoute' | 'EnableVgwRoutePropagation';
  state: 'active' | 'blackhole';
}

/** A route held by a virtual private gateway or a Transit Gateway route table. */
export interface AwsGatewayRoute {
  destinationCidrBlock: string;
  origin: AwsRouteOrigin;
  /** TGW: `static` or `propagated`. */
  type: 'static' | 'propagated';
  state: 'active' | 'blackhole';
  /** The selected next hop(s). */
  target:
    | { kind: 'link'; linkId: string }
    | { kind: 'vpn'; vpnConnectionId: string; tunnels: string[] }
    | { kind: 'vpc'; vpcId: string }
    | { kind: 'blackhole' };
  transitGatewayAttachmentId?: string;
  asPath?: number[];
  med?: number;
  /** False when a better route for the same destination exists (only in `all` listings). */
  best: boolean;
}

export type GcpRouteType = 'SUBNET' | 'STATIC' | 'BGP' | 'PEERING';

export interface GcpRoute {
  network: string;
  destRange: string;
  priority: number;
  routeType: GcpRouteType;
  nextHopVpnTunnel?: string;
  /** Region of the next-hop tunnel / router. */
  region?: string;
  nextHopIp?: string;
  nextHopPeering?: string;
  router?: string;
  asPaths?: number[];
  /** Whether the network uses this route for its destination (the effective route). */
  best: boolean;
  name?: string;
}

export interface BgpPeerStatus {
  name: string;
  linkedVpnTunnel: string | undefined;
  ipAddress: string | undefined;
  peerIpAddress: string | undefined;
  enable: 'TRUE' | 'FALSE';
  status: 'UP' | 'DOWN' | 'UNKNOWN';
  state: 'Established' | 'Idle' | 'Active';
  /** Why the session is not up, in words (not a compute enum). */
  reason: string | undefined;
  upSince: number | undefined;
  numLearnedRoutes: number;
  advertisedRoutes: GcpRoute[];
}

export interface RouterStatus {
  network: string;
  bestRoutes: GcpRoute[];
  bestRoutesForRouter: GcpRoute[];
  bgpPeerStatus: BgpPeerStatus[];
}

export type GcpTunnelStatus =
  | 'ESTABLISHED'
  | 'NO_INCOMING_PACKETS'
  | 'AUTHORIZATION_ERROR'
  | 'WAITING_FOR_FULL_CONFIG'
  | 'NEGOTIATION_FAILURE';

// ---------------------------------------------------------------------------------------------
// Traffic

export interface FlowSpec {
  from: NetworkId;
  /** Destination address or prefix (its first host is used). */
  to: string;
  bytesPerSecond: number;
  name?: string;
}

export interface FlowPath {
  delivered: boolean;
  via:
    | { kind: 'local' }
    | { kind: 'link'; linkId: string }
    | { kind: 'vpn'; vpnConnectionId: string; awsTunnels: string[]; gcpTunnels: string[] }
    | { kind: 'none' };
  reason?: string;
}

export interface Flow extends FlowSpec {
  id: string;
  path: FlowPath;
}

/** Counter names (see `counter()`): where traffic shows. */
export const counterKey = {
  /** Bytes the AWS side received from the tunnel (CloudWatch `TunnelDataIn`). */
  awsTunnelIn: (vpnConnectionId: string, outsideIp: string) =>
    `aws-tunnel/${vpnConnectionId}/${outsideIp}/in`,
  /** Bytes the AWS side sent into the tunnel (`TunnelDataOut`). */
  awsTunnelOut: (vpnConnectionId: string, outsideIp: string) =>
    `aws-tunnel/${vpnConnectionId}/${outsideIp}/out`,
  gcpTunnelSent: (project: string, region: string, tunnel: string) =>
    `gcp-tunnel/${project}/${region}/${tunnel}/sent`,
  gcpTunnelReceived: (project: string, region: string, tunnel: string) =>
    `gcp-tunnel/${project}/${region}/${tunnel}/received`,
  linkAwsToGcp: (linkId: string) => `link/${linkId}/aws-to-gcp`,
  linkGcpToAws: (linkId: string) => `link/${linkId}/gcp-to-aws`,
  flowDelivered: (flowId: string) => `flow/${flowId}/delivered`,
  flowDropped: (flowId: string) => `flow/${flowId}/dropped`,
} as const;
