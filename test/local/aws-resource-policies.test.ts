/**
 * The resource-based policies the local services keep, set through their own APIs and enforced
 * by the edge: a secret's resource policy (its Deny stops even the account root), a KMS key's
 * policy (a key whose policy names alice alone admits alice and refuses the root), and a malformed
 * document refused where it is given.
 */
import { CreateKeyCommand, EncryptCommand, GetKeyPolicyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutResourcePolicyCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import { IDENTITIES } from '../support/intake.ts';
import { ADMIN_CREDENTIALS, callerConfig, startTestCloud } from '../support/local-cloud.ts';
import { refusal } from '../support/refusal.ts';

let cloud: LocalCloud;
const config = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
  callerConfig(cloud, credentials);

beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud?.stop();
});

describe('resource policies set through the services', () => {
  it("a secret's resource policy: its Deny refuses even the root; a malformed one is refused", async () => {
    // Prepare
    const sm = new SecretsManagerClient(config(ADMIN_CREDENTIALS));
    const { ARN } = await sm.send(
      new CreateSecretCommand({ Name: 'crosslink/lk-1/activation-key', SecretString: 'k' }),
    );
    const before = await sm.send(new GetSecretValueCommand({ SecretId: ARN }));
    // Act
    await sm.send(
      new PutResourcePolicyCommand({
        SecretId: ARN,
        ResourcePolicy: JSON.stringify({
          Version: '2012-10-17',
          Statement: {
            Effect: 'Deny',
            Principal: '*',
            Action: 'secretsmanager:GetSecretValue',
            Resource: '*',
          },
        }),
      }),
    );
    const denied = await refusal(sm.send(new GetSecretValueCommand({ SecretId: ARN })));
    const malformed = await refusal(
      sm.send(
        new PutResourcePolicyCommand({
          SecretId: ARN,
          ResourcePolicy: JSON.stringify({
            Version: '2012-10-17',
            Statement: { Effect: 'Maybe', Principal: '*' },
          }),
        }),
      ),
    );
    // Assess
    expect(before.SecretString).toBe('k');
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toBe(
      `User: arn:aws:iam::000000000000:root is not authorized to perform: secretsmanager:GetSecretValue on resource: ${ARN} with an explicit deny in a resource-based policy`,
    );
    expect(malformed.name).toBe('MalformedPolicyDocumentException');
    expect(malformed.message).toContain('Effect');
  });

  it('a key policy naming alice alone: alice encrypts, the root is refused, GetKeyPolicy gives it back', async () => {
    // Prepare
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: {
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::000000000000:user/alice' },
        Action: ['kms:Encrypt', 'kms:GetKeyPolicy'],
        Resource: '*',
      },
    });
    const root = new KMSClient(config(ADMIN_CREDENTIALS));
    const { KeyMetadata } = await root.send(new CreateKeyCommand({ Policy: policy }));
    const keyId = KeyMetadata?.KeyId as string;
    const alice = new KMSClient(config(IDENTITIES.alice));
    // Act
    const encrypted = await alice.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
    const kept = await alice.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }));
    const refused = await refusal(
      root.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
    );
    // Assess
    expect(encrypted.CiphertextBlob?.length).toBeGreaterThan(0);
    expect(kept.Policy).toBe(policy);
    expect(refused.name).toBe('AccessDeniedException');
    expect(refused.message).toBe(
      `User: arn:aws:iam::000000000000:root is not authorized to perform: kms:Encrypt on resource: ${KeyMetadata?.Arn} because no resource-based policy allows the kms:Encrypt action`,
    );
  });
});
