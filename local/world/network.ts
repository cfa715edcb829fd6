/**
 * The simulated network between the clouds: VPCs and VPC networks, the IPsec VPNs that join them
 * (AWS VPN connections on a virtual private gateway or a Transit Gateway; Google HA VPN tunnels
 * with Cloud Router BGP peers, or Classic VPN tunnels with static routes), the private links of
 * crosslink (their routes come from the link world through `LinkRouteSource`), the routes each
 * side selects by the providers' preference rules, and traffic that follows them into tunnel and
 * link counters over virtual time.
 *
 * No HTTP here: the AWS EC2 / CloudWatch modules and the Google compute / monitoring modules read
 * and mutate this one model, so both clouds always see the same world. docs/local-network.md has
 * the API and the rules.
 *
 * Every mutation recomputes the selected paths and re-rates the counters at the current virtual
 * instant (counters.ts), so a counter read over any window is exact. Changes that happen elsewhere
 * (a link comes up on a timer) reach the model through `LinkRouteSource.onChange` or `refresh()`.
 */
import type { Clock } from '#core/clock.ts';
import { type Cidr, contains, parseCidr } from '#core/net/cidr.ts';
import { CounterSet } from './counters.ts';

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

const notFound = (what: string, id: string) =>
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

/** A network: an AWS VPC id (`vpc-...`) or a Google network `projects/<p>/global/networks/<n>`. */
export type NetworkId = string;

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

// ---------------------------------------------------------------------------------------------
// Internal computation types

interface Pair {
  vpn: VpnConnection;
  tunnelIndex: number;
  aws: AwsVpnTunnel;
  gcp: GcpVpnTunnel;
  ipsecUp: boolean;
  ipsecReason: string | undefined;
  /** BGP session up (dynamic VPNs only). */
  bgpUp: boolean;
  bgpReason: string | undefined;
  router: GcpRouter | undefined;
  peer: RouterBgpPeer | undefined;
}

interface Snapshot {
  pairs: Pair[];
  /** Routes per VGW id (all candidates, `best` marked). */
  vgw: Map<string, AwsGatewayRoute[]>;
  /** Routes per TGW route table id. */
  tgw: Map<string, AwsGatewayRoute[]>;
  /** Google routes per network key (all candidates, `best` marked). */
  gcp: Map<string, GcpRoute[]>;
  /** Google routes learned per router key (from its peers), and what each peer advertises. */
  learned: Map<string, GcpRoute[]>;
  advertised: Map<string, GcpRoute[]>;
  links: LinkRouteView[];
}

const AWS_ORIGIN_RANK: Record<AwsRouteOrigin, number> = {
  local: 0,
  static: 1,
  vpc: 2,
  dx: 3,
  'vpn-static': 4,
  'vpn-bgp': 5,
};

const GCP_TYPE_RANK: Record<GcpRouteType, number> = { SUBNET: 0, STATIC: 1, BGP: 1, PEERING: 2 };

export const gcpNetworkId = (project: string, network: string): NetworkId =>
  `projects/${project}/global/networks/${network}`;
const regional = (project: string, region: string, name: string) => `${project}/${region}/${name}`;

function ipOf(text: string): Cidr {
  const c = text.includes('/') ? parseCidr(text) : parseCidr(`${text}/${text.includes(':') ? 128 : 32}`);
  if (c.length === (c.family === 4 ? 32 : 128) || !text.includes('/')) return c;
  // A prefix: use its first host.
  const bits = c.family === 4 ? 32 : 128;
  return { family: c.family, address: c.address + 1n, length: bits, text: c.text };
}

function within(prefix: string, ip: Cidr): boolean {
  return contains(parseCidr(prefix), ip);
}

function hostOf(cidr: string, n: number): string {
  const c = parseCidr(cidr);
  const a = c.address + BigInt(n);
  return [24n, 16n, 8n, 0n].map((s) => String((a >> s) & 255n)).join('.');
}

/** Longest prefix, then the lowest rank tuple; every tied best wins (ECMP). */
function selectBest<T>(
  candidates: readonly T[],
  ip: Cidr,
  prefixOf: (c: T) => string,
  rank: (c: T) => readonly number[],
): T[] {
  let best: T[] = [];
  let bestLen = -1;
  let bestRank: readonly number[] = [];
  for (const c of candidates) {
    const p = parseCidr(prefixOf(c));
    if (!contains(p, ip)) continue;
    const r = rank(c);
    const cmp = p.length !== bestLen ? bestLen - p.length : compareRank(r, bestRank);
    if (cmp < 0) {
      best = [c];
      bestLen = p.length;
      bestRank = r;
    } else if (cmp === 0) best.push(c);
  }
  return best;
}

function compareRank(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Marks `best` per destination (same prefix) among candidates. */
function markBest<T extends { best: boolean }>(
  routes: T[],
  prefixOf: (c: T) => string,
  rank: (c: T) => readonly number[],
  usable: (c: T) => boolean = () => true,
): T[] {
  const byPrefix = new Map<string, T[]>();
  for (const r of routes) {
    const k = parseCidr(prefixOf(r)).text;
    byPrefix.set(k, [...(byPrefix.get(k) ?? []), r]);
  }
  for (const group of byPrefix.values()) {
    const live = group.filter(usable);
    let bestRank: readonly number[] | undefined;
    for (const r of live) if (!bestRank || compareRank(rank(r), bestRank) < 0) bestRank = rank(r);
    for (const r of group)
      r.best = bestRank !== undefined && usable(r) && compareRank(rank(r), bestRank) === 0;
  }
  return routes;
}

// ---------------------------------------------------------------------------------------------

export interface NetworkWorldOptions {
  clock: Clock;
  links?: LinkRouteSource;
}

/** The shared network model. All methods are synchronous; ids are deterministic per world. */
export class NetworkWorld {
  readonly clock: Clock;
  readonly counters = new CounterSet();
  #links: LinkRouteSource;
  #unsubscribe: (() => void) | undefined;
  #seq = 0;
  #ipSeq = 0;
  #insideSeq = 0;

  // AWS
  readonly vpcs = new Map<string, AwsVpc>();
  readonly routeTables = new Map<string, AwsRouteTable>();
  readonly vpnGateways = new Map<string, VpnGateway>();
  readonly transitGateways = new Map<string, TransitGateway>();
  readonly tgwAttachments = new Map<string, TgwAttachment>();
  readonly tgwRouteTables = new Map<string, TgwRouteTable>();
  readonly customerGateways = new Map<string, CustomerGateway>();
  readonly vpnConnections = new Map<string, VpnConnection>();
  /** Direct Connect gateway -> associated gateways (vgw / tgw), for links that do not name them. */
  readonly dxAssociations = new Map<string, Set<string>>();

  // Google (keys: `projects/p/global/networks/n`, `p/region/name`, `p/name`)
  readonly gcpNetworks = new Map<string, GcpNetwork>();
  readonly externalVpnGateways = new Map<string, ExternalVpnGateway>();
  readonly haVpnGateways = new Map<string, HaVpnGateway>();
  readonly targetVpnGateways = new Map<string, TargetVpnGateway>();
  readonly vpnTunnels = new Map<string, GcpVpnTunnel>();
  readonly routers = new Map<string, GcpRouter>();
  readonly gcpRoutes = new Map<string, GcpStaticRoute>();

  // Traffic and derived state
  readonly flows = new Map<string, Flow>();
  #snapshot: Snapshot | undefined;
  #awsTunnelStatus = new Map<string, { up: boolean; since: number }>();
  #bgpUpSince = new Map<string, number>();

  constructor(options: NetworkWorldOptions) {
    this.clock = options.clock;
    this.#links = options.links ?? new StaticLinks();
    this.#unsubscribe = this.#links.onChange?.(() => this.refresh());
  }

  /** Swaps the link source (the link world registers itself here when it starts). */
  setLinkSource(source: LinkRouteSource): void {
    this.#links.setWatching?.(false);
    this.#unsubscribe?.();
    this.#links = source;
    this.#unsubscribe = source.onChange?.(() => this.refresh());
    this.refresh();
  }

  /** Detaches from the link source (local cloud shutdown). */
  close(): void {
    this.#links.setWatching?.(false);
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #id(prefix: string): string {
    this.#seq++;
    return `${prefix}-${this.#seq.toString(16).padStart(17, '0')}`;
  }

  #numericId(): string {
    this.#seq++;
    return String(1_000_000_000_000_000 + this.#seq * 7919);
  }

  /** Public-looking outside addresses (TEST-NET ranges are never routed, so no clash). */
  #publicIp(pool: 'aws' | 'gcp'): string {
    this.#ipSeq++;
    const base = pool === 'aws' ? '203.0.113.0/24' : '198.51.100.0/24';
    const block = Math.floor((this.#ipSeq - 1) / 250);
    const host = ((this.#ipSeq - 1) % 250) + 1;
    if (block > 0) return hostOf(pool === 'aws' ? '100.64.0.0/10' : '100.96.0.0/11', this.#ipSeq);
    return hostOf(base, host);
  }

  #insideCidr(): string {
    const n = this.#insideSeq++;
    return `169.254.${(n >> 6) & 255}.${(n & 63) * 4}/30`;
  }

  // -------------------------------------------------------------------------------------------
  // AWS: VPCs, route tables, gateways

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
    const vpcId = opts.vpcId ?? this.#id('vpc');
    if (this.vpcs.has(vpcId)) throw new NetworkError('AlreadyExists', `VPC ${vpcId} exists`, vpcId);
    const rtb: AwsRouteTable = {
      routeTableId: this.#id('rtb'),
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
    this.vpcs.set(vpcId, vpc);
    this.routeTables.set(rtb.routeTableId, rtb);
    this.refresh();
    return vpc;
  }

  #vpc(id: string): AwsVpc {
    const v = this.vpcs.get(id);
    if (!v) throw notFound('VPC', id);
    return v;
  }

  #rtb(id: string): AwsRouteTable {
    const r = this.routeTables.get(id);
    if (!r) throw notFound('route table', id);
    return r;
  }

  createRoute(routeTableId: string, route: AwsStaticRoute): void {
    const rtb = this.#rtb(routeTableId);
    const dest = parseCidr(route.destinationCidrBlock).text;
    if (!route.gatewayId && !route.transitGatewayId)
      throw new NetworkError('Invalid', 'a route needs a gatewayId or a transitGatewayId');
    if (rtb.staticRoutes.some((r) => parseCidr(r.destinationCidrBlock).text === dest))
      throw new NetworkError('AlreadyExists', `route ${dest} exists in ${routeTableId}`, dest);
    rtb.staticRoutes.push({ ...route, destinationCidrBlock: dest });
    this.refresh();
  }

  deleteRoute(routeTableId: string, destinationCidrBlock: string): void {
    const rtb = this.#rtb(routeTableId);
    const dest = parseCidr(destinationCidrBlock).text;
    const before = rtb.staticRoutes.length;
    rtb.staticRoutes = rtb.staticRoutes.filter((r) => r.destinationCidrBlock !== dest);
    if (rtb.staticRoutes.length === before) throw notFound('route', `${dest} in ${routeTableId}`);
    this.refresh();
  }

  /** EnableVgwRoutePropagation. */
  enableVgwRoutePropagation(routeTableId: string, vpnGatewayId: string): void {
    const rtb = this.#rtb(routeTableId);
    this.#vgw(vpnGatewayId);
    if (!rtb.propagatingVgws.includes(vpnGatewayId)) rtb.propagatingVgws.push(vpnGatewayId);
    this.refresh();
  }

  /**
   * DisableVgwRoutePropagation: acts on the whole gateway, so every route it holds (the VPN's and
   * a link's through an associated Direct Connect gateway) leaves the table.
   */
  disableVgwRoutePropagation(routeTableId: string, vpnGatewayId: string): void {
    const rtb = this.#rtb(routeTableId);
    rtb.propagatingVgws = rtb.propagatingVgws.filter((g) => g !== vpnGatewayId);
    this.refresh();
  }

  createVpnGateway(opts: {
    accountId: string;
    region: string;
    amazonSideAsn?: number;
    tags?: Record<string, string>;
  }): VpnGateway {
    const vgw: VpnGateway = {
      vpnGatewayId: this.#id('vgw'),
      accountId: opts.accountId,
      region: opts.region,
      amazonSideAsn: opts.amazonSideAsn ?? 64512,
      state: 'available',
      vpcAttachments: [],
      tags: opts.tags ?? {},
    };
    this.vpnGateways.set(vgw.vpnGatewayId, vgw);
    return vgw;
  }

  #vgw(id: string): VpnGateway {
    const g = this.vpnGateways.get(id);
    if (!g || g.state === 'deleted') throw notFound('virtual private gateway', id);
    return g;
  }

  attachVpnGateway(vpnGatewayId: string, vpcId: string): void {
    const vgw = this.#vgw(vpnGatewayId);
    this.#vpc(vpcId);
    if (vgw.vpcAttachments.some((a) => a.state === 'attached'))
      throw new NetworkError('IncorrectState', `${vpnGatewayId} is already attached to a VPC`, vpnGatewayId);
    vgw.vpcAttachments = [{ vpcId, state: 'attached' }];
    this.refresh();
  }

  detachVpnGateway(vpnGatewayId: string, vpcId: string): void {
    const vgw = this.#vgw(vpnGatewayId);
    const a = vgw.vpcAttachments.find((x) => x.vpcId === vpcId && x.state === 'attached');
    if (!a)
      throw new NetworkError('IncorrectState', `${vpnGatewayId} is not attached to ${vpcId}`, vpnGatewayId);
    a.state = 'detached';
    this.refresh();
  }

  createTransitGateway(opts: {
    accountId: string;
    region: string;
    amazonSideAsn?: number;
    vpnEcmpSupport?: 'enable' | 'disable';
    tags?: Record<string, string>;
  }): TransitGateway {
    const transitGatewayId = this.#id('tgw');
    const rtb: TgwRouteTable = {
      transitGatewayRouteTableId: this.#id('tgw-rtb'),
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
    this.transitGateways.set(transitGatewayId, tgw);
    this.tgwRouteTables.set(rtb.transitGatewayRouteTableId, rtb);
    return tgw;
  }

  #tgw(id: string): TransitGateway {
    const t = this.transitGateways.get(id);
    if (!t || t.state === 'deleted') throw notFound('transit gateway', id);
    return t;
  }

  #tgwRtb(id: string): TgwRouteTable {
    const t = this.tgwRouteTables.get(id);
    if (!t) throw notFound('transit gateway route table', id);
    return t;
  }

  #tgwAttachment(id: string): TgwAttachment {
    const a = this.tgwAttachments.get(id);
    if (!a || a.state === 'deleted') throw notFound('transit gateway attachment', id);
    return a;
  }

  /** Creates an attachment associated with and propagating to the default route table. */
  #attach(transitGatewayId: string, resourceType: TgwResourceType, resourceId: string): TgwAttachment {
    const tgw = this.#tgw(transitGatewayId);
    const att: TgwAttachment = {
      transitGatewayAttachmentId: this.#id('tgw-attach'),
      transitGatewayId,
      resourceType,
      resourceId,
      state: 'available',
      associatedRouteTableId: tgw.associationDefaultRouteTableId,
    };
    this.tgwAttachments.set(att.transitGatewayAttachmentId, att);
    this.#tgwRtb(tgw.propagationDefaultRouteTableId).propagations.push(att.transitGatewayAttachmentId);
    return att;
  }

  attachVpcToTransitGateway(transitGatewayId: string, vpcId: string): TgwAttachment {
    this.#vpc(vpcId);
    const att = this.#attach(transitGatewayId, 'vpc', vpcId);
    this.refresh();
    return att;
  }

  /** EnableTransitGatewayRouteTablePropagation. */
  enableTgwPropagation(transitGatewayRouteTableId: string, transitGatewayAttachmentId: string): void {
    const rtb = this.#tgwRtb(transitGatewayRouteTableId);
    this.#tgwAttachment(transitGatewayAttachmentId);
    if (!rtb.propagations.includes(transitGatewayAttachmentId))
      rtb.propagations.push(transitGatewayAttachmentId);
    this.refresh();
  }

  /** DisableTransitGatewayRouteTablePropagation: the per-VPN drain on a Transit Gateway. */
  disableTgwPropagation(transitGatewayRouteTableId: string, transitGatewayAttachmentId: string): void {
    const rtb = this.#tgwRtb(transitGatewayRouteTableId);
    if (!rtb.propagations.includes(transitGatewayAttachmentId))
      throw new NetworkError(
        'IncorrectState',
        `${transitGatewayAttachmentId} does not propagate to ${transitGatewayRouteTableId}`,
      );
    rtb.propagations = rtb.propagations.filter((a) => a !== transitGatewayAttachmentId);
    this.refresh();
  }

  createTgwRoute(
    transitGatewayRouteTableId: string,
    route: { destinationCidrBlock: string; transitGatewayAttachmentId?: string; blackhole?: boolean },
  ): void {
    const rtb = this.#tgwRtb(transitGatewayRouteTableId);
    rtb.staticRoutes.push({ ...route, destinationCidrBlock: parseCidr(route.destinationCidrBlock).text });
    this.refresh();
  }

  /**
   * Associates a Direct Connect gateway with a VGW or TGW (for links whose view does not list
   * gateways). A TGW association creates the `direct-connect-gateway` attachment.
   */
  associateDxGateway(dxGatewayIdIn: string, gatewayId: string): void {
    // Direct Connect gateway ids are UUIDs; compare them case-insensitively (stored upper-case).
    const dxGatewayId = dxGatewayIdIn.toUpperCase();
    if (gatewayId.startsWith('tgw-')) {
      const exists = [...this.tgwAttachments.values()].some(
        (a) => a.transitGatewayId === gatewayId && a.resourceId === dxGatewayId && a.state === 'available',
      );
      if (!exists) this.#attach(gatewayId, 'direct-connect-gateway', dxGatewayId);
    } else this.#vgw(gatewayId);
    const set = this.dxAssociations.get(dxGatewayId) ?? new Set<string>();
    set.add(gatewayId);
    this.dxAssociations.set(dxGatewayId, set);
    this.refresh();
  }

  /** Removes a Direct Connect gateway association (the TGW attachment, if any, is deleted). */
  disassociateDxGateway(dxGatewayIdIn: string, gatewayId: string): void {
    const dxGatewayId = dxGatewayIdIn.toUpperCase();
    this.dxAssociations.get(dxGatewayId)?.delete(gatewayId);
    for (const a of this.tgwAttachments.values())
      if (
        a.transitGatewayId === gatewayId &&
        a.resourceId === dxGatewayId &&
        a.resourceType === 'direct-connect-gateway'
      ) {
        a.state = 'deleted';
        for (const rtb of this.tgwRouteTables.values())
          rtb.propagations = rtb.propagations.filter((x) => x !== a.transitGatewayAttachmentId);
      }
    this.refresh();
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
      customerGatewayId: this.#id('cgw'),
      accountId: opts.accountId,
      region: opts.region,
      ipAddress: opts.ipAddress,
      bgpAsn: opts.bgpAsn,
      type: 'ipsec.1',
      state: 'available',
      tags: opts.tags ?? {},
    };
    this.customerGateways.set(cgw.customerGatewayId, cgw);
    return cgw;
  }

  deleteCustomerGateway(customerGatewayId: string): void {
    const cgw = this.customerGateways.get(customerGatewayId);
    if (!cgw || cgw.state === 'deleted') throw notFound('customer gateway', customerGatewayId);
    const user = [...this.vpnConnections.values()].find(
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
    const cgw = this.customerGateways.get(opts.customerGatewayId);
    if (!cgw || cgw.state === 'deleted') throw notFound('customer gateway', opts.customerGatewayId);
    if (!!opts.vpnGatewayId === !!opts.transitGatewayId)
      throw new NetworkError(
        'Invalid',
        'a VPN connection needs exactly one of vpnGatewayId and transitGatewayId',
      );
    if (opts.vpnGatewayId) this.#vgw(opts.vpnGatewayId);
    if (opts.transitGatewayId) this.#tgw(opts.transitGatewayId);
    const vpnConnectionId = this.#id('vpn');
    const tunnels = [0, 1].map((i): AwsVpnTunnel => {
      const inside = opts.tunnels?.[i]?.tunnelInsideCidr ?? this.#insideCidr();
      return {
        outsideIpAddress: this.#publicIp('aws'),
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
    this.vpnConnections.set(vpnConnectionId, vpn);
    this.refresh();
    return vpn;
  }

  #vpn(id: string): VpnConnection {
    const v = this.vpnConnections.get(id);
    if (!v || v.state === 'deleted') throw notFound('VPN connection', id);
    return v;
  }

  /** DeleteVpnConnection: the connection stays listed as `deleted`, its tunnels go down. */
  deleteVpnConnection(vpnConnectionId: string): void {
    const vpn = this.#vpn(vpnConnectionId);
    vpn.state = 'deleted';
    if (vpn.transitGatewayAttachmentId) {
      const att = this.tgwAttachments.get(vpn.transitGatewayAttachmentId);
      if (att) att.state = 'deleted';
      for (const rtb of this.tgwRouteTables.values())
        rtb.propagations = rtb.propagations.filter((a) => a !== vpn.transitGatewayAttachmentId);
    }
    this.refresh();
  }

  /** CreateVpnConnectionRoute: static VPNs only. */
  createVpnConnectionRoute(vpnConnectionId: string, destinationCidrBlock: string): void {
    const vpn = this.#vpn(vpnConnectionId);
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
    this.refresh();
  }

  /** DeleteVpnConnectionRoute: the route is withdrawn at once (listed as `deleted` for a while). */
  deleteVpnConnectionRoute(vpnConnectionId: string, destinationCidrBlock: string): void {
    const vpn = this.#vpn(vpnConnectionId);
    const dest = parseCidr(destinationCidrBlock).text;
    const r = vpn.routes.find((x) => x.destinationCidrBlock === dest && x.state === 'available');
    if (!r) throw notFound('VPN connection route', `${dest} on ${vpnConnectionId}`);
    r.state = 'deleted';
    this.refresh();
  }

  // -------------------------------------------------------------------------------------------
  // Google: networks, gateways, tunnels, routers, static routes

  addGcpNetwork(opts: {
    project: string;
    name: string;
    subnets: GcpSubnet[];
    routingMode?: 'GLOBAL' | 'REGIONAL';
  }): GcpNetwork {
    const key = gcpNetworkId(opts.project, opts.name);
    if (this.gcpNetworks.has(key)) throw new NetworkError('AlreadyExists', `network ${key} exists`, key);
    const net: GcpNetwork = {
      project: opts.project,
      name: opts.name,
      routingMode: opts.routingMode ?? 'GLOBAL',
      subnets: opts.subnets.map((s) => ({ ...s, ipCidrRange: parseCidr(s.ipCidrRange).text })),
    };
    this.gcpNetworks.set(key, net);
    this.refresh();
    return net;
  }

  #gcpNetwork(project: string, name: string): GcpNetwork {
    const n = this.gcpNetworks.get(gcpNetworkId(project, name));
    if (!n) throw notFound('network', gcpNetworkId(project, name));
    return n;
  }

  createExternalVpnGateway(opts: {
    project: string;
    name: string;
    interfaces: Array<{ id: number; ipAddress: string }>;
    labels?: Record<string, string>;
    description?: string;
  }): ExternalVpnGateway {
    const key = `${opts.project}/${opts.name}`;
    if (this.externalVpnGateways.has(key))
      throw new NetworkError('AlreadyExists', `external VPN gateway ${opts.name} exists`, opts.name);
    const n = opts.interfaces.length;
    const gw: ExternalVpnGateway = {
      project: opts.project,
      name: opts.name,
      id: this.#numericId(),
      redundancyType:
        n === 1 ? 'SINGLE_IP_INTERNALLY_REDUNDANT' : n === 2 ? 'TWO_IPS_REDUNDANCY' : 'FOUR_IPS_REDUNDANCY',
      interfaces: opts.interfaces.map((i) => ({ ...i })),
      labels: opts.labels ?? {},
      description: opts.description ?? '',
      creationTimestamp: this.clock.now(),
    };
    this.externalVpnGateways.set(key, gw);
    this.refresh();
    return gw;
  }

  deleteExternalVpnGateway(project: string, name: string): void {
    const key = `${project}/${name}`;
    if (!this.externalVpnGateways.has(key)) throw notFound('external VPN gateway', name);
    const user = [...this.vpnTunnels.values()].find(
      (t) => t.project === project && t.peerExternalGateway === name,
    );
    if (user)
      throw new NetworkError(
        'InUse',
        `The external VPN gateway resource '${name}' is already being used by '${user.name}'`,
        name,
      );
    this.externalVpnGateways.delete(key);
    this.refresh();
  }

  createHaVpnGateway(opts: {
    project: string;
    region: string;
    name: string;
    network: string;
    labels?: Record<string, string>;
  }): HaVpnGateway {
    this.#gcpNetwork(opts.project, opts.network);
    const key = regional(opts.project, opts.region, opts.name);
    if (this.haVpnGateways.has(key))
      throw new NetworkError('AlreadyExists', `VPN gateway ${opts.name} exists`);
    const gw: HaVpnGateway = {
      project: opts.project,
      region: opts.region,
      name: opts.name,
      id: this.#numericId(),
      network: opts.network,
      vpnInterfaces: [0, 1].map((id) => ({ id, ipAddress: this.#publicIp('gcp') })),
      labels: opts.labels ?? {},
      creationTimestamp: this.clock.now(),
    };
    this.haVpnGateways.set(key, gw);
    return gw;
  }

  createTargetVpnGateway(opts: {
    project: string;
    region: string;
    name: string;
    network: string;
  }): TargetVpnGateway {
    this.#gcpNetwork(opts.project, opts.network);
    const gw: TargetVpnGateway = {
      ...opts,
      id: this.#numericId(),
      ipAddress: this.#publicIp('gcp'),
      creationTimestamp: this.clock.now(),
    };
    this.targetVpnGateways.set(regional(opts.project, opts.region, opts.name), gw);
    return gw;
  }

  createRouter(opts: {
    project: string;
    region: string;
    name: string;
    network: string;
    asn: number;
  }): GcpRouter {
    this.#gcpNetwork(opts.project, opts.network);
    const key = regional(opts.project, opts.region, opts.name);
    if (this.routers.has(key)) throw new NetworkError('AlreadyExists', `router ${opts.name} exists`);
    const r: GcpRouter = {
      project: opts.project,
      region: opts.region,
      name: opts.name,
      id: this.#numericId(),
      network: opts.network,
      bgp: { asn: opts.asn, advertiseMode: 'DEFAULT' },
      interfaces: [],
      bgpPeers: [],
      creationTimestamp: this.clock.now(),
    };
    this.routers.set(key, r);
    return r;
  }

  router(project: string, region: string, name: string): GcpRouter {
    const r = this.routers.get(regional(project, region, name));
    if (!r) throw notFound('router', name);
    return r;
  }

  /**
   * routers.patch: repeated fields given replace the whole list (as PATCH does for arrays).
   * Refuses a peer whose interface is missing, or an interface linked to a missing tunnel.
   */
  patchRouter(
    project: string,
    region: string,
    name: string,
    patch: { interfaces?: RouterInterface[]; bgpPeers?: RouterBgpPeer[]; bgp?: Partial<GcpRouter['bgp']> },
  ): GcpRouter {
    const r = this.router(project, region, name);
    const interfaces = patch.interfaces ?? r.interfaces;
    const peers = patch.bgpPeers ?? r.bgpPeers;
    for (const i of interfaces) {
      if (
        i.linkedVpnTunnel &&
        !this.vpnTunnels.has(regional(project, region, i.linkedVpnTunnel)) &&
        !r.interfaces.some((o) => o.name === i.name && o.linkedVpnTunnel === i.linkedVpnTunnel)
      )
        throw new NetworkError(
          'Invalid',
          `interface ${i.name}: VPN tunnel ${i.linkedVpnTunnel} does not exist`,
        );
      if (i.ipRange) {
        try {
          toNetwork(i.ipRange);
        } catch {
          throw new NetworkError(
            'Invalid',
            `interface ${i.name}: ipRange ${i.ipRange} is not an address/length`,
          );
        }
      }
    }
    for (const p of peers) {
      if (!interfaces.some((i) => i.name === p.interfaceName))
        throw new NetworkError('Invalid', `BGP peer ${p.name}: interface ${p.interfaceName} does not exist`);
      if (p.enable !== undefined && p.enable !== 'TRUE' && p.enable !== 'FALSE')
        throw new NetworkError('Invalid', `BGP peer ${p.name}: enable must be TRUE or FALSE`);
    }
    const names = new Set<string>();
    for (const p of peers) {
      if (names.has(p.name)) throw new NetworkError('Invalid', `duplicate BGP peer ${p.name}`);
      names.add(p.name);
    }
    r.interfaces = interfaces.map((i) => ({ ...i }));
    r.bgpPeers = peers.map((p) => ({ ...p }));
    if (patch.bgp) r.bgp = { ...r.bgp, ...patch.bgp };
    this.refresh();
    return r;
  }

  /** Sets `enable` on the named peers of a router (the reversible drain). */
  setBgpPeersEnabled(
    project: string,
    region: string,
    router: string,
    peerNames: readonly string[],
    enable: boolean,
  ): void {
    const r = this.router(project, region, router);
    for (const n of peerNames) if (!r.bgpPeers.some((p) => p.name === n)) throw notFound('BGP peer', n);
    this.patchRouter(project, region, router, {
      bgpPeers: r.bgpPeers.map((p) =>
        peerNames.includes(p.name) ? { ...p, enable: enable ? 'TRUE' : 'FALSE' } : p,
      ),
    });
  }

  createVpnTunnel(opts: {
    project: string;
    region: string;
    name: string;
    vpnGateway?: string;
    vpnGatewayInterface?: number;
    targetVpnGateway?: string;
    peerExternalGateway?: string;
    peerExternalGatewayInterface?: number;
    peerIp?: string;
    router?: string;
    sharedSecret: string;
    ikeVersion?: 1 | 2;
    labels?: Record<string, string>;
    description?: string;
  }): GcpVpnTunnel {
    const key = regional(opts.project, opts.region, opts.name);
    if (this.vpnTunnels.has(key)) throw new NetworkError('AlreadyExists', `VPN tunnel ${opts.name} exists`);
    let peerIp = opts.peerIp;
    if (opts.vpnGateway) {
      const gw = this.haVpnGateways.get(regional(opts.project, opts.region, opts.vpnGateway));
      if (!gw) throw notFound('VPN gateway', opts.vpnGateway);
      if (!gw.vpnInterfaces.some((i) => i.id === (opts.vpnGatewayInterface ?? 0)))
        throw new NetworkError(
          'Invalid',
          `VPN gateway ${opts.vpnGateway} has no interface ${opts.vpnGatewayInterface}`,
        );
      if (!opts.peerExternalGateway)
        throw new NetworkError('Invalid', 'an HA VPN tunnel to AWS needs peerExternalGateway');
    } else if (opts.targetVpnGateway) {
      if (!this.targetVpnGateways.has(regional(opts.project, opts.region, opts.targetVpnGateway)))
        throw notFound('target VPN gateway', opts.targetVpnGateway);
    } else throw new NetworkError('Invalid', 'a VPN tunnel needs vpnGateway or targetVpnGateway');
    if (opts.peerExternalGateway) {
      const ext = this.externalVpnGateways.get(`${opts.project}/${opts.peerExternalGateway}`);
      if (!ext) throw notFound('external VPN gateway', opts.peerExternalGateway);
      const itf = ext.interfaces.find((i) => i.id === (opts.peerExternalGatewayInterface ?? 0));
      if (!itf)
        throw new NetworkError(
          'Invalid',
          `external VPN gateway ${opts.peerExternalGateway} has no interface ${opts.peerExternalGatewayInterface}`,
        );
      peerIp = itf.ipAddress;
    }
    if (!peerIp) throw new NetworkError('Invalid', 'a VPN tunnel needs peerIp or peerExternalGateway');
    if (opts.router && !this.routers.has(regional(opts.project, opts.region, opts.router)))
      throw notFound('router', opts.router);
    const t: GcpVpnTunnel = {
      project: opts.project,
      region: opts.region,
      name: opts.name,
      id: this.#numericId(),
      vpnGateway: opts.vpnGateway,
      vpnGatewayInterface: opts.vpnGateway ? (opts.vpnGatewayInterface ?? 0) : undefined,
      targetVpnGateway: opts.targetVpnGateway,
      peerExternalGateway: opts.peerExternalGateway,
      peerExternalGatewayInterface: opts.peerExternalGateway
        ? (opts.peerExternalGatewayInterface ?? 0)
        : undefined,
      peerIp,
      router: opts.router,
      sharedSecret: opts.sharedSecret,
      ikeVersion: opts.ikeVersion ?? 2,
      labels: opts.labels ?? {},
      description: opts.description ?? '',
      creationTimestamp: this.clock.now(),
    };
    this.vpnTunnels.set(key, t);
    this.refresh();
    return t;
  }

  vpnTunnel(project: string, region: string, name: string): GcpVpnTunnel {
    const t = this.vpnTunnels.get(regional(project, region, name));
    if (!t) throw notFound('VPN tunnel', name);
    return t;
  }

  /** vpnTunnels.delete: the router's interface and peer stay (and go down), as on Google. */
  deleteVpnTunnel(project: string, region: string, name: string): void {
    this.vpnTunnel(project, region, name);
    this.vpnTunnels.delete(regional(project, region, name));
    this.refresh();
  }

  /** A custom static route to a (Classic) VPN tunnel. */
  createGcpRoute(opts: Omit<GcpStaticRoute, 'priority'> & { priority?: number }): GcpStaticRoute {
    this.#gcpNetwork(opts.project, opts.network);
    const key = `${opts.project}/${opts.name}`;
    if (this.gcpRoutes.has(key)) throw new NetworkError('AlreadyExists', `route ${opts.name} exists`);
    const r: GcpStaticRoute = {
      ...opts,
      destRange: parseCidr(opts.destRange).text,
      priority: opts.priority ?? 1000,
    };
    this.gcpRoutes.set(key, r);
    this.refresh();
    return r;
  }

  deleteGcpRoute(project: string, name: string): void {
    if (!this.gcpRoutes.delete(`${project}/${name}`)) throw notFound('route', name);
    this.refresh();
  }

  // -------------------------------------------------------------------------------------------
  // Traffic

  addFlow(spec: FlowSpec): Flow {
    if (!(spec.bytesPerSecond >= 0)) throw new NetworkError('Invalid', 'bytesPerSecond must be >= 0');
    this.#networkExists(spec.from);
    ipOf(spec.to);
    const flow: Flow = {
      ...spec,
      id: spec.name ?? this.#id('flow'),
      path: { delivered: false, via: { kind: 'none' } },
    };
    if (this.flows.has(flow.id)) throw new NetworkError('AlreadyExists', `flow ${flow.id} exists`);
    this.flows.set(flow.id, flow);
    this.refresh();
    return flow;
  }

  setFlowRate(flowId: string, bytesPerSecond: number): void {
    const f = this.flows.get(flowId);
    if (!f) throw notFound('flow', flowId);
    f.bytesPerSecond = bytesPerSecond;
    this.refresh();
  }

  removeFlow(flowId: string): void {
    if (!this.flows.delete(flowId)) throw notFound('flow', flowId);
    this.refresh();
  }

  #networkExists(id: NetworkId): void {
    if (id.startsWith('projects/')) {
      if (!this.gcpNetworks.has(id)) throw notFound('network', id);
    } else this.#vpc(id);
  }

  // -------------------------------------------------------------------------------------------
  // Reading the world

  /** Recomputes paths and re-rates counters now. Call after changing links outside the model. */
  refresh(): void {
    this.#links.setWatching?.(this.flows.size > 0);
    const now = this.clock.now();
    const snap = this.#compute();
    this.#snapshot = snap;
    // Tunnel status history (lastStatusChange, TunnelState).
    for (const vpn of this.vpnConnections.values()) {
      for (const t of vpn.tunnels) {
        const key = `${vpn.vpnConnectionId}/${t.outsideIpAddress}`;
        const up = vpn.state === 'available' && this.#awsTunnelUp(snap, vpn, t);
        const prev = this.#awsTunnelStatus.get(key);
        if (!prev || prev.up !== up) this.#awsTunnelStatus.set(key, { up, since: now });
        this.counters.set(`aws-tunnel-state/${key}`, now, up ? 1 : 0);
      }
    }
    const liveSessions = new Set<string>();
    for (const p of snap.pairs) {
      if (!p.bgpUp) continue;
      const k = `${p.vpn.vpnConnectionId}/${p.aws.outsideIpAddress}`;
      liveSessions.add(k);
      if (!this.#bgpUpSince.has(k)) this.#bgpUpSince.set(k, now);
    }
    for (const k of [...this.#bgpUpSince.keys()]) if (!liveSessions.has(k)) this.#bgpUpSince.delete(k);

    // Rates: every tunnel and link counter exists (at 0) from the moment its resource does.
    const rates = new Map<string, number>();
    for (const vpn of this.vpnConnections.values())
      for (const t of vpn.tunnels) {
        rates.set(counterKey.awsTunnelIn(vpn.vpnConnectionId, t.outsideIpAddress), 0);
        rates.set(counterKey.awsTunnelOut(vpn.vpnConnectionId, t.outsideIpAddress), 0);
      }
    for (const t of this.vpnTunnels.values()) {
      rates.set(counterKey.gcpTunnelSent(t.project, t.region, t.name), 0);
      rates.set(counterKey.gcpTunnelReceived(t.project, t.region, t.name), 0);
    }
    for (const l of snap.links) {
      rates.set(counterKey.linkAwsToGcp(l.linkId), 0);
      rates.set(counterKey.linkGcpToAws(l.linkId), 0);
    }
    const add = (k: string, v: number) => rates.set(k, (rates.get(k) ?? 0) + v);
    for (const flow of this.flows.values()) {
      const { path, hops } = this.#route(snap, flow.from, ipOf(flow.to));
      flow.path = path;
      for (const h of hops) add(h.key, flow.bytesPerSecond * h.share);
      add(counterKey.flowDelivered(flow.id), path.delivered ? flow.bytesPerSecond : 0);
      add(counterKey.flowDropped(flow.id), path.delivered ? 0 : flow.bytesPerSecond);
    }
    for (const key of this.counters.keys())
      if (!rates.has(key) && !key.startsWith('aws-tunnel-state/')) rates.set(key, 0);
    for (const [k, v] of rates) this.counters.set(k, now, v);
  }

  #snap(): Snapshot {
    if (!this.#snapshot) this.refresh();
    return this.#snapshot as Snapshot;
  }

  /** The current links as the model sees them. */
  links(): LinkRouteView[] {
    return this.#snap().links.map((l) => ({ ...l }));
  }

  /** Bytes counted on `key` (see `counterKey`) in [from, to) of virtual time. */
  counter(key: string, from: number, to: number = this.clock.now()): number {
    return this.counters.total(key, from, to);
  }

  /** Per-period sums on `key` (for timeSeries.list and GetMetricData). */
  counterBuckets(key: string, from: number, to: number, periodMs: number) {
    const c = this.counters.get(key);
    if (!c) return [];
    return c.buckets(from, to, periodMs);
  }

  /** When a counter started existing (the first point a metrics API can return). */
  counterSince(key: string): number | undefined {
    return this.counters.get(key)?.since;
  }

  /** The current rate (bytes/s) of a counter. */
  rate(key: string): number {
    return this.counters.get(key)?.rateAt(this.clock.now()) ?? 0;
  }

  flow(flowId: string): Flow {
    const f = this.flows.get(flowId);
    if (!f) throw notFound('flow', flowId);
    this.#snap();
    return { ...f, path: structuredClone(f.path) };
  }

  /** EC2 VgwTelemetry of a VPN connection. */
  vgwTelemetry(vpnConnectionId: string): VgwTelemetry[] {
    const vpn = this.vpnConnections.get(vpnConnectionId);
    if (!vpn) throw notFound('VPN connection', vpnConnectionId);
    const snap = this.#snap();
    return vpn.tunnels.map((t) => {
      const st = this.#awsTunnelStatus.get(`${vpnConnectionId}/${t.outsideIpAddress}`);
      const pair = snap.pairs.find((p) => p.vpn === vpn && p.aws === t);
      const accepted = pair?.bgpUp ? this.#advertisedByGoogle(pair).length : 0;
      const up = st?.up ?? false;
      let message = 'Tunnel is down';
      if (up) message = vpn.staticRoutesOnly ? '' : `${accepted} BGP ROUTES`;
      else if (pair?.ipsecUp && !vpn.staticRoutesOnly) message = 'IPSEC IS UP';
      return {
        outsideIpAddress: t.outsideIpAddress,
        status: up ? 'UP' : 'DOWN',
        statusMessage: message,
        lastStatusChange: st?.since ?? this.clock.now(),
        acceptedRouteCount: accepted,
      };
    });
  }

  /** TunnelState (1 up, 0 down) of an AWS tunnel at an instant. */
  awsTunnelStateAt(vpnConnectionId: string, outsideIp: string, at: number): number {
    return this.counters.get(`aws-tunnel-state/${vpnConnectionId}/${outsideIp}`)?.rateAt(at) ?? 0;
  }

  /**
   * CloudWatch `AWS/VPN` datapoints of one tunnel (dimensions VpnId + TunnelIpAddress), for
   * GetMetricData / GetMetricStatistics: AWS samples the tunnel every 5 minutes; each TunnelDataIn /
   * TunnelDataOut sample is the bytes of its 5 minutes, TunnelState is 1 (up) or 0. Per
   * `periodSeconds` window (ending at `end`, oldest first) it returns the statistic over the samples
   * in it; windows before the tunnel existed are omitted, as CloudWatch has no data there.
   */
  awsVpnMetric(q: {
    vpnConnectionId: string;
    tunnelIpAddress: string;
    metric: 'TunnelDataIn' | 'TunnelDataOut' | 'TunnelState';
    stat: 'Sum' | 'Average' | 'Maximum' | 'Minimum' | 'SampleCount';
    start: number;
    end: number;
    periodSeconds: number;
  }): Array<{ timestamp: number; value: number }> {
    const SAMPLE = 300_000;
    const key =
      q.metric === 'TunnelDataIn'
        ? counterKey.awsTunnelIn(q.vpnConnectionId, q.tunnelIpAddress)
        : q.metric === 'TunnelDataOut'
          ? counterKey.awsTunnelOut(q.vpnConnectionId, q.tunnelIpAddress)
          : `aws-tunnel-state/${q.vpnConnectionId}/${q.tunnelIpAddress}`;
    const c = this.counters.get(key);
    if (!c || !(q.periodSeconds > 0)) return [];
    const period = q.periodSeconds * 1000;
    const out: Array<{ timestamp: number; value: number }> = [];
    // CloudWatch aligns periods to the epoch; samples fall on 5-minute boundaries.
    for (let t = Math.floor(q.start / period) * period; t < q.end; t += period) {
      const samples: number[] = [];
      // Each sample covers [s, s + 5 min) and is stamped s; only complete samples are published.
      const last = Math.min(q.end, this.clock.now());
      for (
        let s = Math.max(t, Math.floor(c.since / SAMPLE) * SAMPLE);
        s < t + period && s + SAMPLE <= last;
        s += SAMPLE
      ) {
        const from = Math.max(s, c.since);
        samples.push(q.metric === 'TunnelState' ? c.rateAt(from) : c.integrate(from, s + SAMPLE));
      }
      if (samples.length === 0) continue;
      const sum = samples.reduce((a, b) => a + b, 0);
      const value =
        q.stat === 'Sum'
          ? sum
          : q.stat === 'Average'
            ? sum / samples.length
            : q.stat === 'Maximum'
              ? Math.max(...samples)
              : q.stat === 'Minimum'
                ? Math.min(...samples)
                : samples.length;
      out.push({ timestamp: t, value });
    }
    return out;
  }

  /** A VPC's main route table as DescribeRouteTables shows it: one route per destination. */
  vpcRoutes(routeTableId: string): AwsVpcRoute[] {
    const rtb = this.#rtb(routeTableId);
    const vpc = this.#vpc(rtb.vpcId);
    const snap = this.#snap();
    const out = new Map<string, AwsVpcRoute>();
    for (const c of vpc.cidrBlocks)
      out.set(c, {
        destinationCidrBlock: c,
        gatewayId: 'local',
        origin: 'CreateRouteTable',
        state: 'active',
      });
    for (const r of rtb.staticRoutes) {
      if (out.has(r.destinationCidrBlock)) continue;
      const live = r.gatewayId
        ? this.vpnGateways
            .get(r.gatewayId)
            ?.vpcAttachments.some((a) => a.vpcId === vpc.vpcId && a.state === 'attached')
        : this.#vpcTgwAttachment(vpc.vpcId, r.transitGatewayId) !== undefined;
      out.set(r.destinationCidrBlock, {
        destinationCidrBlock: r.destinationCidrBlock,
        ...(r.gatewayId ? { gatewayId: r.gatewayId } : { transitGatewayId: r.transitGatewayId }),
        origin: 'CreateRoute',
        state: live ? 'active' : 'blackhole',
      });
    }
    for (const vgwId of rtb.propagatingVgws) {
      const attached = this.vpnGateways
        .get(vgwId)
        ?.vpcAttachments.some((a) => a.vpcId === vpc.vpcId && a.state === 'attached');
      if (!attached) continue;
      for (const r of snap.vgw.get(vgwId) ?? []) {
        if (!r.best || out.has(r.destinationCidrBlock)) continue;
        out.set(r.destinationCidrBlock, {
          destinationCidrBlock: r.destinationCidrBlock,
          gatewayId: vgwId,
          origin: 'EnableVgwRoutePropagation',
          state: 'active',
        });
      }
    }
    return [...out.values()];
  }

  /** The routes a virtual private gateway holds (all candidates, `best` marked). Not an AWS API: AWS hides this. */
  vgwRoutes(vpnGatewayId: string): AwsGatewayRoute[] {
    this.#vgw(vpnGatewayId);
    return structuredClone(this.#snap().vgw.get(vpnGatewayId) ?? []);
  }

  /** A Transit Gateway route table (SearchTransitGatewayRoutes): `best` per destination; `all` adds the losers. */
  tgwRoutes(transitGatewayRouteTableId: string, all = false): AwsGatewayRoute[] {
    this.#tgwRtb(transitGatewayRouteTableId);
    const routes = this.#snap().tgw.get(transitGatewayRouteTableId) ?? [];
    return structuredClone(all ? routes : routes.filter((r) => r.best));
  }

  /** Every route of a Google network with `best` marked: the effective routes are the best ones. */
  gcpNetworkRoutes(project: string, network: string): GcpRoute[] {
    this.#gcpNetwork(project, network);
    return structuredClone(this.#snap().gcp.get(gcpNetworkId(project, network)) ?? []);
  }

  /** The routes the network uses (one or more per destination with ECMP). */
  gcpEffectiveRoutes(project: string, network: string): GcpRoute[] {
    return this.gcpNetworkRoutes(project, network).filter((r) => r.best);
  }

  gcpTunnelStatus(
    project: string,
    region: string,
    name: string,
  ): { status: GcpTunnelStatus; detailedStatus: string } {
    const t = this.vpnTunnel(project, region, name);
    const pair = this.#snap().pairs.find((p) => p.gcp === t);
    if (!pair) return { status: 'NO_INCOMING_PACKETS', detailedStatus: 'No incoming packets from peer.' };
    if (!pair.ipsecUp)
      return {
        status: 'AUTHORIZATION_ERROR',
        detailedStatus: pair.ipsecReason ?? 'Peer authentication failed.',
      };
    if (t.vpnGateway && !t.router)
      return { status: 'WAITING_FOR_FULL_CONFIG', detailedStatus: 'Waiting for a Cloud Router.' };
    return { status: 'ESTABLISHED', detailedStatus: 'Tunnel is up and running.' };
  }

  /** routers.getRouterStatus. */
  routerStatus(project: string, region: string, name: string): RouterStatus {
    const r = this.router(project, region, name);
    const snap = this.#snap();
    const netRoutes = snap.gcp.get(gcpNetworkId(project, r.network)) ?? [];
    const mine = netRoutes.filter((x) => x.router === name && x.region === region && x.best);
    const now = this.clock.now();
    const bgpPeerStatus = r.bgpPeers.map((peer): BgpPeerStatus => {
      const itf = r.interfaces.find((i) => i.name === peer.interfaceName);
      const pair = snap.pairs.find((p) => p.router === r && p.peer?.name === peer.name);
      const up = pair?.bgpUp ?? false;
      const since = pair
        ? this.#bgpUpSince.get(`${pair.vpn.vpnConnectionId}/${pair.aws.outsideIpAddress}`)
        : undefined;
      const learned = (snap.learned.get(regional(project, region, name)) ?? []).filter(
        (x) => pair && x.nextHopVpnTunnel === pair.gcp.name,
      );
      let reason: string | undefined;
      if (peer.enable === 'FALSE') reason = 'the peer is disabled (enable: FALSE)';
      else if (!itf?.linkedVpnTunnel) reason = 'the interface has no VPN tunnel';
      else if (!pair) reason = `tunnel ${itf.linkedVpnTunnel} has no peer tunnel`;
      else if (!up) reason = pair.bgpReason ?? pair.ipsecReason;
      return {
        name: peer.name,
        linkedVpnTunnel: itf?.linkedVpnTunnel,
        ipAddress: peer.ipAddress ?? itf?.ipRange?.split('/')[0],
        peerIpAddress: peer.peerIpAddress,
        enable: peer.enable ?? 'TRUE',
        status: up ? 'UP' : 'DOWN',
        state: up ? 'Established' : peer.enable === 'FALSE' ? 'Idle' : 'Active',
        reason: up ? undefined : reason,
        upSince: up ? (since ?? now) : undefined,
        numLearnedRoutes: up ? learned.length : 0,
        advertisedRoutes: up && pair ? this.#advertisedByGoogle(pair) : [],
      };
    });
    return {
      network: r.network,
      bestRoutes: structuredClone(mine),
      bestRoutesForRouter: structuredClone(mine),
      bgpPeerStatus,
    };
  }

  /** Which Google tunnels pair with an AWS VPN connection's tunnels (by outside addresses). */
  pairedTunnels(vpnConnectionId: string): Array<{
    awsOutsideIp: string;
    gcpTunnel: { project: string; region: string; name: string };
    ipsecUp: boolean;
    bgpUp: boolean;
  }> {
    return this.#snap()
      .pairs.filter((p) => p.vpn.vpnConnectionId === vpnConnectionId)
      .map((p) => ({
        awsOutsideIp: p.aws.outsideIpAddress,
        gcpTunnel: { project: p.gcp.project, region: p.gcp.region, name: p.gcp.name },
        ipsecUp: p.ipsecUp,
        bgpUp: p.bgpUp,
      }));
  }

  // -------------------------------------------------------------------------------------------
  // The computation

  #linkViews(): LinkRouteView[] {
    return this.#links.links().map((l) => ({ ...l }));
  }

  #gatewaysOf(link: LinkRouteView): string[] {
    return [
      ...new Set([
        ...(link.aws.gateways ?? []),
        ...(this.dxAssociations.get(link.aws.dxGatewayId.toUpperCase()) ?? []),
      ]),
    ];
  }

  #gcpLocalIp(t: GcpVpnTunnel): string | undefined {
    if (t.vpnGateway)
      return this.haVpnGateways
        .get(regional(t.project, t.region, t.vpnGateway))
        ?.vpnInterfaces.find((i) => i.id === t.vpnGatewayInterface)?.ipAddress;
    if (t.targetVpnGateway)
      return this.targetVpnGateways.get(regional(t.project, t.region, t.targetVpnGateway))?.ipAddress;
    return undefined;
  }

  #awsAsn(vpn: VpnConnection): number | undefined {
    if (vpn.vpnGatewayId) return this.vpnGateways.get(vpn.vpnGatewayId)?.amazonSideAsn;
    if (vpn.transitGatewayId) return this.transitGateways.get(vpn.transitGatewayId)?.amazonSideAsn;
    return undefined;
  }

  #pairs(): Pair[] {
    const byEndpoints = new Map<string, GcpVpnTunnel[]>();
    for (const t of this.vpnTunnels.values()) {
      const local = this.#gcpLocalIp(t);
      if (!local) continue;
      const k = `${local}|${t.peerIp}`;
      byEndpoints.set(k, [...(byEndpoints.get(k) ?? []), t]);
    }
    const pairs: Pair[] = [];
    for (const vpn of this.vpnConnections.values()) {
      if (vpn.state !== 'available') continue;
      const cgw = this.customerGateways.get(vpn.customerGatewayId);
      if (!cgw) continue;
      vpn.tunnels.forEach((aws, tunnelIndex) => {
        for (const gcp of byEndpoints.get(`${cgw.ipAddress}|${aws.outsideIpAddress}`) ?? []) {
          let ipsecReason: string | undefined;
          if (gcp.sharedSecret !== aws.preSharedKey) ipsecReason = 'pre-shared keys differ';
          else if (gcp.ikeVersion !== 2 && gcp.ikeVersion !== 1) ipsecReason = 'IKE version mismatch';
          const ipsecUp = ipsecReason === undefined;
          const router = gcp.router
            ? this.routers.get(regional(gcp.project, gcp.region, gcp.router))
            : undefined;
          const itf = router?.interfaces.find((i) => i.linkedVpnTunnel === gcp.name);
          const peer = itf ? router?.bgpPeers.find((p) => p.interfaceName === itf.name) : undefined;
          let bgpReason: string | undefined;
          if (vpn.staticRoutesOnly) bgpReason = 'the AWS VPN uses static routing';
          else if (!ipsecUp) bgpReason = 'IPsec is down';
          else if (!router) bgpReason = 'the tunnel has no Cloud Router';
          else if (!peer) bgpReason = `router ${router.name} has no BGP peer on tunnel ${gcp.name}`;
          else if (peer.enable === 'FALSE') bgpReason = 'the BGP peer is disabled';
          else if (peer.peerAsn !== this.#awsAsn(vpn))
            bgpReason = `peer ASN ${peer.peerAsn} is not the AWS side's ASN ${this.#awsAsn(vpn)}`;
          else if (cgw.bgpAsn !== router.bgp.asn)
            bgpReason = `the customer gateway's ASN ${cgw.bgpAsn} is not the router's ASN ${router.bgp.asn}`;
          else if (peer.peerIpAddress && peer.peerIpAddress !== aws.awsInsideIpAddress)
            bgpReason = `peer IP ${peer.peerIpAddress} is not the AWS inside address ${aws.awsInsideIpAddress}`;
          pairs.push({
            vpn,
            tunnelIndex,
            aws,
            gcp,
            ipsecUp,
            ipsecReason,
            bgpUp: bgpReason === undefined,
            bgpReason,
            router,
            peer,
          });
        }
      });
    }
    return pairs;
  }

  #awsTunnelUp(snap: Snapshot, vpn: VpnConnection, t: AwsVpnTunnel): boolean {
    const pair = snap.pairs.find((p) => p.vpn === vpn && p.aws === t);
    if (!pair) return false;
    return vpn.staticRoutesOnly ? pair.ipsecUp : pair.bgpUp;
  }

  /** The prefixes a Cloud Router advertises to AWS on one session. */
  #advertisedByGoogle(pair: Pair): GcpRoute[] {
    const r = pair.router;
    const peer = pair.peer;
    if (!r || !peer) return [];
    const net = this.gcpNetworks.get(gcpNetworkId(r.project, r.network));
    const subnets = (net?.subnets ?? [])
      .filter((s) => net?.routingMode === 'GLOBAL' || s.region === r.region)
      .map((s) => s.ipCidrRange);
    const mode = peer.advertiseMode ?? r.bgp.advertiseMode ?? 'DEFAULT';
    let prefixes: string[];
    if (mode === 'DEFAULT') prefixes = subnets;
    else {
      const groups =
        peer.advertiseMode === 'CUSTOM' ? (peer.advertisedGroups ?? []) : (r.bgp.advertisedGroups ?? []);
      const ranges =
        peer.advertiseMode === 'CUSTOM' ? (peer.advertisedIpRanges ?? []) : (r.bgp.advertisedIpRanges ?? []);
      prefixes = [
        ...(groups.includes('ALL_SUBNETS') ? subnets : []),
        ...ranges.map((x) => parseCidr(x.range).text),
      ];
    }
    return [...new Set(prefixes)].map((destRange) => ({
      network: gcpNetworkId(r.project, r.network),
      destRange,
      priority: peer.advertisedRoutePriority ?? 100,
      routeType: 'BGP',
      nextHopIp: pair.aws.customerInsideIpAddress,
      asPaths: [r.bgp.asn],
      best: true,
    }));
  }

  /** The prefixes AWS advertises to Google on one session. */
  #advertisedByAws(pair: Pair, snap: Pick<Snapshot, 'tgw'>): string[] {
    const vpn = pair.vpn;
    if (vpn.vpnGatewayId) {
      const vgw = this.vpnGateways.get(vpn.vpnGatewayId);
      return (vgw?.vpcAttachments ?? [])
        .filter((a) => a.state === 'attached')
        .flatMap((a) => this.vpcs.get(a.vpcId)?.cidrBlocks ?? []);
    }
    const att = vpn.transitGatewayAttachmentId
      ? this.tgwAttachments.get(vpn.transitGatewayAttachmentId)
      : undefined;
    if (!att?.associatedRouteTableId) return [];
    return (snap.tgw.get(att.associatedRouteTableId) ?? [])
      .filter(
        (r) =>
          r.best && r.state === 'active' && r.transitGatewayAttachmentId !== att.transitGatewayAttachmentId,
      )
      .map((r) => r.destinationCidrBlock);
  }

  #compute(): Snapshot {
    const pairs = this.#pairs();
    const links = this.#linkViews();
    const upLinks = links.filter((l) => l.up);

    // --- AWS: virtual private gateways.
    const vgw = new Map<string, AwsGatewayRoute[]>();
    for (const g of this.vpnGateways.values()) {
      if (g.state !== 'available') continue;
      const routes: AwsGatewayRoute[] = [];
      for (const l of upLinks)
        if (this.#gatewaysOf(l).includes(g.vpnGatewayId))
          for (const p of l.toAws)
            routes.push({
              destinationCidrBlock: parseCidr(p).text,
              origin: 'dx',
              type: 'propagated',
              state: 'active',
              target: { kind: 'link', linkId: l.linkId },
              best: false,
            });
      for (const vpn of this.vpnConnections.values())
        if (vpn.vpnGatewayId === g.vpnGatewayId && vpn.state === 'available')
          routes.push(...this.#vpnRoutes(vpn, pairs, false));
      vgw.set(
        g.vpnGatewayId,
        markBest(routes, (r) => r.destinationCidrBlock, awsRank),
      );
    }

    // --- AWS: transit gateway route tables. VPN attachments learn from Google (independent of TGW
    // tables), so one pass suffices; what AWS advertises back is read from these tables below.
    const tgw = new Map<string, AwsGatewayRoute[]>();
    for (const rtb of this.tgwRouteTables.values()) {
      const routes: AwsGatewayRoute[] = [];
      for (const s of rtb.staticRoutes) {
        const att = s.transitGatewayAttachmentId
          ? this.tgwAttachments.get(s.transitGatewayAttachmentId)
          : undefined;
        const live = !s.blackhole && att?.state === 'available';
        routes.push({
          destinationCidrBlock: s.destinationCidrBlock,
          origin: 'static',
          type: 'static',
          state: live ? 'active' : 'blackhole',
          target: live && att ? this.#attachmentTarget(att) : { kind: 'blackhole' },
          ...(att ? { transitGatewayAttachmentId: att.transitGatewayAttachmentId } : {}),
          best: false,
        });
      }
      for (const attId of rtb.propagations) {
        const att = this.tgwAttachments.get(attId);
        if (att?.state !== 'available') continue;
        const base = {
          type: 'propagated' as const,
          state: 'active' as const,
          transitGatewayAttachmentId: attId,
          best: false,
        };
        if (att.resourceType === 'vpc') {
          for (const c of this.vpcs.get(att.resourceId)?.cidrBlocks ?? [])
            routes.push({
              ...base,
              destinationCidrBlock: c,
              origin: 'vpc',
              target: { kind: 'vpc', vpcId: att.resourceId },
            });
        } else if (att.resourceType === 'direct-connect-gateway') {
          for (const l of upLinks)
            if (l.aws.dxGatewayId.toUpperCase() === att.resourceId)
              for (const p of l.toAws)
                routes.push({
                  ...base,
                  destinationCidrBlock: parseCidr(p).text,
                  origin: 'dx',
                  target: { kind: 'link', linkId: l.linkId },
                });
        } else {
          const vpn = this.vpnConnections.get(att.resourceId);
          if (vpn?.state === 'available')
            for (const r of this.#vpnRoutes(
              vpn,
              pairs,
              this.transitGateways.get(att.transitGatewayId)?.vpnEcmpSupport === 'enable',
            ))
              routes.push({ ...r, transitGatewayAttachmentId: attId });
        }
      }
      tgw.set(
        rtb.transitGatewayRouteTableId,
        markBest(
          routes,
          (r) => r.destinationCidrBlock,
          awsRank,
          (r) => r.state === 'active',
        ),
      );
    }

    // --- Google: routes per network.
    const gcp = new Map<string, GcpRoute[]>();
    const learned = new Map<string, GcpRoute[]>();
    const advertised = new Map<string, GcpRoute[]>();
    for (const [key, net] of this.gcpNetworks) {
      const routes: GcpRoute[] = [];
      for (const s of net.subnets)
        routes.push({
          network: key,
          destRange: s.ipCidrRange,
          priority: 0,
          routeType: 'SUBNET',
          region: s.region,
          best: false,
        });
      for (const s of this.gcpRoutes.values()) {
        if (s.project !== net.project || s.network !== net.name) continue;
        const tunnel = this.vpnTunnels.get(regional(s.project, s.region, s.nextHopVpnTunnel));
        const up = tunnel !== undefined && pairs.some((p) => p.gcp === tunnel && p.ipsecUp);
        routes.push({
          network: key,
          name: s.name,
          destRange: s.destRange,
          priority: s.priority,
          routeType: 'STATIC',
          nextHopVpnTunnel: s.nextHopVpnTunnel,
          region: s.region,
          // A route whose tunnel is down stays listed but is never selected.
          best: up,
        });
      }
      for (const p of pairs) {
        if (!p.bgpUp || !p.router || p.router.project !== net.project || p.router.network !== net.name)
          continue;
        const asn = this.#awsAsn(p.vpn);
        for (const prefix of this.#advertisedByAws(p, { tgw })) {
          const r: GcpRoute = {
            network: key,
            destRange: prefix,
            // Cloud Router uses the MED it receives as the learned route's priority.
            priority: p.vpn.bgpMed,
            routeType: 'BGP',
            nextHopVpnTunnel: p.gcp.name,
            region: p.gcp.region,
            nextHopIp: p.aws.awsInsideIpAddress,
            router: p.router.name,
            ...(asn === undefined ? {} : { asPaths: [asn] }),
            best: false,
          };
          routes.push(r);
          const rk = regional(p.router.project, p.router.region, p.router.name);
          learned.set(rk, [...(learned.get(rk) ?? []), r]);
        }
        advertised.set(`${p.vpn.vpnConnectionId}/${p.aws.outsideIpAddress}`, this.#advertisedByGoogle(p));
      }
      for (const l of upLinks) {
        if (l.gcp.project !== net.project || l.gcp.network !== net.name) continue;
        for (const p of l.toGcp)
          routes.push({
            network: key,
            destRange: parseCidr(p).text,
            priority: l.gcpPriority ?? 0,
            routeType: 'PEERING',
            nextHopPeering: l.linkId,
            best: false,
          });
      }
      const usable = (r: GcpRoute) => r.routeType !== 'STATIC' || r.best;
      gcp.set(
        key,
        markBest(routes, (r) => r.destRange, gcpRank, usable),
      );
    }
    return { pairs, vgw, tgw, gcp, learned, advertised, links };
  }

  #attachmentTarget(att: TgwAttachment): AwsGatewayRoute['target'] {
    if (att.resourceType === 'vpc') return { kind: 'vpc', vpcId: att.resourceId };
    if (att.resourceType === 'vpn') return { kind: 'vpn', vpnConnectionId: att.resourceId, tunnels: [] };
    const link = this.#linkViews().find((l) => l.up && l.aws.dxGatewayId.toUpperCase() === att.resourceId);
    return link ? { kind: 'link', linkId: link.linkId } : { kind: 'blackhole' };
  }

  /** The routes an AWS gateway learns from one VPN connection. */
  #vpnRoutes(vpn: VpnConnection, pairs: Pair[], ecmp: boolean): AwsGatewayRoute[] {
    const mine = pairs.filter((p) => p.vpn === vpn);
    if (vpn.staticRoutesOnly) {
      const up = mine.filter((p) => p.ipsecUp).map((p) => p.aws.outsideIpAddress);
      if (up.length === 0) return [];
      // Static VPN routes are used by one tunnel at a time.
      return vpn.routes
        .filter((r) => r.state === 'available')
        .map((r) => ({
          destinationCidrBlock: r.destinationCidrBlock,
          origin: 'vpn-static' as const,
          type: 'propagated' as const,
          state: 'active' as const,
          target: { kind: 'vpn' as const, vpnConnectionId: vpn.vpnConnectionId, tunnels: [up[0] as string] },
          best: false,
        }));
    }
    const byPrefix = new Map<string, { tunnels: string[]; asPath: number[]; med: number }>();
    for (const p of mine) {
      if (!p.bgpUp) continue;
      for (const adv of this.#advertisedByGoogle(p)) {
        const e = byPrefix.get(adv.destRange);
        if (!e)
          byPrefix.set(adv.destRange, {
            tunnels: [p.aws.outsideIpAddress],
            asPath: adv.asPaths ?? [],
            med: adv.priority,
          });
        else if (adv.priority < e.med)
          byPrefix.set(adv.destRange, {
            tunnels: [p.aws.outsideIpAddress],
            asPath: adv.asPaths ?? [],
            med: adv.priority,
          });
        else if (adv.priority === e.med && ecmp) e.tunnels.push(p.aws.outsideIpAddress);
      }
    }
    return [...byPrefix].map(([dest, e]) => ({
      destinationCidrBlock: dest,
      origin: 'vpn-bgp' as const,
      type: 'propagated' as const,
      state: 'active' as const,
      target: { kind: 'vpn' as const, vpnConnectionId: vpn.vpnConnectionId, tunnels: e.tunnels },
      asPath: e.asPath,
      med: e.med,
      best: false,
    }));
  }

  #vpcTgwAttachment(vpcId: string, transitGatewayId?: string): TgwAttachment | undefined {
    return [...this.tgwAttachments.values()].find(
      (a) =>
        a.resourceType === 'vpc' &&
        a.resourceId === vpcId &&
        a.state === 'available' &&
        (transitGatewayId === undefined || a.transitGatewayId === transitGatewayId),
    );
  }

  /** Follows a packet from `from` to `ip`: which counters it crosses, and whether it arrives. */
  #route(
    snap: Snapshot,
    from: NetworkId,
    ip: Cidr,
  ): { path: FlowPath; hops: Array<{ key: string; share: number }> } {
    const none = (reason: string) => ({
      path: { delivered: false, via: { kind: 'none' as const }, reason },
      hops: [],
    });
    if (from.startsWith('projects/')) {
      const net = this.gcpNetworks.get(from);
      if (!net) return none(`network ${from} does not exist`);
      if (net.subnets.some((s) => within(s.ipCidrRange, ip)))
        return { path: { delivered: true, via: { kind: 'local' } }, hops: [] };
      const routes = (snap.gcp.get(from) ?? []).filter((r) => r.best);
      const best = selectBest(routes, ip, (r) => r.destRange, gcpRank);
      const first = best[0];
      if (!first) return none(`no route to ${ip.text} in ${from}`);
      if (first.routeType === 'PEERING') {
        const link = snap.links.find((l) => l.linkId === first.nextHopPeering);
        const delivered = link !== undefined && this.#deliveredOnAws(snap, this.#gatewaysOf(link), ip);
        return {
          path: {
            delivered,
            via: { kind: 'link', linkId: first.nextHopPeering as string },
            ...(delivered ? {} : { reason: 'no AWS network behind the link holds the address' }),
          },
          hops: [{ key: counterKey.linkGcpToAws(first.nextHopPeering as string), share: 1 }],
        };
      }
      // VPN tunnels (ECMP across the selected ones).
      const tunnelPairs = best
        .map((r) =>
          snap.pairs.find(
            (p) =>
              p.gcp.name === r.nextHopVpnTunnel &&
              p.gcp.region === r.region &&
              p.gcp.project === net.project &&
              p.ipsecUp,
          ),
        )
        .filter((p): p is Pair => p !== undefined);
      if (tunnelPairs.length === 0) return none('the selected tunnel has no live peer');
      const share = 1 / tunnelPairs.length;
      const hops = tunnelPairs.flatMap((p) => [
        { key: counterKey.gcpTunnelSent(p.gcp.project, p.gcp.region, p.gcp.name), share },
        { key: counterKey.awsTunnelIn(p.vpn.vpnConnectionId, p.aws.outsideIpAddress), share },
      ]);
      const vpn = (tunnelPairs[0] as Pair).vpn;
      const delivered = this.#deliveredOnAws(
        snap,
        [vpn.vpnGatewayId ?? `attach:${vpn.transitGatewayAttachmentId}`],
        ip,
      );
      return {
        path: {
          delivered,
          via: {
            kind: 'vpn',
            vpnConnectionId: vpn.vpnConnectionId,
            awsTunnels: tunnelPairs.map((p) => p.aws.outsideIpAddress),
            gcpTunnels: tunnelPairs.map((p) => p.gcp.name),
          },
          ...(delivered ? {} : { reason: 'no AWS network behind the VPN holds the address' }),
        },
        hops,
      };
    }

    const vpc = this.vpcs.get(from);
    if (!vpc) return none(`VPC ${from} does not exist`);
    const rtb = this.routeTables.get(vpc.mainRouteTableId);
    const vpcRoutes = rtb ? this.vpcRoutes(rtb.routeTableId) : [];
    const best = selectBest(
      vpcRoutes,
      ip,
      (r) => r.destinationCidrBlock,
      (r) => [r.origin === 'CreateRouteTable' ? 0 : r.origin === 'CreateRoute' ? 1 : 2],
    )[0];
    if (!best) return none(`no route to ${ip.text} in ${from}`);
    if (best.gatewayId === 'local') return { path: { delivered: true, via: { kind: 'local' } }, hops: [] };
    if (best.state === 'blackhole') return none(`route ${best.destinationCidrBlock} is a blackhole`);
    let gwRoutes: AwsGatewayRoute[];
    if (best.gatewayId) gwRoutes = (snap.vgw.get(best.gatewayId) ?? []).filter((r) => r.best);
    else {
      const att = this.#vpcTgwAttachment(vpc.vpcId, best.transitGatewayId);
      gwRoutes = att?.associatedRouteTableId
        ? (snap.tgw.get(att.associatedRouteTableId) ?? []).filter((r) => r.best)
        : [];
    }
    const hop = selectBest(gwRoutes, ip, (r) => r.destinationCidrBlock, awsRank)[0];
    if (!hop || hop.target.kind === 'blackhole') return none(`the gateway has no route to ${ip.text}`);
    if (hop.target.kind === 'vpc') {
      const delivered = this.vpcs.get(hop.target.vpcId)?.cidrBlocks.some((c) => within(c, ip)) ?? false;
      return { path: { delivered, via: { kind: 'local' } }, hops: [] };
    }
    if (hop.target.kind === 'link') {
      const linkId = hop.target.linkId;
      const link = snap.links.find((l) => l.linkId === linkId);
      const net = link ? this.gcpNetworks.get(gcpNetworkId(link.gcp.project, link.gcp.network)) : undefined;
      const delivered = net?.subnets.some((s) => within(s.ipCidrRange, ip)) ?? false;
      return {
        path: {
          delivered,
          via: { kind: 'link', linkId },
          ...(delivered ? {} : { reason: 'no Google subnet behind the link holds the address' }),
        },
        hops: [{ key: counterKey.linkAwsToGcp(linkId), share: 1 }],
      };
    }
    const vpnId = hop.target.vpnConnectionId;
    const tunnelPairs = hop.target.tunnels
      .map((ipAddr) =>
        snap.pairs.find((p) => p.vpn.vpnConnectionId === vpnId && p.aws.outsideIpAddress === ipAddr),
      )
      .filter((p): p is Pair => p !== undefined);
    if (tunnelPairs.length === 0) return none('the VPN has no live tunnel');
    const share = 1 / tunnelPairs.length;
    const hops = tunnelPairs.flatMap((p) => [
      { key: counterKey.awsTunnelOut(p.vpn.vpnConnectionId, p.aws.outsideIpAddress), share },
      { key: counterKey.gcpTunnelReceived(p.gcp.project, p.gcp.region, p.gcp.name), share },
    ]);
    const gnet = this.#gcpNetworkOfTunnel(tunnelPairs[0] as Pair);
    const delivered = gnet?.subnets.some((s) => within(s.ipCidrRange, ip)) ?? false;
    return {
      path: {
        delivered,
        via: {
          kind: 'vpn',
          vpnConnectionId: vpnId,
          awsTunnels: tunnelPairs.map((p) => p.aws.outsideIpAddress),
          gcpTunnels: tunnelPairs.map((p) => p.gcp.name),
        },
        ...(delivered ? {} : { reason: 'no Google subnet behind the VPN holds the address' }),
      },
      hops,
    };
  }

  #gcpNetworkOfTunnel(p: Pair): GcpNetwork | undefined {
    const t = p.gcp;
    const gwNet = t.vpnGateway
      ? this.haVpnGateways.get(regional(t.project, t.region, t.vpnGateway))?.network
      : t.targetVpnGateway
        ? this.targetVpnGateways.get(regional(t.project, t.region, t.targetVpnGateway))?.network
        : undefined;
    return gwNet ? this.gcpNetworks.get(gcpNetworkId(t.project, gwNet)) : undefined;
  }

  /** Whether a packet entering AWS through `gateways` (vgw ids, tgw ids, or `attach:<id>`) reaches a VPC holding `ip`. */
  #deliveredOnAws(snap: Snapshot, gateways: string[], ip: Cidr): boolean {
    for (const g of gateways) {
      if (g.startsWith('vgw-')) {
        const vgw = this.vpnGateways.get(g);
        for (const a of vgw?.vpcAttachments ?? [])
          if (a.state === 'attached' && this.vpcs.get(a.vpcId)?.cidrBlocks.some((c) => within(c, ip)))
            return true;
        continue;
      }
      let rtbId: string | undefined;
      if (g.startsWith('attach:')) rtbId = this.tgwAttachments.get(g.slice(7))?.associatedRouteTableId;
      else {
        const att = [...this.tgwAttachments.values()].find(
          (a) =>
            a.transitGatewayId === g &&
            a.resourceType === 'direct-connect-gateway' &&
            a.state === 'available',
        );
        rtbId = att?.associatedRouteTableId;
      }
      const routes = rtbId ? (snap.tgw.get(rtbId) ?? []).filter((r) => r.best) : [];
      const hop = selectBest(routes, ip, (r) => r.destinationCidrBlock, awsRank)[0];
      if (hop?.target.kind === 'vpc') {
        const vpcId = hop.target.vpcId;
        if (this.vpcs.get(vpcId)?.cidrBlocks.some((c) => within(c, ip))) return true;
      }
    }
    return false;
  }
}

/** AWS: static before propagated; then DX > VPC > static VPN > BGP VPN; then AS_PATH length; then MED. */
function awsRank(r: AwsGatewayRoute): number[] {
  return [r.type === 'static' ? 0 : 1, AWS_ORIGIN_RANK[r.origin], r.asPath?.length ?? 0, r.med ?? 0];
}

/** Google: lowest priority, then local (static, dynamic) routes before peering routes. */
function gcpRank(r: GcpRoute): number[] {
  return [r.routeType === 'SUBNET' ? -1 : 0, r.priority, GCP_TYPE_RANK[r.routeType]];
}

function toNetwork(ipRange: string): string {
  const c = parseCidr(`${ipRange.split('/')[0]}/32`);
  const len = Number(ipRange.split('/')[1]);
  const mask = len === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - len)) - 1n);
  const n = c.address & mask;
  return `${[24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.')}/${len}`;
}
