/**
 * Cloud KMS and Secret Manager subsets of the Google edge, driven by the official clients
 * (@google-cloud/kms, @google-cloud/secret-manager) in their REST fallback, authenticated with
 * google-auth-library's JWT flow: the sealing of activation keys (RSA-OAEP-SHA256 to a KMS public
 * key, decrypted by asymmetricDecrypt) and the secret store the issuing call writes to.
 */
import { constants, publicEncrypt } from 'node:crypto';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32c } from '#core/crypto/crc32c.ts';
import { googleAuth } from '#gcp/google-credentials.ts';
import type { LocalCloud } from '#local/index.ts';
import { startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let kms: KeyManagementServiceClient;
let secrets: SecretManagerServiceClient;
const PROJECT = 'crosslink-local';

beforeAll(async () => {
  cloud = await startTestCloud();
  const options = {
    apiEndpoint: '127.0.0.1',
    port: cloud.gcp.port,
    protocol: 'http',
    fallback: true,
    auth: googleAuth(cloud.gcp.auth.keyFile('crosslink')),
  };
  kms = new KeyManagementServiceClient(options);
  secrets = new SecretManagerServiceClient(options);
});
afterAll(async () => {
  await kms?.close();
  await secrets?.close();
  await cloud?.stop();
});

describe('Cloud KMS: asymmetric RSA-OAEP-SHA256 decryption key', () => {
  it('seals to the public key and decrypts with asymmetricDecrypt, with CRC32C integrity', async () => {
    // Prepare
    const parent = kms.locationPath(PROJECT, 'us-east4');
    const [ring] = await kms.createKeyRing({ parent, keyRingId: 'crosslink' });
    const [key] = await kms.createCryptoKey({
      parent: ring.name!,
      cryptoKeyId: 'peer-seal',
      cryptoKey: {
        purpose: 'ASYMMETRIC_DECRYPT',
        versionTemplate: { algorithm: 'RSA_DECRYPT_OAEP_3072_SHA256' },
      },
    });
    const versionName = `${key.name}/cryptoKeyVersions/1`;
    // Act
    const [pub] = await kms.getPublicKey({ name: versionName });
    const dataKey = Buffer.from('0123456789abcdef0123456789abcdef');
    const sealed = publicEncrypt(
      { key: pub.pem!, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      dataKey,
    );
    const [out] = await kms.asymmetricDecrypt({ name: versionName, ciphertext: sealed });
    // Assess
    expect(pub.algorithm).toBe('RSA_DECRYPT_OAEP_3072_SHA256');
    expect(pub.pem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(Number(pub.pemCrc32c?.value)).toBe(crc32c(Buffer.from(pub.pem!)));
    expect(Buffer.from(out.plaintext as Uint8Array)).toEqual(dataKey);
    expect(Number(out.plaintextCrc32c?.value)).toBe(crc32c(dataKey));
  });

  it('refuses a ciphertext that is not for this key, and an unknown version (404)', async () => {
    const name = kms.cryptoKeyVersionPath(PROJECT, 'us-east4', 'crosslink', 'peer-seal', '1');
    await expect(kms.asymmetricDecrypt({ name, ciphertext: Buffer.alloc(384, 7) })).rejects.toMatchObject({
      code: 3,
    });
    await expect(
      kms.getPublicKey({
        name: kms.cryptoKeyVersionPath(PROJECT, 'us-east4', 'crosslink', 'peer-seal', '9'),
      }),
    ).rejects.toMatchObject({ code: 5 });
  });
});

describe('Secret Manager: create, add version, access, delete', () => {
  it('stores an activation key and gives it back, then forgets it', async () => {
    // Prepare
    const [secret] = await secrets.createSecret({
      parent: `projects/${PROJECT}`,
      secretId: 'lk-01jsecret-activation-key',
      secret: { replication: { automatic: {} }, labels: { 'crosslink-link-id': 'lk-01jsecret' } },
    });
    // Act
    const [version] = await secrets.addSecretVersion({
      parent: secret.name!,
      payload: { data: Buffer.from('the-key') },
    });
    const [latest] = await secrets.accessSecretVersion({ name: `${secret.name}/versions/latest` });
    // Assess
    expect(version.name).toBe(`${secret.name}/versions/1`);
    expect(Buffer.from(latest.payload!.data as Uint8Array).toString()).toBe('the-key');
    await expect(
      secrets.createSecret({
        parent: `projects/${PROJECT}`,
        secretId: 'lk-01jsecret-activation-key',
        secret: { replication: { automatic: {} } },
      }),
    ).rejects.toMatchObject({ code: 6 });
    await secrets.deleteSecret({ name: secret.name! });
    await expect(
      secrets.accessSecretVersion({ name: `${secret.name}/versions/latest` }),
    ).rejects.toMatchObject({ code: 5 });
  });

  it('calls without credentials are refused with 401 UNAUTHENTICATED', async () => {
    const res = await fetch(`${cloud.gcp.endpoint}/v1/projects/${PROJECT}/secrets`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { status: string } }).error.status).toBe('UNAUTHENTICATED');
  });
});
