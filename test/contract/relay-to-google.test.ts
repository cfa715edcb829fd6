/**
 * The AWS -> Google relay as deployed: serverless.yml in the local cloud (rule -> RelayQueue ->
 * relayToGoogle, the bundled handler in a Lambda worker), its Google token from the local STS
 * (the function's AWS keys sign GetCallerIdentity; the provider's condition trusts the role the
 * relay runs as, and the federated token is used directly), publishing over REST through the
 * emulator's IAM front to the real Pub/Sub emulator's crosslink-peer-events topic, on which the
 * role's principal set holds roles/pubsub.publisher (what gcp.yml's awsPublishers grants), pulled
 * here by a test subscription. A refused exchange fails the publish, so the record is retried
 * (virtual visibility timeouts) and dead-lettered with its reason.
 */
import { resolve } from 'node:path';
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toEventBridgeEntry } from '#aws/envelope.ts';
import { buildEvent, type CloudEvent, type Origin } from '#core/envelope.ts';
import { awsPrincipal } from '#deployment/gcp-grants.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import {
  type AwsHalfDeployment,
  deployAwsHalf,
  relayRoleArn,
  updateRelayEnvironment,
} from '#local/aws-half.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, crosslinkPutter, startTestCloud } from '../support/local-cloud.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const AWS: Origin = { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' };
const GCP: Origin = { cloud: 'gcp', project: 'payments-prod', region: 'us-east4' };
const SEALED = 'sealed-key-ciphertext-MUST-NOT-BE-LOGGED';
const SUBSCRIPTION = 'relay-test-pull';

let cloud: LocalCloud;
let half: AwsHalfDeployment;
let sqs: SQSClient;
let asCrosslink: EventBridgeClient;
let pubsub = '';
const physical = (logical: string) => half.deployment.stack.physicalIds[logical] as string;
const runtime = () => lambdaRuntime(cloud.aws.edge.world, cloud.aws.accountId, cloud.aws.region);
const relayName = () => physical('RelayToGoogleLambdaFunction');
const relayInvocations = () => runtime().invocations.filter((i) => i.functionName === relayName()).length;

async function emulator(method: string, path: string, body?: unknown) {
  const res = await fetch(`${pubsub}/v1/projects/${cloud.gcp.project}/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`emulator ${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Retries `fn` (real time: the relay runs in a worker) until it returns a value or stops throwing. */
async function eventually<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

type Pulled = { data: string; attributes: Record<string, string> };
/** Pulls (and acknowledges) what the test subscription holds now. */
/** Pulls until the topic has given at least one message (the relay publishes asynchronously). */
function pulledSome(): Promise<Pulled[]> {
  return eventually(async () => {
    const m = await pull();
    if (m.length === 0) throw new Error('nothing on the topic yet');
    return m;
  }, 30_000);
}

async function pull(): Promise<Pulled[]> {
  const out = (await emulator('POST', `subscriptions/${SUBSCRIPTION}:pull`, {
    maxMessages: 100,
    returnImmediately: true,
  })) as {
    receivedMessages?: { ackId: string; message: { data: string; attributes: Record<string, string> } }[];
  };
  const got = out.receivedMessages ?? [];
  if (got.length > 0)
    await emulator('POST', `subscriptions/${SUBSCRIPTION}:acknowledge`, { ackIds: got.map((m) => m.ackId) });
  return got.map((m) => ({
    data: Buffer.from(m.message.data, 'base64').toString('utf8'),
    attributes: m.message.attributes,
  }));
}

function event(origin: Origin, n: number): CloudEvent {
  const linkId = `lk-01jgc0000000000000000000${String(n).padStart(2, '0')}`;
  return buildEvent({
    name: 'LinkKeyIssued',
    origin,
    subject: linkId,
    data: { linkId, sealedKey: SEALED },
    clock: cloud.clock,
  });
}

async function putOnBus(e: CloudEvent) {
  const out = await asCrosslink.send(
    new PutEventsCommand({ Entries: [toEventBridgeEntry(e, physical('CrosslinkBus'))] }),
  );
  expect(out.FailedEntryCount).toBe(0);
}

async function queueDepth(logical: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: physical(logical),
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(out.Attributes?.ApproximateNumberOfMessages) +
    Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

async function drainDlq(): Promise<Message[]> {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: physical('RelayDlq'),
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ['All'],
      VisibilityTimeout: 3600,
    }),
  );
  return out.Messages ?? [];
}

beforeAll(async () => {
  // The bundled handler reads the wall clock (SigV4 dates): start virtual time there so both agree.
  cloud = await startTestCloud({
    clock: { mode: 'manual', start: Math.floor(Date.now() / 1000) * 1000 },
    emulators: { firestore: false },
  });
  pubsub = `http://${cloud.emulators?.pubsubHost}`;
  half = await deployAwsHalf(cloud, ROOT, { pubsubHost: cloud.pubsubFront?.host ?? null });
  // What gcp.yml's awsPublishers grants on the topic: the relay role's sessions may publish.
  const role = relayRoleArn(cloud) as string;
  cloud.gcp.iam.setBindings('test: gcp.yml awsPublishers', [
    {
      resource: `projects/${cloud.gcp.project}/topics/crosslink-peer-events`,
      role: 'roles/pubsub.publisher',
      members: [
        awsPrincipal(cloud.gcp.iam.projectNumber(cloud.gcp.project), { pool: 'crosslink-aws', role }),
      ],
    },
  ]);
  const config = { region: 'us-east-1', endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  sqs = new SQSClient(config);
  // This side's events, put as one of crosslink's roles (the bus's policy refuses anyone else).
  asCrosslink = await crosslinkPutter(cloud, half.deployment.stack.physicalIds.CrosslinkBus as string);
  await emulator('PUT', 'topics/crosslink-peer-events', {});
  await emulator('PUT', `subscriptions/${SUBSCRIPTION}`, {
    topic: `projects/${cloud.gcp.project}/topics/crosslink-peer-events`,
  });
}, 120_000);

afterAll(async () => {
  for (const c of [sqs, asCrosslink]) c?.destroy();
  await half?.stop();
  await cloud?.stop();
});

describe('relay AWS -> Google (deployed)', () => {
  it("publishes this side's event to crosslink-peer-events: data the CloudEvent, attributes ce-id, ce-type, crosslinkorigin, traceparent", async () => {
    const e = event(AWS, 1);
    await putOnBus(e);
    const got = await pulledSome();
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0]?.data as string)).toEqual(e);
    expect(got[0]?.attributes).toEqual({
      'ce-id': e.id,
      'ce-type': 'crosslink.LinkKeyIssued.v1',
      crosslinkorigin: 'aws',
      traceparent: e.traceparent,
    });
    await eventually(async () => expect(await queueDepth('RelayQueue')).toBe(0), 60_000);
  });

  it("refuses a function's service account publishing to crosslink-peer-events (IAM's 403 at the front)", async () => {
    // Prepare: a token of the peer-event consumer's account, as its function would get one
    const email = `crosslink-events@${cloud.gcp.project}.iam.gserviceaccount.com`;
    await cloud.gcp.auth.addServiceAccount(email);
    const { token } = cloud.gcp.auth.issueAccessToken({ email, kind: 'service-account' });
    const topic = `projects/${cloud.gcp.project}/topics/crosslink-peer-events`;
    // Act
    const res = await fetch(`http://${cloud.pubsubFront?.host}/v1/${topic}:publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ data: Buffer.from('{"forged":true}').toString('base64') }] }),
    });
    const anonymous = await fetch(`http://${cloud.pubsubFront?.host}/v1/${topic}:publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ data: 'e30=' }] }),
    });
    // Assess
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      error: {
        code: 403,
        message: `Permission 'pubsub.topics.publish' denied on resource '${topic}' (or it may not exist).`,
        status: 'PERMISSION_DENIED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'IAM_PERMISSION_DENIED',
            domain: 'pubsub.googleapis.com',
            metadata: { permission: 'pubsub.topics.publish', resource: topic },
          },
        ],
      },
    });
    expect(anonymous.status).toBe(401);
    expect(await pull()).toEqual([]);
  });

  it('never relays an event of origin gcp: the rule does not match, and the relay acknowledges one that reaches it', async () => {
    const before = relayInvocations();
    await putOnBus(event(GCP, 2));
    // One slipped into the queue (as a misconfigured rule would): acknowledged, not published.
    const slipped = event(GCP, 3);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: physical('RelayQueue'),
        MessageBody: JSON.stringify({
          version: '0',
          id: 'x',
          source: 'crosslink',
          'detail-type': 'LinkKeyIssued',
          detail: slipped,
        }),
      }),
    );
    await eventually(async () => {
      expect(relayInvocations()).toBeGreaterThan(before);
      expect(await queueDepth('RelayQueue')).toBe(0);
    }, 30_000);
    // A marker of origin aws put afterwards arrives alone.
    const marker = event(AWS, 4);
    await putOnBus(marker);
    const got = await pulledSome();
    expect(got.map((m) => m.attributes['ce-id'])).toEqual([marker.id]);
    expect(await drainDlq()).toEqual([]);
  });

  it('relays a duplicate put again (the receiver dedupes by CloudEvent id)', async () => {
    const e = event(AWS, 5);
    await putOnBus(e);
    await putOnBus(e);
    const got: Pulled[] = [];
    await eventually(async () => {
      got.push(...(await pull()));
      expect(got).toHaveLength(2);
    }, 30_000);
    expect(got.map((m) => m.attributes['ce-id'])).toEqual([e.id, e.id]);
  });

  it('dead-letters a poison record at once with its reason', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: physical('RelayQueue'), MessageBody: 'not an event' }));
    const dead = await eventually(async () => {
      const m = await drainDlq();
      if (m.length === 0) throw new Error('not dead-lettered yet');
      return m;
    }, 30_000);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.Body).toBe('not an event');
    expect(dead[0]?.MessageAttributes?.reason?.StringValue).toMatch(
      /^poison: SQS record is invalid: body: is not JSON/,
    );
    expect(await queueDepth('RelayQueue')).toBe(0);
  });

  it('fails the publish when STS refuses the exchange (the provider condition names another role): retried after each visibility timeout, then dead-lettered with the reason', async () => {
    // The provider's attribute condition trusts another AWS role than the one the relay runs as.
    const sts = cloud.gcp.edge.world.settings<{ attributeCondition: string }>('sts');
    const original = sts.attributeCondition;
    expect(original).toMatch(/^attribute\.aws_role == 'arn:aws:sts::\d{12}:assumed-role\/[^']+'$/);
    sts.attributeCondition = "attribute.aws_role == 'arn:aws:sts::000000000000:assumed-role/someone-else'";
    const env = runtime().get(relayName()).environment as Record<string, string>;
    // New sandboxes (as any configuration update makes), so no token from an earlier test is cached.
    updateRelayEnvironment(cloud, {});
    try {
      const e = event(AWS, 6);
      const base = relayInvocations();
      await putOnBus(e);
      const maxReceives = Number(env.CROSSLINK_RELAY_MAX_RECEIVES);
      expect(maxReceives).toBe(5);
      for (let receive = 1; receive <= maxReceives; receive++) {
        await eventually(async () => expect(relayInvocations()).toBe(base + receive), 60_000);
        if (receive < maxReceives) {
          // Still in the queue, invisible until the visibility timeout (virtual) passes.
          expect(await queueDepth('RelayQueue')).toBe(1);
          expect(await drainDlq()).toEqual([]);
          await cloud.clock.advance(181_000);
        }
      }
      const dead = await eventually(async () => {
        const m = await drainDlq();
        if (m.length === 0) throw new Error('not dead-lettered yet');
        return m;
      }, 30_000);
      expect(dead).toHaveLength(1);
      expect(JSON.parse(dead[0]?.Body as string).detail.id).toBe(e.id);
      expect(dead[0]?.MessageAttributes?.reason?.StringValue).toMatch(
        /^publish failed 5 times: TokenExchangeError: Google token exchange refused: .*rejected by the attribute condition/,
      );
      await eventually(async () => expect(await queueDepth('RelayQueue')).toBe(0), 60_000);
      expect(await pull()).toEqual([]);
      // Logged with ids and the reason, never the event.
      const lines = runtime()
        .logs.filter((l) => l.functionName === relayName())
        .map((l) => l.line);
      expect(lines.some((l) => l.includes(e.id) && l.includes('token exchange refused'))).toBe(true);
      expect(lines.join('\n')).not.toContain(SEALED);
    } finally {
      sts.attributeCondition = original;
    }
  }, 120_000);
});
