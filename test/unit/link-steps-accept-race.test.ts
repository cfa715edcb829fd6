/**
 * The acceptor's create answer is a snapshot taken when the call began. When the watcher (woken by
 * the create's audit entry) has meanwhile recorded the same half further along, `activateAccept`
 * must not write the older snapshot over it: that flapped the link ACTIVE -> DOWN and left the
 * parked `up` wait unanswered until a later poll (the Google AWS-first run ended only by its
 * fallback). A snapshot with no newer observation is recorded as before.
 */
import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { sealKey } from '#core/crypto/seal.ts';
import { activateAccept } from '#core/link/activate.ts';
import type { OwnHalfView } from '#core/link/ports.ts';
import { mutateLink, observationOf } from '#core/link/record.ts';
import { park, recordOwnHalfAndResume } from '#core/link/waits.ts';
import {
  approvedLink,
  CONNECTION,
  type Harness,
  LINK,
  REQUEST,
  stepHarness,
} from '../support/step-harness.ts';

let h: Harness;
const own = generateKeyPairSync('rsa', { modulusLength: 2048 });

beforeEach(async () => {
  h = stepHarness();
  // Google initiated: AWS (the harness's own side) accepts with the key Google sealed to it.
  await h.store.create(approvedLink([], 'gcp'));
  const publicKeyPem = own.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  await h.store.putSealedKey(LINK, sealKey('key-123', { publicKeyPem, keyId: h.deps.ownKeyId }, LINK));
  h.deps.unwrap = async (wrapped) =>
    privateDecrypt(
      { key: own.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      wrapped,
    );
  // The peer's half is up already.
  await mutateLink(h.deps, LINK, { kind: 'halfObserved', side: 'gcp', sequence: 1, nativeState: 'ACTIVE' });
});

const created = (state: OwnHalfView['state']): OwnHalfView => ({
  connectionId: CONNECTION,
  state,
  linkId: LINK,
});

describe('activateAccept against a watcher that saw the half first', () => {
  it('keeps the newer observation (ACTIVE stays ACTIVE, no DOWN) and the parked up wait is answered', async () => {
    // The create's answer says pending; before the step records it, the watcher records available.
    h.halves.accept = async () => {
      await recordOwnHalfAndResume(h.deps, observationOf(LINK, created('available')));
      return created('pending');
    };
    const out = await activateAccept(h.deps, { linkId: LINK, mode: 'accept', request: REQUEST as never });
    expect(out).toEqual({ connectionId: CONNECTION });
    const link = (await h.store.get(LINK))?.link;
    expect(link?.state).toBe('ACTIVE');
    expect(link?.halves.aws).toMatchObject({ nativeState: 'available', sequence: 1, resourceId: CONNECTION });
    const states = h.events.events
      .filter((e) => e.type === 'crosslink.LinkStateChanged.v1')
      .map((e) => (e.data as { state: string }).state);
    expect(states).not.toContain('DOWN');
    // The workflow parks its up wait after the step: answered at once.
    await park(h.deps, { linkId: LINK, phase: 'up', token: 'cb-up' });
    expect(h.answered).toEqual([{ token: 'cb-up', output: { state: 'ACTIVE' } }]);
  });

  it('records its own snapshot when nobody observed the half since the call began', async () => {
    h.halves.accept = async () => created('pending');
    await activateAccept(h.deps, { linkId: LINK, mode: 'accept', request: REQUEST as never });
    const link = (await h.store.get(LINK))?.link;
    expect(link?.halves.aws).toMatchObject({ nativeState: 'pending', sequence: 1, resourceId: CONNECTION });
    expect(link?.state).toBe('PROVISIONING');
  });
});
