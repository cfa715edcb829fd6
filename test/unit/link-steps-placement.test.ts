/**
 * A peer's request this side cannot place is refused at the acceptor's request step, before anyone
 * is asked to approve it: it once failed only at activation, after both approvals and after the
 * initiator had created its half. The placement checks are the intakes' own (Google: the hub or a
 * configured network project; AWS: the hub account or one with a role).
 */
import { describe, expect, it } from 'vitest';
import { accountPlacement } from '#aws/network-halves.ts';
import { ValidationError } from '#core/errors.ts';
import { compensate } from '#core/link/compensate.ts';
import { request } from '#core/link/request.ts';
import { createLink } from '#core/link/transition.ts';
import { parseLinkRequest } from '#core/policy/request.ts';
import { projectPlacement } from '#gcp/network-projects.ts';
import { LINK, REQUEST, stepHarness, T0 } from '../support/step-harness.ts';

async function requestedReplica(placement: ReturnType<typeof projectPlacement>) {
  const h = stepHarness();
  h.deps.placement = placement;
  await h.store.create(
    createLink(
      {
        id: LINK,
        name: 'east',
        initiator: 'aws',
        environment: 'prod',
        requester: 'arn:aws:iam::000000000000:user/alice',
        bandwidth: '1Gbps',
        policyHash: h.deps.policy.hash,
      },
      T0,
    ),
  );
  return h;
}

describe("the acceptor's request step", () => {
  it('refuses a Google project that is neither the hub nor a network project, naming gcp.project, and asks no one', async () => {
    // Prepare: the Google side runs in crosslink-hub with one network project, not payments-prod
    const h = await requestedReplica(
      projectPlacement('crosslink-hub', new Map([['shared-net', 'sa@shared-net.iam.gserviceaccount.com']])),
    );
    // Act
    const refused = await request(h.deps, {
      linkId: LINK,
      mode: 'accept',
      request: parseLinkRequest(REQUEST),
    }).catch((e: unknown) => e);
    // Assess
    expect(refused).toBeInstanceOf(ValidationError);
    expect((refused as ValidationError).issues).toEqual([
      {
        path: 'gcp.project',
        reason:
          'payments-prod is neither the hub project nor a configured network project (crosslink-hub, shared-net)',
      },
    ]);
    expect(h.events.events.map((e) => e.type)).not.toContain('crosslink.LinkApprovalRequested.v1');
    expect((await h.store.get(LINK))?.link.state).toBe('REQUESTED');
  });

  it("compensation then fails the link with LinkFailed at stage 'request', naming the field", async () => {
    // Prepare: the refusal, as the state machine / workflow hands it to compensation (no `check` yet)
    const h = await requestedReplica(projectPlacement('crosslink-hub', new Map()));
    const refused = (await request(h.deps, {
      linkId: LINK,
      mode: 'accept',
      request: parseLinkRequest(REQUEST),
    }).catch((e: unknown) => e)) as ValidationError;
    // Act
    const out = await compensate(h.deps, {
      linkId: LINK,
      error: { errorName: refused.name, message: refused.message },
    });
    // Assess
    expect(out).toMatchObject({ outcome: 'FAILED', deleted: [] });
    const failed = h.events.events.find((e) => e.type === 'crosslink.LinkFailed.v1');
    expect(failed?.data).toMatchObject({
      stage: 'request',
      error: {
        name: 'ValidationError',
        message: expect.stringMatching(/gcp\.project: payments-prod is neither/),
      },
    });
    // A failure after the request check and before approval is the approval stage's; after activation, activation's.
    for (const [state, stage] of [
      [{ check: {} }, 'approve'],
      [{ check: {}, approved: {}, activate: {} }, 'activate'],
    ] as const) {
      const g = await requestedReplica(projectPlacement('payments-prod', new Map()));
      await compensate(g.deps, {
        linkId: LINK,
        error: { errorName: 'HalfFailedError', message: '' },
        ...state,
      });
      expect(g.events.events.find((e) => e.type === 'crosslink.LinkFailed.v1')?.data, stage).toMatchObject({
        stage,
      });
    }
  });

  it('goes on to ask for approval when the project is placeable', async () => {
    const h = await requestedReplica(projectPlacement('payments-prod', new Map()));
    await request(h.deps, { linkId: LINK, mode: 'accept', request: parseLinkRequest(REQUEST) });
    expect(h.events.events.map((e) => e.type)).toContain('crosslink.LinkApprovalRequested.v1');
    expect((await h.store.get(LINK))?.link.state).toBe('AWAITING_APPROVAL');
  });
});

describe('AWS account placement', () => {
  const place = accountPlacement('000000000000', {
    '111111111111': 'arn:aws:iam::111111111111:role/crosslink',
  });
  const at = (accountId: string) => parseLinkRequest({ ...REQUEST, aws: { ...REQUEST.aws, accountId } });

  it('admits the hub account and an account with a role', () => {
    expect(place(at('000000000000'))).toEqual([]);
    expect(place(at('111111111111'))).toEqual([]);
  });

  it('refuses any other account, naming aws.accountId and the accounts it could use', () => {
    expect(place(at('222222222222'))).toEqual([
      {
        path: 'aws.accountId',
        reason:
          '222222222222 is neither the hub account nor a network account with a role in CROSSLINK_ACCOUNT_ROLES (000000000000, 111111111111)',
      },
    ]);
  });
});
