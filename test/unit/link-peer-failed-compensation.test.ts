/**
 * A link the peer failed keeps no half billing here. When the peer's `LinkFailed` closes a link
 * whose own provisioning run is over (a live link whose peer's verify failed), the peer-event
 * consumer starts this side's compensation run (`<linkId>-provisioning-2`); its `request` step
 * finds the link FAILED and its Catch compensates, deleting this side's half, live or not, without a
 * second `LinkFailed`. Chaos seed 29 ended with the Google transport of such a link still billing.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import { IllegalTransitionError } from '#core/errors.ts';
import type { Stage } from '#core/ids.ts';
import { COMPENSATION_ATTEMPT, compensate } from '#core/link/compensate.ts';
import { consumePeerEvent, type IntakeDeps } from '#core/link/intake.ts';
import { mutateLink } from '#core/link/record.ts';
import { request } from '#core/link/request.ts';
import type { ExecutionInput } from '#core/link/stage.ts';
import type { LinkInput } from '#core/link/transition.ts';
import {
  approvedLink,
  CONNECTION,
  type Harness,
  LINK,
  stepHarness,
  TO_ACTIVE,
} from '../support/step-harness.ts';

const GCP = { cloud: 'gcp' as const, project: 'payments-prod', region: 'us-east4' };

let h: Harness;
let starts: { stage: Stage; input: unknown; attempt: number }[];
let deps: IntakeDeps;

beforeEach(() => {
  h = stepHarness();
  h.halves.set('available');
  starts = [];
  deps = {
    ...h.deps,
    stages: {
      start: async (stage, input, attempt) => {
        const again = starts.some((s) => s.stage === stage && s.attempt === attempt);
        starts.push({ stage, input, attempt });
        return { executionName: `${LINK}-${stage}-${attempt}`, started: !again };
      },
      running: async () => false,
    },
  };
});

/** The peer's LinkFailed, as its compensation emits it. */
function peerFailed(stage: 'verify' | 'activate'): CloudEvent {
  return buildEvent({
    name: 'LinkFailed',
    origin: GCP,
    subject: LINK,
    clock: h.clock,
    data: {
      linkId: LINK,
      policyHash: h.deps.policy.hash,
      side: 'gcp',
      stage,
      error:
        stage === 'verify'
          ? { name: 'PrefixesNotCoveredError', message: 'routes not covered after 30 min' }
          : { name: 'HalfFailedError', message: 'transport is gone' },
      compensation: { deleted: ['lk-transport'], remaining: [] },
      failedAt: new Date(h.clock.now()).toISOString(),
    },
  });
}

const state = async () => (await h.store.get(LINK))?.link;

describe("the peer's LinkFailed on a live link whose run is over", () => {
  it('fails the link here and starts its compensation run, once per link', async () => {
    await h.store.create(approvedLink(TO_ACTIVE));

    const out = await consumePeerEvent(deps, peerFailed('verify'));

    expect(out).toMatchObject({ outcome: 'applied', type: 'LinkFailed' });
    expect((await state())?.state).toBe('FAILED');
    expect(starts).toEqual([
      { stage: 'provisioning', input: { linkId: LINK }, attempt: COMPENSATION_ATTEMPT },
    ]);
    // Another LinkFailed (the peer's compensation retried): the same run, nothing new.
    await consumePeerEvent(deps, peerFailed('verify'));
    expect(starts.map((s) => s.attempt)).toEqual([COMPENSATION_ATTEMPT, COMPENSATION_ATTEMPT]);
    expect(h.halves.deleted).toEqual([]); // the consumer itself deletes nothing
  });

  it("the compensation run's request step goes straight to compensation, which deletes the live half without a second LinkFailed", async () => {
    await h.store.create(approvedLink(TO_ACTIVE));
    await consumePeerEvent(deps, peerFailed('verify'));
    const before = h.events.names().length;

    const asked = request(h.deps, { linkId: LINK } as ExecutionInput);
    await expect(asked).rejects.toThrow(IllegalTransitionError);
    await expect(asked).rejects.toThrow(/already FAILED .*compensates this side's half/);
    const out = await compensate(h.deps, {
      linkId: LINK,
      error: { errorName: 'IllegalTransitionError', message: 'already FAILED' },
    });

    expect(out).toEqual({ outcome: 'FAILED', deleted: [CONNECTION] });
    expect(h.halves.deleted).toEqual([CONNECTION]);
    expect(h.events.names().slice(before)).not.toContain('LinkFailed');
    expect((await state())?.state).toBe('FAILED');
    // Run again (a retried step): nothing left to delete, still nothing emitted.
    expect(
      await compensate(h.deps, { linkId: LINK, error: { errorName: 'States.TaskFailed', message: '' } }),
    ).toEqual({ outcome: 'FAILED', deleted: [] });
  });

  it('starts nothing once the half is seen gone, nor for a link that never had a half here', async () => {
    const gone: LinkInput = { kind: 'halfObserved', side: 'aws', sequence: 2, nativeState: null };
    await h.store.create(approvedLink(TO_ACTIVE));
    await consumePeerEvent(deps, peerFailed('verify'));
    await mutateLink(h.deps, LINK, gone);
    starts = [];
    await consumePeerEvent(deps, peerFailed('verify'));
    expect(starts).toEqual([]);

    h = stepHarness();
    deps = { ...h.deps, stages: deps.stages };
    await h.store.create(approvedLink([{ kind: 'startProvisioning' }]));
    await consumePeerEvent(deps, peerFailed('activate'));
    expect((await state())?.state).toBe('FAILED');
    expect(starts).toEqual([]);
  });
});

describe('compensation of a live link this side has not failed', () => {
  it('still keeps an ACTIVE link after an error other than verify', async () => {
    await h.store.create(approvedLink(TO_ACTIVE));
    const out = await compensate(h.deps, {
      linkId: LINK,
      error: { errorName: 'IllegalTransitionError', message: 'a step refused' },
    });
    expect(out).toMatchObject({ outcome: 'KEPT', state: 'ACTIVE' });
    expect(h.halves.deleted).toEqual([]);
  });
});
