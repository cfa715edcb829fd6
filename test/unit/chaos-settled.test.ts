/**
 * The links workload's end verdict (test/chaos/links.ts `settled`) reads the records and what the
 * people did, not the plan: an ACTIVE link whose planned decommission nobody asked (the person gave
 * up waiting for ACTIVE, as in chaos seed 22) is a state a person accepts; one whose decommission was
 * approved is not. A link waiting on an approval its approver tried to give and was refused every
 * time (the link not there yet on that side, as in chaos seed 131) waits on an approval nobody
 * gave; one the approver gave and the link still waits on is not acceptable. A link only one side
 * knows is refused with where its LinkRequested went (chaos seed 64 left two such links, and its
 * run kept no logs to tell).
 */
import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '#core/envelope.ts';
import type { LinkRecord } from '#core/link/model.ts';
import type { AuditEntry } from '#core/link/ports.ts';
import { transition } from '#core/link/transition.ts';
import { approvalGiven, linkWorkload } from '../chaos/links.ts';
import type { ChaosContext } from '../chaos/registry.ts';
import type { LinkPlan } from '../chaos/scenario.ts';
import type { Observation } from '../chaos/world.ts';
import { approvedLink, BOB, LINK, requestedLink, TO_ACTIVE } from '../support/step-harness.ts';

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

  it('accepts a link waiting on an approval whose every try was refused, not one that was given', () => {
    let waiting = requestedLink();
    for (const input of [{ kind: 'requestApproval' }, { kind: 'approve', side: 'aws', by: BOB }] as const)
      waiting = transition(waiting, input, Date.now()).link;
    const c = { ...ctx } as ChaosContext;
    expect(waiting.state).toBe('AWAITING_APPROVAL');
    expect(linkWorkload.settled(c, seen(waiting))).toEqual([]);
    approvalGiven(c, 0, 'gcp');
    expect(linkWorkload.settled(c, seen(waiting))).toEqual([
      {
        invariant: 'links end in a state a person accepts',
        detail: `link 0 (${LINK}): waiting on gcp's approval, which was given`,
      },
    ]);
  });

  it('says where the LinkRequested of a link only one side knows went: the peer audit, a dead letter, or neither', () => {
    const link = requestedLink();
    const request = {
      id: 'ev-1',
      type: 'crosslink.LinkRequested.v1',
      data: { linkId: LINK },
    } as unknown as CloudEvent;
    const awsOnly = (over: Partial<Observation>): Observation => {
      const base = seen(link);
      return {
        ...base,
        records: new Map([[LINK, { aws: { link, audit: [] }, gcp: { audit: [] } }]]),
        emitted: { aws: new Map([['ev-1', request]]), gcp: new Map() },
        ...over,
      };
    };
    const verdict = (o: Observation) => linkWorkload.settled(ctx, o).map((v) => v.detail);

    expect(verdict(awsOnly({ emitted: { aws: new Map(), gcp: new Map() } }))).toEqual([
      `link 0 (${LINK}): only aws has a record (no LinkRequested of it seen on aws's bus)`,
    ]);
    expect(verdict(awsOnly({}))).toEqual([
      `link 0 (${LINK}): only aws has a record (its LinkRequested ev-1 neither in gcp's audit nor dead-lettered)`,
    ]);
    expect(
      verdict(
        awsOnly({
          deadLetters: [
            { where: 'crosslink-peer-events-dead-sub', reason: '5 deliveries failed', body: '{"id":"ev-1"}' },
          ],
        }),
      ),
    ).toEqual([
      `link 0 (${LINK}): only aws has a record (its LinkRequested ev-1 dead-lettered in crosslink-peer-events-dead-sub: 5 deliveries failed)`,
    ]);
    const refused: AuditEntry = {
      linkId: LINK,
      at: '2026-12-07T00:00:00Z',
      actor: 'peer:aws',
      action: 'LinkRequested',
      outcome: 'refused',
      policyHash: 'p',
      reasons: ['policy hash a differs from b'],
      eventId: 'ev-1',
    };
    expect(
      verdict(
        awsOnly({ records: new Map([[LINK, { aws: { link, audit: [] }, gcp: { audit: [refused] } }]]) }),
      ),
    ).toEqual([
      `link 0 (${LINK}): only aws has a record (its LinkRequested ev-1 refused by gcp: policy hash a differs from b)`,
    ]);
  });
});
