/**
 * docs/deploy.md "Teardown": the real `osls remove --stage dev --region us-east-1` against a local
 * cloud with the AWS half deployed, through the SDK's own endpoint setting (AWS_ENDPOINT_URL) with
 * the admin identity's keys. osls empties the deployment bucket (local S3), deletes the stack
 * (local CloudFormation, which deletes each resource through its local service) and follows its
 * events; ECR answers that the service has no image repository. Then the world is looked at: the
 * functions, queues, state machines, rules, alarms and the HTTP API are gone, the links table is kept
 * (`DeletionPolicy: Retain`) and the KMS key is pending deletion. A second `osls remove` fails as
 * osls does on a stack that no longer exists.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  CloudFormationClient,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsOf } from '#local/aws/services/events.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import { findBucket } from '#local/aws/services/s3.ts';
import { statesOf } from '#local/aws/services/states.ts';
import { roles } from '#local/aws/services/sts.ts';
import { AWS_HALF_INPUTS, type AwsHalfDeployment, deployAwsHalf } from '#local/aws-half.ts';
import type { LocalCloud } from '#local/index.ts';
import { ACCOUNT, REGION } from '../support/aws-half.ts';
import { ADMIN_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const DAY = 86_400_000;
/** docs/deploy.md's teardown command, for the stage the local cloud deploys. */
const REMOVE = ['remove', '--stage', 'dev', '--region', REGION];

let cloud: LocalCloud;
let half: AwsHalfDeployment;
let dir: string;

beforeAll(async () => {
  // Virtual time flows (60x): the stack's deletion advances while osls polls its events.
  cloud = await startTestCloud({ clock: { mode: 'scaled', scale: 60, start: '2026-06-01T00:00:00Z' } });
  half = await deployAwsHalf(cloud, ROOT);
  // osls reads the service from a directory of its own, as an operator's checkout.
  dir = mkdtempSync(join(tmpdir(), 'crosslink-remove-'));
  for (const input of AWS_HALF_INPUTS) cpSync(join(ROOT, input), join(dir, input), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
}, 180_000);

afterAll(async () => {
  await half?.stop();
  await cloud?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `osls remove --stage dev --region us-east-1` in the service directory, against the local edge. */
function oslsRemove(): Promise<{ status: number | null; text: string }> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_') || k.startsWith('CROSSLINK_')) delete env[k];
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      [require.resolve('osls/bin/serverless.js'), ...REMOVE, '--verbose'],
      {
        cwd: dir,
        env: {
          ...env,
          AWS_ENDPOINT_URL: cloud.aws.endpoint,
          AWS_ACCESS_KEY_ID: ADMIN_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: ADMIN_CREDENTIALS.secretAccessKey,
          // The first phase's packaging values: serverless.yml resolves without Google's.
          CROSSLINK_DEPLOY_PHASE: 'aws-first',
          SLS_TELEMETRY_DISABLED: '1',
          SLS_NOTIFICATIONS_MODE: 'off',
          SLS_AWS_MONITORING_FREQUENCY: '200',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
    });
    child.stderr.on('data', (d) => {
      text += d;
    });
    child.on('error', fail);
    child.on('close', (status) => done({ status, text }));
  });
}

const config = () => ({ region: REGION, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS });

async function describeStackId(): Promise<string> {
  const cfn = new CloudFormationClient(config());
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: 'crosslink-dev' }));
    return out.Stacks?.[0]?.StackId as string;
  } finally {
    cfn.destroy();
  }
}

describe('osls remove against the local AWS', () => {
  it('deletes the stack: functions, queues, state machines, rules and the API gone, the table kept, the key pending deletion', async () => {
    const world = cloud.aws.edge.world;
    const stack = half.deployment.stack;
    const bucket = stack.physicalIds.ServerlessDeploymentBucket as string;
    expect(findBucket(world, bucket)?.objects.size).toBeGreaterThan(2);
    const functions = lambdaRuntime(world, ACCOUNT, REGION).functions;
    expect(functions.size).toBeGreaterThan(10);
    const alarms = world.stateOf<{ alarms: Map<string, unknown> }>('cloudwatch', ACCOUNT, REGION).alarms;
    expect(alarms.size).toBeGreaterThan(5);
    const intake = half.intake;
    expect((await fetch(`${intake}/links`)).status).toBe(403);

    const stackId = await describeStackId();
    const r = await oslsRemove();
    expect(r.status, r.text).toBe(0);
    expect(r.text).toMatch(/Service crosslink has been successfully removed/);

    expect(findBucket(world, bucket)).toBeUndefined();
    for (const f of stack.functions) expect(functions.has(f)).toBe(false);
    for (const m of stack.stateMachines)
      expect([...statesOf(world, ACCOUNT, REGION).machines.values()].some((x) => x.name === m)).toBe(false);
    const sqs = world.stateOf<{ queues: Map<string, unknown> }>('sqs', ACCOUNT, REGION);
    for (const q of stack.queues) expect(sqs.queues.has(q)).toBe(false);
    const buses = eventsOf(world, ACCOUNT, REGION).buses;
    for (const rule of stack.rules)
      expect(
        [...buses.values()].some((b) => b.rules.has(rule)),
        rule,
      ).toBe(false);
    expect(buses.has(stack.physicalIds.CrosslinkBus as string)).toBe(false);
    expect([...alarms.keys()]).toEqual([]);
    for (const role of stack.roles) expect(roles(world).has(role), role).toBe(false);
    // The deleted stack's events, by its id: the retained resources skipped, the rest deleted.
    const cfn = new CloudFormationClient(config());
    try {
      const events =
        (await cfn.send(new DescribeStackEventsCommand({ StackName: stackId }))).StackEvents ?? [];
      const last = (id: string) => events.find((e) => e.LogicalResourceId === id)?.ResourceStatus;
      expect(last('LinksTable')).toBe('DELETE_SKIPPED');
      expect(last('ActivationKeyKms')).toBe('DELETE_COMPLETE');
      expect(last('ServerlessDeploymentBucket')).toBe('DELETE_COMPLETE');
      expect(last('crosslink-dev')).toBe('DELETE_COMPLETE');
      expect(events.filter((e) => e.ResourceStatus === 'DELETE_FAILED')).toEqual([]);
    } finally {
      cfn.destroy();
    }
    await expect(fetch(`${intake}/links`)).rejects.toThrow();

    const ddb = new DynamoDBClient(config());
    const kms = new KMSClient(config());
    try {
      const table = await ddb.send(new DescribeTableCommand({ TableName: stack.physicalIds.LinksTable }));
      expect(table.Table?.TableStatus).toBe('ACTIVE');
      const key = await kms.send(new DescribeKeyCommand({ KeyId: stack.kmsKeys.ActivationKeyKms?.keyId }));
      expect(key.KeyMetadata?.KeyState).toBe('PendingDeletion');
      const days = ((key.KeyMetadata?.DeletionDate?.getTime() ?? 0) - cloud.clock.now()) / DAY;
      expect(days).toBeGreaterThan(29);
      expect(days).toBeLessThanOrEqual(30);
    } finally {
      ddb.destroy();
      kms.destroy();
    }
  }, 180_000);

  it('a second osls remove says the stack does not exist', async () => {
    const r = await oslsRemove();
    expect(r.status).not.toBe(0);
    expect(r.text).toMatch(/Stack with id crosslink-dev does not exist/);
  }, 120_000);
});
