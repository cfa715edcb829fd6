/**
 * Every event that accompanies a state change goes through the record's outbox: a put that fails
 * after the write is delivered by the next step or watcher run, with the same event id, so the peer
 * always learns of the change and deduplicates a repeat.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { StepDeps as AwsStepDeps } from '#aws/steps.ts';
import { watch } from '#aws/watcher.ts';
import { approvalDeadline } from '#core/link/approve.ts';
import { request } from '#core/link/request.ts';
import { pollHalf } from '#core/link/verify.ts';
import { park } from '#core/link/waits.ts';
import {
  approvedLink,
  CONNECTION,
  type Harness,
  idsOf,
  LINK,
  REQUEST,
  stepHarness,
  T0,
} from '../support/step-harness.ts';

let h: Harness;
beforeEach(() => {
  h = stepHarness();
});

const outboxIds = async () => ((await h.store.get(LINK))?.link.outbox ?? []).map((e) => e.id);

describe('events beside a state change survive a failed put', () => {
  it('request: LinkApprovalRequested goes out on the retry after EventsNotPutError, with the id it was written with', async () => {
    // Prepare: a new link, the bus failing once
    const link = approvedLink();
    await h.store.create({ ...link, state: 'REQUESTED', approvals: [], stages: link.stages.slice(0, 1) });
    h.events.failures = 1;
    // Act
    await expect(
      request(h.deps, { linkId: LINK, mode: 'initiate', request: REQUEST as never }),
    ).rejects.toThrow(/not put/);
    const written = await outboxIds();
    await request(h.deps, { linkId: LINK, mode: 'initiate', request: REQUEST as never });
    // Assess
    expect((await h.store.get(LINK))?.link.state).toBe('AWAITING_APPROVAL');
    expect(idsOf(h.events, 'LinkApprovalRequested')).toHaveLength(1);
    expect(written).toContain(idsOf(h.events, 'LinkApprovalRequested')[0]);
    expect(idsOf(h.events, 'LinkStateChanged').every((id) => written.includes(id))).toBe(true);
    expect(await outboxIds()).toEqual([]);
  });

  it('approvalDeadline: LinkExpired goes out on the retry after the expiry was written', async () => {
    // Prepare
    const link = approvedLink();
    await h.store.create({ ...link, state: 'AWAITING_APPROVAL', approvals: link.approvals.slice(0, 1) });
    h.clock.set(T0 + 4 * 86_400_000);
    h.events.failures = 1;
    const check = {
      environmentId: 'env-1',
      escalateAt: new Date(T0).toISOString(),
      expiresAt: new Date(T0 + 3 * 86_400_000).toISOString(),
      escalated: true,
    };
    // Act
    await expect(approvalDeadline(h.deps, { linkId: LINK, check })).rejects.toThrow(/not put/);
    const written = await outboxIds();
    const again = await approvalDeadline(h.deps, { linkId: LINK, check });
    // Assess
    expect(again.next).toBe('LinkExpired');
    expect(idsOf(h.events, 'LinkExpired')).toHaveLength(1);
    expect(written).toContain(idsOf(h.events, 'LinkExpired')[0]);
  });

  it("pollHalf: the half's change is written though the put fails; the next park delivers it, same ids", async () => {
    // Prepare: PROVISIONING with the connection requested; it comes up
    await h.store.create(
      approvedLink([
        { kind: 'startProvisioning' },
        { kind: 'halfObserved', side: 'aws', sequence: 1, nativeState: 'requested', resourceId: CONNECTION },
      ]),
    );
    h.halves.set('available');
    h.events.failures = 1;
    // Act
    await expect(pollHalf(h.deps, { linkId: LINK, activate: { connectionId: CONNECTION } })).rejects.toThrow(
      /not put/,
    );
    const written = await outboxIds();
    // A second poll sees no change (the write is done): before the fix it put nothing.
    await pollHalf(h.deps, { linkId: LINK, activate: { connectionId: CONNECTION } });
    await park(h.deps, { linkId: LINK, phase: 'up', token: 't-up' });
    // Assess
    const side = h.events.events.filter((e) => e.type.includes('LinkSideStateChanged'));
    expect(side).toHaveLength(1);
    expect(side[0]?.data).toMatchObject({
      sequence: 2,
      nativeState: 'available',
      previousNativeState: 'requested',
    });
    expect(written).toContain(side[0]?.id);
    expect(await outboxIds()).toEqual([]);
  });

  it('the watcher flushes an outbox a failed put left behind, and still records new changes', async () => {
    // Prepare: the watcher records the connection coming up, the put fails
    await h.store.create(
      approvedLink([
        { kind: 'startProvisioning' },
        { kind: 'halfObserved', side: 'aws', sequence: 1, nativeState: 'requested', resourceId: CONNECTION },
      ]),
    );
    h.halves.set('available');
    h.events.failures = 1;
    const deps = h.deps as unknown as AwsStepDeps;
    await expect(watch(deps)).rejects.toThrow(/not put/);
    const written = await outboxIds();
    expect(written.length).toBeGreaterThan(0);
    // Act: the next scheduled run sees no change of the connection
    const report = await watch(deps);
    // Assess
    expect(report.changed).toEqual([]);
    const side = idsOf(h.events, 'LinkSideStateChanged');
    expect(side).toHaveLength(1);
    expect(written).toContain(side[0]);
    expect(await outboxIds()).toEqual([]);
  });
});
