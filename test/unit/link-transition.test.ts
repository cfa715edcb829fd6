import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IllegalTransitionError, PermissionDeniedError } from '#core/errors.ts';
import { conditionOf, LINK_STATES, type LinkRecord, type LinkState } from '#core/link/model.ts';
import { createLink, type LinkInput, type TransitionResult, transition } from '#core/link/transition.ts';

const T0 = Date.parse('2026-11-26T10:00:00Z');
const ALICE = 'arn:aws:iam::000000000000:user/alice';
const BOB = 'arn:aws:iam::000000000000:user/bob';
const CAROL = 'carol@example.com';

function newLink(): LinkRecord {
  return createLink(
    {
      id: 'lk-01jdx0000000000000000000aa',
      name: 'east',
      initiator: 'aws',
      environment: 'prod',
      requester: ALICE,
      requesterIdentity: 'person:alice',
      bandwidth: '1Gbps',
      policyHash: 'a'.repeat(64),
    },
    T0,
  );
}

/** Applies inputs in order, one second apart, returning the final result. */
function run(link: LinkRecord, ...inputs: LinkInput[]): TransitionResult {
  let r: TransitionResult = { link, events: [] };
  inputs.forEach((input, i) => {
    r = transition(r.link, input, T0 + (i + 1) * 1000);
  });
  return r;
}

const approveBoth: LinkInput[] = [
  { kind: 'requestApproval' },
  { kind: 'approve', side: 'aws', by: BOB },
  { kind: 'approve', side: 'gcp', by: CAROL },
];
const up = (side: 'aws' | 'gcp', sequence: number): LinkInput =>
  side === 'aws'
    ? { kind: 'halfObserved', side, sequence, nativeState: 'available', resourceId: 'mcc-1a2b3c4d' }
    : { kind: 'halfObserved', side, sequence, nativeState: 'ACTIVE' };
const toActive: LinkInput[] = [...approveBoth, { kind: 'startProvisioning' }, up('aws', 1), up('gcp', 1)];

/** A link driven into `state` by legal moves. */
function linkIn(state: LinkState): LinkRecord {
  const paths: Record<LinkState, LinkInput[]> = {
    REQUESTED: [],
    AWAITING_APPROVAL: [{ kind: 'requestApproval' }],
    APPROVED: approveBoth,
    PROVISIONING: [...approveBoth, { kind: 'startProvisioning' }],
    ACTIVE: toActive,
    DEGRADED: [...toActive, { kind: 'healthObserved', status: 'impaired', at: '2026-11-26T11:00:00Z' }],
    DOWN: [...toActive, { kind: 'halfObserved', side: 'aws', sequence: 2, nativeState: 'down' }],
    DECOMMISSIONING: [...toActive, { kind: 'requestDecommission', by: ALICE }],
    DECOMMISSIONED: [
      ...toActive,
      { kind: 'requestDecommission', by: ALICE },
      { kind: 'halfObserved', side: 'aws', sequence: 2, nativeState: 'deleted' },
      { kind: 'halfObserved', side: 'gcp', sequence: 2, nativeState: null },
    ],
    REJECTED: [{ kind: 'requestApproval' }, { kind: 'reject', side: 'gcp', by: CAROL, reason: 'no budget' }],
    EXPIRED: [{ kind: 'requestApproval' }, { kind: 'expire' }],
    FAILED: [
      ...approveBoth,
      { kind: 'startProvisioning' },
      { kind: 'fail', reason: 'CreateConnection failed: quota' },
    ],
  };
  const r = run(newLink(), ...paths[state]);
  expect(r.link.state).toBe(state);
  return r.link;
}

describe('link lifecycle: the main course', () => {
  it('goes REQUESTED -> AWAITING_APPROVAL -> APPROVED -> PROVISIONING -> ACTIVE, with a stage and an event per move', () => {
    // Act
    const r = run(newLink(), ...toActive);
    // Assess
    expect(r.link.stages.map((s) => s.state)).toEqual([
      'REQUESTED',
      'AWAITING_APPROVAL',
      'APPROVED',
      'PROVISIONING',
      'ACTIVE',
    ]);
    expect(r.events).toEqual([
      expect.objectContaining({
        name: 'LinkStateChanged',
        data: expect.objectContaining({ from: 'PROVISIONING', to: 'ACTIVE', reason: 'both halves up' }),
      }),
    ]);
    expect(r.link.halves.aws).toMatchObject({
      nativeState: 'available',
      condition: 'UP',
      sequence: 1,
      resourceId: 'mcc-1a2b3c4d',
    });
  });

  it('needs both sides: one approval leaves the link waiting', () => {
    const r = run(newLink(), { kind: 'requestApproval' }, { kind: 'approve', side: 'aws', by: BOB });
    expect(r.link.state).toBe('AWAITING_APPROVAL');
    expect(() => transition(r.link, { kind: 'startProvisioning' }, T0)).toThrow(
      /both sides must approve first/,
    );
  });

  it('accepts an approval that overtakes the approval request (out of order)', () => {
    const r = run(newLink(), { kind: 'approve', side: 'gcp', by: CAROL });
    expect(r.link.state).toBe('AWAITING_APPROVAL');
    const r2 = run(r.link, { kind: 'requestApproval' }, { kind: 'approve', side: 'aws', by: BOB });
    expect(r2.link.state).toBe('APPROVED');
  });

  it('ACTIVE <-> DEGRADED follows health, DOWN follows a half, and recovery returns to ACTIVE', () => {
    const degraded = run(linkIn('ACTIVE'), {
      kind: 'healthObserved',
      status: 'impaired',
      at: '2026-11-26T11:00:00Z',
    });
    expect(degraded.link.state).toBe('DEGRADED');
    const healed = run(degraded.link, {
      kind: 'healthObserved',
      status: 'healthy',
      at: '2026-11-26T11:05:00Z',
    });
    expect(healed.link.state).toBe('ACTIVE');
    const down = run(healed.link, {
      kind: 'halfObserved',
      side: 'gcp',
      sequence: 2,
      nativeState: 'ACTIVE',
      adminEnabled: false,
    });
    expect(down.link.state).toBe('DOWN');
    expect(down.events[0]?.data.reason).toMatch(/gcp half/);
    const back = run(down.link, {
      kind: 'halfObserved',
      side: 'gcp',
      sequence: 3,
      nativeState: 'ACTIVE',
      adminEnabled: true,
    });
    expect(back.link.state).toBe('ACTIVE');
  });

  it('a DEGRADED link whose half goes down is DOWN; back up it is DEGRADED while health is impaired', () => {
    const down = run(linkIn('DEGRADED'), {
      kind: 'halfObserved',
      side: 'aws',
      sequence: 2,
      nativeState: 'down',
    });
    expect(down.link.state).toBe('DOWN');
    const back = run(down.link, { kind: 'halfObserved', side: 'aws', sequence: 3, nativeState: 'available' });
    expect(back.link.state).toBe('DEGRADED');
  });

  it('DECOMMISSIONED only when both halves are confirmed gone', () => {
    const one = run(linkIn('DECOMMISSIONING'), {
      kind: 'halfObserved',
      side: 'aws',
      sequence: 2,
      nativeState: 'deleted',
    });
    expect(one.link.state).toBe('DECOMMISSIONING');
    const deleting = run(one.link, { kind: 'halfObserved', side: 'gcp', sequence: 2, nativeState: 'ACTIVE' });
    expect(deleting.link.state).toBe('DECOMMISSIONING');
    const both = run(deleting.link, { kind: 'halfObserved', side: 'gcp', sequence: 3, nativeState: null });
    expect(both.link.state).toBe('DECOMMISSIONED');
  });

  it('decommissioning a link whose halves never existed ends at once', () => {
    const r = run(linkIn('APPROVED'), { kind: 'requestDecommission', by: ALICE });
    expect(r.link.stages.slice(-2).map((s) => s.state)).toEqual(['DECOMMISSIONING', 'DECOMMISSIONED']);
    expect(r.events.map((e) => e.data.to)).toEqual(['DECOMMISSIONING', 'DECOMMISSIONED']);
  });
});

describe('link lifecycle: side exits', () => {
  it('a rejection from either side ends it REJECTED with the reason', () => {
    const r = run(
      newLink(),
      { kind: 'requestApproval' },
      { kind: 'approve', side: 'aws', by: BOB },
      { kind: 'reject', side: 'gcp', by: CAROL, reason: 'no budget' },
    );
    expect(r.link.state).toBe('REJECTED');
    expect(r.link.stages.at(-1)?.reason).toMatch(/no budget/);
  });

  it('refuses self-approval, by principal and by the same person on the other cloud', () => {
    const l = linkIn('AWAITING_APPROVAL');
    expect(() => transition(l, { kind: 'approve', side: 'aws', by: ALICE }, T0)).toThrow(
      PermissionDeniedError,
    );
    expect(() =>
      transition(l, { kind: 'approve', side: 'gcp', by: 'alice@example.com', identity: 'person:alice' }, T0),
    ).toThrow(PermissionDeniedError);
  });

  it('ignores a repeated approval, refuses a contradicting one', () => {
    const l = run(linkIn('AWAITING_APPROVAL'), { kind: 'approve', side: 'aws', by: BOB }).link;
    expect(transition(l, { kind: 'approve', side: 'aws', by: BOB }, T0).ignored).toMatch(/duplicate/);
    expect(() => transition(l, { kind: 'reject', side: 'aws', by: BOB }, T0)).toThrow(/already approved/);
  });

  it('expires only while awaiting approval', () => {
    expect(linkIn('EXPIRED').stages.at(-1)?.reason).toMatch(/timed out/);
    expect(() => transition(linkIn('APPROVED'), { kind: 'expire' }, T0)).toThrow(IllegalTransitionError);
  });
});

describe('link lifecycle: every command in every state', () => {
  // The legal moves (and no-ops) per command; anything else must throw IllegalTransitionError.
  const commands: Record<string, { input: LinkInput; legal: Partial<Record<LinkState, LinkState>> }> = {
    requestApproval: {
      input: { kind: 'requestApproval' },
      legal: {
        REQUESTED: 'AWAITING_APPROVAL',
        AWAITING_APPROVAL: 'AWAITING_APPROVAL',
        APPROVED: 'APPROVED',
        PROVISIONING: 'PROVISIONING',
        ACTIVE: 'ACTIVE',
        DEGRADED: 'DEGRADED',
        DOWN: 'DOWN',
        DECOMMISSIONING: 'DECOMMISSIONING',
      },
    },
    // Once bob's approval is recorded, hearing it again (at-least-once delivery) changes nothing.
    approveAws: {
      input: { kind: 'approve', side: 'aws', by: BOB },
      legal: {
        REQUESTED: 'AWAITING_APPROVAL',
        AWAITING_APPROVAL: 'AWAITING_APPROVAL',
        APPROVED: 'APPROVED',
        PROVISIONING: 'PROVISIONING',
        ACTIVE: 'ACTIVE',
        DEGRADED: 'DEGRADED',
        DOWN: 'DOWN',
        DECOMMISSIONING: 'DECOMMISSIONING',
        DECOMMISSIONED: 'DECOMMISSIONED',
        FAILED: 'FAILED',
      },
    },
    rejectAws: {
      input: { kind: 'reject', side: 'aws', by: BOB },
      legal: { REQUESTED: 'REJECTED', AWAITING_APPROVAL: 'REJECTED' },
    },
    expire: {
      input: { kind: 'expire' },
      legal: { REQUESTED: 'EXPIRED', AWAITING_APPROVAL: 'EXPIRED', EXPIRED: 'EXPIRED' },
    },
    startProvisioning: {
      input: { kind: 'startProvisioning' },
      legal: { APPROVED: 'PROVISIONING', PROVISIONING: 'PROVISIONING' },
    },
    fail: {
      input: { kind: 'fail', reason: 'x' },
      legal: {
        REQUESTED: 'FAILED',
        AWAITING_APPROVAL: 'FAILED',
        APPROVED: 'FAILED',
        PROVISIONING: 'FAILED',
        FAILED: 'FAILED',
      },
    },
    requestDecommission: {
      input: { kind: 'requestDecommission', by: ALICE },
      legal: {
        APPROVED: 'DECOMMISSIONED',
        PROVISIONING: 'DECOMMISSIONING',
        ACTIVE: 'DECOMMISSIONING',
        DEGRADED: 'DECOMMISSIONING',
        DOWN: 'DECOMMISSIONING',
        DECOMMISSIONING: 'DECOMMISSIONING',
        DECOMMISSIONED: 'DECOMMISSIONED',
      },
    },
  };
  for (const [name, { input, legal }] of Object.entries(commands)) {
    for (const state of LINK_STATES) {
      const expected = legal[state];
      it(`${name} in ${state} ${expected ? `-> ${expected}` : 'is refused'}`, () => {
        const link = linkIn(state);
        if (expected) expect(transition(link, input, T0 + 99_000).link.state).toBe(expected);
        else expect(() => transition(link, input, T0 + 99_000)).toThrow(IllegalTransitionError);
      });
    }
  }
});

describe('observations: stale and duplicate', () => {
  it('ignores an observation whose sequence is not above the half', () => {
    const active = linkIn('ACTIVE');
    const dup = transition(
      active,
      { kind: 'halfObserved', side: 'aws', sequence: 1, nativeState: 'down' },
      T0,
    );
    expect(dup.ignored).toMatch(/duplicate/);
    expect(dup.link).toBe(active);
    const newer = run(active, { kind: 'halfObserved', side: 'aws', sequence: 5, nativeState: 'down' }).link;
    const stale = transition(
      newer,
      { kind: 'halfObserved', side: 'aws', sequence: 4, nativeState: 'available' },
      T0,
    );
    expect(stale.ignored).toMatch(/stale/);
    expect(stale.link.state).toBe('DOWN');
  });

  it('ignores health older than the last health seen', () => {
    const d = run(linkIn('ACTIVE'), {
      kind: 'healthObserved',
      status: 'impaired',
      at: '2026-11-26T12:00:00Z',
    }).link;
    expect(
      transition(d, { kind: 'healthObserved', status: 'healthy', at: '2026-11-26T11:59:00Z' }, T0).ignored,
    ).toMatch(/stale/);
  });

  it('the final state depends only on the highest sequence per half, whatever the delivery order', () => {
    const stateAt = (seq: number): 'available' | 'down' => (seq % 3 === 0 ? 'down' : 'available');
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 2, max: 40 }), { minLength: 1, maxLength: 30 }), (seqs) => {
        const observations: LinkInput[] = [...seqs, ...seqs].map((s) => ({
          kind: 'halfObserved',
          side: 'aws',
          sequence: s,
          nativeState: stateAt(s),
        }));
        const final = run(linkIn('ACTIVE'), ...observations).link;
        const top = Math.max(...seqs);
        expect(final.halves.aws.sequence).toBe(top);
        expect(final.state).toBe(stateAt(top) === 'down' ? 'DOWN' : 'ACTIVE');
      }),
    );
  });
});

describe('review findings: races the lifecycle must survive', () => {
  it('decommissioning during PROVISIONING waits for both halves to be confirmed gone (a create may be in flight)', () => {
    const r = run(linkIn('PROVISIONING'), { kind: 'requestDecommission', by: ALICE });
    expect(r.link.state).toBe('DECOMMISSIONING');
    const late = run(r.link, { kind: 'halfObserved', side: 'aws', sequence: 1, nativeState: 'requested' });
    expect(late.link.state).toBe('DECOMMISSIONING');
    const gone = run(
      late.link,
      { kind: 'halfObserved', side: 'aws', sequence: 2, nativeState: 'deleted' },
      { kind: 'halfObserved', side: 'gcp', sequence: 1, nativeState: null },
    );
    expect(gone.link.state).toBe('DECOMMISSIONED');
  });

  it('a half seen alive after DECOMMISSIONED reopens decommissioning, so it is deleted', () => {
    const r = run(linkIn('APPROVED'), { kind: 'requestDecommission', by: ALICE });
    expect(r.link.state).toBe('DECOMMISSIONED');
    const back = run(r.link, { kind: 'halfObserved', side: 'gcp', sequence: 1, nativeState: 'PENDING_KEY' });
    expect(back.link.state).toBe('DECOMMISSIONING');
    expect(back.events[0]?.data.reason).toMatch(/gcp half reappeared/);
  });

  it("the coordinator's expiry stands over an approval that completed here first", () => {
    expect(() => transition(linkIn('APPROVED'), { kind: 'expire' }, T0)).toThrow(IllegalTransitionError);
    expect(transition(linkIn('APPROVED'), { kind: 'expire', authoritative: true }, T0).link.state).toBe(
      'EXPIRED',
    );
    expect(() => transition(linkIn('PROVISIONING'), { kind: 'expire', authoritative: true }, T0)).toThrow(
      IllegalTransitionError,
    );
  });

  it('an observation without adminEnabled keeps a disabled transport down', () => {
    const a = run(linkIn('ACTIVE'), {
      kind: 'halfObserved',
      side: 'gcp',
      sequence: 2,
      nativeState: 'ACTIVE',
      adminEnabled: false,
    });
    expect(a.link.state).toBe('DOWN');
    const b = run(a.link, { kind: 'halfObserved', side: 'gcp', sequence: 3, nativeState: 'ACTIVE' });
    expect(b.link.halves.gcp.condition).toBe('DOWN');
    expect(b.link.state).toBe('DOWN');
  });

  it('refuses self-approval through another session of the same assumed role', () => {
    const link = createLink(
      {
        id: 'lk-01jdx0000000000000000000ab',
        name: 'x',
        initiator: 'aws',
        environment: 'prod',
        requester: 'arn:aws:sts::000000000000:assumed-role/NetOps/alice',
        bandwidth: '1Gbps',
        policyHash: 'a'.repeat(64),
      },
      T0,
    );
    expect(() =>
      transition(
        link,
        { kind: 'approve', side: 'aws', by: 'arn:aws:sts::000000000000:assumed-role/NetOps/approve-me' },
        T0,
      ),
    ).toThrow(PermissionDeniedError);
  });
});

describe('native states', () => {
  it('maps every AWS and Google state', () => {
    expect(conditionOf('aws', 'requested')).toBe('PENDING');
    expect(conditionOf('aws', 'updating')).toBe('UP');
    expect(conditionOf('aws', 'deleted')).toBe('GONE');
    expect(conditionOf('aws', 'failed')).toBe('FAILED');
    expect(conditionOf('gcp', 'PENDING_KEY')).toBe('PENDING');
    expect(conditionOf('gcp', 'ACTIVE', false)).toBe('DOWN');
    expect(conditionOf('gcp', null)).toBe('GONE');
    expect(() => conditionOf('gcp', 'available')).toThrow(/not a gcp native state/);
  });
});
