/**
 * The local CloudFormation's DeleteStack, through the real SDK client: reverse dependency order on
 * the virtual clock, `DeletionPolicy: Retain` kept, a resource it cannot delete failing the stack,
 * termination protection, the events and errors `osls remove` reads, and the SDK's waiter. Plus
 * Lambda's DeleteFunction, which a stack's functions go through.
 */
import {
  CloudFormationClient,
  DeleteStackCommand,
  DescribeStackEventsCommand,
  DescribeStackResourceCommand,
  DescribeStacksCommand,
  type StackEvent,
  waitUntilStackDeleteComplete,
} from '@aws-sdk/client-cloudformation';
import { DeleteFunctionCommand, GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DELETE_STEP_MS, putStack, type StackResourceSpec } from '#local/aws/services/cloudformation.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
let cloud: LocalCloud;
let cfn: CloudFormationClient;

beforeAll(async () => {
  cloud = await startTestCloud();
  cfn = new CloudFormationClient({
    region: REGION,
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
  });
});
afterAll(async () => {
  cfn?.destroy();
  await cloud?.stop();
});

/** A stack of `resources`, each recording its deletion (order and virtual time) in `deleted`. */
function stack(name: string, resources: (Omit<StackResourceSpec, 'physicalId'> & { physicalId?: string })[]) {
  const deleted: { id: string; at: number }[] = [];
  putStack(cloud.aws.edge.world, ACCOUNT, REGION, {
    stackName: name,
    outputs: [{ OutputKey: 'Url', OutputValue: 'http://x' }],
    resources: resources.map((r) => ({
      physicalId: `${name}-${r.logicalId}`,
      ...r,
      ...(r.remove === undefined
        ? {}
        : {
            remove:
              r.remove === 'not-created'
                ? 'not-created'
                : () => {
                    deleted.push({ id: r.logicalId, at: cloud.clock.now() });
                    return (r.remove as () => unknown)();
                  },
          }),
    })),
  });
  return deleted;
}

async function events(name: string): Promise<StackEvent[]> {
  const out = await cfn.send(new DescribeStackEventsCommand({ StackName: name }));
  return [...(out.StackEvents ?? [])].reverse();
}

async function validationMessage(p: Promise<unknown>): Promise<string> {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as { name?: string; message?: string } | undefined;
  expect(err?.name).toBe('ValidationError');
  return String(err?.message);
}

describe('DeleteStack', () => {
  it('deletes in reverse dependency order, one wave per step of the virtual clock, and keeps Retain', async () => {
    const noop = () => {};
    const deleted = stack('order', [
      { logicalId: 'Queue', type: 'AWS::SQS::Queue', dependsOn: [], remove: noop },
      { logicalId: 'Role', type: 'AWS::IAM::Role', dependsOn: [], remove: noop },
      { logicalId: 'Fn', type: 'AWS::Lambda::Function', dependsOn: ['Role', 'Queue'], remove: noop },
      {
        logicalId: 'Mapping',
        type: 'AWS::Lambda::EventSourceMapping',
        dependsOn: ['Fn', 'Queue'],
        remove: noop,
      },
      {
        logicalId: 'Table',
        type: 'AWS::DynamoDB::Table',
        dependsOn: [],
        deletionPolicy: 'Retain',
        remove: noop,
      },
      { logicalId: 'Logs', type: 'AWS::Logs::LogGroup', dependsOn: [], remove: 'not-created' },
    ]);
    const { StackId } = (await cfn.send(new DescribeStacksCommand({ StackName: 'order' }))).Stacks?.[0] ?? {};
    const t0 = cloud.clock.now();
    await cfn.send(new DeleteStackCommand({ StackName: 'order' }));
    const during = await cfn.send(new DescribeStacksCommand({ StackName: 'order' }));
    expect(during.Stacks?.[0]?.StackStatus).toBe('DELETE_IN_PROGRESS');
    expect(deleted).toEqual([]);

    await cloud.clock.advance(DELETE_STEP_MS);
    expect(deleted.map((d) => d.id)).toEqual(['Mapping']);
    await cloud.clock.advance(DELETE_STEP_MS);
    expect(deleted.map((d) => d.id)).toEqual(['Mapping', 'Fn']);
    await cloud.clock.advance(DELETE_STEP_MS);
    expect(deleted.map((d) => d.id).sort()).toEqual(['Fn', 'Mapping', 'Queue', 'Role']);
    expect(deleted.map((d) => d.at - t0)).toEqual([1, 2, 3, 3].map((n) => n * DELETE_STEP_MS));

    const all = await events(StackId as string);
    const of = (id: string) => all.filter((e) => e.LogicalResourceId === id).map((e) => e.ResourceStatus);
    expect(of('order')).toEqual(['DELETE_IN_PROGRESS', 'DELETE_COMPLETE']);
    expect(of('Fn')).toEqual(['DELETE_IN_PROGRESS', 'DELETE_COMPLETE']);
    expect(of('Table')).toEqual(['DELETE_IN_PROGRESS', 'DELETE_SKIPPED']);
    expect(
      all.find((e) => e.LogicalResourceId === 'Logs' && e.ResourceStatus === 'DELETE_COMPLETE'),
    ).toMatchObject({
      ResourceStatusReason: 'AWS::Logs::LogGroup is not simulated locally: nothing was created',
    });
    expect(all.at(-1)).toMatchObject({
      ResourceType: 'AWS::CloudFormation::Stack',
      ResourceStatus: 'DELETE_COMPLETE',
    });

    // By name the stack is gone; by its id it is DELETE_COMPLETE, as in CloudFormation.
    expect(await validationMessage(cfn.send(new DescribeStacksCommand({ StackName: 'order' })))).toBe(
      'Stack with id order does not exist',
    );
    expect(await validationMessage(cfn.send(new DescribeStackEventsCommand({ StackName: 'order' })))).toBe(
      'Stack [order] does not exist',
    );
    const byId = await cfn.send(new DescribeStacksCommand({ StackName: StackId }));
    expect(byId.Stacks?.[0]).toMatchObject({
      StackStatus: 'DELETE_COMPLETE',
      DeletionTime: expect.any(Date),
    });
    // Deleting it again does nothing and succeeds.
    await cfn.send(new DeleteStackCommand({ StackName: 'order' }));
  });

  it('fails the stack on a resource the local cloud holds but cannot delete, naming it, and keeps what it refers to', async () => {
    const deleted = stack('stuck', [
      { logicalId: 'Topic', type: 'AWS::SNS::Topic', dependsOn: [], remove: () => {} },
      { logicalId: 'Thing', type: 'AWS::Custom::Thing', dependsOn: ['Topic'] },
      {
        logicalId: 'Broken',
        type: 'AWS::SQS::Queue',
        dependsOn: [],
        remove: () => {
          throw new Error('queue is busy');
        },
      },
    ]);
    await cfn.send(new DeleteStackCommand({ StackName: 'stuck' }));
    await cloud.clock.advance(5 * DELETE_STEP_MS);
    const s = (await cfn.send(new DescribeStacksCommand({ StackName: 'stuck' }))).Stacks?.[0];
    expect(s?.StackStatus).toBe('DELETE_FAILED');
    expect(s?.StackStatusReason).toBe('The following resource(s) failed to delete: [Thing, Broken]. ');
    const failed = (await events('stuck')).filter((e) => e.ResourceStatus === 'DELETE_FAILED');
    expect(failed.map((e) => [e.LogicalResourceId, e.ResourceStatusReason])).toEqual([
      ['Thing', 'the local cloud cannot delete a resource of type AWS::Custom::Thing'],
      ['Broken', 'queue is busy'],
      ['stuck', 'The following resource(s) failed to delete: [Thing, Broken]. '],
    ]);
    expect(deleted.map((d) => d.id)).toEqual(['Broken']);
    const topic = await cfn.send(
      new DescribeStackResourceCommand({ StackName: 'stuck', LogicalResourceId: 'Topic' }),
    );
    expect(topic.StackResourceDetail).toMatchObject({
      ResourceStatus: 'CREATE_COMPLETE',
      PhysicalResourceId: 'stuck-Topic',
    });
  });

  it('refuses a stack with termination protection', async () => {
    putStack(cloud.aws.edge.world, ACCOUNT, REGION, {
      stackName: 'guarded',
      outputs: [],
      terminationProtection: true,
    });
    const s = (await cfn.send(new DescribeStacksCommand({ StackName: 'guarded' }))).Stacks?.[0];
    expect(s?.EnableTerminationProtection).toBe(true);
    expect(await validationMessage(cfn.send(new DeleteStackCommand({ StackName: 'guarded' })))).toBe(
      'Stack [guarded] cannot be deleted while TerminationProtection is enabled',
    );
  });

  it('answers a missing resource as osls expects, and names a missing StackName', async () => {
    stack('resources', [{ logicalId: 'Queue', type: 'AWS::SQS::Queue', dependsOn: [], remove: () => {} }]);
    expect(
      await validationMessage(
        cfn.send(
          new DescribeStackResourceCommand({
            StackName: 'resources',
            LogicalResourceId: 'ServerlessDeploymentBucket',
          }),
        ),
      ),
    ).toBe('Resource ServerlessDeploymentBucket does not exist for stack resources');
    expect(await validationMessage(cfn.send(new DeleteStackCommand({} as never)))).toMatch(
      /'stackName'.*must not be null/,
    );
  });

  it("ends the SDK's stackDeleteComplete waiter", async () => {
    stack('waited', [{ logicalId: 'Queue', type: 'AWS::SQS::Queue', dependsOn: [], remove: () => {} }]);
    await cfn.send(new DeleteStackCommand({ StackName: 'waited' }));
    const waiting = waitUntilStackDeleteComplete(
      { client: cfn, maxWaitTime: 20, minDelay: 1, maxDelay: 1 },
      { StackName: 'waited' },
    );
    await cloud.clock.advance(2 * DELETE_STEP_MS);
    expect((await waiting).state).toBe('SUCCESS');
  });
});

describe('Lambda DeleteFunction', () => {
  it('deletes the function; $LATEST alone or an unknown version is refused', async () => {
    const lambda = new LambdaClient({
      region: REGION,
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    try {
      lambdaRuntime(cloud.aws.edge.world, ACCOUNT, REGION).register({
        name: 'doomed',
        handler: async () => ({}),
      });
      await expect(
        lambda.send(new DeleteFunctionCommand({ FunctionName: 'doomed', Qualifier: '$LATEST' })),
      ).rejects.toMatchObject({
        name: 'InvalidParameterValueException',
      });
      await expect(
        lambda.send(new DeleteFunctionCommand({ FunctionName: 'doomed', Qualifier: '3' })),
      ).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
      await lambda.send(new DeleteFunctionCommand({ FunctionName: 'doomed' }));
      await expect(lambda.send(new GetFunctionCommand({ FunctionName: 'doomed' }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
      await expect(lambda.send(new DeleteFunctionCommand({ FunctionName: 'doomed' }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
    } finally {
      lambda.destroy();
    }
  });
});
