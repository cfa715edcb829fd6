/**
 * The Google half in the local cloud for workflow tests: the root gcp.yml loaded as `npm start` loads
 * it (functions of functions/gcp/handlers/index.ts in their own processes, the emulators, the workflows of
 * workflows/gcp/, the scheduler, the log sink), the test playing the AWS half: admin calls on the AWS
 * edge and peer events published to `crosslink-peer-events`. The test holds the private half of the
 * peer key the Google half seals to, so it opens LinkKeyIssued like AWS would. The bindings below
 * are live: they are set by `startGoogleHalf()`.
 */
import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PubSub, type Subscription } from '@google-cloud/pubsub';
import { expect } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { AcceptConnectionProposalCommand } from '#aws/interconnect-client.ts';
import { openSealedKey } from '#core/crypto/seal.ts';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import type { EventDataByName, LinkEventName } from '#core/events/catalog.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { toPubSubMessage } from '#gcp/envelope.ts';
import { jwtClient } from '#gcp/google-credentials.ts';
import type { WorkflowsService } from '#local/gcp/workflows-api.ts';
import type { LocalCloud } from '#local/index.ts';
import { admin, interconnectClient, startTestCloud } from './local-cloud.ts';

export const MIN = 60_000;
export const ACCOUNT = '000000000000';
export const AWS = { cloud: 'aws' as const, accountId: ACCOUNT, region: 'us-east-1' };

export let cloud: LocalCloud;
export let pubsub: PubSub;
export let outbound: Subscription;
export let provisioning: WorkflowsService;
export const published: CloudEvent[] = [];
export const peer = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const GATEWAY = '90392BE3-219C-47FD-BBA5-03DF76D2542A';
export const PEER_KEY_ID = `arn:aws:kms:us-east-1:${ACCOUNT}:key/test-peer`;

/**
 * Starts the local cloud with the root gcp.yml (call in `beforeAll`); `environment` adds to the
 * functions' environment (e.g. short approval deadlines).
 */
export async function startGoogleHalf(environment: Record<string, string> = {}): Promise<void> {
  cloud = await startTestCloud({
    // Virtual time starts at the wall time; the functions' Date follows it (local/virtual-date.ts).
    clock: { mode: 'manual', start: new Date().toISOString() },
    emulators: true,
    gcpConfig: 'gcp.yml',
    // The deploy-time values of gcp.yml: the test plays the AWS half whose key Google seals to.
    gcpVariables: {
      CROSSLINK_PEER_PUBLIC_KEY_PEM: peer.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      CROSSLINK_PEER_KEY_ID: PEER_KEY_ID,
    },
    gcpEnvironment: environment,
  });
  pubsub = new PubSub({
    projectId: cloud.gcp.project,
    apiEndpoint: cloud.emulators?.pubsubHost as string,
    emulatorMode: true,
  });
  // What the Google half emits (what the relay would carry to AWS; there is no AWS half here, so
  // the relay's push subscription is not created: the test reads its own pull subscription).
  [outbound] = await pubsub
    .topic('crosslink-events')
    .createSubscription('test-outbound', { ackDeadlineSeconds: 60 });
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
}

/** After a failed test: what the functions and executions did. */
export function dumpOnFailure(ctx: { task: { result?: { state?: string } } }): void {
  if (ctx.task.result?.state !== 'fail') return;
  // What the functions and executions did, to read a failure.
  for (const f of cloud.plumbing?.functions.list() ?? [])
    process.stderr.write(`--- ${f.spec.name}\n${f.output.slice(-30).join('\n')}\n`);
  for (const w of ['link-provisioning', 'link-decommissioning'])
    for (const e of cloud.plumbing
      ?.workflow(w)
      ?.list(`projects/${cloud.gcp.project}/locations/${cloud.gcp.region}/workflows/${w}`) ?? [])
      process.stderr.write(
        `--- ${e.name} ${e.labels?.['crosslink-key'] ?? ''} ${e.state} ${JSON.stringify(e.status)} ${e.error?.payload ?? ''}\n`,
      );
}

export async function stopGoogleHalf(): Promise<void> {
  await outbound?.close();
  await pubsub?.close();
  await cloud?.stop();
}

export const intakeUrl = () => cloud.plumbing?.functions.url('intake') as string;

export async function intake(who: string, method: string, path: string, body?: unknown) {
  const token = await jwtClient(cloud.gcp.auth.keyFile(who)).fetchIdToken(intakeUrl());
  const res = await fetch(`${intakeUrl()}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: intake answers are read ad hoc in tests.
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json };
}

export const request = (name: string, initiator: 'aws' | 'gcp' = 'gcp') => ({
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
  gcp: { project: cloud.gcp.project, region: 'us-east4', network: 'core', routes: ['10.20.0.0/16'] },
});

export async function eventually<T>(
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

export async function putPeer<N extends LinkEventName>(
  name: N,
  data: Omit<EventDataByName[N], 'policyHash'>,
) {
  const policyHash = loadPolicy(parseYaml(readFileSync('config/policy.yaml', 'utf8'))).hash;
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

export const executionsOf = (linkId: string) =>
  provisioning.list(
    `projects/${cloud.gcp.project}/locations/${cloud.gcp.region}/workflows/link-provisioning`,
    `labels.crosslink-link-id="${linkId}"`,
  );

/** The steps function's log lines (one JSON line per step: step, linkId, status). */
export function calledSteps(): { step: string; linkId?: string; status: number }[] {
  return (cloud.plumbing?.functions.get('steps')?.output ?? []).flatMap((l) => {
    try {
      const j = JSON.parse(l) as { step?: string; linkId?: string; status?: number };
      return j.step ? [j as { step: string; linkId?: string; status: number }] : [];
    } catch {
      return [];
    }
  });
}

export async function linkOf(linkId: string) {
  const r = await intake('alice', 'GET', `/links/${linkId}`);
  return r.body;
}

export const BOB = `arn:aws:iam::${ACCOUNT}:user/bob`;
export const now = () => new Date(cloud.clock.now()).toISOString();

/** Moves the virtual clock in steps, giving the functions (wall time) a moment between them. */
export async function advance(ms: number, step = MIN) {
  for (let t = 0; t < ms; t += step) {
    await cloud.clock.advance(Math.min(step, ms - t));
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const emitted = (linkId: string, type: string) =>
  published.filter((e) => e.subject === linkId && e.type === `crosslink.${type}.v1`);

/** The AWS side opens the sealed key with its private key, as its KMS Decrypt would. */
export async function openKey(linkId: string): Promise<string> {
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

export async function requested(name: string) {
  const created = await intake('alice', 'POST', '/links', request(name));
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const linkId = created.body.link.id as string;
  await eventually(async () => (await linkOf(linkId)).state === 'AWAITING_APPROVAL');
  await eventually(() => provisioning.callbacks.waiting(executionsOf(linkId)[0]?.name ?? '') === 1);
  return linkId;
}

export const approvedByBob = (linkId: string) =>
  putPeer('LinkApproved', { linkId, side: 'aws', approver: BOB, approvedAt: now(), auto: false });

/**
 * Google-first to ACTIVE: alice asks Google, carol approves here, bob as a peer event; the test opens
 * LinkKeyIssued with the peer key and accepts it on AWS, reports the AWS half up, and the watcher sees
 * the transport ACTIVE; the provisioning run ends SUCCEEDED. Returns the link and its key (which no
 * log or event may carry).
 */
export async function activeGoogleFirst(name: string): Promise<{ linkId: string; key: string }> {
  const linkId = await requested(name);
  expect(executionsOf(linkId)).toHaveLength(1);
  const carol = await intake('carol', 'POST', `/links/${linkId}/approvals`, { decision: 'approve' });
  expect(carol.status, JSON.stringify(carol.body)).toBe(200);
  await approvedByBob(linkId);
  // Both approvals recorded before virtual time moves: the functions judge the approval deadline
  // (seconds, in some files) on it, and bob's arrives through Pub/Sub in wall time.
  await eventually(async () => (await linkOf(linkId)).state !== 'AWAITING_APPROVAL');
  // Both approved: CreateTransport issues the key; AWS opens the sealed copy and accepts it.
  const key = await openKey(linkId);
  const aws = await interconnectClient(cloud).send(
    new AcceptConnectionProposalCommand({
      attachPoint: { directConnectGateway: GATEWAY } as never,
      activationKey: key,
      clientToken: `${linkId}-accept`,
    }),
  );
  expect(aws.connection).toBeTruthy();
  await awsHalfReported(linkId, 'UP');
  // The provider's delays, then the watcher's scheduled poll sees the transport ACTIVE.
  await eventually(async () => {
    await advance(5 * MIN);
    return (await linkOf(linkId)).state === 'ACTIVE';
  }, 60_000);
  const out = await provisioning.wait(executionsOf(linkId)[0]?.name as string);
  expect(out.state).toBe('SUCCEEDED');
  expect(out.result).toMatchObject({ linkId, state: 'ACTIVE' });
  return { linkId, key };
}

/** The AWS half's watcher reports its connection up (available) or gone (deleted), as a peer event. */
export const awsHalfReported = (linkId: string, condition: 'UP' | 'GONE') =>
  putPeer(
    'LinkSideStateChanged',
    condition === 'UP'
      ? {
          linkId,
          side: 'aws',
          sequence: 1,
          nativeState: 'available',
          previousNativeState: null,
          condition,
          observedAt: now(),
        }
      : {
          linkId,
          side: 'aws',
          sequence: 2,
          nativeState: 'deleted',
          previousNativeState: 'available',
          condition,
          observedAt: now(),
        },
  );

/**
 * Moves the clock 5 s at a time (half a wall second between, for the functions) until the execution
 * ends: waits with deadlines of seconds time out, their fallback polls escalate, then expire.
 */
export const ranOutOfTime = (service: WorkflowsService, name: string) =>
  eventually(async () => {
    if (service.get(name).state !== 'ACTIVE') return true;
    await advance(5_000, 5_000);
    await new Promise((r) => setTimeout(r, 500));
    return false;
  }, 100_000);
