/**
 * The least-privilege report of the Google half (docs/local-gcp-iam.md): for each service account
 * of gcp.yml (and so each function and workflow running as it), the permissions its calls used
 * against the roles deploy-gcp grants it. A used permission no grant covers is `ungranted` (with IAM
 * enforced the call was refused); a granted role none of whose permissions was used is `unused`,
 * and must be removed or carry its reason in gcp.yml (`serviceAccounts[].unusedLocally`).
 */
import type { GcpConfig } from '#deployment/gcp-config.ts';
import { serviceAccountEmail } from '#deployment/gcp-config.ts';
import { configPolicy } from './grants.ts';
import { GcpIam } from './policy.ts';

export interface AccountReport {
  account: string;
  /** Who runs as it: `function <name>`, `workflow <name>`, `push <subscription>`, `job <name>`. */
  runs: string[];
  /** Role -> the resources it is granted on. */
  granted: Record<string, string[]>;
  /** Permission -> how many allowed calls used it. */
  used: Record<string, number>;
  /** Used permissions none of the account's roles holds. */
  ungranted: string[];
  /** Granted roles none of whose permissions was used, with the reason gcp.yml gives (or none). */
  unused: { role: string; reason: string | undefined }[];
  /**
   * Roles gcp.yml says are unused locally (`unusedLocally`) that these calls did use, or that the
   * account is not granted: the reason no longer holds for this record (a role a run may or may
   * not use keeps its reason; one every run uses should lose it).
   */
  reasonedButUsed: string[];
}

/** `used`: principal -> permission -> count (GcpIam.used(), or merged records of several runs). */
export function leastPrivilegeReport(
  config: GcpConfig,
  project: string,
  projectNumber: string,
  region: string,
  used: ReadonlyMap<string, ReadonlyMap<string, number>>,
): AccountReport[] {
  const policy = configPolicy(config, project, projectNumber, region);
  const roles = new GcpIam({ projectNumber: () => projectNumber });
  roles.setCustomRoles(policy.customRoles);
  return config.serviceAccounts.map((sa) => {
    const email = serviceAccountEmail(sa.id, project);
    const member = `serviceAccount:${email}`;
    const granted: Record<string, string[]> = {};
    for (const b of policy.bindings)
      if (b.members.includes(member)) granted[b.role] = [...(granted[b.role] ?? []), b.resource];
    const mine = used.get(member) ?? new Map<string, number>();
    const holds = (role: string, permission: string) => {
      const p = roles.permissionsOf(role);
      return p === 'all' || p.has(permission);
    };
    const reasons = sa.unusedLocally ?? {};
    return {
      account: email,
      runs: runnersOf(config, sa.id),
      granted,
      used: Object.fromEntries([...mine.entries()].sort(([a], [b]) => a.localeCompare(b))),
      ungranted: [...mine.keys()].filter((p) => !Object.keys(granted).some((r) => holds(r, p))).sort(),
      unused: Object.keys(granted)
        .filter((r) => ![...mine.keys()].some((p) => holds(r, p)))
        .map((role) => ({ role, reason: reasons[shortRole(role, project)] ?? reasons[role] })),
      reasonedButUsed: Object.keys(reasons)
        .filter((short) => {
          const role = Object.keys(granted).find((r) => r === short || shortRole(r, project) === short);
          return role === undefined || [...mine.keys()].some((p) => holds(role, p));
        })
        .sort(),
    };
  });
}

/** gcp.yml names a custom role by its id; IAM by `projects/<p>/roles/<id>`. */
function shortRole(role: string, project: string): string {
  return role.startsWith(`projects/${project}/roles/`) ? role.slice(role.lastIndexOf('/') + 1) : role;
}

function runnersOf(config: GcpConfig, id: string): string[] {
  return [
    ...config.functions.filter((f) => f.serviceAccount === id).map((f) => `function ${f.name}`),
    ...config.workflows.filter((w) => w.serviceAccount === id).map((w) => `workflow ${w.name}`),
    ...config.subscriptions.filter((s) => s.push?.serviceAccount === id).map((s) => `push ${s.name}`),
    ...config.schedulerJobs
      .filter((j) => (j.http?.serviceAccount ?? j.workflow?.serviceAccount) === id)
      .map((j) => `job ${j.name}`),
  ];
}

/** The report as text, one account a paragraph. */
export function formatReport(report: readonly AccountReport[]): string {
  const lines: string[] = [];
  for (const a of report) {
    lines.push(`${a.account}${a.runs.length > 0 ? ` (${a.runs.join(', ')})` : ''}`);
    for (const [role, on] of Object.entries(a.granted)) lines.push(`  granted ${role} on ${on.join(', ')}`);
    for (const [p, n] of Object.entries(a.used)) lines.push(`  used    ${p} x${n}`);
    for (const p of a.ungranted) lines.push(`  UNGRANTED ${p}`);
    for (const u of a.unused)
      lines.push(
        `  ${u.reason ? 'unused  ' : 'UNUSED  '} ${u.role}${u.reason ? `: ${u.reason}` : ' (no reason in gcp.yml)'}`,
      );
    for (const r of a.reasonedButUsed)
      lines.push(`  note     ${r}: gcp.yml gives a reason it is unused locally, but these calls used it`);
  }
  return lines.join('\n');
}
