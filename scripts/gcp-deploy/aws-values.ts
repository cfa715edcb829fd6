/**
 * What the AWS half's second deploy needs from Google (config/deploy-values.cjs), read after the
 * Google deploy converged (`scripts/deploy-gcp --aws-env-out <file>`): the project, the sealing
 * key's public half and version name (`gcloud kms keys versions get-public-key`), and the relay's
 * credential configuration for the pool's AWS provider trusting the relay role's account
 * (`gcloud iam workload-identity-pools create-cred-config ... --aws`, no service account: the
 * federated token itself publishes). Written as a shell file `set -a; . <file>; set +a` reads.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GcpConfig } from '#deployment/gcp-config.ts';
import { AWS_ROLE_ARN_RE } from '#deployment/gcp-config-substitute.ts';
import { type Gcloud, GcloudError } from './gcloud.ts';

/** A value quoted for a POSIX shell's `.` (single quotes; several lines kept). */
const quoted = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;

export async function writeAwsValues(o: {
  config: GcpConfig;
  project: string;
  region: string;
  gcloud: Gcloud;
  file: string;
  /** Where gcloud writes its outputs before they are read back. */
  workDir: string;
}): Promise<Record<string, string>> {
  const { config, project: P, region, gcloud } = o;
  const run = async (args: string[]) => {
    const full = [...args, `--project=${P}`];
    const r = await gcloud.run(full);
    if (r.code !== 0) throw new GcloudError(full, r);
    return r.stdout;
  };
  mkdirSync(o.workDir, { recursive: true });
  const kmsKey =
    config.functions.map((f) => f.environment?.CROSSLINK_KMS_KEY).find((k) => k !== undefined) ??
    'crosslink/activation';
  const [ring, key] = kmsKey.split('/') as [string, string];
  const pemFile = join(o.workDir, 'google-sealing-key.pem');
  await run([
    'kms',
    'keys',
    'versions',
    'get-public-key',
    '1',
    `--key=${key}`,
    `--keyring=${ring}`,
    `--location=${region}`,
    `--output-file=${pemFile}`,
  ]);
  const publisher = config.topics.flatMap((t) => t.awsPublishers ?? [])[0];
  if (!publisher)
    throw new Error('--aws-env-out: gcp.yml names no awsPublishers (the relay role): nothing to federate');
  const account = AWS_ROLE_ARN_RE.exec(publisher.role)?.[1];
  const number = JSON.parse(await run(['projects', 'describe', P, '--format=json'])).projectNumber as string;
  const providers = JSON.parse(
    await run([
      'iam',
      'workload-identity-pools',
      'providers',
      'list',
      `--workload-identity-pool=${publisher.pool}`,
      '--location=global',
      '--format=json',
    ]),
  ) as { name: string; disabled?: boolean; aws?: { accountId?: string } }[];
  const provider = providers.find((p) => p.aws?.accountId === account && !p.disabled);
  if (!provider)
    throw new Error(
      `--aws-env-out: no enabled AWS provider of the pool ${publisher.pool} trusts ${account} (run without --dry-run, with gcp.yml's bootstrap)`,
    );
  const credFile = join(o.workDir, 'relay-credentials.json');
  await run([
    'iam',
    'workload-identity-pools',
    'create-cred-config',
    `projects/${number}/locations/global/workloadIdentityPools/${publisher.pool}/providers/${provider.name.split('/').pop()}`,
    '--aws',
    `--output-file=${credFile}`,
  ]);
  const values = {
    CROSSLINK_GCP_PROJECT: P,
    CROSSLINK_PEER_PUBLIC_KEY_PEM: readFileSync(pemFile, 'utf8'),
    CROSSLINK_PEER_KEY_ID: `projects/${P}/locations/${region}/keyRings/${ring}/cryptoKeys/${key}/cryptoKeyVersions/1`,
    CROSSLINK_GCP_EXTERNAL_ACCOUNT: JSON.stringify(JSON.parse(readFileSync(credFile, 'utf8'))),
  };
  mkdirSync(dirname(o.file), { recursive: true });
  writeFileSync(
    o.file,
    `# Google's values for the AWS half's second deploy (docs/deploy.md): set -a; . ${o.file}; set +a\n${Object.entries(
      values,
    )
      .map(([k, v]) => `${k}=${quoted(v)}`)
      .join('\n')}\n`,
    { mode: 0o600 },
  );
  return values;
}
