/**
 * CloudWatch GetMetricData for AWS/VPN against the edge with the standard client: tunnel bytes
 * and state from the network model's traffic, 5-minute samples on the virtual clock, periods and
 * statistics, dimensions, pagination, and the errors.
 */
import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { AwsSmithyRpcV2CborProtocol } from '@aws-sdk/core/protocols';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkOf } from '#local/aws/common/network.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';

const T0 = Date.parse('2026-06-01T00:00:00Z');
const MIN = 60_000;
let cloud: LocalCloud;
let cw: CloudWatchClient;
let vpnId: string;
let tunnelIps: string[];

beforeAll(async () => {
  cloud = await startTestCloud();
  cw = new CloudWatchClient({
    region: 'us-east-1',
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
    maxAttempts: 1,
  });
  await admin(cloud, 'POST', '/aws/ec2/add-gcp-network', {
    project: 'net-prod',
    name: 'core',
    subnets: [{ name: 'app', region: 'us-east4', ipCidrRange: '10.128.0.0/20' }],
  });
  const { vpc } = await admin(cloud, 'POST', '/aws/ec2/add-vpc', { cidrBlocks: ['10.0.0.0/16'] });
  const { vpn } = await admin(cloud, 'POST', '/aws/ec2/build-vpn', {
    name: 'vpn-a',
    aws: { vpcId: vpc.vpcId },
    gcp: { project: 'net-prod', region: 'us-east4', network: 'core' },
  });
  vpnId = vpn.vpnConnectionId;
  await admin(cloud, 'POST', '/aws/ec2/add-flow', {
    name: 'a2g',
    from: vpc.vpcId,
    to: '10.128.1.10',
    bytesPerSecond: 1000,
  });
  await admin(cloud, 'POST', '/aws/ec2/add-flow', {
    name: 'g2a',
    from: 'projects/net-prod/global/networks/core',
    to: '10.0.5.5',
    bytesPerSecond: 500,
  });
  const telemetry = (await admin(cloud, 'POST', '/aws/ec2/vgw-routes', { vpnGatewayId: vpn.vpnGatewayId }))
    .routes;
  expect(telemetry.length).toBeGreaterThan(0);
  await cloud.clock.advance(30 * MIN);
  await admin(cloud, 'POST', '/aws/ec2/set-flow-rate', { flowId: 'a2g', bytesPerSecond: 0 });
  await cloud.clock.advance(30 * MIN + 7 * MIN);
  // 01:07 now: twelve complete 5-minute samples after 00:00, the 01:05 one still open.
  tunnelIps =
    networkOf(cloud.aws.edge.world)
      .vpnConnections.get(vpnId)
      ?.tunnels.map((t) => t.outsideIpAddress) ?? [];
});
afterAll(async () => {
  await cloud?.stop();
});

const query = (
  id: string,
  metric: string,
  stat: string,
  period: number,
  dims: Record<string, string>,
): MetricDataQuery => ({
  Id: id,
  MetricStat: {
    Metric: {
      Namespace: 'AWS/VPN',
      MetricName: metric,
      Dimensions: Object.entries(dims).map(([Name, Value]) => ({ Name, Value })),
    },
    Period: period,
    Stat: stat,
  },
});

const get = (
  queries: MetricDataQuery[],
  extra: { ScanBy?: 'TimestampAscending'; MaxDatapoints?: number; NextToken?: string; EndTime?: Date } = {},
) =>
  cw.send(
    new GetMetricDataCommand({
      MetricDataQueries: queries,
      StartTime: new Date(T0),
      EndTime: extra.EndTime ?? new Date(T0 + 2 * 3600_000),
      ...extra,
    }),
  );

async function errorOf(
  p: Promise<unknown>,
): Promise<Error & { Code?: string; $metadata: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { Code?: string; $metadata: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

describe('CloudWatch AWS/VPN', () => {
  it('TunnelDataOut / TunnelDataIn: one Sum per 5 minutes from the traffic, newest first; the open sample is not published', async () => {
    // Act
    const out = await get([
      query('out', 'TunnelDataOut', 'Sum', 300, { VpnId: vpnId }),
      query('in_', 'TunnelDataIn', 'Sum', 300, { VpnId: vpnId }),
    ]);
    const [o, i] = out.MetricDataResults ?? [];
    // Assess
    expect(o?.Timestamps).toHaveLength(13);
    expect(o?.Timestamps?.[0]?.toISOString()).toBe('2026-06-01T01:00:00.000Z');
    expect(o?.Timestamps?.[12]?.toISOString()).toBe('2026-06-01T00:00:00.000Z');
    // AWS sends 1000 B/s into the tunnels for the first 30 minutes, then nothing.
    expect(o?.Values).toEqual([0, 0, 0, 0, 0, 0, 0, 300_000, 300_000, 300_000, 300_000, 300_000, 300_000]);
    expect(i?.Values).toEqual(Array(13).fill(150_000));
    expect(o).toMatchObject({ Id: 'out', Label: 'TunnelDataOut', StatusCode: 'Complete' });
  });

  it('periods group samples: Sum, Average, Maximum, Minimum and SampleCount over an hour', async () => {
    const out = await get(
      ['Sum', 'Average', 'Maximum', 'Minimum', 'SampleCount'].map((s) =>
        query(s.toLowerCase(), 'TunnelDataOut', s, 3600, { VpnId: vpnId }),
      ),
      { EndTime: new Date(T0 + 3600_000) },
    );
    const values = Object.fromEntries((out.MetricDataResults ?? []).map((r) => [r.Id, r.Values]));
    expect(values).toEqual({
      sum: [1_800_000],
      average: [150_000],
      maximum: [300_000],
      minimum: [0],
      samplecount: [12],
    });
  });

  it('per tunnel (VpnId + TunnelIpAddress or TunnelIpAddress alone) the tunnels add up to the VPN', async () => {
    const perTunnel = await get(
      tunnelIps.map((ip, n) =>
        query(`t${n}`, 'TunnelDataIn', 'Sum', 3600, { VpnId: vpnId, TunnelIpAddress: ip }),
      ),
      { EndTime: new Date(T0 + 3600_000) },
    );
    const byIp = await get(
      [query('ip', 'TunnelDataIn', 'Sum', 3600, { TunnelIpAddress: tunnelIps[0] as string })],
      { EndTime: new Date(T0 + 3600_000) },
    );
    const sum = (perTunnel.MetricDataResults ?? []).reduce((s, r) => s + (r.Values?.[0] ?? 0), 0);
    expect(tunnelIps).toHaveLength(2);
    expect(sum).toBe(1_800_000);
    expect(byIp.MetricDataResults?.[0]?.Values).toEqual(perTunnel.MetricDataResults?.[0]?.Values);
  });

  it('TunnelState averages to 1 while both tunnels are up', async () => {
    const out = await get([query('st', 'TunnelState', 'Average', 3600, { VpnId: vpnId })], {
      EndTime: new Date(T0 + 3600_000),
    });
    expect(out.MetricDataResults?.[0]?.Values).toEqual([1]);
  });

  it('pages with MaxDatapoints / NextToken, ascending on request', async () => {
    const first = await get([query('out', 'TunnelDataOut', 'Sum', 300, { VpnId: vpnId })], {
      MaxDatapoints: 10,
      ScanBy: 'TimestampAscending',
    });
    const second = await get([query('out', 'TunnelDataOut', 'Sum', 300, { VpnId: vpnId })], {
      MaxDatapoints: 10,
      ScanBy: 'TimestampAscending',
      NextToken: first.NextToken,
    });
    expect(first.MetricDataResults?.[0]?.Values).toHaveLength(10);
    expect(first.MetricDataResults?.[0]?.StatusCode).toBe('PartialData');
    expect(first.MetricDataResults?.[0]?.Timestamps?.[0]?.toISOString()).toBe('2026-06-01T00:00:00.000Z');
    expect(second.MetricDataResults?.[0]?.Values).toHaveLength(3);
    expect(second.NextToken).toBeUndefined();
  });

  it('has no data for other metrics, other VPNs or other accounts', async () => {
    const out = await get([
      query('other', 'TunnelDataOut', 'Sum', 300, { VpnId: 'vpn-00000000000000000' }),
      {
        Id: 'ec2',
        MetricStat: {
          Metric: { Namespace: 'AWS/EC2', MetricName: 'CPUUtilization' },
          Period: 300,
          Stat: 'Average',
        },
      },
    ]);
    expect(out.MetricDataResults?.map((r) => [r.Values, r.StatusCode])).toEqual([
      [[], 'Complete'],
      [[], 'Complete'],
    ]);
  });

  it('refuses bad windows, periods, ids and metric math with InvalidParameterValue', async () => {
    const backwards = await errorOf(
      cw.send(
        new GetMetricDataCommand({
          MetricDataQueries: [query('a', 'TunnelDataIn', 'Sum', 300, { VpnId: vpnId })],
          StartTime: new Date(T0 + 3600_000),
          EndTime: new Date(T0),
        }),
      ),
    );
    const period = await errorOf(get([query('a', 'TunnelDataIn', 'Sum', 90, { VpnId: vpnId })]));
    const badId = await errorOf(get([query('Upper', 'TunnelDataIn', 'Sum', 300, { VpnId: vpnId })]));
    const math = await errorOf(get([{ Id: 'm', Expression: 'SUM(METRICS())' }]));
    for (const e of [backwards, period, badId, math]) {
      expect(e.name).toBe('InvalidParameterValueException');
      expect(e.$metadata.httpStatusCode).toBe(400);
    }
    expect(backwards.message).toBe('The parameter StartTime must be less than the parameter EndTime.');
  });

  it('answers the same over rpcv2-cbor, the other protocol of the service model', async () => {
    const cbor = new CloudWatchClient({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
      maxAttempts: 1,
      protocol: AwsSmithyRpcV2CborProtocol,
    });
    const q = [query('out', 'TunnelDataOut', 'Sum', 3600, { VpnId: vpnId })];
    const window = { StartTime: new Date(T0), EndTime: new Date(T0 + 3600_000) };
    const overCbor = await cbor.send(new GetMetricDataCommand({ MetricDataQueries: q, ...window }));
    const overJson = await cw.send(new GetMetricDataCommand({ MetricDataQueries: q, ...window }));
    const bad = await errorOf(
      cbor.send(
        new GetMetricDataCommand({
          MetricDataQueries: q,
          StartTime: window.EndTime,
          EndTime: window.StartTime,
        }),
      ),
    );
    expect(overCbor.MetricDataResults?.[0]?.Values).toEqual([1_800_000]);
    expect(overCbor.MetricDataResults?.[0]?.Timestamps).toEqual(overJson.MetricDataResults?.[0]?.Timestamps);
    expect(bad.name).toBe('InvalidParameterValueException');
  });
});
