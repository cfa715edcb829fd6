/**
 * The local S3 and ECR as far as `osls remove` uses them, through the real SDK clients: a
 * deployment bucket listed page by page and emptied with DeleteObjects, a missing or foreign
 * bucket, a bucket that cannot be deleted while it holds objects, and an ECR registry that holds
 * no repositories.
 */
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import {
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBucket, deleteBucket, findBucket, putObject } from '#local/aws/services/s3.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';

const REGION = 'us-east-1';
let cloud: LocalCloud;
let s3: S3Client;

beforeAll(async () => {
  cloud = await startTestCloud();
  s3 = new S3Client({ region: REGION, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS });
});
afterAll(async () => {
  s3?.destroy();
  await cloud?.stop();
});

describe('S3', () => {
  it('lists a prefix page by page, deletes the objects, then the empty bucket', async () => {
    const world = cloud.aws.edge.world;
    const bucket = createBucket(world, '000000000000', REGION, 'crosslink-dev-deploy-1');
    for (let i = 0; i < 5; i++)
      putObject(world, bucket, `serverless/crosslink/dev/1/f${i}.zip`, Buffer.from(`z${i}`));
    putObject(world, bucket, 'other/keep.txt', Buffer.from('k'));
    expect((await s3.send(new HeadBucketCommand({ Bucket: bucket.name }))).BucketRegion).toBe(REGION);

    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: bucket.name,
          Prefix: 'serverless/',
          MaxKeys: 2,
          ContinuationToken: token,
        }),
      );
      expect(page.KeyCount).toBeLessThanOrEqual(2);
      keys.push(...(page.Contents ?? []).map((o) => o.Key as string));
      token = page.NextContinuationToken;
    } while (token);
    expect(keys).toEqual([0, 1, 2, 3, 4].map((i) => `serverless/crosslink/dev/1/f${i}.zip`));
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket.name, Prefix: 'other/' }));
    expect(versions.Versions?.map((v) => [v.Key, v.VersionId])).toEqual([['other/keep.txt', 'null']]);

    const out = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket.name, Delete: { Objects: keys.map((Key) => ({ Key })) } }),
    );
    expect(out.Deleted?.map((d) => d.Key)).toEqual(keys);
    expect(out.Errors ?? []).toEqual([]);
    expect([...bucket.objects.keys()]).toEqual(['other/keep.txt']);

    expect(() => deleteBucket(world, bucket.name)).toThrow('The bucket you tried to delete is not empty');
    await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket.name, Delete: { Objects: [{ Key: 'other/keep.txt' }] } }),
    );
    deleteBucket(world, bucket.name);
    expect(findBucket(world, bucket.name)).toBeUndefined();
  });

  it("answers 404 for a missing bucket and 403 for another account's", async () => {
    await expect(s3.send(new HeadBucketCommand({ Bucket: 'no-such-bucket-here' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    await expect(s3.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket-here' }))).rejects.toMatchObject({
      name: 'NoSuchBucket',
    });
    createBucket(cloud.aws.edge.world, '111111111111', REGION, 'someone-elses-bucket');
    await expect(s3.send(new HeadBucketCommand({ Bucket: 'someone-elses-bucket' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });
    expect(() => createBucket(cloud.aws.edge.world, '000000000000', REGION, 'someone-elses-bucket')).toThrow(
      'already exists',
    );
  });
});

describe('ECR', () => {
  it('has no repositories: a named one is RepositoryNotFoundException', async () => {
    const ecr = new ECRClient({
      region: REGION,
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    try {
      await expect(
        ecr.send(
          new DescribeRepositoriesCommand({
            repositoryNames: ['serverless-crosslink-dev'],
            registryId: '000000000000',
          }),
        ),
      ).rejects.toMatchObject({
        name: 'RepositoryNotFoundException',
        message:
          "The repository with name 'serverless-crosslink-dev' does not exist in the registry with id '000000000000'",
      });
      expect((await ecr.send(new DescribeRepositoriesCommand({}))).repositories).toEqual([]);
      await expect(
        ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['Bad Name'] })),
      ).rejects.toMatchObject({
        name: 'InvalidParameterException',
      });
    } finally {
      ecr.destroy();
    }
  });
});
