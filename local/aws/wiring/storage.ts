/**
 * The stateful resources of a template: KMS keys and DynamoDB tables created through the edge with
 * the SDK, as CloudFormation would call the services, and S3 buckets (the deployment bucket holds
 * the package as `osls deploy` uploads it) with their bucket policies.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { parsePolicy } from '../iam/policy.ts';
import { createBucket, deleteBucket, findBucket, putObject } from '../services/s3.ts';
import { TEMPLATE } from './packaging.ts';
import type { Wiring } from './template.ts';

/** KMS keys first (functions' variables name them), then DynamoDB tables, then S3 buckets and their policies. */
export async function wireStorage(w: Wiring): Promise<void> {
  const {
    world,
    accountId,
    region,
    loaded,
    removers,
    client,
    state,
    outDir,
    physical,
    attrs,
    resolve,
    byType,
  } = w;
  const kmsKeys = byType('AWS::KMS::Key');
  if (kmsKeys.length > 0) {
    const kms = new KMSClient(client);
    try {
      for (const [logical, r] of kmsKeys) {
        const p = r.Properties ?? {};
        const out = await kms.send(
          new CreateKeyCommand({
            ...(p.KeyPolicy !== undefined && {
              Policy: typeof p.KeyPolicy === 'string' ? p.KeyPolicy : JSON.stringify(resolve(p.KeyPolicy)),
            }),
            Description: p.Description,
            KeySpec: p.KeySpec,
            KeyUsage: p.KeyUsage,
            Tags: [{ TagKey: 'aws:cloudformation:logical-id', TagValue: logical }],
          }),
        );
        const keyId = out.KeyMetadata?.KeyId as string;
        const arn = out.KeyMetadata?.Arn as string;
        physical[logical] = keyId;
        attrs[logical] = { Arn: arn, KeyId: keyId };
        loaded.kmsKeys[logical] = { keyId, arn };
        // CloudFormation schedules the key's deletion (PendingWindowInDays, 30 by default).
        removers[logical] = () =>
          withClient(new KMSClient(client), (c) =>
            c.send(
              new ScheduleKeyDeletionCommand({
                KeyId: keyId,
                PendingWindowInDays: p.PendingWindowInDays ?? 30,
              }),
            ),
          );
      }
    } finally {
      kms.destroy();
    }
  }
  const tables = byType('AWS::DynamoDB::Table');
  if (tables.length > 0) {
    const ddb = new DynamoDBClient(client);
    try {
      for (const [logical, r] of tables) {
        const p = resolve(r.Properties ?? {});
        const TableName = physical[logical] as string;
        await ddb.send(
          new CreateTableCommand({
            TableName,
            AttributeDefinitions: p.AttributeDefinitions,
            KeySchema: p.KeySchema,
            GlobalSecondaryIndexes: p.GlobalSecondaryIndexes,
            LocalSecondaryIndexes: p.LocalSecondaryIndexes,
            BillingMode: p.BillingMode,
            ProvisionedThroughput: p.ProvisionedThroughput,
          }),
        );
        const ttl = p.TimeToLiveSpecification;
        if (ttl?.Enabled)
          await ddb.send(
            new UpdateTimeToLiveCommand({
              TableName,
              TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
            }),
          );
        loaded.tables.push(TableName);
        removers[logical] = () =>
          withClient(new DynamoDBClient(client), (c) => c.send(new DeleteTableCommand({ TableName })));
      }
    } finally {
      ddb.destroy();
    }
  }

  // Buckets: the deployment bucket holds the package as `osls deploy` uploads it (each function's
  // Code.S3Key, the compiled template and the service state, under the artifact directory).
  const artifactDir = String(state.package?.artifactDirectoryName ?? '');
  for (const [logical] of byType('AWS::S3::Bucket')) {
    const n = physical[logical] as string;
    const had = findBucket(world, n);
    if (had && had.accountId !== accountId)
      throw new Error(`template: ${logical}: bucket ${n} is another account's`);
    const bucket = had ?? createBucket(world, accountId, region, n);
    if (logical === 'ServerlessDeploymentBucket' && artifactDir) {
      const keys = new Set<string>([
        `${artifactDir}/compiled-cloudformation-template.json`,
        `${artifactDir}/serverless-state.json`,
      ]);
      for (const [, fn] of byType('AWS::Lambda::Function')) {
        const key = fn.Properties?.Code?.S3Key;
        if (typeof key === 'string') keys.add(key);
      }
      for (const key of keys) {
        const file = key.endsWith('compiled-cloudformation-template.json')
          ? TEMPLATE
          : (key.split('/').pop() as string);
        putObject(world, bucket, key, readFileSync(join(outDir, file)));
      }
    }
    removers[logical] = () => deleteBucket(world, n);
  }
  for (const [logical, r] of byType('AWS::S3::BucketPolicy')) {
    const p = resolve(r.Properties);
    const bucket = findBucket(world, String(p.Bucket));
    if (!bucket) throw new Error(`template: ${logical}: no bucket ${p.Bucket}`);
    try {
      parsePolicy(p.PolicyDocument, logical, 'resource');
    } catch (err) {
      throw new Error(`template: ${logical}: ${(err as Error).message}`);
    }
    // Kept as the bucket's policy; the local S3 does not evaluate it (its calls are over HTTP).
    bucket.policy = JSON.stringify(p.PolicyDocument);
    removers[logical] = () => {
      delete bucket.policy;
    };
  }
}

/** Runs `fn` with an SDK client, destroyed after. */
async function withClient<C extends { destroy(): void }, T>(c: C, fn: (c: C) => Promise<T>): Promise<T> {
  try {
    return await fn(c);
  } finally {
    c.destroy();
  }
}
