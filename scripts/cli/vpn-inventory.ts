/**
 * Reads the VPN planner's inputs from a running local cloud (`crosslink vpn plan` without files):
 * the same calls the standard CLIs make, through the real SDK clients over HTTP, written out in
 * exactly the shapes `importAwsExport` / `importGcpExport` / `importMetricsFile` take
 * (docs/vpn-planner.md, "Input files"). Every list is paged to the end.
 */
import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import {
  DescribeCustomerGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeTransitGatewayAttachmentsCommand,
  DescribeTransitGatewayRouteTablesCommand,
  DescribeVpnConnectionsCommand,
  EC2Client,
  SearchTransitGatewayRoutesCommand,
} from '@aws-sdk/client-ec2';
import type { JWT } from 'google-auth-library';
import { jwtClient, type ServiceAccountKey } from '#gcp/google-credentials.ts';
import { UsageError } from './errors.ts';
import type { LocalHandshake } from './target.ts';

export interface AwsAccess {
  endpoint?: string | undefined;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export interface GcpAccess {
  /** Base URL serving `/compute/v1/...` (the local edge). */
  endpoint: string;
  project: string;
  region: string;
  auth: JWT;
}

/** What the CLI prints: the output object without `$metadata`, dates as ISO strings. */
const exported = (out: object): Record<string, unknown> => {
  const { $metadata: _, ...rest } = out as { $metadata?: unknown };
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
};

/** Pages an EC2 describe call by NextToken, concatenating `key`. */
async function paged<T>(
  key: string,
  call: (token: string | undefined) => Promise<{ NextToken?: string | undefined } & object>,
): Promise<T[]> {
  const all: T[] = [];
  let token: string | undefined;
  do {
    const page = exported(await call(token));
    all.push(...((page[key] as T[] | undefined) ?? []));
    token = page.NextToken as string | undefined;
  } while (token);
  return all;
}

/** `aws ec2 describe-vpn-connections` ... merged as `jq -s add` would, with `TransitGatewayRoutes`. */
export async function readAwsInventory(access: AwsAccess): Promise<Record<string, unknown>> {
  const ec2 = new EC2Client({ ...access });
  try {
    const vpn = exported(await ec2.send(new DescribeVpnConnectionsCommand({})));
    const cgw = exported(await ec2.send(new DescribeCustomerGatewaysCommand({})));
    const RouteTables = await paged('RouteTables', (NextToken) =>
      ec2.send(new DescribeRouteTablesCommand({ NextToken })),
    );
    const TransitGatewayAttachments = await paged('TransitGatewayAttachments', (NextToken) =>
      ec2.send(new DescribeTransitGatewayAttachmentsCommand({ NextToken })),
    );
    const TransitGatewayRouteTables = await paged<{ TransitGatewayRouteTableId?: string }>(
      'TransitGatewayRouteTables',
      (NextToken) => ec2.send(new DescribeTransitGatewayRouteTablesCommand({ NextToken })),
    );
    const TransitGatewayRoutes: Record<string, unknown> = {};
    for (const t of TransitGatewayRouteTables) {
      const id = t.TransitGatewayRouteTableId;
      if (!id) continue;
      TransitGatewayRoutes[id] = exported(
        await ec2.send(
          new SearchTransitGatewayRoutesCommand({
            TransitGatewayRouteTableId: id,
            Filters: [{ Name: 'state', Values: ['active'] }],
          }),
        ),
      );
    }
    return {
      VpnConnections: vpn.VpnConnections ?? [],
      CustomerGateways: cgw.CustomerGateways ?? [],
      RouteTables,
      TransitGatewayAttachments,
      TransitGatewayRouteTables,
      TransitGatewayRoutes,
    };
  } finally {
    ec2.destroy();
  }
}

const PERIOD_S = 300;
const METRICS = ['TunnelDataIn', 'TunnelDataOut'] as const;

/**
 * CloudWatch `AWS/VPN` TunnelDataIn / TunnelDataOut per VPN connection (Sum per 5 minutes) over
 * [now - window, now], as the metrics file's `{traffic: [...]}`.
 */
export async function readAwsTraffic(
  access: AwsAccess,
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

/** GET on the Google REST API, paging `items` by pageToken. */
async function gcpList(access: GcpAccess, path: string, token: string): Promise<unknown[]> {
  const items: unknown[] = [];
  let pageToken: string | undefined;
  do {
    const url = new URL(`${access.endpoint}${path}`);
    if (pageToken) url.searchParams.set('pageToken', pageToken);
    const page = (await gcpGet(url, token)) as { items?: unknown[]; nextPageToken?: string };
    items.push(...(page.items ?? []));
    pageToken = page.nextPageToken;
  } while (pageToken);
  return items;
}

async function gcpGet(url: URL, token: string): Promise<unknown> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { error?: { message?: string } };
  if (!res.ok) throw new Error(`GET ${url.pathname}: HTTP ${res.status} ${body.error?.message ?? ''}`.trim());
  return body;
}

/**
 * `{vpnTunnels, routers, routerStatus, externalVpnGateways}` as gcloud's JSON: tunnels of every
 * region (aggregated list), routers of the regions holding tunnels (and the handshake's region),
 * `getRouterStatus` per router.
 */
export async function readGcpInventory(access: GcpAccess): Promise<Record<string, unknown>> {
  const { token } = await access.auth.getAccessToken();
  if (!token) throw new Error('the Google token endpoint returned no access token');
  const base = `/compute/v1/projects/${encodeURIComponent(access.project)}`;
  const vpnTunnels: { region?: string }[] = [];
  let pageToken: string | undefined;
  do {
    const url = new URL(`${access.endpoint}${base}/aggregated/vpnTunnels`);
    if (pageToken) url.searchParams.set('pageToken', pageToken);
    const page = (await gcpGet(url, token)) as {
      items?: Record<string, { vpnTunnels?: { region?: string }[] }>;
      nextPageToken?: string;
    };
    for (const scope of Object.values(page.items ?? {})) vpnTunnels.push(...(scope.vpnTunnels ?? []));
    pageToken = page.nextPageToken;
  } while (pageToken);
  const regions = new Set([access.region]);
  for (const t of vpnTunnels) if (t.region) regions.add(t.region.slice(t.region.lastIndexOf('/') + 1));
  const routers: { name: string; region?: string }[] = [];
  const routerStatus: Record<string, unknown> = {};
  for (const region of [...regions].sort()) {
    const here = (await gcpList(access, `${base}/regions/${region}/routers`, token)) as { name: string }[];
    for (const r of here) {
      routers.push(r);
      routerStatus[r.name] = await gcpGet(
        new URL(`${access.endpoint}${base}/regions/${region}/routers/${r.name}/getRouterStatus`),
        token,
      );
    }
  }
  const externalVpnGateways = await gcpList(access, `${base}/global/externalVpnGateways`, token);
  return { vpnTunnels, routers, routerStatus, externalVpnGateways };
}

/** What `crosslink vpn plan` reads from the local cloud when given no files. */
export interface LiveInputs {
  aws: unknown;
  gcp: unknown;
  metrics: unknown;
  /** The local cloud's clock (its time, manual or scaled), or `at` when given. */
  now: number;
}

export interface LiveSource {
  /** Where the inputs come from, for messages (e.g. "local cloud (aws)"). */
  label: string;
  read(at: number | undefined, idleWindowMs: number): Promise<LiveInputs>;
}

/** The local cloud of `local` (a handshake), signing as `who` with the Google key file `keyFile`. */
export function localCloudSource(
  local: LocalHandshake,
  who: { aws: AwsAccess['credentials']; gcpKey: ServiceAccountKey },
): LiveSource {
  return {
    label: 'local cloud',
    async read(at, idleWindowMs) {
      if (!local.aws || !local.gcp)
        throw new UsageError('the local cloud runs without its AWS or Google edge');
      let now = at;
      if (now === undefined) {
        if (!local.admin) throw new UsageError('the local cloud has no admin API: cannot read its clock');
        const res = await fetch(`${local.admin}/clock`);
        now = Date.parse(((await res.json()) as { now: string }).now);
      }
      const aws: AwsAccess = { endpoint: local.aws.endpoint, region: local.aws.region, credentials: who.aws };
      const awsInventory = await readAwsInventory(aws);
      const ids = ((awsInventory.VpnConnections as { VpnConnectionId?: string; State?: string }[]) ?? [])
        .filter((v) => v.VpnConnectionId && v.State !== 'deleted')
        .map((v) => v.VpnConnectionId as string);
      const gcp = await readGcpInventory({
        endpoint: local.gcp.endpoint,
        project: local.gcp.project,
        region: local.gcp.region,
        auth: jwtClient(who.gcpKey),
      });
      const metrics = await readAwsTraffic(aws, ids, now, idleWindowMs);
      return { aws: awsInventory, gcp, metrics, now };
    },
  };
}
