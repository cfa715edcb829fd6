/**
 * CloudWatch `AWS/SQS` `ApproximateAgeOfOldestMessage` of the local queues, read with the standard
 * CloudWatch client: one sample per minute, the age of the oldest message the queue held at that
 * minute, history included (a message deleted since still counts for the minutes it waited).
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let cw: CloudWatchClient;
let sqs: SQSClient;

beforeAll(async () => {
  cloud = await startTestCloud();
  const config = {
    region: 'us-east-1',
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
    maxAttempts: 1,
  };
  cw = new CloudWatchClient(config);
  sqs = new SQSClient(config);
});

afterAll(async () => {
  cw?.destroy();
  sqs?.destroy();
  await cloud?.stop();
});

async function ages(queue: string, from: number, to: number, stat = 'Maximum') {
  const out = await cw.send(
    new GetMetricDataCommand({
      StartTime: new Date(from),
      EndTime: new Date(to),
      ScanBy: 'TimestampAscending',
      MetricDataQueries: [
        {
          Id: 'age',
          MetricStat: {
            Metric: {
              Namespace: 'AWS/SQS',
              MetricName: 'ApproximateAgeOfOldestMessage',
              Dimensions: [{ Name: 'QueueName', Value: queue }],
            },
            Period: 60,
            Stat: stat,
          },
        },
      ],
    }),
  );
  const r = out.MetricDataResults?.[0];
  return (r?.Timestamps ?? []).map((t, i) => [(t.getTime() - from) / 1000, r?.Values?.[i]]);
}

describe('AWS/SQS ApproximateAgeOfOldestMessage', () => {
  it('samples each minute the age of the oldest message held then, until it is deleted', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'aging' }));
    const t0 = cloud.clock.now();
    expect(t0 % 60_000).toBe(0);
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'first' }));
    await cloud.clock.advance(90_000);
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'second' }));
    await cloud.clock.advance(60_000);
    // t0 + 150 s: the first (received once, in flight) is deleted; the second stays.
    const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1 }));
    expect(got.Messages?.[0]?.Body).toBe('first');
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: got.Messages?.[0]?.ReceiptHandle }));
    await cloud.clock.advance(90_000);
    const second = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1 }));
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl, ReceiptHandle: second.Messages?.[0]?.ReceiptHandle }),
    );
    await cloud.clock.advance(60_000);
    // Samples at t0 .. t0 + 300 s (now); none for minutes that have not come.
    expect(await ages('aging', t0, t0 + 3_600_000)).toEqual([
      [0, 0],
      [60, 60],
      [120, 120],
      [180, 90],
      [240, 0],
      [300, 0],
    ]);
  });

  it('has no data for a queue that does not exist', async () => {
    const now = cloud.clock.now();
    expect(await ages('no-such-queue', now - 600_000, now + 1)).toEqual([]);
  });
});
