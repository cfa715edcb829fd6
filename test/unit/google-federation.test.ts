/**
 * The relay's Google credentials (functions/aws/google-federation.ts) against a fake Google: what
 * the token exchange and the impersonation send, the subject token's shape, the cache, and each
 * refusal's reason. test/local/gcp-sts.test.ts runs the same client against the local Google STS,
 * which verifies the subject token's signature.
 */
import { describe, expect, it } from 'vitest';
import { type AwsExternalAccount, awsFederatedTokens, awsSubjectToken } from '#aws/google-federation.ts';

const AUDIENCE =
  '//iam.googleapis.com/projects/100000000001/locations/global/workloadIdentityPools/crosslink-aws/providers/aws';
const CONFIG: AwsExternalAccount = {
  audience: AUDIENCE,
  token_url: 'https://sts.googleapis.com/v1/token',
  credential_source: {
    regional_cred_verification_url:
      'https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15',
  },
};
const IMPERSONATE =
  'https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/relay@p.iam.gserviceaccount.com:generateAccessToken';
const ENV = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE000000001',
  AWS_SECRET_ACCESS_KEY: 'secret',
  AWS_SESSION_TOKEN: 'session-token',
};
const PUBSUB = 'https://www.googleapis.com/auth/pubsub';
const T0 = Date.parse('2026-12-06T12:00:00Z');

type Call = { url: string; headers: Headers; body: string };

/** A fake Google answering each URL with the next of its answers, recording the calls. */
function google(answers: Record<string, { status: number; body: unknown }[]>) {
  const calls: Call[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    calls.push({ url, headers: new Headers(init.headers), body: String(init.body) });
    const next = answers[url]?.shift();
    if (!next) throw new Error(`unexpected call to ${url}`);
    return new Response(JSON.stringify(next.body), { status: next.status });
  }) as typeof globalThis.fetch;
  return { calls, fetch };
}

const sts = (token: string, expiresIn = 3600) => ({
  status: 200,
  body: { access_token: token, issued_token_type: 'x', token_type: 'Bearer', expires_in: expiresIn },
});

function decode(subjectToken: string) {
  return JSON.parse(decodeURIComponent(subjectToken)) as {
    url: string;
    method: string;
    headers: { key: string; value: string }[];
  };
}

describe('the AWS subject token', () => {
  it('is the regional GetCallerIdentity request, SigV4-signed for sts with the session token and the audience header signed', async () => {
    const token = decode(await awsSubjectToken(CONFIG, ENV, () => T0));
    expect(token.url).toBe('https://sts.eu-west-1.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15');
    expect(token.method).toBe('POST');
    const h = Object.fromEntries(token.headers.map((x) => [x.key, x.value]));
    expect(h.host).toBe('sts.eu-west-1.amazonaws.com');
    expect(h['x-amz-date']).toBe('20261206T120000Z');
    expect(h['x-amz-security-token']).toBe('session-token');
    expect(h['x-goog-cloud-target-resource']).toBe(AUDIENCE);
    expect(h.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE000000001\/20261206\/eu-west-1\/sts\/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token;x-goog-cloud-target-resource, Signature=[0-9a-f]{64}$/,
    );
  });

  it('names the Lambda variables it lacks', async () => {
    await expect(awsSubjectToken(CONFIG, { AWS_SECRET_ACCESS_KEY: 's' })).rejects.toThrow(
      "AWS subject token: AWS_ACCESS_KEY_ID, AWS_REGION not set (the function's role credentials and region come from the Lambda environment)",
    );
  });
});

describe('awsFederatedTokens', () => {
  it('exchanges the subject token at STS for the requested scopes, as Google documents the form', async () => {
    const g = google({ [CONFIG.token_url]: [sts('federated')] });
    const source = awsFederatedTokens(CONFIG, [PUBSUB], { env: ENV, fetch: g.fetch, now: () => T0 });
    expect(await source.getAccessToken()).toEqual({ token: 'federated' });
    expect(g.calls).toHaveLength(1);
    const form = new URLSearchParams(g.calls[0]?.body);
    expect(g.calls[0]?.headers.get('content-type')).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries([...form].filter(([k]) => k !== 'subject_token'))).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      audience: AUDIENCE,
      scope: PUBSUB,
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
    });
    expect(decode(form.get('subject_token') as string).url).toMatch(
      /^https:\/\/sts\.eu-west-1\.amazonaws\.com\?/,
    );
  });

  it('impersonates the service account with the federated token (cloud-platform at STS, the scopes and lifetime at iamcredentials)', async () => {
    const config = {
      ...CONFIG,
      service_account_impersonation_url: IMPERSONATE,
      service_account_impersonation: { token_lifetime_seconds: 1200 },
    };
    const g = google({
      [CONFIG.token_url]: [sts('federated')],
      [IMPERSONATE]: [{ status: 200, body: { accessToken: 'sa-token', expireTime: '2026-12-06T12:20:00Z' } }],
    });
    const source = awsFederatedTokens(config, [PUBSUB], { env: ENV, fetch: g.fetch, now: () => T0 });
    expect(await source.getAccessToken()).toEqual({ token: 'sa-token' });
    expect(new URLSearchParams(g.calls[0]?.body).get('scope')).toBe(
      'https://www.googleapis.com/auth/cloud-platform',
    );
    expect(g.calls[1]?.headers.get('authorization')).toBe('Bearer federated');
    expect(JSON.parse(g.calls[1]?.body as string)).toEqual({ scope: [PUBSUB], lifetime: '1200s' });
  });

  it('keeps the token until five minutes before it expires, and concurrent callers share one exchange', async () => {
    let now = T0;
    const g = google({ [CONFIG.token_url]: [sts('first', 3600), sts('second', 3600)] });
    const source = awsFederatedTokens(CONFIG, [PUBSUB], { env: ENV, fetch: g.fetch, now: () => now });
    const both = await Promise.all([source.getAccessToken(), source.getAccessToken()]);
    expect(both.map((t) => t.token)).toEqual(['first', 'first']);
    now = T0 + 54 * 60_000;
    expect((await source.getAccessToken()).token).toBe('first');
    expect(g.calls).toHaveLength(1);
    now = T0 + 55 * 60_000;
    expect((await source.getAccessToken()).token).toBe('second');
    expect(g.calls).toHaveLength(2);
  });

  it("names the refusing step with Google's status and error, and exchanges again after a refusal", async () => {
    const g = google({
      [CONFIG.token_url]: [
        {
          status: 400,
          body: {
            error: 'unauthorized_client',
            error_description: 'The given credential is rejected by the attribute condition.',
          },
        },
        sts('federated'),
      ],
      [IMPERSONATE]: [
        {
          status: 403,
          body: {
            error: {
              code: 403,
              status: 'PERMISSION_DENIED',
              message: "Permission 'iam.serviceAccounts.getAccessToken' denied",
            },
          },
        },
      ],
    });
    const source = awsFederatedTokens(
      { ...CONFIG, service_account_impersonation_url: IMPERSONATE },
      [PUBSUB],
      { env: ENV, fetch: g.fetch, now: () => T0 },
    );
    await expect(source.getAccessToken()).rejects.toThrow(
      'Google STS token exchange: 400 unauthorized_client: The given credential is rejected by the attribute condition.',
    );
    await expect(source.getAccessToken()).rejects.toThrow(
      "service account impersonation: 403 PERMISSION_DENIED: Permission 'iam.serviceAccounts.getAccessToken' denied",
    );
  });

  it('refuses an answer without a token', async () => {
    const g = google({ [CONFIG.token_url]: [{ status: 200, body: { token_type: 'Bearer' } }] });
    const source = awsFederatedTokens(CONFIG, [PUBSUB], { env: ENV, fetch: g.fetch });
    await expect(source.getAccessToken()).rejects.toThrow(
      'Google STS token exchange: the answer holds no access_token',
    );
  });
});
