/**
 * scripts/deploy-gcp takes the AWS half's values from its stack: `--from-aws-stack` reads the
 * outputs with CloudFormation DescribeStacks on the local AWS (the stack the local cloud deployed
 * from serverless.yml) and the sealing key's public half with KMS GetPublicKey; `--from-aws-file`
 * reads the JSON of describe-stacks. The dry run against the simulated gcloud then pushes to the
 * stack's relay route, grants the stack's relay role, and gives the functions the stack's key.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import { main } from '#scripts/deploy-gcp.ts';
import { outputsOf } from '#scripts/gcp-deploy/aws-stack.ts';
import { GcloudSim } from '../support/gcloud-sim.ts';
import { ADMIN_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const PROJECT = 'crosslink-from-aws';
let cloud: LocalCloud;
let dir: string;

beforeAll(async () => {
  cloud = await startTestCloud({ awsHalf: { repoDir: ROOT } });
  dir = mkdtempSync(join(tmpdir(), 'deploy-gcp-aws-'));
}, 120_000);
afterAll(async () => {
  await cloud?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function deploy(env: Record<string, string>, ...flags: string[]) {
  const sim = new GcloudSim({ project: PROJECT, cwd: ROOT });
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['--project', PROJECT, '--build-dir', join(dir, 'build'), '--dry-run', ...flags], {
    gcloud: sim,
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    cwd: ROOT,
    env: { CROSSLINK_INTAKE_INVOKERS: 'user:alice@example.com', ...env },
  });
  return { code, out, err, sim };
}

const LOCAL_AWS = () => ({
  AWS_ENDPOINT_URL: cloud.aws.endpoint,
  AWS_ACCESS_KEY_ID: ADMIN_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: ADMIN_CREDENTIALS.secretAccessKey,
});

describe('deploy-gcp --from-aws-stack', () => {
  it("reads the stack's outputs and the sealing key: the relay route, the relay role and the key reach gcp.yml", async () => {
    const half = cloud.awsHalf;
    if (!half) throw new Error('no AWS half');
    const r = await deploy(LOCAL_AWS(), '--from-aws-stack', 'crosslink-dev', '--aws-region', 'us-east-1');
    expect(r.code, r.err.join('\n')).toBe(0);
    const relay = r.out.find((l) =>
      l.startsWith('gcloud pubsub subscriptions create crosslink-events-relay '),
    );
    expect(relay).toContain(` --push-endpoint=${half.relayUrl} `);
    expect(r.out.join('\n')).toContain(
      'attribute.aws_role/arn:aws:sts::000000000000:assumed-role/crosslink-relay-to-google-dev',
    );
    const intake = r.out.find((l) => l.startsWith('gcloud functions deploy intake ')) ?? '';
    const envFile = /--env-vars-file=(\S+)/.exec(intake)?.[1] as string;
    const env = readFileSync(resolve(ROOT, envFile), 'utf8');
    expect(env).toContain(half.keys.aws.keyId);
    expect(env).toContain(half.keys.aws.publicKeyPem.split('\n')[1]);
  }, 60_000);

  it('names a stack that does not exist, and a stack without a region (exit 1, exit 2)', async () => {
    const none = await deploy(LOCAL_AWS(), '--from-aws-stack', 'crosslink-nope', '--aws-region', 'us-east-1');
    expect(none.code).toBe(1);
    expect(none.err.at(-1)).toBe(
      'error: --from-aws-stack crosslink-nope: DescribeStacks: ValidationError: Stack with id crosslink-nope does not exist',
    );
    expect(none.sim.calls).toEqual([]);
    const noRegion = await deploy(LOCAL_AWS(), '--from-aws-stack', 'crosslink-dev');
    expect(noRegion.code).toBe(2);
    expect(noRegion.err[0]).toMatch(/^--aws-region: required with --from-aws-stack/);
  });
});

describe('deploy-gcp --from-aws-file', () => {
  const describeStacks = (outputs: Record<string, string>) => ({
    Stacks: [
      {
        StackName: 'crosslink-prod',
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
  const OUTPUTS = {
    RelayFromGoogleUrl: 'https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/relay/google',
    RelayToGoogleRoleArn: 'arn:aws:iam::210987654321:role/crosslink-relay-to-google-prod',
    ActivationKeyKmsArn: 'arn:aws:kms:us-east-1:210987654321:key/3b5f0c6e-1d2a-4e5f-8a9b-0c1d2e3f4a5b',
    Installation: 'prod',
  };

  it('takes the outputs of describe-stacks JSON; the public key still comes from the environment', async () => {
    const file = join(dir, 'aws-outputs.json');
    writeFileSync(file, JSON.stringify(describeStacks(OUTPUTS)));
    const noKey = await deploy({}, '--from-aws-file', file);
    expect(noKey.code).toBe(2);
    expect(noKey.err).toEqual([
      'gcp.yml: functions[0].environment.CROSSLINK_PEER_PUBLIC_KEY_PEM: needs the environment variable CROSSLINK_PEER_PUBLIC_KEY_PEM (set it where the deploy runs; 13 functions use it)',
    ]);
    const pem = cloud.awsHalf?.keys.aws.publicKeyPem as string;
    const r = await deploy({ CROSSLINK_PEER_PUBLIC_KEY_PEM: pem }, '--from-aws-file', file);
    expect(r.code, r.err.join('\n')).toBe(0);
    expect(r.out.join('\n')).toContain(` --push-endpoint=${OUTPUTS.RelayFromGoogleUrl} `);
    expect(r.out.join('\n')).toContain('assumed-role/crosslink-relay-to-google-prod');
  }, 60_000);

  it('refuses a file without the outputs it needs, or of another shape', () => {
    expect(outputsOf([{ OutputKey: 'A', OutputValue: 'b' }], 'f')).toEqual({ A: 'b' });
    expect(() => outputsOf({ Stacks: [{ Outputs: [{ OutputKey: 'A' }] }] }, 'f')).toThrow(
      /every output needs OutputKey and OutputValue/,
    );
    expect(() => outputsOf(42, 'f')).toThrow(/not the JSON of aws cloudformation describe-stacks/);
  });

  it('names the outputs a file lacks (exit 1)', async () => {
    const file = join(dir, 'partial.json');
    writeFileSync(file, JSON.stringify(describeStacks({ RelayFromGoogleUrl: OUTPUTS.RelayFromGoogleUrl })));
    const r = await deploy({}, '--from-aws-file', file);
    expect(r.code).toBe(1);
    expect(r.err.at(-1)).toBe(
      `error: --from-aws-file ${file}: no output RelayToGoogleRoleArn, ActivationKeyKmsArn, Installation (serverless.yml resources.Outputs: deploy the AWS half first)`,
    );
  });
});
