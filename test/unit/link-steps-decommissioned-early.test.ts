/**
 * A decommission approved while the link was APPROVED / PROVISIONING ends provisioning quietly: its
 * waits answer `decommissioning: true` (the orchestrator routes that to its end), compensation after
 * a step's error records nothing and deletes nothing (the decommissioning run does), and `fail` is
 * no longer allowed from DECOMMISSIONING.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { IllegalTransitionError } from '#core/errors.ts';
import { keyDeadline } from '#core/link/activate.ts';
import { approvalDeadline } from '#core/link/approve.ts';
import { compensate } from '#core/link/compensate.ts';
import { type LinkInput, transition } from '#core/link/transition.ts';
import { park, waitOutcome } from '#core/link/waits.ts';
import {
  approvedLink,
  BOB,
  type Harness,
  LINK,
  stepHarness,
  T0,
  TO_ACTIVE,
} from '../support/step-harness.ts';

const DECOMMISSIONED_EARLY: LinkInput[] = [
  TO_ACTIVE[0] as LinkInput,
  TO_ACTIVE[1] as LinkInput,
  { kind: 'proposeDecommission', by: 'arn:aws:iam::000000000000:user/alice', via: 'aws' },
  { kind: 'decideDecommission', side: 'aws', by: BOB, decision: 'approve' },
];

let h: Harness;
beforeEach(async () => {
  h = stepHarness();
  await h.store.create(approvedLink(DECOMMISSIONED_EARLY));
  h.halves.set('requested');
});

describe('provisioning of a link decommissioned before it was up', () => {
  it('answers every provisioning wait with decommissioning: true', async () => {
    const link = (await h.store.get(LINK))?.link;
    expect(link?.state).toBe('DECOMMISSIONING');
    for (const phase of ['approval', 'key', 'up'] as const)
      expect(waitOutcome(link as never, phase)).toEqual({
        output: { state: 'DECOMMISSIONING', decommissioning: true },
      });
    await park(h.deps, { linkId: LINK, phase: 'key', token: 't-key' });
    expect(h.answered).toEqual([
      { token: 't-key', output: { state: 'DECOMMISSIONING', decommissioning: true } },
    ]);
  });

  it('tells the fallback polls so: approvalDeadline and keyDeadline answer next "decommissioning"', async () => {
    const check = {
      environmentId: 'env-1',
      escalateAt: new Date(T0).toISOString(),
      expiresAt: new Date(T0 + 86_400_000).toISOString(),
      escalated: false,
    };
    expect((await approvalDeadline(h.deps, { linkId: LINK, check })).next).toBe('decommissioning');
    expect((await keyDeadline(h.deps, { linkId: LINK, check })).next).toBe('decommissioning');
  });

  it('compensation after a step error records nothing, deletes nothing, and says why', async () => {
    const out = await compensate(h.deps, {
      linkId: LINK,
      error: { errorName: 'IllegalTransitionError', message: 'cannot provision a DECOMMISSIONING link' },
    });
    expect(out).toMatchObject({ outcome: 'DECOMMISSIONING', deleted: [] });
    expect(h.halves.deleted).toEqual([]);
    expect((await h.store.get(LINK))?.link.state).toBe('DECOMMISSIONING');
    expect(h.events.names()).not.toContain('LinkFailed');
  });

  it('refuses fail from DECOMMISSIONING (a provisioning error does not fail a link taken down on request)', async () => {
    const link = (await h.store.get(LINK))?.link;
    expect(() => transition(link as never, { kind: 'fail', reason: 'x' }, T0)).toThrow(
      IllegalTransitionError,
    );
  });
});
