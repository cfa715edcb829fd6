import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ManualClock } from '#core/clock.ts';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import {
  ConflictError,
  NotFoundError,
  PermissionDeniedError,
  PolicyHashMismatchError,
  PolicyRefusedError,
  ValidationError,
} from '#core/errors.ts';
import { decideApproval } from '#core/link/approve.ts';
import { requestDecommission } from '#core/link/decommission.ts';
import { applyPeerEvent } from '#core/link/peer-events.ts';
import type { LinkDeps } from '#core/link/ports.ts';
import { mutateLink, recordOwnHalf } from '#core/link/record.ts';
import { requestLink } from '#core/link/request.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { MemoryEventSink, MemoryLinkStore } from '../support/memory-store.ts';

const policy = loadPolicy(parse(readFileSync('config/policy.yaml', 'utf8')));
const request = parse(readFileSync('examples/link-request.yaml', 'utf8'));
const ALICE = { principal: 'arn:aws:iam::000000000000:user/alice', side: 'aws' as const };
const BOB = { principal: 'arn:aws:iam::000000000000:user/bob', side: 'aws' as const };
const CAROL = { principal: 'carol@example.com', side: 'gcp' as const };
const gcpOrigin = { cloud: 'gcp', project: 'crosslink-hub', region: 'us-east4' } as const;

let clock: ManualClock;
let store: MemoryLinkStore;
let sink: MemoryEventSink;
let deps: LinkDeps;

beforeEach(() => {
  clock = new ManualClock('2026-11-26T10:00:00Z');
  store = new MemoryLinkStore(clock);
  sink = new MemoryEventSink();
  deps = {
    store,
    events: sink,
    policy,
    clock,
    origin: { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' },
  };
});

/** An event as the peer (Google) would put it on our bus through the relay. */
function peerEvent<T extends object>(name: string, data: T, id?: string): CloudEvent {
  return buildEvent({
    name,
    origin: gcpOrigin,
    subject: (data as { linkId: string }).linkId,
    data,
    clock,
    ...(id ? { id } : {}),
  });
}

/** Carol's approval of `linkId` as the Google side's intake announces it (a peer event here). */
function carolApproved(linkId: string, over: { policyHash?: string; side?: 'aws' | 'gcp' } = {}) {
  return peerEvent('LinkApproved', {
    linkId,
    policyHash: over.policyHash ?? policy.hash,
    side: over.side ?? 'gcp',
    approver: CAROL.principal,
    approvedAt: '2026-11-26T10:01:00Z',
    auto: false,
  });
}

describe('requestLink', () => {
  it('stores a REQUESTED link for the verified requester, audits it and emits LinkRequested', async () => {
    // Act
    const out = await requestLink(deps, { request, caller: ALICE });
    // Assess
    expect(out.created).toBe(true);
    expect(out.link).toMatchObject({
      state: 'REQUESTED',
      requester: ALICE.principal,
      requesterIdentity: 'person:alice',
      initiator: 'aws',
      policyHash: policy.hash,
    });
    expect((await store.get(out.link.id))?.link.id).toBe(out.link.id);
    expect(sink.names()).toEqual(['LinkRequested']);
    expect(sink.events[0]?.data).toMatchObject({
      linkId: out.link.id,
      requester: ALICE.principal,
      requestedVia: 'aws',
      policyHash: policy.hash,
    });
    expect(store.audit).toEqual([
      expect.objectContaining({ action: 'request', outcome: 'allowed', actor: ALICE.principal }),
    ]);
  });

  it('refuses by policy with every failing rule, and stores nothing', async () => {
    const err = await requestLink(deps, {
      request: { ...request, residency: 'EU', bandwidth: '3Gbps' },
      caller: BOB,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(PolicyRefusedError);
    expect((err as PolicyRefusedError).reasons.map((r) => r.split(':')[0])).toEqual([
      'residency',
      'bandwidth',
      'roles.requester',
    ]);
    expect(store.links.size).toBe(0);
    expect(sink.events).toEqual([]);
  });

  it('refuses malformed requests by field', async () => {
    await expect(
      requestLink(deps, { request: { ...request, initiator: 'azure' }, caller: ALICE }),
    ).rejects.toThrow(ValidationError);
  });

  it('the same idempotency key returns the same link (one link, one event)', async () => {
    const a = await requestLink(deps, { request, caller: ALICE, idempotencyKey: 'k1' });
    clock.advance(1000);
    const b = await requestLink(deps, { request, caller: ALICE, idempotencyKey: 'k1' });
    expect(b.link.id).toBe(a.link.id);
    expect(b.created).toBe(false);
    expect(store.links.size).toBe(1);
    expect(sink.names()).toEqual(['LinkRequested']);
    const c = await requestLink(deps, { request, caller: ALICE, idempotencyKey: 'k2' });
    expect(c.link.id).not.toBe(a.link.id);
  });

  it('auto-approves nonprod links under the cap on both sides', async () => {
    const out = await requestLink(deps, { request: { ...request, environment: 'nonprod' }, caller: ALICE });
    expect(out.link.state).toBe('APPROVED');
    expect(sink.names()).toEqual(['LinkRequested', 'LinkApproved', 'LinkApproved']);
  });

  it('uses live capacity when a probe is given', async () => {
    deps.capacity = { check: async () => ({ environmentState: 'unavailable' }) };
    await expect(requestLink(deps, { request, caller: ALICE })).rejects.toThrow(
      /capacity: the AWS environment is unavailable/,
    );
  });
});

describe('decideApproval', () => {
  it('records the approver of this side and emits LinkApproved; both sides make it APPROVED', async () => {
    const { link } = await requestLink(deps, { request, caller: ALICE });
    await decideApproval(deps, { linkId: link.id, caller: BOB, decision: 'approve' });
    expect((await store.get(link.id))?.link.state).toBe('AWAITING_APPROVAL');
    // Carol approves on Google; her approval arrives here as a peer event.
    await applyPeerEvent(deps, carolApproved(link.id));
    const stored = await store.get(link.id);
    expect(stored?.link.state).toBe('APPROVED');
    expect(sink.names()).toEqual(['LinkRequested', 'LinkApproved', 'LinkStateChanged', 'LinkStateChanged']);
  });

  it('refuses self-approval and approvers of the wrong side, and audits the refusal', async () => {
    const { link } = await requestLink(deps, { request, caller: ALICE });
    await expect(
      decideApproval(deps, { linkId: link.id, caller: ALICE, decision: 'approve' }),
    ).rejects.toThrow(PermissionDeniedError);
    await expect(
      decideApproval(deps, {
        linkId: link.id,
        caller: { principal: 'alice@example.com', side: 'gcp' },
        decision: 'approve',
      }),
    ).rejects.toThrow(/cannot approve/);
    await expect(
      decideApproval(deps, {
        linkId: link.id,
        caller: { principal: CAROL.principal, side: 'aws' },
        decision: 'approve',
      }),
    ).rejects.toThrow(/not an approver for aws/);
    expect(store.audit.filter((a) => a.outcome === 'refused')).toHaveLength(3);
    expect((await store.get(link.id))?.link.approvals).toEqual([]);
  });

  it('a rejection needs a reason and ends the link REJECTED', async () => {
    const { link } = await requestLink(deps, { request, caller: ALICE });
    await expect(decideApproval(deps, { linkId: link.id, caller: BOB, decision: 'reject' })).rejects.toThrow(
      /reason: is required/,
    );
    await decideApproval(deps, {
      linkId: link.id,
      caller: BOB,
      decision: 'reject',
      reason: 'not this quarter',
    });
    expect((await store.get(link.id))?.link.state).toBe('REJECTED');
    expect(sink.names().slice(-2)).toEqual(['LinkRejected', 'LinkStateChanged']);
  });

  it('a repeated approval changes nothing and emits nothing', async () => {
    const { link } = await requestLink(deps, { request, caller: ALICE });
    await decideApproval(deps, { linkId: link.id, caller: BOB, decision: 'approve' });
    const before = sink.events.length;
    await decideApproval(deps, { linkId: link.id, caller: BOB, decision: 'approve' });
    expect(sink.events.length).toBe(before);
  });

  it('unknown links are not found', async () => {
    await expect(
      decideApproval(deps, { linkId: 'lk-01jdx0000000000000000000aa', caller: BOB, decision: 'approve' }),
    ).rejects.toThrow(NotFoundError);
  });
});

describe('mutateLink', () => {
  it('retries a lost conditional write against the fresh record', async () => {
    const { link } = await requestLink(deps, { request, caller: ALICE });
    let raced = false;
    const realUpdate = store.update.bind(store);
    store.update = async (l, v) => {
      if (!raced) {
        raced = true;
        // Another writer gets in first: Google's approval lands between our read and our write.
        await realUpdate(
          {
            ...(await store.get(l.id))!.link,
            approvals: [
              { side: 'gcp', decision: 'approved', by: CAROL.principal, at: '2026-11-26T10:00:00.000Z' },
            ],
            state: 'AWAITING_APPROVAL',
          },
          v,
        );
        throw new ConflictError('raced');
      }
      return realUpdate(l, v);
    };
    const r = await mutateLink(deps, link.id, { kind: 'approve', side: 'aws', by: BOB.principal });
    expect(r.link.state).toBe('APPROVED');
    expect(r.link.approvals.map((a) => a.side).sort()).toEqual(['aws', 'gcp']);
  });
});

describe('applyPeerEvent', () => {
  it('creates the replica from LinkRequested, then applies half states only with a higher sequence', async () => {
    const linkId = 'lk-01jdx0000000000000000000ab';
    const requested = peerEvent('LinkRequested', {
      linkId,
      policyHash: policy.hash,
      request: { ...request, initiator: 'gcp' },
      requester: 'alice@example.com',
      requestedVia: 'gcp',
      requestedAt: '2026-11-26T09:59:00Z',
    });
    expect((await applyPeerEvent(deps, requested)).outcome).toBe('applied');
    expect((await store.get(linkId))?.link).toMatchObject({
      initiator: 'gcp',
      requester: 'alice@example.com',
      state: 'REQUESTED',
    });

    const side = (sequence: number, nativeState: string) =>
      peerEvent('LinkSideStateChanged', {
        linkId,
        policyHash: policy.hash,
        side: 'gcp',
        sequence,
        nativeState,
        previousNativeState: null,
        condition: 'PENDING',
        observedAt: '2026-11-26T10:00:00Z',
      });
    expect((await applyPeerEvent(deps, side(2, 'PENDING_KEY'))).outcome).toBe('applied');
    expect(await applyPeerEvent(deps, side(1, 'CREATING'))).toMatchObject({
      outcome: 'ignored',
      reason: expect.stringMatching(/stale/),
    });
    expect((await store.get(linkId))?.link.halves.gcp).toMatchObject({
      nativeState: 'PENDING_KEY',
      sequence: 2,
    });
  });

  it('a redelivered event changes nothing', async () => {
    const { link } = await requestLink(deps, { request, caller: ALICE });
    const ev = carolApproved(link.id);
    expect((await applyPeerEvent(deps, ev)).outcome).toBe('applied');
    expect(await applyPeerEvent(deps, ev)).toMatchObject({
      outcome: 'ignored',
      reason: 'duplicate: gcp already approved',
    });
  });

  it('audits each peer event with its id and the time its producer emitted it, not when it arrived', async () => {
    const { link } = await requestLink(deps, { request, caller: ALICE });
    const ev = carolApproved(link.id);
    clock.advance(90_000); // the relay took a while
    await applyPeerEvent(deps, ev);
    await applyPeerEvent(deps, ev);
    const peer = store.audit.filter((a) => a.actor === 'peer:gcp');
    expect(peer).toEqual([
      expect.objectContaining({ outcome: 'applied', eventId: ev.id, eventTime: ev.time }),
      expect.objectContaining({ outcome: 'ignored', eventId: ev.id, eventTime: ev.time }),
    ]);
    expect(peer[0]?.at).toBe(new Date(Date.parse(ev.time) + 90_000).toISOString());
  });

  it('refuses an event made under another policy, with a clear error, and audits it', async () => {
    const { link } = await requestLink(deps, { request, caller: ALICE });
    const ev = carolApproved(link.id, { policyHash: 'b'.repeat(64) });
    await expect(applyPeerEvent(deps, ev)).rejects.toThrow(PolicyHashMismatchError);
    await expect(applyPeerEvent(deps, ev)).rejects.toThrow(
      /deploy the same config\/policy.yaml on both clouds/,
    );
    expect(store.audit.at(-1)).toMatchObject({
      outcome: 'refused',
      actor: 'peer:gcp',
      eventId: ev.id,
      eventTime: ev.time,
    });
    expect((await store.get(link.id))?.link.approvals).toEqual([]);
  });

  it('ignores its own events and a peer speaking for this side', async () => {
    const { link } = await requestLink(deps, { request, caller: ALICE });
    expect((await applyPeerEvent(deps, sink.events[0] as CloudEvent)).outcome).toBe('ignored');
    const forged = carolApproved(link.id, { side: 'aws' });
    expect((await applyPeerEvent(deps, forged)).outcome).toBe('ignored');
    expect((await store.get(link.id))?.link.approvals).toEqual([]);
  });

  it('refuses malformed peer data by field', async () => {
    const ev = peerEvent('LinkApproved', { linkId: 'nope', policyHash: policy.hash });
    await expect(applyPeerEvent(deps, ev)).rejects.toThrow(ValidationError);
  });
});

describe('requestDecommission', () => {
  it('requesters and approvers of the environment may ask; others may not', async () => {
    const { link } = await requestLink(deps, {
      request: { ...request, environment: 'nonprod' },
      caller: ALICE,
    });
    await mutateLink(deps, link.id, { kind: 'startProvisioning' });
    await expect(
      requestDecommission(deps, {
        linkId: link.id,
        caller: { principal: 'arn:aws:iam::111111111111:user/eve', side: 'aws' },
      }),
    ).rejects.toThrow(PermissionDeniedError);
    const r = await requestDecommission(deps, { linkId: link.id, caller: BOB });
    // Provisioning had started, so a create may be in flight: it waits for both halves to be confirmed gone.
    expect(r.link.state).toBe('DECOMMISSIONING');
    expect(sink.names()).toContain('LinkDecommissionRequested');
  });
});

describe('review findings: delivery and races', () => {
  const gcpDeps = (): LinkDeps => ({
    store: new MemoryLinkStore(clock),
    events: new MemoryEventSink(),
    policy,
    clock,
    origin: gcpOrigin,
  });
  const awsEvent = (name: string, data: object) =>
    buildEvent({ name, origin: deps.origin, subject: (data as { linkId: string }).linkId, data, clock });

  it('an event about a link not known yet is refused for redelivery, and applies once the link is known', async () => {
    const { link } = await requestLink(deps, { request, caller: ALICE });
    const g = gcpDeps();
    const early = awsEvent('LinkApproved', {
      linkId: link.id,
      policyHash: policy.hash,
      side: 'aws',
      approver: BOB.principal,
      approvedAt: '2026-11-26T10:01:00Z',
      auto: false,
    });
    await expect(applyPeerEvent(g, early)).rejects.toThrow(NotFoundError);
    await applyPeerEvent(g, sink.events[0] as CloudEvent); // LinkRequested
    expect((await applyPeerEvent(g, early)).outcome).toBe('applied');
    expect((await g.store.get(link.id))?.link.approvals.map((a) => a.side)).toEqual(['aws']);
  });

  it('a put that fails after the write loses nothing: the retry puts the same event', async () => {
    const { link } = await requestLink(deps, { request, caller: ALICE });
    const realPut = sink.put.bind(sink);
    let failures = 1;
    sink.put = async (events) => {
      if (failures-- > 0) throw new Error('EventBridge unavailable');
      return realPut(events);
    };
    await expect(decideApproval(deps, { linkId: link.id, caller: BOB, decision: 'approve' })).rejects.toThrow(
      /unavailable/,
    );
    await decideApproval(deps, { linkId: link.id, caller: BOB, decision: 'approve' });
    expect(sink.names()).toEqual(['LinkRequested', 'LinkApproved', 'LinkStateChanged']);
    expect((await store.get(link.id))?.link.outbox).toEqual([]);
  });

  it('auto-approval holds on both sides, whichever intake took the request', async () => {
    const { link } = await requestLink(deps, {
      request: { ...request, environment: 'nonprod', initiator: 'gcp' },
      caller: ALICE,
    });
    expect(link.state).toBe('APPROVED');
    const g = gcpDeps();
    for (const e of sink.events) await applyPeerEvent(g, e);
    expect((await g.store.get(link.id))?.link.state).toBe('APPROVED');
  });

  it("the coordinator's expiry wins over a late approval, and a late approval at the coordinator gets the verdict again", async () => {
    // AWS coordinates. Carol approved on Google, so Google's replica is APPROVED once Bob's approval arrived...
    const { link } = await requestLink(deps, { request, caller: ALICE });
    const g = gcpDeps();
    await applyPeerEvent(g, sink.events[0] as CloudEvent);
    await decideApproval(g, { linkId: link.id, caller: CAROL, decision: 'approve' });
    await applyPeerEvent(
      g,
      awsEvent('LinkApproved', {
        linkId: link.id,
        policyHash: policy.hash,
        side: 'aws',
        approver: BOB.principal,
        approvedAt: '2026-11-26T10:01:00Z',
        auto: false,
      }),
    );
    expect((await g.store.get(link.id))?.link.state).toBe('APPROVED');
    // ...but the coordinator had expired the wait before Carol's approval reached it.
    await mutateLink(deps, link.id, { kind: 'expire' });
    const carolsApproval = (g.events as MemoryEventSink).events.find(
      (e) => e.type === 'crosslink.LinkApproved.v1',
    ) as CloudEvent;
    expect(await applyPeerEvent(deps, carolsApproval)).toMatchObject({ outcome: 'ignored' });
    const verdict = sink.events.at(-1) as CloudEvent;
    expect(verdict.type).toBe('crosslink.LinkExpired.v1');
    await applyPeerEvent(g, verdict);
    expect((await g.store.get(link.id))?.link.state).toBe('EXPIRED');
  });

  it('state events carry the policy each side runs now, not the one the link was made under', async () => {
    const { link } = await requestLink(deps, { request, caller: ALICE });
    const newer = loadPolicy({
      ...parse(readFileSync('config/policy.yaml', 'utf8')),
      routes: { maxPrefixesPerSide: 50 },
    });
    await decideApproval({ ...deps, policy: newer }, { linkId: link.id, caller: BOB, decision: 'approve' });
    const changed = sink.events.filter((e) => e.type === 'crosslink.LinkStateChanged.v1');
    expect(changed.map((e) => (e.data as { policyHash: string }).policyHash)).toEqual([newer.hash]);
  });

  it('overlapping watcher runs get distinct sequences, and only real changes are published', async () => {
    const { link } = await requestLink(deps, { request, caller: ALICE });
    const [a, b] = await Promise.all([
      recordOwnHalf(deps, { linkId: link.id, nativeState: 'pending', resourceId: 'mcc-1a2b3c4d' }),
      recordOwnHalf(deps, { linkId: link.id, nativeState: 'available', resourceId: 'mcc-1a2b3c4d' }),
    ]);
    expect([a.ignored, b.ignored]).toEqual([undefined, undefined]);
    await recordOwnHalf(deps, { linkId: link.id, nativeState: 'available', resourceId: 'mcc-1a2b3c4d' });
    // Two concurrent flushes may both put an event (at-least-once): with the same id, which receivers dedupe.
    const unique = new Map(
      sink.events.filter((e) => e.type === 'crosslink.LinkSideStateChanged.v1').map((e) => [e.id, e]),
    );
    const side = [...unique.values()].map((e) => e.data as { sequence: number; nativeState: string });
    expect(side.map((d) => d.sequence)).toEqual([1, 2]);
    expect((await store.get(link.id))?.link.halves.aws).toMatchObject({
      sequence: 2,
      nativeState: side[1]?.nativeState,
    });
  });

  it('an idempotency key reused with another request is refused', async () => {
    await requestLink(deps, { request, caller: ALICE, idempotencyKey: 'k' });
    await expect(
      requestLink(deps, { request: { ...request, name: 'other' }, caller: ALICE, idempotencyKey: 'k' }),
    ).rejects.toThrow(/idempotencyKey: was used for a different request/);
  });
});
