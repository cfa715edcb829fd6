/**
 * Google's VPN traffic in the planner's metrics form (docs/vpn-runs.md, "Google as coordinator"):
 * Cloud Monitoring counts bytes per HA VPN tunnel, and the planner counts them per AWS VPN
 * connection, so each Google tunnel is named by the AWS VPN whose tunnel it is paired with (the
 * Google tunnel's peer IP is the AWS tunnel's outside IP, as the planner pairs them).
 */
import { importAwsExport } from './import-aws.ts';
import { importGcpExport } from './import-gcp.ts';
import { gcpResourcePath } from './read.ts';
import type { RunDrain } from './run.ts';

/** A Google tunnel and the AWS VPN connection it belongs to. */
export interface PairedGcpTunnel {
  readonly project: string;
  readonly region: string;
  readonly name: string;
  readonly vpnConnectionId: string;
}

/** Google's tunnels of `gcpExport` whose peer is an AWS VPN tunnel of `awsExport`; the others are left out. */
export function pairedGcpTunnels(awsExport: unknown, gcpExport: unknown): PairedGcpTunnel[] {
  const vpnByOutsideIp = new Map<string, string>();
  for (const v of importAwsExport(awsExport).vpnConnections)
    for (const t of v.tunnels) vpnByOutsideIp.set(t.outsideIp, v.vpnConnectionId);
  const out: PairedGcpTunnel[] = [];
  for (const t of importGcpExport(gcpExport).tunnels) {
    const vpnConnectionId = vpnByOutsideIp.get(t.peerIp);
    const m = TUNNEL_PATH.exec(gcpResourcePath(t.selfLink));
    if (vpnConnectionId && m)
      out.push({ project: m[1] as string, region: m[2] as string, name: m[3] as string, vpnConnectionId });
  }
  return out;
}

/**
 * The Google tunnels of drained VPNs, from their drain records (`gcpTunnels`, as the planner paired
 * them when it drained), named by the AWS VPN: what the traffic check reads without an inventory.
 */
export function drainedGcpTunnels(drains: readonly RunDrain[]): PairedGcpTunnel[] {
  return drains.flatMap((d) =>
    d.gcpTunnels.flatMap((t) => {
      const m = TUNNEL_PATH.exec(gcpResourcePath(t));
      return m
        ? [
            {
              project: m[1] as string,
              region: m[2] as string,
              name: m[3] as string,
              vpnConnectionId: d.vpnConnectionId,
            },
          ]
        : [];
    }),
  );
}

const TUNNEL_PATH = /^projects\/([^/]+)\/regions\/([^/]+)\/vpnTunnels\/([^/]+)$/;

/** A Monitoring time series of a tunnel counter, as `projects.timeSeries.list` returns it. */
export interface TunnelSeries {
  readonly metric: { readonly type: string; readonly labels?: Readonly<Record<string, string>> };
  readonly resource: { readonly labels?: Readonly<Record<string, string>> };
  readonly points?: readonly {
    readonly interval: { readonly startTime: string; readonly endTime: string };
    readonly value: { readonly int64Value?: string | number };
  }[];
}

/**
 * The series' points as the metrics file's samples (`{vpnConnectionId, metric, start, end, bytes}`,
 * the metric's short name), for the tunnels paired with an AWS VPN; a series of another tunnel is
 * left out.
 */
export function trafficOfSeries(
  project: string,
  series: readonly TunnelSeries[],
  paired: readonly PairedGcpTunnel[],
): { vpnConnectionId: string; metric: string; start: string; end: string; bytes: number }[] {
  const vpnOf = new Map(paired.filter((p) => p.project === project).map((p) => [`${p.region}/${p.name}`, p]));
  return series.flatMap((s) => {
    const tunnel = vpnOf.get(`${s.resource.labels?.region}/${s.metric.labels?.tunnel_name}`);
    if (!tunnel) return [];
    const metric = s.metric.type.slice(s.metric.type.lastIndexOf('/') + 1);
    return (s.points ?? []).map((p) => ({
      vpnConnectionId: tunnel.vpnConnectionId,
      metric,
      start: p.interval.startTime,
      end: p.interval.endTime,
      bytes: Number(p.value.int64Value ?? 0),
    }));
  });
}
