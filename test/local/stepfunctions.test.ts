/**
 * Step Functions through the edge with the unchanged `@aws-sdk/client-sfn`: state machines, the
 * name idempotency of StartExecution, task tokens (success, failure, timeout, heartbeat timeout),
 * history, stop, and the refusal of definitions outside the subset.
 */
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  UpdateStateMachineCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, putServiceRole, startTestCloud } from '../support/local-cloud.ts';
import { eventually } from '../support/timers.ts';

const ROLE = 'arn:aws:iam::000000000000:role/sfn';
let cloud: LocalCloud;
let sfn: SFNClient;
const tokens: string[] = [];

const approval = (extra: object = {}) =>
  JSON.stringify({
    StartAt: 'Approve',
    States: {
      Approve: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Parameters: { FunctionName: 'notify', Payload: { 'token.$': '$$.Task.Token', 'link.$': '$.link' } },
        Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.expired', Next: 'Expired' }],
        End: true,
        ...extra,
      },
      Expired: { Type: 'Fail', Error: 'Expired', Cause: 'nobody approved in time' },
    },
  });

async function machine(name: string, definition: string): Promise<string> {
  const out = await sfn.send(new CreateStateMachineCommand({ name, definition, roleArn: ROLE }));
  return out.stateMachineArn as string;
}

async function status(executionArn: string) {
  return sfn.send(new DescribeExecutionCommand({ executionArn }));
}

async function waitForToken(count: number): Promise<string> {
  await eventually(() => tokens.length >= count);
  return tokens[count - 1] as string;
}

beforeAll(async () => {
  cloud = await startTestCloud();
  sfn = new SFNClient({ region: 'us-east-1', endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS });
  // The machines' role: Step Functions invokes their Lambda tasks with it.
  await putServiceRole(
    cloud,
    'sfn',
    'states.amazonaws.com',
    ['lambda:InvokeFunction'],
    ['arn:aws:lambda:us-east-1:000000000000:function:notify'],
  );
  lambdaRuntime(cloud.aws.edge.world, '000000000000', 'us-east-1').register({
    name: 'notify',
    handler: (event) => {
      tokens.push((event as { token: string }).token);
      return { notified: true };
    },
  });
});
afterAll(async () => {
  sfn.destroy();
  await cloud.stop();
});

describe('Step Functions API on the local edge', () => {
  it('runs a task-token machine to success with SendTaskSuccess and records AWS-named history', async () => {
    // Prepare
    const arn = await machine('approve-success', approval({ TimeoutSeconds: 3600 }));
    // Act
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, name: 'lk-1-approve-1', input: '{"link":"lk-1"}' }),
    );
    const token = await waitForToken(1);
    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"approvedBy":"bob"}' }));
    // Assess
    await eventually(async () => (await status(executionArn as string)).status === 'SUCCEEDED');
    const d = await status(executionArn as string);
    expect(JSON.parse(d.output as string)).toEqual({ approvedBy: 'bob' });
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(history.events?.map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    expect(history.events?.[0]?.timestamp?.toISOString()).toBe('2026-06-01T00:00:00.000Z');
    // A token answers once; a made-up token is not one of ours.
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
    ).rejects.toMatchObject({ name: 'TaskTimedOut' });
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: 'x'.repeat(100), output: '{}' })),
    ).rejects.toMatchObject({ name: 'InvalidToken' });
  });

  it('fails the execution with the error of SendTaskFailure', async () => {
    const arn = await machine('approve-failure', approval());
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, input: '{"link":"lk-2"}' }),
    );
    const token = await waitForToken(2);
    await sfn.send(
      new SendTaskFailureCommand({ taskToken: token, error: 'Rejected', cause: 'bob rejected' }),
    );
    await eventually(async () => (await status(executionArn as string)).status === 'FAILED');
    expect(await status(executionArn as string)).toMatchObject({ error: 'Rejected', cause: 'bob rejected' });
  });

  it('times a waiting task out on the virtual clock and catches States.Timeout', async () => {
    const arn = await machine('approve-timeout', approval({ TimeoutSeconds: 86_400 }));
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, input: '{"link":"lk-3"}' }),
    );
    const token = await waitForToken(3);
    await cloud.clock.advance(86_399_000);
    expect((await status(executionArn as string)).status).toBe('RUNNING');
    await cloud.clock.advance(1_000);
    await eventually(async () => (await status(executionArn as string)).status === 'FAILED');
    expect(await status(executionArn as string)).toMatchObject({ error: 'Expired' });
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    const timedOut = history.events?.find((e) => e.type === 'TaskTimedOut');
    expect(timedOut?.taskTimedOutEventDetails).toMatchObject({
      error: 'States.Timeout',
      resourceType: 'lambda',
    });
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
    ).rejects.toMatchObject({ name: 'TaskTimedOut' });
  });

  it('keeps a task alive with SendTaskHeartbeat and times it out when heartbeats stop', async () => {
    const arn = await machine('approve-heartbeat', approval({ TimeoutSeconds: 3600, HeartbeatSeconds: 300 }));
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, input: '{"link":"lk-4"}' }),
    );
    const token = await waitForToken(4);
    for (let i = 0; i < 3; i++) {
      await cloud.clock.advance(240_000);
      await sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    }
    expect((await status(executionArn as string)).status).toBe('RUNNING');
    await cloud.clock.advance(300_000);
    await eventually(async () => (await status(executionArn as string)).status === 'FAILED');
    expect(await status(executionArn as string)).toMatchObject({ error: 'States.HeartbeatTimeout' });
  });

  it('applies StartExecution name idempotency as AWS documents it', async () => {
    const arn = await machine('idempotent', approval());
    const first = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, name: 'lk-5-provision-1', input: '{"link":"lk-5"}' }),
    );
    const again = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, name: 'lk-5-provision-1', input: '{"link":"lk-5"}' }),
    );
    expect(again.executionArn).toBe(first.executionArn);
    await expect(
      sfn.send(
        new StartExecutionCommand({
          stateMachineArn: arn,
          name: 'lk-5-provision-1',
          input: '{"link":"other"}',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    const list = await sfn.send(new ListExecutionsCommand({ stateMachineArn: arn }));
    expect(list.executions).toHaveLength(1);
    // Once it has ended, even the same input is refused: names are reserved.
    await sfn.send(
      new StopExecutionCommand({ executionArn: first.executionArn, error: 'Stopped', cause: 'test' }),
    );
    expect((await status(first.executionArn as string)).status).toBe('ABORTED');
    await expect(
      sfn.send(
        new StartExecutionCommand({
          stateMachineArn: arn,
          name: 'lk-5-provision-1',
          input: '{"link":"lk-5"}',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
  });

  it('refuses a definition outside the subset at CreateStateMachine, naming the state', async () => {
    const definition = JSON.stringify({
      StartAt: 'Send',
      States: {
        Send: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sqs:sendMessage',
          Parameters: { QueueUrl: 'q', MessageBody: 'x' },
          End: true,
        },
      },
    });
    await expect(
      sfn.send(new CreateStateMachineCommand({ name: 'bad', definition, roleArn: ROLE })),
    ).rejects.toMatchObject({
      name: 'InvalidDefinition',
      message: expect.stringContaining("state 'Send'"),
    });
  });

  it('describes and updates a machine; a running execution keeps the definition it started with', async () => {
    const arn = await machine(
      'versioned',
      JSON.stringify({
        StartAt: 'W',
        States: { W: { Type: 'Wait', Seconds: 60, Next: 'P' }, P: { Type: 'Pass', Result: 'v1', End: true } },
      }),
    );
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn }));
    await sfn.send(
      new UpdateStateMachineCommand({
        stateMachineArn: arn,
        definition: JSON.stringify({
          StartAt: 'P',
          States: { P: { Type: 'Pass', Result: 'v2', End: true } },
        }),
      }),
    );
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
    expect(described.definition).toContain('v2');
    await cloud.clock.advance(60_000);
    await eventually(async () => (await status(executionArn as string)).status === 'SUCCEEDED');
    expect((await status(executionArn as string)).output).toBe('"v1"');
  });

  it('answers unknown executions with ExecutionDoesNotExist', async () => {
    await expect(
      sfn.send(
        new DescribeExecutionCommand({
          executionArn: 'arn:aws:states:us-east-1:000000000000:execution:nope:nope',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
  });
});
