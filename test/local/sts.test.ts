/**
 * STS against the edge with the standard client: the verified caller, AssumeRole into roles of
 * other simulated accounts (trust, external id, durations, role chaining), and temporary
 * credentials that the edge accepts until they expire on the virtual clock.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  STSClient,
  type STSServiceException,
} from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEFAULT_IDENTITIES_FILE } from '#local/identities.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, ALICE_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
const dir = mkdtempSync(join(tmpdir(), 'crosslink-sts-'));
beforeAll(async () => {
  // alice and bob may assume roles of account 333333333333 (a cross-account AssumeRole needs the
  // caller's grant and the role's trust): which of them gets in is the trust policy's to say.
  const identities = parse(readFileSync(DEFAULT_IDENTITIES_FILE, 'utf8'));
  for (const name of ['alice', 'bob'])
    identities[name].aws.policies = {
      ...identities[name].aws.policies,
      assume: {
        Version: '2012-10-17',
        Statement: {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Resource: 'arn:aws:iam::333333333333:role/*',
        },
      },
    };
  const identitiesFile = join(dir, 'local-identities.yaml');
  writeFileSync(identitiesFile, stringify(identities));
  cloud = await startTestCloud({ identitiesFile });
});
afterAll(async () => {
  await cloud?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Creds = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
const sts = (credentials: Creds = ADMIN_CREDENTIALS) =>
  new STSClient({ region: 'us-east-1', endpoint: cloud.aws.endpoint, credentials, maxAttempts: 1 });

async function errorOf(
  p: Promise<unknown>,
): Promise<STSServiceException & { $metadata: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as STSServiceException & { $metadata: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

async function assume(
  input: { RoleArn: string; RoleSessionName: string; DurationSeconds?: number; ExternalId?: string },
  credentials: Creds = ADMIN_CREDENTIALS,
) {
  const out = await sts(credentials).send(new AssumeRoleCommand(input));
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new Error('no credentials');
  return {
    out,
    creds: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken },
  };
}

describe('STS', () => {
  it('GetCallerIdentity says who signed: the root of the admin account, or an IAM user', async () => {
    // Act
    const root = await sts().send(new GetCallerIdentityCommand({}));
    const alice = await sts(ALICE_CREDENTIALS).send(new GetCallerIdentityCommand({}));
    // Assess
    expect(root).toMatchObject({
      Account: '000000000000',
      Arn: 'arn:aws:iam::000000000000:root',
      UserId: '000000000000',
    });
    expect(alice).toMatchObject({ Account: '000000000000', Arn: 'arn:aws:iam::000000000000:user/alice' });
    expect(alice.UserId).toMatch(/^AIDA[A-Z2-7]{17}$/);
  });

  it('AssumeRole into another account gives credentials the edge accepts as the assumed role', async () => {
    // Act
    const { out, creds } = await assume({
      RoleArn: 'arn:aws:iam::111111111111:role/crosslink-hub-access',
      RoleSessionName: 'hub-sync',
      DurationSeconds: 900,
    });
    const who = await sts(creds).send(new GetCallerIdentityCommand({}));
    // Assess
    expect(out.AssumedRoleUser?.Arn).toBe(
      'arn:aws:sts::111111111111:assumed-role/crosslink-hub-access/hub-sync',
    );
    expect(out.AssumedRoleUser?.AssumedRoleId).toMatch(/^AROA[A-Z2-7]{17}:hub-sync$/);
    expect(out.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(out.Credentials?.Expiration?.getTime()).toBe(cloud.clock.now() + 900_000);
    expect(who).toEqual(
      expect.objectContaining({
        Account: '111111111111',
        Arn: 'arn:aws:sts::111111111111:assumed-role/crosslink-hub-access/hub-sync',
        UserId: out.AssumedRoleUser?.AssumedRoleId,
      }),
    );
  });

  it('temporary credentials expire on the virtual clock, and need their session token', async () => {
    // Prepare
    const { creds } = await assume({
      RoleArn: 'arn:aws:iam::222222222222:role/crosslink-hub-access',
      RoleSessionName: 'short',
      DurationSeconds: 900,
    });
    // Act
    const noToken = await errorOf(
      sts({ accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey }).send(
        new GetCallerIdentityCommand({}),
      ),
    );
    await cloud.clock.advance(899_000);
    const stillValid = await sts(creds).send(new GetCallerIdentityCommand({}));
    await cloud.clock.advance(2_000);
    const expired = await errorOf(sts(creds).send(new GetCallerIdentityCommand({})));
    // Assess
    expect(noToken.name).toBe('InvalidClientTokenId');
    expect(stillValid.Account).toBe('222222222222');
    expect(expired.name).toBe('ExpiredToken');
    expect(expired.$metadata.httpStatusCode).toBe(403);
  });

  it('refuses a role that does not trust the caller, a wrong external id and an unknown role', async () => {
    // Prepare
    await admin(cloud, 'POST', '/aws/sts/put-role', {
      accountId: '333333333333',
      roleName: 'approver-only',
      trust: ['arn:aws:iam::000000000000:user/bob'],
      externalId: 'xl-7f3a',
    });
    const arn = 'arn:aws:iam::333333333333:role/approver-only';
    // Act
    const untrusted = await errorOf(
      sts(ALICE_CREDENTIALS).send(
        new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'alice', ExternalId: 'xl-7f3a' }),
      ),
    );
    const bob = { accessKeyId: 'AKIALOCALBOB00000001', secretAccessKey: 'bob-local-secret' };
    const wrongExternalId = await errorOf(
      sts(bob).send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: 'bob', ExternalId: 'nope' })),
    );
    const ok = await assume({ RoleArn: arn, RoleSessionName: 'bob', ExternalId: 'xl-7f3a' }, bob);
    const unknown = await errorOf(
      sts().send(
        new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111111111111:role/nope', RoleSessionName: 's1' }),
      ),
    );
    // Assess
    expect(untrusted.name).toBe('AccessDenied');
    expect(untrusted.message).toBe(
      `User: arn:aws:iam::000000000000:user/alice is not authorized to perform: sts:AssumeRole on resource: ${arn} because no resource-based policy allows the sts:AssumeRole action`,
    );
    expect(untrusted.$metadata.httpStatusCode).toBe(403);
    expect(wrongExternalId.name).toBe('AccessDenied');
    expect(ok.out.AssumedRoleUser?.Arn).toBe('arn:aws:sts::333333333333:assumed-role/approver-only/bob');
    expect(unknown.name).toBe('AccessDenied');
  });

  it('validates durations and session names, and limits role chaining to one hour', async () => {
    // Prepare
    const hub = 'arn:aws:iam::111111111111:role/crosslink-hub-access';
    await admin(cloud, 'POST', '/aws/sts/put-role', {
      accountId: '222222222222',
      roleName: 'chained',
      trust: [hub],
      maxSessionDuration: 43200,
    });
    // The hub role's sessions may assume the chained role (their own grant, beside its trust).
    await admin(cloud, 'POST', '/aws/sts/put-role', {
      accountId: '111111111111',
      roleName: 'crosslink-hub-access',
      trust: ['000000000000'],
      policies: {
        chain: {
          Version: '2012-10-17',
          Statement: {
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Resource: 'arn:aws:iam::222222222222:role/chained',
          },
        },
      },
    });
    const { creds } = await assume({ RoleArn: hub, RoleSessionName: 'first' });
    // Act
    const tooShort = await errorOf(
      sts().send(new AssumeRoleCommand({ RoleArn: hub, RoleSessionName: 's1', DurationSeconds: 100 })),
    );
    const overMax = await errorOf(
      sts().send(new AssumeRoleCommand({ RoleArn: hub, RoleSessionName: 's1', DurationSeconds: 7200 })),
    );
    const badName = await errorOf(
      sts().send(new AssumeRoleCommand({ RoleArn: hub, RoleSessionName: 'has space' })),
    );
    const chainedTooLong = await errorOf(
      sts(creds).send(
        new AssumeRoleCommand({
          RoleArn: 'arn:aws:iam::222222222222:role/chained',
          RoleSessionName: 'second',
          DurationSeconds: 7200,
        }),
      ),
    );
    const chained = await assume(
      { RoleArn: 'arn:aws:iam::222222222222:role/chained', RoleSessionName: 'second' },
      creds,
    );
    // Assess
    expect(tooShort.name).toBe('ValidationError');
    expect(tooShort.message).toBe(
      "1 validation error detected: Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    );
    expect(overMax.message).toBe(
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    );
    expect(badName.name).toBe('ValidationError');
    expect(chainedTooLong.message).toMatch(/1 hour session limit for roles assumed by role chaining/);
    expect(chained.out.AssumedRoleUser?.Arn).toBe('arn:aws:sts::222222222222:assumed-role/chained/second');
  });
});

describe('AssumeRole into a network account, IAM enforced', () => {
  const HUB_ACCESS = 'arn:aws:iam::222222222222:role/crosslink-hub-access';
  /** A role of the hub account (the root may assume it), granted AssumeRole on the network role or not. */
  async function hubSession(roleName: string, granted: boolean) {
    await admin(cloud, 'POST', '/aws/sts/put-role', {
      accountId: '000000000000',
      roleName,
      trust: ['000000000000'],
      policies: granted
        ? {
            assume: {
              Version: '2012-10-17',
              Statement: { Effect: 'Allow', Action: 'sts:AssumeRole', Resource: HUB_ACCESS },
            },
          }
        : {},
    });
    return (await assume({ RoleArn: `arn:aws:iam::000000000000:role/${roleName}`, RoleSessionName: 'step' }))
      .creds;
  }

  it("needs the caller's grant and the network role's trust, which names the hub's crosslink roles", async () => {
    // Prepare
    const step = await hubSession('crosslink-dev-StepRequestRole', true);
    const ungranted = await hubSession('crosslink-dev-StepParkRole', false);
    const otherTeam = await hubSession('payments-deployer', true);
    // Act
    const ok = await assume({ RoleArn: HUB_ACCESS, RoleSessionName: 'hub' }, step);
    const noGrant = await errorOf(
      sts(ungranted).send(new AssumeRoleCommand({ RoleArn: HUB_ACCESS, RoleSessionName: 'hub' })),
    );
    const notTrusted = await errorOf(
      sts(otherTeam).send(new AssumeRoleCommand({ RoleArn: HUB_ACCESS, RoleSessionName: 'hub' })),
    );
    // Assess
    expect(ok.out.AssumedRoleUser?.Arn).toBe(
      'arn:aws:sts::222222222222:assumed-role/crosslink-hub-access/hub',
    );
    expect(noGrant.name).toBe('AccessDenied');
    expect(noGrant.message).toBe(
      `User: arn:aws:sts::000000000000:assumed-role/crosslink-dev-StepParkRole/step is not authorized to perform: sts:AssumeRole on resource: ${HUB_ACCESS} because no identity-based policy allows the sts:AssumeRole action`,
    );
    expect(notTrusted.name).toBe('AccessDenied');
    expect(notTrusted.message).toBe(
      `User: arn:aws:sts::000000000000:assumed-role/payments-deployer/step is not authorized to perform: sts:AssumeRole on resource: ${HUB_ACCESS} because no resource-based policy allows the sts:AssumeRole action`,
    );
  });
});
