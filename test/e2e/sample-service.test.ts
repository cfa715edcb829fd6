/**
 * The deployable artefact, end to end: test/fixtures/sample-service is packaged with `osls package`
 * (offline, no credentials), its CloudFormation template is loaded into a fresh local cloud, and
 * the chain runs: an event on the custom bus -> rule with an input transformer -> SQS -> the
 * bundled relay Lambda (in its worker, calling SQS with the SDK) with partial batch failures ->
 * redrive of the failing message to the DLQ; and the scheduled state machine with its Lambda task.
 */
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import { queuesOf } from '#local/aws/services/sqs.ts';
import { inputsHash, type LoadedStack, loadTemplate, packageService } from '#local/aws/wiring.ts';
import type { LocalCloud } from '#local/index.ts';
import { eventually } from '../helpers/timers.ts';
import { ADMIN_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';

const SERVICE_DIR = resolve(import.meta.dirname, '../fixtures/sample-service');
const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
let cloud: LocalCloud;
let stack: LoadedStack;
let sqs: SQSClient;
let eb: EventBridgeClient;
let sfn: SFNClient;

const queueUrl = (name: string) => `${cloud.aws.endpoint}/${ACCOUNT}/${name}`;
async function receive(name: string) {
  const out = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl(name), MaxNumberOfMessages: 10, VisibilityTimeout: 300 }),
  );
  return out.Messages ?? [];
}

beforeAll(async () => {
  await packageService(SERVICE_DIR);
  cloud = await startTestCloud();
  const config = { region: REGION, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  sqs = new SQSClient(config);
  eb = new EventBridgeClient(config);
  sfn = new SFNClient(config);
  stack = loadTemplate(cloud.aws.edge.world, {
    serviceDir: SERVICE_DIR,
    accountId: ACCOUNT,
    region: REGION,
    endpoint: cloud.aws.endpoint,
    environment: {
      AWS_ENDPOINT_URL: cloud.aws.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    },
  });
}, 240_000);

afterAll(async () => {
  for (const c of [sqs, eb, sfn]) c?.destroy();
  if (cloud) {
    await lambdaRuntime(cloud.aws.edge.world, ACCOUNT, REGION).close();
    await cloud.stop();
  }
});

describe('the packaged sample service in the local cloud', () => {
  it('creates what the template declares', () => {
    expect(stack.functions.sort()).toEqual(['crosslink-sample-local-relay', 'crosslink-sample-local-tick']);
    expect(stack.stateMachines).toEqual(['crosslink-sample-ticker']);
    expect(stack.queues.sort()).toEqual([
      'crosslink-sample-links',
      'crosslink-sample-links-dlq',
      'crosslink-sample-out',
    ]);
    expect(stack.rules).toContain('crosslink-sample-link-requested');
    expect(stack.eventSourceMappings).toBe(1);
  });

  it('carries an event from the bus through the rule, SQS and the bundled relay, and redrives what fails', async () => {
    // Act
    const put = await eb.send(
      new PutEventsCommand({
        Entries: ['lk-a', 'lk-b', 'bad-c'].map((id) => ({
          EventBusName: 'crosslink-sample',
          Source: 'crosslink',
          DetailType: 'LinkRequested',
          Detail: JSON.stringify({ id }),
        })),
      }),
    );
    expect(put.FailedEntryCount).toBe(0);
    // Assess: the good ones come out of the relay (which called SQS through the SDK, from its worker).
    const relayed: string[] = [];
    await eventually(async () => {
      for (const m of await receive('crosslink-sample-out'))
        relayed.push(JSON.parse(m.Body as string).relayed);
      return relayed.length === 2;
    }, 15_000);
    expect(relayed.sort()).toEqual(['lk-a', 'lk-b']);
    // The failing one is retried after each 60 s visibility timeout, and after 3 receives goes to the DLQ.
    const links = () =>
      queuesOf(cloud.aws.edge.world, `arn:aws:sqs:${REGION}:${ACCOUNT}:crosslink-sample-links`);
    for (let receives = 1; receives <= 3; receives++) {
      await eventually(() => {
        const messages = links()?.messages ?? [];
        return messages.length === 1 && messages[0]?.receiveCount === receives;
      }, 15_000);
      expect(await receive('crosslink-sample-links-dlq')).toEqual([]);
      await cloud.clock.advance(60_000);
    }
    const dead = await eventually(async () => {
      const m = await receive('crosslink-sample-links-dlq');
      return m.length ? m : undefined;
    }, 15_000);
    expect(JSON.parse(dead[0]?.Body as string)).toEqual({ linkId: 'bad-c' });
    const relayCalls = lambdaRuntime(cloud.aws.edge.world, ACCOUNT, REGION).invocations.filter(
      (i) => i.functionName === 'crosslink-sample-local-relay',
    );
    expect(relayCalls.length).toBeGreaterThanOrEqual(3);
    expect(relayCalls.every((c) => c.outcome === 'ok')).toBe(true);
  }, 60_000);

  it('runs the scheduled state machine every 10 minutes of virtual time with its Lambda task', async () => {
    const stateMachineArn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:crosslink-sample-ticker`;
    const before = (await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions?.length ?? 0;
    await cloud.clock.advance(10 * 60_000);
    const [latest] = await eventually(async () => {
      const list = (await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions ?? [];
      return list.length > before && list[0]?.status !== 'RUNNING' ? list : undefined;
    }, 15_000);
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: latest?.executionArn }));
    expect(d.status).toBe('SUCCEEDED');
    expect(JSON.parse(d.output as string)).toMatchObject({
      by: 'crosslink-sample-local-tick',
      tickedAt: expect.stringMatching(/^2026-06-01T00:\d0:00Z$/),
    });
  }, 60_000);

  it('packages again only when the inputs change', async () => {
    expect((await packageService(SERVICE_DIR)).regenerated).toBe(false);
    const copy = mkdtempSync(join(tmpdir(), 'crosslink-sample-'));
    cpSync(join(SERVICE_DIR, 'serverless.yml'), join(copy, 'serverless.yml'));
    cpSync(join(SERVICE_DIR, 'src'), join(copy, 'src'), { recursive: true });
    const before = inputsHash(copy);
    expect(inputsHash(copy)).toBe(before);
    writeFileSync(join(copy, 'src', 'handlers.ts'), '// changed\n', { flag: 'a' });
    expect(inputsHash(copy)).not.toBe(before);
    expect(inputsHash(SERVICE_DIR)).toBe(inputsHash(SERVICE_DIR));
  });
});
