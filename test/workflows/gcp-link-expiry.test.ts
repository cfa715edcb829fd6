/**
 * The Google half's approval deadline in the local cloud: nobody approves, the callback wait times
 * out (virtual time), the fallback poll escalates once (a second LinkApprovalRequested), then expires
 * the link (LinkExpired) and the execution ends EXPIRED with nothing created, with deadlines of
 * seconds (the functions compare them on the virtual clock their Date follows).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  cloud,
  dumpOnFailure,
  emitted,
  eventually,
  executionsOf,
  linkOf,
  provisioning,
  ranOutOfTime,
  requested,
  startGoogleHalf,
  stopGoogleHalf,
} from '../support/gcp-half.ts';

beforeAll(
  () => startGoogleHalf({ CROSSLINK_APPROVAL_ESCALATE_AFTER: '15s', CROSSLINK_APPROVAL_EXPIRE_AFTER: '30s' }),
  120_000,
);
afterEach(dumpOnFailure);
afterAll(() => stopGoogleHalf(), 60_000);

describe('callback timeout', () => {
  it('escalates once, then EXPIRED: LinkExpired, no transport, the execution SUCCEEDED with outcome EXPIRED', async () => {
    const linkId = await requested('g-expire');
    const name = executionsOf(linkId)[0]?.name as string;
    await ranOutOfTime(provisioning, name);
    const out = await provisioning.wait(name);
    expect(out.state).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ linkId, outcome: 'EXPIRED', compensation: { deleted: [] } });
    expect((await linkOf(linkId)).state).toBe('EXPIRED');
    await eventually(() => emitted(linkId, 'LinkExpired').length === 1);
    expect(emitted(linkId, 'LinkApprovalRequested')).toHaveLength(2);
    // The waits were callbacks that timed out: billed as external steps, as Google bills them.
    expect(
      out.steps.filter((s) => s.step === 'wait' && s.billing === 'external').length,
    ).toBeGreaterThanOrEqual(2);
    // The fallback polls logged how long the approval waited (the approvals-waiting alert's metric).
    const lines = (cloud.plumbing?.functions.get('steps')?.output ?? []).filter((l) =>
      l.includes('"approvalPendingSeconds"'),
    );
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(
      cloud.plumbing?.functions.get('steps')?.output.some((l) => l.includes('"approvalEscalated":true')),
    ).toBe(true);
    expect(cloud.gcp.auditLog.entries().some((e) => e.protoPayload.resourceName.endsWith(linkId))).toBe(
      false,
    );
  }, 120_000);
});
