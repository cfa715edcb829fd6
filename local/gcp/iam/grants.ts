/**
 * Where the local Google cloud's allow policies come from (docs/local-gcp-iam.md):
 * - gcp.yml: exactly the grants scripts/deploy-gcp makes (`plannedGrants` of
 *   deployment/gcp-grants.ts: project roles, the secrets condition, the KMS key's policy, each
 *   topic's publishers) and its custom roles;
 * - config/local-identities.yaml: each identity's `gcp.roles`, granted on the organisation;
 * - the estate: a network project's TransportManager members hold roles/networkconnectivity.admin
 *   and roles/compute.networkViewer in that project, and its custom role `crosslinkVpnHalf` (the
 *   permissions gcp.yml's role of that id lists) for the VPN half.
 */

import type { GcpConfig } from '#deployment/gcp-config.ts';
import { type PlannedGrant, plannedGrants, roleName } from '#deployment/gcp-grants.ts';
import type { LocalIdentity } from '#local/identities.ts';
import { type IamBinding, ORGANIZATION } from './policy.ts';

type Unsourced = Omit<IamBinding, 'source'>;

/** Grants of one member each -> bindings of one role (and condition) on one resource each. */
export function groupGrants(grants: readonly PlannedGrant[]): Unsourced[] {
  const out = new Map<string, Unsourced>();
  for (const g of grants) {
    const key = `${g.resource}|${g.role}|${g.condition?.expression ?? ''}`;
    const b = out.get(key) ?? {
      resource: g.resource,
      role: g.role,
      members: [],
      ...(g.condition ? { condition: { expression: g.condition.expression, title: g.condition.title } } : {}),
    };
    if (!b.members.includes(g.member)) b.members.push(g.member);
    out.set(key, b);
  }
  return [...out.values()];
}

/** gcp.yml's bindings and custom roles in `project`, as deploy-gcp makes them. */
export function configPolicy(
  config: GcpConfig,
  project: string,
  projectNumber: string,
  region: string,
): { bindings: Unsourced[]; customRoles: Record<string, string[]> } {
  return {
    bindings: groupGrants(plannedGrants(config, project, projectNumber, region)),
    customRoles: Object.fromEntries(
      config.customRoles.map((r) => [roleName(r.id, project), [...r.permissions]]),
    ),
  };
}

/** Each identity's `gcp.roles`, on the organisation (every local project). */
export function identityBindings(identities: readonly LocalIdentity[]): Unsourced[] {
  return groupGrants(
    identities.flatMap((i) =>
      i.gcp
        ? (i.gcp.roles ?? []).map((role) => ({
            resource: ORGANIZATION,
            role,
            member: /\.gserviceaccount\.com$/.test(i.gcp!.email)
              ? `serviceAccount:${i.gcp!.email}`
              : `user:${i.gcp!.email}`,
          }))
        : [],
    ),
  );
}

/**
 * TransportManager members of projects (the estate's network projects): what gcp.yml asks a
 * network project's account to hold there, roles/networkconnectivity.admin for the transports and
 * roles/compute.networkViewer for the watcher's Cloud Router status (docs/link-health.md).
 */
export const NETWORK_PROJECT_ROLES = [
  'roles/networkconnectivity.admin',
  'roles/compute.networkViewer',
] as const;

/** The VPN half's custom role, which gcp.yml defines and a network project's owners create there. */
export const VPN_HALF_ROLE = 'crosslinkVpnHalf';

/**
 * The custom roles of the network projects bound in `bindings`: gcp.yml's `crosslinkVpnHalf`, as
 * each project's owners create it (an empty record when gcp.yml defines no such role).
 */
export function networkProjectCustomRoles(
  hubRoles: Record<string, readonly string[]>,
  hub: string,
  bindings: readonly Unsourced[],
): Record<string, readonly string[]> {
  const perms = hubRoles[roleName(VPN_HALF_ROLE, hub)];
  if (!perms) return {};
  const projects = new Set(
    bindings.flatMap((b) => (b.role.endsWith(`/roles/${VPN_HALF_ROLE}`) ? [b.role] : [])),
  );
  return Object.fromEntries([...projects].map((role) => [role, perms]));
}

export function transportMemberBindings(members: Record<string, readonly string[]> | undefined): Unsourced[] {
  return Object.entries(members ?? {}).flatMap(([project, emails]) =>
    [...NETWORK_PROJECT_ROLES, roleName(VPN_HALF_ROLE, project)].map((role) => ({
      resource: `projects/${project}`,
      role,
      members: emails.map((e) => (/\.gserviceaccount\.com$/.test(e) ? `serviceAccount:${e}` : `user:${e}`)),
    })),
  );
}
