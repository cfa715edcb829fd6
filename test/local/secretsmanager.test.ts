/**
 * Secrets Manager against the edge with the standard client: create (idempotent by token), get,
 * put (staging labels), describe, list, delete with a recovery window on the virtual clock or at
 * once, restore, and the errors the simulator answers.
 */
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let sm: SecretsManagerClient;
beforeAll(async () => {
  cloud = await startTestCloud();
  sm = new SecretsManagerClient({
    region: 'us-east-1',
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

const TOKEN_A = '11111111-1111-4111-8111-111111111111';
const TOKEN_B = '22222222-2222-4222-8222-222222222222';
const TOKEN_C = '33333333-3333-4333-8333-333333333333';

describe('Secrets Manager', () => {
  it('creates a secret and reads it back by name, ARN and partial ARN', async () => {
    // Act
    const created = await sm.send(
      new CreateSecretCommand({
        Name: 'crosslink/lk-01/activation-key',
        SecretString: 'key-material',
        ClientRequestToken: TOKEN_A,
        Tags: [{ Key: 'crosslink:link-id', Value: 'lk-01' }],
      }),
    );
    const byName = await sm.send(new GetSecretValueCommand({ SecretId: 'crosslink/lk-01/activation-key' }));
    const byArn = await sm.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    const byPartial = await sm.send(new GetSecretValueCommand({ SecretId: created.ARN?.slice(0, -7) }));
    // Assess
    expect(created.ARN).toMatch(
      /^arn:aws:secretsmanager:us-east-1:000000000000:secret:crosslink\/lk-01\/activation-key-[A-Za-z0-9]{6}$/,
    );
    expect(created.VersionId).toBe(TOKEN_A);
    expect(byName).toMatchObject({
      SecretString: 'key-material',
      VersionId: TOKEN_A,
      VersionStages: ['AWSCURRENT'],
    });
    expect(byName.CreatedDate?.toISOString()).toBe('2026-06-01T00:00:00.000Z');
    expect(byArn.SecretString).toBe('key-material');
    expect(byPartial.SecretString).toBe('key-material');
  });

  it('a retried create with the same token and value is a no-op; anything else is ResourceExistsException', async () => {
    // Prepare
    const input = { Name: 'retry-me', SecretString: 'v1', ClientRequestToken: TOKEN_A };
    const first = await sm.send(new CreateSecretCommand(input));
    // Act
    const retry = await sm.send(new CreateSecretCommand(input));
    const otherValue = await errorOf(sm.send(new CreateSecretCommand({ ...input, SecretString: 'v2' })));
    const otherToken = await errorOf(
      sm.send(new CreateSecretCommand({ ...input, ClientRequestToken: TOKEN_B })),
    );
    // Assess
    expect(retry).toMatchObject({ ARN: first.ARN, VersionId: TOKEN_A });
    expect(otherValue.name).toBe('ResourceExistsException');
    expect(otherToken.name).toBe('ResourceExistsException');
    expect(otherToken.message).toBe('The operation failed because the secret retry-me already exists.');
  });

  it('PutSecretValue moves AWSCURRENT and keeps AWSPREVIOUS; same token + other value is refused', async () => {
    // Prepare
    await sm.send(
      new CreateSecretCommand({ Name: 'rotating', SecretString: 'v1', ClientRequestToken: TOKEN_A }),
    );
    // Act
    const put = await sm.send(
      new PutSecretValueCommand({ SecretId: 'rotating', SecretString: 'v2', ClientRequestToken: TOKEN_B }),
    );
    const again = await sm.send(
      new PutSecretValueCommand({ SecretId: 'rotating', SecretString: 'v2', ClientRequestToken: TOKEN_B }),
    );
    const conflict = await errorOf(
      sm.send(
        new PutSecretValueCommand({ SecretId: 'rotating', SecretString: 'v3', ClientRequestToken: TOKEN_B }),
      ),
    );
    const current = await sm.send(new GetSecretValueCommand({ SecretId: 'rotating' }));
    const previous = await sm.send(
      new GetSecretValueCommand({ SecretId: 'rotating', VersionStage: 'AWSPREVIOUS' }),
    );
    const byVersion = await sm.send(new GetSecretValueCommand({ SecretId: 'rotating', VersionId: TOKEN_A }));
    const described = await sm.send(new DescribeSecretCommand({ SecretId: 'rotating' }));
    // Assess
    expect(put).toMatchObject({ VersionId: TOKEN_B, VersionStages: ['AWSCURRENT'] });
    expect(again.VersionId).toBe(TOKEN_B);
    expect(conflict.name).toBe('ResourceExistsException');
    expect(current.SecretString).toBe('v2');
    expect(previous.SecretString).toBe('v1');
    expect(byVersion.VersionStages).toEqual(['AWSPREVIOUS']);
    expect(described.VersionIdsToStages).toEqual({ [TOKEN_A]: ['AWSPREVIOUS'], [TOKEN_B]: ['AWSCURRENT'] });
  });

  it('binary secrets, secrets without a value, and the errors for missing secrets and values', async () => {
    // Prepare
    await sm.send(new CreateSecretCommand({ Name: 'bin', SecretBinary: Buffer.from([1, 2, 3]) }));
    await sm.send(new CreateSecretCommand({ Name: 'empty' }));
    // Act
    const bin = await sm.send(new GetSecretValueCommand({ SecretId: 'bin' }));
    const empty = await errorOf(sm.send(new GetSecretValueCommand({ SecretId: 'empty' })));
    const missing = await errorOf(sm.send(new GetSecretValueCommand({ SecretId: 'nope' })));
    const both = await errorOf(
      sm.send(new CreateSecretCommand({ Name: 'both', SecretString: 's', SecretBinary: Buffer.from('b') })),
    );
    const pending = await errorOf(
      sm.send(new GetSecretValueCommand({ SecretId: 'bin', VersionStage: 'AWSPENDING' })),
    );
    // Assess
    expect([...(bin.SecretBinary ?? [])]).toEqual([1, 2, 3]);
    expect(empty.name).toBe('ResourceNotFoundException');
    expect(missing.name).toBe('ResourceNotFoundException');
    expect(missing.message).toBe("Secrets Manager can't find the specified secret.");
    expect(missing.$metadata.httpStatusCode).toBe(400);
    expect(both.name).toBe('InvalidParameterException');
    expect(pending.message).toMatch(/staging label: AWSPENDING/);
  });

  it('DeleteSecret schedules deletion on the virtual clock; restore, or wait and the name is free again', async () => {
    // Prepare
    await sm.send(
      new CreateSecretCommand({ Name: 'doomed', SecretString: 'x', ClientRequestToken: TOKEN_C }),
    );
    // Act / Assess
    const scheduled = await sm.send(new DeleteSecretCommand({ SecretId: 'doomed', RecoveryWindowInDays: 7 }));
    expect(scheduled.DeletionDate?.getTime()).toBe(cloud.clock.now() + 7 * 86_400_000);
    expect((await errorOf(sm.send(new GetSecretValueCommand({ SecretId: 'doomed' })))).name).toBe(
      'InvalidRequestException',
    );
    expect(
      (await errorOf(sm.send(new CreateSecretCommand({ Name: 'doomed', SecretString: 'y' })))).name,
    ).toBe('InvalidRequestException');
    expect((await errorOf(sm.send(new DeleteSecretCommand({ SecretId: 'doomed' })))).name).toBe(
      'InvalidRequestException',
    );
    expect((await sm.send(new DescribeSecretCommand({ SecretId: 'doomed' }))).DeletedDate).toBeDefined();
    const listed = await sm.send(new ListSecretsCommand({}));
    expect(listed.SecretList?.map((s) => s.Name)).not.toContain('doomed');
    await sm.send(new RestoreSecretCommand({ SecretId: 'doomed' }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'doomed' }))).SecretString).toBe('x');
    await sm.send(new DeleteSecretCommand({ SecretId: 'doomed', RecoveryWindowInDays: 7 }));
    await cloud.clock.advance(7 * 86_400_000 - 1);
    expect((await sm.send(new DescribeSecretCommand({ SecretId: 'doomed' }))).Name).toBe('doomed');
    await cloud.clock.advance(1);
    expect((await errorOf(sm.send(new DescribeSecretCommand({ SecretId: 'doomed' })))).name).toBe(
      'ResourceNotFoundException',
    );
    await sm.send(new CreateSecretCommand({ Name: 'doomed', SecretString: 'again' }));
  });

  it('ForceDeleteWithoutRecovery deletes at once; windows and flags are checked', async () => {
    // Prepare
    await sm.send(new CreateSecretCommand({ Name: 'gone', SecretString: 'x' }));
    // Act
    const both = await errorOf(
      sm.send(
        new DeleteSecretCommand({
          SecretId: 'gone',
          RecoveryWindowInDays: 7,
          ForceDeleteWithoutRecovery: true,
        }),
      ),
    );
    const short = await errorOf(
      sm.send(new DeleteSecretCommand({ SecretId: 'gone', RecoveryWindowInDays: 3 })),
    );
    await sm.send(new DeleteSecretCommand({ SecretId: 'gone', ForceDeleteWithoutRecovery: true }));
    const after = await errorOf(sm.send(new DescribeSecretCommand({ SecretId: 'gone' })));
    // Assess
    expect(both.name).toBe('InvalidParameterException');
    expect(short.name).toBe('InvalidParameterException');
    expect(after.name).toBe('ResourceNotFoundException');
  });

  it('ListSecrets pages through secrets', async () => {
    const first = await sm.send(new ListSecretsCommand({ MaxResults: 2 }));
    const second = await sm.send(new ListSecretsCommand({ MaxResults: 2, NextToken: first.NextToken }));
    expect(first.SecretList).toHaveLength(2);
    expect(first.NextToken).toBeDefined();
    expect(second.SecretList?.[0]?.Name).not.toBe(first.SecretList?.[0]?.Name);
  });
});
