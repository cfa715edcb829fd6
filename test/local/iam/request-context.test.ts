/**
 * The request context of the local AWS's services: each operation's IAM action (from the Service
 * Authorization Reference data, plus the operations whose action has another name) and the
 * resource ARNs IAM evaluates, built from the request as the real services name them.
 */
import { describe, expect, it } from 'vitest';
import { actionFor, authorizationTargets } from '#local/aws/iam/request-context.ts';
import { awsServices } from '#local/aws/services/index.ts';

const scope = { accountId: '123456789012', region: 'us-east-1' };
const targets = (signingName: string, operation: string, input: unknown, lookup = {}) =>
  authorizationTargets(signingName, operation, input, scope, lookup);
const resources = async (signingName: string, operation: string, input: unknown, lookup = {}) =>
  (await targets(signingName, operation, input, lookup)).map((t) => `${t.action} ${t.resource}`);

describe('every operation the local AWS serves has its IAM action', () => {
  it('in the Service Authorization Reference (or none, where AWS authorizes none)', async () => {
    const unmapped: string[] = [];
    for (const service of awsServices) {
      for (const operation of Object.keys(service.operations)) {
        try {
          await actionFor(service.signingName, operation);
        } catch (err) {
          unmapped.push((err as Error).message);
        }
      }
    }
    expect(unmapped).toEqual([]);
  });

  it("where the action is not the operation's name: SQS batches, Lambda Invoke, CloudWatch's prefix", async () => {
    expect(await actionFor('sqs', 'SendMessageBatch')).toBe('sqs:SendMessage');
    expect(await actionFor('sqs', 'DeleteMessageBatch')).toBe('sqs:DeleteMessage');
    expect(await actionFor('lambda', 'Invoke')).toBe('lambda:InvokeFunction');
    expect(await actionFor('monitoring', 'GetMetricData')).toBe('cloudwatch:GetMetricData');
    expect(await actionFor('sts', 'GetCallerIdentity')).toBeUndefined();
  });

  it('an operation the reference does not know is an error, never a guess', async () => {
    await expect(actionFor('dynamodb', 'ListTablez')).rejects.toThrow(
      'the Service Authorization Reference has no action dynamodb:ListTablez for dynamodb ListTablez',
    );
  });
});

describe('resources IAM evaluates, from the request', () => {
  it("Scheduler: the schedule in its group (the body's, the query's, or default), the group; lists on *", async () => {
    expect(
      await resources('scheduler', 'CreateSchedule', {
        path: { Name: 'run' },
        body: { GroupName: 'vpn' },
        query: {},
      }),
    ).toEqual(['scheduler:CreateSchedule arn:aws:scheduler:us-east-1:123456789012:schedule/vpn/run']);
    expect(
      await resources('scheduler', 'GetSchedule', {
        path: { Name: 'run' },
        body: '',
        query: { groupName: 'ops' },
      }),
    ).toEqual(['scheduler:GetSchedule arn:aws:scheduler:us-east-1:123456789012:schedule/ops/run']);
    expect(
      await resources('scheduler', 'DeleteSchedule', { path: { Name: 'run' }, body: '', query: {} }),
    ).toEqual(['scheduler:DeleteSchedule arn:aws:scheduler:us-east-1:123456789012:schedule/default/run']);
    expect(await resources('scheduler', 'DeleteScheduleGroup', { path: { Name: 'ops' }, query: {} })).toEqual(
      ['scheduler:DeleteScheduleGroup arn:aws:scheduler:us-east-1:123456789012:schedule-group/ops'],
    );
    expect(await resources('scheduler', 'ListSchedules', { path: {}, query: {} })).toEqual([
      'scheduler:ListSchedules *',
    ]);
  });

  it('DynamoDB: the table, the index a Query names, every table of a batch; ListTables on *', async () => {
    expect(await resources('dynamodb', 'GetItem', { TableName: 'links' })).toEqual([
      'dynamodb:GetItem arn:aws:dynamodb:us-east-1:123456789012:table/links',
    ]);
    expect(await resources('dynamodb', 'Query', { TableName: 'links', IndexName: 'byState' })).toEqual([
      'dynamodb:Query arn:aws:dynamodb:us-east-1:123456789012:table/links/index/byState',
    ]);
    expect(await resources('dynamodb', 'BatchWriteItem', { RequestItems: { a: [], b: [] } })).toEqual([
      'dynamodb:BatchWriteItem arn:aws:dynamodb:us-east-1:123456789012:table/a',
      'dynamodb:BatchWriteItem arn:aws:dynamodb:us-east-1:123456789012:table/b',
    ]);
    expect(await resources('dynamodb', 'ListTables', {})).toEqual(['dynamodb:ListTables *']);
  });

  it('EventBridge: PutEvents per entry, on its bus, with events:source and events:detail-type', async () => {
    const t = await targets('events', 'PutEvents', {
      Entries: [
        { Source: 'crosslink', DetailType: 'LinkRequested', EventBusName: 'crosslink' },
        {
          Source: 'aws.interconnect',
          DetailType: 'x',
          EventBusName: 'arn:aws:events:us-east-1:123456789012:event-bus/crosslink',
        },
        { Source: 'other', DetailType: 'y' },
      ],
    });
    expect(t).toEqual([
      {
        action: 'events:PutEvents',
        resource: 'arn:aws:events:us-east-1:123456789012:event-bus/crosslink',
        context: { 'events:source': 'crosslink', 'events:detail-type': 'LinkRequested' },
      },
      {
        action: 'events:PutEvents',
        resource: 'arn:aws:events:us-east-1:123456789012:event-bus/crosslink',
        context: { 'events:source': 'aws.interconnect', 'events:detail-type': 'x' },
      },
      {
        action: 'events:PutEvents',
        resource: 'arn:aws:events:us-east-1:123456789012:event-bus/default',
        context: { 'events:source': 'other', 'events:detail-type': 'y' },
      },
    ]);
  });

  it('EventBridge rules: on the default bus rule/<name>, on another bus rule/<bus>/<name>', async () => {
    expect(await resources('events', 'PutRule', { Name: 'r1' })).toEqual([
      'events:PutRule arn:aws:events:us-east-1:123456789012:rule/r1',
    ]);
    expect(await resources('events', 'PutTargets', { Rule: 'r1', EventBusName: 'crosslink' })).toEqual([
      'events:PutTargets arn:aws:events:us-east-1:123456789012:rule/crosslink/r1',
    ]);
  });

  it('Step Functions: the state machine (by name on create), the execution; SendTaskSuccess on *', async () => {
    expect(await resources('states', 'CreateStateMachine', { name: 'provision' })).toEqual([
      'states:CreateStateMachine arn:aws:states:us-east-1:123456789012:stateMachine:provision',
    ]);
    const sm = 'arn:aws:states:us-east-1:123456789012:stateMachine:provision';
    expect(await resources('states', 'StartExecution', { stateMachineArn: sm })).toEqual([
      `states:StartExecution ${sm}`,
    ]);
    const ex = 'arn:aws:states:us-east-1:123456789012:execution:provision:run-1';
    expect(await resources('states', 'DescribeExecution', { executionArn: ex })).toEqual([
      `states:DescribeExecution ${ex}`,
    ]);
    expect(await resources('states', 'SendTaskSuccess', { taskToken: 't' })).toEqual([
      'states:SendTaskSuccess *',
    ]);
  });

  it("Secrets Manager: the secret's full ARN (its random suffix) when the local AWS knows it", async () => {
    const full = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:crosslink/psk-AbC123';
    const lookup = {
      secretArn: (_a: string, _r: string, ref: string) => (ref === 'crosslink/psk' ? full : undefined),
    };
    expect(
      await resources('secretsmanager', 'GetSecretValue', { SecretId: 'crosslink/psk' }, lookup),
    ).toEqual([`secretsmanager:GetSecretValue ${full}`]);
    expect(await resources('secretsmanager', 'GetSecretValue', { SecretId: 'absent' }, lookup)).toEqual([
      'secretsmanager:GetSecretValue arn:aws:secretsmanager:us-east-1:123456789012:secret:absent',
    ]);
  });

  it('KMS: the key, an alias resolved to its key; CreateAlias on the alias and the key', async () => {
    const lookup = {
      keyIdForAlias: (_a: string, _r: string, alias: string) =>
        alias === 'alias/crosslink' ? 'k-1' : undefined,
    };
    expect(await resources('kms', 'Decrypt', { KeyId: 'alias/crosslink' }, lookup)).toEqual([
      'kms:Decrypt arn:aws:kms:us-east-1:123456789012:key/k-1',
    ]);
    expect(
      await resources('kms', 'CreateAlias', { AliasName: 'alias/crosslink', TargetKeyId: 'k-1' }),
    ).toEqual([
      'kms:CreateAlias arn:aws:kms:us-east-1:123456789012:alias/crosslink',
      'kms:CreateAlias arn:aws:kms:us-east-1:123456789012:key/k-1',
    ]);
  });

  it('Interconnect, SQS (the owner account from the queue URL), Lambda, STS, Direct Connect, EC2', async () => {
    expect(await resources('interconnect', 'GetConnection', { identifier: 'mcc-1' })).toEqual([
      'interconnect:GetConnection arn:aws:interconnect:us-east-1:123456789012:connection/mcc-1',
    ]);
    expect(
      await resources('sqs', 'SendMessageBatch', { QueueUrl: 'http://127.0.0.1:4566/222222222222/dlq' }),
    ).toEqual(['sqs:SendMessage arn:aws:sqs:us-east-1:222222222222:dlq']);
    expect(await resources('lambda', 'Invoke', { path: { FunctionName: 'crosslink-dev-intake' } })).toEqual([
      'lambda:InvokeFunction arn:aws:lambda:us-east-1:123456789012:function:crosslink-dev-intake',
    ]);
    expect(
      await resources('sts', 'AssumeRole', { RoleArn: 'arn:aws:iam::222222222222:role/net/crosslink' }),
    ).toEqual(['sts:AssumeRole arn:aws:iam::222222222222:role/net/crosslink']);
    expect(
      await resources('directconnect', 'DeleteDirectConnectGatewayAssociation', {
        directConnectGatewayId: 'g-1',
      }),
    ).toEqual([
      'directconnect:DeleteDirectConnectGatewayAssociation arn:aws:directconnect::123456789012:dx-gateway/g-1',
    ]);
    expect(
      await resources('ec2', 'EnableVgwRoutePropagation', { RouteTableId: 'rtb-1', GatewayId: 'vgw-1' }),
    ).toEqual([
      'ec2:EnableVgwRoutePropagation arn:aws:ec2:us-east-1:123456789012:route-table/rtb-1',
      'ec2:EnableVgwRoutePropagation arn:aws:ec2:us-east-1:123456789012:vpn-gateway/vgw-1',
    ]);
    expect(await resources('ec2', 'DescribeVpnConnections', {})).toEqual(['ec2:DescribeVpnConnections *']);
  });

  it('a resource the request does not name is left to the service to refuse', async () => {
    expect(await targets('dynamodb', 'GetItem', {})).toEqual([]);
  });
});
