/** Builders of planner inputs for unit and property tests (the fixture tests read real exports instead). */
import { parseCidr } from '#core/net/cidr.ts';
import type {
  EffectiveRoute,
  HealthSample,
  Inventory,
  Link,
  Side,
  TrafficSample,
  Vpn,
} from '#core/vpn/model.ts';

export const NOW = Date.parse('2026-11-20T12:00:00Z');
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const AWS = 'vgw-0aaaaaaaaaaaaaaa1';
export const GCP = 'projects/acme/global/networks/prod';

export interface LinkOpts {
  id: string;
  aws?: string;
  gcp?: string;
  state?: string;
  allowed?: string[];
  advertised?: string[];
  health?: HealthSample[];
}

export function link(o: LinkOpts): Link {
  return {
    id: o.id,
    state: o.state ?? 'ACTIVE',
    aws: {
      gateway: o.aws ?? AWS,
      directConnectGatewayId: undefined,
      allowedPrefixes: (o.allowed ?? ['10.20.0.0/16']).map(parseCidr),
    },
    gcp: {
      network: o.gcp ?? GCP,
      peering: `peering-${o.id}`,
      advertisedRoutes: (o.advertised ?? ['10.128.0.0/16']).map(parseCidr),
    },
    health: o.health ?? [{ at: NOW - 30 * DAY, status: 'healthy' }],
  };
}

export interface VpnOpts {
  id: string;
  aws?: string;
  gcp?: string;
  /** [prefix, toward] */
  prefixes?: [string, Side][];
  drainedAt?: number;
  tags?: Record<string, string>;
  labels?: Record<string, string>;
  tunnelsUp?: boolean;
  peers?: boolean;
}

export function vpn(o: VpnOpts): Vpn {
  const aws = o.aws ?? AWS;
  const gcp = o.gcp ?? GCP;
  const drained = o.drainedAt !== undefined;
  const names = [`${o.id}-t0`, `${o.id}-t1`];
  const up = o.tunnelsUp ?? true;
  return {
    id: o.id,
    aws: {
      vpnConnectionId: o.id,
      region: 'us-east-1',
      state: 'available',
      gateway: { kind: aws.startsWith('tgw-') ? 'tgw' : 'vgw', id: aws },
      transitGatewayAttachmentId: undefined,
      customerGatewayId: `cgw-${o.id}`,
      staticRoutesOnly: false,
      tunnels: names.map((_, i) => ({
        outsideIp: `3.0.${i}.1`,
        status: !drained && up ? 'UP' : 'DOWN',
        lastStatusChange: o.drainedAt ?? NOW - 40 * DAY,
        acceptedRouteCount: drained ? 0 : 1,
      })),
      tags: o.tags ?? {},
    },
    gcp: {
      router: 'cr-prod',
      region: 'us-east4',
      network: gcp,
      tunnels: names.map((n) => ({
        name: n,
        selfLink: `projects/acme/regions/us-east4/vpnTunnels/${n}`,
        peerIp: '3.0.0.1',
        status: up ? 'ESTABLISHED' : 'NETWORK_ERROR',
        peerExternalGateway: `aws-${o.id}`,
        labels: o.labels ?? {},
      })),
      bgpPeers:
        o.peers === false
          ? []
          : names.map((n) => ({
              name: `bgp-${n}`,
              interfaceName: `if-${n}`,
              enabled: !drained,
              tunnel: `projects/acme/regions/us-east4/vpnTunnels/${n}`,
            })),
      statusObserved: true,
    },
    networks: { aws, gcp },
    prefixes: (
      o.prefixes ?? [
        ['10.20.0.0/16', 'aws'],
        ['10.128.0.0/16', 'gcp'],
      ]
    ).map(([p, toward]) => ({ prefix: parseCidr(p), toward, source: 'test' })),
    drain: drained ? { since: o.drainedAt, recorded: true } : undefined,
  };
}

/** Hourly samples over the last `hours`, the same byte count each hour, both directions. */
export function traffic(vpnId: string, bytesPerHour: number, hours = 48): TrafficSample[] {
  const out: TrafficSample[] = [];
  for (let i = hours; i > 0; i--)
    for (const metric of ['TunnelDataOut', 'sent_bytes_count'] as const)
      out.push({
        vpnConnectionId: vpnId,
        metric,
        start: NOW - i * HOUR,
        end: NOW - (i - 1) * HOUR,
        bytes: bytesPerHour,
      });
  return out;
}

export interface InventoryOpts {
  vpns: Vpn[];
  links: Link[];
  /** Bytes per hour per VPN (default 2,000: idle). */
  trafficOf?: (vpn: Vpn) => number;
  effectiveRoutes?: EffectiveRoute[];
}

/**
 * Google's best routes as the router would show them: an active VPN's routes for its AWS prefixes
 * (tying with the link's), and each ACTIVE link's peering routes where no VPN route exists.
 */
export function inventory(o: InventoryOpts): Inventory {
  const effective: EffectiveRoute[] = [];
  const seen = new Set<string>();
  for (const v of o.vpns)
    if (!v.drain)
      for (const p of v.prefixes.filter((x) => x.toward === 'aws')) {
        effective.push({
          side: 'gcp',
          network: v.networks.gcp as string,
          prefix: p.prefix,
          via: [{ kind: 'vpn', id: v.id }],
        });
        seen.add(`${v.networks.gcp}|${p.prefix.text}`);
      }
  for (const l of o.links)
    if (l.state === 'ACTIVE')
      for (const p of l.aws.allowedPrefixes)
        if (!seen.has(`${l.gcp.network}|${p.text}`))
          effective.push({
            side: 'gcp',
            network: l.gcp.network,
            prefix: p,
            via: [{ kind: 'link', id: l.id }],
          });
  return {
    vpns: o.vpns,
    unpaired: [],
    links: o.links,
    effectiveRoutes: o.effectiveRoutes ?? effective,
    observedTransitGateways: [],
    traffic: o.vpns.flatMap((v) => traffic(v.id, o.trafficOf?.(v) ?? 2_000)),
    gcpTunnelGateways: o.vpns.flatMap((v) =>
      (v.gcp?.tunnels ?? []).map((t) => ({ tunnel: t.selfLink, gateway: t.peerExternalGateway })),
    ),
  };
}
