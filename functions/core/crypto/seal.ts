/**
 * Sealing an activation key for the peer cloud: AES-256-GCM under a fresh data key, the data key
 * wrapped with RSA-OAEP-SHA-256 to the peer's public key (an asymmetric KMS / Cloud KMS key whose
 * public PEM is in config, since fetching it would need the peer's credentials). Only the peer's
 * function that calls the provider API unwraps it, through its KMS (`unwrap`), so the key is never in
 * clear in an event, a log or an execution history.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import { ValidationError } from '../errors.ts';
import type { SealedKey } from '../events/catalog.ts';

/** The additional authenticated data binds the ciphertext to its link: a sealed key cannot be replayed onto another. */
function aad(linkId: string): Buffer {
  return Buffer.from(`crosslink:activation-key:${linkId}`, 'utf8');
}

export function sealKey(
  plaintext: string,
  recipient: { publicKeyPem: string; keyId: string },
  linkId: string,
): SealedKey {
  const publicKey = createPublicKey(recipient.publicKeyPem);
  if (publicKey.asymmetricKeyType !== 'rsa')
    throw new ValidationError([{ path: 'publicKeyPem', reason: 'must be an RSA public key' }], 'peer key');
  const dataKey = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  cipher.setAAD(aad(linkId));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const wrappedKey = publicEncrypt(
    { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    dataKey,
  );
  dataKey.fill(0);
  return {
    alg: 'RSA-OAEP-256+A256GCM',
    recipientKeyId: recipient.keyId,
    wrappedKey: wrappedKey.toString('base64'),
    iv: iv.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

/** Unwraps the data key with `unwrap` (KMS Decrypt / Cloud KMS asymmetricDecrypt) and opens the key. */
export async function openSealedKey(
  sealed: SealedKey,
  linkId: string,
  unwrap: (wrapped: Buffer, keyId: string) => Promise<Buffer>,
): Promise<string> {
  if (sealed.alg !== 'RSA-OAEP-256+A256GCM')
    throw new ValidationError(
      [{ path: 'sealedKey.alg', reason: `unsupported algorithm ${sealed.alg}` }],
      'sealed key',
    );
  const dataKey = await unwrap(Buffer.from(sealed.wrappedKey, 'base64'), sealed.recipientKeyId);
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(aad(linkId));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([
      decipher.update(Buffer.from(sealed.ciphertext, 'base64')),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    throw new ValidationError(
      [
        {
          path: 'sealedKey',
          reason: 'does not open: tampered, sealed for another link, or wrapped to another key',
        },
      ],
      'sealed key',
    );
  } finally {
    dataKey.fill(0);
  }
}
