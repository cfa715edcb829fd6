/**
 * `LinkApprovalRequested` sent again (a provisioning escalation, a decommission's approval) carries
 * the link's bandwidth, so the peer's consumer accepts it: it once carried 'unchanged', which the
 * catalog refuses, and every such event was dead-lettered on the other cloud.
 */
import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '#core/envelope.ts';
import { eventDataIssues } from '#core/events/schemas.ts';
import { approvalDeadline } from '#core/link/approve.ts';
import { decommissionRequest } from '#core/link/decommission.ts';
import { createLink, transition } from '#core/link/transition.ts';
import { approvedLink, LINK, stepHarness, T0, TO_ACTIVE } from '../support/step-harness.ts';

const requested = (events: CloudEvent[]) =>
  events.filter((e) => e.type === 'crosslink.LinkApprovalRequested.v1') as CloudEvent<
    Record<string, unknown>
  >[];

describe('LinkApprovalRequested sent again', () => {
  it('an escalation carries the requested bandwidth and passes the catalog', async () => {
    // Prepare: a link awaiting approval, past its escalation time
    const h = stepHarness();
    let link = createLink(
      {
        id: LINK,
        name: 'east',
        initiator: 'aws',
        environment: 'prod',
        requester: 'arn:aws:iam::000000000000:user/alice',
        bandwidth: '10Gbps',
        policyHash: h.deps.policy.hash,
      },
      T0,
    );
    link = transition(link, { kind: 'requestApproval' }, T0).link;
    await h.store.create(link);
    const escalateAt = new Date(h.clock.now() - 1000).toISOString();
    const expiresAt = new Date(h.clock.now() + 86_400_000).toISOString();
    // Act
    await approvalDeadline(h.deps, {
      linkId: LINK,
      check: { escalateAt, expiresAt, escalated: false },
    });
    // Assess
    const [event] = requested(h.events.events);
    expect(event?.data.bandwidth).toBe('10Gbps');
    expect(eventDataIssues('LinkApprovalRequested', event?.data)).toEqual([]);
  });

  it("a decommission's approval request carries it too, with stage decommissioning", async () => {
    const h = stepHarness();
    const link = transition(
      approvedLink(TO_ACTIVE),
      { kind: 'proposeDecommission', by: 'arn:aws:iam::000000000000:user/alice', via: 'aws' },
      T0 + 10_000,
    ).link;
    await h.store.create(link);
    await decommissionRequest(h.deps, { linkId: LINK });
    const [event] = requested(h.events.events);
    expect(event?.data).toMatchObject({ bandwidth: '1Gbps', stage: 'decommissioning' });
    expect(eventDataIssues('LinkApprovalRequested', event?.data)).toEqual([]);
  });
});
