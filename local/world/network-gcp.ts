/**
 * The Google side of the network world as compute v1 changes it: VPC networks and subnets,
 * external, HA and Classic (target) VPN gateways, VPN tunnels, Cloud Routers (interfaces, BGP
 * peers, advertisements) and custom static routes. Each change is checked as compute checks it (a
 * NotFound, AlreadyExists, InUse or Invalid NetworkError otherwise) and then reported through
 * `changed` where it can move a route, so the world recomputes at that virtual instant.
 */
import { overlaps, parseCidr } from '#core/net/cidr.ts';
import {
  type ExternalVpnGateway,
  type GcpNetwork,
  type GcpRouter,
  type GcpStaticRoute,
  type GcpSubnet,
  type GcpVpnTunnel,
  gcpNetworkId,
  type HaVpnGateway,
  NetworkError,
  notFound,
  type RouterBgpPeer,
  type RouterInterface,
  regional,
  type TargetVpnGateway,
} from './network-resources.ts';
import { type NetworkState, toNetwork } from './network-state.ts';

export class GcpResources {
  readonly #s: NetworkState;
  readonly #changed: () => void;

  constructor(state: NetworkState, changed: () => void) {
    this.#s = state;
    this.#changed = changed;
  }

  addGcpNetwork(opts: {
    project: string;
    name: string;
    subnets: GcpSubnet[];
    routingMode?: 'GLOBAL' | 'REGIONAL';
  }): GcpNetwork {
    const key = gcpNetworkId(opts.project, opts.name);
    if (this.#s.gcpNetworks.has(key)) throw new NetworkError('AlreadyExists', `network ${key} exists`, key);
    const net: GcpNetwork = {
      project: opts.project,
      name: opts.name,
      routingMode: opts.routingMode ?? 'GLOBAL',
      subnets: opts.subnets.map((s) => ({ ...s, ipCidrRange: parseCidr(s.ipCidrRange).text })),
    };
    this.#s.gcpNetworks.set(key, net);
    this.#changed();
    return net;
  }

  /** subnetworks.insert: a subnet added to a network; its range may not overlap another subnet's. */
  addGcpSubnet(project: string, network: string, subnet: GcpSubnet): void {
    const net = this.#s.gcpNetworks.get(gcpNetworkId(project, network));
    if (!net) throw notFound('network', network);
    const range = parseCidr(subnet.ipCidrRange);
    for (const s of net.subnets) {
      if (s.name === subnet.name && s.region === subnet.region)
        throw new NetworkError('AlreadyExists', `subnet ${subnet.name} exists`, subnet.name);
      if (overlaps(parseCidr(s.ipCidrRange), range))
        throw new NetworkError(
          'Invalid',
          `subnet range ${range.text} overlaps ${s.name}'s ${s.ipCidrRange}`,
          subnet.name,
        );
    }
    net.subnets.push({ ...subnet, ipCidrRange: range.text });
    this.#changed();
  }

  createExternalVpnGateway(opts: {
    project: string;
    name: string;
    interfaces: Array<{ id: number; ipAddress: string }>;
    labels?: Record<string, string>;
    description?: string;
  }): ExternalVpnGateway {
    const key = `${opts.project}/${opts.name}`;
    if (this.#s.externalVpnGateways.has(key))
      throw new NetworkError('AlreadyExists', `external VPN gateway ${opts.name} exists`, opts.name);
    const n = opts.interfaces.length;
    const gw: ExternalVpnGateway = {
      project: opts.project,
      name: opts.name,
      id: this.#s.numericId(),
      redundancyType:
        n === 1 ? 'SINGLE_IP_INTERNALLY_REDUNDANT' : n === 2 ? 'TWO_IPS_REDUNDANCY' : 'FOUR_IPS_REDUNDANCY',
      interfaces: opts.interfaces.map((i) => ({ ...i })),
      labels: opts.labels ?? {},
      description: opts.description ?? '',
      creationTimestamp: this.#s.clock.now(),
    };
    this.#s.externalVpnGateways.set(key, gw);
    this.#changed();
    return gw;
  }

  deleteExternalVpnGateway(project: string, name: string): void {
    const key = `${project}/${name}`;
    if (!this.#s.externalVpnGateways.has(key)) throw notFound('external VPN gateway', name);
    const user = [...this.#s.vpnTunnels.values()].find(
      (t) => t.project === project && t.peerExternalGateway === name,
    );
    if (user)
      throw new NetworkError(
        'InUse',
        `The external VPN gateway resource '${name}' is already being used by '${user.name}'`,
        name,
      );
    this.#s.externalVpnGateways.delete(key);
    this.#changed();
  }

  createHaVpnGateway(opts: {
    project: string;
    region: string;
    name: string;
    network: string;
    labels?: Record<string, string>;
  }): HaVpnGateway {
    this.#s.gcpNetwork(opts.project, opts.network);
    const key = regional(opts.project, opts.region, opts.name);
    if (this.#s.haVpnGateways.has(key))
      throw new NetworkError('AlreadyExists', `VPN gateway ${opts.name} exists`);
    const gw: HaVpnGateway = {
      project: opts.project,
      region: opts.region,
      name: opts.name,
      id: this.#s.numericId(),
      network: opts.network,
      vpnInterfaces: [0, 1].map((id) => ({ id, ipAddress: this.#s.publicIp('gcp') })),
      labels: opts.labels ?? {},
      creationTimestamp: this.#s.clock.now(),
    };
    this.#s.haVpnGateways.set(key, gw);
    return gw;
  }

  createTargetVpnGateway(opts: {
    project: string;
    region: string;
    name: string;
    network: string;
  }): TargetVpnGateway {
    this.#s.gcpNetwork(opts.project, opts.network);
    const gw: TargetVpnGateway = {
      ...opts,
      id: this.#s.numericId(),
      ipAddress: this.#s.publicIp('gcp'),
      creationTimestamp: this.#s.clock.now(),
    };
    this.#s.targetVpnGateways.set(regional(opts.project, opts.region, opts.name), gw);
    return gw;
  }

  createRouter(opts: {
    project: string;
    region: string;
    name: string;
    network: string;
    asn: number;
  }): GcpRouter {
    this.#s.gcpNetwork(opts.project, opts.network);
    const key = regional(opts.project, opts.region, opts.name);
    if (this.#s.routers.has(key)) throw new NetworkError('AlreadyExists', `router ${opts.name} exists`);
    const r: GcpRouter = {
      project: opts.project,
      region: opts.region,
      name: opts.name,
      id: this.#s.numericId(),
      network: opts.network,
      bgp: { asn: opts.asn, advertiseMode: 'DEFAULT' },
      interfaces: [],
      bgpPeers: [],
      creationTimestamp: this.#s.clock.now(),
    };
    this.#s.routers.set(key, r);
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
    const r = this.#s.router(project, region, name);
    const interfaces = patch.interfaces ?? r.interfaces;
    const peers = patch.bgpPeers ?? r.bgpPeers;
    for (const i of interfaces) {
      if (
        i.linkedVpnTunnel &&
        !this.#s.vpnTunnels.has(regional(project, region, i.linkedVpnTunnel)) &&
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
    this.#noteBgpPeerChanges(r, peers);
    r.interfaces = interfaces.map((i) => ({ ...i }));
    r.bgpPeers = peers.map((p) => ({ ...p }));
    if (patch.bgp) r.bgp = { ...r.bgp, ...patch.bgp };
    this.#changed();
    return r;
  }

  /** Logs each peer of `r` that `next` disables, enables or removes, by the tunnel its interface links. */
  #noteBgpPeerChanges(r: GcpRouter, next: readonly RouterBgpPeer[]): void {
    const enabled = (p: RouterBgpPeer) => p.enable !== 'FALSE';
    for (const old of r.bgpPeers) {
      const now = next.find((p) => p.name === old.name);
      const kind = !now
        ? 'bgp-peer-removed'
        : enabled(old) === enabled(now)
          ? undefined
          : enabled(now)
            ? 'bgp-peer-enabled'
            : 'bgp-peer-disabled';
      if (!kind) continue;
      const tunnel = r.interfaces.find((i) => i.name === old.interfaceName)?.linkedVpnTunnel;
      this.#s.noteVpnChange({
        side: 'gcp',
        kind,
        vpnConnectionId: tunnel ? this.#s.vpnOfGcpTunnel(r.project, r.region, tunnel) : undefined,
        resource: `projects/${r.project}/regions/${r.region}/routers/${r.name}/bgpPeers/${old.name}`,
      });
    }
  }

  /** Sets `enable` on the named peers of a router (the reversible drain). */
  setBgpPeersEnabled(
    project: string,
    region: string,
    router: string,
    peerNames: readonly string[],
    enable: boolean,
  ): void {
    const r = this.#s.router(project, region, router);
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
    if (this.#s.vpnTunnels.has(key))
      throw new NetworkError('AlreadyExists', `VPN tunnel ${opts.name} exists`);
    let peerIp = opts.peerIp;
    if (opts.vpnGateway) {
      const gw = this.#s.haVpnGateways.get(regional(opts.project, opts.region, opts.vpnGateway));
      if (!gw) throw notFound('VPN gateway', opts.vpnGateway);
      if (!gw.vpnInterfaces.some((i) => i.id === (opts.vpnGatewayInterface ?? 0)))
        throw new NetworkError(
          'Invalid',
          `VPN gateway ${opts.vpnGateway} has no interface ${opts.vpnGatewayInterface}`,
        );
      if (!opts.peerExternalGateway)
        throw new NetworkError('Invalid', 'an HA VPN tunnel to AWS needs peerExternalGateway');
    } else if (opts.targetVpnGateway) {
      if (!this.#s.targetVpnGateways.has(regional(opts.project, opts.region, opts.targetVpnGateway)))
        throw notFound('target VPN gateway', opts.targetVpnGateway);
    } else throw new NetworkError('Invalid', 'a VPN tunnel needs vpnGateway or targetVpnGateway');
    if (opts.peerExternalGateway) {
      const ext = this.#s.externalVpnGateways.get(`${opts.project}/${opts.peerExternalGateway}`);
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
    if (opts.router && !this.#s.routers.has(regional(opts.project, opts.region, opts.router)))
      throw notFound('router', opts.router);
    const t: GcpVpnTunnel = {
      project: opts.project,
      region: opts.region,
      name: opts.name,
      id: this.#s.numericId(),
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
      creationTimestamp: this.#s.clock.now(),
    };
    this.#s.vpnTunnels.set(key, t);
    this.#changed();
    return t;
  }

  /** vpnTunnels.delete: the router's interface and peer stay (and go down), as on Google. */
  deleteVpnTunnel(project: string, region: string, name: string): void {
    this.#s.vpnTunnel(project, region, name);
    this.#s.noteVpnChange({
      side: 'gcp',
      kind: 'vpn-tunnel-deleted',
      vpnConnectionId: this.#s.vpnOfGcpTunnel(project, region, name),
      resource: `projects/${project}/regions/${region}/vpnTunnels/${name}`,
    });
    this.#s.vpnTunnels.delete(regional(project, region, name));
    this.#changed();
  }

  /** A custom static route to a (Classic) VPN tunnel. */
  createGcpRoute(opts: Omit<GcpStaticRoute, 'priority'> & { priority?: number }): GcpStaticRoute {
    this.#s.gcpNetwork(opts.project, opts.network);
    const key = `${opts.project}/${opts.name}`;
    if (this.#s.gcpRoutes.has(key)) throw new NetworkError('AlreadyExists', `route ${opts.name} exists`);
    const r: GcpStaticRoute = {
      ...opts,
      destRange: parseCidr(opts.destRange).text,
      priority: opts.priority ?? 1000,
    };
    this.#s.gcpRoutes.set(key, r);
    this.#changed();
    return r;
  }

  deleteGcpRoute(project: string, name: string): void {
    if (!this.#s.gcpRoutes.delete(`${project}/${name}`)) throw notFound('route', name);
    this.#changed();
  }
}
