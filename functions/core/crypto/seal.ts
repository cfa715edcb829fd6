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

const ALG = 'RSA-OAEP-256+A256GCM';

/**
 * The additional authenticated data binds the ciphertext to its link, algorithm and recipient key: a
 * sealed key cannot be replayed onto another link, nor its header rewritten.
 */
function aad(linkId: string, keyId: string): Buffer {
  return Buffer.from(`crosslink:activation-key:${ALG}:${keyId}:${linkId}`, 'utf8');
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
  cipher.setAAD(aad(linkId, recipient.keyId));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const wrappedKey = publicEncrypt(
    { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
    dataKey,
  );
  dataKey.fill(0);
  return {
    alg: ALG,
    recipientKeyId: recipient.keyId,
    wrappedKey: wrappedKey.toString('base64'),
    iv: iv.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

/**
 * Unwraps the data key with this side's own key (KMS Decrypt / Cloud KMS asymmetricDecrypt) and opens
 * the key. The payload does not choose the key: one sealed to any other key id is refused, as are
 * nonces and tags of the wrong size (Node would accept a 4-byte tag).
 */
export async function openSealedKey(
  sealed: SealedKey,
  linkId: string,
  recipient: { keyId: string; unwrap: (wrapped: Buffer) => Promise<Buffer> },
): Promise<string> {
  const refuse = (path: string, reason: string) => new ValidationError([{ path, reason }], 'sealed key');
  if (sealed.alg !== ALG) throw refuse('sealedKey.alg', `unsupported algorithm ${sealed.alg}`);
  if (sealed.recipientKeyId !== recipient.keyId)
    throw refuse(
      'sealedKey.recipientKeyId',
      `is sealed to ${sealed.recipientKeyId}, not to this side's key ${recipient.keyId}`,
    );
  const iv = Buffer.from(sealed.iv, 'base64');
  const tag = Buffer.from(sealed.tag, 'base64');
  if (iv.length !== 12) throw refuse('sealedKey.iv', 'must be 12 bytes');
  if (tag.length !== 16) throw refuse('sealedKey.tag', 'must be 16 bytes');
  const dataKey = await recipient.unwrap(Buffer.from(sealed.wrappedKey, 'base64'));
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, iv, { authTagLength: 16 });
    decipher.setAAD(aad(linkId, sealed.recipientKeyId));
    decipher.setAuthTag(tag);
    return Buffer.concat([
      decipher.update(Buffer.from(sealed.ciphertext, 'base64')),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    throw refuse('sealedKey', 'does not open: tampered, or sealed for another link');
  } finally {
    dataKey.fill(0);
  }
}
