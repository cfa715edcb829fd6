/**
 * KMS against the edge with the standard client: an RSA key whose public key (DER SPKI) seals data
 * outside KMS that Decrypt opens, symmetric keys, aliases, key states and the errors KMS answers.
 */
import { constants, createPublicKey, publicEncrypt } from 'node:crypto';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GetPublicKeyCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeysCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let kms: KMSClient;
beforeAll(async () => {
  cloud = await startTestCloud();
  kms = new KMSClient({
    region: 'eu-west-2',
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
    maxAttempts: 1,
  });
});
afterAll(async () => {
  await cloud?.stop();
});

async function errorOf(p: Promise<unknown>): Promise<Error & { $metadata: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { $metadata: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

async function rsaKey(spec: 'RSA_2048' | 'RSA_4096' = 'RSA_2048') {
  const out = await kms.send(
    new CreateKeyCommand({ KeySpec: spec, KeyUsage: 'ENCRYPT_DECRYPT', Description: 'peer seal key' }),
  );
  return out.KeyMetadata?.KeyId as string;
}

describe('KMS', () => {
  it('creates an RSA ENCRYPT_DECRYPT key and describes it', async () => {
    // Act
    const created = await kms.send(
      new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT', Description: 'seal' }),
    );
    const described = await kms.send(new DescribeKeyCommand({ KeyId: created.KeyMetadata?.Arn }));
    // Assess
    expect(described.KeyMetadata).toMatchObject({
      AWSAccountId: '000000000000',
      KeyId: created.KeyMetadata?.KeyId,
      Arn: `arn:aws:kms:eu-west-2:000000000000:key/${created.KeyMetadata?.KeyId}`,
      Enabled: true,
      KeyState: 'Enabled',
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeySpec: 'RSA_2048',
      EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
      Description: 'seal',
    });
    expect(described.KeyMetadata?.CreationDate?.toISOString()).toBe('2026-06-01T00:00:00.000Z');
  });

  it('GetPublicKey gives a DER SPKI key; RSAES_OAEP_SHA_256 ciphertexts made with it decrypt', async () => {
    // Prepare
    const keyId = await rsaKey();
    const pub = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
    const publicKey = createPublicKey({
      key: Buffer.from(pub.PublicKey as Uint8Array),
      format: 'der',
      type: 'spki',
    });
    const sealed = publicEncrypt(
      { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      Buffer.from('data key 32 bytes long..........'),
    );
    // Act
    const out = await kms.send(
      new DecryptCommand({ KeyId: keyId, CiphertextBlob: sealed, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }),
    );
    // Assess
    expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(pub).toMatchObject({
      KeySpec: 'RSA_2048',
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeyId: expect.stringContaining(keyId),
    });
    expect(Buffer.from(out.Plaintext as Uint8Array).toString()).toBe('data key 32 bytes long..........');
    expect(out.EncryptionAlgorithm).toBe('RSAES_OAEP_SHA_256');
  });

  it('RSA_4096 keys have a 4096-bit public key; Encrypt with the key round-trips through Decrypt', async () => {
    // Prepare
    const keyId = await rsaKey('RSA_4096');
    // Act
    const pub = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
    const enc = await kms.send(
      new EncryptCommand({
        KeyId: keyId,
        Plaintext: Buffer.from('hello'),
        EncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
      }),
    );
    const dec = await kms.send(
      new DecryptCommand({
        KeyId: keyId,
        CiphertextBlob: enc.CiphertextBlob,
        EncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
      }),
    );
    // Assess
    const details = createPublicKey({
      key: Buffer.from(pub.PublicKey as Uint8Array),
      format: 'der',
      type: 'spki',
    }).asymmetricKeyDetails;
    expect(details?.modulusLength).toBe(4096);
    expect(Buffer.from(dec.Plaintext as Uint8Array).toString()).toBe('hello');
  });

  it('refuses garbage, the wrong algorithm, the wrong key and a missing KeyId for RSA ciphertexts', async () => {
    // Prepare
    const keyId = await rsaKey();
    const other = await rsaKey();
    const enc = await kms.send(
      new EncryptCommand({
        KeyId: keyId,
        Plaintext: Buffer.from('x'),
        EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
      }),
    );
    // Act
    const garbage = await errorOf(
      kms.send(
        new DecryptCommand({
          KeyId: keyId,
          CiphertextBlob: Buffer.from('garbage'),
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
        }),
      ),
    );
    const wrongAlg = await errorOf(
      kms.send(
        new DecryptCommand({
          KeyId: keyId,
          CiphertextBlob: enc.CiphertextBlob,
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
        }),
      ),
    );
    const noAlg = await errorOf(
      kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: enc.CiphertextBlob })),
    );
    const otherKey = await errorOf(
      kms.send(
        new DecryptCommand({
          KeyId: other,
          CiphertextBlob: enc.CiphertextBlob,
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
        }),
      ),
    );
    const noKeyId = await errorOf(
      kms.send(
        new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }),
      ),
    );
    const tooLong = await errorOf(
      kms.send(
        new EncryptCommand({
          KeyId: keyId,
          Plaintext: Buffer.alloc(191),
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
        }),
      ),
    );
    // Assess
    expect(garbage.name).toBe('InvalidCiphertextException');
    expect(garbage.$metadata.httpStatusCode).toBe(400);
    expect(wrongAlg.name).toBe('InvalidCiphertextException');
    expect(noAlg.name).toBe('InvalidKeyUsageException');
    expect(otherKey.name).toBe('InvalidCiphertextException');
    expect(noKeyId.name).toBe('InvalidCiphertextException');
    expect(tooLong.name).toBe('ValidationException');
  });

  it('symmetric ciphertexts name their key: another KeyId is IncorrectKeyException; the context is bound', async () => {
    // Prepare
    const a = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const b = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    const enc = await kms.send(
      new EncryptCommand({ KeyId: a, Plaintext: Buffer.from('secret'), EncryptionContext: { link: 'lk-1' } }),
    );
    // Act
    const noKeyId = await kms.send(
      new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { link: 'lk-1' } }),
    );
    const incorrect = await errorOf(
      kms.send(
        new DecryptCommand({
          KeyId: b,
          CiphertextBlob: enc.CiphertextBlob,
          EncryptionContext: { link: 'lk-1' },
        }),
      ),
    );
    const wrongContext = await errorOf(
      kms.send(
        new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { link: 'lk-2' } }),
      ),
    );
    const noPublicKey = await errorOf(kms.send(new GetPublicKeyCommand({ KeyId: a })));
    // Assess
    expect(Buffer.from(noKeyId.Plaintext as Uint8Array).toString()).toBe('secret');
    expect(noKeyId.KeyId).toBe(`arn:aws:kms:eu-west-2:000000000000:key/${a}`);
    expect(incorrect.name).toBe('IncorrectKeyException');
    expect(wrongContext.name).toBe('InvalidCiphertextException');
    expect(noPublicKey.name).toBe('UnsupportedOperationException');
  });

  it('aliases resolve, unknown keys are NotFoundException, and keys are per region', async () => {
    // Prepare
    const keyId = await rsaKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/crosslink-peer', TargetKeyId: keyId }));
    const otherRegion = new KMSClient({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
      maxAttempts: 1,
    });
    // Act
    const byAlias = await kms.send(new GetPublicKeyCommand({ KeyId: 'alias/crosslink-peer' }));
    const aliases = await kms.send(new ListAliasesCommand({ KeyId: keyId }));
    const dup = await errorOf(
      kms.send(new CreateAliasCommand({ AliasName: 'alias/crosslink-peer', TargetKeyId: keyId })),
    );
    const unknown = await errorOf(
      kms.send(new DescribeKeyCommand({ KeyId: '11111111-2222-4333-8444-555555555555' })),
    );
    const unknownAlias = await errorOf(kms.send(new DescribeKeyCommand({ KeyId: 'alias/nope' })));
    const elsewhere = await errorOf(otherRegion.send(new DescribeKeyCommand({ KeyId: keyId })));
    const keys = await kms.send(new ListKeysCommand({ Limit: 2 }));
    // Assess
    expect(byAlias.KeyId).toContain(keyId);
    expect(aliases.Aliases?.map((a) => a.AliasName)).toEqual(['alias/crosslink-peer']);
    expect(dup.name).toBe('AlreadyExistsException');
    expect(unknown.name).toBe('NotFoundException');
    expect(unknown.message).toBe(
      "Key 'arn:aws:kms:eu-west-2:000000000000:key/11111111-2222-4333-8444-555555555555' does not exist",
    );
    expect(unknownAlias.name).toBe('NotFoundException');
    expect(elsewhere.name).toBe('NotFoundException');
    expect(keys.Keys).toHaveLength(2);
    expect(keys.Truncated).toBe(true);
    const rest = await kms.send(new ListKeysCommand({ Marker: keys.NextMarker }));
    expect(rest.Keys?.some((k) => k.KeyId === keyId)).toBe(true);
  });

  it('disabled keys and keys pending deletion refuse to decrypt; deletion happens on the virtual clock', async () => {
    // Prepare
    const keyId = await rsaKey();
    const enc = await kms.send(
      new EncryptCommand({
        KeyId: keyId,
        Plaintext: Buffer.from('x'),
        EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
      }),
    );
    const decrypt = () =>
      kms.send(
        new DecryptCommand({
          KeyId: keyId,
          CiphertextBlob: enc.CiphertextBlob,
          EncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
        }),
      );
    // Act / Assess
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    expect((await errorOf(decrypt())).name).toBe('DisabledException');
    await kms.send(new EnableKeyCommand({ KeyId: keyId }));
    await decrypt();
    const badWindow = await errorOf(
      kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 3 })),
    );
    expect(badWindow.name).toBe('ValidationException');
    const scheduled = await kms.send(
      new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }),
    );
    expect(scheduled.KeyState).toBe('PendingDeletion');
    expect(scheduled.DeletionDate?.getTime()).toBe(cloud.clock.now() + 7 * 86_400_000);
    expect((await errorOf(decrypt())).name).toBe('KMSInvalidStateException');
    await kms.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe('Disabled');
    await kms.send(new EnableKeyCommand({ KeyId: keyId }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    await cloud.clock.advance(7 * 86_400_000 - 1000);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe(
      'PendingDeletion',
    );
    await cloud.clock.advance(1000);
    expect((await errorOf(kms.send(new DescribeKeyCommand({ KeyId: keyId })))).name).toBe(
      'NotFoundException',
    );
  });

  it('says which key specs it does not simulate, and validates enums', async () => {
    const ecc = await errorOf(
      kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })),
    );
    const bad = await errorOf(kms.send(new CreateKeyCommand({ KeySpec: 'RSA_1024' as 'RSA_2048' })));
    expect(ecc.name).toBe('UnsupportedOperationException');
    expect(bad.name).toBe('ValidationException');
    expect(bad.message).toMatch(/^1 validation error detected: Value 'RSA_1024' at 'KeySpec'/);
  });
});
