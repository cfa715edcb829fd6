/**
 * The external checker's adapter (functions/aws/health-check-signals.ts) against the local AWS with
 * IAM enforced: the payments world's Route 53 health check on the primary's API, its
 * HealthCheckStatus read through the CloudWatch SDK client in us-east-1 by a role allowed only
 * cloudwatch:GetMetricData, before and during an outage of us-east-1.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHealthCheckSignals } from '#aws/health-check-signals.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import type { LocalCloud } from '#local/index.ts';
import { deployPaymentsWorld, type PaymentsWorld } from '../support/dr-world.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';
import { planWith } from '../unit/dr/helpers.ts';

let cloud: LocalCloud;
let world: PaymentsWorld;
const clients: { destroy(): void }[] = [];
// The world has one health check on the primary's API; the standby's readiness comes from the probes.
const plan: DrPlan = planWith((d) => {
  for (const s of d.signals)
    if (s.name === 'standby-readiness') s.vantagePoints = ['aws-us-west-2', 'gcp-us-west1'];
});

/** A CloudWatch client in us-east-1 as a session of a role allowed `actions`. */
async function cloudwatchAs(roleName: string, actions: string[]): Promise<CloudWatchClient> {
  await admin(cloud, 'POST', '/aws/sts/put-role', {
    accountId: cloud.aws.accountId,
    roleName,
    trust: [cloud.aws.accountId],
    policies: {
      read: { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: actions, Resource: '*' } },
    },
  });
  const config = { region: 'us-east-1', endpoint: cloud.aws.endpoint };
  const sts = new STSClient({ ...config, credentials: ADMIN_CREDENTIALS });
  try {
    const { Credentials: c } = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${cloud.aws.accountId}:role/${roleName}`,
        RoleSessionName: 'checker',
      }),
    );
    const cw = new CloudWatchClient({
      ...config,
      maxAttempts: 1,
      credentials: {
        accessKeyId: c?.AccessKeyId as string,
        secretAccessKey: c?.SecretAccessKey as string,
        sessionToken: c?.SessionToken as string,
      },
    });
    clients.push(cw);
    return cw;
  } finally {
    sts.destroy();
  }
}

beforeAll(async () => {
  cloud = await startTestCloud();
  await admin(cloud, 'POST', '/world/service-create', {
    name: 'payments-api',
    primary: 'aws',
    aws: { region: 'us-east-1', ip: '198.51.100.10' },
    gcp: { region: 'us-central1', ip: '203.0.113.10' },
  });
  world = await deployPaymentsWorld(cloud);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.destroy();
  await cloud?.stop();
});

describe('the external checker from HealthCheckStatus', () => {
  it('reports the primary healthy, then unhealthy once us-east-1 is out; a role without GetMetricData is refused', async () => {
    // Prepare
    const cloudwatch = await cloudwatchAs('crosslink-dr-checker', ['cloudwatch:GetMetricData']);
    const denied = await cloudwatchAs('crosslink-dr-nothing', ['cloudwatch:PutMetricData']);
    const input = {
      plan,
      vantage: 'route53-checkers',
      healthChecks: { 'api-health-check': world.out.PrimaryApiHealthCheckId },
    };
    const deps = { cloudwatch, clock: cloud.clock };
    await cloud.clock.advance(120_000);

    // Act
    const before = await readHealthCheckSignals(deps, input);
    await admin(cloud, 'POST', '/world/region-outage', { cloud: 'aws', region: 'us-east-1' });
    await cloud.clock.advance(120_000);
    const during = await readHealthCheckSignals(deps, input);
    const refused = await readHealthCheckSignals({ cloudwatch: denied, clock: cloud.clock }, input).catch(
      (e: Error) => e.name,
    );

    // Assess
    expect(before).toEqual([
      expect.objectContaining({ vantage: 'route53-checkers', signal: 'api-health-check', status: 'healthy' }),
    ]);
    expect(during).toEqual([
      expect.objectContaining({
        signal: 'api-health-check',
        status: 'unhealthy',
        detail: expect.stringMatching(
          new RegExp(`^HealthCheckStatus of ${world.out.PrimaryApiHealthCheckId}: 0 at `),
        ),
      }),
    ]);
    expect(refused).toBe('AccessDenied');
  });

  it('refuses a health check map that misses a signal of the vantage point or names another one', async () => {
    const cloudwatch = await cloudwatchAs('crosslink-dr-checker', ['cloudwatch:GetMetricData']);
    const refused = await readHealthCheckSignals(
      { cloudwatch, clock: cloud.clock },
      { plan, vantage: 'route53-checkers', healthChecks: { 'api-availability': 'x' } },
    ).catch((e: { issues?: unknown }) => e.issues);
    expect(refused).toEqual([
      {
        path: 'healthChecks.api-availability',
        reason: 'not a signal of vantage point route53-checkers in plan payments-api',
      },
      { path: 'healthChecks.api-health-check', reason: 'is required: a Route 53 health check id' },
    ]);
  });
});
