/**
 * Decommissioning needs one approval from either side by someone other than the person who asked;
 * rejection and expiry close the request and leave the link as it was; a stalled drain raises the
 * attempt. The transition first, then the use cases (intake side and peer events), then verify's
 * pure prefix coverage and its failure of a provisioned link.
 */
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ManualClock } from '#core/clock.ts';
import { buildEvent } from '#core/envelope.ts';
import { IllegalTransitionError, PermissionDeniedError, ValidationError } from '#core/errors.ts';
import { decideDecommission, requestDecommission } from '#core/link/decommission.ts';
import type { LinkRecord } from '#core/link/model.ts';
import { applyPeerEvent } from '#core/link/peer-events.ts';
import type { LinkDeps } from '#core/link/ports.ts';
import { associationToExtend, prefixCoverage } from '#core/link/prefixes.ts';
import { mutateLink } from '#core/link/record.ts';
import { requestLink } from '#core/link/request.ts';
import { createLink, type LinkInput, transition } from '#core/link/transition.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { MemoryEventSink, MemoryLinkStore } from '../support/memory-store.ts';

const T0 = Date.parse('2026-11-26T10:00:00Z');
const ALICE = 'arn:aws:iam::000000000000:user/alice';
const BOB = 'arn:aws:iam::000000000000:user/bob';
const CAROL = 'carol@example.com';

function activeLink(): LinkRecord {
  let link = createLink(
    {
      id: 'lk-01jdx0000000000000000000aa',
      name: 'east',
      initiator: 'aws',
      environment: 'prod',
      requester: ALICE,
      requesterIdentity: 'alice',
      bandwidth: '1Gbps',
      policyHash: 'a'.repeat(64),
    },
    T0,
  );
  const inputs: LinkInput[] = [
    { kind: 'requestApproval' },
    { kind: 'approve', side: 'aws', by: BOB },
    { kind: 'approve', side: 'gcp', by: CAROL },
    { kind: 'startProvisioning' },
    { kind: 'halfObserved', side: 'aws', sequence: 1, nativeState: 'available' },
    { kind: 'halfObserved', side: 'gcp', sequence: 1, nativeState: 'ACTIVE' },
  ];
  for (const [i, input] of inputs.entries()) link = transition(link, input, T0 + i * 1000).link;
  expect(link.state).toBe('ACTIVE');
  return link;
}

const propose = (by = ALICE, identity = 'alice'): LinkInput => ({
  kind: 'proposeDecommission',
  by,
  identity,
  via: 'aws',
  reason: 'migrated',
});

describe('decommission transitions', () => {
  it('records a pending request and leaves the link ACTIVE, without a state event', () => {
    const r = transition(activeLink(), propose(), T0 + 60_000);
    expect(r.link.state).toBe('ACTIVE');
    expect(r.events).toEqual([]);
    expect(r.link.decommission).toMatchObject({ status: 'PENDING', requestedBy: ALICE, attempt: 1 });
    expect(transition(r.link, propose(BOB, 'bob'), T0 + 61_000).ignored).toMatch(/pending/);
  });

  it('one approval from either side moves the link to DECOMMISSIONING', () => {
    for (const [side, by] of [
      ['aws', BOB],
      ['gcp', CAROL],
    ] as const) {
      const pending = transition(activeLink(), propose(), T0 + 60_000).link;
      const r = transition(
        pending,
        { kind: 'decideDecommission', side, by, decision: 'approve' },
        T0 + 61_000,
      );
      expect(r.link.state).toBe('DECOMMISSIONING');
      expect(r.link.decommission).toMatchObject({ status: 'APPROVED', decision: { side, by } });
      expect(r.events.map((e) => e.data.to)).toEqual(['DECOMMISSIONING']);
    }
  });

  it('refuses the requester, by principal or as the same person from the other cloud', () => {
    const pending = transition(activeLink(), propose(), T0 + 60_000).link;
    const decide = (by: string, identity?: string) =>
      transition(
        pending,
        {
          kind: 'decideDecommission',
          side: by.includes('@') ? 'gcp' : 'aws',
          by,
          decision: 'approve',
          ...(identity ? { identity } : {}),
        },
        T0 + 61_000,
      );
    expect(() => decide(ALICE)).toThrow(PermissionDeniedError);
    expect(() => decide('alice@example.com', 'alice')).toThrow(PermissionDeniedError);
    expect(() => decide(BOB, 'bob')).not.toThrow();
  });

  it('a rejection or an expiry closes the request and leaves the link as it was', () => {
    const pending = transition(activeLink(), propose(), T0 + 60_000).link;
    const rejected = transition(
      pending,
      { kind: 'decideDecommission', side: 'aws', by: BOB, decision: 'reject', reason: 'still in use' },
      T0 + 61_000,
    );
    expect(rejected.link.state).toBe('ACTIVE');
    expect(rejected.link.decommission).toMatchObject({
      status: 'REJECTED',
      decision: { reason: 'still in use' },
    });
    const expired = transition(pending, { kind: 'expireDecommission' }, T0 + 62_000);
    expect(expired.link.state).toBe('ACTIVE');
    expect(expired.link.decommission?.status).toBe('EXPIRED');
    expect(transition(expired.link, { kind: 'expireDecommission' }, T0 + 63_000).ignored).toBe(
      'already EXPIRED',
    );
    // A closed request takes no late approval; a new request starts over.
    expect(() =>
      transition(
        expired.link,
        { kind: 'decideDecommission', side: 'aws', by: BOB, decision: 'approve' },
        T0 + 64_000,
      ),
    ).toThrow(IllegalTransitionError);
    expect(transition(expired.link, propose(), T0 + 65_000).link.decommission?.status).toBe('PENDING');
  });

  it('approving a decommission another approver already approved changes nothing and is no error', () => {
    // Prepare: bob (AWS) approved the request.
    const pending = transition(activeLink(), propose(), T0 + 60_000).link;
    const approved = transition(
      pending,
      { kind: 'decideDecommission', side: 'aws', by: BOB, decision: 'approve' },
      T0 + 61_000,
    ).link;
    // Act: carol (Google) approves it too; then rejects it.
    const again = transition(
      approved,
      { kind: 'decideDecommission', side: 'gcp', by: CAROL, decision: 'approve' },
      T0 + 62_000,
    );
    // Assess: the same record, and why; a contrary decision is still refused.
    expect(again.link).toEqual(approved);
    expect(again.events).toEqual([]);
    expect(again.ignored).toBe(`duplicate: decommission already approved by ${BOB}`);
    expect(() =>
      transition(
        approved,
        { kind: 'decideDecommission', side: 'gcp', by: CAROL, decision: 'reject', reason: 'no' },
        T0 + 63_000,
      ),
    ).toThrow(IllegalTransitionError);
  });

  it('auto-approval moves at once; nothing to expire when nothing is pending', () => {
    const r = transition(activeLink(), { ...propose(), auto: true } as LinkInput, T0 + 60_000);
    expect(r.link.state).toBe('DECOMMISSIONING');
    expect(r.link.decommission?.decision?.by).toBe('policy:auto-approve');
    expect(() => transition(activeLink(), { kind: 'expireDecommission' }, T0)).toThrow(
      IllegalTransitionError,
    );
  });

  it('a stalled drain raises the attempt and keeps DECOMMISSIONING; only an approved decommission stalls', () => {
    const pending = transition(activeLink(), propose(), T0 + 60_000).link;
    const approved = transition(
      pending,
      { kind: 'decideDecommission', side: 'gcp', by: CAROL, decision: 'approve' },
      T0 + 61_000,
    ).link;
    const r = transition(approved, { kind: 'drainStalled', reason: 'gcp never drained' }, T0 + 62_000);
    expect(r.link.state).toBe('DECOMMISSIONING');
    expect(r.link.decommission).toMatchObject({ attempt: 2, stalled: { reason: 'gcp never drained' } });
    expect(() => transition(pending, { kind: 'drainStalled', reason: 'x' }, T0)).toThrow(
      IllegalTransitionError,
    );
  });

  it('failVerify closes a provisioned link (even ACTIVE) as FAILED, and nothing before provisioning', () => {
    const r = transition(
      activeLink(),
      { kind: 'failVerify', reason: 'PrefixesNotCoveredError' },
      T0 + 60_000,
    );
    expect(r.link.state).toBe('FAILED');
    expect(transition(r.link, { kind: 'failVerify', reason: 'again' }, T0).ignored).toBe('already FAILED');
    const fresh = createLink(
      {
        id: 'lk-01jdx0000000000000000000ab',
        name: 'x',
        initiator: 'aws',
        environment: 'prod',
        requester: ALICE,
        bandwidth: '1Gbps',
        policyHash: 'a'.repeat(64),
      },
      T0,
    );
    expect(() => transition(fresh, { kind: 'failVerify', reason: 'x' }, T0)).toThrow(IllegalTransitionError);
  });
});

describe('decommission use cases', () => {
  const policy = loadPolicy(parse(readFileSync('config/policy.yaml', 'utf8')));
  const request = parse(readFileSync('examples/link-request.yaml', 'utf8'));
  const caller = (principal: string) =>
    ({ principal, side: principal.includes('@') ? 'gcp' : 'aws' }) as const;
  let clock: ManualClock;
  let sink: MemoryEventSink;
  let deps: LinkDeps;

  beforeEach(() => {
    clock = new ManualClock('2026-11-26T10:00:00Z');
    sink = new MemoryEventSink();
    deps = {
      store: new MemoryLinkStore(clock),
      events: sink,
      policy,
      clock,
      origin: { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' },
    };
  });

  async function provisioned(environment: 'prod' | 'nonprod' = 'prod') {
    const { link } = await requestLink(deps, { request: { ...request, environment }, caller: caller(ALICE) });
    if (environment === 'prod') {
      await mutateLink(deps, link.id, { kind: 'approve', side: 'aws', by: BOB });
      await mutateLink(deps, link.id, { kind: 'approve', side: 'gcp', by: CAROL });
    }
    await mutateLink(deps, link.id, { kind: 'startProvisioning' });
    return link.id;
  }

  it('a prod request waits for an approver; the requester cannot approve; bob can', async () => {
    const id = await provisioned();
    const asked = await requestDecommission(deps, { linkId: id, caller: caller(ALICE), reason: 'migrated' });
    expect(asked.link.state).toBe('PROVISIONING');
    expect(asked.link.decommission?.status).toBe('PENDING');
    expect(sink.names()).toContain('LinkDecommissionRequested');
    await expect(
      decideDecommission(deps, { linkId: id, caller: caller(ALICE), decision: 'approve' }),
    ).rejects.toThrow(/requested this decommission/);
    await expect(
      decideDecommission(deps, { linkId: id, caller: caller(BOB), decision: 'reject' }),
    ).rejects.toThrow(ValidationError);
    const r = await decideDecommission(deps, { linkId: id, caller: caller(BOB), decision: 'approve' });
    expect(r.link.state).toBe('DECOMMISSIONING');
    const approved = sink.events.filter((e) => e.type.includes('LinkApproved')).at(-1);
    expect(approved?.data).toMatchObject({ stage: 'decommissioning', approver: BOB, side: 'aws' });
    const audit = await deps.store.listAudit(id);
    expect(audit.some((a) => a.action === 'decommission-approve' && a.outcome === 'refused')).toBe(true);
  });

  it('a link approved by policy is decommissioned by policy', async () => {
    const id = await provisioned('nonprod');
    const r = await requestDecommission(deps, { linkId: id, caller: caller(BOB) });
    expect(r.link.state).toBe('DECOMMISSIONING');
    expect(r.link.decommission?.decision?.by).toBe('policy:auto-approve');
  });

  it("applies the peer's request, approval, rejection and expiry of a decommission", async () => {
    const id = await provisioned();
    const at = '2026-11-26T10:05:00Z';
    const peer = (name: string, data: object) =>
      applyPeerEvent(
        deps,
        buildEvent({
          name,
          origin: { cloud: 'gcp', project: 'crosslink-hub', region: 'us-east4' },
          subject: id,
          clock,
          data: { linkId: id, policyHash: policy.hash, ...data },
        }),
      );
    await peer('LinkDecommissionRequested', { requestedBy: CAROL, requestedVia: 'gcp', requestedAt: at });
    expect((await deps.store.get(id))?.link.decommission).toMatchObject({
      status: 'PENDING',
      requestedBy: CAROL,
    });
    // carol approving her own request (relayed) is dropped; the request stays pending.
    const own = await peer('LinkApproved', {
      side: 'gcp',
      approver: CAROL,
      approvedAt: at,
      auto: false,
      stage: 'decommissioning',
    });
    expect(own.outcome).toBe('ignored');
    await peer('LinkExpired', { waitingFor: ['aws', 'gcp'], expiredAt: at, stage: 'decommissioning' });
    const link = (await deps.store.get(id))?.link;
    expect(link?.state).toBe('PROVISIONING');
    expect(link?.decommission?.status).toBe('EXPIRED');
    // A provisioning LinkExpired (no stage) would not touch the decommission.
    await peer('LinkDecommissionRequested', { requestedBy: CAROL, requestedVia: 'gcp', requestedAt: at });
    await peer('LinkRejected', {
      side: 'gcp',
      approver: 'dave@example.com',
      rejectedAt: at,
      reason: 'in use',
      stage: 'decommissioning',
    });
    expect((await deps.store.get(id))?.link.decommission?.status).toBe('REJECTED');
  });
});

describe('verify: prefix coverage', () => {
  const assoc = (id: string, state: string, allowedPrefixes: string[]) => ({
    associationId: id,
    state,
    allowedPrefixes,
  });

  it('covers a route inside an applied prefix; names the rest missing or pending', () => {
    const associations = [
      assoc('b', 'associated', ['10.10.0.0/16']),
      assoc('a', 'updating', ['10.30.0.0/16']),
      assoc('c', 'disassociating', ['10.40.0.0/16']),
    ];
    expect(
      prefixCoverage(
        ['10.10.4.0/24', '10.10.0.0/16', '10.30.0.0/24', '10.40.0.0/24', '10.0.0.0/8'],
        associations,
      ),
    ).toEqual({ missing: ['10.40.0.0/24', '10.0.0.0/8'], pending: ['10.30.0.0/24'] });
    expect(associationToExtend(associations)?.associationId).toBe('b');
    expect(associationToExtend([assoc('a', 'updating', [])])).toBeUndefined();
  });
});
