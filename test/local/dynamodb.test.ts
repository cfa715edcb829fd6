/**
 * DynamoDB through the edge (SigV4 verified there, then dynalite) with the standard client and
 * the document client: tables and items per account and region, conditional writes, queries, the
 * TTL setting (recorded, never enforced), and what dynalite does not do.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListTablesCommand,
  TransactWriteItemsCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
let ddb: DynamoDBClient;
let doc: DynamoDBDocumentClient;
beforeAll(async () => {
  cloud = await startTestCloud();
  ddb = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
    maxAttempts: 1,
  });
  doc = DynamoDBDocumentClient.from(ddb);
  await ddb.send(
    new CreateTableCommand({
      TableName: 'links',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
});
afterAll(async () => {
  await cloud?.stop();
});

async function errorOf(p: Promise<unknown>): Promise<Error & { $metadata: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { $metadata: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

describe('DynamoDB (dynalite behind the edge)', () => {
  it('creates a table whose ARN names the caller account and region', async () => {
    const t = await ddb.send(new DescribeTableCommand({ TableName: 'links' }));
    expect(t.Table?.TableArn).toBe('arn:aws:dynamodb:us-east-1:000000000000:table/links');
    expect(t.Table?.KeySchema).toHaveLength(2);
  });

  it('puts, gets and queries items; a failed condition is ConditionalCheckFailedException', async () => {
    // Act
    await doc.send(new PutCommand({ TableName: 'links', Item: { pk: 'lk-1', sk: 'half#aws', seq: 1 } }));
    await doc.send(new PutCommand({ TableName: 'links', Item: { pk: 'lk-1', sk: 'half#gcp', seq: 1 } }));
    const got = await doc.send(new GetCommand({ TableName: 'links', Key: { pk: 'lk-1', sk: 'half#aws' } }));
    const conflict = await errorOf(
      doc.send(
        new PutCommand({
          TableName: 'links',
          Item: { pk: 'lk-1', sk: 'half#aws', seq: 2 },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
    const q = await doc.send(
      new QueryCommand({
        TableName: 'links',
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'lk-1' },
      }),
    );
    // Assess
    expect(got.Item).toEqual({ pk: 'lk-1', sk: 'half#aws', seq: 1 });
    expect(conflict.name).toBe('ConditionalCheckFailedException');
    expect(conflict.$metadata.httpStatusCode).toBe(400);
    expect(q.Items?.map((i) => i.sk)).toEqual(['half#aws', 'half#gcp']);
  });

  it('keeps accounts and regions apart: another account (assumed role) and another region see no table', async () => {
    // Prepare: the other account's role may list its tables.
    await admin(cloud, 'POST', '/aws/sts/put-role', {
      accountId: '111111111111',
      roleName: 'crosslink-hub-access',
      trust: ['000000000000'],
      policies: {
        list: {
          Version: '2012-10-17',
          Statement: {
            Effect: 'Allow',
            Action: ['dynamodb:ListTables', 'dynamodb:DescribeTable'],
            Resource: '*',
          },
        },
      },
    });
    const sts = new STSClient({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    const { Credentials: c } = await sts.send(
      new AssumeRoleCommand({
        RoleArn: 'arn:aws:iam::111111111111:role/crosslink-hub-access',
        RoleSessionName: 'ddb',
      }),
    );
    const spoke = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: {
        accessKeyId: c?.AccessKeyId as string,
        secretAccessKey: c?.SecretAccessKey as string,
        sessionToken: c?.SessionToken as string,
      },
    });
    const west = new DynamoDBClient({
      region: 'eu-west-2',
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    // Act
    const spokeTables = await spoke.send(new ListTablesCommand({}));
    const westTables = await west.send(new ListTablesCommand({}));
    const missing = await errorOf(spoke.send(new DescribeTableCommand({ TableName: 'links' })));
    // Assess
    expect(spokeTables.TableNames).toEqual([]);
    expect(westTables.TableNames).toEqual([]);
    expect(missing.name).toBe('ResourceNotFoundException');
  });

  it('records the TTL setting (ENABLING, then ENABLED after a minute of virtual time) without deleting items', async () => {
    // Act
    await ddb.send(
      new UpdateTimeToLiveCommand({
        TableName: 'links',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      }),
    );
    const enabling = await ddb.send(new DescribeTimeToLiveCommand({ TableName: 'links' }));
    await cloud.clock.advance(60_000);
    const enabled = await ddb.send(new DescribeTimeToLiveCommand({ TableName: 'links' }));
    const again = await errorOf(
      ddb.send(
        new UpdateTimeToLiveCommand({
          TableName: 'links',
          TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        }),
      ),
    );
    const noTable = await errorOf(ddb.send(new DescribeTimeToLiveCommand({ TableName: 'nope' })));
    // Assess
    expect(enabling.TimeToLiveDescription).toEqual({
      TimeToLiveStatus: 'ENABLING',
      AttributeName: 'expiresAt',
    });
    expect(enabled.TimeToLiveDescription?.TimeToLiveStatus).toBe('ENABLED');
    expect(again.name).toBe('ValidationException');
    expect(noTable.name).toBe('ResourceNotFoundException');
  });

  it('answers transactions with UnknownOperationException (dynalite has none) and refuses a bad signature', async () => {
    const tx = await errorOf(
      ddb.send(
        new TransactWriteItemsCommand({
          TransactItems: [{ Put: { TableName: 'links', Item: { pk: { S: 'a' }, sk: { S: 'b' } } } }],
        }),
      ),
    );
    const forged = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: { accessKeyId: 'test', secretAccessKey: 'wrong' },
      maxAttempts: 1,
    });
    const bad = await errorOf(forged.send(new ListTablesCommand({})));
    expect(tx.name).toBe('UnknownOperationException');
    expect(bad.name).toBe('InvalidSignatureException');
  });
});
