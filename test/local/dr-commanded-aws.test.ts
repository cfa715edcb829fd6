/**
 * AWS's commanded side of the ledger plan (Google executes it: its Cloud DNS failover policy) on the
 * local cloud with IAM enforced. Deployed as serverless.yml writes it: the links table, the bus,
 * `DrCommandedRule`'s pattern (read from serverless.yml) targeting the `drCommanded` function, its
 * dependencies built by `drCommandedDeps` under a session of `DrCommandedRole` (its statements from
 * serverless.yml, its hook grant from config/dr-plan.cjs for the ledger plan); the plan's hook
 * `ledger-promote-aurora` registered as a Lambda function that calls the world's `service-promote`
 * on AWS (as Google's hooks do in test/fixtures/gcp/functions/dr-hooks.ts). The relay's part is the
 * test's: it puts Google's DrActionStarted on the bus as the relay does, and reads the bus's
 * DrActionFinished from a queue a rule fills.
 *
 * Proved: the rule passes Google's relayed commands for AWS and nothing else; the promotion's command runs the hook once (the standby's database becomes the writer)
 * and DrActionFinished `succeeded` goes on the bus; the command delivered again is answered with the
 * recorded result and runs nothing; a stale epoch is refused, recorded in the fence and answered
 * `refused`; a hook the role may not invoke (a plan naming a function its policy does not) fails the
 * action with Lambda's AccessDeniedException.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drCommandedDeps, drCommandedStep } from '#aws/dr-commanded.ts';
import { DynamoDbDrFence } from '#aws/dr-fence.ts';
import { lambdaHookRunner, lambdaInvoke } from '#aws/dr-hook-runner.ts';
import { type EventBridgeEvent, toEventBridgeEntry } from '#aws/envelope.ts';
import type { CommandedDeps } from '#core/dr/commanded.ts';
import { advance, startRun } from '#core/dr/executor.ts';
import { runEvents } from '#core/dr/executor-events.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import type { DrActionFinishedData } from '#core/events/catalog.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { LocalCloud } from '#local/index.ts';
import {
  commandedRolePolicy,
  hookStatements,
  serverlessYml as serverlessYmlOf,
} from '../support/dr-commanded-aws.ts';
import { ledgerPlan, moveOf } from '../support/dr-ledger.ts';
import { roleSession, type SessionCredentials } from '../support/dr-world.ts';
import { createLinksTable } from '../support/links-table.ts';
import { ADMIN_CREDENTIALS, admin, letServiceCall, startTestCloud } from '../support/local-cloud.ts';
import { eventually } from '../support/timers.ts';

const plan = ledgerPlan();
const TABLE = 'crosslink-links-dev';
const BUS = 'crosslink-dev';
const FUNCTION = 'crosslink-dev-drCommanded';

let cloud: LocalCloud;
let role: SessionCredentials;
let admins: { dynamo: DynamoDBClient; eb: EventBridgeClient; sqs: SQSClient };
let finishedQueue: string;
let deps: CommandedDeps;
const hookCalls: unknown[] = [];
const act = (action: string, body: unknown) => admin(cloud, 'POST', `/world/${action}`, body);

const NAMES = { table: TABLE, bus: BUS };
const serverlessYml = () => serverlessYmlOf(cloud, NAMES);

/** drCommanded's dependencies as the function builds them, with `p` embedded, under DrCommandedRole. */
const deployedDeps = (p: DrPlan): CommandedDeps =>
  drCommandedDeps(
    p,
    {
      AWS_REGION: cloud.aws.region,
      CROSSLINK_TABLE: TABLE,
      CROSSLINK_BUS: BUS,
      CROSSLINK_ACCOUNT_ID: cloud.aws.accountId,
    },
    cloud.clock,
    { endpoint: cloud.aws.endpoint, credentials: role },
  );

beforeAll(async () => {
  cloud = await startTestCloud();
  const config = { region: cloud.aws.region, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  admins = {
    dynamo: new DynamoDBClient(config),
    eb: new EventBridgeClient(config),
    sqs: new SQSClient(config),
  };
  await act('service-create', {
    name: 'ledger',
    primary: 'gcp',
    gcp: { region: 'europe-west1', ip: '203.0.113.20' },
    aws: { region: 'eu-west-1', ip: '198.51.100.20' },
    rpo: '5m',
  });
  await createLinksTable(admins.dynamo, TABLE);
  await admins.eb.send(new CreateEventBusCommand({ Name: BUS }));
  role = await roleSession(cloud, 'crosslink-dev-DrCommandedRole', commandedRolePolicy(cloud, NAMES, plan));
  const runtime = lambdaRuntime(cloud.aws.edge.world, cloud.aws.accountId, cloud.aws.region);
  // The plan's hooks: the service owner's functions, calling the world's admin actions on AWS.
  runtime.register({
    name: 'ledger-promote-aurora',
    timeout: 30,
    handler: async (command: unknown) => {
      hookCalls.push(command);
      const promoted = await act('service-promote', { name: 'ledger', cloud: 'aws' });
      return { detail: `promoted: lost ${promoted.lostWrites} writes over ${promoted.lossWindowMs} ms` };
    },
  });
  runtime.register({
    name: 'ledger-promote-elsewhere',
    timeout: 30,
    handler: async (command: unknown) => {
      hookCalls.push(command);
      return { detail: 'should not run' };
    },
  });
  runtime.register({
    name: 'ledger-failing',
    timeout: 30,
    handler: async () => {
      throw Object.assign(new Error('the replica is not caught up'), { name: 'ReplicaLagging' });
    },
  });
  runtime.register({
    name: 'ledger-slow',
    timeout: 30,
    handler: async () => {
      await new Promise((r) => setTimeout(r, 3_000));
      return { detail: 'done late' };
    },
  });
  runtime.register({
    name: 'ledger-says-failed',
    timeout: 30,
    handler: async () => ({ outcome: 'failed', detail: 'the cluster is not in eu-west-1' }),
  });
  deps = deployedDeps(plan);
  const fn = runtime.register({
    name: FUNCTION,
    timeout: 60,
    handler: (event: unknown) => drCommandedStep(deps, event as EventBridgeEvent),
  });
  // DrCommandedRule as serverless.yml writes it, to the function.
  const rule = serverlessYml().doc.resources.Resources.DrCommandedRule.Properties;
  await admins.eb.send(
    new PutRuleCommand({
      Name: 'crosslink-dr-commanded-dev',
      EventBusName: BUS,
      EventPattern: JSON.stringify(rule.EventPattern),
    }),
  );
  await letServiceCall(cloud, fn.arn);
  await admins.eb.send(
    new PutTargetsCommand({
      Rule: 'crosslink-dr-commanded-dev',
      EventBusName: BUS,
      Targets: [{ Id: 'dr-commanded', Arn: fn.arn }],
    }),
  );
  // What the relay to Google would carry: every DrActionFinished on the bus, into a queue read here.
  finishedQueue = (await admins.sqs.send(new CreateQueueCommand({ QueueName: 'dr-finished' })))
    .QueueUrl as string;
  const queueArn = `arn:aws:sqs:${cloud.aws.region}:${cloud.aws.accountId}:dr-finished`;
  await letServiceCall(cloud, queueArn);
  await admins.eb.send(
    new PutRuleCommand({
      Name: 'dr-finished',
      EventBusName: BUS,
      EventPattern: JSON.stringify({ source: ['crosslink'], 'detail-type': ['DrActionFinished'] }),
    }),
  );
  await admins.eb.send(
    new PutTargetsCommand({ Rule: 'dr-finished', EventBusName: BUS, Targets: [{ Id: 'q', Arn: queueArn }] }),
  );
}, 120_000);

afterAll(async () => {
  for (const c of Object.values(admins ?? {})) c.destroy();
  await cloud?.stop();
});

/**
 * Google's executor's DrActionStarted of the ledger failover's promotion at `epoch` (action 1, once
 * its own action 0, the fence of Cloud SQL, succeeded), as the relay delivers it.
 */
function promoteCommand(epoch: number): CloudEvent {
  const time = new Date(cloud.clock.now()).toISOString();
  const opened = startRun(plan, moveOf(plan, epoch, time));
  const fenced = advance(opened.run, {
    type: 'result',
    result: { service: plan.service, epoch, index: 0, outcome: 'succeeded', time },
  });
  const started = runEvents(plan, fenced.run, fenced.effects).find((e) => e.name === 'DrActionStarted');
  return buildEvent({
    name: 'DrActionStarted',
    origin: { cloud: 'gcp', project: cloud.gcp.project, region: 'us-west1' },
    subject: plan.service,
    data: started?.data,
    clock: cloud.clock,
  });
}

/** The relay puts Google's event on the bus. */
async function relay(event: CloudEvent): Promise<void> {
  const out = await admins.eb.send(new PutEventsCommand({ Entries: [toEventBridgeEntry(event, BUS)] }));
  expect(out.FailedEntryCount).toBe(0);
}

/** The next DrActionFinished the bus carried (waits for it). */
async function nextFinished(): Promise<DrActionFinishedData> {
  const got = await eventually(async () => {
    const out = await admins.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: finishedQueue, MaxNumberOfMessages: 1 }),
    );
    return out.Messages?.[0];
  });
  const ev = JSON.parse(got.Body as string) as { detail: CloudEvent };
  expect(ev.detail.crosslinkorigin).toBe('aws');
  return ev.detail.data as DrActionFinishedData;
}

describe("AWS's commanded side on the local cloud, IAM enforced", () => {
  it('runs the promotion once on its command: the hook Lambda invoked, the standby the writer, DrActionFinished on the bus; a redelivery runs nothing', async () => {
    // Prepare
    const before = await act('service', { name: 'ledger' });
    const command = promoteCommand(5);

    // Act
    await relay(command);
    const first = await nextFinished();
    await relay(command);
    const again = await nextFinished();

    // Assess
    const after = await act('service', { name: 'ledger' });
    expect(before.database.aws.role).toBe('replica');
    expect(after.database.aws.role).toBe('writer');
    expect(first).toMatchObject({ service: 'ledger', epoch: 5, index: 1, outcome: 'succeeded' });
    expect(first.detail).toMatch(/^promoted: lost \d+ writes over \d+ ms$/);
    expect(again).toEqual(first);
    expect(hookCalls).toEqual([
      expect.objectContaining({ service: 'ledger', decision: 'failover', epoch: 5, index: 1 }),
    ]);
  }, 120_000);

  it("matches Google's relayed commands for AWS and AWS's own executor's commanded hooks: not AWS's own relayed or local DrActionStarted, not an action Google runs itself", async () => {
    // Prepare
    const pattern = JSON.stringify(
      serverlessYml().doc.resources.Resources.DrCommandedRule.Properties.EventPattern,
    );
    const google = promoteCommand(6);
    const own = { ...google, crosslinkorigin: 'aws' };
    const ownCommanded = { ...own, data: { ...(google.data as object), via: 'commanded' } };
    const ownLocal = { ...own, data: { ...(google.data as object), via: 'local' } };
    const googleCommanded = { ...google, data: { ...(google.data as object), via: 'commanded' } };
    const flip = {
      ...google,
      data: {
        ...(google.data as object),
        via: 'local',
        action: { type: 'cloud-dns-failover-policy', cloud: 'gcp' },
      },
    };
    const matches = async (detail: unknown) =>
      (
        await admins.eb.send(
          new TestEventPatternCommand({
            EventPattern: pattern,
            Event: JSON.stringify({
              id: '1',
              account: cloud.aws.accountId,
              source: 'crosslink',
              time: google.time,
              region: cloud.aws.region,
              'detail-type': 'DrActionStarted',
              resources: [],
              detail,
            }),
          }),
        )
      ).Result;

    // Act / Assess
    expect([await matches(google), await matches(own), await matches(flip)]).toEqual([true, false, false]);
    expect([await matches(ownCommanded), await matches(ownLocal), await matches(googleCommanded)]).toEqual([
      true,
      false,
      false,
    ]);
  });

  it('refuses a stale epoch, records it in the fence, answers refused, and invokes no hook', async () => {
    // Prepare
    const calls = hookCalls.length;

    // Act
    await relay(promoteCommand(4));
    const stale = await nextFinished();

    // Assess
    expect(stale).toMatchObject({ epoch: 4, index: 1, outcome: 'refused' });
    expect(stale.detail).toMatch(/^epoch 4 is below the current epoch 5/);
    const fence = await new DynamoDbDrFence(admins.dynamo, TABLE).read('ledger');
    expect(fence.refused.map((r) => r.epoch)).toEqual([4]);
    expect(hookCalls).toHaveLength(calls);
  }, 120_000);

  it("fails the action when the plan's hook is a function its role may not invoke (AccessDeniedException)", async () => {
    // Prepare: the role's grant is the deployed plan's hooks; this plan names another function
    const other = ledgerPlan((doc) => {
      const promote = doc.actions.failover[1] as { hook: { function: string } };
      promote.hook.function = 'ledger-promote-elsewhere';
    });
    const calls = hookCalls.length;
    const asOther = deployedDeps(other);
    const event = promoteCommand(7);

    // Act
    const out = await drCommandedStep(asOther, {
      id: 'ev-7',
      'detail-type': 'DrActionStarted',
      source: 'crosslink',
      detail: event,
    });

    // Assess
    expect(out).toMatchObject({ outcome: 'ran', result: { epoch: 7, outcome: 'failed' } });
    expect(out.outcome === 'ran' && out.result.detail).toMatch(
      /^HookFailed: ledger-promote-elsewhere could not be invoked: AccessDeniedException: .*lambda:InvokeFunction/,
    );
    expect(hookCalls).toHaveLength(calls);
  }, 120_000);
});

describe('the hook runner on AWS (a Lambda function invoked, RequestResponse)', () => {
  /** The ledger plan with its promotion's hook named `hook`, timing out after `timeout`. */
  const planCalling = (hook: string, timeout = '1m'): DrPlan =>
    ledgerPlan((doc) => {
      const promote = doc.actions.failover[1] as { hook: { function: string; timeout?: string } };
      promote.hook = { function: hook, timeout };
    });

  let roles = 0;
  /** Runs the promotion's hook of `p` under a role allowed that plan's hooks (config/dr-plan.cjs). */
  async function runPromotion(p: DrPlan, maxWaitMs?: number | (() => number)) {
    const credentials = await roleSession(cloud, `hooks-${++roles}`, {
      Version: '2012-10-17',
      Statement: hookStatements(cloud, NAMES, p),
    });
    const client = new LambdaClient({
      region: cloud.aws.region,
      endpoint: cloud.aws.endpoint,
      credentials,
      maxAttempts: 1,
    });
    try {
      const run = lambdaHookRunner({
        plan: p,
        clock: cloud.clock,
        invoke: lambdaInvoke(client),
        ...(maxWaitMs !== undefined && { maxWaitMs }),
      });
      const action = p.actions.failover[1] as DrPlan['actions']['failover'][number];
      return await run(action, {
        service: p.service,
        decision: 'failover',
        epoch: 1,
        index: 1,
        action,
        deadline: new Date(cloud.clock.now() + 10 * 60_000).toISOString(),
      });
    } finally {
      client.destroy();
    }
  }

  it("fails naming the function's error when the hook throws (FunctionError)", async () => {
    await expect(runPromotion(planCalling('ledger-failing'))).rejects.toMatchObject({
      name: 'HookFailed',
      message: 'ledger-failing failed (Unhandled): ReplicaLagging: the replica is not caught up',
    });
  }, 60_000);

  it('fails when the hook answers {"outcome": "failed"}, with its detail', async () => {
    await expect(runPromotion(planCalling('ledger-says-failed'))).rejects.toMatchObject({
      name: 'HookFailed',
      message: 'ledger-says-failed reported a failure: the cluster is not in eu-west-1',
    });
  }, 60_000);

  it("fails when the hook gives no answer within the action's timeout (HookTimedOut)", async () => {
    await expect(runPromotion(planCalling('ledger-slow', '1s'))).rejects.toMatchObject({
      name: 'HookTimedOut',
      message: 'ledger-slow gave no answer within 1s',
    });
  }, 60_000);

  it("fails within the function's own time limit when the action's timeout is longer", async () => {
    // a 10-minute hook timeout, an invocation that may wait 1 s (its function's limit, scaled)
    await expect(runPromotion(planCalling('ledger-slow', '10m'), 1_000)).rejects.toMatchObject({
      name: 'HookTimedOut',
      message: 'ledger-slow gave no answer within 1s',
    });
    // As drCommanded's entry gives it: read at the call (the invocation's time left less the time to answer).
    await expect(runPromotion(planCalling('ledger-slow', '10m'), () => 1_000)).rejects.toMatchObject({
      name: 'HookTimedOut',
      message: 'ledger-slow gave no answer within 1s',
    });
  }, 60_000);
});
