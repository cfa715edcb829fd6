/**
 * Faults from the admin API against our Interconnect client: throttling the client rides out
 * through its retries, a 5xx storm that surfaces a typed error, latency, and stuck / down states
 * that make the waiter end as the model's acceptors say.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateConnectionCommand,
  DeleteConnectionCommand,
  GetConnectionCommand,
  type InterconnectClient,
  InterconnectServerException,
  InterconnectServiceException,
  ListAttachPointsCommand,
  ListEnvironmentsCommand,
  ThrottlingException,
} from '#aws/interconnect-client.ts';
import {
  WaiterError,
  waitForConnectionAvailable,
  waitForConnectionDeleted,
  waitUntilConnectionAvailable,
  waitUntilConnectionDeletedOrGone,
} from '#aws/interconnect-waiters.ts';
import type { LocalCloud } from '#local/index.ts';
import { admin, interconnectClient, startTestCloud } from '../support/local-cloud.ts';

const ENV = 'mce-aws-gcp-iad';
let cloud: LocalCloud;
let client: InterconnectClient;

async function redeemedConnection(): Promise<string> {
  const gw = (await client.send(new ListAttachPointsCommand({ environmentId: ENV }))).attachPoints[0]!
    .identifier;
  const c = (
    await client.send(
      new CreateConnectionCommand({
        bandwidth: '1Gbps',
        environmentId: ENV,
        attachPoint: { directConnectGateway: gw },
        remoteAccount: { identifier: 'proj' },
      }),
    )
  ).connection!;
  await admin(cloud, 'POST', '/aws/interconnect/redeem-key', { activationKey: c.activationKey });
  return c.id;
}

const onVirtualClock = () => ({
  client,
  sleep: (ms: number) => cloud.clock.advance(ms),
  now: () => cloud.clock.now(),
});

beforeAll(async () => {
  cloud = await startTestCloud();
  client = interconnectClient(cloud, { maxAttempts: 5 });
});
afterEach(async () => {
  await admin(cloud, 'DELETE', '/faults');
});
afterAll(async () => {
  await cloud.stop();
});

describe('Interconnect faults', () => {
  it('succeeds under 30% throttling through retries with backoff', async () => {
    // Prepare
    await admin(cloud, 'POST', '/faults', { service: 'interconnect', kind: 'throttle', rate: 0.3 });
    // Act
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await client.send(new ListEnvironmentsCommand({})));
    // Assess
    expect(results.every((r) => r.environments.length === 2)).toBe(true);
    const retried = results.filter((r) => (r.$metadata.attempts ?? 1) > 1);
    expect(retried.length).toBeGreaterThan(0);
    const fired = (await admin(cloud, 'GET', '/faults')).faults[0].fired;
    expect(fired).toBe(results.reduce((n, r) => n + (r.$metadata.attempts ?? 1) - 1, 0));
  });

  it('surfaces a typed ThrottlingException when throttling outlasts the retries', async () => {
    await admin(cloud, 'POST', '/faults', {
      service: 'interconnect',
      operation: 'ListEnvironments',
      kind: 'throttle',
    });
    const err = await client.send(new ListEnvironmentsCommand({})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThrottlingException);
    expect((err as ThrottlingException).$metadata).toMatchObject({ httpStatusCode: 429, attempts: 5 });
  });

  it('surfaces a 5xx storm as a typed InterconnectServerException after the retries', async () => {
    await admin(cloud, 'POST', '/faults', { service: 'interconnect', kind: 'error' });
    const err = await client.send(new ListEnvironmentsCommand({})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InterconnectServerException);
    expect((err as InterconnectServerException).$fault).toBe('server');
    expect((err as InterconnectServerException).$metadata).toMatchObject({
      httpStatusCode: 500,
      attempts: 5,
    });
  });

  it('recovers when a counted storm ends before the retries do', async () => {
    await admin(cloud, 'POST', '/faults', { service: 'interconnect', kind: 'error', status: 503, count: 2 });
    const out = await client.send(new ListEnvironmentsCommand({}));
    expect(out.$metadata.attempts).toBe(3);
  });

  it('delays answers by the latency fault', async () => {
    await admin(cloud, 'POST', '/faults', { service: 'interconnect', kind: 'latency', latencyMs: 300 });
    const t0 = Date.now();
    await client.send(new ListEnvironmentsCommand({}));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it('times the ConnectionAvailable waiter out when the connection is stuck in pending', async () => {
    const id = await redeemedConnection();
    await admin(cloud, 'POST', '/faults', {
      service: 'interconnect',
      kind: 'stuck',
      resource: id,
      state: 'pending',
    });
    const err = await waitUntilConnectionAvailable(
      { ...onVirtualClock(), maxWaitTime: 1800 },
      { identifier: id },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaiterError);
    expect(err).toMatchObject({ name: 'TimeoutError', state: 'TIMEOUT' });
    expect((await client.send(new GetConnectionCommand({ identifier: id }))).connection?.state).toBe(
      'pending',
    );
    // Once the fault is gone the connection moves on.
    await admin(cloud, 'DELETE', '/faults');
    await waitUntilConnectionAvailable({ ...onVirtualClock(), maxWaitTime: 1800 }, { identifier: id });
  });

  it('fails the ConnectionAvailable waiter when the link goes down', async () => {
    const id = await redeemedConnection();
    await cloud.clock.advance(5 * 60_000);
    await admin(cloud, 'POST', '/aws/interconnect/set-link', { identifier: id, up: false });
    const err = await waitUntilConnectionAvailable(
      { ...onVirtualClock(), maxWaitTime: 1800 },
      { identifier: id },
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'WaiterFailure', state: 'FAILURE' });
    expect((err as WaiterError).message).toContain('connection state down');
    await admin(cloud, 'POST', '/aws/interconnect/set-link', { identifier: id, up: true });
    await waitUntilConnectionAvailable({ ...onVirtualClock(), maxWaitTime: 60 }, { identifier: id });
  });

  it('refuses a client with a wrong secret, without retrying', async () => {
    const bad = interconnectClient(cloud, { credentials: { accessKeyId: 'test', secretAccessKey: 'nope' } });
    const err = await bad.send(new ListEnvironmentsCommand({})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InterconnectServiceException);
    expect(err).toMatchObject({
      name: 'InvalidSignatureException',
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });
  });

  it('reproduces the same fault pattern from the same seed', async () => {
    const pattern = async () => {
      await admin(cloud, 'POST', '/seed', { seed: 7 });
      await admin(cloud, 'POST', '/faults', { service: 'interconnect', kind: 'throttle', rate: 0.5 });
      const attempts: number[] = [];
      for (let i = 0; i < 8; i++)
        attempts.push((await client.send(new ListEnvironmentsCommand({}))).$metadata.attempts!);
      await admin(cloud, 'DELETE', '/faults');
      return attempts;
    };
    const first = await pattern();
    expect(await pattern()).toEqual(first);
    expect(first.some((a) => a > 1)).toBe(true);
  });
});

describe('Interconnect client retries (SDK standard mode)', () => {
  it('backs off from a 500 ms base on throttling and 100 ms on server errors', async () => {
    const delays: number[] = [];
    const c = interconnectClient(cloud, {
      retryBaseDelayMs: undefined,
      throttlingRetryBaseDelayMs: undefined,
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.999,
    });
    await admin(cloud, 'POST', '/faults', { service: 'interconnect', kind: 'throttle', count: 2 });
    expect((await c.send(new ListEnvironmentsCommand({}))).$metadata.attempts).toBe(3);
    expect(delays).toEqual([499, 999]);
    delays.length = 0;
    await admin(cloud, 'POST', '/faults', { service: 'interconnect', kind: 'error', count: 2 });
    expect((await c.send(new ListEnvironmentsCommand({}))).$metadata.attempts).toBe(3);
    expect(delays).toEqual([99, 199]);
  });

  it('stops retrying once the retry quota (500 tokens, 5 per retry) is spent', async () => {
    const c = interconnectClient(cloud, { sleep: async () => {} });
    await admin(cloud, 'POST', '/faults', { service: 'interconnect', kind: 'error' });
    const attempts: number[] = [];
    for (let i = 0; i < 51; i++) {
      const err = await c.send(new ListEnvironmentsCommand({})).catch((e: unknown) => e);
      attempts.push((err as InterconnectServerException).$metadata.attempts ?? 0);
    }
    // 50 calls x 2 retries x 5 tokens = 500: the 51st call is answered without a retry.
    expect(attempts.slice(0, 50).every((a) => a === 3)).toBe(true);
    expect(attempts[50]).toBe(1);
  });
});

describe('Interconnect waiters (Smithy waiter spec)', () => {
  it('ends in FAILURE at once on an error no acceptor matches, instead of polling to the timeout', async () => {
    let sleeps = 0;
    const sleep = async (ms: number) => {
      sleeps++;
      await cloud.clock.advance(ms);
    };
    const missing = await waitForConnectionAvailable(
      { client, sleep, now: () => cloud.clock.now(), maxWaitTime: 3600 },
      { identifier: 'mcc-zzzzzzzz' },
    );
    expect(missing.state).toBe('FAILURE');
    expect(missing.reason).toMatchObject({ name: 'ResourceNotFoundException' });
    // A refused caller (as AccessDenied would be) fails fast too.
    const bad = interconnectClient(cloud, { credentials: { accessKeyId: 'test', secretAccessKey: 'nope' } });
    const refused = await waitForConnectionAvailable(
      { client: bad, sleep, now: () => cloud.clock.now(), maxWaitTime: 3600 },
      { identifier: 'mcc-zzzzzzzz' },
    );
    expect(refused.state).toBe('FAILURE');
    expect(refused.reason).toMatchObject({ name: 'InvalidSignatureException' });
    expect(sleeps).toBe(0);
  });

  it('confirms a purged connection deleted by its 404 (waitUntilConnectionDeletedOrGone)', async () => {
    const id = await redeemedConnection();
    await client.send(new DeleteConnectionCommand({ identifier: id }));
    await cloud.clock.advance(2 * 24 * 3600_000); // past deletion and deletedRetention: 404
    // The model's ConnectionDeleted has no error acceptor: a 404 is not its success.
    expect(
      (await waitForConnectionDeleted({ ...onVirtualClock(), maxWaitTime: 600 }, { identifier: id })).state,
    ).toBe('FAILURE');
    const done = await waitUntilConnectionDeletedOrGone(
      { ...onVirtualClock(), maxWaitTime: 600 },
      { identifier: id },
    );
    expect(done.state).toBe('SUCCESS');
    expect(done.reason).toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
