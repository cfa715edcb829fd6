/**
 * The least-privilege report: for each function and state machine of the AWS half, the AWS actions
 * its runs used (the decisions the local AWS edge recorded for its role: allowed or refused) against
 * what its role grants. A grant no run used must carry a written reason in serverless.yml
 * (`custom.iamReasons.<function or state machine key>.<action>`, or `.'*'` for every grant of a
 * function no run reached); a refused action is a missing grant. docs/local-aws-iam.md "The least-privilege report".
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** What the local cloud records (local/aws/iam/local-policies.ts `DecisionRecord`), read from its files. */
export interface RolePrincipal {
  kind: 'function' | 'stateMachine';
  name: string;
  role: string;
  grants: string[];
}
export interface RecordedDecision {
  principal: string;
  action: string;
  resource: string;
  decision: 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';
  count: number;
}
export interface DecisionRecord {
  principals: RolePrincipal[];
  decisions: RecordedDecision[];
}

export interface PrincipalReport {
  kind: RolePrincipal['kind'];
  name: string;
  /** Its key in serverless.yml (`stepRequest`, `linkProvisioning`), when found. */
  key?: string;
  role: string;
  /** Actions its role was allowed, with how many calls. */
  used: { action: string; calls: number }[];
  /** Actions refused to its role: a grant is missing (or a Deny applies). */
  refused: { action: string; resource: string; decision: string }[];
  /** Granted actions no run used, with the reason serverless.yml gives (undefined: none). */
  unused: { grant: string; reason?: string }[];
}

/** Reads every decision file (`*.jsonl`) of a directory. */
export function readDecisionRecords(dir: string): DecisionRecord[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((f) => {
      const lines = readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean);
      const [head, ...rest] = lines.map((l) => JSON.parse(l));
      return { principals: head?.principals ?? [], decisions: rest as RecordedDecision[] };
    });
}

/** IAM's action wildcard match (case-insensitive, `*` and `?`). */
function grantCovers(grant: string, action: string): boolean {
  const re = new RegExp(
    `^${grant
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
    'i',
  );
  return re.test(action);
}

/** What serverless.yml says: function keys, state machine keys with their names, and the reasons. */
export interface ServiceIam {
  /** The service's name (`service:`): its functions are `<service>-<stage>-<key>`. */
  service: string;
  functions: string[];
  stateMachines: Record<string, string>;
  reasons: Record<string, Record<string, string>>;
}

/** Reads serverless.yml's function and state machine keys and `custom.iamReasons`. */
export function readServiceIam(serverlessYml: string): ServiceIam {
  // CloudFormation's short forms (!GetAtt, !If...) are tags YAML does not know: kept as plain values.
  const doc = parse(readFileSync(serverlessYml, 'utf8'), { logLevel: 'error' }) as {
    service?: string;
    functions?: Record<string, unknown>;
    stepFunctions?: { stateMachines?: Record<string, { name?: string }> };
    custom?: { iamReasons?: Record<string, Record<string, string>> };
  };
  return {
    service: String(doc.service ?? ''),
    functions: Object.keys(doc.functions ?? {}),
    stateMachines: Object.fromEntries(
      Object.entries(doc.stepFunctions?.stateMachines ?? {}).map(([k, v]) => [k, String(v.name ?? k)]),
    ),
    reasons: doc.custom?.iamReasons ?? {},
  };
}

/** The serverless.yml key of a deployed function (`crosslink-dev-stepRequest`) or state machine. */
function keyOf(p: RolePrincipal, service: ServiceIam): string | undefined {
  if (p.kind === 'function')
    return service.functions.find((k) => new RegExp(`^${service.service}-[^-]+-${k}$`).test(p.name));
  return Object.entries(service.stateMachines).find(([, name]) =>
    new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\\\$\\\{[^}]*\\\}/g, '[^-]+')}$`).test(
      p.name,
    ),
  )?.[0];
}

/**
 * The report over every record (several test files, several clouds): the service's own functions
 * and state machines (others, such as a test's fixtures, are left out), merged by name.
 */
export function leastPrivilege(records: readonly DecisionRecord[], service: ServiceIam): PrincipalReport[] {
  const principals = new Map<string, RolePrincipal>();
  for (const r of records)
    for (const p of r.principals) if (keyOf(p, service)) principals.set(`${p.kind}:${p.name}`, p);
  const byRole = new Map<string, Map<string, RecordedDecision>>();
  for (const r of records)
    for (const d of r.decisions) {
      const key = `${d.action}\0${d.resource}\0${d.decision}`;
      const mine = byRole.get(d.principal) ?? new Map<string, RecordedDecision>();
      byRole.set(d.principal, mine);
      const seen = mine.get(key);
      if (seen) seen.count += d.count;
      else mine.set(key, { ...d });
    }
  return [...principals.values()]
    .sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name))
    .map((p) => {
      const decisions = [...(byRole.get(p.role)?.values() ?? [])];
      const calls = new Map<string, number>();
      for (const d of decisions)
        if (d.decision === 'Allow') calls.set(d.action, (calls.get(d.action) ?? 0) + d.count);
      const key = keyOf(p, service);
      const reasons = key ? (service.reasons[key] ?? {}) : {};
      return {
        kind: p.kind,
        name: p.name,
        ...(key && { key }),
        role: p.role,
        used: [...calls]
          .map(([action, n]) => ({ action, calls: n }))
          .sort((a, b) => a.action.localeCompare(b.action)),
        refused: decisions
          .filter((d) => d.decision !== 'Allow')
          .map((d) => ({ action: d.action, resource: d.resource, decision: d.decision })),
        unused: p.grants
          .filter((g) => ![...calls.keys()].some((a) => grantCovers(g, a)))
          .sort()
          .map((grant) => {
            const reason = reasons[grant] ?? reasons['*'];
            return { grant, ...(reason !== undefined && { reason }) };
          }),
      };
    });
}

/** The report as text: one block per principal; the problems (refusals, unexplained grants) marked. */
export function formatReport(report: readonly PrincipalReport[]): string {
  const out: string[] = [];
  for (const p of report) {
    out.push(
      `${p.kind === 'function' ? 'function' : 'state machine'} ${p.key ?? p.name} (role ${p.role.split('/').pop()})`,
    );
    for (const u of p.used) out.push(`  used      ${u.action} (${u.calls} calls)`);
    for (const r of p.refused) out.push(`  REFUSED   ${r.action} on ${r.resource} (${r.decision})`);
    for (const u of p.unused)
      out.push(
        u.reason
          ? `  unused    ${u.grant}: ${u.reason}`
          : `  UNUSED    ${u.grant}: no reason in custom.iamReasons`,
      );
  }
  return out.join('\n');
}

/** What fails the report: refused actions and unused grants without a reason. */
export function problems(report: readonly PrincipalReport[]): string[] {
  return report.flatMap((p) => [
    ...p.refused.map((r) => `${p.key ?? p.name}: ${r.action} on ${r.resource} was refused (${r.decision})`),
    ...p.unused
      .filter((u) => u.reason === undefined)
      .map(
        (u) => `${p.key ?? p.name}: ${u.grant} is granted, unused, and has no reason in custom.iamReasons`,
      ),
  ]);
}
