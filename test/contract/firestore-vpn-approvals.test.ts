/**
 * The Google store of prod VPN delete approvals against the Firestore emulator: a waiting
 * execution's callback is removed only once its send went through, so a send that fails for now
 * (429, 5xx) leaves the approval recorded with the wait, and approving again resumes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import { UnavailableError } from '#core/errors.ts';
import type { VpnDeleteApproval } from '#core/vpn/approval.ts';
import { CallbackError } from '#gcp/callback-tokens.ts';
import { FirestoreVpnApprovals } from '#gcp/vpn-approvals.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';

let firestore: TestFirestore;
beforeAll(async () => {
  firestore = await startTestFirestore();
});
afterAll(async () => {
  await firestore?.stop();
});

const request = {
  runId: 'run-1',
  vpnId: 'vpn-0123456789abcdef0',
  requestedBy: 'planner@example.com',
  requestedAt: '2026-12-01T00:00:00Z',
};
const approval: VpnDeleteApproval = {
  approver: 'carol@example.com',
  identity: 'carol',
  side: 'gcp',
  approvedAt: '2026-12-01T01:00:00Z',
  requestedBy: 'planner@example.com',
};

describe('FirestoreVpnApprovals', () => {
  it('keeps the callback when its send fails for now (503 to the approver), and clears it once a repeat resumes the execution', async () => {
    const db = firestore.db();
    const clock = new ManualClock(Date.parse('2026-12-01T00:00:00Z'));
    const sent: string[] = [];
    let failures = 1;
    const approvals = new FirestoreVpnApprovals(db, {
      clock,
      resume: async (callback) => {
        if (failures-- > 0) throw new CallbackError(`callback ${callback}: HTTP 503 unavailable`, 503);
        sent.push(callback);
      },
    });
    const callback =
      'https://workflowexecutions.googleapis.com/v1/projects/p/locations/l/workflows/w/executions/e/callbacks/c1';
    await approvals.park({ request, callback, waitUntil: clock.now() + 3_600_000 });

    await expect(approvals.recordApproval(request.runId, request.vpnId, approval)).rejects.toThrow(
      UnavailableError,
    );
    const kept = (await db.collection('vpnApprovals').doc(`${request.runId}~${request.vpnId}`).get()).data();
    expect(kept).toMatchObject({ callback, approval });

    await approvals.recordApproval(request.runId, request.vpnId, approval);
    const cleared = (
      await db.collection('vpnApprovals').doc(`${request.runId}~${request.vpnId}`).get()
    ).data();
    expect(sent).toEqual([callback]);
    expect(cleared?.callback).toBeUndefined();
    expect(cleared?.approval).toEqual(approval);
  });

  it('a send refused for good (403) is not dressed as retryable, and past the wait nothing is sent', async () => {
    const db = firestore.db();
    const clock = new ManualClock(Date.parse('2026-12-01T00:00:00Z'));
    const approvals = new FirestoreVpnApprovals(db, {
      clock,
      resume: async () => {
        throw new CallbackError('callback: HTTP 403 denied', 403);
      },
    });
    const callback =
      'https://workflowexecutions.googleapis.com/v1/projects/p/locations/l/workflows/w/executions/e/callbacks/c2';
    await approvals.park({ request, callback, waitUntil: clock.now() + 60_000 });
    await expect(approvals.recordApproval(request.runId, request.vpnId, approval)).rejects.toThrow(
      /HTTP 403/,
    );
    clock.advance(120_000);
    await expect(approvals.recordApproval(request.runId, request.vpnId, approval)).resolves.toBeUndefined();
  });
});
