/**
 * IAM Service Account Credentials (iamcredentials.googleapis.com): `generateAccessToken` and
 * `generateIdToken` for service-account impersonation. Each service account's own policy says who
 * may: `settings.iamcredentials.bindings` (`[{member, serviceAccount}]`), each binding standing for
 * roles/iam.serviceAccountTokenCreator or, for a federated principal, roles/iam.workloadIdentityUser
 * on the account (both hold `iam.serviceAccounts.getAccessToken` and `.getOpenIdToken`). A member is
 * named as IAM names it: an email (a service account or a user), or a workload identity pool's
 * `principal://.../subject/<subject>` or `principalSet://.../attribute.<name>/<value>` /
 * `principalSet://.../*`, which a federated caller matches through its subject and mapped
 * attributes (policy.ts `principalsOf`). Nobody else may, the account itself included: as on Google,
 * a federated AWS role reaches a service account only through a binding on it, whichever local
 * identity the two belong to.
 */
import { parseDuration } from '#core/clock.ts';
import { GcpError, invalidArgument } from '../errors.ts';
import { principalsOf } from '../iam/policy.ts';
import { type Caller, defineGcpService, type GcpRequestContext, type GcpWorld } from '../service.ts';

export interface IamCredentialsSettings {
  bindings: { member: string; serviceAccount: string }[];
}

const MAX_LIFETIME_S = 3600;

function allowed(world: GcpWorld, caller: Caller, serviceAccount: string): boolean {
  const configured = world.settings<IamCredentialsSettings>('iamcredentials').bindings ?? [];
  const principals = new Set(principalsOf(caller).map((p) => p.replace(/^(serviceAccount|user):/, '')));
  return configured.some(
    (b) =>
      b.serviceAccount === serviceAccount && principals.has(b.member.replace(/^(serviceAccount|user):/, '')),
  );
}

/** The service account the caller may act as, or Google's refusal (which names no resource). */
function target(ctx: GcpRequestContext, permission: string): string {
  const sa = ctx.params.account as string;
  const caller = ctx.caller!;
  if (!ctx.world.auth.accounts.has(sa) || !allowed(ctx.world, caller, sa)) {
    throw new GcpError(
      'PERMISSION_DENIED',
      `Permission '${permission}' denied on resource (or it may not exist).`,
      {
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'IAM_PERMISSION_DENIED',
            domain: 'iam.googleapis.com',
            metadata: { permission },
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
        const sa = target(ctx, 'iam.serviceAccounts.getAccessToken');
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
        const sa = target(ctx, 'iam.serviceAccounts.getOpenIdToken');
        const b = ctx.body as { audience?: unknown };
        if (typeof b.audience !== 'string' || b.audience === '')
          throw invalidArgument('audience is required', 'audience');
        return { token: ctx.world.auth.mintIdToken({ email: sa, audience: b.audience }) };
      },
    },
  ],
});
