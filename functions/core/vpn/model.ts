/**
 * The VPN decommission model: what the importers build from the clouds' exports and what the planner
 * reads. Times are milliseconds since the Unix epoch; every list is sorted by the importers so that a
 * plan never depends on the order the clouds listed things in.
 */
import type { Cidr } from '../net/cidr.ts';

export type Side = 'aws' | 'gcp';

/** A prefix a VPN carries, and the side whose network it belongs to (where traffic to it goes). */
export interface CarriedPrefix {
  readonly prefix: Cidr;
  readonly toward: Side;
  /** Where it was seen, e.g. `gcp:bgpPeerStatus[peer-1].advertisedRoutes`. */
  readonly source: string;
}

export interface AwsTunnel {
  readonly outsideIp: string;
  /** VgwTelemetry status: for a BGP VPN, UP only while the BGP session is up. */
  readonly status: 'UP' | 'DOWN';
  readonly lastStatusChange: number | undefined;
  readonly acceptedRouteCount: number;
}

/** The AWS half: a Site-to-Site VPN connection on a virtual private or transit gateway. */
export interface AwsVpnHalf {
  readonly vpnConnectionId: string;
  /** The AWS region it is in (the export's `Region`); undefined when the export does not say. */
  readonly region: string | undefined;
  readonly state: string;
  readonly gateway: { readonly kind: 'vgw' | 'tgw'; readonly id: string };
  /** The VPN's Transit Gateway attachment, when the gateway is a Transit Gateway and it is known. */
  readonly transitGatewayAttachmentId: string | undefined;
  readonly customerGatewayId: string;
  readonly staticRoutesOnly: boolean;
  readonly tunnels: readonly AwsTunnel[];
  readonly tags: Readonly<Record<string, string>>;
}

export interface GcpTunnel {
  readonly name: string;
  readonly selfLink: string;
  readonly peerIp: string;
  readonly status: string;
  readonly peerExternalGateway: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

export interface GcpBgpPeer {
  readonly name: string;
  readonly interfaceName: string;
  readonly enabled: boolean;
  readonly tunnel: string;
}

/** The Google half: HA VPN tunnels whose peer IPs are the AWS tunnels' outside IPs, and their BGP peers. */
export interface GcpVpnHalf {
  readonly router: string;
  readonly region: string;
  readonly network: string;
  readonly tunnels: readonly GcpTunnel[];
  readonly bgpPeers: readonly GcpBgpPeer[];
  /** Whether `routers get-status` was given for the router (its best routes are observed). */
  readonly statusObserved: boolean;
}

/** A drain crosslink applied, as recorded in its state (prefixes remembered: a drained VPN shows none). */
export interface DrainRecord {
  readonly vpnConnectionId: string;
  readonly drainedAt: number;
  readonly method: DrainMethod['kind'];
  readonly prefixes: readonly CarriedPrefix[];
}

export interface Vpn {
  /** The AWS VPN connection id names the pair. */
  readonly id: string;
  readonly aws: AwsVpnHalf;
  readonly gcp: GcpVpnHalf | undefined;
  /** The networks it joins: the AWS gateway (vgw-/tgw-) and the Google VPC network. */
  readonly networks: { readonly aws: string; readonly gcp: string | undefined };
  readonly prefixes: readonly CarriedPrefix[];
  /** Set when the VPN's routes are withdrawn (BGP peers disabled or propagation off). */
  readonly drain: { readonly since: number | undefined; readonly recorded: boolean } | undefined;
}

export type DrainMethod =
  | { readonly kind: 'gcp-bgp-peers'; readonly router: string; readonly peers: readonly string[] }
  | { readonly kind: 'tgw-propagation'; readonly transitGatewayAttachmentId: string };

export type HealthStatus = 'healthy' | 'degraded' | 'down';

export interface HealthSample {
  readonly at: number;
  readonly status: HealthStatus;
}

/** A private link between an AWS gateway and a Google VPC network, as crosslink records it. */
export interface Link {
  readonly id: string;
  /** Derived link state (docs/architecture.md): only ACTIVE links cover prefixes. */
  readonly state: string;
  readonly aws: {
    readonly gateway: string;
    readonly directConnectGatewayId: string | undefined;
    /** AWS prefixes the link carries to Google (Direct Connect gateway allowed prefixes). */
    readonly allowedPrefixes: readonly Cidr[];
  };
  readonly gcp: {
    readonly network: string;
    readonly peering: string | undefined;
    /** Google prefixes the link carries to AWS (the transport's advertisedRoutes). */
    readonly advertisedRoutes: readonly Cidr[];
  };
  /** Status changes, oldest first: the status holds from `at` until the next sample. */
  readonly health: readonly HealthSample[];
}

/** Where a network's effective (best) route for a prefix goes. */
export type NextHop =
  | { readonly kind: 'link'; readonly id: string }
  | { readonly kind: 'vpn'; readonly id: string }
  | { readonly kind: 'other'; readonly what: string };

export interface EffectiveRoute {
  readonly side: Side;
  /** The Google VPC network, or the AWS Transit Gateway id. */
  readonly network: string;
  readonly prefix: Cidr;
  readonly via: readonly NextHop[];
}

/** Bytes a VPN moved in [start, end). `metric` keeps the source counter's name. */
export interface TrafficSample {
  readonly vpnConnectionId: string;
  readonly metric: 'TunnelDataIn' | 'TunnelDataOut' | 'sent_bytes_count' | 'received_bytes_count';
  readonly start: number;
  readonly end: number;
  readonly bytes: number;
}

/** A half the importers could not pair: reported, never planned. */
export interface Unpaired {
  readonly side: Side;
  readonly id: string;
  readonly reason: string;
}

export interface Inventory {
  readonly vpns: readonly Vpn[];
  readonly unpaired: readonly Unpaired[];
  readonly links: readonly Link[];
  readonly effectiveRoutes: readonly EffectiveRoute[];
  /** Transit Gateways whose routes were exported (search-transit-gateway-routes). */
  readonly observedTransitGateways: readonly string[];
  readonly traffic: readonly TrafficSample[];
  /** Every Google tunnel's external VPN gateway, paired or not: a gateway is unused only if none remain. */
  readonly gcpTunnelGateways: readonly { readonly tunnel: string; readonly gateway: string | undefined }[];
}
