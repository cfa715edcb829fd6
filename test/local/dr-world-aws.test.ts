/**
 * The payments service's world with its traffic switched on AWS: the sample protected service
 * (docs/protected-service.md) at the addresses examples/dr/payments-aws-world.yaml points at, its
 * clients resolving through Route 53, and an outage of the primary's region (us-east-1). Route 53's
 * checkers see the primary fail (HealthCheckStatus 0 in CloudWatch), the routing controls are
 * switched through an endpoint outside the region while the us-east-1 endpoint drops connections,
 * and the clients reach the standby once their cached answer's TTL has run out
 * (docs/local-route53-arc.md).
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import {
  createPaymentsAtArcAddresses,
  deployPaymentsWorld,
  type PaymentsWorld,
  startPaymentsClients,
  switchCells as switchWorldCells,
} from '../support/dr-world.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let world: PaymentsWorld;
const act = (action: string, body: unknown) => admin(cloud, 'POST', `/world/${action}`, body);

const switchCells = (aws: 'On' | 'Off', gcp: 'On' | 'Off') => switchWorldCells(world, aws, gcp);

async function healthStatus(id: string): Promise<string> {
  const { HealthChecks } = await admin(cloud, 'POST', '/aws/route53/health-checks', {});
  return HealthChecks.find((h: { Id: string }) => h.Id === id).Status;
}

beforeAll(async () => {
  cloud = await startTestCloud();
  await createPaymentsAtArcAddresses(cloud);
  world = await deployPaymentsWorld(cloud);
  await switchCells('On', 'Off');
  await startPaymentsClients(cloud);
}, 60_000);

afterAll(async () => {
  await cloud?.stop();
});

describe('an outage of the primary region, traffic switched with ARC', () => {
  it('serves from AWS, then Route 53 sees the primary fail, and the clients follow the switch after the TTL', async () => {
    await cloud.clock.advance(60_000);
    const before = await act('clients', { service: 'payments-api' });
    expect(before.bySide.aws).toBe(before.requests);
    expect(await healthStatus(world.out.PrimaryApiHealthCheckId)).toBe('Healthy');

    await act('region-outage', { cloud: 'aws', region: 'us-east-1' });
    await cloud.clock.advance(30_000);
    expect(await healthStatus(world.out.PrimaryApiHealthCheckId)).toBe('Unhealthy');
    const during = await act('clients', { service: 'payments-api' });
    expect(during.successes).toBe(before.successes);

    // The failover: the standby's database promoted, then the cells switched (not through us-east-1).
    await act('service-promote', { name: 'payments-api', cloud: 'gcp' });
    const switchedAt = cloud.clock.now();
    expect(await switchCells('Off', 'On')).toBe('us-west-2');

    // The answer cached before the switch keeps the clients on the failed side until its TTL (60 s) ends.
    const cached = (await act('clients', { service: 'payments-api' })).cached as {
      answers: string[];
      until: string;
    };
    expect(cached.answers).toEqual(['198.51.100.10']);
    const expires = Date.parse(cached.until);
    expect(expires - switchedAt).toBeLessThanOrEqual(60_000);
    await cloud.clock.advance(Math.max(0, expires - cloud.clock.now() - 1_000));
    expect((await act('clients', { service: 'payments-api' })).bySide.gcp ?? 0).toBe(0);
    await cloud.clock.advance(3_000);
    const after = await act('clients', { service: 'payments-api' });
    expect(after.bySide.gcp).toBeGreaterThan(0);
    const recovered = (after.transitions as { at: string; ok: boolean }[]).filter((t) => t.ok).at(-1);
    const recoveredAt = Date.parse(recovered?.at ?? '');
    expect(recoveredAt - switchedAt).toBeGreaterThan(0);
    expect(recoveredAt - switchedAt).toBeLessThanOrEqual(61_000);
  });

  it('the external checker reads the outage from HealthCheckStatus in CloudWatch us-east-1', async () => {
    const cw = new CloudWatchClient({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
      maxAttempts: 1,
    });
    try {
      const now = cloud.clock.now();
      const { MetricDataResults } = await cw.send(
        new GetMetricDataCommand({
          StartTime: new Date(now - 5 * 60_000),
          EndTime: new Date(now),
          ScanBy: 'TimestampAscending',
          MetricDataQueries: [
            {
              Id: 'primary',
              MetricStat: {
                Metric: {
                  Namespace: 'AWS/Route53',
                  MetricName: 'HealthCheckStatus',
                  Dimensions: [{ Name: 'HealthCheckId', Value: world.out.PrimaryApiHealthCheckId }],
                },
                Period: 60,
                Stat: 'Minimum',
              },
            },
          ],
        }),
      );
      const values = MetricDataResults?.[0]?.Values ?? [];
      expect(values[0]).toBe(1);
      expect(values.at(-1)).toBe(0);
    } finally {
      cw.destroy();
    }
  });
});
