/**
 * The "both halves up" wait and the decommission's "half gone" wait are bounded (virtual clock):
 * past `upDeadlineMs` (default 7 days) the step throws TimedOutError instead of looping until the
 * execution history cap.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { TimedOutError } from '#core/errors.ts';
import { compensate } from '#core/link/compensate.ts';
import { confirmDeleted, deleteOwnHalf } from '#core/link/decommission.ts';
import { pollHalf } from '#core/link/verify.ts';
import {
  approvedLink,
  BOB,
  CONNECTION,
  type Harness,
  LINK,
  REQUEST,
  stepHarness,
  T0,
  TO_ACTIVE,
} from '../support/step-harness.ts';

const DAY = 86_400_000;
let h: Harness;
beforeEach(() => {
  h = stepHarness();
});

describe('the up wait', () => {
  it('polls on while the peer is not up, and throws TimedOutError 7 days after activation', async () => {
    // Prepare: this side's connection is up, the peer's half never comes
    await h.store.create(approvedLink([TO_ACTIVE[0], TO_ACTIVE[1]] as never));
    h.halves.set('available');
    const activatedAt = Date.parse((await h.store.get(LINK))?.link.stages.at(-1)?.at as string);
    const poll = () => pollHalf(h.deps, { linkId: LINK, activate: { connectionId: CONNECTION } });
    // Act + Assess
    h.clock.set(activatedAt + 7 * DAY - 60_000);
    expect(await poll()).toMatchObject({ state: 'PROVISIONING' });
    h.clock.set(activatedAt + 7 * DAY);
    const err = await poll().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimedOutError);
    expect((err as Error).message).toMatch(
      /not up on both sides 7 days after activation \(aws available, gcp none\)/,
    );
  });

  it('follows the configured deadline (CROSSLINK_UP_DEADLINE)', async () => {
    await h.store.create(approvedLink([TO_ACTIVE[0], TO_ACTIVE[1]] as never));
    h.halves.set('available');
    h.deps.settings.upDeadlineMs = 2 * 3_600_000;
    h.clock.set(T0 + 3 * 3_600_000);
    await expect(pollHalf(h.deps, { linkId: LINK, activate: { connectionId: CONNECTION } })).rejects.toThrow(
      TimedOutError,
    );
  });

  it('never times out a link that is up', async () => {
    await h.store.create(approvedLink(TO_ACTIVE));
    h.halves.set('available');
    h.clock.set(T0 + 30 * DAY);
    expect(await pollHalf(h.deps, { linkId: LINK, activate: { connectionId: CONNECTION } })).toMatchObject({
      state: 'ACTIVE',
    });
  });
});

describe('the gone wait of decommissioning', () => {
  it('throws TimedOutError naming the connection when it is still not deleted at the deadline', async () => {
    // Prepare: DECOMMISSIONING; the provider accepts the delete but the connection stays `deleting`
    await h.store.create(
      approvedLink([
        ...TO_ACTIVE,
        { kind: 'proposeDecommission', by: 'arn:aws:iam::000000000000:user/alice', via: 'aws' },
        { kind: 'decideDecommission', side: 'aws', by: BOB, decision: 'approve' },
      ]),
    );
    h.halves.set('available');
    h.halves.deleteHalf = async (id: string) => {
      h.halves.set('deleting', LINK, id);
    };
    const deleted = await deleteOwnHalf(h.deps, { linkId: LINK });
    expect(deleted.deadline).toBe(new Date(h.clock.now() + 7 * DAY).toISOString());
    // Act + Assess
    h.clock.advance(7 * DAY - 60_000);
    expect(await confirmDeleted(h.deps, { linkId: LINK, deleted })).toMatchObject({ gone: false });
    h.clock.advance(60_000);
    await expect(confirmDeleted(h.deps, { linkId: LINK, deleted })).rejects.toThrow(
      new RegExp(
        `${CONNECTION} of link ${LINK} still not deleted 7 days after the delete \\(last state deleting\\)`,
      ),
    );
  });
});

describe('the halves a delete or a compensation looks for', () => {
  it("are searched in the link's own region only (every create goes there), or everywhere for a record without endpoints", async () => {
    // Prepare: a decommissioning link whose record keeps its endpoints, and one that predates them
    const decommissioning = approvedLink([
      ...TO_ACTIVE,
      { kind: 'proposeDecommission', by: 'arn:aws:iam::000000000000:user/alice', via: 'aws' },
      { kind: 'decideDecommission', side: 'aws', by: BOB, decision: 'approve' },
    ]);
    const endpoints = {
      aws: { ...REQUEST.aws, region: 'eu-central-1' },
      gcp: { ...REQUEST.gcp, region: 'europe-west3' },
    };
    await h.store.create({ ...decommissioning, endpoints });
    h.halves.set('available');

    // Act
    await deleteOwnHalf(h.deps, { linkId: LINK });
    const old = stepHarness();
    await old.store.create(approvedLink([{ kind: 'startProvisioning' }]));
    await compensate(old.deps, { linkId: LINK, error: { errorName: 'HalfFailedError', message: 'refused' } });
    const failed = stepHarness();
    await failed.store.create({ ...approvedLink([{ kind: 'startProvisioning' }]), endpoints });
    await compensate(failed.deps, {
      linkId: LINK,
      error: { errorName: 'HalfFailedError', message: 'refused' },
    });

    // Assess: this side is AWS, so its region is the request's AWS one
    expect(h.halves.searched).toEqual(['eu-central-1']);
    expect(old.halves.searched).toEqual([undefined]);
    expect(failed.halves.searched).toEqual(['eu-central-1']);
  });
});
