/**
 * STS (awsQuery, API 2011-06-15): `GetCallerIdentity` and `AssumeRole`, enough for the
 * multi-account hub. Roles live in simulated accounts (IAM roles are global: one table per local
 * cloud, not per region); each has a trust policy and an optional external id. AssumeRole mints
 * temporary credentials (`ASIA…` + secret + session token) that the edge's SigV4 check then accepts
 * with the session token, as the assumed-role principal, until they expire on the virtual clock.
 *
 * Roles come from settings `sts.roles` (default: `crosslink-hub-access` in 111111111111 and
 * 222222222222, trusting the hub account's `crosslink-*` roles and root), from the template's
 * `AWS::IAM::Role`s (local/aws/wiring.ts) and from the admin action `put-role`.
 *
 * Each role has a trust policy (`trustPolicy`, a document; or `trust`, a list of principals it
 * names: `*`, an account id or `arn:aws:iam::<acct>:root`, a user or role ARN) and its permission
 * policies (`policies`, by name), which the edge's IAM evaluation uses for its sessions. AssumeRole
 * is allowed here when the trust policy allows the caller; with IAM enforced at the edge, the
 * caller's own sts:AssumeRole grant is checked too (docs/local-aws-iam.md).
 */
import { createHash } from 'node:crypto';
import { adminError } from '../common/admin-error.ts';
import { AwsError, errorClass } from '../errors.ts';
import { evaluate } from '../iam/evaluate.ts';
import { contextOf } from '../iam/match.ts';
import { type Policy, parsePolicy } from '../iam/policy.ts';
import { defineService, type World } from '../service.ts';
import { violations } from '../validate.ts';

const AccessDenied = errorClass('AccessDenied', 403);
const MalformedPolicy = errorClass('MalformedPolicyDocument', 400);

export interface Role {
  arn: string;
  accountId: string;
  roleName: string;
  /** AROA… : what GetCallerIdentity's UserId starts with for its sessions. */
  roleId: string;
  /** The trust policy (AssumeRolePolicyDocument), parsed. */
  trustPolicy: Policy;
  /** The permission policies of the role's sessions, parsed. */
  policies: Policy[];
  externalId?: string;
  /** Seconds (3600-43200, default 3600). */
  maxSessionDuration: number;
}

export interface RoleSpec {
  accountId: string;
  roleName: string;
  /** Principals the trust policy names (a shorthand for `trustPolicy`). */
  trust?: string[];
  /** The trust policy document. */
  trustPolicy?: unknown;
  /** Permission policy documents by name. */
  policies?: Record<string, unknown>;
  externalId?: string;
  maxSessionDuration?: number;
}

interface StsSettings {
  roles: RoleSpec[];
}

/**
 * A network account's role for the hub: trusted by the hub account's crosslink roles (the function
 * roles of the `crosslink-<stage>` stack, the relay roles) and its administrator, each still
 * needing its own sts:AssumeRole grant; it may do in its account what the hub's steps do there:
 * Interconnect connections, the activation-key secrets, the Direct Connect gateways' prefixes.
 */
function hubAccessRole(accountId: string): RoleSpec {
  return {
    accountId,
    roleName: 'crosslink-hub-access',
    trustPolicy: {
      Version: '2012-10-17',
      Statement: {
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::000000000000:root' },
        Action: 'sts:AssumeRole',
        Condition: {
          ArnLike: {
            'aws:PrincipalArn': [
              'arn:aws:iam::000000000000:role/crosslink-*',
              'arn:aws:iam::000000000000:root',
            ],
          },
        },
      },
    },
    policies: {
      'hub-access': {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: [
              'interconnect:*',
              'directconnect:Describe*',
              'directconnect:UpdateDirectConnectGatewayAssociation',
            ],
            Resource: '*',
          },
          {
            Effect: 'Allow',
            Action: [
              'secretsmanager:CreateSecret',
              'secretsmanager:GetSecretValue',
              'secretsmanager:DeleteSecret',
              'secretsmanager:TagResource',
            ],
            Resource: `arn:aws:secretsmanager:*:${accountId}:secret:crosslink/*`,
          },
        ],
      },
    },
  };
}

export const DEFAULT_ROLES: readonly RoleSpec[] = [
  hubAccessRole('111111111111'),
  hubAccessRole('222222222222'),
];

const ROLE_CHAIN_LIMIT = 3600;
const rolesByWorld = new WeakMap<World, Map<string, Role>>();

/** Stable IAM-style unique id (`AIDA` users, `AROA` roles): 17 upper-case characters from a hash. */
function uniqueId(prefix: string, of: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const digest = createHash('sha256').update(of).digest();
  let s = '';
  for (let i = 0; i < 17; i++) s += alphabet[(digest[i] as number) % alphabet.length];
  return prefix + s;
}

function roleArn(accountId: string, roleName: string): string {
  return `arn:aws:iam::${accountId}:role/${roleName}`;
}

/** The roles of the local cloud (created from settings on first use). */
export function roles(world: World): Map<string, Role> {
  let table = rolesByWorld.get(world);
  if (!table) {
    table = new Map();
    rolesByWorld.set(world, table);
    for (const spec of world.settings<StsSettings>('sts').roles ?? DEFAULT_ROLES) putRole(world, spec);
  }
  return table;
}

/** Creates or replaces a role (admin `put-role`, settings). */
export function putRole(world: World, spec: RoleSpec): Role {
  if (!/^\d{12}$/.test(spec.accountId)) throw new RangeError(`accountId ${spec.accountId} is not 12 digits`);
  if (!/^[\w+=,.@-]{1,64}$/.test(spec.roleName)) throw new RangeError(`roleName ${spec.roleName} is invalid`);
  const max = spec.maxSessionDuration ?? 3600;
  if (!Number.isInteger(max) || max < 3600 || max > 43200) {
    throw new RangeError('maxSessionDuration must be 3600-43200 seconds');
  }
  if (spec.trust !== undefined && !Array.isArray(spec.trust))
    throw new RangeError('trust must be a list of accounts / principal ARNs');
  if ((spec.trust === undefined) === (spec.trustPolicy === undefined))
    throw new RangeError('give the role a trust policy: trustPolicy (a document) or trust (principals)');
  const arn = roleArn(spec.accountId, spec.roleName);
  const trustDocument = spec.trustPolicy ?? {
    Version: '2012-10-17',
    Statement: {
      Effect: 'Allow',
      Principal: { AWS: spec.trust?.map((t) => (/^\d{12}$/.test(t) ? `arn:aws:iam::${t}:root` : t)) },
      Action: 'sts:AssumeRole',
    },
  };
  const parsed = (doc: unknown, name: string, kind: 'identity' | 'resource') => {
    try {
      return parsePolicy(doc, name, kind);
    } catch (err) {
      throw new RangeError((err as Error).message);
    }
  };
  const role: Role = {
    arn,
    accountId: spec.accountId,
    roleName: spec.roleName,
    roleId: uniqueId('AROA', arn),
    trustPolicy: parsed(trustDocument, `trust policy of ${arn}`, 'resource'),
    policies: Object.entries(spec.policies ?? {}).map(([name, doc]) =>
      parsed(doc, `${arn} policy ${name}`, 'identity'),
    ),
    maxSessionDuration: max,
    ...(spec.externalId === undefined ? {} : { externalId: spec.externalId }),
  };
  const table = rolesByWorld.get(world) ?? roles(world);
  table.set(arn, role);
  return role;
}

interface CallerView {
  arn: string;
  accountId: string;
  /** For an assumed-role session: the role's ARN. */
  roleArn?: string;
}

/** Parses `arn:aws:sts::<acct>:assumed-role/<Role>/<session>` (undefined for users / roots). */
function assumedRole(arn: string): { accountId: string; roleName: string; session: string } | undefined {
  const m = /^arn:aws:sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(arn);
  return m ? { accountId: m[1] as string, roleName: m[2] as string, session: m[3] as string } : undefined;
}

/** Grants everything: the trust policy then decides alone (the caller's own grant is the edge's check). */
const TRUST_ONLY = parsePolicy(
  { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: '*', Resource: '*' } },
  'trust only',
  'identity',
);

/** Whether the role's trust policy lets the caller assume it (by name, or through its account). */
function trusts(role: Role, caller: CallerView, now: number): boolean {
  return (
    evaluate({
      caller,
      action: 'sts:AssumeRole',
      resource: role.arn,
      identityPolicies: [TRUST_ONLY],
      resourcePolicy: role.trustPolicy,
      resourcePolicyRequired: true,
      context: contextOf({
        'aws:CurrentTime': new Date(now).toISOString(),
        'aws:EpochTime': String(Math.floor(now / 1000)),
      }),
    }).decision === 'Allow'
  );
}

function userIdOf(arn: string, accountId: string): string {
  const session = assumedRole(arn);
  if (session) return `${uniqueId('AROA', roleArn(session.accountId, session.roleName))}:${session.session}`;
  if (/:root$/.test(arn)) return accountId;
  return uniqueId(/:role\//.test(arn) ? 'AROA' : 'AIDA', arn);
}

const validationError = (problems: string[]) =>
  new AwsError(
    'ValidationError',
    `${problems.length} validation error${problems.length === 1 ? '' : 's'} detected: ${problems.join('; ')}`,
    { status: 400 },
  );

export default defineService({
  name: 'sts',
  signingName: 'sts',
  protocol: 'query',
  xmlNamespace: 'https://sts.amazonaws.com/doc/2011-06-15/',
  operations: {
    GetCallerIdentity(_input, ctx) {
      const { arn, accountId } = ctx.principal;
      return { Arn: arn, UserId: userIdOf(arn, accountId), Account: accountId };
    },

    AssumeRole(
      input: {
        RoleArn?: string;
        RoleSessionName?: string;
        DurationSeconds?: string;
        ExternalId?: string;
        Policy?: string;
      },
      ctx,
    ) {
      const duration = input.DurationSeconds === undefined ? 3600 : Number(input.DurationSeconds);
      const problems = violations(
        {
          roleArn: input.RoleArn,
          roleSessionName: input.RoleSessionName,
          durationSeconds: duration,
          externalId: input.ExternalId,
        },
        {
          roleArn: { type: 'string', required: true, min: 20, max: 2048 },
          roleSessionName: { type: 'string', required: true, min: 2, max: 64, pattern: /[\w+=,.@-]*/ },
          durationSeconds: { type: 'integer', min: 900, max: 43200 },
          externalId: { type: 'string', min: 2, max: 1224, pattern: /[\w+=,.@:/-]*/ },
        },
      );
      if (input.RoleSessionName !== undefined && !/^[\w+=,.@-]*$/.test(input.RoleSessionName)) {
        problems.push(
          `Value '${input.RoleSessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
        );
      }
      if (problems.length > 0) throw validationError(problems);
      if (input.Policy !== undefined) {
        try {
          JSON.parse(input.Policy);
        } catch {
          throw MalformedPolicy('The policy is not in the valid JSON format.');
        }
      }
      const caller = ctx.principal;
      const session = assumedRole(caller.arn);
      const callerView: CallerView = {
        arn: caller.arn,
        accountId: caller.accountId,
        ...(session ? { roleArn: roleArn(session.accountId, session.roleName) } : {}),
      };
      const role = roles(ctx.world).get(input.RoleArn as string);
      const denied = () =>
        AccessDenied(
          `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${input.RoleArn}`,
        );
      if (!role || !trusts(role, callerView, ctx.clock.now())) throw denied();
      if (role.externalId !== undefined && role.externalId !== input.ExternalId) throw denied();
      if (session && duration > ROLE_CHAIN_LIMIT) {
        throw new AwsError(
          'ValidationError',
          'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
          { status: 400 },
        );
      }
      if (duration > role.maxSessionDuration) {
        throw new AwsError(
          'ValidationError',
          `The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`,
          { status: 400 },
        );
      }
      const random = ctx.world.random;
      const accessKeyId = `ASIA${random.chars(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`;
      const secretAccessKey = random.chars(
        40,
        'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/',
      );
      const sessionToken = `IQoJb3JpZ2luX2Vj${random.chars(200, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/')}`;
      const expiresAt = Math.floor(ctx.clock.now() / 1000) * 1000 + duration * 1000;
      const arn = `arn:aws:sts::${role.accountId}:assumed-role/${role.roleName}/${input.RoleSessionName}`;
      ctx.world.credentials.add({
        accessKeyId,
        secretAccessKey,
        sessionToken,
        expiresAt,
        principal: { name: input.RoleSessionName as string, arn, accountId: role.accountId, accessKeyId },
      });
      return {
        Credentials: {
          AccessKeyId: accessKeyId,
          SecretAccessKey: secretAccessKey,
          SessionToken: sessionToken,
          Expiration: new Date(expiresAt),
        },
        // No PackedPolicySize: session policies are checked for JSON but not packed or enforced.
        AssumedRoleUser: { AssumedRoleId: `${role.roleId}:${input.RoleSessionName}`, Arn: arn },
      };
    },
  },
  admin: {
    /** Creates or replaces a role: `{accountId, roleName, trust: [...], externalId?, maxSessionDuration?}`. */
    'put-role'(body: RoleSpec, world) {
      try {
        return { role: putRole(world, body) };
      } catch (err) {
        throw adminError(400, 'InvalidRole', (err as Error).message);
      }
    },
    roles(_body, world) {
      return { roles: [...roles(world).values()] };
    },
  },
});
