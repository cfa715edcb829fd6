/**
 * The Firestore store against the real Firestore emulator (`gcloud emulators firestore start`), run
 * through the same contract as the in-memory and DynamoDB stores, plus what only a `StageStore` has:
 * tokens (one taker), sealed keys, and racing writers.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ManualClock } from '#core/clock.ts';
import { ConflictError } from '#core/errors.ts';
import type { SealedKey } from '#core/events/catalog.ts';
import { mintLinkId } from '#core/ids.ts';
import { decideApproval } from '#core/link/approve.ts';
import { requestLink } from '#core/link/request.ts';
import { createLink } from '#core/link/transition.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { FirestoreLinkStore } from '#gcp/link-store.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';
import { linkStoreContract } from '../support/link-store-contract.ts';
import { MemoryEventSink } from '../support/memory-store.ts';

let firestore: TestFirestore;

beforeAll(async () => {
  firestore = await startTestFirestore();
});
afterAll(async () => {
  await firestore?.stop();
});

function fixture() {
  const clock = new ManualClock(Date.parse('2026-06-01T00:00:00Z'));
  const db = firestore.db();
  return { store: new FirestoreLinkStore(db, clock), clock, db };
}

linkStoreContract('Firestore (emulator)', async () => fixture());

function aLink(clock: ManualClock) {
  return createLink(
    {
      id: mintLinkId(clock),
      name: 'east-west',
      initiator: 'gcp',
      environment: 'nonprod',
      requester: 'carol@example.com',
      bandwidth: '1Gbps',
      policyHash: 'a'.repeat(64),
    },
    clock.now(),
  );
}

describe('Firestore StageStore', () => {
  it('gives a waiting token to exactly one of many concurrent takers, then to nobody', async () => {
    // Prepare
    const { store, clock } = fixture();
    const id = mintLinkId(clock);
    await store.putToken(id, 'up', 'https://workflowexecutions.googleapis.com/v1/x/callbacks/1');

    // Act
    const taken = await Promise.all(Array.from({ length: 6 }, () => store.takeToken(id, 'up')));

    // Assess
    expect(taken.filter((t) => t !== undefined)).toEqual([
      'https://workflowexecutions.googleapis.com/v1/x/callbacks/1',
    ]);
    expect(await store.takeToken(id, 'up')).toBeUndefined();
  });

  it('keeps one token per phase and replaces a phase token with the newer one', async () => {
    const { store, clock } = fixture();
    const id = mintLinkId(clock);
    await store.putToken(id, 'approval', 'cb-approval-1');
    await store.putToken(id, 'approval', 'cb-approval-2');
    await store.putToken(id, 'key', 'cb-key');
    expect(await store.takeToken(id, 'approval')).toBe('cb-approval-2');
    expect(await store.takeToken(id, 'approval')).toBeUndefined();
    expect(await store.takeToken(id, 'key')).toBe('cb-key');
    expect(await store.takeToken(mintLinkId(clock), 'key')).toBeUndefined();
  });

  it('stores the sealed key per link and returns it as written', async () => {
    const { store, clock } = fixture();
    const id = mintLinkId(clock);
    const sealed: SealedKey = {
      alg: 'RSA-OAEP-256+A256GCM',
      recipientKeyId:
        'projects/p/locations/global/keyRings/crosslink/cryptoKeys/activation/cryptoKeyVersions/1',
      wrappedKey: 'd3JhcHBlZA==',
      iv: 'aXY=',
      ciphertext: 'Y2lwaGVy',
      tag: 'dGFn',
    };
    expect(await store.getSealedKey(id)).toBeUndefined();
    await store.putSealedKey(id, sealed);
    expect(await store.getSealedKey(id)).toEqual(sealed);
    expect(await store.getSealedKey(mintLinkId(clock))).toBeUndefined();
  });

  it('lets exactly one of several concurrent updates from the same version win', async () => {
    // Prepare
    const { store, clock } = fixture();
    const link = aLink(clock);
    await store.create(link);

    // Act: five writers read version 1 and each writes its own next half sequence.
    const outcomes = await Promise.allSettled(
      [1, 2, 3, 4, 5].map((n) =>
        store.update({ ...link, halves: { ...link.halves, gcp: { ...link.halves.gcp, sequence: n } } }, 1),
      ),
    );

    // Assess
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ConflictError);
    const stored = await store.get(link.id);
    expect(stored?.version).toBe(2);
    const winner = (won[0] as PromiseFulfilledResult<{ link: typeof link }>).value.link;
    expect(stored?.link.halves.gcp.sequence).toBe(winner.halves.gcp.sequence);
  });

  it('replaces the whole record on update: a field the new record lacks is gone', async () => {
    const { store, clock } = fixture();
    const link = aLink(clock);
    link.halves.aws.resourceId = 'mcc-12345678';
    link.decommission = {
      requestedBy: 'carol@example.com',
      requestedVia: 'gcp',
      requestedAt: new Date(clock.now()).toISOString(),
      status: 'PENDING',
      attempt: 1,
    };
    await store.create(link);
    const { decommission: _d, ...rest } = link;
    const next = { ...rest, halves: { ...link.halves, aws: { ...link.halves.aws, resourceId: undefined } } };
    await store.update(next, 1);
    const stored = (await store.get(link.id))?.link;
    expect(stored).not.toHaveProperty('decommission');
    expect(stored?.halves.aws).not.toHaveProperty('resourceId');
  });

  it('refuses an update of a link that does not exist', async () => {
    const { store, clock } = fixture();
    await expect(store.update(aLink(clock), 1)).rejects.toBeInstanceOf(ConflictError);
  });

  it('keeps a claim whose key cannot be a document id (a principal with a slash)', async () => {
    const { store, clock } = fixture();
    const key = 'request:arn:aws:iam::111111111111:user/alice:k1';
    expect(await store.claim(key, clock.now() + 1000, { linkId: 'lk-x' })).toEqual({ claimed: true });
    expect(await store.claim(key, clock.now() + 1000, 'other')).toEqual({
      claimed: false,
      result: { linkId: 'lk-x' },
    });
  });

  it('lets one of several concurrent claimers replace an expired claim', async () => {
    const { store, clock } = fixture();
    await store.claim('event:01OLD', clock.now() + 10, 'old');
    clock.advance(11);
    const outcomes = await Promise.all(
      [0, 1, 2, 3, 4].map((i) => store.claim('event:01OLD', clock.now() + 1000, `new-${i}`)),
    );
    const winners = outcomes.filter((o) => o.claimed);
    expect(winners).toHaveLength(1);
    const losers = outcomes.filter((o) => !o.claimed) as { claimed: false; result: unknown }[];
    const stored = losers[0]?.result;
    expect(stored).toMatch(/^new-/);
    for (const l of losers) expect(l.result).toBe(stored);
  });

  it('carries the core use cases: a requested, idempotent, approved link reads back as written', async () => {
    // Prepare
    const { store, clock } = fixture();
    const sink = new MemoryEventSink();
    const deps = {
      store,
      events: sink,
      policy: loadPolicy(parse(readFileSync('config/policy.yaml', 'utf8'))),
      clock,
      origin: { cloud: 'gcp', project: 'crosslink-hub', region: 'us-east4' } as const,
    };
    const request = parse(readFileSync('examples/link-request.yaml', 'utf8'));
    const alice = { principal: 'alice@example.com', side: 'gcp' as const };

    // Act
    const first = await requestLink(deps, { request, caller: alice, idempotencyKey: 'k-1' });
    const again = await requestLink(deps, { request, caller: alice, idempotencyKey: 'k-1' });
    clock.advance(60_000);
    const approved = await decideApproval(deps, {
      linkId: first.link.id,
      caller: { principal: 'carol@example.com', side: 'gcp' },
      decision: 'approve',
    });

    // Assess
    expect(again.link.id).toBe(first.link.id);
    expect(again.created).toBe(false);
    const stored = await store.get(first.link.id);
    // What the approval wrote, then the outbox emptied by one more conditional write.
    expect(stored).toEqual({ link: { ...approved.link, outbox: [] }, version: approved.version + 1 });
    expect(stored?.link.requester).toBe('alice@example.com');
    expect(stored?.link.approvals).toEqual([
      expect.objectContaining({ by: 'carol@example.com', side: 'gcp' }),
    ]);
    expect(stored?.link.outbox ?? []).toEqual([]); // flushed to the sink
    expect(sink.names()[0]).toBe('LinkRequested');
    const audit = await store.listAudit(first.link.id);
    expect(audit[0]).toMatchObject({ action: 'request', actor: 'alice@example.com', outcome: 'allowed' });
    expect((await store.list({ state: stored?.link.state })).items.map((l) => l.id)).toEqual([first.link.id]);
  });
});
