/**
 * The links workload's end verdict (test/chaos/links.ts `settled`) reads the records, not the plan:
 * an ACTIVE link whose planned decommission nobody asked (the person gave up waiting for ACTIVE, as
 * in chaos seed 22) is a state a person accepts; one whose decommission was approved is not.
 */
import { describe, expect, it } from 'vitest';
import type { LinkRecord } from '#core/link/model.ts';
import { transition } from '#core/link/transition.ts';
import { linkWorkload } from '../chaos/links.ts';
import type { ChaosContext } from '../chaos/registry.ts';
import type { LinkPlan } from '../chaos/scenario.ts';
import type { Observation } from '../chaos/world.ts';
import { approvedLink, LINK, TO_ACTIVE } from '../support/step-harness.ts';

const PLAN: LinkPlan = { initiator: 'aws', pair: 'us-east', approvals: 'both', decommission: true };

function seen(link: LinkRecord): Observation {
  return {
    at: 0,
    connections: [
      {
        id: 'mcc-1',
        state: 'available',
        region: 'us-east-1',
        description: `crosslink ${LINK}`,
        sharedId: 's',
        activationKey: '',
      },
    ],
    transports: [
      { name: `t/${LINK}`, id: LINK, state: 'ACTIVE', location: 'us-east4', deleting: false, keys: [] },
    ],
    records: new Map([[LINK, { aws: { link, audit: [] }, gcp: { link, audit: [] } }]]),
    emitted: { aws: new Map(), gcp: new Map() },
    output: '',
    deadLetters: [],
  };
}

const ctx = { scenario: { links: [PLAN], faults: [] }, linkIds: [LINK] } as unknown as ChaosContext;

describe('the links settled verdict', () => {
  it('accepts an ACTIVE link whose planned decommission was never asked', () => {
    expect(linkWorkload.settled(ctx, seen(approvedLink(TO_ACTIVE)))).toEqual([]);
  });

  it('refuses an ACTIVE link whose decommission was approved', () => {
    const active = approvedLink(TO_ACTIVE);
    const asked = transition(
      active,
      { kind: 'proposeDecommission', by: 'alice', via: 'aws' },
      Date.now(),
    ).link;
    const pending = { ...asked, state: 'ACTIVE' as const };
    expect(linkWorkload.settled(ctx, seen(pending))).toEqual([]);
    const approved: LinkRecord = {
      ...pending,
      decommission: {
        ...(pending.decommission as NonNullable<LinkRecord['decommission']>),
        status: 'APPROVED',
      },
    };
    expect(linkWorkload.settled(ctx, seen(approved))).toEqual([
      {
        invariant: 'links end in a state a person accepts',
        detail: `link 0 (${LINK}): ACTIVE, but its decommission was asked and approved`,
      },
    ]);
  });
});
