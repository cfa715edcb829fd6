/**
 * Security Token Service (sts.googleapis.com `POST /v1/token`): the OAuth 2.0 token exchange of
 * workload identity federation for AWS. The subject token (a signed GetCallerIdentity request) is
 * verified against the AWS identities (local/gcp/aws-subject-token.ts); the answer is a federated
 * access token whose caller is `principal://iam.googleapis.com/projects/<n>/locations/global/
 * workloadIdentityPools/<pool>/subject/<AWS principal ARN>` (google.subject = assertion.arn). With
 * it, iamcredentials `generateAccessToken` impersonates the service accounts the bindings allow.
 *
 * The pool's audience is `settings.sts.audience` or the default
 * `//iam.googleapis.com/projects/<projectNumber>/locations/global/workloadIdentityPools/crosslink-aws/providers/aws`.
 *
 * The provider maps attributes as Google's default AWS mapping does: `google.subject =
 * assertion.arn`, `attribute.aws_role` = the ARN's `arn:aws:sts::<account>:assumed-role/<role>`
 * (the session name stripped) or the ARN itself when it is no assumed role. `assertion.arn` is what
 * GetCallerIdentity answers: a local identity whose principal is a role ARN (long-term keys, which
 * real AWS roles never have) is taken as a session of that role named after the identity. The
 * token carries the attributes (IAM matches `principalSet://.../attribute.aws_role/<value>`).
 * `settings.sts.attributeCondition` is the provider's attribute condition (the CEL subset of
 * `attributeCondition`); an exchange it rejects is refused with Google's `unauthorized_client`.
 */
import type { CredentialStore } from '#local/aws/credentials.ts';
import { SubjectTokenError, verifyAwsSubjectToken } from '../aws-subject-token.ts';
import { ConditionError, evaluateAttributeCondition } from '../iam/attribute-condition.ts';
import { defineGcpService, type GcpRequestContext, type GcpWorld, Reply } from '../service.ts';

export const AWS_CREDENTIALS = 'aws-credentials';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AWS_SUBJECT = 'urn:ietf:params:aws:token-type:aws4_request';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

export interface StsSettings {
  /** The workload identity pool provider's audience. */
  audience: string;
  /** Project number of the project holding the pool (default 100000000001). */
  projectNumber: string;
  /** The provider's attribute condition (CEL subset: local/gcp/iam/attribute-condition.ts). */
  attributeCondition: string;
}

/** What GetCallerIdentity answers for a verified principal (a role's keys: a session of it). */
export function assertionArn(principal: { arn: string; name: string }): string {
  const role = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(principal.arn);
  return role ? `arn:aws:sts::${role[1]}:assumed-role/${role[2]}/${principal.name}` : principal.arn;
}

/** Google's default attribute mapping of an AWS provider. */
export function defaultAwsAttributes(arn: string): {
  'google.subject': string;
  'attribute.aws_role': string;
} {
  const m = /^(arn:aws:sts::\d{12}:)assumed-role\/([^/]+)\//.exec(arn);
  return {
    'google.subject': arn,
    'attribute.aws_role': arn.includes('assumed-role') && m ? `${m[1]}assumed-role/${m[2]}` : arn,
  };
}

/** The configured audience (the `audience` field of an external-account credential file). */
export function workloadIdentityAudience(world: GcpWorld): string {
  const s = world.settings<StsSettings>('sts');
  return (
    s.audience ??
    `//iam.googleapis.com/projects/${s.projectNumber ?? '100000000001'}/locations/global/workloadIdentityPools/crosslink-aws/providers/aws`
  );
}

/** The principal of a federated AWS identity (what IAM bindings name). */
export function federatedPrincipal(audience: string, arn: string): string {
  const pool = audience
    .replace(/^(https:)?\/\/iam\.googleapis\.com\//, '')
    .replace(/\/providers\/[^/]+$/, '');
  return `principal://iam.googleapis.com/${pool}/subject/${arn}`;
}

function oauthError(status: number, error: string, description: string): Reply {
  return new Reply(status, { error, error_description: description });
}

function exchange(ctx: GcpRequestContext): Reply {
  const b = ctx.body as Record<string, unknown>;
  if (b.grant_type !== TOKEN_EXCHANGE) {
    return oauthError(
      400,
      'invalid_request',
      `Invalid value for "grant_type": ${String(b.grant_type ?? '')}`,
    );
  }
  if (b.requested_token_type !== undefined && b.requested_token_type !== ACCESS_TOKEN) {
    return oauthError(400, 'invalid_request', 'Invalid value for "requested_token_type".');
  }
  if (b.subject_token_type !== AWS_SUBJECT) {
    return oauthError(
      400,
      'invalid_request',
      'Invalid value for "subject_token_type": only AWS is configured locally.',
    );
  }
  const audience = workloadIdentityAudience(ctx.world);
  const bare = (s: string) => s.replace(/^https:/, '');
  if (typeof b.audience !== 'string' || bare(b.audience) !== bare(audience)) {
    return oauthError(
      400,
      'invalid_target',
      'The target service indicated by the "audience" parameters is invalid.',
    );
  }
  if (typeof b.subject_token !== 'string')
    return oauthError(400, 'invalid_request', 'subject_token is required');
  const credentials = ctx.world.extensions.get(AWS_CREDENTIALS) as CredentialStore | undefined;
  if (!credentials)
    return oauthError(503, 'temporarily_unavailable', 'No AWS identities are known to this edge.');
  try {
    const principal = verifyAwsSubjectToken(b.subject_token, audience, credentials, ctx.clock);
    const arn = assertionArn(principal);
    const mapped = defaultAwsAttributes(arn);
    const condition = ctx.world.settings<StsSettings>('sts').attributeCondition;
    if (condition !== undefined) {
      let holds: boolean;
      try {
        holds = evaluateAttributeCondition(condition, { assertion: { arn }, ...mapped });
      } catch (e) {
        if (e instanceof ConditionError)
          return oauthError(400, 'invalid_request', `The attribute condition is invalid: ${e.message}`);
        throw e;
      }
      if (!holds)
        return oauthError(
          400,
          'unauthorized_client',
          'The given credential is rejected by the attribute condition.',
        );
    }
    const scopes = typeof b.scope === 'string' && b.scope ? b.scope.split(' ') : undefined;
    const issued = ctx.world.auth.issueAccessToken({
      email: federatedPrincipal(audience, mapped['google.subject']),
      kind: 'federated',
      attributes: { aws_role: mapped['attribute.aws_role'] },
      ...(scopes ? { scopes } : {}),
    });
    return new Reply(200, {
      access_token: issued.token,
      issued_token_type: ACCESS_TOKEN,
      token_type: 'Bearer',
      expires_in: issued.expiresInSeconds,
    });
  } catch (e) {
    if (e instanceof SubjectTokenError) return oauthError(400, e.oauthError, e.message);
    throw e;
  }
}

export default defineGcpService({
  name: 'sts',
  host: 'sts.googleapis.com',
  routes: [{ method: 'POST', path: '/v1/token', operation: 'ExchangeToken', auth: false, handler: exchange }],
});
