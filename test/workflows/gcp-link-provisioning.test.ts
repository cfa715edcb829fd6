/**
 * The Google half end to end in the local cloud: the root gcp.yml loaded as `npm start` loads it (the
 * functions of functions/gcp/handlers/index.ts in their own processes, Firestore and Pub/Sub emulators, the
 * workflows of workflows/gcp/ on the local Workflows engine, the scheduler, the log sink). The AWS
 * half is played by the test: admin calls on the AWS edge (accept the key, the AWS connection) and
 * peer events published to `crosslink-peer-events` as the crosslink identity. The test holds the
 * private half of the peer key the Google half seals to, so it opens LinkKeyIssued like AWS would.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CreateConnectionCommand } from '#aws/interconnect-client.ts';
import { sealKey } from '#core/crypto/seal.ts';
import { mintLinkId } from '#core/ids.ts';
import { jwtClient } from '#gcp/google-credentials.ts';
import { googleSealingKey } from '#local/aws-half.ts';
import {
  ACCOUNT,
  activeGoogleFirst,
  advance,
  approvedByBob,
  awsHalfReported,
  calledSteps,
  cloud,
  dumpOnFailure,
  emitted,
  eventually,
  executionsOf,
  GATEWAY,
  intake,
  intakeUrl,
  linkOf,
  MIN,
  now,
  openKey,
  provisioning,
  published,
  putPeer,
  request,
  requested,
  startGoogleHalf,
  stopGoogleHalf,
} from '../support/gcp-half.ts';
import { interconnectClient } from '../support/local-cloud.ts';

beforeAll(() => startGoogleHalf(), 120_000);
afterEach(dumpOnFailure);
afterAll(() => stopGoogleHalf(), 60_000);

describe('Google-first: alice asks Google, carol approves here, bob as a peer event', () => {
  it('issues the key to Secret Manager, seals it to the AWS key, and goes ACTIVE once both halves are up', async () => {
    keys.push((await activeGoogleFirst('g-first')).key);
  }, 120_000);
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
    expect(
      link.audit.some(
        (a: { actor: string; outcome: string }) => a.actor === 'alice@example.com' && a.outcome === 'refused',
      ),
    ).toBe(true);
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
  }, 120_000);

  it("a duplicate request (same Idempotency-Key) and the starter's LinkRequested start one execution", async () => {
    const body = request('g-dup');
    const headers = { 'idempotency-key': 'dup-1' };
    const token = await jwtClient(cloud.gcp.auth.keyFile('alice')).fetchIdToken(intakeUrl());
    const post = () =>
      fetch(`${intakeUrl()}/links`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { link: { id: string } } }));
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
  }, 120_000);
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
        (e) =>
          e.protoPayload.methodName.endsWith('TransportManager.CreateTransport') &&
          e.protoPayload.resourceName.endsWith(`/transports/${linkId}`),
      );
    expect(transports).toHaveLength(1);
    // The workflow retried the step (the 500 surfaced as Internal; the client retried the 503 itself).
    // The key is issued inside the retried call, before it answers: wait for its log line too.
    const steps = await eventually(() => {
      const called = calledSteps().filter((l) => l.linkId === linkId && l.step === 'activateInitiate');
      return called.length >= 2 ? called : undefined;
    });
    expect(steps.map((l) => l.status)).toEqual([500, 200]);
  }, 120_000);
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
    await awsHalfReported(linkId, 'UP');
    const parked = cloud.clock.now();
    await eventually(async () => {
      await advance(5 * MIN);
      return (await linkOf(linkId)).state === 'ACTIVE';
    }, 90_000);
    const name = executionsOf(linkId)[0]?.name as string;
    // The watcher that records the transport ACTIVE answers the `up` callback: the run ends without
    // the clock moving on, well before the wait's hourly fallback poll (pollHalf) would.
    await eventually(() => provisioning.get(name).state !== 'ACTIVE', 30_000);
    expect(cloud.clock.now() - parked).toBeLessThan(60 * MIN);
    expect(calledSteps().filter((l) => l.linkId === linkId && l.step === 'pollHalf')).toEqual([]);
    const out = await provisioning.wait(name);
    expect(out.state).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ linkId, state: 'ACTIVE' });
    const link = await linkOf(linkId);
    expect(link.halves.gcp.transportName).toBe(
      `projects/${cloud.gcp.project}/locations/us-east4/transports/${linkId}`,
    );
  }, 120_000);
});

describe("the peer's verify failed a live link", () => {
  it("the peer's LinkFailed starts Google's compensation run, which deletes the transport of the ACTIVE link", async () => {
    const { linkId, key } = await activeGoogleFirst('peer-verify-fails');
    keys.push(key);
    await putPeer('LinkFailed', {
      linkId,
      side: 'aws',
      stage: 'verify',
      error: { name: 'PrefixesNotCoveredError', message: 'routes not covered after 30 min' },
      compensation: { deleted: [], remaining: [] },
      failedAt: now(),
    });
    const compensation = () =>
      executionsOf(linkId).find((e) => e.labels?.['crosslink-key'] === `${linkId}-provisioning-2`);
    // The transport's deletion is an operation that finishes on the virtual clock.
    await eventually(async () => {
      await advance(MIN);
      const run = compensation();
      return run !== undefined && run.state !== 'ACTIVE';
    }, 90_000);
    const first = executionsOf(linkId).find(
      (e) => e.labels?.['crosslink-key'] === `${linkId}-provisioning-1`,
    );
    expect(first?.state).toBe('SUCCEEDED');
    expect((await provisioning.wait(compensation()?.name as string)).state).toBe('FAILED');
    expect((await linkOf(linkId)).state).toBe('FAILED');
    const deletes = cloud.gcp.auditLog
      .entries()
      .filter(
        (e) =>
          e.protoPayload.methodName.endsWith('TransportManager.DeleteTransport') &&
          e.protoPayload.resourceName.endsWith(`/transports/${linkId}`),
      );
    expect(deletes).toHaveLength(1);
    const steps = calledSteps()
      .filter((l) => l.linkId === linkId && ['request', 'compensate'].includes(l.step))
      .map((l) => `${l.step} ${l.status}`);
    expect(steps).toContain('request 409');
    expect(steps.at(-1)).toBe('compensate 200');
  }, 120_000);
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
