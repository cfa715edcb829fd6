/**
 * The protected service's AWS compute through the real @aws-sdk/client-ecs: its ECS service
 * described and scaled with UpdateService (new tasks running the startup time later), the
 * refusals (an unknown cluster or service, a bad count, an update the local ECS does not model),
 * and IAM refusing a caller without ecs:UpdateService.
 */
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import { admin, callerConfig, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let ecs: ECSClient;

beforeAll(async () => {
  cloud = await startTestCloud();
  await admin(cloud, 'POST', '/world/service-create', {
    name: 'payments-api',
    primary: 'aws',
    aws: { region: 'us-east-1', ip: '192.0.2.10', cluster: 'payments' },
    gcp: { region: 'us-central1', ip: '192.0.2.20' },
    startup: '30s',
  });
  ecs = new ECSClient(callerConfig(cloud, { accessKeyId: 'test', secretAccessKey: 'test' }));
});
afterAll(async () => {
  ecs?.destroy();
  await cloud?.stop();
});

describe('ECS: the primary side scaled through UpdateService', () => {
  it('describes the service and scales it: the new tasks run after the startup time', async () => {
    // Prepare
    const [before] = (
      await ecs.send(new DescribeServicesCommand({ cluster: 'payments', services: ['payments-api'] }))
    ).services!;
    // Act
    const updated = await ecs.send(
      new UpdateServiceCommand({ cluster: 'payments', service: 'payments-api', desiredCount: 6 }),
    );
    await cloud.clock.advance(30_000);
    const after = await ecs.send(
      new DescribeServicesCommand({ cluster: 'payments', services: [before!.serviceArn!, 'billing'] }),
    );
    // Assess
    expect(before).toMatchObject({
      serviceName: 'payments-api',
      status: 'ACTIVE',
      desiredCount: 2,
      runningCount: 2,
    });
    expect(before!.serviceArn).toBe(
      `arn:aws:ecs:us-east-1:${cloud.aws.accountId}:service/payments/payments-api`,
    );
    expect(updated.service).toMatchObject({ desiredCount: 6, runningCount: 2, pendingCount: 4 });
    expect(after.services?.[0]).toMatchObject({ desiredCount: 6, runningCount: 6, pendingCount: 0 });
    expect(after.failures).toEqual([
      { arn: `arn:aws:ecs:us-east-1:${cloud.aws.accountId}:service/payments/billing`, reason: 'MISSING' },
    ]);
  });

  it('refuses an unknown cluster or service, a bad count, an unmodelled update, and alice without ecs:UpdateService', async () => {
    // Prepare
    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: { name?: string; message?: string }) => `${e.name}: ${e.message}`,
      );
    const alice = new ECSClient(
      callerConfig(cloud, { accessKeyId: 'AKIALOCALALICE000001', secretAccessKey: 'alice-local-secret' }),
    );
    // Act
    const cluster = await refusal(
      ecs.send(new UpdateServiceCommand({ cluster: 'other', service: 'payments-api' })),
    );
    const service = await refusal(
      ecs.send(new UpdateServiceCommand({ cluster: 'payments', service: 'billing' })),
    );
    const count = await refusal(
      ecs.send(new UpdateServiceCommand({ cluster: 'payments', service: 'payments-api', desiredCount: -1 })),
    );
    const taskDef = await refusal(
      ecs.send(
        new UpdateServiceCommand({ cluster: 'payments', service: 'payments-api', taskDefinition: 'web:2' }),
      ),
    );
    const denied = await refusal(
      alice.send(new UpdateServiceCommand({ cluster: 'payments', service: 'payments-api', desiredCount: 0 })),
    );
    alice.destroy();
    // Assess
    expect(cluster).toBe('ClusterNotFoundException: Cluster not found.');
    expect(service).toBe('ServiceNotFoundException: Service not found.');
    expect(count).toBe('InvalidParameterException: desiredCount must be an integer from 0 to 1000.');
    expect(taskDef).toBe(
      'InvalidParameterException: The local ECS updates desiredCount only, not taskDefinition.',
    );
    expect(denied).toMatch(
      /^AccessDeniedException: .*alice is not authorized to perform: ecs:UpdateService on resource: arn:aws:ecs:us-east-1:\d{12}:service\/payments\/payments-api/,
    );
  });
});
