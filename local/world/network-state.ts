/**
 * The state of the network world: every resource of both clouds by its key, the id and address
 * allocators, and the lookups that refuse a missing (or deleted) resource with the model's
 * NotFound. The EC2 side, the Google side, VPN pairing, routing and traffic all read and change
 * this one object, so the two clouds always see the same world; ids and addresses are
 * deterministic per world because one allocator serves them all.
 *
 * Also the address arithmetic these modules share (a flow's destination, tunnel inside addresses).
 */
import type { Clock } from '#core/clock.ts';
import { type Cidr, contains, parseCidr } from '#core/net/cidr.ts';
import {
  type AwsRouteTable,
  type AwsVpc,
  type CustomerGateway,
  type ExternalVpnGateway,
  type GcpNetwork,
  type GcpRouter,
  type GcpStaticRoute,
  type GcpVpnTunnel,
  gcpNetworkId,
  type HaVpnGateway,
  type NetworkId,
  notFound,
  regional,
  type TargetVpnGateway,
  type TgwAttachment,
  type TgwRouteTable,
  type TransitGateway,
  type VpnConnection,
  type VpnGateway,
} from './network-resources.ts';

/** An address, or a prefix standing for its first host. */
export function ipOf(text: string): Cidr {
  const c = text.includes('/') ? parseCidr(text) : parseCidr(`${text}/${text.includes(':') ? 128 : 32}`);
  if (c.length === (c.family === 4 ? 32 : 128) || !text.includes('/')) return c;
  // A prefix: use its first host.
  const bits = c.family === 4 ? 32 : 128;
  return { family: c.family, address: c.address + 1n, length: bits, text: c.text };
}

export function within(prefix: string, ip: Cidr): boolean {
  return contains(parseCidr(prefix), ip);
}

/** The `n`th address of an IPv4 block. */
export function hostOf(cidr: string, n: number): string {
  const c = parseCidr(cidr);
  const a = c.address + BigInt(n);
  return [24n, 16n, 8n, 0n].map((s) => String((a >> s) & 255n)).join('.');
}

/** The IPv4 network of `address/length` (throws when it is not one). */
export function toNetwork(ipRange: string): string {
  const c = parseCidr(`${ipRange.split('/')[0]}/32`);
  const len = Number(ipRange.split('/')[1]);
  const mask = len === 0 ? 0n : ((1n << 32n) - 1n) ^ ((1n << BigInt(32 - len)) - 1n);
  const n = c.address & mask;
  return `${[24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.')}/${len}`;
}

/** What a provider call changed of a VPN's own resources, as the world saw it happen. */
export type VpnChangeKind =
  | 'bgp-peer-disabled'
  | 'bgp-peer-enabled'
  | 'bgp-peer-removed'
  | 'vpn-tunnel-deleted'
  | 'tgw-propagation-disabled'
  | 'tgw-propagation-enabled'
  | 'vpn-connection-deleted';

/**
 * One change to a VPN's resources: only what changed state (a call that sets what already is, a
 * peer disabled again, changes nothing and is not logged), so a VPN's log is what was applied to it.
 */
export interface VpnChange {
  readonly at: number;
  readonly side: 'aws' | 'gcp';
  readonly kind: VpnChangeKind;
  /** The AWS VPN connection the resource belongs to (a Google tunnel's: the one it pairs with), if any. */
  readonly vpnConnectionId: string | undefined;
  /** The peer, tunnel, route table or connection changed. */
  readonly resource: string;
}

export class NetworkState {
  readonly clock: Clock;
  /** Every change made to a VPN's own resources, in order (`noteVpnChange`). */
  readonly vpnChanges: VpnChange[] = [];
  /** The AWS VPN connection a Google tunnel pairs with now (the world's pairing sets it). */
  vpnOfGcpTunnel: (project: string, region: string, name: string) => string | undefined = () => undefined;
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

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Logs a change to a VPN's resources at the clock's time. */
  noteVpnChange(c: Omit<VpnChange, 'at'>): void {
    this.vpnChanges.push({ ...c, at: this.clock.now() });
  }

  id(prefix: string): string {
    this.#seq++;
    return `${prefix}-${this.#seq.toString(16).padStart(17, '0')}`;
  }

  numericId(): string {
    this.#seq++;
    return String(1_000_000_000_000_000 + this.#seq * 7919);
  }

  /** Public-looking outside addresses (TEST-NET ranges are never routed, so no clash). */
  publicIp(pool: 'aws' | 'gcp'): string {
    this.#ipSeq++;
    const base = pool === 'aws' ? '203.0.113.0/24' : '198.51.100.0/24';
    const block = Math.floor((this.#ipSeq - 1) / 250);
    const host = ((this.#ipSeq - 1) % 250) + 1;
    if (block > 0) return hostOf(pool === 'aws' ? '100.64.0.0/10' : '100.96.0.0/11', this.#ipSeq);
    return hostOf(base, host);
  }

  insideCidr(): string {
    const n = this.#insideSeq++;
    return `169.254.${(n >> 6) & 255}.${(n & 63) * 4}/30`;
  }

  // -------------------------------------------------------------------------------------------
  // Lookups: a missing or deleted resource is NotFound

  vpc(id: string): AwsVpc {
    const v = this.vpcs.get(id);
    if (!v) throw notFound('VPC', id);
    return v;
  }

  rtb(id: string): AwsRouteTable {
    const r = this.routeTables.get(id);
    if (!r) throw notFound('route table', id);
    return r;
  }

  vgw(id: string): VpnGateway {
    const g = this.vpnGateways.get(id);
    if (!g || g.state === 'deleted') throw notFound('virtual private gateway', id);
    return g;
  }

  tgw(id: string): TransitGateway {
    const t = this.transitGateways.get(id);
    if (!t || t.state === 'deleted') throw notFound('transit gateway', id);
    return t;
  }

  tgwRtb(id: string): TgwRouteTable {
    const t = this.tgwRouteTables.get(id);
    if (!t) throw notFound('transit gateway route table', id);
    return t;
  }

  tgwAttachment(id: string): TgwAttachment {
    const a = this.tgwAttachments.get(id);
    if (!a || a.state === 'deleted') throw notFound('transit gateway attachment', id);
    return a;
  }

  vpn(id: string): VpnConnection {
    const v = this.vpnConnections.get(id);
    if (!v || v.state === 'deleted') throw notFound('VPN connection', id);
    return v;
  }

  gcpNetwork(project: string, name: string): GcpNetwork {
    const n = this.gcpNetworks.get(gcpNetworkId(project, name));
    if (!n) throw notFound('network', gcpNetworkId(project, name));
    return n;
  }

  router(project: string, region: string, name: string): GcpRouter {
    const r = this.routers.get(regional(project, region, name));
    if (!r) throw notFound('router', name);
    return r;
  }

  vpnTunnel(project: string, region: string, name: string): GcpVpnTunnel {
    const t = this.vpnTunnels.get(regional(project, region, name));
    if (!t) throw notFound('VPN tunnel', name);
    return t;
  }

  /** A flow's source: a VPC id or a Google network path. */
  networkExists(id: NetworkId): void {
    if (id.startsWith('projects/')) {
      if (!this.gcpNetworks.has(id)) throw notFound('network', id);
    } else this.vpc(id);
  }
}
