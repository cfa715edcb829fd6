/**
 * The Google half end to end in the local cloud: the root gcp.yml loaded as `npm start` loads it (the
 * functions of functions/gcp/index.ts in their own processes, Firestore and Pub/Sub emulators, the
 * workflows of workflows/gcp/ on the local Workflows engine, the scheduler, the log sink). The AWS
 * half is played by the test: admin calls on the AWS edge (accept the key, the AWS connection) and
 * peer events published to `crosslink-peer-events` as the crosslink identity. The test holds the
 * private half of the peer key the Google half seals to, so it opens LinkKeyIssued like AWS would.
 */
import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { PubSub, type Subscription } from '@google-cloud/pubsub';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AcceptConnectionProposalCommand, CreateConnectionCommand } from '#aws/interconnect-client.ts';
import { openSealedKey, sealKey } from '#core/crypto/seal.ts';
import { buildEvent, type CloudEvent, toPubSubMessage } from '#core/envelope.ts';
import type { EventDataByName, EventName } from '#core/events/catalog.ts';
import { mintLinkId } from '#core/ids.ts';
import { jwtClient } from '#gcp/google-credentials.ts';
import { googleSealingKey } from '#local/aws-half.ts';
import type { WorkflowsService } from '#local/gcp/workflows-api.ts';
import type { LocalCloud } from '#local/index.ts';
import { admin, interconnectClient, startTestCloud } from '../support/local-cloud.ts';

const MIN = 60_000;
const ACCOUNT = '000000000000';
const AWS = { cloud: 'aws' as const, accountId: ACCOUNT, region: 'us-east-1' };

let cloud: LocalCloud;
let pubsub: PubSub;
let outbound: Subscription;
let provisioning: WorkflowsService;
const published: CloudEvent[] = [];
const peer = generateKeyPairSync('rsa', { modulusLength: 2048 });
const GATEWAY = '90392BE3-219C-47FD-BBA5-03DF76D2542A';
const PEER_KEY_ID = `arn:aws:kms:us-east-1:${ACCOUNT}:key/test-peer`;

beforeAll(async () => {
  cloud = await startTestCloud({
    // The functions read the wall clock: the virtual clock starts at wall time, so both agree.
    clock: { mode: 'manual', start: new Date().toISOString() },
    emulators: true,
    gcpConfig: 'gcp.yml',
    gcpEnvironment: {
      CROSSLINK_PEER_PUBLIC_KEY_PEM: peer.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      CROSSLINK_PEER_KEY_ID: PEER_KEY_ID,
    },
  });
  pubsub = new PubSub({
    projectId: cloud.gcp.project,
    apiEndpoint: cloud.emulators?.pubsubHost as string,
    emulatorMode: true,
  });
  // What the Google half emits (the relay's subscription: the test reads what AWS would get).
  outbound = pubsub.subscription('crosslink-events-relay');
  outbound.on('message', (m) => {
    published.push(JSON.parse(m.data.toString('utf8')) as CloudEvent);
    m.ack();
  });
  provisioning = cloud.plumbing?.workflow('link-provisioning') as WorkflowsService;
  // The AWS side's Direct Connect gateway the test attaches its connections to.
  await admin(cloud, 'POST', '/aws/interconnect/add-gateway', {
    accountId: ACCOUNT,
    id: GATEWAY,
    name: 'payments',
  });
}, 120_000);

afterEach((ctx) => {
  if (ctx.task.result?.state !== 'fail') return;
  // What the functions and executions did, to read a failure.
  for (const f of cloud.plumbing?.functions.list() ?? [])
    process.stderr.write(`--- ${f.spec.name}\n${f.output.slice(-15).join('\n')}\n`);
  for (const e of provisioning.list(
    `projects/${cloud.gcp.project}/locations/${cloud.gcp.region}/workflows/link-provisioning`,
  ))
    process.stderr.write(`--- ${e.name} ${e.state} ${JSON.stringify(e.status)} ${e.error?.payload ?? ''}\n`);
});

afterAll(async () => {
  await outbound?.close();
  await pubsub?.close();
  await cloud?.stop();
}, 60_000);

const intakeUrl = () => cloud.plumbing?.functions.url('intake') as string;

async function intake(who: string, method: string, path: string, body?: unknown) {
  const token = await jwtClient(cloud.gcp.auth.keyFile(who)).fetchIdToken(intakeUrl());
  const res = await fetch(`${intakeUrl()}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json };
}

const request = (name: string, initiator: 'aws' | 'gcp' = 'gcp') => ({
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
  gcp: { project: 'crosslink-local', region: 'us-east4', network: 'core', routes: ['10.20.0.0/16'] },
});

async function eventually<T>(
  f: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 20_000,
): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`condition stayed false${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function putPeer<N extends EventName>(name: N, data: Omit<EventDataByName[N], 'policyHash'>) {
  const policyHash = (await import('#core/policy/policy.ts')).loadPolicy(
    (await import('yaml')).parse((await import('node:fs')).readFileSync('config/policy.yaml', 'utf8')),
  ).hash;
  const event = buildEvent({
    name,
    origin: AWS,
    subject: data.linkId,
    clock: cloud.clock,
    data: { policyHash, ...data },
  } as never) as CloudEvent;
  const m = toPubSubMessage(event);
  await pubsub
    .topic('crosslink-peer-events')
    .publishMessage({ data: m.data, attributes: { ...m.attributes } });
  return event;
}

const executionsOf = (linkId: string) =>
  provisioning.list(
    `projects/${cloud.gcp.project}/locations/${cloud.gcp.region}/workflows/link-provisioning`,
    `labels.crosslink-link-id="${linkId}"`,
  );

/** The steps function's log lines (one JSON line per step: step, linkId, status). */
function calledSteps(): { step: string; linkId?: string; status: number }[] {
  return (cloud.plumbing?.functions.get('steps')?.output ?? []).flatMap((l) => {
    try {
      const j = JSON.parse(l) as { step?: string; linkId?: string; status?: number };
      return j.step ? [j as { step: string; linkId?: string; status: number }] : [];
    } catch {
      return [];
    }
  });
}

async function linkOf(linkId: string) {
  const r = await intake('alice', 'GET', `/links/${linkId}`);
  return r.body;
}

const BOB = `arn:aws:iam::${ACCOUNT}:user/bob`;
const now = () => new Date(cloud.clock.now()).toISOString();

/** Moves the virtual clock in steps, giving the functions (wall time) a moment between them. */
async function advance(ms: number, step = MIN) {
  for (let t = 0; t < ms; t += step) {
    await cloud.clock.advance(Math.min(step, ms - t));
    await new Promise((r) => setTimeout(r, 50));
  }
}

const emitted = (linkId: string, type: string) =>
  published.filter((e) => e.subject === linkId && e.type === `crosslink.${type}.v1`);

/** The AWS side opens the sealed key with its private key, as its KMS Decrypt would. */
async function openKey(linkId: string): Promise<string> {
  // CreateTransport's operation finishes after the provider's `creating` delay (virtual time).
  const issued = (
    await eventually(async () => {
      await advance(15_000, 15_000);
      return emitted(linkId, 'LinkKeyIssued')[0];
    }, 60_000)
  ).data as EventDataByName['LinkKeyIssued'];
  return openSealedKey(issued.sealedKey, linkId, {
    keyId: PEER_KEY_ID,
    unwrap: async (wrapped) =>
      privateDecrypt(
        { key: peer.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        wrapped,
      ),
  });
}

async function requested(name: string) {
  const created = await intake('alice', 'POST', '/links', request(name));
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const linkId = created.body.link.id as string;
  await eventually(async () => (await linkOf(linkId)).state === 'AWAITING_APPROVAL');
  await eventually(() => provisioning.callbacks.waiting(executionsOf(linkId)[0]?.name ?? '') === 1);
  return linkId;
}

const approvedByBob = (linkId: string) =>
  putPeer('LinkApproved', { linkId, side: 'aws', approver: BOB, approvedAt: now(), auto: false });

describe('Google-first: alice asks Google, carol approves here, bob as a peer event', () => {
  it('issues the key to Secret Manager, seals it to the AWS key, and goes ACTIVE once both halves are up', async () => {
    const linkId = await requested('g-first');
    expect(executionsOf(linkId)).toHaveLength(1);
    const carol = await intake('carol', 'POST', `/links/${linkId}/approvals`, { decision: 'approve' });
    expect(carol.status, JSON.stringify(carol.body)).toBe(200);
    await approvedByBob(linkId);
    // Both approved: CreateTransport issues the key; AWS opens the sealed copy and accepts it.
    const key = await openKey(linkId);
    keys.push(key);
    const aws = await interconnectClient(cloud).send(
      new AcceptConnectionProposalCommand({
        attachPoint: { directConnectGateway: GATEWAY } as never,
        activationKey: key,
        clientToken: `${linkId}-accept`,
      }),
    );
    expect(aws.connection).toBeTruthy();
    await putPeer('LinkSideStateChanged', {
      linkId,
      side: 'aws',
      sequence: 1,
      nativeState: 'available',
      previousNativeState: null,
      condition: 'UP',
      observedAt: now(),
    });
    // The provider's delays, then the watcher's scheduled poll sees the transport ACTIVE.
    await eventually(async () => {
      await advance(5 * MIN);
      return (await linkOf(linkId)).state === 'ACTIVE';
    }, 60_000);
    const name = executionsOf(linkId)[0]?.name as string;
    const out = await provisioning.wait(name);
    expect(out.state).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ linkId, state: 'ACTIVE' });
  }, 240_000);
});

/** Every activation key a test saw: none may appear in an execution, a log line or an event. */
const keys: string[] = [];

describe('approvals', () => {
  it('refuses alice approving her own request (audited, still waiting), then ends REJECTED when carol rejects', async () => {
    const linkId = await requested('g-self');
    const self = await intake('alice', 'POST', `/links/${linkId}/approvals`, { decision: 'approve' });
    expect(self.status).toBe(403);
    expect(self.body.error.code).toBe('PermissionDeniedError');
    const link = await linkOf(linkId);
    expect(link.state).toBe('AWAITING_APPROVAL');
    expect(link.audit.some((a: any) => a.actor === 'alice@example.com' && a.outcome === 'refused')).toBe(
      true,
    );
    expect(executionsOf(linkId)[0]?.state).toBe('ACTIVE');

    const rejected = await intake('carol', 'POST', `/links/${linkId}/approvals`, {
      decision: 'reject',
      reason: 'not this quarter',
    });
    expect(rejected.status).toBe(200);
    const out = await provisioning.wait(executionsOf(linkId)[0]?.name as string);
    expect(out.state).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ linkId, outcome: 'REJECTED', compensation: { deleted: [] } });
    expect((await linkOf(linkId)).state).toBe('REJECTED');
  }, 240_000);

  it("a duplicate request (same Idempotency-Key) and the starter's LinkRequested start one execution", async () => {
    const body = request('g-dup');
    const headers = { 'idempotency-key': 'dup-1' };
    const token = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken(intakeUrl());
    const post = () =>
      fetch(`${intakeUrl()}/links`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const first = await post();
    const second = await post();
    expect([first.status, second.status]).toEqual([201, 200]);
    expect(second.body.link.id).toBe(first.body.link.id);
    const linkId = first.body.link.id as string;
    // The starter got this side's LinkRequested from crosslink-events too: it finds the start record.
    await eventually(() => emitted(linkId, 'LinkRequested').length > 0);
    await eventually(() =>
      (cloud.plumbing?.functions.get('starter')?.output ?? []).some((l) => l.includes(linkId)),
    );
    expect(executionsOf(linkId)).toHaveLength(1);
  }, 240_000);
});

describe('CreateTransport answers 500, then 503', () => {
  it('retries the step with the same requestId: one transport, the link goes on', async () => {
    const linkId = await requested('g-storm');
    const internal = cloud.faults.add({
      edge: 'gcp',
      service: 'networkconnectivity',
      operation: 'CreateTransport',
      kind: 'error',
      status: 500,
      count: 1,
    });
    const unavailable = cloud.faults.add({
      edge: 'gcp',
      service: 'networkconnectivity',
      operation: 'CreateTransport',
      kind: 'error',
      status: 503,
      count: 1,
    });
    await intake('carol', 'POST', `/links/${linkId}/approvals`, { decision: 'approve' });
    await approvedByBob(linkId);
    keys.push(await openKey(linkId));
    expect(internal.fired).toBe(1);
    expect(unavailable.fired).toBe(1);
    const transports = cloud.gcp.auditLog
      .entries()
      .filter(
        (e: any) =>
          e.protoPayload.methodName.endsWith('TransportManager.CreateTransport') &&
          e.protoPayload.resourceName.endsWith(`/transports/${linkId}`),
      );
    expect(transports).toHaveLength(1);
    // The workflow retried the step (the 500 surfaced as Internal; the client retried the 503 itself).
    const steps = await eventually(() =>
      calledSteps().filter((l) => l.linkId === linkId && l.step === 'activateInitiate'),
    );
    expect(steps.map((l) => l.status)).toEqual([500, 200]);
  }, 240_000);
});

describe('AWS-first: the request comes as a peer event, Google accepts', () => {
  it('carol approves here, bob as a peer event; the sealed key from LinkKeyIssued is opened with Cloud KMS and redeemed; ACTIVE', async () => {
    const linkId = mintLinkId(cloud.clock);
    const body = request('a-first', 'aws');
    await putPeer('LinkRequested', {
      linkId,
      request: body as never,
      requester: `arn:aws:iam::${ACCOUNT}:user/alice`,
      requestedVia: 'aws',
      requestedAt: now(),
    });
    await eventually(
      async () => (await intake('carol', 'GET', `/links/${linkId}`)).body.state === 'AWAITING_APPROVAL',
    );
    await eventually(() => provisioning.callbacks.waiting(executionsOf(linkId)[0]?.name ?? '') === 1);
    expect(JSON.parse(executionsOf(linkId)[0]?.argument ?? '{}')).toMatchObject({ linkId, mode: 'accept' });
    expect(
      (await intake('carol', 'POST', `/links/${linkId}/approvals`, { decision: 'approve' })).status,
    ).toBe(200);
    await approvedByBob(linkId);
    await eventually(async () => (await linkOf(linkId)).state === 'APPROVED');

    // AWS issues the key (CreateConnection for the Google project) and seals it to Google's Cloud KMS key.
    const created = await interconnectClient(cloud).send(
      new CreateConnectionCommand({
        bandwidth: '1Gbps',
        attachPoint: { directConnectGateway: GATEWAY } as never,
        environmentId: 'mce-aws-gcp-iad',
        remoteAccount: { identifier: cloud.gcp.project },
        clientToken: `${linkId}-create`,
      }),
    );
    const key = created.connection?.activationKey as string;
    keys.push(key);
    const google = await googleSealingKey(cloud.gcp);
    await putPeer('LinkKeyIssued', {
      linkId,
      issuer: 'aws',
      sealedKey: sealKey(key, google, linkId),
      bandwidth: '1Gbps',
      issuerResource: created.connection?.id as string,
      issuedAt: now(),
    });
    await putPeer('LinkSideStateChanged', {
      linkId,
      side: 'aws',
      sequence: 1,
      nativeState: 'available',
      previousNativeState: null,
      condition: 'UP',
      observedAt: now(),
    });
    await eventually(async () => {
      await advance(5 * MIN);
      return (await linkOf(linkId)).state === 'ACTIVE';
    }, 90_000);
    const name = executionsOf(linkId)[0]?.name as string;
    // Known gap (see docs/gcp-half.md): in accept mode the `up` callback is not always answered when
    // the link turns ACTIVE; the hourly fallback poll (pollHalf) ends the wait, so the clock moves on.
    await eventually(async () => {
      if (provisioning.get(name).state !== 'ACTIVE') return true;
      await advance(5 * MIN);
      return false;
    }, 90_000);
    const out = await provisioning.wait(name);
    expect(out.state).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ linkId, state: 'ACTIVE' });
    const link = await linkOf(linkId);
    expect(link.halves.gcp.transportName).toBe(
      `projects/${cloud.gcp.project}/locations/us-east4/transports/${linkId}`,
    );
  }, 240_000);
});

describe('activation keys', () => {
  it('appear in no execution argument, result, error or log, no function log line and no event', () => {
    expect(keys.length).toBeGreaterThanOrEqual(2);
    const workflow = `projects/${cloud.gcp.project}/locations/${cloud.gcp.region}/workflows/link-provisioning`;
    const executions = provisioning.list(workflow);
    expect(executions.length).toBeGreaterThanOrEqual(4);
    const texts = [
      ...executions.map((e) => JSON.stringify(provisioning.get(e.name))),
      ...executions.map((e) => JSON.stringify(provisioning.logs(e.name))),
      ...(cloud.plumbing?.functions.list() ?? []).flatMap((f) => f.output),
      ...published.map((e) => JSON.stringify(e)),
      ...cloud.gcp.auditLog.entries().map((e) => JSON.stringify(e)),
    ];
    for (const key of keys) expect(texts.filter((t) => t.includes(key))).toEqual([]);
  });
});
