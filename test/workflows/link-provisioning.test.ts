/**
 * The AWS half's provisioning state machine (workflows/aws/link-provisioning.asl.json, unchanged) in
 * the local cloud: intake calls signed by the verified caller, peer events put on the bus as the
 * `crosslink` service identity, the Google half played by the Interconnect simulator's partner
 * actions, time on the manual virtual clock.
 */
import { constants, privateDecrypt } from 'node:crypto';
import {
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
} from '@aws-sdk/client-sfn';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toEventBridgeEntry } from '#aws/envelope.ts';
import { type HttpApiEvent, intake, peerEvent } from '#aws/intake.ts';
import { watch } from '#aws/watcher.ts';
import { openSealedKey, sealKey } from '#core/crypto/seal.ts';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import type { EventDataByName, LinkEventName } from '#core/events/catalog.ts';
import { mintLinkId } from '#core/ids.ts';
import { eventsOf } from '#local/aws/services/events.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { LocalCloud } from '#local/index.ts';
import { ACCOUNT, type AwsHalf, REGION, STEP_FUNCTIONS, startAwsHalf } from '../support/aws-half.ts';
import { admin, letServiceCall, startTestCloud } from '../support/local-cloud.ts';
import { eventually } from '../support/timers.ts';

const ARN = {
  alice: `arn:aws:iam::${ACCOUNT}:user/alice`,
  bob: `arn:aws:iam::${ACCOUNT}:user/bob`,
};
const CROSSLINK = { accessKeyId: 'AKIALOCALCROSSLINK01', secretAccessKey: 'crosslink-local-secret' };
const GCP = { cloud: 'gcp' as const, project: 'payments-prod', region: 'us-east4' };
const MIN = 60_000;
const HOUR = 60 * MIN;

let cloud: LocalCloud;
let half: AwsHalf;
let asCrosslink: EventBridgeClient;
let sqs: SQSClient;
let dlqUrl: string;
const peerOutcomes: { type?: string; outcome: string; reason: string }[] = [];

const request = (name: string, initiator: 'aws' | 'gcp' = 'aws') => ({
  name,
  initiator,
  bandwidth: '1Gbps',
  environment: 'prod',
  residency: 'US',
  aws: {
    accountId: ACCOUNT,
    region: 'us-east-1',
    directConnectGateway: '90392BE3-219C-47FD-BBA5-03DF76D2542A',
    routes: ['10.10.0.0/16'],
  },
  gcp: { project: 'payments-prod', region: 'us-east4', network: 'payments-vpc', routes: ['10.20.0.0/16'] },
});

function call(
  who: string,
  routeKey: string,
  opts: { id?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const event: HttpApiEvent = {
    routeKey,
    requestContext: { requestId: 'req-1', authorizer: { iam: { userArn: who, accountId: ACCOUNT } } },
    ...(opts.id ? { pathParameters: { id: opts.id } } : {}),
    ...(opts.body ? { body: JSON.stringify(opts.body) } : {}),
    ...(opts.headers ? { headers: opts.headers } : {}),
  };
  return intake(half.deps, event).then((a) => ({ status: a.statusCode, body: JSON.parse(a.body) }));
}

async function putPeer<N extends LinkEventName>(
  name: N,
  data: Omit<EventDataByName[N], 'policyHash'> & { policyHash?: string },
) {
  const event = buildEvent({
    name,
    origin: GCP,
    subject: data.linkId,
    clock: cloud.clock,
    data: { policyHash: half.deps.policy.hash, ...data },
  } as never) as CloudEvent;
  const out = await asCrosslink.send(
    new PutEventsCommand({ Entries: [toEventBridgeEntry(event, 'crosslink')] }),
  );
  expect(out.FailedEntryCount).toBe(0);
  return event;
}

async function executionOf(linkId: string) {
  const out = await half.sfn.send(
    new ListExecutionsCommand({ stateMachineArn: half.deps.stateMachines.provisioning }),
  );
  return (out.executions ?? []).filter((e) => e.name?.startsWith(linkId));
}

async function statusOf(linkId: string) {
  const [e] = await executionOf(linkId);
  if (!e) return undefined;
  return (await half.sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }))).status;
}

async function history(linkId: string): Promise<HistoryEvent[]> {
  const all: HistoryEvent[] = [];
  for (const e of await executionOf(linkId)) {
    const out = await half.sfn.send(
      new GetExecutionHistoryCommand({
        executionArn: e.executionArn,
        maxResults: 1000,
        includeExecutionData: true,
      }),
    );
    all.push(...(out.events ?? []));
  }
  return all;
}

/** Advances virtual time in steps, letting the in-process Lambdas run between them. */
async function advance(ms: number, step = 5 * MIN) {
  for (let t = 0; t < ms; t += step) {
    await cloud.clock.advance(Math.min(step, ms - t));
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Advances virtual time step by step until `done`, at most `within`. Under load the in-process
 * Lambdas may finish a step's work after the 20 ms pause, pushing the next timer later: a fixed
 * advance then stops short of it. Callers assert the virtual instants from the history instead.
 */
async function advanceUntil(done: () => Promise<boolean>, step: number, within: number) {
  for (let t = 0; ; t += step) {
    if (await done()) return;
    if (t >= within) throw new Error(`not done within ${within / HOUR} h of virtual time`);
    await advance(step, step);
  }
}

async function linkState(id: string) {
  return (await half.deps.store.get(id))?.link.state;
}

async function waitingAt(linkId: string, state: string) {
  await eventually(async () => {
    const h = await history(linkId);
    return (
      h.some((e) => e.type === 'TaskSubmitted' || e.stateEnteredEventDetails?.name === state) &&
      h.filter((e) => e.stateEnteredEventDetails?.name === state).length > 0
    );
  });
}

function keyIssued(linkId: string): EventDataByName['LinkKeyIssued'] | undefined {
  for (const r of eventsOf(cloud.aws.edge.world, ACCOUNT, REGION).recent as {
    detail?: unknown;
    'detail-type'?: string;
  }[]) {
    const detail = (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as CloudEvent | undefined;
    if (r['detail-type'] === 'LinkKeyIssued' && detail?.subject === linkId)
      return detail.data as EventDataByName['LinkKeyIssued'];
  }
  return undefined;
}

beforeAll(async () => {
  cloud = await startTestCloud();
  half = await startAwsHalf(cloud, { escalateAfterMs: 24 * HOUR, expireAfterMs: 72 * HOUR });
  const config = { region: REGION, endpoint: cloud.aws.endpoint };
  asCrosslink = new EventBridgeClient({ ...config, credentials: CROSSLINK });
  sqs = new SQSClient({ ...config, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  // The peer-event consumer: a rule for events whose origin is Google -> Lambda, with a DLQ.
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'peer-events-dlq' }));
  dlqUrl = QueueUrl as string;
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] })))
    .Attributes?.QueueArn as string;
  const fn = lambdaRuntime(cloud.aws.edge.world, ACCOUNT, REGION).register({
    name: 'peerEvents',
    handler: async (event: unknown) => {
      const out = await peerEvent(half.deps, event as never).catch((e) => {
        peerOutcomes.push({ outcome: 'error', reason: `${e.name}: ${e.message}` });
        throw e;
      });
      peerOutcomes.push(out);
      return out;
    },
  });
  const admin = new EventBridgeClient({
    ...config,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await admin.send(
    new PutRuleCommand({
      Name: 'peer-events',
      EventBusName: 'crosslink',
      EventPattern: JSON.stringify({ source: ['crosslink'], detail: { crosslinkorigin: ['gcp'] } }),
    }),
  );
  await admin.send(
    new PutTargetsCommand({
      Rule: 'peer-events',
      EventBusName: 'crosslink',
      Targets: [
        {
          Id: 'consumer',
          Arn: fn.arn,
          DeadLetterConfig: { Arn: dlqArn },
          RetryPolicy: { MaximumRetryAttempts: 2 },
        },
      ],
    }),
  );
  admin.destroy();
  await letServiceCall(cloud, fn.arn);
  await letServiceCall(cloud, dlqArn);
});

afterAll(async () => {
  asCrosslink?.destroy();
  sqs?.destroy();
  await half?.stop();
  await lambdaRuntime(cloud.aws.edge.world, ACCOUNT, REGION).close();
  await cloud?.stop();
});

describe('link-provisioning, initiate', () => {
  it('reaches ACTIVE with bob approving here and carol as a peer event; the key is never in the history', async () => {
    // Prepare: alice requests a prod link (no auto-approval).
    const created = await call(ARN.alice, 'POST /links', { body: request('payments-east') });
    expect(created.status).toBe(201);
    const linkId = created.body.link.id as string;
    expect(created.body.execution).toBe(`${linkId}-provisioning-1`);
    await waitingAt(linkId, 'AwaitApproval');
    expect(await linkState(linkId)).toBe('AWAITING_APPROVAL');

    // Act: bob approves for AWS, carol for Google (a peer event).
    expect(
      (await call(ARN.bob, 'POST /links/{id}/approvals', { id: linkId, body: { decision: 'approve' } }))
        .status,
    ).toBe(200);
    await putPeer('LinkApproved', {
      linkId,
      side: 'gcp',
      approver: 'carol@example.com',
      approvedAt: new Date(cloud.clock.now()).toISOString(),
      auto: false,
    });
    const issued = await eventually(() => keyIssued(linkId));
    // Google redeems the key it unseals with its own private key.
    const key = await openSealedKey(issued.sealedKey, linkId, {
      keyId: issued.sealedKey.recipientKeyId,
      unwrap: async (wrapped) =>
        privateDecrypt(
          { key: half.peerPrivateKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
          wrapped,
        ),
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
    // The AWS half comes up after the provider's delay; the hourly fallback poll sees it.
    await advance(2 * HOUR);

    // Assess
    await eventually(async () => (await statusOf(linkId)) === 'SUCCEEDED');
    const shown = await call(ARN.bob, 'GET /links/{id}', { id: linkId });
    expect(shown.body).toMatchObject({
      id: linkId,
      state: 'ACTIVE',
      halves: { aws: { state: 'UP', nativeState: 'available' }, gcp: { state: 'UP', nativeState: 'ACTIVE' } },
    });
    expect(shown.body.approvals.map((a: { by: string }) => a.by).sort()).toEqual([
      ARN.bob,
      'carol@example.com',
    ]);
    expect(shown.body.stages.map((s: { state: string }) => s.state)).toEqual([
      'REQUESTED',
      'AWAITING_APPROVAL',
      'APPROVED',
      'PROVISIONING',
      'ACTIVE',
    ]);
    const h = JSON.stringify(await history(linkId));
    for (const state of ['Request', 'AwaitApproval', 'ActivateInitiate', 'PollHalf', 'Report'])
      expect(h).toContain(`"name":"${state}"`);
    expect(key.length).toBeGreaterThan(20);
    expect(half.secrets.secrets.get(`crosslink/${linkId}/activation-key`)).toBe(key);
    expect(h).not.toContain(key);
    expect(JSON.stringify(eventsOf(cloud.aws.edge.world, ACCOUNT, REGION).recent)).not.toContain(key);
    const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10 }));
    expect(JSON.stringify(dead.Messages ?? [])).not.toContain(key);
  });
});

async function requested(name: string, headers?: Record<string, string>) {
  const created = await call(ARN.alice, 'POST /links', {
    body: request(name),
    ...(headers ? { headers } : {}),
  });
  expect(created.status).toBe(201);
  const linkId = created.body.link.id as string;
  await waitingAt(linkId, 'AwaitApproval');
  return linkId;
}

async function connectionsOf(linkId: string) {
  return (await half.deps.halves.listHalves()).filter((h) => h.linkId === linkId && h.state !== 'deleted');
}

const now = () => new Date(cloud.clock.now()).toISOString();

describe('link-provisioning, approvals', () => {
  it('refuses a self-approval by the requester, audited, and keeps waiting', async () => {
    const linkId = await requested('self-approval');
    const answer = await call(ARN.alice, 'POST /links/{id}/approvals', {
      id: linkId,
      body: { decision: 'approve' },
    });
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toBe('PermissionDeniedError');
    expect(await linkState(linkId)).toBe('AWAITING_APPROVAL');
    expect(await statusOf(linkId)).toBe('RUNNING');
    const audit = await half.deps.store.listAudit(linkId);
    expect(
      audit.some((a) => a.actor === ARN.alice && a.action === 'approve' && a.outcome === 'refused'),
    ).toBe(true);
  });

  it('ends REJECTED when bob rejects, with nothing created', async () => {
    const linkId = await requested('rejected');
    const answer = await call(ARN.bob, 'POST /links/{id}/approvals', {
      id: linkId,
      body: { decision: 'reject', reason: 'not this quarter' },
    });
    expect(answer.status).toBe(200);
    await eventually(async () => (await statusOf(linkId)) === 'SUCCEEDED');
    expect(await linkState(linkId)).toBe('REJECTED');
    const h = await history(linkId);
    expect(h.some((e) => e.stateEnteredEventDetails?.name === 'Compensate')).toBe(true);
    expect(h.some((e) => e.stateEnteredEventDetails?.name === 'Rejected')).toBe(true);
    expect(await connectionsOf(linkId)).toEqual([]);
  });

  it('escalates once, then EXPIRES at the deadline, polling at most hourly', async () => {
    const linkId = await requested('expired');
    await advance(73 * HOUR, HOUR);
    await eventually(async () => (await statusOf(linkId)) === 'SUCCEEDED');
    expect(await linkState(linkId)).toBe('EXPIRED');
    const h = await history(linkId);
    expect(h.some((e) => e.stateEnteredEventDetails?.name === 'Expired')).toBe(true);
    // Request + one escalation: two LinkApprovalRequested for this link.
    const asked = (
      eventsOf(cloud.aws.edge.world, ACCOUNT, REGION).recent as { 'detail-type'?: string; detail?: unknown }[]
    )
      .filter((r) => r['detail-type'] === 'LinkApprovalRequested')
      .filter((r) => JSON.stringify(r.detail).includes(linkId));
    expect(asked).toHaveLength(2);
    // Every wait parks at most an hour before its fallback poll.
    const waits = h
      .filter((e) => e.type === 'TaskScheduled')
      .map((e) => e.taskScheduledEventDetails?.timeoutInSeconds);
    expect(waits.length).toBeGreaterThan(24);
    for (const t of waits) expect(t === undefined || t <= 3600).toBe(true);
    expect(h.filter((e) => e.stateEnteredEventDetails?.name === 'ApprovalDeadline').length).toBeGreaterThan(
      24,
    );
    expect(await connectionsOf(linkId)).toEqual([]);
  });

  it('refuses a peer event made under another policy hash', async () => {
    const linkId = await requested('other-policy');
    const before = peerOutcomes.length;
    await putPeer('LinkApproved', {
      linkId,
      side: 'gcp',
      approver: 'carol@example.com',
      approvedAt: now(),
      auto: false,
      policyHash: 'b'.repeat(64),
    });
    await eventually(() => peerOutcomes.length > before);
    expect(peerOutcomes.at(-1)).toMatchObject({ outcome: 'refused', type: 'LinkApproved' });
    expect(peerOutcomes.at(-1)?.reason).toContain('policy hash mismatch');
    const link = (await half.deps.store.get(linkId))?.link;
    expect(link?.approvals).toEqual([]);
    const audit = await half.deps.store.listAudit(linkId);
    expect(audit.some((a) => a.actor === 'peer:gcp' && a.outcome === 'refused')).toBe(true);
  });
});

describe('link-provisioning, idempotency and failure', () => {
  it('makes one link, one execution and one connection of a duplicated request', async () => {
    const headers = { 'idempotency-key': 'req-42' };
    const first = await call(ARN.alice, 'POST /links', { body: request('duplicate'), headers });
    const second = await call(ARN.alice, 'POST /links', { body: request('duplicate'), headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    const linkId = first.body.link.id as string;
    expect(second.body.link.id).toBe(linkId);
    await waitingAt(linkId, 'AwaitApproval');
    await approveBoth(linkId);
    await putPeer('LinkApproved', {
      linkId,
      side: 'gcp',
      approver: 'carol@example.com',
      approvedAt: now(),
      auto: false,
    });
    await eventually(() => keyIssued(linkId));
    expect(await executionOf(linkId)).toHaveLength(1);
    expect(await connectionsOf(linkId)).toHaveLength(1);
  });

  it('compensates a provider 5xx after the connection exists: FAILED, LinkFailed, nothing left', async () => {
    const linkId = await requested('five-hundred');
    await approveBoth(linkId);
    await eventually(() => keyIssued(linkId));
    expect(await connectionsOf(linkId)).toHaveLength(1);
    const { fault } = await admin(cloud, 'POST', '/faults', {
      service: 'interconnect',
      operation: 'GetConnection',
      kind: 'error',
    });
    try {
      await advance(2 * HOUR, 60_000);
      await eventually(async () => (await statusOf(linkId)) === 'FAILED');
    } finally {
      await admin(cloud, 'DELETE', `/faults/${fault.id}`);
    }
    expect(await linkState(linkId)).toBe('FAILED');
    const failed = (
      eventsOf(cloud.aws.edge.world, ACCOUNT, REGION).recent as { 'detail-type'?: string; detail?: unknown }[]
    ).filter((r) => r['detail-type'] === 'LinkFailed' && JSON.stringify(r.detail).includes(linkId));
    expect(failed).toHaveLength(1);
    await advance(2 * 86_400_000, HOUR);
    expect(await connectionsOf(linkId)).toEqual([]);
    expect(half.secrets.secrets.has(`crosslink/${linkId}/activation-key`)).toBe(false);
  });
});

describe('link-provisioning, accept', () => {
  it('accepts a Google-first link to ACTIVE: replica from LinkRequested, bob here, carol and the sealed key as peer events', async () => {
    // Prepare: Google's intake took alice's request; its LinkRequested reaches this bus.
    const linkId = mintLinkId(cloud.clock);
    const req = request('google-first', 'gcp');
    await putPeer('LinkRequested', {
      linkId,
      request: req as never,
      requester: 'alice@example.com',
      requestedVia: 'gcp',
      requestedAt: now(),
    });
    await eventually(async () => (await executionOf(linkId)).length === 1);
    expect((await executionOf(linkId))[0]?.name).toBe(`${linkId}-provisioning-1`);
    await waitingAt(linkId, 'AwaitApproval');

    // Act: both approve; Google issues a key (partner action) and seals it to this side's key.
    await approveBoth(linkId);
    await waitingAt(linkId, 'AwaitKey');
    const { activationKey } = await admin(cloud, 'POST', '/aws/interconnect/issue-key', {
      environmentId: 'mce-aws-gcp-iad',
      bandwidth: '1Gbps',
      destinationAccountId: ACCOUNT,
    });
    await putPeer('LinkKeyIssued', {
      linkId,
      issuer: 'gcp',
      sealedKey: sealKey(activationKey, half.ownKey, linkId),
      bandwidth: '1Gbps',
      issuerResource: `projects/payments-prod/locations/us-east4/transports/${linkId}`,
      issuedAt: now(),
    });
    await eventually(async () => (await connectionsOf(linkId)).length === 1);
    await putPeer('LinkSideStateChanged', {
      linkId,
      side: 'gcp',
      sequence: 1,
      nativeState: 'ACTIVE',
      previousNativeState: 'PENDING_KEY',
      condition: 'UP',
      observedAt: now(),
    });
    await advance(2 * HOUR);

    // Assess
    await eventually(async () => (await statusOf(linkId)) === 'SUCCEEDED');
    expect(await linkState(linkId)).toBe('ACTIVE');
    const h = JSON.stringify(await history(linkId));
    expect(h).toContain('"name":"ActivateAccept"');
    expect(h).not.toContain(activationKey);
  });
});

describe('the AWS watcher', () => {
  it('records the connection coming up and resumes the waiting execution before any fallback poll', async () => {
    const linkId = await requested('watched');
    await approveAndRedeem(linkId);
    await advance(10 * MIN, MIN); // the provider's 5-minute provisioning delay, well before the hourly poll
    const report = await watch(half.deps);
    expect(report.changed).toContain(linkId);
    await eventually(async () => (await statusOf(linkId)) === 'SUCCEEDED');
    expect(await linkState(linkId)).toBe('ACTIVE');
    const h = await history(linkId);
    expect(h.some((e) => e.stateEnteredEventDetails?.name === 'PollHalf')).toBe(false);
    // A second run sees nothing new.
    expect((await watch(half.deps)).changed).not.toContain(linkId);
  });
});

/** bob approves here, carol for Google (a peer event). */
async function approveBoth(linkId: string) {
  await call(ARN.bob, 'POST /links/{id}/approvals', { id: linkId, body: { decision: 'approve' } });
  await putPeer('LinkApproved', {
    linkId,
    side: 'gcp',
    approver: 'carol@example.com',
    approvedAt: now(),
    auto: false,
  });
}

/** Approves (bob here, carol as a peer event), redeems the key as Google and reports Google's half up. */
async function approveAndRedeem(linkId: string) {
  await approveBoth(linkId);
  await eventually(() => keyIssued(linkId));
  await admin(cloud, 'POST', '/aws/interconnect/redeem-key', {
    activationKey: await half.secrets.getActivationKey(`crosslink/${linkId}/activation-key`),
  });
  await putPeer('LinkSideStateChanged', {
    linkId,
    side: 'gcp',
    sequence: 1,
    nativeState: 'ACTIVE',
    previousNativeState: null,
    condition: 'UP',
    observedAt: now(),
  });
}

/** `approveAndRedeem`, then the provider's provisioning delay and a watcher run. */
async function approveAndBringUp(linkId: string) {
  await approveAndRedeem(linkId);
  await advance(10 * MIN, MIN);
  await watch(half.deps);
}

async function requestedWithRoutes(name: string, routes: string[]) {
  const created = await call(ARN.alice, 'POST /links', {
    body: { ...request(name), aws: { ...request(name).aws, routes } },
  });
  expect(created.status).toBe(201);
  const linkId = created.body.link.id as string;
  await waitingAt(linkId, 'AwaitApproval');
  return linkId;
}

async function allowedOnGateway(): Promise<string[]> {
  const { associations } = await admin(cloud, 'POST', '/aws/directconnect/associations', {
    accountId: ACCOUNT,
  });
  return (
    associations as {
      directConnectGatewayId: string;
      allowedPrefixesToDirectConnectGateway: { cidr: string }[];
    }[]
  )
    .filter((a) => a.directConnectGatewayId === half.gateway)
    .flatMap((a) => a.allowedPrefixesToDirectConnectGateway.map((p) => p.cidr));
}

describe('link-provisioning, verify: the Direct Connect gateway allows the AWS routes', () => {
  it('goes ACTIVE when the association already allows a route inside its prefix', async () => {
    const linkId = await requestedWithRoutes('covered', ['10.10.4.0/24']);
    await approveAndBringUp(linkId);
    await eventually(async () => (await statusOf(linkId)) === 'SUCCEEDED');
    expect(await linkState(linkId)).toBe('ACTIVE');
    const h = await history(linkId);
    expect(h.some((e) => e.stateEnteredEventDetails?.name === 'VerifyPrefixes')).toBe(true);
    expect(h.some((e) => e.stateEnteredEventDetails?.name === 'PrefixWait')).toBe(false);
  });

  it('fails after the bound naming the missing prefix when crosslink does not manage them; the connection is deleted', async () => {
    const linkId = await requestedWithRoutes('uncovered', ['10.10.0.0/16', '10.99.0.0/16']);
    await approveAndBringUp(linkId);
    await waitingAt(linkId, 'PrefixWait');
    expect(await linkState(linkId)).toBe('ACTIVE'); // both halves are up; the execution holds it in verify
    await advance(35 * MIN, MIN);
    await eventually(async () => (await statusOf(linkId)) === 'FAILED');
    expect(await linkState(linkId)).toBe('FAILED');
    const failed = (
      eventsOf(cloud.aws.edge.world, ACCOUNT, REGION).recent as { 'detail-type'?: string; detail?: unknown }[]
    )
      .filter((r) => r['detail-type'] === 'LinkFailed' && JSON.stringify(r.detail).includes(linkId))
      .map((r) => (typeof r.detail === 'string' ? JSON.parse(r.detail) : r.detail) as CloudEvent);
    expect(failed).toHaveLength(1);
    const data = failed[0]?.data as EventDataByName['LinkFailed'];
    expect(data.stage).toBe('verify');
    expect(data.error.name).toBe('PrefixesNotCoveredError');
    expect(data.error.message).toContain('10.99.0.0/16');
    expect(data.error.message).not.toContain('10.10.0.0/16');
    expect(data.compensation.deleted).toHaveLength(1);
    await advance(10 * MIN, MIN);
    expect(await connectionsOf(linkId)).toEqual([]);
    expect(await allowedOnGateway()).not.toContain('10.99.0.0/16');
  });

  it('adds the missing prefix when configured to manage them, waits for the update, and goes ACTIVE', async () => {
    half.deps.settings.manageAllowedPrefixes = true;
    try {
      const linkId = await requestedWithRoutes('managed', ['10.10.0.0/16', '10.98.0.0/16']);
      await approveAndBringUp(linkId);
      await eventually(async () => (await allowedOnGateway()).includes('10.98.0.0/16'));
      await advance(10 * MIN, MIN); // the association update applies after 2 min; verify re-checks every 2
      await eventually(async () => (await statusOf(linkId)) === 'SUCCEEDED');
      expect(await linkState(linkId)).toBe('ACTIVE');
      expect(await allowedOnGateway()).toEqual(expect.arrayContaining(['10.10.0.0/16', '10.98.0.0/16']));
      const audit = await half.deps.store.listAudit(linkId);
      expect(audit.find((a) => a.action === 'allowed-prefixes-added')?.reasons[0]).toContain('10.98.0.0/16');
      expect(await connectionsOf(linkId)).toHaveLength(1);
    } finally {
      half.deps.settings.manageAllowedPrefixes = false;
    }
  });
});

async function activeLink(name: string) {
  const linkId = await requested(name);
  await approveAndBringUp(linkId);
  await eventually(async () => (await statusOf(linkId)) === 'SUCCEEDED');
  expect(await linkState(linkId)).toBe('ACTIVE');
  return linkId;
}

async function decommissionStatus(linkId: string, attempt = 1) {
  const out = await half.sfn.send(
    new ListExecutionsCommand({ stateMachineArn: half.deps.stateMachines.decommissioning }),
  );
  const run = out.executions?.find((e) => e.name === `${linkId}-decommissioning-${attempt}`);
  if (!run) return undefined;
  return (await half.sfn.send(new DescribeExecutionCommand({ executionArn: run.executionArn as string })))
    .status;
}

async function decommissionHistory(linkId: string, attempt = 1) {
  const out = await half.sfn.send(
    new ListExecutionsCommand({ stateMachineArn: half.deps.stateMachines.decommissioning }),
  );
  const run = out.executions?.find((e) => e.name === `${linkId}-decommissioning-${attempt}`);
  const h = await half.sfn.send(
    new GetExecutionHistoryCommand({ executionArn: run?.executionArn as string, maxResults: 1000 }),
  );
  return h.events ?? [];
}

const entered = (h: HistoryEvent[], state: string) =>
  h.filter((e) => e.stateEnteredEventDetails?.name === state);

/** Google's watcher reports its transport: `adminEnabled: false` (drained), or gone. */
function gcpHalf(linkId: string, sequence: number, state: 'drained' | 'gone') {
  return putPeer('LinkSideStateChanged', {
    linkId,
    side: 'gcp',
    sequence,
    nativeState: state === 'gone' ? null : 'ACTIVE',
    previousNativeState: 'ACTIVE',
    condition: state === 'gone' ? 'GONE' : 'DOWN',
    ...(state === 'drained' ? { adminEnabled: false } : {}),
    observedAt: now(),
  });
}

describe('link-provisioning, a failure after ACTIVE', () => {
  it('keeps the live link when Report fails: Retry only, no compensation, the connection stays', async () => {
    const runtime = lambdaRuntime(cloud.aws.edge.world, ACCOUNT, REGION);
    const linkId = await requested('report-fails');
    runtime.register({
      name: 'stepReport',
      handler: async () => {
        const e = new Error('the report could not be written');
        e.name = 'ReportBrokenError';
        throw e;
      },
    });
    try {
      await approveAndBringUp(linkId);
      await eventually(async () => {
        await advance(5 * MIN, MIN);
        return (await statusOf(linkId)) === 'FAILED';
      });
    } finally {
      runtime.register({
        name: 'stepReport',
        timeout: 30,
        handler: async (event: unknown) => STEP_FUNCTIONS.stepReport(half.deps, event as never),
      });
    }
    const h = await history(linkId);
    expect(entered(h, 'Report').length).toBeGreaterThan(0);
    expect(entered(h, 'Compensate')).toHaveLength(0);
    expect(await linkState(linkId)).toBe('ACTIVE');
    expect(await connectionsOf(linkId)).toHaveLength(1);
  });
});

describe("link-provisioning, the peer's verify failed a live link", () => {
  it("starts this side's compensation run on the peer's LinkFailed; it deletes the connection of the ACTIVE link", async () => {
    const linkId = await requested('peer-verify-fails');
    await approveAndBringUp(linkId);
    await eventually(async () => (await statusOf(linkId)) === 'SUCCEEDED');
    expect(await linkState(linkId)).toBe('ACTIVE');
    expect(await connectionsOf(linkId)).toHaveLength(1);

    await putPeer('LinkFailed', {
      linkId,
      side: 'gcp',
      stage: 'verify',
      error: { name: 'PrefixesNotCoveredError', message: 'routes not covered after 30 min' },
      compensation: { deleted: [], remaining: [] },
      failedAt: now(),
    });

    const compensation = async () =>
      (await executionOf(linkId)).find((e) => e.name === `${linkId}-provisioning-2`);
    await eventually(async () => (await compensation())?.status === 'FAILED');
    expect(await linkState(linkId)).toBe('FAILED');
    await advance(5 * MIN, MIN);
    expect(await connectionsOf(linkId)).toEqual([]);
    const run = await half.sfn.send(
      new GetExecutionHistoryCommand({ executionArn: (await compensation())?.executionArn, maxResults: 100 }),
    );
    const states = (run.events ?? []).flatMap((e) => e.stateEnteredEventDetails?.name ?? []);
    expect(states).toEqual(['Request', 'Compensate', 'Outcome', 'Failed']);
  });
});

describe('link-provisioning, decommissioned before it was up', () => {
  it('ends provisioning quietly in Decommissioned: no compensation, the link stays DECOMMISSIONING', async () => {
    const linkId = await requested('decommissioned-early');
    await approveBoth(linkId);
    await eventually(() => keyIssued(linkId));
    await waitingAt(linkId, 'AwaitUp');
    expect(await linkState(linkId)).toBe('PROVISIONING');

    const asked = await call(ARN.alice, 'POST /links/{id}/decommission', { id: linkId, body: {} });
    expect(asked.status).toBe(202);
    const approved = await call(ARN.bob, 'POST /links/{id}/approvals', {
      id: linkId,
      body: { decision: 'approve' },
    });
    expect(approved.body.link.state).toBe('DECOMMISSIONING');

    await eventually(async () => (await statusOf(linkId)) === 'SUCCEEDED');
    const h = await history(linkId);
    expect(entered(h, 'Decommissioned')).toHaveLength(1);
    expect(entered(h, 'Compensate')).toHaveLength(0);
    expect(await linkState(linkId)).toBe('DECOMMISSIONING');
  });
});

describe('link-decommissioning: request -> approve -> drain -> delete -> confirm -> report', () => {
  it('takes approval from carol (not the requester), waits for Google to drain, soaks, then deletes', async () => {
    const linkId = await activeLink('to-decommission');

    // bob asks; the link stays ACTIVE with the request pending.
    const asked = await call(ARN.bob, 'POST /links/{id}/decommission', {
      id: linkId,
      body: { reason: 'migrated' },
    });
    expect(asked.status).toBe(202);
    expect(asked.body.execution).toBe(`${linkId}-decommissioning-1`);
    expect(asked.body.link.state).toBe('ACTIVE');
    await eventually(async () => entered(await decommissionHistory(linkId), 'AwaitApproval').length > 0);

    // bob cannot approve his own decommission (the same route takes it to the pending decommission).
    const self = await call(ARN.bob, 'POST /links/{id}/approvals', {
      id: linkId,
      body: { decision: 'approve' },
    });
    expect(self.status).toBe(403);
    expect(self.body.error.message).toContain('requested this decommission');
    expect(await linkState(linkId)).toBe('ACTIVE');

    // carol approves for Google (a peer event): DECOMMISSIONING, and the wait for the drain begins.
    await putPeer('LinkApproved', {
      linkId,
      side: 'gcp',
      approver: 'carol@example.com',
      approvedAt: now(),
      auto: false,
      stage: 'decommissioning',
    });
    await eventually(async () => (await linkState(linkId)) === 'DECOMMISSIONING');
    await eventually(async () => entered(await decommissionHistory(linkId), 'AwaitDrained').length > 0);
    await advance(2 * HOUR, 10 * MIN); // no drain reported: nothing is deleted
    expect(await connectionsOf(linkId)).toHaveLength(1);

    // Google disables its transport; the soak runs before DeleteConnection.
    await gcpHalf(linkId, 2, 'drained');
    await eventually(async () => entered(await decommissionHistory(linkId), 'Soak').length > 0);
    const drainedAt = cloud.clock.now();
    await advance(9 * MIN, MIN);
    expect(await connectionsOf(linkId)).toHaveLength(1);
    await advance(2 * MIN, MIN);
    await eventually(async () => entered(await decommissionHistory(linkId), 'DeleteHalf').length > 0);
    expect(cloud.clock.now() - drainedAt).toBeGreaterThanOrEqual(10 * MIN);

    await gcpHalf(linkId, 3, 'gone');
    await advance(2 * HOUR, 5 * MIN);
    await eventually(async () => (await decommissionStatus(linkId)) === 'SUCCEEDED');
    expect(await linkState(linkId)).toBe('DECOMMISSIONED');
    expect(await connectionsOf(linkId)).toEqual([]);
    const link = (await half.deps.store.get(linkId))?.link;
    expect(link?.decommission).toMatchObject({
      status: 'APPROVED',
      requestedBy: ARN.bob,
      decision: { by: 'carol@example.com', side: 'gcp' },
    });
    const h = await decommissionHistory(linkId);
    const order = ['Request', 'AwaitApproval', 'DrainCheck', 'Soak', 'DeleteHalf', 'Confirm', 'Report'];
    const firsts = order.map((s) => h.findIndex((e) => e.stateEnteredEventDetails?.name === s));
    expect(firsts.every((i) => i >= 0)).toBe(true);
    expect([...firsts].sort((a, b) => a - b)).toEqual(firsts);
  });

  it('records an unapproved decommission EXPIRED at the deadline and leaves the link ACTIVE', async () => {
    const linkId = await activeLink('decommission-expires');
    await call(ARN.alice, 'POST /links/{id}/decommission', { id: linkId, body: {} });
    await eventually(async () => entered(await decommissionHistory(linkId), 'AwaitApproval').length > 0);
    const asked = cloud.clock.now();
    await advanceUntil(async () => (await decommissionStatus(linkId)) === 'SUCCEEDED', HOUR, 80 * HOUR);
    const h = await decommissionHistory(linkId);
    expect(entered(h, 'NotApproved')).toHaveLength(1);
    // It expired at the 72 h deadline, not before.
    const expiredAt = Number(entered(h, 'NotApproved')[0]?.timestamp);
    expect(expiredAt - asked).toBeGreaterThanOrEqual(72 * HOUR);
    expect(entered(h, 'DeleteHalf')).toHaveLength(0);
    const link = (await half.deps.store.get(linkId))?.link;
    expect(link?.state).toBe('ACTIVE');
    expect(link?.decommission?.status).toBe('EXPIRED');
    // The wait published its age on every fallback poll and escalated once (the alarms' metrics).
    const published = half.metrics.filter((m) => m.stage === 'decommissioning');
    expect(published.filter((m) => m.name === 'escalated')).toHaveLength(1);
    expect(Math.max(...published.map((m) => m.ageMs ?? 0))).toBeGreaterThanOrEqual(71 * HOUR);
    expect(await connectionsOf(linkId)).toHaveLength(1);
    // A late approval is refused: the request is closed.
    const late = await call(ARN.bob, 'POST /links/{id}/approvals', {
      id: linkId,
      body: { decision: 'approve' },
    });
    expect(late.status).toBe(409);
  });

  it('stops without deleting when Google never reports drained, and a new request runs the next attempt', async () => {
    const linkId = await activeLink('drain-stalls');
    await call(ARN.alice, 'POST /links/{id}/decommission', { id: linkId, body: {} });
    const approved = await call(ARN.bob, 'POST /links/{id}/approvals', {
      id: linkId,
      body: { decision: 'approve' },
    });
    expect(approved.status).toBe(200);
    expect(approved.body.link.state).toBe('DECOMMISSIONING');
    const approvedAt = cloud.clock.now();
    await advanceUntil(async () => (await decommissionStatus(linkId)) === 'FAILED', 30 * MIN, 8 * HOUR);
    const stalled = await decommissionHistory(linkId);
    expect(entered(stalled, 'DeleteHalf')).toHaveLength(0);
    // The drain wait lasted its 6 h before the attempt stopped.
    const stoppedAt = Number(stalled.at(-1)?.timestamp);
    expect(stoppedAt - approvedAt).toBeGreaterThanOrEqual(6 * HOUR);
    expect(await connectionsOf(linkId)).toHaveLength(1);
    let link = (await half.deps.store.get(linkId))?.link;
    expect(link?.state).toBe('DECOMMISSIONING');
    expect(link?.decommission?.attempt).toBe(2);
    expect(link?.decommission?.stalled?.reason).toContain('did not report drained');

    // Asked again: attempt 2 skips the approval (still approved) and proceeds once Google drains.
    const again = await call(ARN.alice, 'POST /links/{id}/decommission', { id: linkId, body: {} });
    expect(again.body.execution).toBe(`${linkId}-decommissioning-2`);
    await gcpHalf(linkId, 2, 'drained');
    // The soak starts once DrainCheck has seen the drain: advancing before it would leave it parked.
    await eventually(async () => entered(await decommissionHistory(linkId, 2), 'Soak').length > 0);
    await advance(15 * MIN, MIN);
    await eventually(async () => (await connectionsOf(linkId)).length === 0);
    await gcpHalf(linkId, 3, 'gone');
    await advance(2 * HOUR, 10 * MIN);
    await eventually(async () => (await decommissionStatus(linkId, 2)) === 'SUCCEEDED');
    link = (await half.deps.store.get(linkId))?.link;
    expect(link?.state).toBe('DECOMMISSIONED');
  });

  it("starts on Google's request; the same person from AWS cannot approve it; bob can; a gone Google half counts as drained", async () => {
    const linkId = await activeLink('google-decommissions');
    await putPeer('LinkDecommissionRequested', {
      linkId,
      requestedBy: 'alice@example.com',
      requestedVia: 'gcp',
      requestedAt: now(),
    });
    await eventually(async () => entered(await decommissionHistory(linkId), 'AwaitApproval').length > 0);
    expect((await half.deps.store.get(linkId))?.link.decommission?.status).toBe('PENDING');
    // alice's IAM user is the same person (policy people) as alice@example.com.
    const same = await call(ARN.alice, 'POST /links/{id}/approvals', {
      id: linkId,
      body: { decision: 'approve' },
    });
    expect(same.status).toBe(403);
    expect(same.body.error.message).toContain('requested this decommission');
    const ok = await call(ARN.bob, 'POST /links/{id}/approvals', {
      id: linkId,
      body: { decision: 'approve' },
    });
    expect(ok.body.link.state).toBe('DECOMMISSIONING');
    await gcpHalf(linkId, 2, 'gone');
    await advance(2 * HOUR, 10 * MIN);
    await eventually(async () => (await decommissionStatus(linkId)) === 'SUCCEEDED');
    expect(await linkState(linkId)).toBe('DECOMMISSIONED');
    expect(await connectionsOf(linkId)).toEqual([]);
  });
});
