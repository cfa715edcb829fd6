/**
 * IAM of the local Google Cloud (docs/local-gcp-iam.md): allow policies on resources (the
 * organisation, projects, secrets, KMS keys, topics, service accounts, workflows), each binding a
 * role to members, optionally under a condition; roles are predefined (local/gcp/iam/roles.json,
 * read from Google's roles reference) or custom (gcp.yml `customRoles`). A request is allowed when
 * some binding on the resource or one of its ancestors grants a role holding the permission to one
 * of the caller's principals, and its condition (if any) holds.
 *
 * Principals, as IAM names them: `serviceAccount:<email>`, `user:<email>`, and for a federated
 * caller `principal://.../subject/<subject>` plus one `principalSet://.../attribute.<name>/<value>`
 * per mapped attribute and `principalSet://.../*`.
 *
 * Conditions: the `resource.name.startsWith("...")` form deployment/gcp-grants.ts writes (names in
 * a condition use the project number, as Secret Manager evaluates them); any other expression
 * never holds (strict).
 *
 * Evaluation is cheap: role -> permission sets are built once, bindings are indexed by principal,
 * and each decision is cached until a policy changes. Every allowed check is recorded per principal
 * (the least-privilege report reads it); `enforce: false` records and allows everything.
 */
import { GcpError } from '../errors.ts';
import type { Caller } from '../service.ts';
import rolesData from './roles.json' with { type: 'json' };

export interface IamCondition {
  expression: string;
  title?: string;
}

export interface IamBinding {
  /** The resource the policy is on: `organizations/local`, `projects/p`, `projects/p/secrets/s`, ... */
  resource: string;
  role: string;
  members: string[];
  condition?: IamCondition;
  /** Where the binding comes from (gcp.yml, the identities file, the estate): reports name it. */
  source: string;
}

/** The organisation every local project belongs to: a binding here applies everywhere. */
export const ORGANIZATION = 'organizations/local';

interface RoleData {
  source: string;
  completeness: string;
  permissions: string[];
}

const PREDEFINED = (rolesData as { roles: Record<string, RoleData> }).roles;

/** The predefined roles' data (what roles.json holds). */
export function predefinedRoles(): Readonly<Record<string, RoleData>> {
  return PREDEFINED;
}

const STARTS_WITH_RE = /^\s*resource\.name\.startsWith\(\s*"([^"]*)"\s*\)\s*$/;

/** Whether a condition holds for a resource name (with the project number in it). */
export function conditionHolds(condition: IamCondition | undefined, resourceName: string): boolean {
  if (!condition) return true;
  const m = STARTS_WITH_RE.exec(condition.expression);
  return m !== null && resourceName.startsWith(m[1] as string);
}

/** The principals a caller answers to in IAM bindings. */
export function principalsOf(caller: Caller): string[] {
  if (caller.kind === 'federated') {
    const subject = caller.email;
    const pool = subject.replace(/^principal:\/\//, '').replace(/\/subject\/.*$/, '');
    const sets = Object.entries(caller.attributes ?? {}).map(
      ([name, value]) => `principalSet://${pool}/attribute.${name}/${value}`,
    );
    return [subject, ...sets, `principalSet://${pool}/*`];
  }
  return [
    /\.gserviceaccount\.com$/.test(caller.email) ? `serviceAccount:${caller.email}` : `user:${caller.email}`,
  ];
}

/** The principal a report names a caller by (its first). */
export function principalOf(caller: Caller): string {
  return principalsOf(caller)[0] as string;
}

export interface Decision {
  allowed: boolean;
  /** The binding that allowed it. */
  binding?: IamBinding;
}

export interface IamOptions {
  /** Project id -> project number (conditions name resources by number). */
  projectNumber: (project: string) => string;
  enforce?: boolean;
}

export class GcpIam {
  enforce: boolean;
  readonly #projectNumber: (project: string) => string;
  /** Bindings by their source, so a source is replaced whole (gcp.yml reloads). */
  #bySource = new Map<string, IamBinding[]>();
  #customRoles = new Map<string, Set<string>>();
  #rolePermissions = new Map<string, Set<string> | 'all'>();
  #byMember = new Map<string, IamBinding[]>();
  #decisions = new Map<string, Decision>();
  /** principal -> permission -> count of allowed checks. */
  #used = new Map<string, Map<string, number>>();
  #refused: { principal: string; permission: string; resource: string }[] = [];

  constructor(options: IamOptions) {
    this.enforce = options.enforce ?? true;
    this.#projectNumber = options.projectNumber;
  }

  /** A project's number (conditions name resources by it). */
  projectNumber(project: string): string {
    return this.#projectNumber(project);
  }

  /** Replaces every binding of `source`. */
  setBindings(source: string, bindings: Omit<IamBinding, 'source'>[]): void {
    this.#bySource.set(
      source,
      bindings.map((b) => ({ ...b, source })),
    );
    this.#reindex();
  }

  /** Replaces the custom roles of a project (`projects/<p>/roles/<id>` -> permissions). */
  setCustomRoles(roles: Record<string, readonly string[]>): void {
    this.#customRoles = new Map(Object.entries(roles).map(([k, v]) => [k, new Set(v)]));
    this.#rolePermissions.clear();
    this.#decisions.clear();
  }

  bindings(): IamBinding[] {
    return [...this.#bySource.values()].flat();
  }

  /** The permissions of a role; unknown roles hold none (and are reported by `unknownRoles`). */
  permissionsOf(role: string): Set<string> | 'all' {
    let perms = this.#rolePermissions.get(role);
    if (perms) return perms;
    const custom = this.#customRoles.get(role);
    const predefined = PREDEFINED[role];
    if (custom) perms = custom;
    else if (predefined)
      perms = predefined.permissions.includes('*') ? 'all' : new Set(predefined.permissions);
    else perms = new Set();
    this.#rolePermissions.set(role, perms);
    return perms;
  }

  /** Roles some binding names that neither roles.json nor a custom role defines. */
  unknownRoles(): string[] {
    return [
      ...new Set(
        this.bindings()
          .map((b) => b.role)
          .filter((r) => !this.#customRoles.has(r) && PREDEFINED[r] === undefined),
      ),
    ].sort();
  }

  /** Whether `principals` may use `permission` on `resource` (no recording). */
  decide(principals: readonly string[], permission: string, resource: string): Decision {
    const key = `${principals.join(' ')}|${permission}|${resource}`;
    const cached = this.#decisions.get(key);
    if (cached) return cached;
    const numbered = this.#numbered(resource);
    let decision: Decision = { allowed: false };
    for (const p of principals) {
      for (const b of this.#byMember.get(p) ?? []) {
        if (!covers(b.resource, resource)) continue;
        const perms = this.permissionsOf(b.role);
        if (perms !== 'all' && !perms.has(permission)) continue;
        if (!conditionHolds(b.condition, numbered)) continue;
        decision = { allowed: true, binding: b };
        break;
      }
      if (decision.allowed) break;
    }
    this.#decisions.set(key, decision);
    return decision;
  }

  /**
   * Checks a call: records an allowed permission for the caller, or throws Google's 403
   * (`IAM_PERMISSION_DENIED` naming the permission and resource) when enforcing.
   */
  check(caller: Caller, permission: string, resource: string, domain: string): void {
    const principals = principalsOf(caller);
    const decision = this.decide(principals, permission, resource);
    const principal = principals[0] as string;
    if (decision.allowed || !this.enforce) {
      const used = this.#used.get(principal) ?? new Map<string, number>();
      used.set(permission, (used.get(permission) ?? 0) + 1);
      this.#used.set(principal, used);
      return;
    }
    this.#refused.push({ principal, permission, resource });
    throw permissionDenied(permission, resource, domain);
  }

  /** principal -> the permissions its allowed calls used, with counts. */
  used(): Map<string, Map<string, number>> {
    return this.#used;
  }

  /** The refusals so far (principal, permission, resource). */
  refused(): readonly { principal: string; permission: string; resource: string }[] {
    return this.#refused;
  }

  #numbered(resource: string): string {
    const m = /^projects\/([^/]+)(\/.*)?$/.exec(resource);
    if (!m) return resource;
    return `projects/${this.#projectNumber(m[1] as string)}${m[2] ?? ''}`;
  }

  #reindex(): void {
    this.#byMember.clear();
    for (const b of this.bindings()) {
      for (const m of b.members) {
        const list = this.#byMember.get(m) ?? [];
        list.push(b);
        this.#byMember.set(m, list);
      }
    }
    this.#decisions.clear();
  }
}

/** Whether a policy on `on` applies to `resource` (itself, a descendant, or the organisation). */
function covers(on: string, resource: string): boolean {
  return on === ORGANIZATION || resource === on || resource.startsWith(`${on}/`);
}

/** Google's answer to a caller without the permission (google.rpc.Status with an ErrorInfo). */
export function permissionDenied(permission: string, resource: string, domain: string): GcpError {
  return new GcpError(
    'PERMISSION_DENIED',
    `Permission '${permission}' denied on resource '${resource}' (or it may not exist).`,
    {
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'IAM_PERMISSION_DENIED',
          domain,
          metadata: { permission, resource },
        },
      ],
    },
  );
}
