/**
 * Google access tokens for the relay from its Lambda role: workload identity federation with an AWS
 * source (an external-account configuration with `credential_source.environment_id: aws1`), the
 * flow Google documents for AWS workloads and google-auth-library's AwsClient runs:
 *
 * 1. the subject token: a GetCallerIdentity request to the configuration's
 *    `regional_cred_verification_url` (`{region}` the function's region), SigV4-signed for `sts`
 *    with the function's credentials, `x-goog-cloud-target-resource` (the audience) among its
 *    signed headers as Google's sample signs it, serialized as URL-encoded JSON
 *    `{url, method, headers: [{key, value}]}`;
 * 2. the OAuth 2.0 token exchange at `token_url` (form-encoded: the token-exchange grant, the
 *    audience, the scope, an access token requested, the subject token and its type); the scope is
 *    cloud-platform when a service account is impersonated (generateAccessToken requires it), the
 *    requested scopes otherwise;
 * 3. with `service_account_impersonation_url`, iamcredentials `generateAccessToken` with the
 *    federated token (the requested scopes, `token_lifetime_seconds` or an hour).
 *
 * The token is kept until five minutes before it expires, and concurrent callers share one
 * exchange. Why not the library: google-auth-library with gaxios and node-fetch is about 300 KB
 * minified, more than a Lambda bundle's budget (docs/aws-half.md, "Packaging"); this needs
 * only the SigV4 signer and SHA-256 the SDK clients already bundle, and Node's fetch. In Lambda the
 * credentials and region are always in the environment, so the library's fallbacks to the instance
 * metadata service (`credential_source.url`, `region_url`) are not taken: without those variables
 * the exchange fails naming them.
 */
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';

export const AWS_SUBJECT_TOKEN_TYPE = 'urn:ietf:params:aws:token-type:aws4_request';
const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
/** Refresh this long before expiry (google-auth-library's default eager refresh). */
const REFRESH_BEFORE_MS = 5 * 60_000;
const DEFAULT_LIFETIME_S = 3600;

/** The fields of an external-account configuration the AWS flow reads. */
export interface AwsExternalAccount {
  audience: string;
  token_url: string;
  service_account_impersonation_url?: string;
  service_account_impersonation?: { token_lifetime_seconds?: number };
  credential_source: { regional_cred_verification_url: string };
}

/** What the relay's publisher and self-test need of a credential. */
export interface GoogleTokenSource {
  getAccessToken(): Promise<{ token: string }>;
}

/** Google (STS or iamcredentials) refused a step of the exchange, or it could not be made. */
export class GoogleFederationError extends Error {
  override name = 'GoogleFederationError';
}

type Env = Record<string, string | undefined>;

function awsIdentity(env: Env) {
  const missing = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'].filter((k) => !env[k]);
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!region) missing.push('AWS_REGION');
  if (missing.length > 0)
    throw new GoogleFederationError(
      `AWS subject token: ${missing.join(', ')} not set (the function's role credentials and region come from the Lambda environment)`,
    );
  return {
    region: region as string,
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID as string,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY as string,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    },
  };
}

/** The serialized, signed GetCallerIdentity request Google STS takes as an AWS subject token. */
export async function awsSubjectToken(
  config: AwsExternalAccount,
  env: Env,
  now: () => number = Date.now,
): Promise<string> {
  const { region, credentials } = awsIdentity(env);
  const target = config.credential_source.regional_cred_verification_url.replace('{region}', region);
  const url = new URL(target);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signer = new SignatureV4({
    service: 'sts',
    region,
    credentials,
    sha256: Sha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: { host: url.host, 'x-goog-cloud-target-resource': config.audience },
    },
    { signingDate: new Date(now()) },
  );
  const headers = Object.entries(signed.headers).map(([key, value]) => ({ key, value }));
  return encodeURIComponent(JSON.stringify({ url: target, method: 'POST', headers }));
}

/** POSTs to Google and reads its JSON answer; a refusal names the step, status and Google's error. */
async function call(
  step: string,
  url: string,
  init: { headers: Record<string, string>; body: string },
  doFetch: typeof fetch,
): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await doFetch(url, { method: 'POST', ...init, signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    throw new GoogleFederationError(`${step}: ${url} did not answer: ${(e as Error).message}`);
  }
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's page): reported by status below.
  }
  if (!res.ok) {
    // STS answers OAuth errors ({error, error_description}); iamcredentials Google API errors.
    const api = json.error as { status?: string; message?: string } | string | undefined;
    const why =
      typeof api === 'string'
        ? `${api}: ${String(json.error_description ?? '')}`
        : `${api?.status ?? ''}: ${api?.message ?? text.slice(0, 200)}`;
    throw new GoogleFederationError(`${step}: ${res.status} ${why}`.trim());
  }
  return json;
}

/**
 * A token source for a checked AWS external-account configuration (functions/aws/google-relay.ts
 * `googleRelayConfig`), reading the function's credentials from `env` at each exchange.
 */
export function awsFederatedTokens(
  config: AwsExternalAccount,
  scopes: string[],
  options: { env?: Env; fetch?: typeof fetch; now?: () => number } = {},
): GoogleTokenSource {
  const env = options.env ?? process.env;
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const impersonate = config.service_account_impersonation_url;
  let cached: { token: string; expiresAt: number } | undefined;
  let pending: Promise<{ token: string; expiresAt: number }> | undefined;

  async function exchange(): Promise<{ token: string; expiresAt: number }> {
    const sts = await call(
      'Google STS token exchange',
      config.token_url,
      {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: TOKEN_EXCHANGE_GRANT,
          audience: config.audience,
          scope: (impersonate ? [CLOUD_PLATFORM] : scopes).join(' '),
          requested_token_type: ACCESS_TOKEN_TYPE,
          subject_token: await awsSubjectToken(config, env, now),
          subject_token_type: AWS_SUBJECT_TOKEN_TYPE,
        }).toString(),
      },
      doFetch,
    );
    if (typeof sts.access_token !== 'string' || sts.access_token === '')
      throw new GoogleFederationError('Google STS token exchange: the answer holds no access_token');
    if (!impersonate) {
      const ttl = typeof sts.expires_in === 'number' ? sts.expires_in * 1000 : Number.POSITIVE_INFINITY;
      return { token: sts.access_token, expiresAt: now() + ttl };
    }
    const lifetime = config.service_account_impersonation?.token_lifetime_seconds ?? DEFAULT_LIFETIME_S;
    const sa = await call(
      'service account impersonation',
      impersonate,
      {
        headers: { 'content-type': 'application/json', authorization: `Bearer ${sts.access_token}` },
        body: JSON.stringify({ scope: scopes, lifetime: `${lifetime}s` }),
      },
      doFetch,
    );
    const expiresAt = Date.parse(String(sa.expireTime));
    if (typeof sa.accessToken !== 'string' || sa.accessToken === '' || Number.isNaN(expiresAt))
      throw new GoogleFederationError(
        'service account impersonation: the answer holds no accessToken and expireTime',
      );
    return { token: sa.accessToken, expiresAt };
  }

  return {
    async getAccessToken() {
      if (!cached || now() >= cached.expiresAt - REFRESH_BEFORE_MS) {
        pending ??= exchange().finally(() => {
          pending = undefined;
        });
        cached = await pending;
      }
      return { token: cached.token };
    },
  };
}
