/**
 * Phase 0 of scripts/deploy-gcp (docs/deploy-gcp.md "Bootstrap"), when gcp.yml has a `bootstrap`
 * section: what a new project needs before anything of the file can exist, converged like the
 * rest (read, then create or update what differs; a rerun finds nothing to do):
 *
 * 1. the APIs (`services enable`), first, since every later command calls one of them;
 * 2. the Firestore database `(default)` in `bootstrap.firestore.location` (a database's location
 *    cannot change: one elsewhere stops the run) and a TTL policy on each `ttl` field;
 * 3. the Cloud KMS key ring and key each `cryptoKey` grant names (in `region`, for asymmetric
 *    decryption with RSA-OAEP-2048-SHA256, the peer's sealing scheme);
 * 4. the workload identity pool each `awsPublishers` entry names, with an AWS provider per AWS
 *    account whose attribute condition admits the listed roles' sessions only, in the form the
 *    provider's default mapping gives `attribute.aws_role`
 *    (`arn:aws:sts::<account>:assumed-role/<role>`, not the role's IAM ARN).
 *
 * Keys and pools are never deleted (Cloud KMS keys cannot be; a pool's deletion is the owner's
 * call). The topic-level publish grant of the relay's principal set is phase 2 (iam.ts).
 */
import type { GcpConfig } from '#deployment/gcp-config.ts';
import { AWS_ROLE_ARN_RE } from '#deployment/gcp-config-substitute.ts';
import { poolProviders } from '#deployment/gcp-grants.ts';

/** The converge run's readers and runner (the IamContext subset bootstrap uses). */
export interface BootstrapContext {
  config: GcpConfig;
  project: string;
  region: string;
  dryRun: boolean;
  /** Filled with the APIs this run enables (a dry run reads their resources as absent). */
  enabling: Set<string>;
  readJson<T>(args: string[]): Promise<T>;
  readOrNull<T>(args: string[]): Promise<T | null>;
  exec(cmds: string[][]): Promise<void>;
  mut(...args: string[]): string[];
}

/** What a dry run planned to create: the later phases read these as existing. */
export interface Planned {
  keys: Set<string>;
  pools: Set<string>;
}

export const DATABASE = '(default)';
export const KEY_PURPOSE = 'asymmetric-encryption';
export const KEY_ALGORITHM = 'rsa-decrypt-oaep-2048-sha256';

/** The `attribute.aws_role` value of every session of `roleArn` under the AWS default mapping. */
export function assumedRole(roleArn: string): string {
  const m = AWS_ROLE_ARN_RE.exec(roleArn);
  if (!m) throw new Error(`${roleArn} is not an IAM role ARN`);
  return `arn:aws:sts::${m[1]}:assumed-role/${m[2]}`;
}

/** The provider's attribute condition admitting exactly these roles' sessions. */
export function awsRoleCondition(roleArns: readonly string[]): string {
  const roles = [...new Set(roleArns.map(assumedRole))].sort();
  return roles.length === 1
    ? `attribute.aws_role == '${roles[0]}'`
    : `attribute.aws_role in [${roles.map((r) => `'${r}'`).join(', ')}]`;
}

export async function bootstrapProject(c: BootstrapContext): Promise<Planned> {
  const planned: Planned = { keys: new Set(), pools: new Set() };
  const spec = c.config.bootstrap;
  if (!spec) return planned;
  const { region } = c;
  const file = c.config.file ?? 'gcp.yml';

  // 1. APIs.
  const enabled = await c.readJson<{ config?: { name?: string }; name?: string }[] | null>([
    'services',
    'list',
    '--enabled',
  ]);
  const on = new Set((enabled ?? []).map((s) => s.config?.name ?? s.name?.split('/').pop() ?? ''));
  const off = spec.apis.filter((a) => !on.has(a));
  for (const a of off) c.enabling.add(a);
  if (off.length > 0) await c.exec([c.mut('services', 'enable', ...off)]);

  // 2. Firestore: the database, then its TTL policies.
  if (spec.firestore) {
    const { location, ttl = [] } = spec.firestore;
    const db = await c.readOrNull<{ locationId?: string; type?: string }>([
      'firestore',
      'databases',
      'describe',
      `--database=${DATABASE}`,
    ]);
    if (db && db.locationId !== location)
      throw new Error(
        `${file}: bootstrap.firestore.location: the project's Firestore database ${DATABASE} is in ${db.locationId}, not ${location} (a database's location cannot change: set ${db.locationId} here)`,
      );
    if (db && db.type !== undefined && db.type !== 'FIRESTORE_NATIVE')
      throw new Error(
        `${file}: bootstrap.firestore: the project's database ${DATABASE} is ${db.type}; crosslink needs Firestore in Native mode`,
      );
    if (!db)
      await c.exec([
        c.mut(
          'firestore',
          'databases',
          'create',
          `--database=${DATABASE}`,
          `--location=${location}`,
          '--type=firestore-native',
        ),
      ]);
    const fields =
      db || !c.dryRun
        ? ((await c.readJson<{ name: string; ttlConfig?: { state?: string } }[] | null>([
            'firestore',
            'fields',
            'ttls',
            'list',
            `--database=${DATABASE}`,
          ])) ?? [])
        : [];
    const hasTtl = new Set(
      fields
        .filter((f) => f.ttlConfig && f.ttlConfig.state !== 'NEEDS_REPAIR')
        .map((f) => f.name.replace(/^.*\/collectionGroups\//, '').replace('/fields/', '/')),
    );
    await c.exec(
      ttl
        .filter((t) => !hasTtl.has(`${t.collectionGroup}/${t.field}`))
        .map((t) =>
          c.mut(
            'firestore',
            'fields',
            'ttls',
            'update',
            t.field,
            `--collection-group=${t.collectionGroup}`,
            '--enable-ttl',
            `--database=${DATABASE}`,
          ),
        ),
    );
  }

  // 3. The KMS key rings and keys the grants name.
  const keyRefs = new Set(
    c.config.serviceAccounts.flatMap((sa) =>
      (sa.grants ?? []).flatMap((g) => (g.cryptoKey ? [g.cryptoKey] : [])),
    ),
  );
  const rings = new Set<string>();
  for (const ref of keyRefs) {
    const [ring, key] = ref.split('/') as [string, string];
    const cmds: string[][] = [];
    if (!rings.has(ring)) {
      rings.add(ring);
      if ((await c.readOrNull(['kms', 'keyrings', 'describe', ring, `--location=${region}`])) === null)
        cmds.push(c.mut('kms', 'keyrings', 'create', ring, `--location=${region}`));
    }
    const k = await c.readOrNull<{ purpose?: string }>([
      'kms',
      'keys',
      'describe',
      key,
      `--keyring=${ring}`,
      `--location=${region}`,
    ]);
    if (k && k.purpose !== 'ASYMMETRIC_DECRYPT')
      throw new Error(
        `${file}: the Cloud KMS key ${ring}/${key} in ${region} has purpose ${k.purpose}, not ASYMMETRIC_DECRYPT (the peer seals activation keys to it): name another key`,
      );
    if (!k) {
      cmds.push(
        c.mut(
          'kms',
          'keys',
          'create',
          key,
          `--keyring=${ring}`,
          `--location=${region}`,
          `--purpose=${KEY_PURPOSE}`,
          `--default-algorithm=${KEY_ALGORITHM}`,
        ),
      );
      planned.keys.add(ref);
    }
    await c.exec(cmds);
  }

  // 4. Workload identity pools and their AWS providers.
  const pools = new Map<string, Map<string, string[]>>();
  for (const t of c.config.topics)
    for (const p of t.awsPublishers ?? []) {
      const account = AWS_ROLE_ARN_RE.exec(p.role)?.[1];
      if (!account) continue;
      const accounts = pools.get(p.pool) ?? new Map<string, string[]>();
      accounts.set(account, [...(accounts.get(account) ?? []), p.role]);
      pools.set(p.pool, accounts);
    }
  for (const [pool, accounts] of pools) {
    const exists =
      (await c.readOrNull(['iam', 'workload-identity-pools', 'describe', pool, '--location=global'])) !==
      null;
    const cmds: string[][] = [];
    if (!exists) {
      cmds.push(
        c.mut(
          'iam',
          'workload-identity-pools',
          'create',
          pool,
          '--location=global',
          '--display-name=crosslink AWS relay',
        ),
      );
      planned.pools.add(pool);
    }
    const providers = exists ? await poolProviders(c, pool) : [];
    for (const [account, roles] of accounts) {
      const condition = awsRoleCondition(roles);
      const where = [`--workload-identity-pool=${pool}`, '--location=global'];
      const trusting = providers.find((x) => x.aws?.accountId === account && !x.disabled);
      if (!trusting) {
        cmds.push(
          c.mut(
            'iam',
            'workload-identity-pools',
            'providers',
            'create-aws',
            `aws-${account}`,
            ...where,
            `--account-id=${account}`,
            `--attribute-condition=${condition}`,
          ),
        );
        planned.pools.add(pool);
      } else if (trusting.attributeCondition !== condition)
        cmds.push(
          c.mut(
            'iam',
            'workload-identity-pools',
            'providers',
            'update-aws',
            trusting.name.split('/').pop() as string,
            ...where,
            `--attribute-condition=${condition}`,
          ),
        );
    }
    await c.exec(cmds);
  }
  if (!c.dryRun) {
    planned.keys.clear();
    planned.pools.clear();
  }
  return planned;
}
