/**
 * Google-side decommissioning end to end in the local cloud (setup of test/support/gcp-half.ts: the
 * root gcp.yml, the functions in their own processes, the AWS half played by the test). An ACTIVE
 * link goes through link-decommissioning.workflows.yaml: request -> approval by another person (the
 * peer's approval arrives too, as a peer event) -> drain (UpdateTransport adminEnabled false) ->
 * soak -> DeleteTransport -> confirmed gone (Get 404) -> report; and a request nobody approves
 * EXPIRES, leaving the link as it was. The runs take hours of virtual time, far past the lifetime of
 * the access tokens the functions cached at their start. Approval deadlines are of seconds (15 s
 * escalation, 30 s expiry), compared on the virtual clock the functions' Date follows.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jwtClient } from '#gcp/google-credentials.ts';
import type { WorkflowsService } from '#local/gcp/workflows-api.ts';
import {
  ACCOUNT,
  activeGoogleFirst,
  advance,
  awsHalfReported,
  cloud,
  dumpOnFailure,
  emitted,
  eventually,
  intake,
  linkOf,
  MIN,
  now,
  putPeer,
  ranOutOfTime,
  startGoogleHalf,
  stopGoogleHalf,
} from '../support/gcp-half.ts';
import { admin } from '../support/local-cloud.ts';

let decommissioning: WorkflowsService;

beforeAll(async () => {
  await startGoogleHalf({ CROSSLINK_APPROVAL_ESCALATE_AFTER: '15s', CROSSLINK_APPROVAL_EXPIRE_AFTER: '30s' });
  decommissioning = cloud.plumbing?.workflow('link-decommissioning') as WorkflowsService;
}, 120_000);
afterEach(dumpOnFailure);
afterAll(() => stopGoogleHalf(), 60_000);

const runsOf = (linkId: string) =>
  decommissioning.list(
    `projects/${cloud.gcp.project}/locations/${cloud.gcp.region}/workflows/link-decommissioning`,
    `labels.crosslink-link-id="${linkId}"`,
  );

/** The Admin Activity entries of the link's transport: what Google was asked to do, in order. */
const transportCalls = (linkId: string) =>
  cloud.gcp.auditLog
    .entries()
    .filter((e) => e.protoPayload.resourceName.endsWith(`/transports/${linkId}`))
    .map((e) => ({
      method: e.protoPayload.methodName.replace(/^.*\./, ''),
      at: Date.parse(e.timestamp),
      request: e.protoPayload.request as Record<string, unknown> | undefined,
    }));

/** alice asks for the decommission; the run starts and parks its approval wait. */
async function decommissionRequested(linkId: string): Promise<string> {
  const asked = await intake('alice', 'POST', `/links/${linkId}/decommission`, {
    reason: 'moved to the new region',
  });
  expect(asked.status, JSON.stringify(asked.body)).toBe(202);
  const name = await eventually(() => runsOf(linkId)[0]?.name);
  await eventually(() => decommissioning.callbacks.waiting(name) === 1);
  expect((await linkOf(linkId)).decommission).toMatchObject({ status: 'PENDING' });
  return name;
}

describe('an ACTIVE link decommissioned from Google', () => {
  it('carol approves (alice may not), drains, soaks, deletes the transport, confirms it gone and reports', async () => {
    const { linkId, key } = await activeGoogleFirst('g-decom');
    const transport = `projects/${cloud.gcp.project}/locations/us-east4/transports/${linkId}`;
    // The link carries traffic for a while: hours of virtual time past the access tokens the
    // functions got (and cached) while provisioning.
    await advance(3 * 60 * MIN, 15 * MIN);
    const name = await decommissionRequested(linkId);
    expect((await linkOf(linkId)).state).toBe('ACTIVE');

    const self = await intake('alice', 'POST', `/links/${linkId}/approvals`, { decision: 'approve' });
    expect(self.status).toBe(403);
    const carol = await intake('carol', 'POST', `/links/${linkId}/approvals`, { decision: 'approve' });
    expect(carol.status, JSON.stringify(carol.body)).toBe(200);
    expect(carol.body.link.state).toBe('DECOMMISSIONING');
    // bob's approval from the AWS side arrives too: the request is already approved, nothing changes.
    await putPeer('LinkApproved', {
      linkId,
      side: 'aws',
      approver: `arn:aws:iam::${ACCOUNT}:user/bob`,
      approvedAt: now(),
      auto: false,
      stage: 'decommissioning',
    });

    // Drain: Google's own half is disabled (adminEnabled false; the update operation takes the
    // provider's time), recorded and told to the peer.
    const drained = await eventually(async () => {
      await advance(15_000, 15_000);
      return emitted(linkId, 'LinkSideStateChanged').find((e) => {
        const d = e.data as { side: string; adminEnabled?: boolean };
        return d.side === 'gcp' && d.adminEnabled === false;
      });
    }, 60_000);
    expect(drained).toBeTruthy();
    const update = transportCalls(linkId).find((c) => c.method === 'UpdateTransport');
    expect(update?.request).toMatchObject({ adminEnabled: false, updateMask: 'admin_enabled' });
    expect(transportCalls(linkId).some((c) => c.method === 'DeleteTransport')).toBe(false);

    // The soak (10 min), then the delete; the watcher confirms the transport gone (Get 404).
    await eventually(async () => {
      await advance(5 * MIN);
      return decommissioning.get(name).state !== 'ACTIVE';
    }, 90_000);
    const out = await decommissioning.wait(name);
    expect(out.state, JSON.stringify(out.error ?? out.result)).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ linkId, connectionId: transport });
    const calls = transportCalls(linkId);
    const disabled = calls.find((c) => c.method === 'UpdateTransport')?.at as number;
    const deleted = calls.find((c) => c.method === 'DeleteTransport')?.at as number;
    expect(deleted - disabled).toBeGreaterThanOrEqual(10 * MIN);
    expect(calls.filter((c) => c.method === 'DeleteTransport')).toHaveLength(1);
    const token = (await jwtClient(cloud.gcp.auth.keyFile('crosslink')).getAccessToken()).token;
    const get = await fetch(`${cloud.gcp.endpoint}/v1beta/${transport}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(get.status).toBe(404);
    const link = await linkOf(linkId);
    expect(link.halves.gcp).toMatchObject({ state: 'GONE', nativeState: null });

    // AWS deletes its half and says so: the link is DECOMMISSIONED.
    await awsHalfReported(linkId, 'GONE');
    await eventually(async () => (await linkOf(linkId)).state === 'DECOMMISSIONED');
    const texts = [JSON.stringify(decommissioning.get(name)), JSON.stringify(decommissioning.logs(name))];
    expect(texts.filter((t) => t.includes(key))).toEqual([]);
  }, 120_000);
});

describe('a decommission while another Google region is unreachable', () => {
  it("deletes the link's transport all the same: only its own location is read for the link's halves", async () => {
    const { linkId } = await activeGoogleFirst('g-decom-outage');
    const name = await decommissionRequested(linkId);
    const carol = await intake('carol', 'POST', `/links/${linkId}/approvals`, { decision: 'approve' });
    expect(carol.status, JSON.stringify(carol.body)).toBe(200);
    await eventually(async () => {
      await advance(15_000, 15_000);
      return transportCalls(linkId).some((c) => c.method === 'UpdateTransport');
    }, 60_000);
    // us-west1 goes dark during the soak and stays dark past the delete: lists across every
    // location say it is unreachable, calls there answer 503; the link's transport is in us-east4.
    await admin(cloud, 'POST', '/gcp/networkconnectivity/region-outage', { location: 'us-west1', on: true });
    try {
      await eventually(async () => {
        await advance(5 * MIN);
        return decommissioning.get(name).state !== 'ACTIVE';
      }, 90_000);
      const out = await decommissioning.wait(name);
      expect(out.state, JSON.stringify(out.error ?? out.result)).toBe('SUCCEEDED');
      expect(transportCalls(linkId).filter((c) => c.method === 'DeleteTransport')).toHaveLength(1);
      expect((await linkOf(linkId)).halves.gcp).toMatchObject({ state: 'GONE' });
    } finally {
      await admin(cloud, 'POST', '/gcp/networkconnectivity/region-outage', {
        location: 'us-west1',
        on: false,
      });
    }
    await awsHalfReported(linkId, 'GONE');
    await eventually(async () => (await linkOf(linkId)).state === 'DECOMMISSIONED');
  }, 120_000);
});

describe('a decommission request nobody approves', () => {
  it('escalates once, then EXPIRES: recorded, LinkExpired, the link left ACTIVE with its transport', async () => {
    const { linkId } = await activeGoogleFirst('g-decom-expire');
    const name = await decommissionRequested(linkId);
    await ranOutOfTime(decommissioning, name);
    const out = await decommissioning.wait(name);
    expect(out.state, JSON.stringify(out.error ?? out.result)).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ linkId, outcome: 'NotApproved' });
    const link = await linkOf(linkId);
    expect(link.state).toBe('ACTIVE');
    expect(link.decommission).toMatchObject({ status: 'EXPIRED' });
    await eventually(() =>
      emitted(linkId, 'LinkExpired').some((e) => (e.data as { stage?: string }).stage === 'decommissioning'),
    );
    const requests = emitted(linkId, 'LinkApprovalRequested').filter(
      (e) => (e.data as { stage?: string }).stage === 'decommissioning',
    );
    expect(requests).toHaveLength(2);
    expect(transportCalls(linkId).map((c) => c.method)).toEqual(['CreateTransport']);
  }, 120_000);
});
