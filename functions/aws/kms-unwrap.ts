/**
 * The `unwrap` port of `openSealedKey` on KMS: the peer sealed the data key to this side's asymmetric
 * KMS key (RSA_2048/3072/4096, ENCRYPT_DECRYPT) with RSA-OAEP-SHA-256, so `Decrypt` with
 * `RSAES_OAEP_SHA_256` returns it. The private key never leaves KMS.
 */
import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';

export function kmsUnwrap(client: KMSClient, keyId: string) {
  // openSealedKey checks the sealed key names this key before anything reaches KMS.
  return async (wrapped: Buffer): Promise<Buffer> => {
    const out = await client.send(
      new DecryptCommand({
        KeyId: keyId,
        CiphertextBlob: wrapped,
        EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
      }),
    );
    if (!out.Plaintext) throw new Error('KMS returned no plaintext');
    return Buffer.from(out.Plaintext);
  };
}
