/**
 * The relay's dead letters brought back, in one local cloud running both halves, through the CLI
 * (`crosslink relay dead-letters ls`, `crosslink relay redrive`):
 * - a partition longer than the relay's retries: an AWS-first link is requested and has crossed;
 *   the relay between the clouds is cut (`sim relay partition`) and bob approves on AWS. The
 *   relay's five receives of LinkApproved (180 s apart) fail and it dead-letters the event, with the
 *   reason. Healed, nothing brings it back by itself: Google's record still waits for AWS's
 *   approval. `relay redrive --side aws` moves it back into the relay queue; carol approves on
 *   Google and the link reaches ACTIVE.
 * - a redrive of a duplicate is harmless, on each side: the AWS dead letter, sent to the DLQ again
 *   and redriven, reaches Google's peer-event consumer, which drops it (`duplicate event <id>`):
 *   Google applied it once. A Google event the AWS relay route already put on the bus, dead-lettered
 *   as Pub/Sub does (to `crosslink-relay-dead`, with its `CloudPubSubDeadLetterSource*` attributes)
 *   and redriven with `--side gcp`, is answered `duplicate` by the route.
 * Pub/Sub's own dead-lettering (5 pushes with a 10 s to 600 s backoff, wall-clock in the emulator)
 * outlasts a test, so the Google side's dead letter is published as Pub/Sub would forward it.
 */
import {
  ChangeMessageVisibilityCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AWS_FIRST,
  type BothHalves,
  dumpOnFailure,
  startBothHalves,
  waitFor,
} from '../support/both-halves.ts';
import { linkFlows } from '../support/link-flows.ts';
import { ADMIN_CREDENTIALS } from '../support/local-cloud.ts';

const DLQ = 'crosslink-relay-dlq-dev';
/** A pull subscription of the test's own on Google's events topic: a copy of what Google emitted. */
const TAP = 'relay-redrive-tap';

let both: BothHalves;
let sqs: SQSClient;

interface DeadLetterView {
  side: string;
  eventId: string | null;
  type: string | null;
  reason: string | null;
  attempts: number | null;
}

function pubsub(path: string, body: unknown): Promise<Response> {
  const base = `http://${both.cloud.emulators?.pubsubHost}/v1/projects/${both.cloud.gcp.project}`;
  return fetch(`${base}/${path}`, {
    method: path.includes(':') ? 'POST' : 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  both = await startBothHalves({}, { busyRate: 30 });
  sqs = new SQSClient({
    region: both.cloud.aws.region,
    endpoint: both.cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
  });
  const tap = await pubsub(`subscriptions/${TAP}`, {
    topic: `projects/${both.cloud.gcp.project}/topics/crosslink-events`,
  });
  expect(tap.status, await tap.text()).toBe(200);
}, 120_000);

afterAll(async () => {
  sqs?.destroy();
  await both?.stop();
});

const { bothSides, request, expectActive } = linkFlows(() => both);

async function crosslink(...args: string[]) {
  const r = await both.cli(...args);
  expect(r.code, `crosslink ${args.join(' ')}: ${r.err}`).toBe(0);
  return r.out;
}

describe('relay dead letters', () => {
  let linkId: string;
  let deadBody: string;
  let deadEventId: string;

  it('a partition longer than the retries dead-letters; healed, nothing brings it back', async (ctx) => {
    dumpOnFailure(ctx, both, 'relay-redrive');
    const id = await request(AWS_FIRST);
    linkId = id;
    await waitFor('the request on Google', async () => (await bothSides(id).catch(() => undefined))?.gcp);
    await crosslink('sim', 'relay', 'partition');
    try {
      await crosslink('link', 'approve', id, '--as', 'bob');
      // Five receives 180 s apart (virtual), then the relay dead-letters it with the reason.
      const dead = await waitFor('the approval dead-lettered on AWS', async () => {
        const ls = JSON.parse(
          await crosslink('relay', 'dead-letters', 'ls', '--side', 'aws', '--json'),
        ) as DeadLetterView[];
        return ls.find((d) => d.type === 'crosslink.LinkApproved.v1');
      });
      expect(dead.reason).toMatch(/^publish failed 5 times: /);
      expect(dead.attempts).toBeGreaterThanOrEqual(1);
      expect(dead.eventId).toBeTruthy();
      deadEventId = dead.eventId as string;
      // Its body, for the duplicate below (read and made visible again, not taken).
      const url = (await sqs.send(new GetQueueUrlCommand({ QueueName: DLQ }))).QueueUrl;
      const got = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 30 }),
      );
      const m = got.Messages?.find((x) => x.Body?.includes(deadEventId));
      expect(m?.Body).toBeDefined();
      deadBody = m?.Body as string;
      for (const x of got.Messages ?? [])
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: url,
            ReceiptHandle: x.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        );
    } finally {
      await crosslink('sim', 'relay', 'partition', '--off');
    }
    // Healed, the dead letter stays where it is: Google never heard of bob's approval.
    const text = await crosslink('relay', 'dead-letters', 'ls', '--side', 'aws');
    expect(text).toContain(deadEventId);
    expect((await bothSides(id)).gcp.state).toBe('AWAITING_APPROVAL');
  }, 120_000);

  it('redriven, the approval crosses and the link reaches ACTIVE', async (ctx) => {
    dumpOnFailure(ctx, both, 'relay-redrive-converge');
    const id = linkId;
    expect(id, 'the first test requested a link').toBeDefined();
    const [moved] = JSON.parse(await crosslink('relay', 'redrive', '--side', 'aws', '--json')) as {
      moved: number;
      left: number;
    }[];
    expect(moved?.moved).toBeGreaterThanOrEqual(1);
    expect(moved?.left).toBe(0);
    await crosslink('link', 'approve', id, '--side', 'gcp', '--as', 'carol', '--wait', '--timeout', '8h');
    await expectActive(id);
  }, 120_000);

  it('a redrive of a duplicate changes nothing, on either side', async (ctx) => {
    dumpOnFailure(ctx, both, 'relay-redrive-duplicate');
    expect(deadBody, 'the first test captured a dead letter').toBeDefined();
    // AWS -> Google: the same event once more, through the DLQ and a redrive.
    const url = (await sqs.send(new GetQueueUrlCommand({ QueueName: DLQ }))).QueueUrl;
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: deadBody }));
    expect(await crosslink('relay', 'redrive', '--side', 'aws')).toMatch(
      /^aws: 1 moved from crosslink-relay-dlq-dev to crosslink-relay-dev, 0 left$/m,
    );
    await waitFor('Google dropping the duplicate', async () =>
      both.output().includes(`duplicate event ${deadEventId}`),
    );
    const gcp = (await bothSides(linkId)).gcp;
    const applied = (gcp.audit ?? []).filter((a) => a.eventId === deadEventId && a.outcome === 'applied');
    expect(applied).toHaveLength(1);

    // Google -> AWS: an event of Google's the route already relayed, dead-lettered as Pub/Sub does.
    const pulled = (await (await pubsub(`subscriptions/${TAP}:pull`, { maxMessages: 100 })).json()) as {
      receivedMessages?: { message: { data: string; attributes?: Record<string, string> } }[];
    };
    const approved = pulled.receivedMessages
      ?.map((r) => r.message)
      .find((m) => {
        const e = JSON.parse(Buffer.from(m.data, 'base64').toString('utf8')) as {
          type: string;
          data: { linkId?: string };
        };
        return e.type === 'crosslink.LinkApproved.v1' && e.data.linkId === linkId;
      });
    expect(approved, 'Google emitted its LinkApproved').toBeDefined();
    const googleEventId = (
      JSON.parse(Buffer.from(approved?.data as string, 'base64').toString('utf8')) as { id: string }
    ).id;
    const published = await pubsub('topics/crosslink-relay-dead:publish', {
      messages: [
        {
          data: approved?.data,
          attributes: {
            ...approved?.attributes,
            CloudPubSubDeadLetterSourceSubscription: `projects/${both.cloud.gcp.project}/subscriptions/crosslink-events-relay`,
            CloudPubSubDeadLetterSourceDeliveryCount: '5',
          },
        },
      ],
    });
    expect(published.status).toBe(200);
    const ls = JSON.parse(
      await crosslink('relay', 'dead-letters', 'ls', '--side', 'gcp', '--json'),
    ) as DeadLetterView[];
    // Google's own events the partition held past their five pushes (those it emitted after the cut,
    // which depends on how fast the machine ran) are dead letters too: the list shows them beside it.
    expect(ls).toContainEqual(
      expect.objectContaining({
        side: 'gcp',
        eventId: googleEventId,
        attempts: 5,
        reason: 'undelivered from crosslink-events-relay',
      }),
    );
    expect(ls.every((d) => d.side === 'gcp' && d.reason === 'undelivered from crosslink-events-relay')).toBe(
      true,
    );
    const redriven = await crosslink('relay', 'redrive', '--side', 'gcp');
    const moved = /^gcp: (\d+) moved from crosslink-relay-dead-sub to crosslink-events, 0 left$/m.exec(
      redriven,
    );
    expect(Number(moved?.[1])).toBeGreaterThanOrEqual(ls.length);
    await waitFor('the AWS relay route answering duplicate', async () =>
      both
        .output()
        .split('\n')
        .some((l) => l.includes('relay: duplicate acknowledged') && l.includes(googleEventId)),
    );
    const views = await bothSides(linkId);
    expect([views.aws.state, views.gcp.state]).toEqual(['ACTIVE', 'ACTIVE']);
    const fromGoogle = (views.aws.audit ?? []).filter(
      (a) => a.eventId === googleEventId && a.outcome === 'applied',
    );
    expect(fromGoogle).toHaveLength(1);
  }, 120_000);
});
