/**
 * The VPNs between the clouds and the paths beside them, as the simulated world holds them (the
 * local cloud's EC2 VPN connections, Compute tunnels and their BGP sessions, the links' routes), never
 * crosslink's records; and the invariant read from two such readings: no VPN deleted while it was
 * the last healthy path between its two networks.
 *
 * A healthy path is the planner's (docs/vpn-planner.md "Never the last path"): a link up (both
 * halves up and its BGP established) between the VPN's AWS gateway and Google network, or another
 * VPN there, not deleted, with a tunnel whose BGP session is up.
 */
import type { NetworkWorld } from '#local/world/network.ts';

export interface VpnSeen {
  vpnConnectionId: string;
  /** `available` or `deleted` (the connection; its Google tunnels may go before or after). */
  state: string;
  /** The virtual private gateway or Transit Gateway it is on. */
  gateway: string | undefined;
  /** `project/network` of its Google tunnels, while any pairs with it. */
  gcpNetwork: string | undefined;
  /** Some tunnel's BGP session is up: it carries routes. */
  live: boolean;
  /** Google tunnels paired with it now. */
  tunnels: number;
  /** When its first delete (connection or tunnel) was applied, from the world's change log. */
  deletedAt: number | undefined;
}

export interface PathSeen {
  linkId: string;
  up: boolean;
  /** The AWS gateways its Direct Connect gateway is associated with. */
  gateways: string[];
  /** `project/network` */
  gcpNetwork: string;
}

export interface VpnWorld {
  /** Virtual time of the reading. */
  at: number;
  vpns: VpnSeen[];
  links: PathSeen[];
}

const networkName = (n: string) => n.split('/').pop() ?? n;

/** Reads the world's VPNs and links now. */
export function readVpnWorld(w: NetworkWorld): VpnWorld {
  const firstDelete = new Map<string, number>();
  for (const c of w.vpnChanges)
    if (
      c.vpnConnectionId &&
      (c.kind === 'vpn-connection-deleted' || c.kind === 'vpn-tunnel-deleted') &&
      !firstDelete.has(c.vpnConnectionId)
    )
      firstDelete.set(c.vpnConnectionId, c.at);
  const vpns = [...w.vpnConnections.values()].map((v): VpnSeen => {
    const paired = w.pairedTunnels(v.vpnConnectionId);
    let gcpNetwork: string | undefined;
    for (const p of paired) {
      const t = w.vpnTunnels.get(`${p.gcpTunnel.project}/${p.gcpTunnel.region}/${p.gcpTunnel.name}`);
      const gw =
        t?.vpnGateway !== undefined
          ? w.haVpnGateways.get(`${t.project}/${t.region}/${t.vpnGateway}`)
          : t?.targetVpnGateway !== undefined
            ? w.targetVpnGateways.get(`${t.project}/${t.region}/${t.targetVpnGateway}`)
            : undefined;
      if (gw) gcpNetwork = `${gw.project}/${networkName(gw.network)}`;
    }
    return {
      vpnConnectionId: v.vpnConnectionId,
      state: v.state,
      gateway: v.vpnGatewayId ?? v.transitGatewayId,
      gcpNetwork,
      live: v.state === 'available' && paired.some((p) => p.bgpUp),
      tunnels: paired.length,
      deletedAt: firstDelete.get(v.vpnConnectionId),
    };
  });
  const links = w.links().map(
    (l): PathSeen => ({
      linkId: l.linkId,
      up: l.up,
      gateways: [...(l.aws.gateways ?? w.dxAssociations.get(l.aws.dxGatewayId) ?? [])],
      gcpNetwork: `${l.gcp.project}/${networkName(l.gcp.network)}`,
    }),
  );
  return { at: w.clock.now(), vpns, links };
}

/** Where a VPN runs between: its AWS gateway and Google network, as last seen while it had both. */
export type VpnEnds = Map<string, { gateway: string; gcpNetwork: string }>;

/** Remembers each VPN's two ends while the world still shows them (a deleted VPN's tunnels are gone). */
export function rememberEnds(ends: VpnEnds, seen: VpnWorld): void {
  for (const v of seen.vpns)
    if (v.gateway && v.gcpNetwork)
      ends.set(v.vpnConnectionId, { gateway: v.gateway, gcpNetwork: v.gcpNetwork });
}

/** The healthy paths between `ends` other than VPN `except`, in one reading. */
export function healthyPaths(
  seen: VpnWorld,
  ends: { gateway: string; gcpNetwork: string },
  except: string,
  known: VpnEnds,
): string[] {
  const links = seen.links
    .filter((l) => l.up && l.gateways.includes(ends.gateway) && l.gcpNetwork === ends.gcpNetwork)
    .map((l) => `link ${l.linkId}`);
  const vpns = seen.vpns
    .filter((v) => {
      if (v.vpnConnectionId === except || !v.live) return false;
      const e = known.get(v.vpnConnectionId);
      return e?.gateway === ends.gateway && e.gcpNetwork === ends.gcpNetwork;
    })
    .map((v) => `VPN ${v.vpnConnectionId}`);
  return [...links, ...vpns];
}

/**
 * The VPNs whose delete the world logged after `before` was read (or, with no reading before, at or
 * after `since`) while neither that reading nor `now` shows another healthy path between its ends:
 * the delete came between the two readings, and a path in neither is none at the delete. A VPN
 * whose ends were never seen (built and deleted between two readings) is judged by its gateway alone
 * being unknown: it is reported, since nothing shows a path beside it.
 */
export function lastPathDeletes(
  before: VpnWorld | undefined,
  now: VpnWorld,
  known: VpnEnds,
  since: number,
): { vpnConnectionId: string; deletedAt: number; detail: string }[] {
  const found: { vpnConnectionId: string; deletedAt: number; detail: string }[] = [];
  for (const v of now.vpns) {
    if (v.deletedAt === undefined) continue;
    if (before ? v.deletedAt <= before.at : v.deletedAt < since) continue;
    const ends = known.get(v.vpnConnectionId);
    if (!ends) {
      found.push({
        vpnConnectionId: v.vpnConnectionId,
        deletedAt: v.deletedAt,
        detail: `VPN ${v.vpnConnectionId} deleted with no reading of its two ends: no path beside it is known`,
      });
      continue;
    }
    const paths = [
      ...(before ? healthyPaths(before, ends, v.vpnConnectionId, known) : []),
      ...healthyPaths(now, ends, v.vpnConnectionId, known),
    ];
    if (paths.length === 0)
      found.push({
        vpnConnectionId: v.vpnConnectionId,
        deletedAt: v.deletedAt,
        detail: `VPN ${v.vpnConnectionId} (${ends.gateway} <-> ${ends.gcpNetwork}) deleted while it was the last healthy path: no link up and no other VPN with a live tunnel between them, before or after the delete`,
      });
  }
  return found;
}
