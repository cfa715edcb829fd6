/**
 * The `unwrap` port of `openSealedKey` on Cloud KMS: the peer sealed the data key to this side's
 * asymmetric key version (`ASYMMETRIC_DECRYPT`, `RSA_DECRYPT_OAEP_*_SHA256`), so `asymmetricDecrypt`
 * returns it. The private key never leaves KMS. Integrity both ways as Google recommends: the
 * request carries the ciphertext's CRC32C (KMS must say it verified it) and the answer's plaintext
 * is checked against the CRC32C KMS computed.
 */
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { crc32c } from '#core/crypto/crc32c.ts';
import type { Unwrap } from '#core/link/ports.ts';

/** KMS answered, but not with what was asked (a checksum failed in transit). */
export class KmsIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KmsIntegrityError';
  }
}

const int64 = (v: unknown) =>
  Number(typeof v === 'object' && v !== null ? (v as { value?: unknown }).value : v);

/** `keyVersion`: `projects/*\/locations/*\/keyRings/*\/cryptoKeys/*\/cryptoKeyVersions/*`. */
export function kmsUnwrap(client: KeyManagementServiceClient, keyVersion: string): Unwrap {
  // openSealedKey checks the sealed key names this key before anything reaches KMS.
  return async (wrapped: Buffer): Promise<Buffer> => {
    const [out] = await client.asymmetricDecrypt({
      name: keyVersion,
      ciphertext: wrapped,
      ciphertextCrc32c: { value: String(crc32c(wrapped)) },
    });
    if (!out.verifiedCiphertextCrc32c)
      throw new KmsIntegrityError(`${keyVersion}: KMS did not verify the ciphertext's CRC32C`);
    if (!out.plaintext) throw new KmsIntegrityError(`${keyVersion}: KMS returned no plaintext`);
    const plaintext =
      typeof out.plaintext === 'string' ? Buffer.from(out.plaintext, 'base64') : Buffer.from(out.plaintext);
    if (int64(out.plaintextCrc32c) !== crc32c(plaintext))
      throw new KmsIntegrityError(`${keyVersion}: the plaintext does not match its CRC32C`);
    return plaintext;
  };
}
