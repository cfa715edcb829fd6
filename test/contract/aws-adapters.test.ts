/**
 * The AWS adapters against the local cloud's real servers: the EventBridge sink (batches of 10,
 * FailedEntryCount) and the Interconnect adapter (the activation key stored at once and stripped from
 * every answer). Secrets Manager reaches the edge with #3b; until then the adapter's secret store is
 * an in-memory one here, which is all this test needs to see where the key went.
 */
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgeSink, EventsNotPutError } from '#aws/eventbridge-sink.ts';
import { InterconnectHalves } from '#aws/interconnect-adapter.ts';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import { mintLinkId } from '#core/ids.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, admin, interconnectClient, startTestCloud } from '../support/local-cloud.ts';
import { MemorySecretStore } from '../support/memory-secrets.ts';

const ACCOUNT = '000000000000';
let cloud: LocalCloud;
let eb: EventBridgeClient;
let sqs: SQSClient;

beforeAll(async () => {
  cloud = await startTestCloud();
  const config = { region: 'us-east-1', endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  eb = new EventBridgeClient(config);
  sqs = new SQSClient(config);
});
afterAll(async () => {
  eb.destroy();
  sqs.destroy();
  await cloud.stop();
});

function anEvent(i: number): CloudEvent {
  const linkId = mintLinkId(cloud.clock);
  return buildEvent({
    name: 'LinkStateChanged',
    origin: { cloud: 'aws', accountId: ACCOUNT, region: 'us-east-1' },
    subject: linkId,
    clock: cloud.clock,
    data: { linkId, policyHash: 'a'.repeat(64), state: 'ACTIVE', previousState: 'PROVISIONING', n: i },
  } as never);
}

describe('EventBridgeSink', () => {
  it('puts more than ten events in batches, each reaching the bus once', async () => {
    // Prepare
    await eb.send(new CreateEventBusCommand({ Name: 'crosslink' }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'seen' }));
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] })))
      .Attributes?.QueueArn;
    await eb.send(
      new PutRuleCommand({
        Name: 'all',
        EventBusName: 'crosslink',
        EventPattern: '{"source":["crosslink"]}',
      }),
    );
    await eb.send(
      new PutTargetsCommand({ Rule: 'all', EventBusName: 'crosslink', Targets: [{ Id: 'q', Arn: arn }] }),
    );
    const events = Array.from({ length: 12 }, (_, i) => anEvent(i));
    // Act
    await new EventBridgeSink(eb, { busName: 'crosslink' }).put(events);
    // Assess
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const out = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 300 }),
      );
      for (const m of out.Messages ?? []) ids.add(JSON.parse(m.Body as string).detail.id);
    }
    expect([...ids].sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('throws EventsNotPutError naming each event that FailedEntryCount reported', async () => {
    const sink = new EventBridgeSink(eb, { busName: 'no-such-bus', sleep: async () => {} });
    const events = [anEvent(1), anEvent(2)];
    const error = await sink.put(events).catch((e) => e);
    expect(error).toBeInstanceOf(EventsNotPutError);
    expect((error as EventsNotPutError).failures.map((f) => [f.eventId, f.code])).toEqual(
      events.map((e) => [e.id, 'ResourceNotFoundException']),
    );
  });
});

describe('InterconnectHalves', () => {
  it('stores the activation key of a new connection and returns it from no call', async () => {
    // Prepare
    const secrets = new MemorySecretStore();
    const halves = new InterconnectHalves(interconnectClient(cloud), secrets);
    const { gateways } = await admin(cloud, 'POST', '/aws/interconnect/gateways', { accountId: ACCOUNT });
    const gw = gateways[0].directConnectGatewayId as string;
    const linkId = mintLinkId(cloud.clock);
    // Act
    const created = await halves.createHalf({
      linkId,
      bandwidth: '1Gbps',
      environmentId: 'mce-aws-gcp-iad',
      directConnectGateway: gw,
      remoteAccount: 'payments-prod',
      tags: { 'cost-centre': 'net' },
    });
    const again = await halves.createHalf({
      linkId,
      bandwidth: '1Gbps',
      environmentId: 'mce-aws-gcp-iad',
      directConnectGateway: gw,
      remoteAccount: 'payments-prod',
      tags: { 'cost-centre': 'net' },
    });
    // Assess
    const key = await secrets.getActivationKey(created.keyRef);
    expect(key.length).toBeGreaterThan(10);
    expect(again.half.connectionId).toBe(created.half.connectionId); // clientToken: one connection per link
    const answers = [
      created,
      again,
      await halves.getHalf(created.half.connectionId),
      await halves.findHalves(linkId),
    ];
    for (const a of answers) expect(JSON.stringify(a)).not.toContain(key);
    expect(created.half).toMatchObject({ linkId, state: 'requested', environmentId: 'mce-aws-gcp-iad' });
    expect((await halves.findHalves(linkId)).map((h) => h.connectionId)).toEqual([created.half.connectionId]);
    // The partner redeems it: the connection comes up after the provisioning delay.
    await admin(cloud, 'POST', '/aws/interconnect/redeem-key', { activationKey: key });
    await cloud.clock.advance(10 * 60_000);
    expect((await halves.getHalf(created.half.connectionId))?.state).toBe('available');
    // Delete, then 404 after the deletion delay and retention.
    expect(await halves.deleteHalf(created.half.connectionId)).toBe('deleting');
    await cloud.clock.advance(2 * 86_400_000);
    expect(await halves.getHalf(created.half.connectionId)).toBeNull();
    expect(await halves.deleteHalf(created.half.connectionId)).toBeNull();
  });

  it('accepts a partner proposal and reports capacity', async () => {
    const halves = new InterconnectHalves(interconnectClient(cloud), new MemorySecretStore());
    const { gateways } = await admin(cloud, 'POST', '/aws/interconnect/gateways', { accountId: ACCOUNT });
    const { activationKey } = await admin(cloud, 'POST', '/aws/interconnect/issue-key', {
      environmentId: 'mce-aws-gcp-iad',
      bandwidth: '1Gbps',
      destinationAccountId: ACCOUNT,
    });
    const linkId = mintLinkId(cloud.clock);
    const half = await halves.acceptHalf({
      linkId,
      activationKey,
      directConnectGateway: gateways[0].directConnectGatewayId,
    });
    expect(half).toMatchObject({ linkId, state: 'pending' });
    expect(JSON.stringify(half)).not.toContain(activationKey);
    expect(await halves.capacity('mce-aws-gcp-iad')).toMatchObject({ state: 'available' });
  });
});
