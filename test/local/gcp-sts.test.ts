/**
 * AWS workload identity federation against the Google edge, with google-auth-library's real
 * AwsClient and with the relay Lambda's own client (functions/aws/google-federation.ts, the same
 * flow without the library): each signs a GetCallerIdentity request with SigV4 (the subject token),
 * exchanges it at STS, then impersonates a service account through iamcredentials; the edge
 * verifies the signature against the AWS identities of config/local-identities.yaml. Both clients
 * pass the same cases.
 */
import { AwsClient } from 'google-auth-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFederatedTokens } from '#aws/google-federation.ts';
import { workloadIdentityAudience } from '#local/gcp/services/sts.ts';
import type { LocalCloud } from '#local/index.ts';
import { startTestCloud } from '../support/local-cloud.ts';

const CROSSLINK_SA = 'crosslink@crosslink-local.iam.gserviceaccount.com';
const CROSSLINK_AWS = { accessKeyId: 'AKIALOCALCROSSLINK01', secretAccessKey: 'crosslink-local-secret' };
let cloud: LocalCloud;

type Creds = { accessKeyId: string; secretAccessKey: string };
type Client = { getAccessToken(): Promise<{ token?: string | null }> };

/** google-auth-library's AwsClient, the reference of the flow. */
function libraryClient(creds: Creds, impersonate?: string): Client {
  return new AwsClient({
    type: 'external_account',
    audience: workloadIdentityAudience(cloud.gcp.edge.world),
    subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
    token_url: `${cloud.gcp.endpoint}/v1/token`,
    ...(impersonate
      ? {
          service_account_impersonation_url: `${cloud.gcp.endpoint}/v1/projects/-/serviceAccounts/${impersonate}:generateAccessToken`,
        }
      : {}),
    aws_security_credentials_supplier: {
      getAwsRegion: async () => 'us-east-1',
      getAwsSecurityCredentials: async () => creds,
    },
  });
}

/** The relay Lambda's client, its credentials and region from a Lambda-like environment. */
function relayClient(creds: Creds, impersonate?: string): Client {
  return awsFederatedTokens(
    {
      audience: workloadIdentityAudience(cloud.gcp.edge.world),
      token_url: `${cloud.gcp.endpoint}/v1/token`,
      ...(impersonate
        ? {
            service_account_impersonation_url: `${cloud.gcp.endpoint}/v1/projects/-/serviceAccounts/${impersonate}:generateAccessToken`,
          }
        : {}),
      credential_source: {
        regional_cred_verification_url:
          'https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15',
      },
    },
    ['https://www.googleapis.com/auth/cloud-platform'],
    {
      env: {
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
      },
    },
  );
}

async function tokenInfo(token: string) {
  return (await (await fetch(`${cloud.gcp.endpoint}/tokeninfo?access_token=${token}`)).json()) as {
    email?: string;
    error?: string;
  };
}

/** The crosslink role's sessions, as the pool's principal set names them (attribute.aws_role). */
const CROSSLINK_ROLE_SESSIONS =
  'principalSet://iam.googleapis.com/projects/100000000001/locations/global/workloadIdentityPools/crosslink-aws/attribute.aws_role/arn:aws:sts::000000000000:assumed-role/crosslink-service';

beforeAll(async () => {
  cloud = await startTestCloud({
    settings: {
      // An sts settings entry (no condition yet) that the condition test sets on the running cloud.
      sts: {},
      // roles/iam.workloadIdentityUser on the crosslink service account for the crosslink role's sessions.
      iamcredentials: { bindings: [{ member: CROSSLINK_ROLE_SESSIONS, serviceAccount: CROSSLINK_SA }] },
    },
  });
});
afterAll(async () => {
  await cloud?.stop();
});

describe.each([
  ['google-auth-library', libraryClient],
  ['the relay', relayClient],
])('STS token exchange for AWS workload identity federation (%s)', (_, awsClient) => {
  it('exchanges a real SigV4-signed GetCallerIdentity for a federated token, then impersonates the service account', async () => {
    // Act
    const federated = await awsClient(CROSSLINK_AWS).getAccessToken();
    const impersonated = await awsClient(CROSSLINK_AWS, CROSSLINK_SA).getAccessToken();
    // Assess
    expect((await tokenInfo(federated.token!)).email).toBe(
      'principal://iam.googleapis.com/projects/100000000001/locations/global/workloadIdentityPools/crosslink-aws/subject/arn:aws:sts::000000000000:assumed-role/crosslink-service/crosslink',
    );
    expect((await tokenInfo(impersonated.token!)).email).toBe(CROSSLINK_SA);
    const res = await fetch(
      `${cloud.gcp.endpoint}/v1beta/projects/crosslink-local/locations/us-east4/transports`,
      {
        headers: { authorization: `Bearer ${impersonated.token}` },
      },
    );
    expect(res.status).toBe(200);
  });

  it('refuses a subject token signed with the wrong secret or an unknown key', async () => {
    await expect(
      awsClient({ accessKeyId: CROSSLINK_AWS.accessKeyId, secretAccessKey: 'wrong' }).getAccessToken(),
    ).rejects.toThrow(/invalid_grant|SignatureDoesNotMatch/);
    await expect(
      awsClient({ accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' }).getAccessToken(),
    ).rejects.toThrow(/InvalidClientTokenId/);
  });

  it('refuses a forged subject token and a wrong audience', async () => {
    const audience = workloadIdentityAudience(cloud.gcp.edge.world);
    const post = (fields: Record<string, string>) =>
      fetch(`${cloud.gcp.endpoint}/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
          scope: 'https://www.googleapis.com/auth/cloud-platform',
          audience,
          ...fields,
        }),
      });
    const forged = encodeURIComponent(
      JSON.stringify({
        url: 'https://sts.us-east-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15',
        method: 'POST',
        headers: [
          { key: 'x-goog-cloud-target-resource', value: audience },
          { key: 'x-amz-date', value: new Date().toISOString().replace(/[-:]|\.\d{3}/g, '') },
          {
            key: 'authorization',
            value: `AWS4-HMAC-SHA256 Credential=${CROSSLINK_AWS.accessKeyId}/20260101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date;x-goog-cloud-target-resource, Signature=${'0'.repeat(64)}`,
          },
        ],
      }),
    );
    const r1 = await post({ subject_token: forged });
    expect(r1.status).toBe(400);
    expect(((await r1.json()) as { error: string }).error).toBe('invalid_grant');
    const r2 = await post({
      subject_token: forged,
      audience: '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/x/providers/y',
    });
    expect(((await r2.json()) as { error: string }).error).toBe('invalid_target');
    const r3 = await post({ subject_token: 'not json' });
    expect(((await r3.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('denies impersonating a service account the AWS principal is not bound to', async () => {
    const alice = { accessKeyId: 'AKIALOCALALICE000001', secretAccessKey: 'alice-local-secret' };
    await expect(awsClient(alice, CROSSLINK_SA).getAccessToken()).rejects.toThrow(
      /Permission 'iam\.serviceAccounts\.getAccessToken' denied/,
    );
  });

  it("denies an AWS principal its own identity's service account without a binding on it", async () => {
    // Prepare: admin is one identity with both halves (the account root, admin@...); no binding names it
    const admin = { accessKeyId: 'test', secretAccessKey: 'test' };
    // Act
    const federated = await awsClient(admin).getAccessToken();
    const impersonated = awsClient(admin, 'admin@crosslink-local.iam.gserviceaccount.com').getAccessToken();
    // Assess: the exchange is the pool's; acting as the account needs the account's own policy
    expect(federated.token).toBeTruthy();
    await expect(impersonated).rejects.toThrow(/Permission 'iam\.serviceAccounts\.getAccessToken' denied/);
  });

  it("refuses at the exchange an AWS role the provider's attribute condition does not name, and maps attribute.aws_role", async () => {
    // Prepare: the provider trusts the crosslink role's sessions only
    const before = cloud.gcp.edge.world.settings<{ attributeCondition: string }>('sts').attributeCondition;
    try {
      setCondition("attribute.aws_role == 'arn:aws:sts::000000000000:assumed-role/crosslink-service'");
      const alice = { accessKeyId: 'AKIALOCALALICE000001', secretAccessKey: 'alice-local-secret' };
      // Act
      const refused = await awsClient(alice)
        .getAccessToken()
        .then(
          () => 'exchanged',
          (e: Error) => e.message,
        );
      const trusted = await awsClient(CROSSLINK_AWS).getAccessToken();
      // Assess
      expect(refused).toMatch(/unauthorized_client.*rejected by the attribute condition/s);
      expect((await tokenInfo(trusted.token!)).email).toMatch(
        /\/subject\/arn:aws:sts::000000000000:assumed-role\/crosslink-service\/crosslink$/,
      );
    } finally {
      setCondition(before);
    }
  });
});

/** Sets (or with undefined, removes) the provider's attribute condition of the running cloud. */
function setCondition(condition: string | undefined) {
  const all = cloud.gcp.edge.world.settings<{ attributeCondition: string }>('sts');
  if (condition === undefined) delete all.attributeCondition;
  else all.attributeCondition = condition;
}
