/**
 * IAM at the local AWS edge, through the real SDK clients: with enforcement on, a local identity
 * without grants is refused by DynamoDB, Secrets Manager and SQS in each service's own error shape
 * and IAM's sentence (CloudWatch too); a grant lets the same call through; the account root needs none; an explicit
 * Deny wins over a grant.
 */

import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialStore, type Principal } from '#local/aws/credentials.ts';
import { AwsEdge } from '#local/aws/edge.ts';
import { type Policy, parsePolicy } from '#local/aws/iam/policy.ts';
import { awsServices } from '#local/aws/services/index.ts';
import { VirtualClock } from '#local/clock.ts';
import { FaultRegistry } from '#local/faults.ts';
import { loadIdentities } from '#local/identities.ts';
import { seededRandom } from '#local/random.ts';
import { ADMIN_CREDENTIALS, ALICE_CREDENTIALS } from '../support/local-cloud.ts';
import { refusal } from '../support/refusal.ts';

const region = 'us-east-1';
/** Identity policies per local identity name; the test changes them between calls. */
const grants = new Map<string, Policy[]>();
let edge: AwsEdge;

beforeAll(async () => {
  const random = seededRandom(7);
  edge = new AwsEdge({
    clock: new VirtualClock({ mode: 'manual', start: Date.parse('2026-06-01T00:00:00Z') }),
    faults: new FaultRegistry(random),
    random,
    credentials: new CredentialStore(loadIdentities()),
    services: awsServices,
    log: () => {},
    iam: { identityPolicies: (p: Principal) => grants.get(p.name) ?? [] },
  });
  await edge.listen(0);
});
afterAll(async () => {
  await edge?.close();
});

const as = (credentials: { accessKeyId: string; secretAccessKey: string }) => ({
  region,
  endpoint: edge.endpoint,
  credentials,
  maxAttempts: 1,
});
const allow = (action: string, resource = '*') =>
  parsePolicy(
    { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: action, Resource: resource } },
    `allow ${action}`,
    'identity',
  );

describe('IAM at the local AWS edge (enforcement on)', () => {
  it('DynamoDB ListTables: alice without grants gets AccessDeniedException; with dynamodb:ListTables she lists', async () => {
    // Prepare
    grants.clear();
    const ddb = new DynamoDBClient(as(ALICE_CREDENTIALS));
    // Act
    const err = await refusal(ddb.send(new ListTablesCommand({})));
    // Assess
    expect(err.name).toBe('AccessDeniedException');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.message).toBe(
      'User: arn:aws:iam::000000000000:user/alice is not authorized to perform: dynamodb:ListTables because no identity-based policy allows the dynamodb:ListTables action',
    );
    grants.set('alice', [allow('dynamodb:ListTables')]);
    expect((await ddb.send(new ListTablesCommand({}))).TableNames).toEqual([]);
  });

  it('the account root (admin) needs no grant', async () => {
    grants.clear();
    const ddb = new DynamoDBClient(as(ADMIN_CREDENTIALS));
    expect((await ddb.send(new ListTablesCommand({}))).TableNames).toEqual([]);
  });

  it("Secrets Manager GetSecretValue: refused on the secret's full ARN; allowed by a grant on crosslink/*; a Deny wins", async () => {
    // Prepare
    grants.clear();
    const created = await new SecretsManagerClient(as(ADMIN_CREDENTIALS)).send(
      new CreateSecretCommand({ Name: 'crosslink/psk', SecretString: 's3cret' }),
    );
    const sm = new SecretsManagerClient(as(ALICE_CREDENTIALS));
    // Act
    const err = await refusal(sm.send(new GetSecretValueCommand({ SecretId: 'crosslink/psk' })));
    // Assess
    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toBe(
      `User: arn:aws:iam::000000000000:user/alice is not authorized to perform: secretsmanager:GetSecretValue on resource: ${created.ARN} because no identity-based policy allows the secretsmanager:GetSecretValue action`,
    );
    grants.set('alice', [
      allow(
        'secretsmanager:GetSecretValue',
        'arn:aws:secretsmanager:us-east-1:000000000000:secret:crosslink/*',
      ),
    ]);
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'crosslink/psk' }))).SecretString).toBe(
      's3cret',
    );
    grants.set('alice', [
      allow('secretsmanager:*'),
      parsePolicy(
        {
          Version: '2012-10-17',
          Statement: { Effect: 'Deny', Action: 'secretsmanager:GetSecretValue', Resource: created.ARN },
        },
        'deny psk',
        'identity',
      ),
    ]);
    const denied = await refusal(sm.send(new GetSecretValueCommand({ SecretId: 'crosslink/psk' })));
    expect(denied.message).toMatch(/with an explicit deny in an identity-based policy$/);
  });

  it('SQS SendMessage (query-compatible JSON): the SDK reports AccessDenied with 403', async () => {
    grants.clear();
    const { QueueUrl } = await new SQSClient(as(ADMIN_CREDENTIALS)).send(
      new CreateQueueCommand({ QueueName: 'dlq' }),
    );
    const err = await refusal(
      new SQSClient(as(ALICE_CREDENTIALS)).send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' })),
    );
    expect(err.name).toBe('AccessDenied');
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(err.message).toBe(
      'User: arn:aws:iam::000000000000:user/alice is not authorized to perform: sqs:SendMessage on resource: arn:aws:sqs:us-east-1:000000000000:dlq because no identity-based policy allows the sqs:SendMessage action',
    );
  });

  it("CloudWatch GetMetricData (the VPN traffic check's read): refused without cloudwatch:GetMetricData, allowed with it on *", async () => {
    // Prepare
    grants.clear();
    const cw = new CloudWatchClient(as(ALICE_CREDENTIALS));
    const read = () =>
      cw.send(
        new GetMetricDataCommand({
          StartTime: new Date('2026-05-31T23:00:00Z'),
          EndTime: new Date('2026-06-01T00:00:00Z'),
          MetricDataQueries: [
            {
              Id: 'q0',
              MetricStat: {
                Metric: {
                  Namespace: 'AWS/VPN',
                  MetricName: 'TunnelDataIn',
                  Dimensions: [{ Name: 'VpnId', Value: 'vpn-0aaaaaaaaaaaaaaa1' }],
                },
                Period: 300,
                Stat: 'Sum',
              },
            },
          ],
        }),
      );
    // Act
    const err = await refusal(read());
    grants.set('alice', [allow('cloudwatch:GetMetricData')]);
    const out = await read();
    // Assess
    expect(err.name).toBe('AccessDenied');
    expect(err.message).toContain('is not authorized to perform: cloudwatch:GetMetricData');
    expect(out.MetricDataResults?.map((r) => r.Id)).toEqual(['q0']);
  });

  it('DynamoDB: a grant limited by dynamodb:LeadingKeys lets alice reach only the items whose partition key it names', async () => {
    grants.clear();
    await new DynamoDBClient(as(ADMIN_CREDENTIALS)).send(
      new CreateTableCommand({
        TableName: 'leading-keys',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    grants.set('alice', [
      parsePolicy(
        {
          Version: '2012-10-17',
          Statement: {
            Effect: 'Allow',
            Action: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:Query'],
            Resource: '*',
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['VPN#*'] } },
          },
        },
        'VPN items only',
        'identity',
      ),
    ]);
    const ddb = new DynamoDBClient(as(ALICE_CREDENTIALS));
    const item = (pk: string) => ({ pk: { S: pk }, sk: { S: 'GCP-DRAIN' } });
    await ddb.send(new PutItemCommand({ TableName: 'leading-keys', Item: item('VPN#vpn-1') }));
    const refused = await refusal(
      ddb.send(new PutItemCommand({ TableName: 'leading-keys', Item: item('LINK#1') })),
    );
    expect(refused.name).toBe('AccessDeniedException');
    expect(refused.message).toMatch(
      /not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:000000000000:table\/leading-keys/,
    );
    expect(
      (await ddb.send(new GetItemCommand({ TableName: 'leading-keys', Key: item('VPN#vpn-1') }))).Item,
    ).toEqual(item('VPN#vpn-1'));
    expect(
      (await refusal(ddb.send(new GetItemCommand({ TableName: 'leading-keys', Key: item('LINK#1') })))).name,
    ).toBe('AccessDeniedException');
    const query = (pk: string) =>
      new QueryCommand({
        TableName: 'leading-keys',
        KeyConditionExpression: '#k = :k AND begins_with(sk, :s)',
        ExpressionAttributeNames: { '#k': 'pk' },
        ExpressionAttributeValues: { ':k': { S: pk }, ':s': { S: 'GCP' } },
      });
    expect((await ddb.send(query('VPN#vpn-1'))).Count).toBe(1);
    expect((await refusal(ddb.send(query('LINK#1')))).name).toBe('AccessDeniedException');
  });
});
