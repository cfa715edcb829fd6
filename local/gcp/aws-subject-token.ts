/**
 * Verifies the subject token of AWS workload identity federation as Google's STS does: the token is
 * a serialized, SigV4-signed `GetCallerIdentity` request (what google-auth-library's AwsClient
 * builds: URL-encoded JSON `{url, method, headers: [{key, value}]}`). Instead of forwarding it to
 * AWS STS, the local cloud recomputes the signature with the AWS edge's credentials (the local
 * identities and temporary keys): the caller is the principal behind the access key.
 */
import type { CredentialStore, Principal } from '#local/aws/credentials.ts';
import { AuthRefusal, parseAuth, type SignedRequest, verifySignature } from '#local/aws/sigv4.ts';

export class SubjectTokenError extends Error {
  readonly oauthError: 'invalid_request' | 'invalid_grant';
  constructor(oauthError: SubjectTokenError['oauthError'], message: string) {
    super(message);
    this.name = 'SubjectTokenError';
    this.oauthError = oauthError;
  }
}

/** Returns the verified AWS principal, or throws SubjectTokenError. `audience` must be signed in. */
export function verifyAwsSubjectToken(
  subjectToken: string,
  audience: string,
  credentials: CredentialStore,
  clock: { now(): number },
  wallNow = Date.now(),
): Principal {
  // The token is signed with the wall time (a client outside) or the virtual time (a function).
  const signerTimes = [wallNow, clock.now()];
  let parsed: { url?: unknown; method?: unknown; headers?: unknown };
  try {
    parsed = JSON.parse(decodeURIComponent(subjectToken)) as typeof parsed;
  } catch {
    throw new SubjectTokenError(
      'invalid_request',
      'Unable to parse the AWS subject token: not URL-encoded JSON.',
    );
  }
  if (typeof parsed.url !== 'string' || parsed.method !== 'POST' || !Array.isArray(parsed.headers)) {
    throw new SubjectTokenError(
      'invalid_request',
      'The AWS subject token must be a POST request with url and headers.',
    );
  }
  let url: URL;
  try {
    url = new URL(parsed.url);
  } catch {
    throw new SubjectTokenError('invalid_request', `Invalid AWS subject token url: ${parsed.url}`);
  }
  if (!/^sts(\.[a-z0-9-]+)?\.amazonaws\.com$/.test(url.hostname) || url.protocol !== 'https:') {
    throw new SubjectTokenError(
      'invalid_grant',
      `The AWS subject token must be a request to AWS STS, not ${url.host}`,
    );
  }
  if (url.searchParams.get('Action') !== 'GetCallerIdentity') {
    throw new SubjectTokenError(
      'invalid_grant',
      'The AWS subject token must be a GetCallerIdentity request.',
    );
  }
  const headers: Record<string, string> = {};
  for (const h of parsed.headers as { key?: unknown; value?: unknown }[]) {
    if (typeof h?.key !== 'string' || typeof h.value !== 'string') {
      throw new SubjectTokenError('invalid_request', 'Malformed header in the AWS subject token.');
    }
    headers[h.key.toLowerCase()] = h.value;
  }
  headers.host ??= url.host;
  const target = headers['x-goog-cloud-target-resource'];
  const bare = (s: string) => s.replace(/^https:/, '');
  if (target === undefined || bare(target) !== bare(audience)) {
    throw new SubjectTokenError(
      'invalid_grant',
      'The AWS subject token must carry x-goog-cloud-target-resource equal to the audience.',
    );
  }
  const req: SignedRequest = {
    method: 'POST',
    path: url.pathname || '/',
    query: url.search.replace(/^\?/, ''),
    headers,
    body: Buffer.alloc(0),
  };
  try {
    const auth = parseAuth(req);
    // google-auth-library adds x-goog-cloud-target-resource after signing: it must be present and
    // equal to the audience (checked above), not signed.
    if (auth.service !== 'sts') {
      throw new SubjectTokenError(
        'invalid_grant',
        `The AWS subject token is signed for ${auth.service}, not sts.`,
      );
    }
    const record = credentials.get(auth.accessKeyId);
    if (!record) {
      throw new SubjectTokenError(
        'invalid_grant',
        'Received invalid AWS response of type InvalidClientTokenId with error message: The security token included in the request is invalid.',
      );
    }
    if (record.sessionToken !== undefined && auth.sessionToken !== record.sessionToken) {
      throw new SubjectTokenError(
        'invalid_grant',
        'Received invalid AWS response of type InvalidClientTokenId.',
      );
    }
    if (record.expiresAt !== undefined && clock.now() > record.expiresAt) {
      throw new SubjectTokenError('invalid_grant', 'Received invalid AWS response of type ExpiredToken.');
    }
    verifySignature(req, auth, record.secretAccessKey, signerTimes);
    return record.principal;
  } catch (e) {
    if (e instanceof AuthRefusal) {
      throw new SubjectTokenError(
        'invalid_grant',
        `Received invalid AWS response of type SignatureDoesNotMatch with error message: ${e.message}`,
      );
    }
    throw e;
  }
}
