/**
 * The IAM phases of scripts/deploy-gcp (docs/deploy-gcp.md "Grants"): custom roles, the service
 * accounts' project roles and narrowed grants (a secrets prefix as an IAM condition on the project
 * binding; a KMS key's own policy), and each topic's publishers (the file's accounts and AWS roles
 * through workload identity federation). Each reads the policy it changes and issues only the
 * bindings that differ, so a second run finds nothing to do.
 *
 * Authority: the file decides every binding of its own service accounts on the project, on the KMS
 * keys it names and on the topics it lists (a binding it does not declare is removed); workload
 * identity principals of the project's pools on a listed topic are removed only with `--prune`;
 * nobody else's binding (service agents, sink writers, people) is touched.
 */
import type { AwsPublisherSpec, GcpConfig } from '#deployment/gcp-config.ts';
import { memberOf, serviceAccountEmail } from '#deployment/gcp-config.ts';
import { AWS_ROLE_ARN_RE } from '#deployment/gcp-config-substitute.ts';
import { keyValues } from './gcloud-flags.ts';

export interface Condition {
  expression: string;
  title: string;
  description?: string;
}
export interface Binding {
  role: string;
  members: string[];
  condition?: Condition;
}
export interface Policy {
  bindings?: Binding[];
}

/** What the IAM phases need from the converge run. */
export interface IamContext {
  config: GcpConfig;
  project: string;
  projectNumber: string;
  region: string;
  prune: boolean;
  /** A `--format=json` read that must succeed. */
  readJson<T>(args: string[]): Promise<T>;
  /** A `--format=json` read; null when gcloud says NOT_FOUND. */
  readOrNull<T>(args: string[]): Promise<T | null>;
  /** Prints (and unless a dry run, runs) the commands. */
  exec(cmds: string[][]): Promise<void>;
  /** Adds `--project=P --quiet`. */
  mut(...args: string[]): string[];
  /** The description mark of what this script manages. */
  marked(description: string | undefined): string;
  isMarked(description: string | undefined): boolean;
}

const PUBLISHER = 'roles/pubsub.publisher';

/** A role reference of gcp.yml as IAM names it (a custom role id -> `projects/P/roles/<id>`). */
export function roleName(ref: string, project: string): string {
  return ref.startsWith('roles/') ? ref : `projects/${project}/roles/${ref}`;
}

/**
 * The condition of a `secrets: <prefix>` grant. Secret Manager evaluates `resource.name` as
 * `projects/<project number>/secrets/<id>` (and `.../versions/<v>` for versions), so the prefix
 * covers the secrets and their versions.
 */
export function secretsCondition(projectNumber: string, prefix: string): Condition {
  return {
    expression: `resource.name.startsWith("projects/${projectNumber}/secrets/${prefix}")`,
    title: `secrets ${prefix}*`,
  };
}

/**
 * The principal set of an AWS role's sessions in a pool: `attribute.aws_role` of the AWS
 * provider's default mapping is `arn:aws:sts::<account>:assumed-role/<role name>`.
 */
export function awsPrincipal(projectNumber: string, p: AwsPublisherSpec): string {
  const m = AWS_ROLE_ARN_RE.exec(p.role);
  if (!m) throw new Error(`awsPublishers role ${p.role} is not an AWS IAM role ARN`);
  return `principalSet://iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/${p.pool}/attribute.aws_role/arn:aws:sts::${m[1]}:assumed-role/${m[2]}`;
}

/**
 * One grant deploy-gcp makes: a role for a member on a resource (`projects/P`, a KMS key
 * `projects/P/locations/R/keyRings/K/cryptoKeys/C`, a topic `projects/P/topics/T`), with the
 * condition a `secrets` grant carries. The converge phases below make exactly these bindings;
 * the local Google cloud enforces the same list (local/gcp/iam/grants.ts).
 */
export interface PlannedGrant {
  resource: string;
  member: string;
  role: string;
  condition?: Condition;
}

/** Every grant of the file's accounts and topics, where deploy-gcp makes it. */
export function plannedGrants(
  config: GcpConfig,
  project: string,
  projectNumber: string,
  region: string,
): PlannedGrant[] {
  const out: PlannedGrant[] = [];
  for (const sa of config.serviceAccounts) {
    const member = `serviceAccount:${serviceAccountEmail(sa.id, project)}`;
    for (const r of sa.roles)
      out.push({ resource: `projects/${project}`, member, role: roleName(r, project) });
    for (const g of sa.grants ?? []) {
      const role = roleName(g.role, project);
      if (g.secrets !== undefined)
        out.push({
          resource: `projects/${project}`,
          member,
          role,
          condition: secretsCondition(projectNumber, g.secrets),
        });
      if (g.cryptoKey !== undefined) {
        const [ring, key] = g.cryptoKey.split('/') as [string, string];
        out.push({
          resource: `projects/${project}/locations/${region}/keyRings/${ring}/cryptoKeys/${key}`,
          member,
          role,
        });
      }
    }
  }
  for (const t of config.topics) {
    const resource = `projects/${project}/topics/${t.name}`;
    for (const m of t.publishers ?? []) out.push({ resource, member: memberOf(m, project), role: PUBLISHER });
    for (const p of t.awsPublishers ?? [])
      out.push({ resource, member: awsPrincipal(projectNumber, p), role: PUBLISHER });
  }
  return out;
}

/** A workload identity principal (one subject or a set) of one of this project's pools. */
function isPoolPrincipal(member: string, projectNumber: string): boolean {
  return new RegExp(
    `^principal(Set)?://iam\\.googleapis\\.com/projects/${projectNumber}/locations/global/workloadIdentityPools/`,
  ).test(member);
}

/** `--condition=None`, or the condition as gcloud's `expression=...,title=...` dictionary. */
function conditionFlag(condition: Condition | undefined): string {
  if (!condition) return '--condition=None';
  const dict: Record<string, string> = { expression: condition.expression, title: condition.title };
  if (condition.description) dict.description = condition.description;
  return `--condition=${keyValues(dict)}`;
}

export function projectBinding(
  op: 'add' | 'remove',
  project: string,
  member: string,
  role: string,
  condition?: Condition,
): string[] {
  return [
    'projects',
    `${op}-iam-policy-binding`,
    project,
    `--member=${member}`,
    `--role=${role}`,
    conditionFlag(condition),
    '--quiet',
  ];
}

const sameCondition = (a: Condition | undefined, b: Condition | undefined) =>
  (a?.expression ?? '') === (b?.expression ?? '') && (a?.title ?? '') === (b?.title ?? '');

/** The KMS key of a `cryptoKey: <ring>/<key>` grant, as gcloud's flags name it. */
function keyArgs(ref: string, region: string): string[] {
  const [ring, key] = ref.split('/') as [string, string];
  return [key, `--keyring=${ring}`, `--location=${region}`];
}

/**
 * What must exist before anything changes: every KMS key a grant names (gcp.yml does not create
 * keys) and every workload identity pool an `awsPublishers` entry names. A missing one stops the
 * run with the field that names it.
 */
export async function checkIamPrerequisites(
  c: IamContext,
  planned: { keys: ReadonlySet<string>; pools: ReadonlySet<string> } = { keys: new Set(), pools: new Set() },
): Promise<void> {
  const { config, project: P, region } = c;
  const problems: string[] = [];
  const keys = new Map<string, string>();
  config.serviceAccounts.forEach((sa, i) => {
    (sa.grants ?? []).forEach((g, j) => {
      if (g.cryptoKey && !keys.has(g.cryptoKey))
        keys.set(g.cryptoKey, `serviceAccounts[${i}].grants[${j}].cryptoKey`);
    });
  });
  for (const [ref, path] of keys) {
    if (planned.keys.has(ref)) continue;
    const [ring, key] = ref.split('/');
    if ((await c.readOrNull(['kms', 'keys', 'describe', ...keyArgs(ref, region)])) === null)
      problems.push(
        `${path}: the Cloud KMS key projects/${P}/locations/${region}/keyRings/${ring}/cryptoKeys/${key} does not exist (create it first, or give gcp.yml a bootstrap section, which creates it: docs/deploy-gcp.md "Bootstrap")`,
      );
  }
  // Each pool must exist and trust the role's AWS account with a provider that maps
  // attribute.aws_role (the AWS default mapping does), or the principal set matches nobody.
  const pools = new Map<string, { path: string; accounts: Map<string, string> }>();
  config.topics.forEach((t, i) => {
    (t.awsPublishers ?? []).forEach((p, j) => {
      const path = `topics[${i}].awsPublishers[${j}]`;
      const entry = pools.get(p.pool) ?? { path: `${path}.pool`, accounts: new Map<string, string>() };
      const account = AWS_ROLE_ARN_RE.exec(p.role)?.[1];
      if (account && !entry.accounts.has(account)) entry.accounts.set(account, `${path}.role`);
      pools.set(p.pool, entry);
    });
  });
  for (const [pool, { path, accounts }] of pools) {
    if (planned.pools.has(pool)) continue;
    if (
      (await c.readOrNull(['iam', 'workload-identity-pools', 'describe', pool, '--location=global'])) === null
    ) {
      problems.push(
        `${path}: the workload identity pool ${pool} does not exist in ${P} (create it and its AWS provider first, or give gcp.yml a bootstrap section, which creates them: docs/deploy-gcp.md "Bootstrap")`,
      );
      continue;
    }
    const providers = await poolProviders(c, pool);
    for (const [account, rolePath] of accounts) {
      const trusting = providers.filter((x) => x.aws?.accountId === account && !x.disabled);
      if (trusting.length === 0)
        problems.push(
          `${rolePath}: no enabled AWS provider of the pool ${pool} trusts the AWS account ${account}`,
        );
      else if (!trusting.some((x) => x.attributeMapping?.['attribute.aws_role'] !== undefined))
        problems.push(
          `${rolePath}: the AWS provider of the pool ${pool} for ${account} does not map attribute.aws_role (the AWS default mapping does)`,
        );
    }
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

export interface ProviderJson {
  name: string;
  disabled?: boolean;
  aws?: { accountId?: string };
  attributeMapping?: Record<string, string>;
  attributeCondition?: string;
}

/** The providers of a workload identity pool (global) of the project. */
export async function poolProviders(c: Pick<IamContext, 'readJson'>, pool: string): Promise<ProviderJson[]> {
  return (
    (await c.readJson<ProviderJson[] | null>([
      'iam',
      'workload-identity-pools',
      'providers',
      'list',
      `--workload-identity-pool=${pool}`,
      '--location=global',
    ])) ?? []
  );
}

interface RoleJson {
  name: string;
  title?: string;
  description?: string;
  includedPermissions?: string[];
  stage?: string;
  deleted?: boolean;
}

/** Custom roles: created, updated (title, description, the exact permission list), undeleted. */
export async function convergeCustomRoles(c: IamContext): Promise<void> {
  const cmds: string[][] = [];
  for (const r of c.config.customRoles) {
    const j = await c.readOrNull<RoleJson>(['iam', 'roles', 'describe', r.id]);
    const permissions = [...r.permissions].sort();
    const fields = [
      `--title=${r.title}`,
      `--description=${c.marked(r.description)}`,
      `--permissions=${permissions.join(',')}`,
      '--stage=GA',
    ];
    if (!j) {
      cmds.push(c.mut('iam', 'roles', 'create', r.id, ...fields));
      continue;
    }
    // A deleted custom role keeps its id for a while: it is undeleted, then set as listed.
    if (j.deleted) cmds.push(c.mut('iam', 'roles', 'undelete', r.id));
    const same =
      !j.deleted &&
      j.title === r.title &&
      j.description === c.marked(r.description) &&
      (j.stage ?? 'ALPHA') === 'GA' &&
      [...(j.includedPermissions ?? [])].sort().join(',') === permissions.join(',');
    if (!same) cmds.push(c.mut('iam', 'roles', 'update', r.id, ...fields));
  }
  await c.exec(cmds);
}

/**
 * The file's accounts on the project policy (their `roles`, unconditioned, and their `secrets`
 * grants, each a binding with its condition) and on each named KMS key's policy.
 */
export async function convergeAccountGrants(c: IamContext): Promise<void> {
  const { config, project: P, projectNumber: PN } = c;
  const email = (id: string) => serviceAccountEmail(id, P);
  const policy = await c.readJson<Policy>(['projects', 'get-iam-policy', P]);
  const plan = plannedGrants(config, P, PN, c.region);
  const cmds: string[][] = [];
  for (const sa of config.serviceAccounts) {
    const member = `serviceAccount:${email(sa.id)}`;
    const wanted: { role: string; condition?: Condition }[] = plan
      .filter((g) => g.member === member && g.resource === `projects/${P}`)
      .map((g) => (g.condition ? { role: g.role, condition: g.condition } : { role: g.role }));
    const held = (policy.bindings ?? []).filter((b) => b.members.includes(member));
    const isWanted = (b: { role: string; condition?: Condition }) =>
      wanted.some((w) => w.role === b.role && sameCondition(w.condition, b.condition));
    const isHeld = (w: { role: string; condition?: Condition }) =>
      held.some((b) => b.role === w.role && sameCondition(w.condition, b.condition));
    for (const w of wanted) if (!isHeld(w)) cmds.push(projectBinding('add', P, member, w.role, w.condition));
    for (const b of [...held].sort((x, y) => x.role.localeCompare(y.role)))
      if (!isWanted(b)) cmds.push(projectBinding('remove', P, member, b.role, b.condition));
  }
  // KMS keys: every key a grant names, the file's accounts authoritative on it.
  const keys = [
    ...new Set(config.serviceAccounts.flatMap((sa) => (sa.grants ?? []).flatMap((g) => g.cryptoKey ?? []))),
  ];
  const ours = new Set(config.serviceAccounts.map((sa) => `serviceAccount:${email(sa.id)}`));
  for (const ref of keys) {
    const args = keyArgs(ref, c.region);
    // A key a dry run's bootstrap would create has no policy yet.
    const keyPolicy = (await c.readOrNull<Policy>(['kms', 'keys', 'get-iam-policy', ...args])) ?? {};
    const [ring, key] = ref.split('/') as [string, string];
    const resource = `projects/${P}/locations/${c.region}/keyRings/${ring}/cryptoKeys/${key}`;
    const wanted = plan
      .filter((g) => g.resource === resource)
      .map((g) => ({ member: g.member, role: g.role }));
    const bindings = keyPolicy.bindings ?? [];
    const binding = (op: 'add' | 'remove', member: string, role: string) =>
      c.mut('kms', 'keys', `${op}-iam-policy-binding`, ...args, `--member=${member}`, `--role=${role}`);
    for (const w of wanted)
      if (!bindings.some((b) => b.role === w.role && !b.condition && b.members.includes(w.member)))
        cmds.push(binding('add', w.member, w.role));
    for (const b of bindings)
      for (const m of b.members)
        if (ours.has(m) && !b.condition && !wanted.some((w) => w.member === m && w.role === b.role))
          cmds.push(binding('remove', m, b.role));
  }
  await c.exec(cmds);
}

/**
 * roles/pubsub.publisher on each listed topic: its `publishers` and `awsPublishers` hold it; the
 * file's other accounts lose it; with `--prune`, so do unlisted principals of the project's pools.
 * A topic a dry run would create reads as having no policy yet.
 */
export async function convergeTopicPublishers(c: IamContext): Promise<void> {
  const { config, project: P, projectNumber: PN } = c;
  const ours = new Set(config.serviceAccounts.map((sa) => `serviceAccount:${serviceAccountEmail(sa.id, P)}`));
  const plan = plannedGrants(config, P, PN, c.region);
  const cmds: string[][] = [];
  for (const t of config.topics) {
    const policy = await c.readOrNull<Policy>(['pubsub', 'topics', 'get-iam-policy', t.name]);
    const held = new Set(
      (policy?.bindings ?? []).filter((b) => b.role === PUBLISHER && !b.condition).flatMap((b) => b.members),
    );
    const wanted = plan.filter((g) => g.resource === `projects/${P}/topics/${t.name}`).map((g) => g.member);
    const binding = (op: 'add' | 'remove', member: string) =>
      c.mut(
        'pubsub',
        'topics',
        `${op}-iam-policy-binding`,
        t.name,
        `--member=${member}`,
        `--role=${PUBLISHER}`,
      );
    for (const m of wanted) if (!held.has(m)) cmds.push(binding('add', m));
    for (const m of [...held].sort())
      if (!wanted.includes(m) && (ours.has(m) || (c.prune && isPoolPrincipal(m, PN))))
        cmds.push(binding('remove', m));
  }
  await c.exec(cmds);
}

/** `--prune`: the custom roles this script made that the file no longer lists. */
export async function pruneCustomRoles(c: IamContext): Promise<void> {
  const keep = new Set(c.config.customRoles.map((r) => r.id));
  const roles = (await c.readJson<RoleJson[] | null>(['iam', 'roles', 'list'])) ?? [];
  const cmds: string[][] = [];
  for (const r of roles) {
    const id = r.name.slice(r.name.lastIndexOf('/') + 1);
    if (!r.deleted && c.isMarked(r.description) && !keep.has(id))
      cmds.push(c.mut('iam', 'roles', 'delete', id));
  }
  await c.exec(cmds);
}
