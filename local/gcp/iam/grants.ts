/**
 * Where the local Google cloud's allow policies come from (docs/local-gcp-iam.md):
 * - gcp.yml: exactly the grants scripts/deploy-gcp makes (`plannedGrants` of
 *   deployment/gcp-grants.ts: project roles, the secrets condition, the KMS key's policy, each
 *   topic's publishers) and its custom roles;
 * - config/local-identities.yaml: each identity's `gcp.roles`, granted on the organisation;
 * - the estate: a network project's TransportManager members hold roles/networkconnectivity.admin
 *   and roles/compute.networkViewer in that project, and the custom roles `crosslinkVpnHalf`,
 *   `crosslinkVpnInventory` and `crosslinkVpnTraffic` (the permissions gcp.yml's roles of those ids
 *   list) for the VPN half, the VPN inventory and a Google-coordinated run's traffic reading.
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

/**
 * The custom roles gcp.yml defines that a network project's owners create there and grant its
 * account: the VPN half's (drain, undrain, delete), the VPN inventory's (the reads of a report) and
 * the VPN traffic's (the tunnels' counters a run Google coordinates reads).
 */
export const NETWORK_PROJECT_CUSTOM_ROLES = [
  'crosslinkVpnHalf',
  'crosslinkVpnInventory',
  'crosslinkVpnTraffic',
] as const;

/**
 * The custom roles of the network projects bound in `bindings`: gcp.yml's roles of
 * NETWORK_PROJECT_CUSTOM_ROLES, as each project's owners create them (none that gcp.yml lacks).
 */
export function networkProjectCustomRoles(
  hubRoles: Record<string, readonly string[]>,
  hub: string,
  bindings: readonly Unsourced[],
): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {};
  for (const id of NETWORK_PROJECT_CUSTOM_ROLES) {
    const perms = hubRoles[roleName(id, hub)];
    if (!perms) continue;
    for (const b of bindings) if (b.role.endsWith(`/roles/${id}`)) out[b.role] = perms;
  }
  return out;
}

export function transportMemberBindings(members: Record<string, readonly string[]> | undefined): Unsourced[] {
  return Object.entries(members ?? {}).flatMap(([project, emails]) =>
    [...NETWORK_PROJECT_ROLES, ...NETWORK_PROJECT_CUSTOM_ROLES.map((id) => roleName(id, project))].map(
      (role) => ({
        resource: `projects/${project}`,
        role,
        members: emails.map((e) => (/\.gserviceaccount\.com$/.test(e) ? `serviceAccount:${e}` : `user:${e}`)),
      }),
    ),
  );
}
