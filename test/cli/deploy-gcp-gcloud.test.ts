/**
 * deploy-gcp's bootstrap through the real gcloud (the installed 528) against the local Google edge,
 * as an operator would point gcloud at it: `CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>` for the APIs the
 * edge serves and `CLOUDSDK_AUTH_ACCESS_TOKEN_FILE` with a token the edge issued. The first apply
 * enables the APIs (Cloud KMS among them, disabled beforehand, so its calls are refused until then)
 * and creates the key ring and key; the second changes nothing. What the rest of deploy-gcp needs
 * and the local edge does not serve: docs/deploy-gcp.md "Real gcloud against the local cloud".
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGcpConfig } from '#deployment/gcp-config.ts';
import type { LocalCloud } from '#local/index.ts';
import { bootstrapProject } from '#scripts/gcp-deploy/bootstrap.ts';
import { gcloudSession, shellLine, spawnGcloud } from '#scripts/gcp-deploy/gcloud.ts';
import { startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  cloud = await startTestCloud();
  dir = mkdtempSync(join(tmpdir(), 'deploy-gcp-gcloud-'));
  const account = cloud.gcp.auth.accountByName('admin');
  const { token } = cloud.gcp.auth.issueAccessToken({
    email: account?.email as string,
    kind: 'service-account',
  });
  writeFileSync(join(dir, 'token'), token);
  env = {
    PATH: process.env.PATH,
    HOME: dir,
    // A gcloud configuration of its own: the machine's stays as it is.
    CLOUDSDK_CONFIG: join(dir, 'gcloud'),
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(dir, 'token'),
    CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE: `${cloud.gcp.endpoint}/`,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS: `${cloud.gcp.endpoint}/`,
  };
});
afterAll(async () => {
  await cloud?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const config = () =>
  parseGcpConfig(`
version: 1
region: us-east4
bootstrap:
  apis: [cloudkms.googleapis.com, dns.googleapis.com]
serviceAccounts:
  - id: crosslink-steps
    roles: []
    grants:
      - { role: roles/cloudkms.cryptoKeyDecrypter, cryptoKey: crosslink/activation }
`);

/** One apply of the bootstrap through the real gcloud: the commands it ran. */
async function apply(): Promise<string[]> {
  const project = cloud.gcp.project;
  const session = gcloudSession({
    gcloud: spawnGcloud('gcloud', env),
    project,
    dryRun: false,
    out: () => {},
  });
  await bootstrapProject({
    config: config(),
    project,
    region: 'us-east4',
    dryRun: false,
    enabling: session.enabling,
    readJson: (args) => session.readJson(args),
    readOrNull: (args) => session.readOrNull(args),
    exec: (cmds) => session.exec(cmds),
    mut: session.mut,
  });
  return session.commands.map((c) => shellLine(c));
}

describe('deploy-gcp bootstrap through the real gcloud against the local Google edge', () => {
  it('a disabled API is refused to gcloud with its SERVICE_DISABLED message', async () => {
    const P = cloud.gcp.project;
    const gcloud = spawnGcloud('gcloud', env);
    expect(
      (await gcloud.run(['services', 'disable', 'cloudkms.googleapis.com', `--project=${P}`])).code,
    ).toBe(0);
    const r = await gcloud.run([
      'kms',
      'keyrings',
      'describe',
      'crosslink',
      '--location=us-east4',
      `--project=${P}`,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /PERMISSION_DENIED: Cloud Key Management Service \(KMS\) API has not been used in project \d+ before or it is disabled/,
    );
  });

  it('the first apply enables the APIs, then creates the key ring and key; the second changes nothing', async () => {
    const P = cloud.gcp.project;
    expect(await apply()).toEqual([
      `gcloud services enable cloudkms.googleapis.com dns.googleapis.com --project=${P} --quiet`,
      `gcloud kms keyrings create crosslink --location=us-east4 --project=${P} --quiet`,
      `gcloud kms keys create activation --keyring=crosslink --location=us-east4 --purpose=asymmetric-encryption --default-algorithm=rsa-decrypt-oaep-2048-sha256 --project=${P} --quiet`,
    ]);
    const usage = cloud.gcp.edge.status()[P]?.serviceusage as { enabled: string[] };
    expect(usage.enabled).toEqual(expect.arrayContaining(['cloudkms.googleapis.com', 'dns.googleapis.com']));
    const kms = cloud.gcp.edge.status()[P]?.cloudkms as { cryptoKeys: string[] };
    expect(kms.cryptoKeys).toEqual([
      `projects/${P}/locations/us-east4/keyRings/crosslink/cryptoKeys/activation`,
    ]);
    expect(await apply()).toEqual([]);
  });
});
