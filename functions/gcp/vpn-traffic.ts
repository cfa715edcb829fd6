/**
 * Google's VPN traffic as Cloud Monitoring holds it (`vpn.googleapis.com/network/sent_bytes_count` and
 * `received_bytes_count`, per HA VPN tunnel), in the metrics file's form the planner imports: what
 * the VPN run reads when Google coordinates (docs/vpn-runs.md, "Google as coordinator"). Each project's
 * counters are read with that project's credentials (the hub's own, a network project's impersonated),
 * `projects.timeSeries.list` summed per 5 minutes over the idle window, complete periods only.
 */
import { type PairedGcpTunnel, type TunnelSeries, trafficOfSeries } from '#core/vpn/run-traffic.ts';
import { fromHttp } from './google-errors.ts';
import { ProjectApi, type ProjectApiOptions, readJson } from './retry.ts';

const PERIOD_S = 300;
const METRICS = [
  'vpn.googleapis.com/network/sent_bytes_count',
  'vpn.googleapis.com/network/received_bytes_count',
];

/**
 * Cloud Monitoring v3 `projects.timeSeries.list`, each call with the project's credentials, under the
 * Google clients' one retry policy (retry.ts: a read, sent again on 429, 503 and a lost connection).
 */
export class MonitoringRest {
  readonly #api: ProjectApi;
  constructor(o: ProjectApiOptions) {
    this.#api = new ProjectApi(o, 'https://monitoring.googleapis.com', '/v3/projects/');
  }

  /** Every series of `params` (its pages followed). */
  async timeSeries(project: string, params: Record<string, string>): Promise<TunnelSeries[]> {
    const out: TunnelSeries[] = [];
    let pageToken = '';
    do {
      const q = new URLSearchParams({ ...params, ...(pageToken ? { pageToken } : {}) });
      const res = await this.#api.send(project, 'GET', `timeSeries?${q}`, true);
      const json = (await readJson(res)) as { timeSeries?: TunnelSeries[]; nextPageToken?: string };
      if (!res.ok) throw fromHttp(res.status, json);
      out.push(...(json?.timeSeries ?? []));
      pageToken = json?.nextPageToken ?? '';
    } while (pageToken);
    return out;
  }
}

/**
 * The bytes each paired tunnel sent and received per 5 minutes over [now - window, now] (whole
 * periods), named by its AWS VPN connection: `{traffic: [...]}` as the metrics file holds it.
 */
export async function readGcpTraffic(
  monitoring: Pick<MonitoringRest, 'timeSeries'>,
  paired: readonly PairedGcpTunnel[],
  now: number,
  windowMs: number,
): Promise<{ traffic: unknown[] }> {
  const period = PERIOD_S * 1000;
  const end = Math.floor(now / period) * period;
  const start = end - Math.ceil(windowMs / period) * period;
  const traffic: unknown[] = [];
  for (const project of [...new Set(paired.map((p) => p.project))].sort())
    for (const type of METRICS) {
      const series = await monitoring.timeSeries(project, {
        filter: `metric.type = "${type}" AND resource.type = "vpn_gateway"`,
        'interval.startTime': new Date(start).toISOString(),
        'interval.endTime': new Date(end).toISOString(),
        'aggregation.alignmentPeriod': `${PERIOD_S}s`,
        'aggregation.perSeriesAligner': 'ALIGN_SUM',
      });
      traffic.push(...trafficOfSeries(project, series, paired));
    }
  return { traffic };
}
