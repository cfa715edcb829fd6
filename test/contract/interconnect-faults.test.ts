/**
 * Faults from the admin API against our Interconnect client: throttling the client rides out
 * through its retries, a 5xx storm that surfaces a typed error, latency, and stuck / down states
 * that make the waiter end as the model's acceptors say.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateConnectionCommand,
  GetConnectionCommand,
  type InterconnectClient,
  InterconnectServerException,
  InterconnectServiceException,
  ListAttachPointsCommand,
  ListEnvironmentsCommand,
  ThrottlingException,
  WaiterError,
  waitUntilConnectionAvailable,
} from '#aws/interconnect-client.ts';
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
