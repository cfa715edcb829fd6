/**
 * The behaviour every `LinkStore` must have, run against the in-memory store (the reference the core
 * tests use) and the DynamoDB store, so the two cannot drift apart.
 */
import { describe, expect, it } from 'vitest';
import type { ManualClock } from '#core/clock.ts';
import { ConflictError } from '#core/errors.ts';
import { mintLinkId } from '#core/ids.ts';
import type { LinkRecord } from '#core/link/model.ts';
import type { AuditEntry, LinkStore } from '#core/link/ports.ts';
import { createLink } from '#core/link/transition.ts';

export interface StoreFixture {
  store: LinkStore;
  clock: ManualClock;
}

function aLink(clock: ManualClock, name = 'east-west'): LinkRecord {
  return createLink(
    {
      id: mintLinkId(clock),
      name,
      initiator: 'aws',
      environment: 'nonprod',
      requester: 'arn:aws:iam::111111111111:user/alice',
      bandwidth: '1Gbps',
      policyHash: 'a'.repeat(64),
    },
    clock.now(),
  );
}

export function linkStoreContract(name: string, setup: () => Promise<StoreFixture>): void {
  describe(`LinkStore contract: ${name}`, () => {
    it('creates once, then refuses a second create with ConflictError', async () => {
      const { store, clock } = await setup();
      const link = aLink(clock);
      expect(await store.create(link)).toEqual({ link, version: 1 });
      await expect(store.create(link)).rejects.toBeInstanceOf(ConflictError);
      expect(await store.get(link.id)).toEqual({ link, version: 1 });
    });

    it('returns undefined for an unknown link', async () => {
      const { store, clock } = await setup();
      expect(await store.get(mintLinkId(clock))).toBeUndefined();
    });

    it('updates only against the version it read', async () => {
      const { store, clock } = await setup();
      const link = aLink(clock);
      await store.create(link);
      const next = { ...link, state: 'AWAITING_APPROVAL' as const };
      expect((await store.update(next, 1)).version).toBe(2);
      await expect(store.update({ ...link, state: 'REJECTED' }, 1)).rejects.toBeInstanceOf(ConflictError);
      expect(await store.get(link.id)).toEqual({ link: next, version: 2 });
    });

    it('keeps optional fields and drops undefined ones', async () => {
      const { store, clock } = await setup();
      const link = aLink(clock);
      link.halves.aws.resourceId = 'mcc-12345678';
      await store.create(link);
      expect((await store.get(link.id))?.link.halves.aws.resourceId).toBe('mcc-12345678');
    });

    it('lists by id order, pages with a cursor and filters by state', async () => {
      const { store, clock } = await setup();
      const made: LinkRecord[] = [];
      for (let i = 0; i < 5; i++) {
        clock.advance(1000);
        const l = aLink(clock, `link-${i}`);
        if (i % 2 === 0) l.state = 'ACTIVE';
        await store.create(l);
        made.push(l);
      }
      const ids = made.map((l) => l.id).sort();
      const first = await store.list({ limit: 2 });
      expect(first.items.map((l) => l.id)).toEqual(ids.slice(0, 2));
      expect(first.cursor).toBeDefined();
      const second = await store.list({ limit: 2, cursor: first.cursor as string });
      expect(second.items.map((l) => l.id)).toEqual(ids.slice(2, 4));
      const third = await store.list({ limit: 2, cursor: second.cursor as string });
      expect(third.items.map((l) => l.id)).toEqual(ids.slice(4));
      expect(third.cursor).toBeUndefined();
      const active = await store.list({ state: 'ACTIVE' });
      expect(active.items.map((l) => l.name).sort()).toEqual(['link-0', 'link-2', 'link-4']);
    });

    it('appends audit entries per link, in order, never mixing links', async () => {
      const { store, clock } = await setup();
      const a = aLink(clock);
      const entry = (action: string, at: number, linkId = a.id): AuditEntry => ({
        linkId,
        at: new Date(at).toISOString(),
        actor: 'arn:aws:iam::111111111111:user/bob',
        action,
        outcome: 'allowed',
        policyHash: 'a'.repeat(64),
        reasons: ['because'],
      });
      await store.appendAudit(entry('request', 1000));
      await store.appendAudit(entry('approve', 2000));
      await store.appendAudit(entry('approve', 2000)); // the same entry twice is two entries
      await store.appendAudit(entry('request', 1500, mintLinkId(clock)));
      expect((await store.listAudit(a.id)).map((e) => e.action)).toEqual(['request', 'approve', 'approve']);
    });

    it('keeps the CloudEvent id and time of an audit entry that records a peer event', async () => {
      const { store, clock } = await setup();
      const a = aLink(clock);
      const entry: AuditEntry = {
        linkId: a.id,
        at: '2026-06-01T00:00:05.000Z',
        actor: 'peer:gcp',
        action: 'LinkApproved',
        outcome: 'ignored',
        policyHash: 'a'.repeat(64),
        reasons: ['duplicate: gcp already approved'],
        eventId: '01JX0000000000000000000001',
        eventTime: '2026-06-01T00:00:01.250Z',
      };
      await store.appendAudit(entry);
      expect(await store.listAudit(a.id)).toEqual([entry]);
    });

    it('claims a key once until it expires, returning the first result', async () => {
      const { store, clock } = await setup();
      const t = clock.now();
      expect(await store.claim('event:01ABC', t + 60_000, 'lk-first')).toEqual({ claimed: true });
      expect(await store.claim('event:01ABC', t + 60_000, 'lk-second')).toEqual({
        claimed: false,
        result: 'lk-first',
      });
      clock.advance(60_001);
      expect(await store.claim('event:01ABC', clock.now() + 60_000, 'lk-third')).toEqual({ claimed: true });
      expect(await store.claim('event:01ABC', clock.now() + 60_000, 'x')).toEqual({
        claimed: false,
        result: 'lk-third',
      });
    });

    it('settles a claim: done with a new result and expiry, or freed by an expiry already past', async () => {
      const { store, clock } = await setup();
      const t = clock.now();
      expect(await store.claim('peer-event:01A', t + 1000, 'pending')).toEqual({ claimed: true });
      await store.settle('peer-event:01A', t + 60_000, 'done');
      clock.advance(2000); // past the first expiry: the settled one holds
      expect(await store.claim('peer-event:01A', clock.now() + 1000, 'x')).toEqual({
        claimed: false,
        result: 'done',
      });
      await store.settle('peer-event:01A', clock.now(), null);
      expect(await store.claim('peer-event:01A', clock.now() + 1000, 'again')).toEqual({ claimed: true });
    });

    it('lets exactly one of many concurrent claims win', async () => {
      const { store, clock } = await setup();
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.claim('request:alice:k1', clock.now() + 1000, i)),
      );
      expect(outcomes.filter((o) => o.claimed)).toHaveLength(1);
    });
  });
}
