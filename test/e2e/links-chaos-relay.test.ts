/**
 * Chaos on the relay and the providers: both link flows, AWS first and Google first,
 * run concurrently through the CLI while every relay delivery is sent twice and each copy held for
 * its own random delay (the push subscriptions crosslink-peer-events-push and crosslink-events-relay
 * on Google, the SQS relay queue's event source mapping on AWS), and 20% of the provider calls are
 * throttled (Interconnect on AWS, Network Connectivity on Google). Each link still reaches ACTIVE
 * with one connection and one transport, then DECOMMISSIONED with nothing billing; each side applied
 * each peer event once (its audit names every event id once), nothing was dead-lettered, and every
 * fault fired.
 */
import { GetQueueUrlCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BothHalves, startBothHalves } from '../support/both-halves.ts';
import { type LinkView, linkFlows } from '../support/link-flows.ts';
import { ADMIN_CREDENTIALS } from '../support/local-cloud.ts';

const RELAY_SUBSCRIPTIONS = ['crosslink-peer-events-push', 'crosslink-events-relay'];
const RELAY_QUEUE = 'crosslink-relay-dev';

let both: BothHalves;

async function fault(...args: string[]) {
  const r = await both.cli('sim', 'fault', ...args);
  expect(r.code, r.err).toBe(0);
}

beforeAll(async () => {
  // Half the usual rate while anything runs: the Lambdas run in wall time while SQS visibility
  // (180 s) and Lambda's async retry backoff run on the virtual clock; with every relay delivery
  // doubled, cold sandboxes on a 2-core runner outlast them at x60 (redriven, not relayed, messages).
  both = await startBothHalves({}, { busyRate: 30 });
  for (const sub of RELAY_SUBSCRIPTIONS)
    for (const kind of ['duplicate', 'reorder'])
      await fault(kind, '--service', 'pubsub', '--operation', sub, '--edge', 'gcp');
  for (const kind of ['duplicate', 'reorder'])
    await fault(kind, '--service', 'sqs', '--operation', RELAY_QUEUE, '--edge', 'aws');
  await fault('throttle', '--service', 'interconnect', '--rate', '0.2', '--edge', 'aws');
  await fault('throttle', '--service', 'networkconnectivity', '--rate', '0.2', '--edge', 'gcp');
}, 120_000);

afterAll(async () => {
  await both?.stop();
});

const { awsFirst, googleFirst, expectActive, decommission } = linkFlows(() => both);

/**
 * Each peer event a side applied, by id, applied once. The consumers' dedupe (a claim on the event id
 * for a lease) lets one delivery of each through while it runs; a delivery that outlives its lease
 * (here virtual time flows while a slow delivery runs) lets a duplicate be processed again, which
 * the lifecycle's idempotence turns into an `ignored` entry: never a second application.
 */
function expectEachPeerEventOnce(view: LinkView, peer: 'aws' | 'gcp') {
  const fromPeer = (view.audit ?? []).filter((a) => a.actor === `peer:${peer}` && a.eventId);
  expect(fromPeer.length, `peer events from ${peer} in the audit`).toBeGreaterThan(0);
  const applied = fromPeer.filter((a) => a.outcome === 'applied').map((a) => a.eventId);
  expect(applied.length, `peer events from ${peer} applied`).toBeGreaterThan(0);
  expect(applied.filter((id, i) => applied.indexOf(id) !== i)).toEqual([]);
}

interface Fault {
  id: string;
  kind: string;
  service: string;
  operation?: string;
  fired: number;
}

/** Messages a Pub/Sub subscription of the emulator holds now (pulled and acknowledged). */
async function pullAll(subscription: string): Promise<string[]> {
  const base = `http://${both.cloud.emulators?.pubsubHost}/v1/projects/${both.cloud.gcp.project}/subscriptions/${subscription}`;
  const res = await fetch(`${base}:pull`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ maxMessages: 100, returnImmediately: true }),
  });
  expect(res.status, `pull ${subscription}`).toBe(200);
  const out = (await res.json()) as { receivedMessages?: { message: { data: string } }[] };
  return (out.receivedMessages ?? []).map((m) => Buffer.from(m.message.data, 'base64').toString('utf8'));
}

/** What the SQS dead-letter queues hold: queue and reason (the relay's `reason`, EventBridge's error, or the body). */
async function deadLetters(queues: string[]): Promise<string[]> {
  const sqs = new SQSClient({
    region: both.cloud.aws.region,
    endpoint: both.cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
  });
  try {
    const out: string[] = [];
    for (const QueueName of queues) {
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName }));
      const got = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
      );
      for (const m of got.Messages ?? []) {
        const a = m.MessageAttributes ?? {};
        const why = a.reason?.StringValue ?? a.ERROR_MESSAGE?.StringValue ?? m.Body?.slice(0, 300);
        out.push(`${QueueName}: ${why}`);
      }
    }
    return out;
  } finally {
    sqs.destroy();
  }
}

describe('links under duplicated, reordered relay deliveries and 20% throttled provider calls', () => {
  describe.concurrent('both flows at once', () => {
    it('AWS first: ACTIVE with one connection and one transport, then DECOMMISSIONED, each peer event applied once', async () => {
      const id = await awsFirst();
      await expectActive(id);
      const { aws, gcp } = await decommission(id, ['--as', 'alice'], ['--side', 'gcp', '--as', 'carol']);
      expectEachPeerEventOnce(aws, 'gcp');
      expectEachPeerEventOnce(gcp, 'aws');
    }, 120_000);

    it('Google first: ACTIVE with one connection and one transport, then DECOMMISSIONED, each peer event applied once', async () => {
      const id = await googleFirst();
      await expectActive(id);
      const { aws, gcp } = await decommission(id, ['--side', 'gcp', '--as', 'alice'], ['--as', 'bob']);
      expectEachPeerEventOnce(aws, 'gcp');
      expectEachPeerEventOnce(gcp, 'aws');
    }, 120_000);
  });

  it('dead-lettered nothing, and every fault fired', async () => {
    const status = await both.json<{
      aws: { accounts: Record<string, Record<string, { sqs?: Record<string, Record<string, number>> }>> };
    }>('sim', 'status');
    const queues = Object.values(status.aws.accounts)
      .flatMap((regions) => Object.values(regions))
      .flatMap((r) => Object.entries(r.sqs ?? {}));
    const dlqs = queues.filter(([name]) => name.includes('-dlq-')).map(([name]) => name);
    expect(dlqs).toContain('crosslink-relay-dlq-dev');
    expect(await deadLetters(dlqs)).toEqual([]);
    for (const sub of [
      'crosslink-peer-events-dead-sub',
      'crosslink-starter-dead-sub',
      'crosslink-audit-dead-sub',
      'crosslink-relay-dead-sub',
    ])
      expect(await pullAll(sub), sub).toEqual([]);

    const { faults } = await both.json<{ faults: Fault[] }>('sim', 'fault', 'list');
    expect(faults).toHaveLength(2 * 2 + 2 + 2);
    for (const f of faults) expect(f.fired, `${f.kind} ${f.service} ${f.operation ?? ''}`).toBeGreaterThan(0);
  });
});
