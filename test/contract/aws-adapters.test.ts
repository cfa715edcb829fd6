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
import { EventBridgeSink, EventsNotPutError } from '#aws/event-sink.ts';
import { InterconnectHalves } from '#aws/halves.ts';
import type { InterconnectClient } from '#aws/interconnect-client.ts';
import { InterconnectEnvironments } from '#aws/offerings.ts';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import { mintLinkId } from '#core/ids.ts';
import { CapacityUnavailableError } from '#core/link/stage.ts';
import { parseLinkRequest } from '#core/policy/request.ts';
import type { LocalCloud } from '#local/index.ts';
import {
  ADMIN_CREDENTIALS,
  admin,
  interconnectClient,
  letServiceCall,
  startTestCloud,
} from '../support/local-cloud.ts';
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
    await letServiceCall(cloud, arn as string);
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

/** Per-region Interconnect clients against the local cloud, each call recorded as `<region>:<op>`. */
function regional(calls: string[] = []) {
  const clients = new Map<string, InterconnectClient>();
  return (region: string): InterconnectClient => {
    let c = clients.get(region);
    if (!c) {
      const real = interconnectClient(cloud, { region });
      c = {
        send: (cmd: { operation: string }) => {
          calls.push(`${region}:${cmd.operation}`);
          return real.send(cmd as never);
        },
      } as unknown as InterconnectClient;
      clients.set(region, c);
    }
    return c;
  };
}

const REGIONS = ['us-east-1', 'us-west-2', 'eu-central-1'];

function halvesWith(secrets = new MemorySecretStore(), calls: string[] = []) {
  const clientFor = regional(calls);
  return new InterconnectHalves({
    clientFor,
    regions: REGIONS,
    environments: new InterconnectEnvironments({ clientFor }),
    secrets,
  });
}

async function gateway(): Promise<string> {
  const { gateways } = await admin(cloud, 'POST', '/aws/interconnect/gateways', { accountId: ACCOUNT });
  return gateways[0].directConnectGatewayId as string;
}

const linkRequest = (aws: string, gcp: string, gw: string) =>
  parseLinkRequest({
    name: 'regions',
    initiator: 'aws',
    bandwidth: '1Gbps',
    environment: 'prod',
    residency: 'any',
    aws: { accountId: ACCOUNT, region: aws, directConnectGateway: gw, routes: ['10.10.0.0/16'] },
    gcp: { project: 'payments-prod', region: gcp, network: 'payments-vpc', routes: ['10.20.0.0/16'] },
  });

describe('InterconnectHalves', () => {
  it('stores the activation key of a new connection and returns it from no call', async () => {
    // Prepare
    const secrets = new MemorySecretStore();
    const halves = halvesWith(secrets);
    const gw = await gateway();
    const linkId = mintLinkId(cloud.clock);
    // Act
    const create = {
      linkId,
      region: 'us-east-1',
      bandwidth: '1Gbps',
      environmentId: 'mce-aws-gcp-iad',
      directConnectGateway: gw,
      remoteAccount: 'payments-prod',
      tags: { 'cost-centre': 'net' },
    };
    const created = await halves.createHalf(create);
    const again = await halves.createHalf(create);
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

  it('accepts a partner proposal in the region of its environment and reports capacity', async () => {
    const halves = halvesWith();
    const { activationKey } = await admin(cloud, 'POST', '/aws/interconnect/issue-key', {
      environmentId: 'mce-aws-gcp-fra',
      bandwidth: '1Gbps',
      destinationAccountId: ACCOUNT,
    });
    const linkId = mintLinkId(cloud.clock);
    const half = await halves.acceptHalf({
      linkId,
      region: 'eu-central-1',
      activationKey,
      directConnectGateway: await gateway(),
    });
    expect(half).toMatchObject({ linkId, state: 'pending', environmentId: 'mce-aws-gcp-fra' });
    expect(half.arn).toMatch(/^arn:aws:interconnect:eu-central-1:/);
    expect(JSON.stringify(half)).not.toContain(activationKey);
    const req = linkRequest('eu-central-1', 'europe-west3', await gateway());
    expect(await halves.capacity(req)).toMatchObject({
      state: 'available',
      environmentId: 'mce-aws-gcp-fra',
      offering: 'AWS environment mce-aws-gcp-fra in eu-central-1',
    });
  });

  it("initiates in the link's AWS region on the environment discovered there; reads and deletes find it from any region", async () => {
    // Prepare
    const calls: string[] = [];
    const halves = halvesWith(new MemorySecretStore(), calls);
    const linkId = mintLinkId(cloud.clock);
    // Act
    const { half } = await halves.initiate({
      linkId,
      request: linkRequest('us-west-2', 'us-west1', await gateway()),
      tags: {},
    });
    // Assess: discovered with ListEnvironments in us-west-2, created there, nothing in the Lambda's region
    expect(half).toMatchObject({ environmentId: 'mce-aws-gcp-pdx', state: 'requested' });
    expect(half.arn).toMatch(/^arn:aws:interconnect:us-west-2:000000000000:connection\/mcc-/);
    expect(calls).toEqual(['us-west-2:ListEnvironments', 'us-west-2:CreateConnection']);
    // The connection id names no region: Get tries each region until one has it.
    calls.length = 0;
    expect((await halves.getHalf(half.connectionId))?.connectionId).toBe(half.connectionId);
    expect(calls).toEqual(['us-east-1:GetConnection', 'us-west-2:GetConnection']);
    expect((await halves.findHalves(linkId)).map((h) => h.arn)).toEqual([half.arn]);
    // Given the request's region, finding reads that region only (an outage elsewhere cannot stall a
    // delete or a compensation), and a region that does not hold the link finds none there.
    calls.length = 0;
    expect((await halves.findHalves(linkId, 'us-west-2')).map((h) => h.arn)).toEqual([half.arn]);
    expect(calls).toEqual(['us-west-2:ListConnections']);
    expect(await halves.findHalves(linkId, 'us-east-1')).toEqual([]);
    expect(await halves.deleteHalf(half.connectionId)).toBe('deleting');
  });

  it('refuses a pair whose AWS region has no environment toward the Google region, naming what is offered', async () => {
    const halves = halvesWith();
    await expect(halves.capacity(linkRequest('us-west-2', 'us-east4', await gateway()))).rejects.toThrow(
      /no AWS Interconnect environment in us-west-2 reaches Google us-east4 \(ListEnvironments there offers Google us-west1\)/,
    );
  });
});

describe('InterconnectEnvironments', () => {
  it('lists each region once per TTL, concurrent finds sharing the call; a miss lists again before refusing', async () => {
    // Prepare
    const calls: string[] = [];
    let now = 0;
    const envs = new InterconnectEnvironments({ clientFor: regional(calls), ttlMs: 60_000, now: () => now });
    // Act: three finds at once in one region, one in another
    const found = await Promise.all([
      envs.find('us-west-2', 'us-west1'),
      envs.find('us-west-2', 'us-west1'),
      envs.find('eu-central-1', 'europe-west3'),
      envs.find('us-west-2', 'us-west1'),
    ]);
    // Assess
    expect(found.map((e) => e.environmentId)).toEqual([
      'mce-aws-gcp-pdx',
      'mce-aws-gcp-pdx',
      'mce-aws-gcp-fra',
      'mce-aws-gcp-pdx',
    ]);
    expect(calls.sort()).toEqual(['eu-central-1:ListEnvironments', 'us-west-2:ListEnvironments']);
    // Within the TTL: no call; after it: one call again.
    calls.length = 0;
    now = 59_999;
    await envs.find('us-west-2', 'us-west1');
    expect(calls).toEqual([]);
    now = 60_000;
    await envs.find('us-west-2', 'us-west1');
    expect(calls).toEqual(['us-west-2:ListEnvironments']);
    // A pair the cached list lacks is looked up fresh once, then refused.
    calls.length = 0;
    await expect(envs.find('us-west-2', 'europe-west3')).rejects.toBeInstanceOf(CapacityUnavailableError);
    expect(calls).toEqual(['us-west-2:ListEnvironments']);
  });

  it('keeps no failed list: the next find calls again', async () => {
    const calls: string[] = [];
    let fail = true;
    const ok = regional(calls);
    const envs = new InterconnectEnvironments({
      clientFor: (region) =>
        fail
          ? ({
              send: async () => {
                calls.push(`${region}:failed`);
                throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
              },
            } as unknown as InterconnectClient)
          : ok(region),
    });
    await expect(envs.find('us-east-1', 'us-east4')).rejects.toThrow(/throttled/);
    fail = false;
    expect((await envs.find('us-east-1', 'us-east4')).environmentId).toBe('mce-aws-gcp-iad');
    expect(calls).toEqual(['us-east-1:failed', 'us-east-1:ListEnvironments']);
  });
});
