/**
 * EventBridge, SQS and Lambda through the edge with the unchanged SDK clients: partial PutEvents
 * failures, rules to SQS with an input transformer, schedules starting a state machine, target
 * retries and DLQ, CloudTrail events from other services, SQS visibility and redrive, event source
 * mappings with partial batch failures, async invocation retries with an on-failure destination,
 * a handler module run in its own worker with its own environment, and a function run from its
 * unpacked artifact as Lambda's Node.js runtime runs it (defined variables, nothing of the host's,
 * a module missing from the package failing as Runtime.ImportModuleError).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateEventBusCommand,
  DeleteRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import {
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  ListFunctionsCommand,
} from '@aws-sdk/client-lambda';
import { CreateStateMachineCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emitCloudTrailEvent } from '#local/aws/events/cloudtrail.ts';
import { eventsOf } from '#local/aws/services/events.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { Fault } from '#local/faults.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, admin, putServiceRole, startTestCloud } from '../support/local-cloud.ts';
import { eventually } from '../support/timers.ts';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
let cloud: LocalCloud;
let eb: EventBridgeClient;
let sqs: SQSClient;
let sfn: SFNClient;

const clientConfig = () => ({ region: REGION, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS });
const world = () => cloud.aws.edge.world;
const runtime = () => lambdaRuntime(world(), ACCOUNT, REGION);

/**
 * A queue whose policy lets this account's EventBridge rules send to it (as a rule target or a
 * dead-letter queue, EventBridge sends as events.amazonaws.com and the queue policy decides).
 */
async function queue(
  name: string,
  attributes: Record<string, string> = {},
): Promise<{ url: string; arn: string }> {
  const Policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: {
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`,
      Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
    },
  });
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: { Policy, ...attributes } }),
  );
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { url: QueueUrl as string, arn: attrs.Attributes?.QueueArn as string };
}

async function receiveAll(url: string, visibility = 30) {
  const out = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: visibility,
      MessageAttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
}

beforeAll(async () => {
  cloud = await startTestCloud();
  eb = new EventBridgeClient(clientConfig());
  sqs = new SQSClient(clientConfig());
  sfn = new SFNClient(clientConfig());
});
afterAll(async () => {
  for (const c of [eb, sqs, sfn]) c.destroy();
  await runtime().close();
  await cloud.stop();
});

describe('EventBridge on the local edge', () => {
  it('reports partial PutEvents failures with FailedEntryCount, as AWS does', async () => {
    const out = await eb.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'crosslink', DetailType: 'LinkRequested', Detail: '{"id":"lk-1"}' },
          { Source: 'crosslink', DetailType: 'LinkRequested', Detail: 'not json' },
          { Source: 'crosslink', DetailType: 'LinkRequested', Detail: '{}', EventBusName: 'no-such-bus' },
          { DetailType: 'LinkRequested', Detail: '{}' },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(3);
    expect(out.Entries?.[0]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.Entries?.slice(1).map((e) => e.ErrorCode)).toEqual([
      'MalformedDetail',
      'ResourceNotFoundException',
      'InvalidArgument',
    ]);
  });

  it('routes matching events from a custom bus to SQS through an input transformer', async () => {
    // Prepare
    await eb.send(new CreateEventBusCommand({ Name: 'crosslink' }));
    const q = await queue('links');
    await eb.send(
      new PutRuleCommand({
        Name: 'link-requested',
        EventBusName: 'crosslink',
        EventPattern: JSON.stringify({
          source: ['crosslink'],
          'detail-type': ['LinkRequested'],
          detail: { bandwidth: [{ numeric: ['>=', 1000] }] },
        }),
      }),
    );
    await eb.send(
      new PutTargetsCommand({
        Rule: 'link-requested',
        EventBusName: 'crosslink',
        Targets: [
          {
            Id: 'q',
            Arn: q.arn,
            InputTransformer: {
              InputPathsMap: { id: '$.detail.id', bw: '$.detail.bandwidth' },
              InputTemplate: '{"link": "<id>", "mbps": <bw>, "rule": "<aws.events.rule-name>"}',
            },
          },
        ],
      }),
    );
    // Act
    await eb.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: 'crosslink',
            Source: 'crosslink',
            DetailType: 'LinkRequested',
            Detail: '{"id":"lk-big","bandwidth":10000}',
          },
          {
            EventBusName: 'crosslink',
            Source: 'crosslink',
            DetailType: 'LinkRequested',
            Detail: '{"id":"lk-small","bandwidth":50}',
          },
        ],
      }),
    );
    // Assess
    const messages = await eventually(async () => {
      const m = await receiveAll(q.url);
      return m.length ? m : undefined;
    });
    expect(messages.map((m) => JSON.parse(m.Body as string))).toEqual([
      { link: 'lk-big', mbps: 10000, rule: 'link-requested' },
    ]);
    const rules = await eb.send(new ListRulesCommand({ EventBusName: 'crosslink' }));
    expect(rules.Rules?.map((r) => r.Name)).toEqual(['link-requested']);
    await expect(
      eb.send(new DeleteRuleCommand({ Name: 'link-requested', EventBusName: 'crosslink' })),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await eb.send(new DeleteRuleCommand({ Name: 'link-requested', EventBusName: 'crosslink', Force: true }));
    expect((await eb.send(new ListRulesCommand({ EventBusName: 'crosslink' }))).Rules).toEqual([]);
  });

  it('answers TestEventPattern and refuses invalid patterns with InvalidEventPatternException', async () => {
    const event = JSON.stringify({
      id: '1',
      account: ACCOUNT,
      source: 'aws.interconnect',
      time: '2026-06-01T00:00:00Z',
      region: REGION,
      'detail-type': 'AWS API Call via CloudTrail',
      resources: [],
      detail: { eventName: 'CreateConnection' },
    });
    const yes = await eb.send(
      new TestEventPatternCommand({
        EventPattern: '{"detail":{"eventName":[{"prefix":"Create"}]}}',
        Event: event,
      }),
    );
    const no = await eb.send(
      new TestEventPatternCommand({
        EventPattern: '{"detail":{"eventName":["DeleteConnection"]}}',
        Event: event,
      }),
    );
    expect([yes.Result, no.Result]).toEqual([true, false]);
    await expect(
      eb.send(new PutRuleCommand({ Name: 'bad', EventPattern: '{"source":"crosslink"}' })),
    ).rejects.toMatchObject({
      name: 'InvalidEventPatternException',
    });
  });

  it('fires a rate schedule on the virtual clock and starts a state machine', async () => {
    // The rule's target role: EventBridge starts the execution with it.
    const role = await putServiceRole(cloud, 'events', 'events.amazonaws.com', ['states:StartExecution']);
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: 'watcher',
        roleArn: 'arn:aws:iam::000000000000:role/sfn',
        definition: JSON.stringify({ StartAt: 'P', States: { P: { Type: 'Pass', End: true } } }),
      }),
    );
    await eb.send(new PutRuleCommand({ Name: 'poll', ScheduleExpression: 'rate(5 minutes)' }));
    await eb.send(
      new PutTargetsCommand({
        Rule: 'poll',
        Targets: [{ Id: 'sm', Arn: stateMachineArn, RoleArn: role }],
      }),
    );
    const count = async () =>
      (await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions?.length ?? 0;
    await cloud.clock.advance(4 * 60_000);
    expect(await count()).toBe(0);
    await cloud.clock.advance(60_000);
    await eventually(async () => (await count()) === 1);
    await cloud.clock.advance(10 * 60_000);
    await eventually(async () => (await count()) === 3);
  });

  it('retries a failing target under its RetryPolicy, then sends the event to its DLQ', async () => {
    const dlq = await queue('rule-dlq');
    await eb.send(new PutRuleCommand({ Name: 'to-missing', EventPattern: '{"source":["test.retry"]}' }));
    await eb.send(
      new PutTargetsCommand({
        Rule: 'to-missing',
        Targets: [
          {
            Id: 'gone',
            Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:does-not-exist`,
            RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
            DeadLetterConfig: { Arn: dlq.arn },
          },
        ],
      }),
    );
    const before = eventsOf(world(), ACCOUNT, REGION).pending;
    await eb.send(
      new PutEventsCommand({ Entries: [{ Source: 'test.retry', DetailType: 'x', Detail: '{"n":1}' }] }),
    );
    // Until its final outcome, the delivery is pending: its retries wait on the clock, which stands
    const state = eventsOf(world(), ACCOUNT, REGION);
    const final = () => state.deliveries.some((d) => d.rule === 'to-missing');
    await new Promise((r) => setTimeout(r, 200));
    expect([final(), state.pending]).toEqual([false, before + 1]);
    await cloud.clock.advance(10_000);
    const dead = await eventually(async () => {
      const m = await receiveAll(dlq.url);
      return m.length ? m : undefined;
    });
    expect([final(), state.pending]).toEqual([true, before]);
    expect(JSON.parse(dead[0]?.Body as string).detail).toEqual({ n: 1 });
    expect(dead[0]?.MessageAttributes?.RULE_ARN?.StringValue).toBe(
      `arn:aws:events:${REGION}:${ACCOUNT}:rule/to-missing`,
    );
    const delivery = eventsOf(world(), ACCOUNT, REGION).deliveries.find((d) => d.rule === 'to-missing');
    expect(delivery).toMatchObject({ outcome: 'dead-lettered', attempts: 3 });
  });

  it('puts CloudTrail-style events for other services on the default bus', async () => {
    const q = await queue('cloudtrail');
    await eb.send(
      new PutRuleCommand({
        Name: 'interconnect-calls',
        EventPattern: JSON.stringify({
          source: ['aws.interconnect'],
          'detail-type': ['AWS API Call via CloudTrail'],
          detail: { eventName: ['CreateConnection'] },
        }),
      }),
    );
    await eb.send(new PutTargetsCommand({ Rule: 'interconnect-calls', Targets: [{ Id: 'q', Arn: q.arn }] }));
    await emitCloudTrailEvent(world(), {
      service: 'interconnect',
      eventName: 'CreateConnection',
      region: REGION,
      principal: {
        name: 'admin',
        arn: `arn:aws:iam::${ACCOUNT}:root`,
        accountId: ACCOUNT,
        accessKeyId: 'test',
      },
      requestParameters: { description: 'lk-1' },
      responseElements: { id: 'mcc-12345678' },
    });
    const [m] = await eventually(async () => {
      const r = await receiveAll(q.url);
      return r.length ? r : undefined;
    });
    const event = JSON.parse(m?.Body as string);
    expect(event).toMatchObject({
      source: 'aws.interconnect',
      'detail-type': 'AWS API Call via CloudTrail',
      detail: {
        eventSource: 'interconnect.amazonaws.com',
        eventName: 'CreateConnection',
        responseElements: { id: 'mcc-12345678' },
      },
    });
  });
});

describe('SQS on the local edge', () => {
  it('hides a received message for the visibility timeout of virtual time, then redrives it to the DLQ', async () => {
    const dlq = await queue('work-dlq');
    const q = await queue('work', {
      VisibilityTimeout: '60',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 }),
    });
    const sent = await sqs.send(
      new SendMessageCommand({
        QueueUrl: q.url,
        MessageBody: '{"job":1}',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'job' } },
      }),
    );
    expect(sent.MD5OfMessageBody).toBeDefined();
    const [first] = await receiveAll(q.url, 60);
    expect(first?.Body).toBe('{"job":1}');
    expect(first?.MessageAttributes?.kind?.StringValue).toBe('job');
    expect(await receiveAll(q.url)).toEqual([]);
    await cloud.clock.advance(60_000);
    const [second] = await receiveAll(q.url, 60);
    expect(second?.MessageId).toBe(first?.MessageId);
    // The old receipt handle no longer deletes it.
    await sqs.send(new DeleteMessageCommand({ QueueUrl: q.url, ReceiptHandle: first?.ReceiptHandle }));
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: q.url,
        ReceiptHandle: second?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    // Received twice already: the next receive moves it to the DLQ.
    expect(await receiveAll(q.url)).toEqual([]);
    const [dead] = await receiveAll(dlq.url);
    expect(dead?.Body).toBe('{"job":1}');
    await sqs.send(new DeleteMessageCommand({ QueueUrl: dlq.url, ReceiptHandle: dead?.ReceiptHandle }));
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlq.url, AttributeNames: ['All'] }),
    );
    expect(attrs.Attributes?.ApproximateNumberOfMessages).toBe('0');
  });

  it('feeds a Lambda in batches through an event source mapping, keeping only the reported failures', async () => {
    const q = await queue('relay', { VisibilityTimeout: '30' });
    const batches: string[][] = [];
    runtime().register({
      name: 'relay',
      handler: (event) => {
        const records = (event as { Records: { messageId: string; body: string }[] }).Records;
        batches.push(records.map((r) => r.body));
        return {
          batchItemFailures: records
            .filter((r) => r.body.includes('bad'))
            .map((r) => ({ itemIdentifier: r.messageId })),
        };
      },
    });
    for (const body of ['a', 'b', 'bad-c', 'd', 'e'])
      await sqs.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: body }));
    runtime().addEventSourceMapping({
      eventSourceArn: q.arn,
      functionName: 'relay',
      batchSize: 2,
      functionResponseTypes: ['ReportBatchItemFailures'],
    });
    await eventually(() => batches.flat().length === 5);
    expect(batches.every((b) => b.length <= 2)).toBe(true);
    // Only the failed item comes back, after its visibility timeout.
    await cloud.clock.advance(30_000);
    await eventually(() => batches.flat().length === 6);
    expect(batches.at(-1)).toEqual(['bad-c']);
  });
});

describe('delivery faults on an SQS event source mapping', () => {
  /** A function that records each invocation's records, and the mapping feeding it from a new queue. */
  async function mapped(name: string) {
    const q = await queue(name, { VisibilityTimeout: '30' });
    const invocations: { id: string; body: string }[][] = [];
    runtime().register({
      name,
      handler: (event) => {
        const records = (event as { Records: { messageId: string; body: string }[] }).Records;
        invocations.push(records.map((r) => ({ id: r.messageId, body: r.body })));
        return {};
      },
    });
    const bodies = Array.from({ length: 10 }, (_, i) => `m${i}`);
    for (const body of bodies) await sqs.send(new SendMessageCommand({ QueueUrl: q.url, MessageBody: body }));
    return { q, invocations, bodies };
  }

  it('duplicate delivers each record again in an invocation of its own, then deletes it once', async () => {
    // Prepare
    const { q, invocations, bodies } = await mapped('dup-relay');
    const fault = world().faults.add({ service: 'sqs', operation: 'dup-relay', kind: 'duplicate' });

    // Act
    const mapping = runtime().addEventSourceMapping({ eventSourceArn: q.arn, functionName: 'dup-relay' });

    // Assess: the batch, then the same message ids again in a second invocation.
    await eventually(() => invocations.length === 2);
    expect(invocations.map((i) => i.map((r) => r.body))).toEqual([bodies, bodies]);
    expect(invocations[1]?.map((r) => r.id)).toEqual(invocations[0]?.map((r) => r.id));
    world().faults.remove(fault.id);
    await cloud.clock.advance(60_000);
    expect(await receiveAll(q.url)).toEqual([]);
    expect(invocations).toHaveLength(2);
    runtime().removeEventSourceMapping(mapping.uuid);
  });

  it('drop leaves a record out of the invocation; it comes back after its visibility timeout', async () => {
    // Prepare
    const { q, invocations, bodies } = await mapped('drop-relay');
    world().faults.add({ service: 'sqs', operation: 'drop-relay', kind: 'drop', count: 1 });

    // Act
    const mapping = runtime().addEventSourceMapping({ eventSourceArn: q.arn, functionName: 'drop-relay' });
    await eventually(() => invocations.length === 1);
    await cloud.clock.advance(30_000);

    // Assess
    await eventually(() => invocations.length === 2);
    expect(invocations.map((i) => i.map((r) => r.body))).toEqual([bodies.slice(1), ['m0']]);
    runtime().removeEventSourceMapping(mapping.uuid);
  });

  it('duplicate + reorder split a batch and deliver every record twice in a shuffled order', async () => {
    // Prepare
    const { q, invocations, bodies } = await mapped('shuffled-relay');
    const faults = [
      world().faults.add({ service: 'sqs', operation: 'shuffled-relay', kind: 'duplicate' }),
      world().faults.add({ service: 'sqs', operation: 'shuffled-relay', kind: 'reorder', latencyMs: 10_000 }),
    ];

    // Act: the records are held on the virtual clock, for at most 10 s each.
    const mapping = runtime().addEventSourceMapping({
      eventSourceArn: q.arn,
      functionName: 'shuffled-relay',
    });
    const [dup] = faults as [Fault, Fault];
    await eventually(
      () =>
        world()
          .faults.list()
          .find((f) => f.id === dup.id)?.fired === 10,
    );
    const before = invocations.length;
    await cloud.clock.advance(10_000);

    // Assess: one record per invocation, each twice, not in the order sent; all deleted.
    await eventually(() => invocations.length === 20);
    expect(before).toBe(0);
    expect(invocations.every((i) => i.length === 1)).toBe(true);
    const arrived = invocations.map((i) => i[0]?.body as string);
    for (const body of bodies) expect(arrived.filter((b) => b === body)).toHaveLength(2);
    const firstArrivals = arrived.filter((b, i) => arrived.indexOf(b) === i);
    expect(firstArrivals).not.toEqual(bodies);
    for (const f of faults) world().faults.remove(f.id);
    await cloud.clock.advance(60_000);
    expect(await receiveAll(q.url)).toEqual([]);
    expect(invocations).toHaveLength(20);
    runtime().removeEventSourceMapping(mapping.uuid);
  });
});

describe('Lambda in the local cloud', () => {
  it('retries an async invocation twice, one and two minutes apart, then sends it to the on-failure destination', async () => {
    const dest = await queue('lambda-failures');
    const attempts: number[] = [];
    runtime().register({
      name: 'always-fails',
      onFailure: dest.arn,
      handler: () => {
        attempts.push(cloud.clock.now());
        throw Object.assign(new Error('provider down'), { name: 'ProviderError' });
      },
    });
    const start = cloud.clock.now();
    const before = runtime().asyncPending;
    runtime().invokeAsync('always-fails', { link: 'lk-9' });
    await eventually(() => attempts.length === 1);
    // Pending while its retries wait on the clock (what a harness waiting for quiet counts)
    expect(runtime().asyncPending).toBe(before + 1);
    await cloud.clock.advance(60_000);
    await eventually(() => attempts.length === 2);
    expect(runtime().asyncPending).toBe(before + 1);
    await cloud.clock.advance(120_000);
    await eventually(() => attempts.length === 3);
    expect(attempts.map((t) => t - start)).toEqual([0, 60_000, 180_000]);
    const [m] = await eventually(async () => {
      const r = await receiveAll(dest.url);
      return r.length ? r : undefined;
    });
    expect(runtime().asyncPending).toBe(before);
    expect(JSON.parse(m?.Body as string)).toMatchObject({
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: { link: 'lk-9' },
      responsePayload: { errorType: 'ProviderError', errorMessage: 'provider down' },
    });
  });

  it('runs a handler module in its own worker with its environment and a Lambda context', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'crosslink-lambda-'));
    const file = join(dir, 'handler.mjs');
    writeFileSync(
      file,
      `let cold = true;
export const handler = async (event, context) => {
  const wasCold = cold; cold = false;
  return { stage: process.env.STAGE, endpoint: process.env.AWS_ENDPOINT_URL, key: process.env.AWS_ACCESS_KEY_ID, got: event, requestId: context.awsRequestId, fn: context.functionName,
    arn: context.invokedFunctionArn, remaining: context.getRemainingTimeInMillis(), cold: wasCold };
};
export const boom = async () => { const e = new Error('nope'); e.name = 'LinkNotFound'; throw e; };
export const hang = async (event) => { if (event.hang) await new Promise(() => {}); return { cold: !globalThis.warm, warm: (globalThis.warm = true) }; };
export const quit = async () => { process.exit(3); };
`,
    );
    runtime().register({
      name: 'mod',
      handler: { file, export: 'handler' },
      timeout: 10,
      environment: { STAGE: 'local' },
    });
    runtime().register({ name: 'mod-boom', handler: { file, export: 'boom' } });
    const first = await runtime().invoke('mod', { a: 1 });
    const second = await runtime().invoke(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:mod`, { a: 2 });
    expect(first.payload).toMatchObject({
      stage: 'local',
      // The local cloud points every handler at its own edge, with the service identity's keys.
      endpoint: cloud.aws.endpoint,
      key: 'AKIALOCALCROSSLINK01',
      got: { a: 1 },
      fn: 'mod',
      arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:mod`,
      cold: true,
    });
    // Remaining time is wall-clock (the cold start already used some of the 10 s).
    expect((first.payload as { remaining: number }).remaining).toBeGreaterThan(1_000);
    expect((first.payload as { remaining: number }).remaining).toBeLessThanOrEqual(10_000);
    expect((first.payload as { requestId: string }).requestId).toBe(first.requestId);
    expect(second.payload).toMatchObject({ got: { a: 2 }, cold: false });
    expect(process.env.STAGE).toBeUndefined();
    const failed = await runtime().invoke('mod-boom', {});
    expect(failed.functionError).toBe('Unhandled');
    expect(failed.payload).toMatchObject({ errorType: 'LinkNotFound', errorMessage: 'nope' });
    await expect(runtime().invoke('missing', {})).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});

describe('a Lambda function from its artifact', () => {
  /** An unpacked artifact: `files` relative to its task root. */
  const artifact = (files: Record<string, string>) => {
    const root = mkdtempSync(join(tmpdir(), 'crosslink-artifact-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  };

  it("sees the variables Lambda defines, the local cloud's, its own, and nothing of the host's", async () => {
    // Prepare
    const root = artifact({
      'src/app.mjs':
        'export const handler = async (e, c) => ({ env: { ...process.env }, stream: c.logStreamName });',
    });
    process.env.CROSSLINK_HOST_ONLY = 'leak';
    try {
      runtime().register({
        name: 'from-zip',
        handler: { taskRoot: root, handler: 'src/app.handler' },
        runtime: 'nodejs24.x',
        memorySize: 256,
        environment: { STAGE: 'local' },
      });
      // Act
      const out = await runtime().invoke('from-zip', {});
      // Assess
      const { env, stream } = out.payload as { env: Record<string, string>; stream: string };
      expect(out.functionError).toBeUndefined();
      expect(env).toEqual({
        AWS_REGION: REGION,
        AWS_DEFAULT_REGION: REGION,
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        AWS_LAMBDA_FUNCTION_NAME: 'from-zip',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/from-zip',
        AWS_LAMBDA_LOG_STREAM_NAME: expect.stringMatching(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/),
        _HANDLER: 'src/app.handler',
        LAMBDA_TASK_ROOT: root,
        LANG: 'en_US.UTF-8',
        TZ: ':UTC',
        // The local cloud's: its edge and the service identity's keys.
        AWS_ENDPOINT_URL: cloud.aws.endpoint,
        AWS_ACCESS_KEY_ID: 'AKIALOCALCROSSLINK01',
        AWS_SECRET_ACCESS_KEY: expect.any(String),
        STAGE: 'local',
      });
      expect(stream).toBe(env.AWS_LAMBDA_LOG_STREAM_NAME);
    } finally {
      delete process.env.CROSSLINK_HOST_ONLY;
    }
  });

  it('fails a handler whose module, or a file it imports, is not in the package as Lambda does', async () => {
    // Prepare: the handler's module is missing; one module imports a file the package left out.
    const root = artifact({
      'src/app.mjs': "import { x } from './left-out.mjs'; export const handler = async () => x;",
      'src/ok.mjs': 'export const handler = async () => 1;',
    });
    const fn = (name: string, handler: string) =>
      runtime().register({ name, handler: { taskRoot: root, handler } });
    fn('no-module', 'src/missing.handler');
    fn('no-import', 'src/app.handler');
    fn('no-export', 'src/ok.other');
    // Act
    const [noModule, noImport, noExport] = await Promise.all([
      runtime().invoke('no-module', {}),
      runtime().invoke('no-import', {}),
      runtime().invoke('no-export', {}),
    ]);
    // Assess
    expect(noModule.functionError).toBe('Unhandled');
    expect(noModule.payload).toMatchObject({
      errorType: 'Runtime.ImportModuleError',
      errorMessage: "Error: Cannot find module 'src/missing'",
    });
    expect(noImport.payload).toMatchObject({
      errorType: 'Runtime.ImportModuleError',
      errorMessage: expect.stringContaining('left-out.mjs'),
    });
    expect(noExport.payload).toMatchObject({
      errorType: 'Runtime.HandlerNotFound',
      errorMessage: 'src/ok.other is undefined or not exported',
    });
  });

  it('refuses variables Lambda reserves in a function configuration, also through the admin API', async () => {
    expect(() =>
      runtime().register({
        name: 'reserved',
        handler: { taskRoot: tmpdir(), handler: 'index.handler' },
        environment: { AWS_REGION: 'eu-west-1', LAMBDA_TASK_ROOT: '/elsewhere' },
      }),
    ).toThrow(/reserved keys .*: AWS_REGION, LAMBDA_TASK_ROOT/);
    await expect(
      admin(cloud, 'POST', '/aws/lambda/register', {
        name: 'reserved',
        handler: 'index.mjs#handler',
        environment: { AWS_SESSION_TOKEN: 'x' },
      }),
    ).rejects.toMatchObject({ status: 400, code: 'InvalidParameterValueException' });
    expect(runtime().functions.has('reserved')).toBe(false);
  });
});

describe('the Lambda API on the edge (@aws-sdk/client-lambda)', () => {
  it('invokes synchronously and asynchronously, reports function errors, and describes functions', async () => {
    const lambda = new LambdaClient(clientConfig());
    const seen: unknown[] = [];
    runtime().register({
      name: 'api-echo',
      handler: (event) => {
        seen.push(event);
        if ((event as { fail?: boolean }).fail)
          throw Object.assign(new Error('bad input'), { name: 'InputError' });
        return { echo: event };
      },
    });
    try {
      const ok = await lambda.send(
        new InvokeCommand({ FunctionName: 'api-echo', Payload: Buffer.from('{"a":1}') }),
      );
      expect(ok.StatusCode).toBe(200);
      expect(ok.FunctionError).toBeUndefined();
      expect(JSON.parse(Buffer.from(ok.Payload as Uint8Array).toString())).toEqual({ echo: { a: 1 } });
      const failed = await lambda.send(
        new InvokeCommand({ FunctionName: 'api-echo', Payload: Buffer.from('{"fail":true}') }),
      );
      expect(failed.FunctionError).toBe('Unhandled');
      expect(JSON.parse(Buffer.from(failed.Payload as Uint8Array).toString())).toMatchObject({
        errorType: 'InputError',
        errorMessage: 'bad input',
      });
      const queued = await lambda.send(
        new InvokeCommand({
          FunctionName: 'api-echo',
          InvocationType: 'Event',
          Payload: Buffer.from('{"b":2}'),
        }),
      );
      expect(queued.StatusCode).toBe(202);
      await eventually(() => seen.some((e) => (e as { b?: number }).b === 2));
      const fn = await lambda.send(
        new GetFunctionCommand({ FunctionName: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:api-echo` }),
      );
      expect(fn.Configuration?.FunctionArn).toBe(`arn:aws:lambda:${REGION}:${ACCOUNT}:function:api-echo`);
      const list = await lambda.send(new ListFunctionsCommand({}));
      expect(list.Functions?.map((f) => f.FunctionName)).toContain('api-echo');
      await expect(
        lambda.send(new InvokeCommand({ FunctionName: 'no-such-function' })),
      ).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
    } finally {
      lambda.destroy();
    }
  });
});
