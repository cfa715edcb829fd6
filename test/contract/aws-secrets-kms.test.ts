/**
 * The secret store and the KMS unwrap against the local edge's Secrets Manager and KMS (#3b): a key
 * stored, replaced, read and deleted; a key sealed to the KMS key's public half opened through KMS.
 */
import { createPublicKey } from 'node:crypto';
import { CreateKeyCommand, GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsUnwrap } from '#aws/kms-unwrap.ts';
import { SecretsManagerStore } from '#aws/secret-store.ts';
import { openSealedKey, sealKey } from '#core/crypto/seal.ts';
import { mintLinkId } from '#core/ids.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let kms: KMSClient;
let sm: SecretsManagerClient;

beforeAll(async () => {
  cloud = await startTestCloud();
  const config = { region: 'us-east-1', endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  kms = new KMSClient(config);
  sm = new SecretsManagerClient(config);
});
afterAll(async () => {
  kms.destroy();
  sm.destroy();
  await cloud.stop();
});

describe('SecretsManagerStore', () => {
  it('stores, replaces, reads and deletes a link activation key', async () => {
    const store = new SecretsManagerStore(sm, 'crosslink', { 'cost-centre': 'network' });
    const linkId = mintLinkId(cloud.clock);
    const ref = await store.putActivationKey(linkId, 'first-key');
    expect(ref).toBe(`crosslink/${linkId}/activation-key`);
    expect(await store.putActivationKey(linkId, 'second-key')).toBe(ref);
    expect(await store.getActivationKey(ref)).toBe('second-key');
    await store.deleteActivationKey(linkId);
    await expect(store.getActivationKey(ref)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await store.deleteActivationKey(linkId); // already gone: no error
  });
});

describe('kmsUnwrap', () => {
  it('opens a key the peer sealed to the KMS key public half', async () => {
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }),
    );
    const keyId = KeyMetadata?.Arn as string;
    const { PublicKey } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
    const publicKeyPem = createPublicKey({
      key: Buffer.from(PublicKey as Uint8Array),
      format: 'der',
      type: 'spki',
    })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const linkId = mintLinkId(cloud.clock);
    const sealed = sealKey('the-activation-key', { publicKeyPem, keyId }, linkId);
    const opened = await openSealedKey(sealed, linkId, { keyId, unwrap: kmsUnwrap(kms, keyId) });
    expect(opened).toBe('the-activation-key');
  });
});
