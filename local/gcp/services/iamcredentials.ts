/**
 * IAM Service Account Credentials (iamcredentials.googleapis.com): `generateAccessToken` and
 * `generateIdToken` for service-account impersonation. Who may impersonate whom (the
 * roles/iam.serviceAccountTokenCreator bindings) is `settings.iamcredentials.bindings`
 * (`[{member, serviceAccount}]`, member an email, a federated `principal://...` or an AWS ARN of a
 * federated caller: its assumed-role session ARN or the role's ARN). As in IAM, they are each service account's own policy: an account some binding
 * names admits exactly its members; for an account no binding names, every local identity with both
 * an AWS and a Google half may impersonate its own Google account from its AWS principal (the
 * crosslink role -> the crosslink service account), and every service account itself.
 */
import { parseDuration } from '#core/clock.ts';
import { GcpError, invalidArgument } from '../errors.ts';
import { defineGcpService, type GcpRequestContext, type GcpWorld } from '../service.ts';

export interface IamCredentialsSettings {
  bindings: { member: string; serviceAccount: string }[];
}

const MAX_LIFETIME_S = 3600;

/** The role ARN of an assumed-role session ARN (what a binding on the role names). */
function roleOfSession(arn: string): string | undefined {
  const m = /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\//.exec(arn);
  return m ? `arn:aws:iam::${m[1]}:role/${m[2]}` : undefined;
}

function allowed(world: GcpWorld, callerEmail: string, serviceAccount: string): boolean {
  const configured = world.settings<IamCredentialsSettings>('iamcredentials').bindings;
  const arn = /\/subject\/(arn:aws[^ ]+)$/.exec(callerEmail)?.[1];
  const role = arn === undefined ? undefined : roleOfSession(arn);
  const matches = (member: string) =>
    member === callerEmail || (arn !== undefined && (member === arn || member === role));
  const policy = configured?.filter((b) => b.serviceAccount === serviceAccount) ?? [];
  if (policy.length > 0) return policy.some((b) => matches(b.member));
  if (callerEmail === serviceAccount) return true;
  const sa = world.auth.accounts.get(serviceAccount);
  const identity = sa ? world.auth.identities.find((i) => i.name === sa.name) : undefined;
  return (
    identity?.aws !== undefined &&
    arn !== undefined &&
    (identity.aws.principalArn === arn || identity.aws.principalArn === role)
  );
}

function target(ctx: GcpRequestContext): string {
  const sa = ctx.params.account as string;
  const caller = ctx.caller!;
  if (!ctx.world.auth.accounts.has(sa) || !allowed(ctx.world, caller.email, sa)) {
    throw new GcpError(
      'PERMISSION_DENIED',
      `Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).`,
      {
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'IAM_PERMISSION_DENIED',
            domain: 'iam.googleapis.com',
            metadata: { permission: 'iam.serviceAccounts.getAccessToken' },
          },
        ],
      },
    );
  }
  return sa;
}

export default defineGcpService({
  name: 'iamcredentials',
  host: 'iamcredentials.googleapis.com',
  routes: [
    {
      method: 'POST',
      path: '/v1/projects/{project}/serviceAccounts/{account}:generateAccessToken',
      operation: 'GenerateAccessToken',
      handler: (ctx) => {
        const sa = target(ctx);
        const b = ctx.body as { scope?: unknown; lifetime?: unknown };
        if (!Array.isArray(b.scope) || b.scope.length === 0)
          throw invalidArgument('scope is required', 'scope');
        let lifetimeS = MAX_LIFETIME_S;
        if (b.lifetime !== undefined) {
          const m = /^(\d+(?:\.\d+)?)s$/.exec(String(b.lifetime));
          if (!m)
            throw invalidArgument(`lifetime ${String(b.lifetime)} is not a duration like 3600s`, 'lifetime');
          lifetimeS = Number(m[1]);
          if (lifetimeS <= 0 || lifetimeS > MAX_LIFETIME_S) {
            throw invalidArgument('lifetime must be at most 3600s', 'lifetime');
          }
        }
        const issued = ctx.world.auth.issueAccessToken({
          email: sa,
          kind: 'impersonated',
          scopes: b.scope.map(String),
          lifetimeMs: parseDuration(`${lifetimeS}s`),
        });
        return { accessToken: issued.token, expireTime: new Date(issued.expiresAt).toISOString() };
      },
    },
    {
      method: 'POST',
      path: '/v1/projects/{project}/serviceAccounts/{account}:generateIdToken',
      operation: 'GenerateIdToken',
      handler: (ctx) => {
        const sa = target(ctx);
        const b = ctx.body as { audience?: unknown };
        if (typeof b.audience !== 'string' || b.audience === '')
          throw invalidArgument('audience is required', 'audience');
        return { token: ctx.world.auth.mintIdToken({ email: sa, audience: b.audience }) };
      },
    },
  ],
});
