/**
 * What the people of config/local-identities.yaml may not do at the local AWS edge, where IAM is
 * enforced by default: a requester (alice) or an approver (bob) calling the services behind the
 * intake directly gets each service's AccessDenied, naming the action and the resource: deleting an
 * Interconnect connection, listing DynamoDB tables, reading a link's activation-key secret. The
 * account's root (admin) does each of them, so the refusals are IAM's and not a missing resource.
 * Behind an HTTP API with IAM auth, alice reaches the intake's routes her policy names and gets 403
 * on another; API Gateway invokes the function only once its permission names the API.
 */
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateConnectionCommand,
  DeleteConnectionCommand,
  ListAttachPointsCommand,
} from '#aws/interconnect-client.ts';
import { HttpApi } from '#local/aws/http-api.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { LocalCloud } from '#local/index.ts';
import { callIntake, IDENTITIES } from '../support/intake.ts';
import {
  ADMIN_CREDENTIALS,
  callerConfig,
  interconnectClient,
  letServiceCall,
  startTestCloud,
} from '../support/local-cloud.ts';
import { refusal } from '../support/refusal.ts';

const ENV = 'mce-aws-gcp-iad';
const SECRET = 'crosslink/lk-01refusals/activation-key';
const PEOPLE = [
  ['alice', IDENTITIES.alice, 'arn:aws:iam::000000000000:user/alice'],
  ['bob', IDENTITIES.bob, 'arn:aws:iam::000000000000:user/bob'],
] as const;

let cloud: LocalCloud;
let connection: { id: string; arn: string };
let secretArn: string;
const config = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
  callerConfig(cloud, credentials);

beforeAll(async () => {
  cloud = await startTestCloud();
  // What the automation made: a connection, the table, a link's activation-key secret.
  const ic = interconnectClient(cloud);
  const gw = (await ic.send(new ListAttachPointsCommand({ environmentId: ENV }))).attachPoints[0]!.identifier;
  const created = (
    await ic.send(
      new CreateConnectionCommand({
        bandwidth: '1Gbps',
        environmentId: ENV,
        attachPoint: { directConnectGateway: gw },
        remoteAccount: { identifier: 'crosslink-net-prod' },
      }),
    )
  ).connection!;
  connection = { id: created.id, arn: created.arn };
  const ddb = new DynamoDBClient(config(ADMIN_CREDENTIALS));
  await ddb.send(
    new CreateTableCommand({
      TableName: 'crosslink-links-dev',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  ddb.destroy();
  const sm = new SecretsManagerClient(config(ADMIN_CREDENTIALS));
  secretArn = (await sm.send(new CreateSecretCommand({ Name: SECRET, SecretString: 'key-1234' })))
    .ARN as string;
  sm.destroy();
});
afterAll(async () => {
  await cloud?.stop();
});

describe('local identities without a grant, IAM enforced by default', () => {
  it.each(PEOPLE)(
    '%s may not delete an Interconnect connection: AccessDeniedException, 403',
    async (_n, creds, arn) => {
      // Act
      const err = await refusal(
        interconnectClient(cloud, { credentials: creds, maxAttempts: 1 }).send(
          new DeleteConnectionCommand({ identifier: connection.id }),
        ),
      );
      // Assess
      expect(err.name).toBe('AccessDeniedException');
      expect(err.$metadata.httpStatusCode).toBe(403);
      expect(err.message).toBe(
        `User: ${arn} is not authorized to perform: interconnect:DeleteConnection on resource: ${connection.arn} because no identity-based policy allows the interconnect:DeleteConnection action`,
      );
    },
  );

  it.each(PEOPLE)('%s may not list DynamoDB tables: AccessDeniedException, 400', async (_n, creds, arn) => {
    // Act
    const err = await refusal(new DynamoDBClient(config(creds)).send(new ListTablesCommand({})));
    // Assess
    expect(err.name).toBe('AccessDeniedException');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.message).toBe(
      `User: ${arn} is not authorized to perform: dynamodb:ListTables because no identity-based policy allows the dynamodb:ListTables action`,
    );
  });

  it.each(PEOPLE)(
    '%s may not read a link activation-key secret: AccessDeniedException',
    async (_n, creds, arn) => {
      // Act
      const err = await refusal(
        new SecretsManagerClient(config(creds)).send(new GetSecretValueCommand({ SecretId: SECRET })),
      );
      // Assess
      expect(err.name).toBe('AccessDeniedException');
      expect(err.$metadata.httpStatusCode).toBe(400);
      expect(err.message).toBe(
        `User: ${arn} is not authorized to perform: secretsmanager:GetSecretValue on resource: ${secretArn} because no identity-based policy allows the secretsmanager:GetSecretValue action`,
      );
    },
  );

  it('the account root does each of them (the refusals are IAM, not missing resources)', async () => {
    // Act
    const tables = await new DynamoDBClient(config(ADMIN_CREDENTIALS)).send(new ListTablesCommand({}));
    const secret = await new SecretsManagerClient(config(ADMIN_CREDENTIALS)).send(
      new GetSecretValueCommand({ SecretId: SECRET }),
    );
    const deleted = await interconnectClient(cloud).send(
      new DeleteConnectionCommand({ identifier: connection.id }),
    );
    // Assess
    expect(tables.TableNames).toContain('crosslink-links-dev');
    expect(secret.SecretString).toBe('key-1234');
    expect(deleted.connection?.id).toBe(connection.id);
  });
});

describe('an HTTP API route with IAM auth, IAM enforced by default', () => {
  it("lets alice call the intake's routes her policy names and refuses her another route with 403", async () => {
    // Prepare: a function behind two AWS_IAM routes, invocable by this API only (its permission).
    const runtime = lambdaRuntime(cloud.aws.edge.world, '000000000000', 'us-east-1');
    const fn = runtime.register({ name: 'routes', handler: async () => ({ statusCode: 200, body: '"ok"' }) });
    const api = new HttpApi(cloud.aws.edge.world, { accountId: '000000000000', region: 'us-east-1' });
    for (const routeKey of ['GET /links', 'POST /admin/reset'])
      api.addRoute({ routeKey, functionName: 'routes', auth: { type: 'AWS_IAM' } });
    await api.listen(0);
    try {
      const unpermitted = await callIntake(api.endpoint, IDENTITIES.alice, 'GET', '/links');
      await letServiceCall(cloud, fn.arn, 'apigateway.amazonaws.com');
      // Act
      const listed = await callIntake(api.endpoint, IDENTITIES.alice, 'GET', '/links');
      const reset = await callIntake(api.endpoint, IDENTITIES.alice, 'POST', '/admin/reset', {});
      // Assess
      expect(unpermitted.status).toBe(500);
      expect(listed).toEqual({ status: 200, body: 'ok' });
      expect(reset.status).toBe(403);
      expect(reset.body.Message).toBe(
        `User: arn:aws:iam::000000000000:user/alice is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:000000000000:${api.apiId}/$default/POST/admin/reset because no identity-based policy allows the execute-api:Invoke action`,
      );
    } finally {
      await api.close();
      runtime.remove('routes');
    }
  });
});
