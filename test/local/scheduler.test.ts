/**
 * EventBridge Scheduler on the local edge with the real @aws-sdk/client-scheduler: schedule
 * expressions in a time zone (daylight saving time included), the schedule and group API and its
 * validation naming the member, IAM on the API (scheduler:* on the schedule's ARN, iam:PassRole of
 * its role), firing on the manual clock into Step Functions, EventBridge and Lambda targets with
 * the context attributes, the execution role's trust and grants (a refusal is retried under the
 * RetryPolicy, counted and dead-lettered), flexible windows, the action after completion, and
 * `AWS::Scheduler::Schedule` / `ScheduleGroup` from a CloudFormation template.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  DeleteScheduleGroupCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSchedulerExpression } from '#local/aws/scheduler/expressions.ts';
import { eventsOf } from '#local/aws/services/events.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import { schedulerOf } from '#local/aws/services/scheduler.ts';
import { loadTemplate } from '#local/aws/wiring.ts';
import type { LocalCloud } from '#local/index.ts';
import { eventually } from '../helpers/timers.ts';
import {
  ADMIN_CREDENTIALS,
  ALICE_CREDENTIALS,
  admin,
  putServiceRole,
  startTestCloud,
} from '../support/local-cloud.ts';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const MIN = 60_000;
let cloud: LocalCloud;
let scheduler: SchedulerClient;
let sfn: SFNClient;
let sqs: SQSClient;
let machineArn: string;

const config = (credentials: { accessKeyId: string; secretAccessKey: string } = ADMIN_CREDENTIALS) => ({
  region: REGION,
  endpoint: cloud.aws.endpoint,
  credentials,
});
const world = () => cloud.aws.edge.world;
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const executions = async () =>
  (await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn }))).executions ?? [];

/** A role the Scheduler may assume (or, with `trusted` false, one that trusts another service). */
async function schedulerRole(name: string, actions: string[], resources = ['*'], trusted = true) {
  return putServiceRole(
    cloud,
    name,
    trusted ? 'scheduler.amazonaws.com' : 'events.amazonaws.com',
    actions,
    resources,
  );
}

function schedule(name: string, over: Partial<CreateScheduleCommandInput> = {}): CreateScheduleCommandInput {
  return {
    Name: name,
    ScheduleExpression: 'rate(1 hour)',
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: { Arn: machineArn, RoleArn: `arn:aws:iam::${ACCOUNT}:role/none`, Input: '{}' },
    ...over,
  };
}

/** The message of a refused call (its error name and message). */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
  throw new Error('the call was not refused');
}

beforeAll(async () => {
  cloud = await startTestCloud();
  scheduler = new SchedulerClient(config());
  sfn = new SFNClient(config());
  sqs = new SQSClient(config());
  const out = await sfn.send(
    new CreateStateMachineCommand({
      name: 'vpn-run',
      roleArn: `arn:aws:iam::${ACCOUNT}:role/sfn`,
      definition: JSON.stringify({ StartAt: 'P', States: { P: { Type: 'Pass', End: true } } }),
    }),
  );
  machineArn = out.stateMachineArn as string;
});
afterAll(async () => {
  for (const c of [scheduler, sfn, sqs]) c.destroy();
  await lambdaRuntime(world(), ACCOUNT, REGION).close();
  await cloud.stop();
});

describe('Scheduler expressions', () => {
  const next = (expression: string, from: string, more: { timezone?: string; startDate?: string } = {}) =>
    iso(
      parseSchedulerExpression({
        expression,
        timezone: more.timezone,
        startDate: more.startDate === undefined ? undefined : Date.parse(more.startDate),
        anchor: Date.parse('2026-03-01T00:00:00Z'),
      }).next(Date.parse(from)),
    );

  it('reads at() in its time zone, and runs it once', () => {
    expect(next('at(2026-07-01T09:30:00)', '2026-06-01T00:00:00Z', { timezone: 'Europe/Paris' })).toBe(
      '2026-07-01T07:30:00.000Z',
    );
    expect(
      next('at(2026-07-01T09:30:00)', '2026-07-01T07:30:01Z', { timezone: 'Europe/Paris' }),
    ).toBeUndefined();
  });

  it('starts a rate at its StartDate, or at once without one', () => {
    expect(next('rate(6 hours)', '2026-03-01T00:00:00Z')).toBe('2026-03-01T00:00:00.000Z');
    expect(next('rate(6 hours)', '2026-03-01T00:00:01Z')).toBe('2026-03-01T06:00:00.000Z');
    expect(next('rate(1 day)', '2026-03-01T00:00:00Z', { startDate: '2026-03-10T04:00:00Z' })).toBe(
      '2026-03-10T04:00:00.000Z',
    );
  });

  it('runs cron at wall-clock times in the zone: the skipped hour is skipped, the repeated one runs once', () => {
    const ny = { timezone: 'America/New_York' };
    // 02:30 on 2026-03-08 does not exist in New York (clocks go 02:00 -> 03:00).
    expect(next('cron(30 2 * * ? *)', '2026-03-08T06:00:00Z', ny)).toBe('2026-03-09T06:30:00.000Z');
    expect(next('cron(0 9 ? * MON-FRI *)', '2026-03-06T15:00:00Z', ny)).toBe('2026-03-09T13:00:00.000Z');
    // 01:30 on 2026-11-01 happens twice (EDT, then EST): once, at the first.
    expect(next('cron(30 1 * * ? *)', '2026-11-01T04:00:00Z', ny)).toBe('2026-11-01T05:30:00.000Z');
    expect(next('cron(30 1 * * ? *)', '2026-11-01T05:30:01Z', ny)).toBe('2026-11-02T06:30:00.000Z');
  });
});

describe('the Scheduler API', () => {
  it('creates, reads, lists, updates and deletes a schedule in the default group', async () => {
    const role = await schedulerRole('sched-api', ['states:StartExecution'], [machineArn]);
    const created = await scheduler.send(
      new CreateScheduleCommand(
        schedule('nightly', {
          ScheduleExpression: 'cron(0 2 * * ? *)',
          ScheduleExpressionTimezone: 'Europe/London',
          State: 'DISABLED',
          Target: { Arn: machineArn, RoleArn: role },
        }),
      ),
    );
    expect(created.ScheduleArn).toBe(`arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/default/nightly`);
    const got = await scheduler.send(new GetScheduleCommand({ Name: 'nightly' }));
    expect(got).toMatchObject({
      GroupName: 'default',
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/London',
      State: 'DISABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'NONE',
      Target: { Arn: machineArn, RoleArn: role },
    });
    expect(got.CreationDate).toBeInstanceOf(Date);
    expect(
      await refusal(
        scheduler.send(
          new CreateScheduleCommand(schedule('nightly', { Target: { Arn: machineArn, RoleArn: role } })),
        ),
      ),
    ).toMatch(/^ConflictException: Schedule nightly already exists/);
    await scheduler.send(
      new UpdateScheduleCommand({
        Name: 'nightly',
        ScheduleExpression: 'rate(2 hours)',
        FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
        State: 'DISABLED',
        Target: { Arn: machineArn, RoleArn: role },
      }),
    );
    const listed = await scheduler.send(new ListSchedulesCommand({ NamePrefix: 'night' }));
    expect(listed.Schedules?.map((s) => [s.Name, s.State, s.Target?.Arn])).toEqual([
      ['nightly', 'DISABLED', machineArn],
    ]);
    expect((await scheduler.send(new GetScheduleCommand({ Name: 'nightly' }))).FlexibleTimeWindow).toEqual({
      Mode: 'FLEXIBLE',
      MaximumWindowInMinutes: 15,
    });
    await scheduler.send(new DeleteScheduleCommand({ Name: 'nightly' }));
    expect(await refusal(scheduler.send(new GetScheduleCommand({ Name: 'nightly' })))).toMatch(
      /^ResourceNotFoundException: Schedule nightly does not exist/,
    );
  });

  it('refuses a bad field with a ValidationException naming it', async () => {
    const role = `arn:aws:iam::${ACCOUNT}:role/sched-api`;
    const target = { Arn: machineArn, RoleArn: role };
    const cases: [Partial<CreateScheduleCommandInput>, RegExp][] = [
      [
        { Name: 'bad name!' },
        /at 'Name' failed to satisfy constraint: Member must satisfy regular expression pattern/,
      ],
      [{ ScheduleExpression: 'rate(0 minutes)' }, /Invalid Schedule Expression rate\(0 minutes\)/],
      [{ ScheduleExpression: 'every day' }, /Invalid Schedule Expression every day/],
      [
        { ScheduleExpression: 'at(2020-01-01T00:00:00)' },
        /at\(2020-01-01T00:00:00\): the time is in the past/,
      ],
      [{ ScheduleExpressionTimezone: 'Mars/Olympus' }, /ScheduleExpressionTimezone 'Mars\/Olympus'/],
      [{ FlexibleTimeWindow: { Mode: 'FLEXIBLE' } }, /FlexibleTimeWindow.MaximumWindowInMinutes is required/],
      [
        { FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 2000 } },
        /at 'FlexibleTimeWindow.MaximumWindowInMinutes'/,
      ],
      [{ Target: { ...target, RoleArn: 'not-an-arn' } }, /at 'Target.RoleArn' failed to satisfy constraint/],
      [
        { Target: { ...target, RetryPolicy: { MaximumRetryAttempts: 200 } } },
        /at 'Target.RetryPolicy.MaximumRetryAttempts'/,
      ],
      [
        { Target: { ...target, Arn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default` } },
        /Target.EventBridgeParameters is required/,
      ],
      [
        { Target: { ...target, Arn: 'arn:aws:scheduler:::aws-sdk:sqs:sendMessage' } },
        /Target.Arn .* is not a target the local Scheduler invokes/,
      ],
      [
        { StartDate: new Date('2026-07-01T00:00:00Z'), EndDate: new Date('2026-06-30T00:00:00Z') },
        /EndDate must be after the StartDate/,
      ],
    ];
    for (const [over, message] of cases) {
      const why = await refusal(
        scheduler.send(new CreateScheduleCommand(schedule('bad', { Target: target, ...over }))),
      );
      expect(why, JSON.stringify(over)).toMatch(/^ValidationException: /);
      expect(why, JSON.stringify(over)).toMatch(message);
    }
    expect(
      await refusal(
        scheduler.send(new CreateScheduleCommand(schedule('bad', { Target: target, GroupName: 'nope' }))),
      ),
    ).toMatch(/^ResourceNotFoundException: Schedule group nope does not exist/);
    expect(await refusal(scheduler.send(new DeleteScheduleGroupCommand({ Name: 'default' })))).toMatch(
      /^ValidationException/,
    );
  });

  it('authorizes scheduler:* on the schedule and iam:PassRole of its role', async () => {
    const alice = new SchedulerClient(config(ALICE_CREDENTIALS));
    try {
      expect(await refusal(alice.send(new GetScheduleCommand({ Name: 'x', GroupName: 'ops' })))).toMatch(
        new RegExp(
          `^AccessDeniedException: .*scheduler:GetSchedule on resource: arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/ops/x`,
        ),
      );
    } finally {
      alice.destroy();
    }
    // A session that may create schedules: without iam:PassRole of the execution role, refused.
    const execution = await schedulerRole('sched-passed', ['states:StartExecution'], [machineArn]);
    const creator = async (roleName: string, actions: string[]) => {
      await admin(cloud, 'POST', '/aws/sts/put-role', {
        accountId: ACCOUNT,
        roleName,
        trustPolicy: {
          Version: '2012-10-17',
          Statement: {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
            Action: 'sts:AssumeRole',
          },
        },
        policies: {
          p: { Version: '2012-10-17', Statement: { Effect: 'Allow', Action: actions, Resource: '*' } },
        },
      });
      const sts = new STSClient(config());
      try {
        const { Credentials: c } = await sts.send(
          new AssumeRoleCommand({
            RoleArn: `arn:aws:iam::${ACCOUNT}:role/${roleName}`,
            RoleSessionName: 'deployer',
          }),
        );
        return new SchedulerClient(
          config({
            accessKeyId: c?.AccessKeyId as string,
            secretAccessKey: c?.SecretAccessKey as string,
            sessionToken: c?.SessionToken as string,
          } as { accessKeyId: string; secretAccessKey: string }),
        );
      } finally {
        sts.destroy();
      }
    };
    const noPass = await creator('sched-creator', ['scheduler:CreateSchedule']);
    const withPass = await creator('sched-deployer', ['scheduler:CreateSchedule', 'iam:PassRole']);
    try {
      const request = schedule('passed', {
        State: 'DISABLED',
        Target: { Arn: machineArn, RoleArn: execution },
      });
      expect(await refusal(noPass.send(new CreateScheduleCommand(request)))).toMatch(
        new RegExp(`AccessDenied.*iam:PassRole.*${execution}`),
      );
      expect((await withPass.send(new CreateScheduleCommand(request))).ScheduleArn).toMatch(
        /schedule\/default\/passed$/,
      );
    } finally {
      noPass.destroy();
      withPass.destroy();
    }
    await scheduler.send(new DeleteScheduleCommand({ Name: 'passed' }));
  });
});

describe('firing on the manual clock', () => {
  it('starts the state machine at each scheduled time, with the context attributes in its input', async () => {
    const role = await schedulerRole('sched-run', ['states:StartExecution'], [machineArn]);
    const now = cloud.clock.now();
    const start = new Date(now + 10 * MIN);
    await scheduler.send(
      new CreateScheduleCommand(
        schedule('vpn-run', {
          ScheduleExpression: 'rate(1 day)',
          StartDate: start,
          Target: {
            Arn: machineArn,
            RoleArn: role,
            Input:
              '{"scheduledTime":"<aws.scheduler.scheduled-time>","schedule":"<aws.scheduler.schedule-arn>","attempt":"<aws.scheduler.attempt-number>"}',
          },
        }),
      ),
    );
    const before = (await executions()).length;
    await cloud.clock.advance(9 * MIN);
    expect((await executions()).length).toBe(before);
    await cloud.clock.advance(MIN);
    await eventually(async () => (await executions()).length === before + 1);
    const [latest] = await executions();
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: latest?.executionArn }));
    expect(JSON.parse(described.input as string)).toEqual({
      scheduledTime: start.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      schedule: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/default/vpn-run`,
      attempt: '1',
    });
    await cloud.clock.advance(24 * 60 * MIN);
    await eventually(async () => (await executions()).length === before + 2);
    expect(schedulerOf(world(), ACCOUNT, REGION).schedules.get('default/vpn-run')?.counts).toMatchObject({
      InvocationAttemptCount: 2,
      Delivered: 2,
      TargetErrorCount: 0,
    });
    await scheduler.send(new DeleteScheduleCommand({ Name: 'vpn-run' }));
  });

  it('refuses an invocation the execution role may not make, retries it, counts it and dead-letters it', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'sched-dlq' }));
    const dlqArn = `arn:aws:sqs:${REGION}:${ACCOUNT}:sched-dlq`;
    // The role may send to its dead-letter queue, but not start the state machine.
    const role = await schedulerRole('sched-no-grant', ['sqs:SendMessage'], [dlqArn]);
    const before = (await executions()).length;
    await scheduler.send(
      new CreateScheduleCommand(
        schedule('no-grant', {
          ScheduleExpression: `at(${new Date(cloud.clock.now() + 5 * MIN).toISOString().slice(0, 19)})`,
          Target: {
            Arn: machineArn,
            RoleArn: role,
            Input: '{"run":"x"}',
            RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
            DeadLetterConfig: { Arn: dlqArn },
          },
        }),
      ),
    );
    await cloud.clock.advance(5 * MIN);
    await cloud.clock.advance(MIN);
    const state = schedulerOf(world(), ACCOUNT, REGION);
    await eventually(() => state.invocations.some((i) => i.schedule === 'default/no-grant'));
    const outcome = state.invocations.find((i) => i.schedule === 'default/no-grant');
    expect(outcome).toMatchObject({ outcome: 'dead-lettered', attempts: 3 });
    expect(outcome?.error).toMatch(/states:StartExecution/);
    expect((await executions()).length).toBe(before);
    const counts = state.schedules.get('default/no-grant')?.counts;
    expect(counts).toMatchObject({
      InvocationAttemptCount: 3,
      TargetErrorCount: 3,
      InvocationsSentToDeadLetterCount: 1,
    });
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MessageAttributeNames: ['All'] }),
    );
    expect(Messages?.[0]?.Body).toBe('{"run":"x"}');
    expect(Messages?.[0]?.MessageAttributes?.SCHEDULE_ARN?.StringValue).toBe(
      `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/default/no-grant`,
    );
    expect(Messages?.[0]?.MessageAttributes?.EXHAUSTED_RETRY_CONDITION?.StringValue).toBe(
      'MaximumRetryAttempts',
    );
  });

  it('does not invoke through a role that does not trust scheduler.amazonaws.com', async () => {
    const role = await schedulerRole('events-only', ['states:StartExecution'], [machineArn], false);
    const before = (await executions()).length;
    await scheduler.send(
      new CreateScheduleCommand(
        schedule('untrusted', {
          ScheduleExpression: 'rate(5 minutes)',
          Target: { Arn: machineArn, RoleArn: role, RetryPolicy: { MaximumRetryAttempts: 0 } },
        }),
      ),
    );
    await cloud.clock.advance(MIN);
    const state = schedulerOf(world(), ACCOUNT, REGION);
    await eventually(() => state.invocations.some((i) => i.schedule === 'default/untrusted'));
    expect(state.invocations.find((i) => i.schedule === 'default/untrusted')).toMatchObject({
      outcome: 'dropped',
    });
    expect(state.invocations.find((i) => i.schedule === 'default/untrusted')?.error).toMatch(
      /sts:AssumeRole/,
    );
    expect(state.schedules.get('default/untrusted')?.counts.InvocationDroppedCount).toBe(1);
    expect((await executions()).length).toBe(before);
    await scheduler.send(new DeleteScheduleCommand({ Name: 'untrusted' }));
  });

  it('puts events on a bus and invokes a Lambda function, then deletes a completed one-time schedule', async () => {
    const eb = new EventBridgeClient(config());
    try {
      await eb.send(new CreateEventBusCommand({ Name: 'sched-bus' }));
    } finally {
      eb.destroy();
    }
    const busArn = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/sched-bus`;
    const calls: unknown[] = [];
    lambdaRuntime(world(), ACCOUNT, REGION).register({
      name: 'sched-fn',
      handler: (event) => void calls.push(event),
    });
    const fnArn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:sched-fn`;
    const role = await schedulerRole(
      'sched-targets',
      ['events:PutEvents', 'lambda:InvokeFunction'],
      [busArn, fnArn],
    );
    const at = `at(${new Date(cloud.clock.now() + 3 * MIN).toISOString().slice(0, 19)})`;
    await scheduler.send(new CreateScheduleGroupCommand({ Name: 'ops' }));
    await scheduler.send(
      new CreateScheduleCommand(
        schedule('to-bus', {
          GroupName: 'ops',
          ScheduleExpression: at,
          ActionAfterCompletion: 'DELETE',
          Target: {
            Arn: busArn,
            RoleArn: role,
            Input: '{"runId":"vpn-local-<aws.scheduler.scheduled-time>"}',
            EventBridgeParameters: { Source: 'crosslink', DetailType: 'VpnRunScheduled' },
          },
        }),
      ),
    );
    await scheduler.send(
      new CreateScheduleCommand(
        schedule('to-fn', {
          GroupName: 'ops',
          ScheduleExpression: at,
          Target: { Arn: fnArn, RoleArn: role, Input: '{"hello":"fn"}' },
        }),
      ),
    );
    await cloud.clock.advance(3 * MIN);
    await eventually(() => calls.length === 1);
    expect(calls[0]).toEqual({ hello: 'fn' });
    const event = eventsOf(world(), ACCOUNT, REGION).recent.find(
      (e) => (e as { 'detail-type': string })['detail-type'] === 'VpnRunScheduled',
    ) as { source: string; detail: unknown } | undefined;
    expect(event?.source).toBe('crosslink');
    expect(event?.detail).toEqual({
      runId: `vpn-local-${new Date(cloud.clock.now()).toISOString().slice(0, 19)}Z`,
    });
    // ActionAfterCompletion DELETE removed the one-time schedule; NONE kept the other.
    const names = (await scheduler.send(new ListSchedulesCommand({ GroupName: 'ops' }))).Schedules?.map(
      (s) => s.Name,
    );
    expect(names).toEqual(['to-fn']);
    await scheduler.send(new DeleteScheduleGroupCommand({ Name: 'ops' }));
    expect((await scheduler.send(new ListSchedulesCommand({ GroupName: 'ops' }))).Schedules).toEqual([]);
  });
});

describe('AWS::Scheduler::Schedule from a template', () => {
  it('creates the group and the schedule, with Ref the name and GetAtt Arn the ARN, and fires it', async () => {
    const role = await schedulerRole('sched-cfn', ['states:StartExecution'], [machineArn]);
    const dir = mkdtempSync(join(tmpdir(), 'crosslink-scheduler-'));
    mkdirSync(join(dir, '.serverless'));
    writeFileSync(
      join(dir, '.serverless', 'serverless-state.json'),
      JSON.stringify({ service: { service: 'sched', provider: { stage: 'test' } } }),
    );
    writeFileSync(
      join(dir, '.serverless', 'cloudformation-template-update-stack.json'),
      JSON.stringify({
        Resources: {
          RunGroup: { Type: 'AWS::Scheduler::ScheduleGroup', Properties: { Name: 'crosslink-test' } },
          RunSchedule: {
            Type: 'AWS::Scheduler::Schedule',
            Properties: {
              GroupName: { Ref: 'RunGroup' },
              ScheduleExpression: 'cron(0 3 * * ? *)',
              ScheduleExpressionTimezone: 'UTC',
              StartDate: new Date(cloud.clock.now()).toISOString(),
              FlexibleTimeWindow: { Mode: 'OFF' },
              Target: { Arn: machineArn, RoleArn: role, Input: '{"at":"<aws.scheduler.scheduled-time>"}' },
            },
          },
        },
        Outputs: {
          ScheduleName: { Value: { Ref: 'RunSchedule' } },
          ScheduleArn: { Value: { 'Fn::GetAtt': ['RunSchedule', 'Arn'] } },
          GroupArn: { Value: { 'Fn::GetAtt': ['RunGroup', 'Arn'] } },
        },
      }),
    );
    const stack = await loadTemplate(world(), {
      serviceDir: dir,
      accountId: ACCOUNT,
      region: REGION,
      endpoint: cloud.aws.endpoint,
    });
    const out = Object.fromEntries(stack.outputs.map((o) => [o.OutputKey, o.OutputValue]));
    expect(out).toEqual({
      ScheduleName: 'sched-test-RunSchedule',
      ScheduleArn: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule/crosslink-test/sched-test-RunSchedule`,
      GroupArn: `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule-group/crosslink-test`,
    });
    const got = await scheduler.send(
      new GetScheduleCommand({ Name: 'sched-test-RunSchedule', GroupName: 'crosslink-test' }),
    );
    expect(got.Arn).toBe(out.ScheduleArn);
    const before = (await executions()).length;
    await cloud.clock.advance(24 * 60 * MIN);
    await eventually(async () => (await executions()).length === before + 1);
  });
});
