/**
 * scripts/deploy-gcp's bootstrap (gcp.yml `bootstrap`, docs/deploy-gcp.md "Bootstrap") against the
 * simulated gcloud on a new project whose APIs are off until enabled (`enforceApis`): a dry run lists
 * the APIs, Firestore and its TTL policy, the KMS key ring and key, the workload identity pool and
 * its AWS provider (condition in the mapped form) before anything that needs them; applied, it
 * converges (every later command found its API on); a second dry run lists nothing.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { googleRelayConfig } from '#aws/google-relay.ts';
import { main } from '#scripts/deploy-gcp.ts';
import { assumedRole, awsRoleCondition } from '#scripts/gcp-deploy/bootstrap.ts';
import { GcloudSim } from '../support/gcloud-sim.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const { resolve: deployValues } = createRequire(import.meta.url)('../../config/deploy-values.cjs') as {
  resolve: (env: Record<string, string>) => Record<string, string>;
};
const PROJECT = 'crosslink-boot';
const ROLE = 'arn:aws:iam::210987654321:role/crosslink-relay-to-google-dev';
const MAPPED = 'arn:aws:sts::210987654321:assumed-role/crosslink-relay-to-google-dev';
const ENV = {
  CROSSLINK_AWS_RELAY_URL: 'https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/relay/google',
  CROSSLINK_AWS_RELAY_ROLE_ARN: ROLE,
  CROSSLINK_PEER_PUBLIC_KEY_PEM: generateKeyPairSync('rsa', { modulusLength: 2048 })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString(),
  CROSSLINK_PEER_KEY_ID: 'arn:aws:kms:us-east-1:210987654321:key/3b5f0c6e-1d2a-4e5f-8a9b-0c1d2e3f4a5b',
  CROSSLINK_INTAKE_INVOKERS: 'user:alice@example.com',
  CROSSLINK_INSTALLATION: 'dev',
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deploy-gcp-boot-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function deploy(sim: GcloudSim, ...flags: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['--project', PROJECT, '--build-dir', join(dir, 'build'), ...flags], {
    gcloud: sim,
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    cwd: ROOT,
    env: ENV,
  });
  return { code, out, err };
}

const emptyProject = () => new GcloudSim({ project: PROJECT, cwd: ROOT, enforceApis: true });

describe('deploy-gcp bootstrap', () => {
  it('a dry run against an empty project lists the bootstrap before what needs it, and runs nothing', async () => {
    const sim = emptyProject();
    const { code, out, err } = await deploy(sim, '--dry-run');
    expect(err.at(-1), err.join('\n')).toMatch(/command\(s\) would run \(dry run\)/);
    expect(code).toBe(0);
    expect(sim.mutations()).toEqual([]);
    const at = (re: RegExp) => {
      const i = out.findIndex((l) => re.test(l));
      expect(i, `no line matches ${re}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    const p = `--project=${PROJECT} --quiet`;
    const apis = at(/^gcloud services enable .*pubsub\.googleapis\.com .*firestore\.googleapis\.com /);
    expect(apis).toBe(0);
    const db = at(
      new RegExp(
        `^gcloud firestore databases create '--database=\\(default\\)' --location=nam5 --type=firestore-native ${p}$`,
      ),
    );
    const ttl = at(
      new RegExp(
        `^gcloud firestore fields ttls update expireAt --collection-group=idempotency --enable-ttl '--database=\\(default\\)' ${p}$`,
      ),
    );
    const ring = at(new RegExp(`^gcloud kms keyrings create crosslink --location=us-east4 ${p}$`));
    const key = at(
      new RegExp(
        `^gcloud kms keys create activation --keyring=crosslink --location=us-east4 --purpose=asymmetric-encryption --default-algorithm=rsa-decrypt-oaep-2048-sha256 ${p}$`,
      ),
    );
    const pool = at(/^gcloud iam workload-identity-pools create crosslink-aws --location=global /);
    const provider = at(
      /^gcloud iam workload-identity-pools providers create-aws aws-210987654321 --workload-identity-pool=crosslink-aws --location=global --account-id=210987654321 /,
    );
    expect(out[provider]).toContain(`'--attribute-condition=attribute.aws_role == '\\''${MAPPED}'\\'''`);
    const firstAccount = at(/^gcloud iam service-accounts create /);
    const keyGrant = at(/^gcloud kms keys add-iam-policy-binding activation /);
    const topicGrant = at(
      /^gcloud pubsub topics add-iam-policy-binding crosslink-peer-events .*principalSet:\/\/iam\.googleapis\.com\/projects\/123456789012\/locations\/global\/workloadIdentityPools\/crosslink-aws\/attribute\.aws_role\//,
    );
    for (const [before, after] of [
      [apis, db],
      [db, ttl],
      [ring, key],
      [pool, provider],
      [Math.max(ttl, key, provider), firstAccount],
      [key, keyGrant],
      [provider, topicGrant],
    ] as const)
      expect(before).toBeLessThan(after);
  }, 60_000);

  it('applied to an empty project it converges (each command found its API on); a second dry run lists nothing', async () => {
    const sim = emptyProject();
    const applied = await deploy(sim);
    expect(applied.code, applied.err.join('\n')).toBe(0);
    expect(sim.services.has('cloudfunctions.googleapis.com')).toBe(true);
    expect(sim.firestore).toMatchObject({ locationId: 'nam5', type: 'FIRESTORE_NATIVE' });
    expect([...sim.ttlFields.keys()]).toEqual([
      `projects/${PROJECT}/databases/(default)/collectionGroups/idempotency/fields/expireAt`,
    ]);
    expect(sim.cryptoKeys.get('us-east4/crosslink/activation')?.json.purpose).toBe('ASYMMETRIC_DECRYPT');
    expect(sim.pools.get('crosslink-aws')?.providers).toEqual([
      expect.objectContaining({
        aws: { accountId: '210987654321' },
        attributeCondition: `attribute.aws_role == '${MAPPED}'`,
      }),
    ]);
    const again = await deploy(sim, '--dry-run');
    expect(again.code).toBe(0);
    expect(again.out).toEqual([]);
    expect(again.err).toEqual([`nothing to do: project ${PROJECT} matches gcp.yml`]);
  }, 60_000);

  it('puts a provider condition written with the IAM role ARN into the mapped form: one update', async () => {
    const sim = emptyProject();
    expect((await deploy(sim)).code).toBe(0);
    const provider = sim.pools.get('crosslink-aws')?.providers[0] as Record<string, unknown>;
    provider.attributeCondition = `attribute.aws_role == '${ROLE}'`;
    const dry = await deploy(sim, '--dry-run');
    expect(dry.out).toEqual([
      `gcloud iam workload-identity-pools providers update-aws aws-210987654321 --workload-identity-pool=crosslink-aws --location=global '--attribute-condition=attribute.aws_role == '\\''${MAPPED}'\\''' --project=${PROJECT} --quiet`,
    ]);
  }, 60_000);

  it('refuses a Firestore database in another location before changing anything (exit 1)', async () => {
    const sim = emptyProject();
    sim.services.add('firestore.googleapis.com');
    sim.firestore = {
      name: `projects/${PROJECT}/databases/(default)`,
      locationId: 'eur3',
      type: 'FIRESTORE_NATIVE',
    };
    const r = await deploy(sim);
    expect(r.code).toBe(1);
    expect(r.err.at(-1)).toMatch(
      /bootstrap\.firestore\.location: the project's Firestore database \(default\) is in eur3, not nam5 \(a database's location cannot change/,
    );
    expect(sim.mutations().map((c) => c.slice(0, 2).join(' '))).toEqual(['services enable']);
  }, 60_000);

  it("--aws-env-out writes Google's values for the AWS half's second deploy, as a shell reads them", async () => {
    const sim = emptyProject();
    const file = join(dir, 'google-values.env');
    const dry = await deploy(sim, '--dry-run', '--aws-env-out', file);
    expect(dry.err.at(-1)).toBe(`note: --aws-env-out ${file}: written by a run, not a dry run`);
    const applied = await deploy(sim, '--aws-env-out', file);
    expect(applied.code, applied.err.join('\n')).toBe(0);
    // What `set -a; . <file>; set +a` gives the AWS deploy.
    const shell = spawnSync(
      'bash',
      [
        '-c',
        `set -a; . '${file}'; set +a; node -e 'const e=process.env; console.log(JSON.stringify({p:e.CROSSLINK_GCP_PROJECT,k:e.CROSSLINK_PEER_KEY_ID,pem:e.CROSSLINK_PEER_PUBLIC_KEY_PEM,x:e.CROSSLINK_GCP_EXTERNAL_ACCOUNT}))'`,
      ],
      { encoding: 'utf8' },
    );
    const got = JSON.parse(shell.stdout) as { p: string; k: string; pem: string; x: string };
    expect(got.p).toBe(PROJECT);
    expect(got.k).toBe(
      `projects/${PROJECT}/locations/us-east4/keyRings/crosslink/cryptoKeys/activation/cryptoKeyVersions/1`,
    );
    expect(got.pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
    expect(JSON.parse(got.x)).toMatchObject({
      type: 'external_account',
      audience:
        '//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/crosslink-aws/providers/aws-210987654321',
    });
    expect(JSON.parse(got.x).service_account_impersonation_url).toBeUndefined();
    // What the AWS half's packaging and its relay accept.
    const values = deployValues({
      CROSSLINK_GCP_PROJECT: got.p,
      CROSSLINK_PEER_KEY_ID: got.k,
      CROSSLINK_PEER_PUBLIC_KEY_PEM: got.pem,
      CROSSLINK_GCP_EXTERNAL_ACCOUNT: got.x,
    });
    expect(values.relayServiceAccount).toBe(`crosslink-relay@${PROJECT}.iam.gserviceaccount.com`);
    expect(() =>
      googleRelayConfig({
        CROSSLINK_GCP_PROJECT: got.p,
        CROSSLINK_GCP_PEER_TOPIC: 'crosslink-peer-events',
        CROSSLINK_GCP_EXTERNAL_ACCOUNT: got.x,
        CROSSLINK_RELAY_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/210987654321/crosslink-relay-dlq-dev',
        CROSSLINK_RELAY_MAX_RECEIVES: '5',
      }),
    ).not.toThrow();
  }, 60_000);

  it("tears down with --prune and an empty gcp.yml (teardown.yml): what deploy-gcp manages goes, the bootstrap's stays", async () => {
    const sim = emptyProject();
    expect((await deploy(sim)).code).toBe(0);
    const teardown = join(dir, 'teardown.yml');
    writeFileSync(teardown, 'version: 1\nregion: us-east4\n');
    const r = await deploy(sim, '--config', teardown, '--prune');
    expect(r.code, r.err.join('\n')).toBe(0);
    expect([...sim.functions.keys()]).toEqual([]);
    expect([...sim.topics.keys()]).toEqual([]);
    expect([...sim.subscriptions.keys()]).toEqual([]);
    expect([...sim.workflows.keys()]).toEqual([]);
    expect([...sim.jobs.keys()]).toEqual([]);
    expect([...sim.accounts.keys()]).toEqual([]);
    // Kept: the key (Cloud KMS cannot delete one), the pool, Firestore, the APIs.
    expect(sim.cryptoKeys.has('us-east4/crosslink/activation')).toBe(true);
    expect(sim.pools.has('crosslink-aws')).toBe(true);
    expect(sim.firestore).toBeDefined();
    expect(sim.services.size).toBeGreaterThan(0);
  }, 60_000);

  it('writes the condition for every session of the role, in the form the default mapping gives', () => {
    expect(assumedRole(ROLE)).toBe(MAPPED);
    expect(awsRoleCondition([ROLE])).toBe(`attribute.aws_role == '${MAPPED}'`);
    expect(awsRoleCondition([ROLE, 'arn:aws:iam::210987654321:role/other', ROLE])).toBe(
      `attribute.aws_role in ['${MAPPED}', 'arn:aws:sts::210987654321:assumed-role/other']`,
    );
    expect(() => assumedRole('crosslink-relay')).toThrow(/not an IAM role ARN/);
  });
});
