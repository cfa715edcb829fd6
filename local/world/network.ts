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
 * `NetworkWorld` is the one face of the model: the state itself, with its maps, allocators and
 * lookups (it extends network-state.ts's `NetworkState`, so the maps are declared once), and the
 * concerns composed over it: the EC2 side (network-ec2.ts) and the Google side
 * (network-gcp.ts) that change it, VPN pairing and status (network-vpn.ts), route selection
 * (network-routing.ts) and traffic (network-traffic.ts). The shapes it answers with are in
 * network-resources.ts and network-views.ts; the names its callers use are exported here too.
 *
 * Every mutation recomputes the selected paths and re-rates the counters at the current virtual
 * instant (counters.ts), so a counter read over any window is exact. Changes that happen elsewhere
 * (a link comes up on a timer) reach the model through `LinkRouteSource.onChange` or `refresh()`.
 */
import type { Clock } from '#core/clock.ts';
import { CounterSet } from './counters.ts';
import { Ec2Resources } from './network-ec2.ts';
import { GcpResources } from './network-gcp.ts';
import { gcpNetworkId, NetworkError, notFound, type VgwTelemetry } from './network-resources.ts';
import { computeRoutes, type Snapshot, vpcRouteTable } from './network-routing.ts';
import { ipOf, NetworkState, type VpnChange } from './network-state.ts';
import { type AwsVpnMetricQuery, awsVpnMetric, flowRates } from './network-traffic.ts';
import {
  type AwsGatewayRoute,
  type AwsVpcRoute,
  type Flow,
  type FlowSpec,
  type GcpRoute,
  type GcpTunnelStatus,
  type LinkRouteSource,
  type LinkRouteView,
  type RouterStatus,
  StaticLinks,
} from './network-views.ts';
import { pairTunnels, VpnStatus } from './network-vpn.ts';

export {
  type AwsRouteTable,
  type AwsStaticRoute,
  type AwsVpc,
  type AwsVpnTunnel,
  type CustomerGateway,
  type ExternalVpnGateway,
  type GcpNetwork,
  type GcpRouter,
  type GcpStaticRoute,
  type GcpSubnet,
  type GcpVpnTunnel,
  gcpNetworkId,
  type HaVpnGateway,
  NetworkError,
  type NetworkErrorCode,
  type NetworkId,
  type RouterBgpPeer,
  type RouterInterface,
  type TargetVpnGateway,
  type TgwAttachment,
  type TgwResourceType,
  type TgwRouteTable,
  type TransitGateway,
  type VgwTelemetry,
  type VpnConnection,
  type VpnConnectionRoute,
  type VpnGateway,
} from './network-resources.ts';
export {
  type AwsGatewayRoute,
  type AwsRouteOrigin,
  type AwsVpcRoute,
  type BgpPeerStatus,
  counterKey,
  type Flow,
  type FlowPath,
  type FlowSpec,
  type GcpRoute,
  type GcpRouteType,
  type GcpTunnelStatus,
  type LinkRouteSource,
  type LinkRouteView,
  type RouterStatus,
  StaticLinks,
} from './network-views.ts';

/** What NetworkWorld answers for the EC2 side (each declared on the class, bound to Ec2Resources). */
const EC2_VERBS = [
  'addVpc',
  'createRoute',
  'deleteRoute',
  'enableVgwRoutePropagation',
  'disableVgwRoutePropagation',
  'createVpnGateway',
  'attachVpnGateway',
  'detachVpnGateway',
  'createTransitGateway',
  'attachVpcToTransitGateway',
  'enableTgwPropagation',
  'disableTgwPropagation',
  'createTgwRoute',
  'associateDxGateway',
  'disassociateDxGateway',
  'createCustomerGateway',
  'deleteCustomerGateway',
  'createVpnConnection',
  'deleteVpnConnection',
  'createVpnConnectionRoute',
  'deleteVpnConnectionRoute',
] as const;

/** What NetworkWorld answers for the Google side (each declared on the class, bound to GcpResources). */
const GCP_VERBS = [
  'addGcpNetwork',
  'addGcpSubnet',
  'createExternalVpnGateway',
  'deleteExternalVpnGateway',
  'createHaVpnGateway',
  'createTargetVpnGateway',
  'createRouter',
  'patchRouter',
  'setBgpPeersEnabled',
  'createVpnTunnel',
  'deleteVpnTunnel',
  'createGcpRoute',
  'deleteGcpRoute',
] as const;

/**
 * The named methods of `target`, bound to it. `names` must list every public member of `target`,
 * so a verb added to a side and not to its list above fails to compile.
 */
function bindVerbs<T, K extends keyof T>(
  target: T,
  names: readonly K[] & ([Exclude<keyof T, K>] extends [never] ? unknown : never),
): Pick<T, K> {
  const out: Partial<Pick<T, K>> = {};
  for (const n of names) out[n] = (target[n] as (...a: unknown[]) => unknown).bind(target) as T[K];
  return out as Pick<T, K>;
}

export interface NetworkWorldOptions {
  clock: Clock;
  links?: LinkRouteSource;
}

/**
 * The shared network model. All methods are synchronous; ids are deterministic per world. It is
 * the state itself (network-state.ts: the resources' maps, the allocators, the lookups), with the
 * verbs of each side, pairing, routing and traffic over it.
 */
export class NetworkWorld extends NetworkState {
  readonly counters = new CounterSet();
  readonly #ec2: Ec2Resources;
  readonly #gcp: GcpResources;
  readonly #vpn: VpnStatus;
  #links: LinkRouteSource;
  /** Each Google tunnel's AWS VPN, as last paired (`project/region/name`). */
  readonly #pairedWith = new Map<string, string>();
  #unsubscribe: (() => void) | undefined;

  // Changes: the EC2 side's verbs (network-ec2.ts) and the Google side's (network-gcp.ts), bound
  // to them in the constructor.
  declare readonly addVpc: Ec2Resources['addVpc'];
  declare readonly createRoute: Ec2Resources['createRoute'];
  declare readonly deleteRoute: Ec2Resources['deleteRoute'];
  declare readonly enableVgwRoutePropagation: Ec2Resources['enableVgwRoutePropagation'];
  declare readonly disableVgwRoutePropagation: Ec2Resources['disableVgwRoutePropagation'];
  declare readonly createVpnGateway: Ec2Resources['createVpnGateway'];
  declare readonly attachVpnGateway: Ec2Resources['attachVpnGateway'];
  declare readonly detachVpnGateway: Ec2Resources['detachVpnGateway'];
  declare readonly createTransitGateway: Ec2Resources['createTransitGateway'];
  declare readonly attachVpcToTransitGateway: Ec2Resources['attachVpcToTransitGateway'];
  declare readonly enableTgwPropagation: Ec2Resources['enableTgwPropagation'];
  declare readonly disableTgwPropagation: Ec2Resources['disableTgwPropagation'];
  declare readonly createTgwRoute: Ec2Resources['createTgwRoute'];
  declare readonly associateDxGateway: Ec2Resources['associateDxGateway'];
  declare readonly disassociateDxGateway: Ec2Resources['disassociateDxGateway'];
  declare readonly createCustomerGateway: Ec2Resources['createCustomerGateway'];
  declare readonly deleteCustomerGateway: Ec2Resources['deleteCustomerGateway'];
  declare readonly createVpnConnection: Ec2Resources['createVpnConnection'];
  declare readonly deleteVpnConnection: Ec2Resources['deleteVpnConnection'];
  declare readonly createVpnConnectionRoute: Ec2Resources['createVpnConnectionRoute'];
  declare readonly deleteVpnConnectionRoute: Ec2Resources['deleteVpnConnectionRoute'];
  declare readonly addGcpNetwork: GcpResources['addGcpNetwork'];
  declare readonly addGcpSubnet: GcpResources['addGcpSubnet'];
  declare readonly createExternalVpnGateway: GcpResources['createExternalVpnGateway'];
  declare readonly deleteExternalVpnGateway: GcpResources['deleteExternalVpnGateway'];
  declare readonly createHaVpnGateway: GcpResources['createHaVpnGateway'];
  declare readonly createTargetVpnGateway: GcpResources['createTargetVpnGateway'];
  declare readonly createRouter: GcpResources['createRouter'];
  declare readonly patchRouter: GcpResources['patchRouter'];
  declare readonly setBgpPeersEnabled: GcpResources['setBgpPeersEnabled'];
  declare readonly createVpnTunnel: GcpResources['createVpnTunnel'];
  declare readonly deleteVpnTunnel: GcpResources['deleteVpnTunnel'];
  declare readonly createGcpRoute: GcpResources['createGcpRoute'];
  declare readonly deleteGcpRoute: GcpResources['deleteGcpRoute'];

  // Traffic and derived state
  readonly flows = new Map<string, Flow>();
  #snapshot: Snapshot | undefined;

  constructor(options: NetworkWorldOptions) {
    super(options.clock);
    this.#ec2 = new Ec2Resources(this, () => this.refresh());
    this.#gcp = new GcpResources(this, () => this.refresh());
    this.#vpn = new VpnStatus(this, this.counters, () => this.#snap());
    Object.assign(this, bindVerbs(this.#ec2, EC2_VERBS), bindVerbs(this.#gcp, GCP_VERBS));
    // The pairing now, or the last one seen: a tunnel deleted after its AWS VPN, or a peer removed
    // after its tunnel, pairs with nothing any more.
    this.vpnOfGcpTunnel = (project, region, name) => {
      this.#snap();
      return this.#pairedWith.get(`${project}/${region}/${name}`);
    };
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

  // -------------------------------------------------------------------------------------------
  // Traffic (network-traffic.ts)

  addFlow(spec: FlowSpec): Flow {
    if (!(spec.bytesPerSecond >= 0)) throw new NetworkError('Invalid', 'bytesPerSecond must be >= 0');
    this.networkExists(spec.from);
    ipOf(spec.to);
    const flow: Flow = {
      ...spec,
      id: spec.name ?? this.id('flow'),
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

  // -------------------------------------------------------------------------------------------
  // Reading the world

  /** Recomputes paths and re-rates counters now. Call after changing links outside the model. */
  refresh(): void {
    this.#links.setWatching?.(this.flows.size > 0);
    const now = this.clock.now();
    const snap = computeRoutes(this, pairTunnels(this), this.#linkViews());
    this.#snapshot = snap;
    for (const p of snap.pairs)
      this.#pairedWith.set(`${p.gcp.project}/${p.gcp.region}/${p.gcp.name}`, p.vpn.vpnConnectionId);
    this.#vpn.record(snap.pairs, now);
    const rates = flowRates(this, snap, this.flows.values());
    for (const key of this.counters.keys())
      if (!rates.has(key) && !key.startsWith('aws-tunnel-state/')) rates.set(key, 0);
    for (const [k, v] of rates) this.counters.set(k, now, v);
  }

  #snap(): Snapshot {
    if (!this.#snapshot) this.refresh();
    return this.#snapshot as Snapshot;
  }

  #linkViews(): LinkRouteView[] {
    return this.#links.links().map((l) => ({ ...l }));
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
    return this.#vpn.vgwTelemetry(vpnConnectionId);
  }

  /** TunnelState (1 up, 0 down) of an AWS tunnel at an instant. */
  awsTunnelStateAt(vpnConnectionId: string, outsideIp: string, at: number): number {
    return this.counters.get(`aws-tunnel-state/${vpnConnectionId}/${outsideIp}`)?.rateAt(at) ?? 0;
  }

  /** CloudWatch `AWS/VPN` datapoints of one tunnel, as CloudWatch samples it (network-traffic.ts). */
  awsVpnMetric(q: AwsVpnMetricQuery): Array<{ timestamp: number; value: number }> {
    return awsVpnMetric(this.counters, this.clock.now(), q);
  }

  /** A VPC's main route table as DescribeRouteTables shows it: one route per destination. */
  vpcRoutes(routeTableId: string): AwsVpcRoute[] {
    return vpcRouteTable(this, routeTableId, () => this.#snap());
  }

  /** The routes a virtual private gateway holds (all candidates, `best` marked). Not an AWS API: AWS hides this. */
  vgwRoutes(vpnGatewayId: string): AwsGatewayRoute[] {
    this.vgw(vpnGatewayId);
    return structuredClone(this.#snap().vgw.get(vpnGatewayId) ?? []);
  }

  /** A Transit Gateway route table (SearchTransitGatewayRoutes): `best` per destination; `all` adds the losers. */
  tgwRoutes(transitGatewayRouteTableId: string, all = false): AwsGatewayRoute[] {
    this.tgwRtb(transitGatewayRouteTableId);
    const routes = this.#snap().tgw.get(transitGatewayRouteTableId) ?? [];
    return structuredClone(all ? routes : routes.filter((r) => r.best));
  }

  /** Every route of a Google network with `best` marked: the effective routes are the best ones. */
  gcpNetworkRoutes(project: string, network: string): GcpRoute[] {
    this.gcpNetwork(project, network);
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
    return this.#vpn.gcpTunnelStatus(project, region, name);
  }

  /** routers.getRouterStatus. */
  routerStatus(project: string, region: string, name: string): RouterStatus {
    return this.#vpn.routerStatus(project, region, name);
  }

  /** Which Google tunnels pair with an AWS VPN connection's tunnels (by outside addresses). */
  /** What was applied to one VPN's resources on both clouds, in order (network-state.ts `VpnChange`). */
  vpnChangesOf(vpnConnectionId: string): VpnChange[] {
    return this.vpnChanges.filter((c) => c.vpnConnectionId === vpnConnectionId);
  }

  pairedTunnels(vpnConnectionId: string): ReturnType<VpnStatus['pairedTunnels']> {
    return this.#vpn.pairedTunnels(vpnConnectionId);
  }
}
