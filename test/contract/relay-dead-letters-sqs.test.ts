/**
 * The AWS side of `crosslink relay dead-letters ls` / `relay redrive` (scripts/cli/relay-dead-letters.ts)
 * with the real SQS client against the local SQS: a listing names each dead letter's event, reason
 * and receives and takes nothing; a redrive moves at most `--max`, bodies intact, into the relay
 * queue; a stage without the queues is named.
 */
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import { SqsRelayDeadLetters } from '#scripts/cli/relay-dead-letters.ts';
import { ADMIN_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let sqs: SQSClient;
let config: { region: string; endpoint: string; credentials: typeof ADMIN_CREDENTIALS };
let stage = 0;

beforeAll(async () => {
  cloud = await startTestCloud();
  config = { region: cloud.aws.region, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  sqs = new SQSClient(config);
});

afterAll(async () => {
  sqs?.destroy();
  await cloud?.stop();
});

/** A stage's relay queue and DLQ, the DLQ holding one EventBridge event per id. */
async function queues(ids: string[]) {
  const name = `t${++stage}`;
  const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: `crosslink-relay-dlq-${name}` }))).QueueUrl;
  const queue = (await sqs.send(new CreateQueueCommand({ QueueName: `crosslink-relay-${name}` }))).QueueUrl;
  const bodies = ids.map((id) =>
    JSON.stringify({
      source: 'crosslink',
      'detail-type': 'LinkApproved',
      detail: { specversion: '1.0', id, type: 'crosslink.LinkApproved.v1', source: 'crosslink/aws' },
    }),
  );
  for (const body of bodies)
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: dlq,
        MessageBody: body,
        MessageAttributes: {
          reason: { DataType: 'String', StringValue: 'publish failed 5 times: fetch failed' },
        },
      }),
    );
  return { name, dlq: dlq as string, queue: queue as string, bodies };
}

async function depth(url: string): Promise<number> {
  const a = (
    await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    )
  ).Attributes;
  return Number(a?.ApproximateNumberOfMessages) + Number(a?.ApproximateNumberOfMessagesNotVisible);
}

describe('the relay dead letters on SQS', () => {
  it('lists each with its event, reason and receives, and takes nothing', async () => {
    // Prepare
    const q = await queues(['e1', 'e2', 'e3']);
    const place = new SqsRelayDeadLetters(config, q.name);
    // Act
    const first = await place.list(100);
    const again = await place.list(2);
    place.close();
    // Assess
    expect(first.map((d) => [d.eventId, d.type, d.reason, d.attempts]).sort()).toEqual([
      ['e1', 'crosslink.LinkApproved.v1', 'publish failed 5 times: fetch failed', 1],
      ['e2', 'crosslink.LinkApproved.v1', 'publish failed 5 times: fetch failed', 1],
      ['e3', 'crosslink.LinkApproved.v1', 'publish failed 5 times: fetch failed', 1],
    ]);
    expect(again).toHaveLength(2);
    expect(await depth(q.dlq)).toBe(3);
    const visible = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.dlq, MaxNumberOfMessages: 10 }));
    expect(visible.Messages).toHaveLength(3);
  });

  it('moves at most --max, bodies intact, into the relay queue', async () => {
    // Prepare
    const q = await queues(['a', 'b', 'c']);
    const place = new SqsRelayDeadLetters(config, q.name);
    // Act
    const two = await place.redrive(2);
    const rest = await place.redrive(100);
    place.close();
    // Assess
    expect(two).toEqual({
      side: 'aws',
      from: `crosslink-relay-dlq-${q.name}`,
      to: `crosslink-relay-${q.name}`,
      moved: 2,
      left: 1,
    });
    expect(rest).toMatchObject({ moved: 1, left: 0 });
    const moved = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.queue, MaxNumberOfMessages: 10 }));
    expect(moved.Messages?.map((m) => m.Body).sort()).toEqual([...q.bodies].sort());
  });

  it('names the queue that does not exist', async () => {
    const place = new SqsRelayDeadLetters(config, 'nostage');
    await expect(place.list(10)).rejects.toThrow(/QueueDoesNotExist|does not exist/);
    place.close();
  });
});
