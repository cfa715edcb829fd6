/**
 * Compensation never deletes a live link's half: once a link reached ACTIVE / DEGRADED / DOWN, only
 * verify's failure (`PrefixesNotCoveredError`) closes it; any other error leaves both halves and the
 * record alone and says so.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { compensate } from '#core/link/compensate.ts';
import {
  approvedLink,
  CONNECTION,
  type Harness,
  LINK,
  stepHarness,
  TO_ACTIVE,
} from '../support/step-harness.ts';

let h: Harness;
beforeEach(async () => {
  h = stepHarness();
  h.halves.set('available');
});

describe('compensate after ACTIVE', () => {
  it('keeps the connection of an ACTIVE link after a non-verify error, records nothing, and says why', async () => {
    // Prepare
    await h.store.create(approvedLink(TO_ACTIVE));
    // Act
    const out = await compensate(h.deps, {
      linkId: LINK,
      error: { errorName: 'States.TaskFailed', message: 'the report lambda timed out' },
    });
    // Assess
    expect(out).toMatchObject({ outcome: 'KEPT', state: 'ACTIVE', deleted: [], kept: CONNECTION });
    expect((out as { reason: string }).reason).toContain('reached ACTIVE');
    expect(h.halves.deleted).toEqual([]);
    expect((await h.store.get(LINK))?.link.state).toBe('ACTIVE');
    expect(h.events.names()).not.toContain('LinkFailed');
  });

  it('keeps a DOWN link too (it was live): a half going down is not a reason to delete the other', async () => {
    await h.store.create(
      approvedLink([
        ...TO_ACTIVE,
        { kind: 'halfObserved', side: 'gcp', sequence: 2, nativeState: 'PENDING_CONFIG' },
      ]),
    );
    expect((await h.store.get(LINK))?.link.state).toBe('DOWN');
    const out = await compensate(h.deps, {
      linkId: LINK,
      error: { errorName: 'HalfFailedError', message: '' },
    });
    expect(out).toMatchObject({ outcome: 'KEPT', state: 'DOWN' });
    expect(h.halves.deleted).toEqual([]);
  });

  it("deletes the half and fails the link when verify's prefixes are not covered", async () => {
    await h.store.create(approvedLink(TO_ACTIVE));
    const out = await compensate(h.deps, {
      linkId: LINK,
      error: { errorName: 'PrefixesNotCoveredError', message: '10.10.0.0/16 not allowed' },
    });
    expect(out).toMatchObject({ outcome: 'FAILED', deleted: [CONNECTION] });
    expect((await h.store.get(LINK))?.link.state).toBe('FAILED');
    expect(h.events.names()).toContain('LinkFailed');
  });

  it('still deletes the half of a link that never got past PROVISIONING', async () => {
    await h.store.create(approvedLink([TO_ACTIVE[0], TO_ACTIVE[1]] as never));
    const out = await compensate(h.deps, {
      linkId: LINK,
      error: { errorName: 'HalfFailedError', message: '' },
    });
    expect(out).toMatchObject({ outcome: 'FAILED', deleted: [CONNECTION] });
  });
});
