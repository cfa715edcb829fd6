/**
 * The local CloudWatch's alarms, through the real SDK client: kept as a stack defines them (not
 * evaluated), listed by DescribeAlarms, deleted all-or-none by DeleteAlarms.
 */
import { CloudWatchClient, DeleteAlarmsCommand, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putMetricAlarm } from '#local/aws/services/cloudwatch.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';

const REGION = 'us-east-1';
let cloud: LocalCloud;
let cw: CloudWatchClient;

beforeAll(async () => {
  cloud = await startTestCloud();
  cw = new CloudWatchClient({ region: REGION, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS });
});
afterAll(async () => {
  cw?.destroy();
  await cloud?.stop();
});

describe('CloudWatch alarms', () => {
  it('lists the alarms a stack made, and deletes them all or none', async () => {
    for (const n of ['crosslink-dev-RelayDlqAlarm', 'crosslink-dev-WatcherStaleAlarm'])
      putMetricAlarm(cloud.aws.edge.world, '000000000000', REGION, {
        AlarmName: n,
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    const all = await cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'crosslink-dev-' }));
    expect(all.MetricAlarms?.map((a) => [a.AlarmName, a.StateValue])).toEqual([
      ['crosslink-dev-RelayDlqAlarm', 'INSUFFICIENT_DATA'],
      ['crosslink-dev-WatcherStaleAlarm', 'INSUFFICIENT_DATA'],
    ]);
    await expect(
      cw.send(new DeleteAlarmsCommand({ AlarmNames: ['crosslink-dev-RelayDlqAlarm', 'nope'] })),
    ).rejects.toMatchObject({ name: 'ResourceNotFound', message: 'nope not found' });
    expect((await cw.send(new DescribeAlarmsCommand({}))).MetricAlarms).toHaveLength(2);
    await cw.send(new DeleteAlarmsCommand({ AlarmNames: ['crosslink-dev-RelayDlqAlarm'] }));
    const left = await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['crosslink-dev-RelayDlqAlarm'] }));
    expect(left.MetricAlarms).toEqual([]);
  });
});
