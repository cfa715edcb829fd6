/**
 * The AWS half of a VPN run through its state machine on the local cloud: the real ASL
 * (workflows/aws/vpn-half.asl.json) on the local Step Functions, started by the same bus rule as
 * serverless.yml's VpnHalfRule from command events put on the bus, its step an in-process Lambda
 * with the real EC2, EventBridge and DynamoDB clients on the edge. Each action changes only the VPN
 * it names (routes included: the other VPN keeps or takes the Google prefix), a repeat and an older
 * run's command change nothing, the pause switch changes nothing; a prod delete waits for an
 * approval (a repeat does not wait twice, the requester's approval and another run's do not resume
 * it, an approver's does and it deletes), and its deadline passing deletes nothing.
 */
import { readFileSync } from 'node:fs';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeCustomerGatewaysCommand,
  DescribeTransitGatewayAttachmentsCommand,
  DescribeVpnConnectionsCommand,
  EC2Client,
  GetTransitGatewayRouteTablePropagationsCommand,
  SearchTransitGatewayRoutesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { toEventBridgeEntry } from '#aws/envelope.ts';
import { EventBridgeSink } from '#aws/event-sink.ts';
import { DynamoDbVpnApprovals } from '#aws/vpn-approvals.ts';
import { DynamoDbGoogleDrains, VPN_APPROVAL_WAIT_MS, type VpnHalfDeps, vpnHalfStep } from '#aws/vpn-half.ts';
import { buildEvent } from '#core/envelope.ts';
import type { VpnHalfResultData } from '#core/events/catalog.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { approveVpnDelete } from '#core/vpn/approval.ts';
import { networkOf } from '#local/aws/common/network.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { LocalCloud } from '#local/index.ts';
import { resolveDefinition } from '../support/aws-half.ts';
import { createLinksTable } from '../support/links-table.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';
import { vpnWorld } from '../support/vpn-world.ts';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const GOOGLE_IP = '10.128.1.10';
let cloud: LocalCloud;
let ec2: EC2Client;
let sfn: SFNClient;
let eb: EventBridgeClient;
let sqs: SQSClient;
let ddb: DynamoDBClient;
let deps: VpnHalfDeps;
let paused = false;
let machineArn: string;
let resultsQueue: string;
let rtb: string;
/** Two VPNs on the Transit Gateway (tgwA nonprod, tgwB prod), one on a virtual private gateway. */
const vpn = { tgwA: '', tgwB: '', vgw: '', prodVgw: '' };
const cgw = { tgwA: '', tgwB: '', vgw: '', prodVgw: '' };
let shared = '';
/** Builds one more VPN of the estate (prod, on a virtual private gateway unless told). */
let buildVpn: (name: string, aws?: object) => Promise<{ vpnConnectionId: string; customerGatewayId: string }>;

beforeAll(async () => {
  // IAM off: this file drives the ASL and the step's decisions through an inline handler and
  // hand-made rules, which have no roles of their own; serverless.yml's vpn-half roles are proven
  // with IAM on by test/e2e/aws-half-deployed.test.ts ("the deployed vpn-half state machine").
  cloud = await startTestCloud({ iam: false });
  const config = { region: REGION, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  ec2 = new EC2Client(config);
  sfn = new SFNClient(config);
  eb = new EventBridgeClient(config);
  sqs = new SQSClient(config);
  ddb = new DynamoDBClient(config);
  const { vpc, tgw, buildVpn: build } = await vpnWorld(cloud);
  rtb = tgw.propagationDefaultRouteTableId;
  await admin(cloud, 'POST', '/aws/ec2/add-route', {
    routeTableId: vpc.mainRouteTableId,
    destinationCidrBlock: '10.128.0.0/9',
    transitGatewayId: tgw.transitGatewayId,
  });
  buildVpn = (name, aws = {}) => build(name, aws);
  const a = await build('vpn-a', {
    transitGatewayId: tgw.transitGatewayId,
    tags: { 'crosslink:environment': 'nonprod' },
  });
  const b = await build('vpn-b', { transitGatewayId: tgw.transitGatewayId });
  const v = await build('vpn-v', { tags: { 'crosslink:environment': 'nonprod' } });
  const p = await build('vpn-p', {});
  Object.assign(vpn, {
    tgwA: a.vpnConnectionId,
    tgwB: b.vpnConnectionId,
    vgw: v.vpnConnectionId,
    prodVgw: p.vpnConnectionId,
  });
  Object.assign(cgw, {
    tgwA: a.customerGatewayId,
    tgwB: b.customerGatewayId,
    vgw: v.customerGatewayId,
    prodVgw: p.customerGatewayId,
  });
  // A second connection on vpn-b's customer gateway: deleting vpn-b must leave that gateway.
  shared = networkOf(cloud.aws.edge.world).createVpnConnection({
    accountId: ACCOUNT,
    region: REGION,
    customerGatewayId: b.customerGatewayId,
    transitGatewayId: tgw.transitGatewayId,
    staticRoutesOnly: false,
    tags: {},
  }).vpnConnectionId;
  await cloud.clock.advance(3 * 60_000);

  await eb.send(new CreateEventBusCommand({ Name: 'crosslink' }));
  await createLinksTable(ddb, 'crosslink-links');
  deps = {
    ec2: (region) => (region === REGION ? ec2 : new EC2Client({ ...config, region })),
    regions: [REGION, 'us-west-2'],
    bus: new EventBridgeSink(eb, { busName: 'crosslink' }),
    // As the intake wires it: recording an approval answers the waiting execution's token.
    approvals: new DynamoDbVpnApprovals(ddb, 'crosslink-links', {
      clock: cloud.clock,
      resume: async (taskToken, output) => {
        await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
      },
    }),
    googleDrains: new DynamoDbGoogleDrains(ddb, 'crosslink-links'),
    clock: cloud.clock,
    origin: { cloud: 'aws', accountId: ACCOUNT, region: REGION },
    paused: () => paused,
  };
  lambdaRuntime(cloud.aws.edge.world, ACCOUNT, REGION).register({
    name: 'stepVpnHalf',
    timeout: 30,
    handler: (event: unknown) => vpnHalfStep(deps, event as never),
  });
  const arnOf = (fn: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${fn}`;
  machineArn = (
    await sfn.send(
      new CreateStateMachineCommand({
        name: 'crosslink-vpn-half',
        definition: resolveDefinition('workflows/aws/vpn-half.asl.json', arnOf),
        roleArn: `arn:aws:iam::${ACCOUNT}:role/crosslink-states`,
      }),
    )
  ).stateMachineArn as string;
  // The rules as serverless.yml has them: commands -> the state machine; results -> a queue to read.
  const rule = async (
    name: string,
    pattern: object,
    target: { Id: string; Arn: string; RoleArn?: string },
  ) => {
    await eb.send(
      new PutRuleCommand({
        Name: name,
        EventBusName: 'crosslink',
        EventPattern: JSON.stringify({ source: ['crosslink'], ...pattern }),
      }),
    );
    await eb.send(new PutTargetsCommand({ Rule: name, EventBusName: 'crosslink', Targets: [target] }));
  };
  // serverless.yml's VpnHalfRule: every command, and Google's drain reports relayed from Google.
  const vpnHalfPattern = {
    $or: [
      { 'detail-type': ['VpnDrainRequested', 'VpnUndrainRequested', 'VpnDeleteRequested'] },
      { 'detail-type': ['VpnDrained', 'VpnUndrained'], detail: { crosslinkorigin: ['gcp'] } },
    ],
  };
  await rule('crosslink-vpn-half', vpnHalfPattern, {
    Id: 'vpn-half',
    Arn: machineArn,
    RoleArn: `arn:aws:iam::${ACCOUNT}:role/crosslink-vpn-rule`,
  });
  resultsQueue = (await sqs.send(new CreateQueueCommand({ QueueName: 'vpn-results' }))).QueueUrl as string;
  await rule(
    'vpn-results',
    { 'detail-type': ['VpnDrained', 'VpnUndrained', 'VpnHalfDeleted'] },
    {
      Id: 'q',
      Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:vpn-results`,
    },
  );
});
afterAll(async () => {
  lambdaRuntime(cloud.aws.edge.world, ACCOUNT, REGION).remove('stepVpnHalf');
  for (const c of [ec2, sfn, eb, sqs, ddb]) c?.destroy();
  await cloud?.stop();
});

type Command = 'VpnDrainRequested' | 'VpnUndrainRequested' | 'VpnDeleteRequested';

/**
 * Puts a command on the bus and waits for the execution it starts; returns its status and output or
 * error. `parked`: returns once it waits for its delete's approval instead.
 */
async function command(
  name: Command,
  vpnId: string,
  runId: string,
  requestedAt: string,
  o: { parked?: boolean } = {},
) {
  return run(
    buildEvent({
      name,
      origin: { cloud: 'aws', accountId: ACCOUNT, region: REGION },
      subject: vpnId,
      data: { runId, vpnId, requestedBy: 'planner@example.com', requestedAt, awsRegion: REGION },
      clock: cloud.clock,
    }),
    o.parked ? { runId, vpnId } : undefined,
  );
}

/** Google's result for a VPN, relayed to the bus as the relay puts it. */
async function googleReport(
  name: 'VpnDrained' | 'VpnUndrained',
  vpnId: string,
  runId: string,
  appliedAt: string,
) {
  return run(
    buildEvent({
      name,
      origin: { cloud: 'gcp', project: 'crosslink-hub', region: 'us-east4' },
      subject: vpnId,
      data: {
        runId,
        vpnId,
        side: 'gcp',
        outcome: 'changed',
        method: 'gcp-bgp-peers',
        changed: [`projects/net-prod/regions/us-east4/routers/r/bgpPeers/p0`],
        reason: 'test',
        appliedAt,
      },
      clock: cloud.clock,
    }),
  );
}

/** The execution's end: its status and output or error. */
async function ended(executionArn: string) {
  const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  return {
    executionArn,
    status: d.status,
    output: d.output ? (JSON.parse(d.output) as VpnHalfResultData & { recorded?: boolean }) : undefined,
    error: d.error,
    cause: d.cause,
  };
}

/** The links-table item of a delete's approval (its request, approval and waiting execution). */
async function approvalItem(runId: string, vpnId: string) {
  return (
    await ddb.send(
      new GetItemCommand({
        TableName: 'crosslink-links',
        Key: { pk: { S: `VPNRUN#${runId}` }, sk: { S: `APPROVAL#${vpnId}` } },
        ConsistentRead: true,
      }),
    )
  ).Item;
}

/**
 * Puts an event on the bus and waits for the execution it starts to end; with `parked`, until it
 * waits for the approval of that run's delete (its token parked in the links table).
 */
async function run(event: ReturnType<typeof buildEvent>, parked?: { runId: string; vpnId: string }) {
  const list = async () =>
    (await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn }))).executions ?? [];
  const before = new Set((await list()).map((e) => e.executionArn));
  await eb.send(new PutEventsCommand({ Entries: [toEventBridgeEntry(event, 'crosslink')] }));
  for (let i = 0; i < 400; i++) {
    const fresh = (await list()).find((e) => !before.has(e.executionArn));
    if (fresh?.executionArn) {
      if (fresh.status !== 'RUNNING') return ended(fresh.executionArn);
      if (parked && (await approvalItem(parked.runId, parked.vpnId))?.execution?.S === fresh.executionArn)
        return { ...(await ended(fresh.executionArn)), status: 'RUNNING' as const };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${event.type} ${event.subject}: no finished execution`);
}

/** Waits for a running execution to end. */
async function settled(executionArn: string) {
  for (let i = 0; i < 400; i++) {
    const out = await ended(executionArn);
    if (out.status !== 'RUNNING') return out;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${executionArn}: still running`);
}

async function results(): Promise<{ type: string; data: VpnHalfResultData }[]> {
  const out: { type: string; data: VpnHalfResultData }[] = [];
  for (;;) {
    const got = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: resultsQueue, MaxNumberOfMessages: 10 }),
    );
    if (!got.Messages?.length) return out;
    for (const m of got.Messages) {
      const ev = JSON.parse(m.Body as string);
      out.push({ type: ev['detail-type'], data: ev.detail.data });
      await sqs.send(new DeleteMessageCommand({ QueueUrl: resultsQueue, ReceiptHandle: m.ReceiptHandle }));
    }
  }
}

const attachmentOf = async (vpnId: string) =>
  (
    await ec2.send(
      new DescribeTransitGatewayAttachmentsCommand({ Filters: [{ Name: 'resource-id', Values: [vpnId] }] }),
    )
  ).TransitGatewayAttachments?.[0]?.TransitGatewayAttachmentId as string;

/** Which attachments propagate to the route table now. */
const propagating = async () =>
  (
    await ec2.send(new GetTransitGatewayRouteTablePropagationsCommand({ TransitGatewayRouteTableId: rtb }))
  ).TransitGatewayRouteTablePropagations?.filter((p) => p.State === 'enabled')
    .map((p) => p.TransitGatewayAttachmentId)
    .sort();

/** The attachments of the best routes to a Google address. */
const routeTo = async (ip: string) =>
  (
    await ec2.send(
      new SearchTransitGatewayRoutesCommand({
        TransitGatewayRouteTableId: rtb,
        Filters: [{ Name: 'route-search.longest-prefix-match', Values: [`${ip}/32`] }],
      }),
    )
  ).Routes?.flatMap(
    (r) => r.TransitGatewayAttachments?.map((a) => a.TransitGatewayAttachmentId) ?? [],
  ).sort();

const stateOf = async (vpnId: string) =>
  (await ec2.send(new DescribeVpnConnectionsCommand({ VpnConnectionIds: [vpnId] }))).VpnConnections?.[0]
    ?.State;

const policy = loadPolicy(parseYaml(readFileSync('config/policy.yaml', 'utf8')));
/** The prod approver for AWS in config/policy.yaml. */
const BOB = `arn:aws:iam::${ACCOUNT}:user/bob`;

const T = (day: number) => `2026-06-${String(day).padStart(2, '0')}T00:00:00Z`;

describe('the AWS half of a VPN run, through the vpn-half state machine', () => {
  it('drain takes only the named VPN out of the Transit Gateway route table; the other VPN carries the prefix', async () => {
    const a = await attachmentOf(vpn.tgwA);
    const b = await attachmentOf(vpn.tgwB);
    const all = await propagating();
    expect(all).toEqual(expect.arrayContaining([a, b]));
    expect(await routeTo(GOOGLE_IP)).toEqual(expect.arrayContaining([a]));

    const run = await command('VpnDrainRequested', vpn.tgwA, 'run-1', T(1));

    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ outcome: 'changed', method: 'tgw-propagation', changed: [rtb] });
    expect(await propagating()).toEqual(all?.filter((x) => x !== a));
    const routes = await routeTo(GOOGLE_IP);
    expect(routes).not.toContain(a);
    expect(routes).toContain(b);
    expect(await results()).toEqual([
      { type: 'VpnDrained', data: expect.objectContaining({ runId: 'run-1', vpnId: vpn.tgwA, side: 'aws' }) },
    ]);
  });

  it('the same command again changes nothing, and says so', async () => {
    const before = await propagating();

    const run = await command('VpnDrainRequested', vpn.tgwA, 'run-1', T(1));

    expect(run.output).toMatchObject({ outcome: 'unchanged', changed: [] });
    expect(await propagating()).toEqual(before);
    expect((await results()).map((r) => r.data.outcome)).toEqual(['unchanged']);
  });

  it('a VPN on a virtual private gateway is left to Google: nothing on AWS changes', async () => {
    const before = await propagating();

    const run = await command('VpnDrainRequested', vpn.vgw, 'run-1', T(1));

    expect(run.output).toMatchObject({ outcome: 'unchanged', method: 'google-side', changed: [] });
    expect(await propagating()).toEqual(before);
    await results();
  });

  it('undrain restores exactly the propagation the drain took; an older run arriving late changes nothing', async () => {
    const a = await attachmentOf(vpn.tgwA);

    const undrain = await command('VpnUndrainRequested', vpn.tgwA, 'run-2', T(2));
    const late = await command('VpnDrainRequested', vpn.tgwA, 'run-0', T(1));

    expect(undrain.output).toMatchObject({ outcome: 'changed', changed: [rtb] });
    expect(late.output).toMatchObject({ outcome: 'stale', changed: [] });
    expect(await propagating()).toContain(a);
    expect(await routeTo(GOOGLE_IP)).toContain(a);
    expect((await results()).map((r) => [r.type, r.data.outcome])).toEqual([
      ['VpnUndrained', 'changed'],
      ['VpnDrained', 'stale'],
    ]);
  });

  it('the pause switch refuses every action and changes nothing', async () => {
    const before = await propagating();
    paused = true;
    try {
      const run = await command('VpnDrainRequested', vpn.tgwA, 'run-3', T(3));

      expect(run).toMatchObject({ status: 'FAILED', error: 'VpnActionsPaused' });
      expect(await propagating()).toEqual(before);
      expect(await results()).toEqual([]);
    } finally {
      paused = false;
    }
  });

  it('delete refuses an undrained VPN, then deletes the drained one and its own customer gateway', async () => {
    const refused = await command('VpnDeleteRequested', vpn.tgwA, 'run-4', T(4));
    expect(refused).toMatchObject({ status: 'FAILED', error: 'VpnNotDrained' });
    expect(await stateOf(vpn.tgwA)).toBe('available');

    await command('VpnDrainRequested', vpn.tgwA, 'run-5', T(5));
    const run = await command('VpnDeleteRequested', vpn.tgwA, 'run-6', T(6));

    expect(run.output).toMatchObject({ outcome: 'changed', changed: [vpn.tgwA, cgw.tgwA] });
    expect(await stateOf(vpn.tgwA)).toBe('deleted');
    expect(await stateOf(vpn.tgwB)).toBe('available');
    expect(await stateOf(vpn.vgw)).toBe('available');
    const cgws = (await ec2.send(new DescribeCustomerGatewaysCommand({}))).CustomerGateways ?? [];
    expect(cgws.find((c) => c.CustomerGatewayId === cgw.tgwA)?.State ?? 'deleted').toBe('deleted');
    expect(cgws.find((c) => c.CustomerGatewayId === cgw.vgw)?.State).toBe('available');
    // The same command again (a repeated delivery) answers what it did; another run's finds it gone.
    const again = await command('VpnDeleteRequested', vpn.tgwA, 'run-6', T(6));
    expect(again.output).toMatchObject({ outcome: 'changed', changed: [vpn.tgwA] });
    const later = await command('VpnDeleteRequested', vpn.tgwA, 'run-7', T(7));
    expect(later.output).toMatchObject({ outcome: 'gone', changed: [] });
    await results();
  });

  it('a prod delete waits for an approval: a repeat does not wait twice, the requester and another run do not resume it, an approver does and it deletes (its shared customer gateway stays)', async () => {
    await command('VpnDrainRequested', vpn.tgwB, 'run-7', T(7));
    const waiting = await command('VpnDeleteRequested', vpn.tgwB, 'run-8', T(8), { parked: true });
    const repeat = await command('VpnDeleteRequested', vpn.tgwB, 'run-8', T(8));
    const approve = (who: string, runId: string) =>
      approveVpnDelete(
        { policy, clock: cloud.clock, approvals: deps.approvals },
        { runId, vpnId: vpn.tgwB, caller: { principal: who, side: 'aws' } },
      );
    await expect(approve('planner@example.com', 'run-8')).rejects.toThrow(
      /planner@example.com requested the delete of vpn-\w+ and cannot approve it/,
    );
    await expect(approve(`arn:aws:iam::${ACCOUNT}:user/alice`, 'run-8')).rejects.toThrow(
      /alice is not an approver for aws in prod/,
    );
    await expect(approve(BOB, 'run-9')).rejects.toThrow(/no delete of vpn-\w+ in run run-9 is waiting/);
    expect((await ended(waiting.executionArn)).status).toBe('RUNNING');
    expect(await stateOf(vpn.tgwB)).toBe('available');
    expect(repeat).toMatchObject({ status: 'SUCCEEDED', output: { Error: 'VpnDeleteAlreadyWaitingError' } });
    expect(JSON.stringify(repeat.output)).toMatch(/already waits for its approval in .*:execution:/);

    const approval = await approve(BOB, 'run-8');
    const done = await settled(waiting.executionArn);

    expect(approval.approval).toMatchObject({ approver: BOB, requestedBy: 'planner@example.com' });
    expect(done).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'changed', changed: [vpn.tgwB] } });
    expect(await stateOf(vpn.tgwB)).toBe('deleted');
    expect(await stateOf(shared)).toBe('available');
    const cgws = (await ec2.send(new DescribeCustomerGatewaysCommand({}))).CustomerGateways ?? [];
    expect(cgws.find((c) => c.CustomerGatewayId === cgw.tgwB)?.State).toBe('available');
    expect((await approvalItem('run-8', vpn.tgwB))?.token).toBeUndefined();
    const deleted = (await results()).filter((r) => r.type === 'VpnHalfDeleted');
    expect(deleted.map((r) => r.data.outcome)).toEqual(['changed']);
  });

  it('a VPN on a virtual private gateway is deleted only once Google reported it drained; an older undrain report does not undo that', async () => {
    const refused = await command('VpnDeleteRequested', vpn.vgw, 'run-10', T(10));
    expect(refused).toMatchObject({ status: 'FAILED', error: 'VpnNotDrained' });
    expect(refused.cause).toMatch(/virtual private gateway.*no VpnDrained from Google/);
    expect(await stateOf(vpn.vgw)).toBe('available');

    const drained = await googleReport('VpnDrained', vpn.vgw, 'run-10', T(11));
    const lateUndrain = await googleReport('VpnUndrained', vpn.vgw, 'run-3', T(3));
    const run = await command('VpnDeleteRequested', vpn.vgw, 'run-12', T(12));

    expect(drained.output).toMatchObject({ recorded: true });
    expect(lateUndrain.output).toMatchObject({ recorded: false });
    expect(run.output).toMatchObject({
      outcome: 'changed',
      method: 'google-side',
      changed: [vpn.vgw, cgw.vgw],
    });
    expect(await stateOf(vpn.vgw)).toBe('deleted');
    await results();
  });

  it('a prod delete whose approval does not come by the deadline deletes nothing and says why', async () => {
    await googleReport('VpnDrained', vpn.prodVgw, 'run-13', T(13));
    const waiting = await command('VpnDeleteRequested', vpn.prodVgw, 'run-14', T(14), { parked: true });
    await cloud.clock.advance(VPN_APPROVAL_WAIT_MS - 60_000);
    expect((await ended(waiting.executionArn)).status).toBe('RUNNING');

    await cloud.clock.advance(2 * 60_000);
    const expired = await settled(waiting.executionArn);

    expect(expired).toMatchObject({ status: 'FAILED', error: 'VpnDeleteApprovalExpired' });
    expect(await stateOf(vpn.prodVgw)).toBe('available');
    const out = (await results()).filter((r) => r.type === 'VpnHalfDeleted');
    expect(out.map((r) => r.data)).toEqual([
      expect.objectContaining({
        vpnId: vpn.prodVgw,
        runId: 'run-14',
        outcome: 'expired',
        changed: [],
        reason: expect.stringMatching(/no approval .* came within 72 h: nothing deleted/),
      }),
    ]);
    expect((await approvalItem('run-14', vpn.prodVgw))?.token).toBeUndefined();
    // Approved after the deadline: recorded, and the run's next command deletes (no execution resumed).
    await approveVpnDelete(
      { policy, clock: cloud.clock, approvals: deps.approvals },
      { runId: 'run-14', vpnId: vpn.prodVgw, caller: { principal: BOB, side: 'aws' } },
    );
    const again = await command('VpnDeleteRequested', vpn.prodVgw, 'run-14', T(14));
    expect(again.output).toMatchObject({ outcome: 'changed', changed: [vpn.prodVgw, cgw.prodVgw] });
  });

  it('an approval whose resume fails stays recorded with the wait: approving again resumes it, and one never repeated is applied at the deadline', async () => {
    const throttled = new DynamoDbVpnApprovals(ddb, 'crosslink-links', {
      clock: cloud.clock,
      resume: async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      },
    });
    const approve = (approvals: DynamoDbVpnApprovals, runId: string, vpnId: string) =>
      approveVpnDelete(
        { policy, clock: cloud.clock, approvals },
        { runId, vpnId, caller: { principal: BOB, side: 'aws' } },
      );
    const q = await buildVpn('vpn-q');
    const r = await buildVpn('vpn-r');
    await googleReport('VpnDrained', q.vpnConnectionId, 'run-20', T(20));
    await googleReport('VpnDrained', r.vpnConnectionId, 'run-20', T(20));

    const first = await command('VpnDeleteRequested', q.vpnConnectionId, 'run-21', T(21), { parked: true });
    await expect(approve(throttled, 'run-21', q.vpnConnectionId)).rejects.toThrow(
      /is recorded, but the execution waiting for it could not be resumed now \(ThrottlingException\): approve again/,
    );
    expect((await approvalItem('run-21', q.vpnConnectionId))?.token?.S).toBeTruthy();
    expect((await ended(first.executionArn)).status).toBe('RUNNING');
    await approve(deps.approvals, 'run-21', q.vpnConnectionId);
    expect(await settled(first.executionArn)).toMatchObject({
      status: 'SUCCEEDED',
      output: { outcome: 'changed', changed: [q.vpnConnectionId, q.customerGatewayId] },
    });
    expect((await approvalItem('run-21', q.vpnConnectionId))?.token).toBeUndefined();

    const second = await command('VpnDeleteRequested', r.vpnConnectionId, 'run-22', T(22), { parked: true });
    await expect(approve(throttled, 'run-22', r.vpnConnectionId)).rejects.toThrow(/approve again/);
    await cloud.clock.advance(VPN_APPROVAL_WAIT_MS + 60_000);
    expect(await settled(second.executionArn)).toMatchObject({
      status: 'SUCCEEDED',
      output: { outcome: 'changed', changed: [r.vpnConnectionId, r.customerGatewayId] },
    });
    expect(await stateOf(r.vpnConnectionId)).toBe('deleted');
    const ours = new Set([q.vpnConnectionId, r.vpnConnectionId]);
    const deleted = (await results()).filter((x) => x.type === 'VpnHalfDeleted' && ours.has(x.data.vpnId));
    expect(deleted.map((x) => [x.data.vpnId, x.data.outcome])).toEqual([
      [q.vpnConnectionId, 'changed'],
      [r.vpnConnectionId, 'changed'],
    ]);
  });

  it('the wait lasts as long as the state machine waits', () => {
    const asl = JSON.parse(readFileSync('workflows/aws/vpn-half.asl.json', 'utf8'));
    expect(asl.States.AwaitApproval.TimeoutSeconds * 1000).toBe(VPN_APPROVAL_WAIT_MS);
  });

  it('a malformed command fails its execution naming the field, changing nothing', async () => {
    const run = await command('VpnDrainRequested', 'vgw-123', 'run-9', T(9));

    expect(run).toMatchObject({ status: 'FAILED', error: 'ValidationError' });
    expect(run.cause).toMatch(/vpnId: must be an AWS VPN connection id/);
  });
});
