/** `crosslink sim sfn ...` and `crosslink sim events test-pattern`, run in-process as the bin does. */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { LocalCloud } from '#local/index.ts';
import { main } from '#scripts/cli/main.ts';
import { ADMIN_CREDENTIALS, putServiceRole, startTestCloud } from '../support/local-cloud.ts';
import { eventually } from '../support/timers.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const asl = join(repo, 'test/fixtures/asl');

async function cli(args: string[], cwd = repo) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd, env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('crosslink sim sfn run', () => {
  it('runs every state type in-process, a day of Wait and the retries taking no wall time', async () => {
    const started = Date.now();
    const r = await cli([
      'sim',
      'sfn',
      'run',
      join(asl, 'every-state.asl.json'),
      '--input',
      '{"linkId":"lk-1"}',
      '--task',
      `Provision=${join(asl, 'tasks.mjs')}`,
    ]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ID\s+TIME\s+TYPE\s+DETAIL/);
    for (const t of [
      'WaitStateEntered',
      'TaskFailed',
      'TaskSucceeded',
      'ParallelStateSucceeded',
      'MapIterationSucceeded',
      'ChoiceStateExited',
      'SucceedStateEntered',
    ]) {
      expect(r.out).toContain(t);
    }
    expect(r.out).toContain('status: SUCCEEDED');
    const output = JSON.parse((r.out.split('\n').find((l) => l.startsWith('output: ')) as string).slice(8));
    expect(output.provisioned).toEqual({ connectionId: 'mcc-lk-1' });
    expect(output.fanned).toEqual([[1, 2, 3], { connectionId: 'mcc-lk-1' }]);
  });

  it('--json prints the execution with its history; a failing run exits 1', async () => {
    const r = await cli([
      'sim',
      'sfn',
      'run',
      join(asl, 'every-state.asl.json'),
      '--input',
      '{"linkId":"lk-2"}',
      '--json',
    ]);
    expect(r.code).toBe(1);
    const body = JSON.parse(r.out);
    // No --task for Provision: the function does not exist, the Catch sends it to Failed.
    expect(body).toMatchObject({ status: 'FAILED', error: 'ProvisioningFailed' });
    expect(body.history[0].type).toBe('ExecutionStarted');
  });

  it('refuses a definition outside the subset, naming the state, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crosslink-asl-'));
    const file = join(dir, 'bad.asl.json');
    writeFileSync(
      file,
      JSON.stringify({
        StartAt: 'Q',
        States: { Q: { Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage', End: true } },
      }),
    );
    const r = await cli(['sim', 'sfn', 'run', file]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("state 'Q': Resource");
  });
});

describe('crosslink sim events test-pattern', () => {
  const event = JSON.stringify({ source: 'aws.interconnect', detail: { eventName: 'CreateConnection' } });
  it('says match or no match, and refuses an invalid pattern', async () => {
    expect(
      await cli(['sim', 'events', 'test-pattern', '{"detail":{"eventName":[{"prefix":"Create"}]}}', event]),
    ).toMatchObject({ code: 0, out: 'match' });
    expect(await cli(['sim', 'events', 'test-pattern', '{"source":["aws.ec2"]}', event])).toMatchObject({
      code: 0,
      out: 'no match',
    });
    const bad = await cli(['sim', 'events', 'test-pattern', '{"source":"aws.ec2"}', event]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('InvalidEventPatternException');
  });
});

describe('crosslink sim sfn send-success|send-failure against the local cloud', () => {
  let cloud: LocalCloud;
  let home: string;
  let sfn: SFNClient;
  const tokens: string[] = [];
  beforeAll(async () => {
    cloud = await startTestCloud();
    home = mkdtempSync(join(tmpdir(), 'crosslink-home-'));
    mkdirSync(join(home, 'config'));
    mkdirSync(join(home, '.crosslink'));
    for (const f of ['local-identities.yaml']) cpSync(join(repo, 'config', f), join(home, 'config', f));
    writeFileSync(join(home, '.crosslink', 'local.json'), JSON.stringify(cloud.handshake()));
    sfn = new SFNClient({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    lambdaRuntime(cloud.aws.edge.world, '000000000000', 'us-east-1').register({
      name: 'ask',
      handler: (e) => {
        tokens.push((e as { token: string }).token);
        return {};
      },
    });
  });
  afterAll(async () => {
    sfn.destroy();
    await cloud.stop();
  });

  it('answers a waiting task; an unknown token exits 4', async () => {
    // The machine's role: Step Functions invokes its task with it.
    await putServiceRole(cloud, 'r', 'states.amazonaws.com', ['lambda:InvokeFunction']);
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: 'ask',
        roleArn: 'arn:aws:iam::000000000000:role/r',
        definition: JSON.stringify({
          StartAt: 'Ask',
          States: {
            Ask: {
              Type: 'Task',
              Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
              Parameters: { FunctionName: 'ask', Payload: { 'token.$': '$$.Task.Token' } },
              End: true,
            },
          },
        }),
      }),
    );
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn }));
    await eventually(() => tokens.length === 1);
    // As the account's root: bob's grants reach the intake only, not Step Functions.
    const r = await cli(
      ['sim', 'sfn', 'send-success', tokens[0] as string, '--output', '{"approved":true}', '--as', 'admin'],
      home,
    );
    expect(r).toMatchObject({ code: 0, out: 'task answered (success)' });
    await eventually(
      async () => (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status === 'SUCCEEDED',
    );
    const unknown = await cli(['sim', 'sfn', 'send-failure', 'not-a-token', '--error', 'X'], home);
    expect(unknown.code).toBe(4);
    expect(unknown.err).toContain('InvalidToken');
  });
});
