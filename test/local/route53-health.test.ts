/**
 * Route 53 health checks, their HealthCheckStatus metric in CloudWatch (read with the CloudWatch SDK
 * client, as the product's external checker reads it) and failover DNS answers, on the world of
 * examples/dr/payments-aws-world.yaml with the primary's endpoint registered in us-east-1
 * (docs/local-route53-arc.md).
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  Route53RecoveryClusterClient,
  UpdateRoutingControlStatesCommand,
} from '@aws-sdk/client-route53-recovery-cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import { dnsResolverOf } from '#local/world/dns-resolvers.ts';
import { registerEndpoint } from '#local/world/endpoints.ts';
import { type ClusterEndpoint, deployPaymentsWorld, type PaymentsWorld } from '../support/dr-world.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let out: PaymentsWorld['out'];
let arc: Route53RecoveryClusterClient;
let primaryUp = true;
const cloudwatch = (region: string) =>
  new CloudWatchClient({
    region,
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
    maxAttempts: 1,
  });

async function status(
  id: string,
): Promise<{ Status: string; Checkers: { Region: string; Healthy: boolean }[] }> {
  const { HealthChecks } = await admin(cloud, 'POST', '/aws/route53/health-checks', {});
  return HealthChecks.find((h: { Id: string }) => h.Id === id);
}

beforeAll(async () => {
  cloud = await startTestCloud();
  // The AWS side of the payments API, behind its load balancer in us-east-1.
  registerEndpoint(cloud.clock, {
    cloud: 'aws',
    region: 'us-east-1',
    address: '198.51.100.10',
    port: 443,
    answer: (path) => (primaryUp ? { status: path === '/healthz' ? 200 : 404, body: 'ok' } : undefined),
  });
  const world = await deployPaymentsWorld(cloud);
  out = world.out;
  const west = world.endpoints[1] as ClusterEndpoint;
  arc = new Route53RecoveryClusterClient({
    region: west.Region,
    endpoint: west.Endpoint,
    credentials: ADMIN_CREDENTIALS,
    maxAttempts: 1,
  });
}, 60_000);

afterAll(async () => {
  arc?.destroy();
  await cloud?.stop();
});

describe('an HTTPS health check of the primary', () => {
  it('is healthy while its endpoint answers, then unhealthy once FailureThreshold requests failed in the outage', async () => {
    const id = out.PrimaryApiHealthCheckId;
    await cloud.clock.advance(60_000);
    expect((await status(id)).Status).toBe('Healthy');

    await admin(cloud, 'POST', '/world/region-outage', { cloud: 'aws', region: 'us-east-1' });
    // Two failed rounds (10 s apart) of three: still healthy.
    await cloud.clock.advance(20_000);
    expect((await status(id)).Status).toBe('Healthy');
    await cloud.clock.advance(10_000);
    const during = await status(id);
    expect(during.Status).toBe('Unhealthy');
    // The checker in the region that is out reports nothing; the seven others see the endpoint fail.
    expect(during.Checkers.filter((c) => c.Healthy).map((c) => c.Region)).toEqual(['us-east-1']);

    await cloud.clock.advance(90_000);
    await admin(cloud, 'POST', '/world/region-outage', { cloud: 'aws', region: 'us-east-1', on: false });
    await cloud.clock.advance(30_000);
    expect((await status(id)).Status).toBe('Healthy');
  });

  it('publishes HealthCheckStatus per minute in us-east-1: 1 before the outage, 0 during it, 1 after', async () => {
    const id = out.PrimaryApiHealthCheckId;
    await cloud.clock.advance(60_000); // past the next minute's sample
    const start = new Date('2026-06-01T00:00:00Z');
    const cw = cloudwatch('us-east-1');
    const query = {
      StartTime: start,
      EndTime: new Date(cloud.clock.now()),
      ScanBy: 'TimestampAscending' as const,
      MetricDataQueries: [
        {
          Id: 'status',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/Route53',
              MetricName: 'HealthCheckStatus',
              Dimensions: [{ Name: 'HealthCheckId', Value: id }],
            },
            Period: 60,
            Stat: 'Minimum',
          },
        },
      ],
    };
    const { MetricDataResults } = await cw.send(new GetMetricDataCommand(query));
    cw.destroy();
    const values = MetricDataResults?.[0]?.Values ?? [];
    // Created at the start, healthy for the first minutes, unhealthy through the outage, healthy after.
    expect(values[0]).toBe(1);
    expect(values).toContain(0);
    expect(values.at(-1)).toBe(1);
    const firstZero = values.indexOf(0);
    expect(values.slice(firstZero, values.lastIndexOf(0) + 1).every((v) => v === 0)).toBe(true);

    // Route 53 publishes its metrics in us-east-1 only.
    const west = cloudwatch('us-west-2');
    const other = await west.send(new GetMetricDataCommand(query));
    west.destroy();
    expect(other.MetricDataResults?.[0]?.Values).toEqual([]);
  });

  it('sees an endpoint down while its region is up, and a 404 path as failing', async () => {
    const c = await admin(cloud, 'POST', '/aws/route53/create-health-check', {
      accountId: cloud.aws.accountId,
      HealthCheckConfig: {
        Type: 'HTTP',
        IPAddress: '198.51.100.10',
        Port: 443,
        ResourcePath: '/missing',
        RequestInterval: 10,
        FailureThreshold: 1,
      },
    });
    await cloud.clock.advance(10_000);
    expect((await status(c.Id)).Status).toBe('Unhealthy');
    primaryUp = false;
    await cloud.clock.advance(30_000);
    expect((await status(out.PrimaryApiHealthCheckId)).Status).toBe('Unhealthy');
    primaryUp = true;
    await cloud.clock.advance(30_000);
    expect((await status(out.PrimaryApiHealthCheckId)).Status).toBe('Healthy');
  });

  it('checks a name through Route 53 DNS, matches a string, and a TCP check passes on any answer', async () => {
    const create = async (config: Record<string, unknown>) =>
      (
        await admin(cloud, 'POST', '/aws/route53/create-health-check', {
          accountId: cloud.aws.accountId,
          HealthCheckConfig: { RequestInterval: 10, FailureThreshold: 1, ...config },
        })
      ).Id as string;
    // api.payments.example.com answers the primary's address (both cells Off: Route 53 answers the primary).
    const byName = await create({
      Type: 'HTTPS',
      FullyQualifiedDomainName: 'api.payments.example.com',
      ResourcePath: '/healthz',
    });
    const matching = await create({
      Type: 'HTTPS_STR_MATCH',
      IPAddress: '198.51.100.10',
      ResourcePath: '/healthz',
      SearchString: 'ok',
    });
    const notMatching = await create({
      Type: 'HTTPS_STR_MATCH',
      IPAddress: '198.51.100.10',
      ResourcePath: '/healthz',
      SearchString: 'degraded',
    });
    const tcp = await create({ Type: 'TCP', IPAddress: '198.51.100.10', Port: 443 });
    const nothing = await create({ Type: 'TCP', IPAddress: '192.0.2.99', Port: 443 });
    await cloud.clock.advance(10_000);
    expect(
      await Promise.all(
        [byName, matching, notMatching, tcp, nothing].map(async (id) => (await status(id)).Status),
      ),
    ).toEqual(['Healthy', 'Healthy', 'Unhealthy', 'Healthy', 'Unhealthy']);
  });

  it('refuses a configuration Route 53 would refuse, naming the field', async () => {
    const bad = (config: Record<string, unknown>) =>
      admin(cloud, 'POST', '/aws/route53/create-health-check', {
        accountId: cloud.aws.accountId,
        HealthCheckConfig: config,
      });
    await expect(
      bad({ Type: 'HTTP', IPAddress: '198.51.100.10', RequestInterval: 15 }),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('RequestInterval'),
    });
    await expect(
      bad({ Type: 'HTTP', IPAddress: '198.51.100.10', Regions: ['us-east-1'] }),
    ).rejects.toMatchObject({
      message: expect.stringContaining('Regions'),
    });
    await expect(bad({ Type: 'CALCULATED' })).rejects.toMatchObject({
      message: expect.stringContaining('not simulated'),
    });
  });
});

describe('failover records and RECOVERY_CONTROL checks', () => {
  it('answers the primary while its routing control is On, the secondary once the controls switch, with the TTL', async () => {
    const r53 = dnsResolverOf(cloud.clock, 'route53');
    if (!r53) throw new Error('the Route 53 resolver is not registered');
    // Both cells Off: both records unhealthy, and Route 53 answers the primary.
    expect(r53.resolve('api.payments.example.com', 'A')).toEqual({ answers: ['198.51.100.10'], ttl: 60 });

    await arc.send(
      new UpdateRoutingControlStatesCommand({
        UpdateRoutingControlStateEntries: [{ RoutingControlArn: out.GcpCell, RoutingControlState: 'On' }],
      }),
    );
    expect(r53.resolve('API.payments.example.com.', 'A')).toEqual({ answers: ['203.0.113.10'], ttl: 60 });
    await cloud.clock.advance(5_000);

    await arc.send(
      new UpdateRoutingControlStatesCommand({
        UpdateRoutingControlStateEntries: [
          { RoutingControlArn: out.AwsCell, RoutingControlState: 'On' },
          { RoutingControlArn: out.GcpCell, RoutingControlState: 'Off' },
        ],
      }),
    );
    expect(r53.resolve('api.payments.example.com', 'A')).toEqual({ answers: ['198.51.100.10'], ttl: 60 });
    // A name of the zone without that record: nothing, for the zone's negative-caching TTL; outside it: no zone.
    expect(r53.resolve('www.payments.example.com', 'A')).toEqual({ answers: [], ttl: 900 });
    expect(r53.resolve('api.other.example', 'A')).toBeUndefined();
  });

  it('a region outage does not change Route 53 answers: only the health checks they read', async () => {
    await admin(cloud, 'POST', '/world/region-outage', { cloud: 'aws', region: 'us-east-1' });
    try {
      expect(
        dnsResolverOf(cloud.clock, 'route53')?.resolve('api.payments.example.com', 'A')?.answers,
      ).toEqual(['198.51.100.10']);
    } finally {
      await admin(cloud, 'POST', '/world/region-outage', { cloud: 'aws', region: 'us-east-1', on: false });
    }
  });

  it('refuses a second PRIMARY record and a record outside the zone', async () => {
    const zone = await admin(cloud, 'POST', '/aws/route53/create-hosted-zone', {
      accountId: cloud.aws.accountId,
      name: 'other.example.com',
    });
    const add = (rec: Record<string, unknown>) =>
      admin(cloud, 'POST', '/aws/route53/create-record-set', {
        accountId: cloud.aws.accountId,
        HostedZoneId: zone.Id,
        Type: 'A',
        TTL: 30,
        ResourceRecords: ['192.0.2.1'],
        ...rec,
      });
    await add({ Name: 'a.other.example.com', Failover: 'PRIMARY', SetIdentifier: 'one' });
    await expect(
      add({ Name: 'a.other.example.com', Failover: 'PRIMARY', SetIdentifier: 'two' }),
    ).rejects.toMatchObject({
      status: 400,
    });
    await expect(add({ Name: 'a.other.example.com' })).rejects.toMatchObject({
      message: expect.stringContaining('conflicting RRSet'),
    });
    await expect(add({ Name: 'b.example.org' })).rejects.toMatchObject({
      message: expect.stringContaining('Name'),
    });
  });
});
