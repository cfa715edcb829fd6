/**
 * Reserved concurrency in the local Lambda, through the edge with the unchanged SDK client: an
 * invocation past the function's reserved concurrency is throttled as Lambda throttles it. A
 * synchronous one answers 429 TooManyRequestsException (reason
 * ReservedFunctionConcurrentInvocationLimitExceeded); an asynchronous one goes back to its queue
 * and is tried again 1, 2, 4 ... seconds later on the virtual clock, runs once the running
 * invocation ends, and past its maximum event age is discarded to the on-failure destination
 * (condition EventAgeExceeded) without ever running.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { throttleRetryDelayMs } from '#local/aws/lambda/runtime.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, startTestCloud } from '../support/local-cloud.ts';
import { eventually } from '../support/timers.ts';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
let cloud: LocalCloud;
let lambda: LambdaClient;
let sqs: SQSClient;
const runtime = () => lambdaRuntime(cloud.aws.edge.world, ACCOUNT, REGION);

beforeAll(async () => {
  cloud = await startTestCloud();
  const config = { region: REGION, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  // One attempt: the SDK's own retries of a throttle would hide the answer under test.
  lambda = new LambdaClient({ ...config, maxAttempts: 1 });
  sqs = new SQSClient(config);
});
afterAll(async () => {
  lambda.destroy();
  sqs.destroy();
  await runtime().close();
  await cloud.stop();
});

/** A handler whose runs each wait until the test releases them. */
function held() {
  const runs: { at: number; event: unknown }[] = [];
  const releases: (() => void)[] = [];
  return {
    runs,
    handler: (event: unknown) => {
      runs.push({ at: cloud.clock.now(), event });
      return new Promise<string>((r) => releases.push(() => r('done')));
    },
    releaseAll: () => {
      for (const r of releases.splice(0)) r();
    },
  };
}

describe('reserved concurrency', () => {
  it('throttles a synchronous invocation past it with 429 TooManyRequestsException, and runs it once one ends', async () => {
    const h = held();
    runtime().register({ name: 'one-at-a-time', reservedConcurrency: 1, handler: h.handler });
    const first = runtime().invoke('one-at-a-time', { n: 1 });
    await eventually(() => h.runs.length === 1);
    const refused = await lambda
      .send(new InvokeCommand({ FunctionName: 'one-at-a-time', Payload: Buffer.from('{"n":2}') }))
      .then(
        () => undefined,
        (err) => err,
      );
    expect(refused).toMatchObject({
      name: 'TooManyRequestsException',
      message: 'Rate Exceeded.',
      Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
      $metadata: { httpStatusCode: 429 },
    });
    expect(h.runs).toHaveLength(1);
    h.releaseAll();
    expect((await first).payload).toBe('done');
    const second = lambda.send(
      new InvokeCommand({ FunctionName: 'one-at-a-time', Payload: Buffer.from('{"n":3}') }),
    );
    await eventually(() => h.runs.length === 2);
    h.releaseAll();
    expect((await second).StatusCode).toBe(200);
    expect(runtime().concurrencyOf('one-at-a-time')).toMatchObject({ running: 0, peak: 1, throttles: 1 });
  });

  it('with reserved concurrency 0 runs nothing', async () => {
    let ran = 0;
    runtime().register({ name: 'switched-off', reservedConcurrency: 0, handler: () => ran++ });
    await expect(
      lambda.send(new InvokeCommand({ FunctionName: 'switched-off', Payload: Buffer.from('{}') })),
    ).rejects.toMatchObject({ name: 'TooManyRequestsException' });
    expect(ran).toBe(0);
  });

  it('without it, invocations run side by side', async () => {
    const h = held();
    runtime().register({ name: 'unreserved', handler: h.handler });
    const both = [runtime().invoke('unreserved', 1), runtime().invoke('unreserved', 2)];
    await eventually(() => h.runs.length === 2);
    h.releaseAll();
    await Promise.all(both);
    expect(runtime().concurrencyOf('unreserved')).toMatchObject({ peak: 2, throttles: 0 });
  });

  it('puts a throttled asynchronous event back in its queue, tried again 1, 2, 4 s apart, until the running one ends', async () => {
    const h = held();
    runtime().register({ name: 'serial', reservedConcurrency: 1, handler: h.handler });
    runtime().invokeAsync('serial', { run: 'first' });
    await eventually(() => h.runs.length === 1);
    const start = cloud.clock.now();
    runtime().invokeAsync('serial', { run: 'second' });
    await eventually(() => runtime().concurrencyOf('serial').throttles === 1);
    // 1 s, then 2 s, then 4 s later: three more throttled attempts, none run.
    for (const k of [0, 1, 2]) {
      await cloud.clock.advance(throttleRetryDelayMs(k));
      await eventually(() => runtime().concurrencyOf('serial').throttles === k + 2);
    }
    expect(h.runs).toHaveLength(1);
    h.releaseAll();
    await eventually(() => runtime().concurrencyOf('serial').running === 0);
    // The next try (8 s after the last) finds the function free.
    await cloud.clock.advance(throttleRetryDelayMs(3));
    await eventually(() => h.runs.length === 2);
    expect(h.runs[1]).toEqual({ at: start + 1000 + 2000 + 4000 + 8000, event: { run: 'second' } });
    h.releaseAll();
    expect(runtime().concurrencyOf('serial')).toMatchObject({ peak: 1, throttles: 4 });
  });

  it('discards a throttled asynchronous event past its maximum age to the on-failure destination, never run', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'throttled-events' }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const h = held();
    runtime().register({
      name: 'busy-watcher',
      reservedConcurrency: 1,
      maximumRetryAttempts: 0,
      maximumEventAgeInSeconds: 60,
      onFailure: Attributes?.QueueArn as string,
      handler: h.handler,
    });
    runtime().invokeAsync('busy-watcher', { run: 'long' });
    await eventually(() => h.runs.length === 1);
    runtime().invokeAsync('busy-watcher', { run: 'dropped' });
    await eventually(() => runtime().concurrencyOf('busy-watcher').throttles === 1);
    // Tries at 1, 3, 7, 15 and 31 s; the next (63 s) is past the 60 s age: it expires at 60 s.
    await cloud.clock.advance(59_000);
    await eventually(() => runtime().concurrencyOf('busy-watcher').throttles === 6);
    const early = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 0 }));
    expect(early.Messages ?? []).toEqual([]);
    await cloud.clock.advance(1000);
    const [m] = await eventually(async () => {
      const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 0 }));
      return r.Messages?.length ? r.Messages : undefined;
    });
    const record = JSON.parse(m?.Body as string);
    expect(record).toMatchObject({
      requestContext: { condition: 'EventAgeExceeded', approximateInvokeCount: 0 },
      requestPayload: { run: 'dropped' },
    });
    expect(record).not.toHaveProperty('responsePayload');
    h.releaseAll();
    expect(h.runs.map((r) => r.event)).toEqual([{ run: 'long' }]);
  });
});
