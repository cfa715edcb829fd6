import { constants, generateKeyPairSync, privateDecrypt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openSealedKey, sealKey } from '#core/crypto/seal.ts';
import { eventDataIssues } from '#core/events/schemas.ts';

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const unwrap = async (wrapped: Buffer) =>
  privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrapped);
const KEY = Buffer.from(
  JSON.stringify({ version: 1, sharedConnectionUuid: '2b5e0c1e-1f5c-4b7a-9f0e-6c2d1a3b4c5d' }),
).toString('base64');
const LINK = 'lk-01jdx0000000000000000000aa';

describe('sealed activation keys', () => {
  it('round-trip through the peer KMS, and never carry the key in clear', async () => {
    // Act
    const sealed = sealKey(
      KEY,
      { publicKeyPem: pem, keyId: 'arn:aws:kms:us-east-1:000000000000:key/peer' },
      LINK,
    );
    // Assess
    expect(JSON.stringify(sealed)).not.toContain(KEY);
    expect(
      await openSealedKey(sealed, LINK, { keyId: 'arn:aws:kms:us-east-1:000000000000:key/peer', unwrap }),
    ).toBe(KEY);
  });

  it('fit the LinkKeyIssued schema', () => {
    const sealed = sealKey(
      KEY,
      {
        publicKeyPem: pem,
        keyId: 'projects/p/locations/us-east4/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1',
      },
      LINK,
    );
    const data = {
      linkId: LINK,
      policyHash: 'a'.repeat(64),
      issuer: 'aws',
      sealedKey: sealed,
      bandwidth: '1Gbps',
      issuerResource: 'mcc-1a2b3c4d',
      issuedAt: '2026-11-26T10:00:00Z',
    };
    expect(eventDataIssues('LinkKeyIssued', data)).toEqual([]);
  });

  it('refuse to open for another link, or when tampered', async () => {
    const sealed = sealKey(KEY, { publicKeyPem: pem, keyId: 'k' }, LINK);
    await expect(
      openSealedKey(sealed, 'lk-01jdx0000000000000000000ab', { keyId: 'k', unwrap }),
    ).rejects.toThrow(/does not open/);
    const flipped = Buffer.from(sealed.ciphertext, 'base64');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    await expect(
      openSealedKey({ ...sealed, ciphertext: flipped.toString('base64') }, LINK, { keyId: 'k', unwrap }),
    ).rejects.toThrow(/does not open/);
  });

  it('refuse a key sealed to another recipient, a rewritten header, and short tags', async () => {
    const sealed = sealKey(KEY, { publicKeyPem: pem, keyId: 'k' }, LINK);
    await expect(openSealedKey(sealed, LINK, { keyId: 'mine', unwrap })).rejects.toThrow(
      /sealed to k, not to this side's key mine/,
    );
    await expect(
      openSealedKey({ ...sealed, recipientKeyId: 'mine' }, LINK, { keyId: 'mine', unwrap }),
    ).rejects.toThrow(/does not open/);
    const short = Buffer.from(sealed.tag, 'base64').subarray(0, 4).toString('base64');
    await expect(openSealedKey({ ...sealed, tag: short }, LINK, { keyId: 'k', unwrap })).rejects.toThrow(
      /tag: must be 16 bytes/,
    );
  });

  it('fresh data key and nonce every time', () => {
    const a = sealKey(KEY, { publicKeyPem: pem, keyId: 'k' }, LINK);
    const b = sealKey(KEY, { publicKeyPem: pem, keyId: 'k' }, LINK);
    expect(a.iv).not.toBe(b.iv);
    expect(a.wrappedKey).not.toBe(b.wrappedKey);
  });
});
