/**
 * VPN traffic as CloudWatch holds it (`AWS/VPN` `TunnelDataIn` / `TunnelDataOut`), in the metrics
 * file's form the planner imports (docs/vpn-planner.md, "--metrics"): what the VPN run's coordinator
 * and `crosslink vpn plan` without files read.
 */
import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';

/** Where and as whom: a Lambda passes its region only (its role's credentials). */
export interface CloudWatchAccess {
  endpoint?: string | undefined;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

const PERIOD_S = 300;
const METRICS = ['TunnelDataIn', 'TunnelDataOut'] as const;

/**
 * CloudWatch `AWS/VPN` TunnelDataIn / TunnelDataOut per VPN connection (Sum per 5 minutes) over
 * [now - window, now], as the metrics file's `{traffic: [...]}`.
 */
export async function readAwsTraffic(
  access: CloudWatchAccess,
  vpnConnectionIds: readonly string[],
  now: number,
  windowMs: number,
): Promise<{ traffic: unknown[] }> {
  const traffic: unknown[] = [];
  if (vpnConnectionIds.length === 0) return { traffic };
  const cw = new CloudWatchClient({ ...access });
  const end = Math.floor(now / (PERIOD_S * 1000)) * PERIOD_S * 1000;
  const start = end - Math.ceil(windowMs / (PERIOD_S * 1000)) * PERIOD_S * 1000;
  try {
    // At most 500 queries per call.
    const queries: (MetricDataQuery & { vpn: string; metric: string })[] = vpnConnectionIds.flatMap(
      (vpn, i) =>
        METRICS.map((metric, j) => ({
          Id: `q${i}_${j}`,
          vpn,
          metric,
          MetricStat: {
            Metric: { Namespace: 'AWS/VPN', MetricName: metric, Dimensions: [{ Name: 'VpnId', Value: vpn }] },
            Period: PERIOD_S,
            Stat: 'Sum',
          },
        })),
    );
    for (let k = 0; k < queries.length; k += 500) {
      const batch = queries.slice(k, k + 500);
      const byId = new Map(batch.map((q) => [q.Id, q]));
      let NextToken: string | undefined;
      do {
        const out = await cw.send(
          new GetMetricDataCommand({
            StartTime: new Date(start),
            EndTime: new Date(end),
            MetricDataQueries: batch.map(({ vpn: _v, metric: _m, ...q }) => q),
            NextToken,
          }),
        );
        for (const r of out.MetricDataResults ?? []) {
          const q = r.Id ? byId.get(r.Id) : undefined;
          if (!q) continue;
          for (const [i, ts] of (r.Timestamps ?? []).entries()) {
            const at = new Date(ts).getTime();
            traffic.push({
              vpnConnectionId: q.vpn,
              metric: q.metric,
              start: new Date(at).toISOString(),
              end: new Date(at + PERIOD_S * 1000).toISOString(),
              bytes: r.Values?.[i] ?? 0,
            });
          }
        }
        NextToken = out.NextToken;
      } while (NextToken);
    }
  } finally {
    cw.destroy();
  }
  return { traffic };
}

/** A VPN connection and the AWS region it is in (CloudWatch's metrics of it are there). */
export interface RegionalVpn {
  readonly vpnConnectionId: string;
  readonly region: string;
}

/**
 * `readAwsTraffic` for VPNs of several regions: CloudWatch is regional, so each region's VPNs are
 * read there (one batched read per region), the samples joined. A region whose read fails gives no
 * samples, and the others are still read: a VPN without samples is never idle to the planner (it is
 * kept) and shows no returned traffic, as when the whole read failed. Every region failing is the
 * caller's failure (the first region's error).
 */
export async function readAwsTrafficByRegion(
  access: Omit<CloudWatchAccess, 'region'>,
  vpns: readonly RegionalVpn[],
  now: number,
  windowMs: number,
  read: typeof readAwsTraffic = readAwsTraffic,
): Promise<{ traffic: unknown[] }> {
  const byRegion = new Map<string, string[]>();
  for (const v of vpns) byRegion.set(v.region, [...(byRegion.get(v.region) ?? []), v.vpnConnectionId]);
  const traffic: unknown[] = [];
  const failures: unknown[] = [];
  for (const [region, ids] of [...byRegion].sort(([a], [b]) => a.localeCompare(b))) {
    try {
      traffic.push(...(await read({ ...access, region }, ids, now, windowMs)).traffic);
    } catch (e) {
      failures.push(e);
    }
  }
  if (failures.length > 0 && failures.length === byRegion.size) throw failures[0];
  return { traffic };
}
