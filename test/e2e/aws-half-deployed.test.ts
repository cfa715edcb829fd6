/**
 * The AWS half as deployed: the repo's serverless.yml packaged by `osls package`, loaded into a
 * local cloud by deployLocally (local/aws-half.ts), its bundled handlers built from the Lambda
 * environment and run in the local Lambda runtime's workers. Everything goes through real
 * protocols: the intake over HTTP with SigV4 (alice requests, bob approves), carol's approval as a
 * peer event put on the crosslink bus by the `crosslink` identity, the Google side opening the
 * sealed key with the local Cloud KMS and accepting through the world. The watcher resumes the
 * execution (CloudTrail -> forward rule -> watcher, or its schedule), on a manual virtual clock.
 * The vpn-half state machine drains from a command on the bus (a VPN in us-west-2, the command's
 * region, not the hub's), and a prod delete waits until
 * `crosslink vpn approve` (SigV4, the intake's `POST /vpns/{id}/approvals`) resumes it.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EC2Client, GetTransitGatewayRouteTablePropagationsCommand } from '@aws-sdk/client-ec2';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { toEventBridgeEntry } from '#aws/envelope.ts';
import { GetConnectionCommand } from '#aws/interconnect-client.ts';
import { openSealedKey } from '#core/crypto/seal.ts';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import type { EventDataByName, LinkEventName } from '#core/events/catalog.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { eventsOf } from '#local/aws/services/events.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import { type AwsHalfDeployment, deployAwsHalf } from '#local/aws-half.ts';
import type { LocalCloud } from '#local/index.ts';
import { formatReport, leastPrivilege, problems, readServiceIam } from '#scripts/iam/least-privilege.ts';
import { ACCOUNT, addAssociatedGateway, GATEWAY, LINK_REQUEST, REGION } from '../support/aws-half.ts';
import { cliAgainst } from '../support/cli.ts';
import { callIntake, IDENTITIES } from '../support/intake.ts';
import {
  ADMIN_CREDENTIALS,
  admin,
  crosslinkPutter,
  interconnectClient,
  startTestCloud,
} from '../support/local-cloud.ts';
import { push, pushBody, relayToken } from '../support/relay-push.ts';
import { eventually } from '../support/timers.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const GCP = { cloud: 'gcp' as const, project: 'payments-prod', region: 'us-east4' };
const MIN = 60_000;
const policyHash = loadPolicy(parseYaml(readFileSync(resolve(ROOT, 'config/policy.yaml'), 'utf8'))).hash;

let cloud: LocalCloud;
let half: AwsHalfDeployment;
let sfn: SFNClient;
let sqs: SQSClient;
let intake = '';
const physical = (logical: string) => half.deployment.stack.physicalIds[logical] as string;

const request = LINK_REQUEST;

beforeAll(async () => {
  // Virtual time starts at the wall time; the handlers' Date follows it (local/virtual-date.ts).
  cloud = await startTestCloud({ clock: { mode: 'manual', start: Math.floor(Date.now() / 1000) * 1000 } });
  half = await deployAwsHalf(cloud, ROOT);
  intake = half.intake;
  const config = { region: REGION, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  sfn = new SFNClient(config);
  sqs = new SQSClient(config);
  // The gateway with a VPC association whose allowed prefixes cover the request's AWS routes.
  await addAssociatedGateway(cloud, GATEWAY, ['10.10.0.0/16']);
}, 120_000);

afterAll(async () => {
  for (const c of [sfn, sqs]) c?.destroy();
  await half?.stop();
  await cloud?.stop();
});

async function putPeer<N extends LinkEventName>(name: N, data: Omit<EventDataByName[N], 'policyHash'>) {
  const event = buildEvent({
    name,
    origin: GCP,
    subject: data.linkId,
    clock: cloud.clock,
    data: { policyHash, ...data },
  } as never) as CloudEvent;
  // Through the Google -> AWS relay, as Pub/Sub pushes it: only crosslink's roles may put a
  // `crosslink` event on the bus (its policy's Deny), the relay's among them.
  const pushed = await push(half.relayUrl, pushBody(cloud, event), relayToken(cloud));
  expect(pushed.status, pushed.body).toBeLessThan(300);
}

async function executions(machine: string, linkId: string) {
  const out = await sfn.send(new ListExecutionsCommand({ stateMachineArn: physical(machine) }));
  return (out.executions ?? []).filter((e) => e.name?.startsWith(linkId));
}

async function statusOf(machine: string, linkId: string) {
  const [e] = await executions(machine, linkId);
  if (!e) return undefined;
  return (await sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }))).status;
}

async function history(machine: string, linkId: string) {
  const all: unknown[] = [];
  for (const e of await executions(machine, linkId)) {
    const out = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn: e.executionArn,
        maxResults: 1000,
        includeExecutionData: true,
      }),
    );
    all.push(...(out.events ?? []));
  }
  return all as { type?: string; stateEnteredEventDetails?: { name?: string } }[];
}

function busEvents() {
  return eventsOf(cloud.aws.edge.world, ACCOUNT, REGION).recent as {
    source: string;
    'detail-type': string;
    detail: Record<string, unknown>;
  }[];
}

/** Advances virtual time in steps, giving the Lambda workers wall time to run between them. */
async function advanceUntil<T>(what: () => Promise<T | undefined>, limitMs: number, step = MIN): Promise<T> {
  for (let t = 0; ; t += step) {
    const v = await eventually(what, 1500).catch(() => undefined);
    if (v) return v;
    if (t >= limitMs) throw new Error(`not reached within ${limitMs / MIN} virtual minutes`);
    await cloud.clock.advance(step);
  }
}

/** Google's half: opens the sealed key with its Cloud KMS key (asymmetricDecrypt on the local edge). */
async function googleUnwrap(wrapped: Buffer): Promise<Buffer> {
  const account = cloud.gcp.auth.accountByName('crosslink');
  const { token } = cloud.gcp.auth.issueAccessToken({
    email: account?.email as string,
    kind: 'service-account',
  });
  const res = await fetch(`${cloud.gcp.endpoint}/v1/${half.keys.gcp.keyId}:asymmetricDecrypt`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ciphertext: wrapped.toString('base64') }),
  });
  expect(res.status).toBe(200);
  return Buffer.from(((await res.json()) as { plaintext: string }).plaintext, 'base64');
}

describe('the AWS half deployed from serverless.yml', () => {
  let linkId = '';
  let connectionId = '';

  it('takes a link to ACTIVE through the bundled handlers; the activation key appears nowhere', async () => {
    // Prepare: alice requests over the HTTP API; the intake starts the initiate execution.
    const created = await callIntake(intake, IDENTITIES.alice, 'POST', '/links', request);
    expect(created.status).toBe(201);
    linkId = created.body.link.id;
    expect(created.body.execution).toBe(`${linkId}-provisioning-1`);
    await eventually(async () =>
      (await history('LinkProvisioningStateMachine', linkId)).some(
        (e) => e.stateEnteredEventDetails?.name === 'AwaitApproval',
      ),
    );

    // Act: bob approves here, carol's approval arrives from Google as a peer event.
    const approved = await callIntake(intake, IDENTITIES.bob, 'POST', `/links/${linkId}/approvals`, {
      decision: 'approve',
    });
    expect(approved.status).toBe(200);
    await putPeer('LinkApproved', {
      linkId,
      side: 'gcp',
      approver: 'carol@example.com',
      approvedAt: new Date(cloud.clock.now()).toISOString(),
      auto: false,
    });
    const issued = await eventually(() => {
      const e = busEvents().find(
        (x) => x['detail-type'] === 'LinkKeyIssued' && (x.detail as { subject?: string }).subject === linkId,
      );
      return (e?.detail as CloudEvent | undefined)?.data as EventDataByName['LinkKeyIssued'] | undefined;
    });
    // The connection exists, made by the bundled Lambda; CloudTrail reported it, and the forward rule
    // brought it to the watcher before any scheduled run (no virtual time has passed).
    const trail = busEvents().filter(
      (e) => e['detail-type'] === 'AWS API Call via CloudTrail' && e.detail.eventName === 'CreateConnection',
    );
    expect(trail.length).toBeGreaterThanOrEqual(1);
    // The step called with a session of its own execution role, named after the function.
    expect(trail[0]?.detail.userIdentity).toMatchObject({
      type: 'AssumedRole',
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/crosslink-dev-StepActivateInitiateRole/crosslink-dev-stepActivateInitiate`,
    });
    const runtime = lambdaRuntime(cloud.aws.edge.world, ACCOUNT, REGION);
    // The starter rule saw alice's LinkRequested too (the intake had started it: already started).
    await eventually(() =>
      eventsOf(cloud.aws.edge.world, ACCOUNT, REGION).deliveries.some(
        (d) => d.rule === 'crosslink-starter-dev' && d.outcome === 'delivered',
      ),
    );
    expect((await executions('LinkProvisioningStateMachine', linkId)).length).toBe(1);
    await eventually(
      () =>
        eventsOf(cloud.aws.edge.world, ACCOUNT, REGION).deliveries.some(
          (d) => d.rule === 'crosslink-interconnect-calls-dev' && d.outcome === 'delivered',
        ) && runtime.invocations.some((i) => i.functionName === 'crosslink-dev-watcher'),
    );

    // Google opens the key with its KMS key and accepts; its half reports ACTIVE.
    expect(issued.sealedKey.recipientKeyId).toBe(half.keys.gcp.keyId);
    const key = await openSealedKey(issued.sealedKey, linkId, {
      keyId: half.keys.gcp.keyId,
      unwrap: googleUnwrap,
    });
    await admin(cloud, 'POST', '/aws/interconnect/redeem-key', { activationKey: key });
    await putPeer('LinkSideStateChanged', {
      linkId,
      side: 'gcp',
      sequence: 1,
      nativeState: 'ACTIVE',
      previousNativeState: null,
      condition: 'UP',
      resourceId: `projects/payments-prod/locations/us-east4/transports/${linkId}`,
      observedAt: new Date(cloud.clock.now()).toISOString(),
    });

    // Assess: the provider brings the AWS half up; the watcher resumes the execution.
    await advanceUntil(
      async () =>
        (await statusOf('LinkProvisioningStateMachine', linkId)) === 'SUCCEEDED' ? true : undefined,
      60 * MIN,
    );
    const shown = await callIntake(intake, IDENTITIES.bob, 'GET', `/links/${linkId}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      id: linkId,
      state: 'ACTIVE',
      halves: { aws: { state: 'UP', nativeState: 'available' }, gcp: { state: 'UP', nativeState: 'ACTIVE' } },
    });
    connectionId = shown.body.halves.aws.connectionId;
    expect(connectionId).toMatch(/^mcc-/);

    expect(key.length).toBeGreaterThan(20);
    const h = JSON.stringify(await history('LinkProvisioningStateMachine', linkId));
    expect(h).toContain('"name":"ActivateInitiate"');
    expect(h).not.toContain(key);
    const logged = runtime.logs.filter((l) => l.functionName.startsWith('crosslink-dev-'));
    expect(logged.some((l) => l.line.includes(linkId))).toBe(true);
    expect(JSON.stringify(logged)).not.toContain(key);
    const cloudTrail = busEvents().filter((e) => e['detail-type'] === 'AWS API Call via CloudTrail');
    expect(cloudTrail.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(cloudTrail)).not.toContain(key);
    expect(JSON.stringify(busEvents())).not.toContain(key);
    for (const dlq of ['PeerEventsDlq', 'WatcherDlq', 'ForwardDlq', 'StarterDlq']) {
      const out = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: physical(dlq), MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
      );
      expect(JSON.stringify(out.Messages ?? []), dlq).not.toContain(key);
    }
  }, 120_000);

  it('decommissions through the HTTP route: approved by bob, drained by Google, the connection deleted', async () => {
    expect(connectionId).not.toBe('');
    const asked = await callIntake(intake, IDENTITIES.alice, 'POST', `/links/${linkId}/decommission`, {
      reason: 'moving region',
    });
    expect(asked.status).toBe(202);
    expect(asked.body.execution).toBe(`${linkId}-decommissioning-1`);
    expect(asked.body.link.decommission).toMatchObject({ status: 'PENDING', attempt: 1 });
    // An approver who is not the requester decides, through the same approvals route.
    const approved = await eventually(async () => {
      const r = await callIntake(intake, IDENTITIES.bob, 'POST', `/links/${linkId}/approvals`, {
        decision: 'approve',
      });
      return r.status === 200 ? r : undefined;
    });
    expect(approved.body.link.decommission).toMatchObject({ status: 'APPROVED' });
    // Google disables its transport (the drain); the AWS half soaks, then deletes its connection.
    await putPeer('LinkSideStateChanged', {
      linkId,
      side: 'gcp',
      sequence: 2,
      nativeState: 'ACTIVE',
      previousNativeState: 'ACTIVE',
      condition: 'DOWN',
      adminEnabled: false,
      observedAt: new Date(cloud.clock.now()).toISOString(),
    });
    const interconnect = interconnectClient(cloud);
    await advanceUntil(async () => {
      const got = await interconnect
        .send(new GetConnectionCommand({ identifier: connectionId }))
        .catch((e: Error) =>
          e.name === 'ResourceNotFoundException' ? { connection: { state: 'deleted' } } : undefined,
        );
      return got?.connection?.state === 'deleted' ? true : undefined;
    }, 30 * MIN);
    expect(await statusOf('LinkDecommissioningStateMachine', linkId)).toBeDefined();
  }, 120_000);
});

describe('the deployed vpn-half state machine', () => {
  it('drains a Transit Gateway VPN in us-west-2 from a command on the bus naming that region: only its propagation goes, and VpnDrained comes back', async () => {
    // The VPN is in another AWS region of the policy than the hub's: the half acts there, under
    // its role's grants for that region (IAM on).
    const WEST = 'us-west-2';
    await admin(cloud, 'POST', '/aws/ec2/add-gcp-network', {
      project: 'net-prod',
      name: 'core',
      subnets: [{ name: 'app', region: 'us-east4', ipCidrRange: '10.128.0.0/20' }],
    });
    const { vpc } = await admin(cloud, 'POST', '/aws/ec2/add-vpc', {
      region: WEST,
      cidrBlocks: ['10.3.0.0/16'],
    });
    const tgw = (
      await admin(cloud, 'POST', '/aws/ec2/add-transit-gateway', { region: WEST, vpcIds: [vpc.vpcId] })
    ).transitGateway;
    const vpnId = (
      await admin(cloud, 'POST', '/aws/ec2/build-vpn', {
        name: 'vpn-deployed',
        aws: { vpcId: vpc.vpcId, transitGatewayId: tgw.transitGatewayId },
        gcp: { project: 'net-prod', region: 'us-west1', network: 'core' },
      })
    ).vpn.vpnConnectionId as string;
    const ec2 = new EC2Client({
      region: WEST,
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    const propagating = async () =>
      (
        await ec2.send(
          new GetTransitGatewayRouteTablePropagationsCommand({
            TransitGatewayRouteTableId: tgw.propagationDefaultRouteTableId,
          }),
        )
      ).TransitGatewayRouteTablePropagations?.filter((p) => p.State === 'enabled').map(
        (p) => `${p.ResourceType}:${p.ResourceId}`,
      );
    const before = await propagating();
    expect(before?.sort()).toEqual([`vpc:${vpc.vpcId}`, `vpn:${vpnId}`]);

    const command = buildEvent({
      name: 'VpnDrainRequested',
      origin: { cloud: 'aws', accountId: ACCOUNT, region: REGION },
      subject: vpnId,
      clock: cloud.clock,
      data: {
        runId: 'run-deployed',
        vpnId,
        requestedBy: 'planner@example.com',
        requestedAt: '2026-06-01T00:00:00Z',
        awsRegion: WEST,
      },
    });
    // Put as one of crosslink's roles: the bus's policy refuses anyone else.
    const asCrosslink = await crosslinkPutter(cloud, physical('CrosslinkBus'));
    const put = await asCrosslink.send(
      new PutEventsCommand({
        Entries: [toEventBridgeEntry(command as CloudEvent, physical('CrosslinkBus'))],
      }),
    );
    expect(put.FailedEntryCount).toBe(0);

    const drained = await eventually(
      () =>
        busEvents().find(
          (e) => e['detail-type'] === 'VpnDrained' && (e.detail.data as { vpnId?: string }).vpnId === vpnId,
        ),
      60_000,
    );
    expect(drained.detail.data).toMatchObject({ outcome: 'changed', method: 'tgw-propagation' });
    // The execution closes just after its step put the result.
    const succeeded = await eventually(async () => {
      const out = await sfn.send(
        new ListExecutionsCommand({ stateMachineArn: physical('VpnHalfStateMachine') }),
      );
      return out.executions?.find((e) => e.status === 'SUCCEEDED');
    }, 60_000);
    expect(succeeded.stateMachineArn).toBe(physical('VpnHalfStateMachine'));
    const after = await propagating();
    // The VPN's propagation went, and only it: the VPC's attachment still propagates.
    expect(after).toEqual([`vpc:${vpc.vpcId}`]);
    ec2.destroy();
    asCrosslink.destroy();
  }, 120_000);
  it('a prod delete waits for its approval; `crosslink vpn approve` at the AWS intake refuses a non-approver, and bob resumes it: the VPN is deleted', async () => {
    const { vpc } = await admin(cloud, 'POST', '/aws/ec2/add-vpc', { cidrBlocks: ['10.4.0.0/16'] });
    const tgw = (await admin(cloud, 'POST', '/aws/ec2/add-transit-gateway', { vpcIds: [vpc.vpcId] }))
      .transitGateway;
    // Handed to crosslink's VPN runs (IAM lets the step delete only such resources); no
    // crosslink:environment tag: prod.
    const planned = { 'crosslink:managed': 'planned' };
    const vpnId = (
      await admin(cloud, 'POST', '/aws/ec2/build-vpn', {
        name: 'vpn-prod-deployed',
        aws: {
          vpcId: vpc.vpcId,
          transitGatewayId: tgw.transitGatewayId,
          tags: planned,
          customerGatewayTags: planned,
        },
        gcp: { project: 'net-prod', region: 'us-east4', network: 'core' },
      })
    ).vpn.vpnConnectionId as string;
    const asCrosslink = await crosslinkPutter(cloud, physical('CrosslinkBus'));
    const put = async (
      name: 'VpnDrainRequested' | 'VpnDeleteRequested',
      runId: string,
      requestedAt: string,
    ) => {
      const command = buildEvent({
        name,
        origin: { cloud: 'aws', accountId: ACCOUNT, region: REGION },
        subject: vpnId,
        clock: cloud.clock,
        data: { runId, vpnId, requestedBy: 'planner@example.com', requestedAt, awsRegion: REGION },
      });
      const out = await asCrosslink.send(
        new PutEventsCommand({
          Entries: [toEventBridgeEntry(command as CloudEvent, physical('CrosslinkBus'))],
        }),
      );
      expect(out.FailedEntryCount).toBe(0);
    };
    const resultOf = (type: string) =>
      eventually(
        () =>
          busEvents().find(
            (e) => e['detail-type'] === type && (e.detail.data as { vpnId?: string }).vpnId === vpnId,
          ),
        60_000,
      );
    await put('VpnDrainRequested', 'run-prod-1', '2026-06-02T00:00:00Z');
    await resultOf('VpnDrained');
    await put('VpnDeleteRequested', 'run-prod-2', '2026-06-03T00:00:00Z');
    const ddb = new DynamoDBClient({
      region: REGION,
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    const parked = await eventually(async () => {
      const item = await ddb.send(
        new GetItemCommand({
          TableName: physical('LinksTable'),
          Key: { pk: { S: 'VPNRUN#run-prod-2' }, sk: { S: `APPROVAL#${vpnId}` } },
          ConsistentRead: true,
        }),
      );
      return item.Item?.token ? item.Item : undefined;
    }, 60_000);
    const cliHome = cliAgainst(cloud, 'crosslink-vpn-approve-');
    writeFileSync(
      join(cliHome.home, '.crosslink', 'local.json'),
      JSON.stringify({
        ...cloud.handshake(),
        intakes: { ...cloud.handshake().intakes, aws: intake },
      }),
    );
    mkdirSync(join(cliHome.home, 'config'));
    copyFileSync(
      resolve(ROOT, 'config/local-identities.yaml'),
      join(cliHome.home, 'config/local-identities.yaml'),
    );

    const approveAs = (who: string) =>
      cliHome.cli('vpn', 'approve', vpnId, '--run', 'run-prod-2', '--side', 'aws', '--as', who);
    const refused = await approveAs('alice');
    const noRun = await cliHome.cli('vpn', 'approve', vpnId, '--side', 'aws', '--as', 'bob');
    const approved = await approveAs('bob');

    expect(JSON.parse(parked.request?.S ?? '{}')).toMatchObject({ requestedBy: 'planner@example.com' });
    expect(refused.code).toBe(3);
    expect(refused.err).toMatch(/alice is not an approver for aws in prod/);
    expect(noRun).toMatchObject({ code: 2, err: expect.stringMatching(/the run is required/) });
    expect(approved.err).toBe('');
    expect(approved.code).toBe(0);
    const deleted = await resultOf('VpnHalfDeleted');
    expect(approved.out).toMatch(
      /approved the delete of vpn-\w+ in run run-prod-2 .* as arn:aws:iam::\d+:user\/bob/,
    );
    expect(deleted.detail.data).toMatchObject({
      outcome: 'changed',
      changed: [vpnId, expect.stringMatching(/^cgw-/)],
    });
    cliHome.remove();
    ddb.destroy();
    asCrosslink.destroy();
  }, 180_000);
});

// Last: over every run above, both link flows and the VPN command.
describe("the deployed half's IAM", () => {
  it('least privilege: every action the runs used was allowed; every grant was used or says why not', () => {
    // Act: the edge's decisions over both flows above, against serverless.yml's grants and reasons.
    const report = leastPrivilege(
      [cloud.iam?.snapshot(cloud.aws.edge.world) ?? { principals: [], decisions: [] }],
      readServiceIam(resolve(ROOT, 'serverless.yml')),
    );
    // Assess
    expect(report.map((p) => p.key)).toEqual(
      expect.arrayContaining(['intake', 'stepRequest', 'linkProvisioning']),
    );
    expect(report.find((p) => p.key === 'stepRequest')?.used.map((u) => u.action)).toContain(
      'events:PutEvents',
    );
    expect(problems(report), formatReport(report)).toEqual([]);
  });
});
