/**
 * Our Interconnect client against the local cloud's Interconnect simulator on a free port, with a
 * manual virtual clock: both flows (AWS first, partner first), every operation, pagination,
 * idempotency, the waiters, and every model error the simulator produces.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AcceptConnectionProposalCommand,
  AccessDeniedException,
  CreateConnectionCommand,
  DeleteConnectionCommand,
  DescribeConnectionProposalCommand,
  GetConnectionCommand,
  GetEnvironmentCommand,
  type InterconnectClient,
  InterconnectClientException,
  InterconnectValidationException,
  ListAttachPointsCommand,
  ListConnectionsCommand,
  ListEnvironmentsCommand,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  ServiceQuotaExceededException,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateConnectionCommand,
} from '#aws/interconnect-client.ts';
import {
  paginateListConnections,
  waitForConnectionAvailable,
  waitUntilConnectionAvailable,
  waitUntilConnectionDeleted,
} from '#aws/interconnect-waiters.ts';
import type { CallRecord } from '#local/aws/edge.ts';
import { eventsOf } from '#local/aws/services/events.ts';
import type { LocalCloud } from '#local/index.ts';
import { ALICE_CREDENTIALS, admin, interconnectClient, startTestCloud } from '../support/local-cloud.ts';

const ENV = 'mce-aws-gcp-iad';
const PROJECT = 'crosslink-net-prod';
let cloud: LocalCloud;
let client: InterconnectClient;
let gateway: string;

/** Waiter options that run on the virtual clock: each sleep advances it. */
const onVirtualClock = () => ({
  client,
  sleep: (ms: number) => cloud.clock.advance(ms),
  now: () => cloud.clock.now(),
});

async function create(extra: Partial<ConstructorParameters<typeof CreateConnectionCommand>[0]> = {}) {
  const out = await client.send(
    new CreateConnectionCommand({
      bandwidth: '1Gbps',
      environmentId: ENV,
      attachPoint: { directConnectGateway: gateway },
      remoteAccount: { identifier: PROJECT },
      ...extra,
    }),
  );
  return out.connection!;
}

beforeAll(async () => {
  cloud = await startTestCloud();
  client = interconnectClient(cloud);
  const points = await client.send(new ListAttachPointsCommand({ environmentId: ENV }));
  gateway = points.attachPoints[0]!.identifier;
});
afterAll(async () => {
  await cloud.stop();
});

describe('Interconnect, AWS first: create -> partner redeems the key -> available', () => {
  it('creates a requested connection whose activation key is the spec JSON for the partner', async () => {
    // Act
    const c = await create({ description: 'lk-01hzy link', tags: { 'crosslink:link-id': 'lk-01hzy' } });
    // Assess
    expect(c.id).toMatch(/^mcc-[a-z0-9]{8}$/);
    expect(c.arn).toBe(`arn:aws:interconnect:us-east-1:000000000000:connection/${c.id}`);
    expect(c).toMatchObject({
      state: 'requested',
      bandwidth: '1Gbps',
      environmentId: ENV,
      provider: { cloudServiceProvider: 'gcp' },
      location: 'us-east4',
      type: 'Multicloud',
      ownerAccount: '000000000000',
      description: 'lk-01hzy link',
      tags: { 'crosslink:link-id': 'lk-01hzy' },
    });
    expect(c.sharedId).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/);
    expect(JSON.parse(Buffer.from(c.activationKey, 'base64').toString())).toEqual({
      version: 1,
      destinationEnvironmentUri: 'providers/gcp/environments/aws-us-east-1-gcp-us-east4',
      sharedConnectionUuid: c.sharedId,
      connectionSizeMbps: 1000,
      destinationAccountId: PROJECT,
    });
  });

  it('stays requested until the partner redeems the key, then pending, then available after provisioning', async () => {
    const c = await create();
    await cloud.clock.advance(60 * 60_000);
    expect((await client.send(new GetConnectionCommand({ identifier: c.id }))).connection?.state).toBe(
      'requested',
    );
    // The partner refuses a key for another account or bandwidth, and nothing changes.
    await expect(
      admin(cloud, 'POST', '/aws/interconnect/redeem-key', {
        activationKey: c.activationKey,
        remoteAccountId: 'other',
      }),
    ).rejects.toMatchObject({ status: 403 });
    await expect(
      admin(cloud, 'POST', '/aws/interconnect/redeem-key', {
        activationKey: c.activationKey,
        bandwidth: '2Gbps',
      }),
    ).rejects.toMatchObject({ status: 400 });
    await admin(cloud, 'POST', '/aws/interconnect/redeem-key', {
      activationKey: c.activationKey,
      remoteAccountId: PROJECT,
      bandwidth: '1Gbps',
    });
    expect((await client.send(new GetConnectionCommand({ identifier: c.id }))).connection?.state).toBe(
      'pending',
    );
    const result = await waitUntilConnectionAvailable(
      { ...onVirtualClock(), maxWaitTime: 3600 },
      { identifier: c.id },
    );
    expect(result.state).toBe('SUCCESS');
    expect((await client.send(new GetConnectionCommand({ identifier: c.id }))).connection?.state).toBe(
      'available',
    );
  });

  it('fails a connection whose key is never redeemed within the expiry (7 days)', async () => {
    const c = await create();
    await cloud.clock.advance(7 * 24 * 3600_000);
    expect((await client.send(new GetConnectionCommand({ identifier: c.id }))).connection?.state).toBe(
      'failed',
    );
  });
});

describe('Interconnect on a scaled clock (as npm start runs it)', () => {
  it('provisions on its own as scaled virtual time flows (x6000), with no clock advance', async () => {
    const scaled = await startTestCloud({ clock: { mode: 'scaled', scale: 6000 } });
    try {
      const c = interconnectClient(scaled);
      const v0 = scaled.clock.now();
      const gw = (await c.send(new ListAttachPointsCommand({ environmentId: ENV }))).attachPoints[0]!
        .identifier;
      const created = (
        await c.send(
          new CreateConnectionCommand({
            bandwidth: '1Gbps',
            environmentId: ENV,
            attachPoint: { directConnectGateway: gw },
            remoteAccount: { identifier: PROJECT },
          }),
        )
      ).connection!;
      await admin(scaled, 'POST', '/aws/interconnect/redeem-key', { activationKey: created.activationKey });
      // The waiter runs on wall time here; its 30 s minimum delay is 5 ms at x6000, scaled by hand.
      // Assert on virtual time, not wall time: the machine is shared, so wall-clock bounds are flaky.
      const result = await waitUntilConnectionAvailable(
        { client: c, maxWaitTime: 60, minDelay: 0.005, maxDelay: 0.02 },
        { identifier: created.id },
      );
      expect(result.state).toBe('SUCCESS');
      // Nothing advanced the clock by hand: the connection became available because scaled time flowed
      // past the simulator's provisioning delay (5 simulated minutes by default).
      expect(scaled.clock.now() - v0).toBeGreaterThanOrEqual(5 * 60_000);
    } finally {
      await scaled.stop();
    }
  });
});

describe('Interconnect, partner first: issued key -> describe proposal -> accept -> available', () => {
  it('describes and accepts a proposal, which becomes available; a second accept is refused', async () => {
    const issued = await admin(cloud, 'POST', '/aws/interconnect/issue-key', {
      environmentId: ENV,
      bandwidth: '2Gbps',
      destinationAccountId: '000000000000',
      remoteAccountId: PROJECT,
    });
    const proposal = await client.send(
      new DescribeConnectionProposalCommand({ activationKey: issued.activationKey }),
    );
    expect(proposal).toMatchObject({
      bandwidth: '2Gbps',
      environmentId: ENV,
      provider: { cloudServiceProvider: 'gcp' },
      location: 'us-east4',
    });
    const accepted = await client.send(
      new AcceptConnectionProposalCommand({
        activationKey: issued.activationKey,
        attachPoint: { directConnectGateway: gateway },
        description: 'from google',
      }),
    );
    expect(accepted.connection).toMatchObject({
      state: 'pending',
      bandwidth: '2Gbps',
      sharedId: issued.sharedId,
      activationKey: issued.activationKey,
    });
    await waitUntilConnectionAvailable(
      { ...onVirtualClock(), maxWaitTime: 3600 },
      { identifier: accepted.connection!.id },
    );
    await expect(
      client.send(
        new AcceptConnectionProposalCommand({
          activationKey: issued.activationKey,
          attachPoint: { directConnectGateway: gateway },
        }),
      ),
    ).rejects.toBeInstanceOf(InterconnectClientException);
  });

  it('refuses a key issued for another account, a garbage key and an unknown proposal, creating nothing', async () => {
    const before = (await client.send(new ListConnectionsCommand({}))).connections?.length;
    const other = await admin(cloud, 'POST', '/aws/interconnect/issue-key', {
      environmentId: ENV,
      bandwidth: '1Gbps',
      destinationAccountId: '111111111111',
    });
    const accept = (activationKey: string) =>
      client.send(
        new AcceptConnectionProposalCommand({
          activationKey,
          attachPoint: { directConnectGateway: gateway },
        }),
      );
    await expect(accept(other.activationKey)).rejects.toMatchObject({
      name: 'InterconnectClientException',
      message: expect.stringContaining('111111111111'),
    });
    await expect(accept('not-a-key')).rejects.toBeInstanceOf(InterconnectClientException);
    const forged = Buffer.from(
      JSON.stringify({
        version: 1,
        destinationEnvironmentUri: 'providers/aws/environments/aws-us-east-1-gcp-us-east4',
        sharedConnectionUuid: '00000000-0000-4000-8000-000000000000',
        connectionSizeMbps: 1000,
        destinationAccountId: '000000000000',
      }),
    ).toString('base64');
    await expect(accept(forged)).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(
      client.send(new DescribeConnectionProposalCommand({ activationKey: forged })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    expect((await client.send(new ListConnectionsCommand({}))).connections?.length).toBe(before);
  });
});

describe('Interconnect: idempotency, listing, update, tags, delete', () => {
  it('returns the same connection for a repeated clientToken and refuses the token with other input', async () => {
    const first = await create({ clientToken: 'tok-1', description: 'same' });
    const again = await create({ clientToken: 'tok-1', description: 'same' });
    expect(again.id).toBe(first.id);
    await expect(create({ clientToken: 'tok-1', description: 'different' })).rejects.toBeInstanceOf(
      InterconnectClientException,
    );
  });

  it('refuses a reused clientToken whose nested input differs, and never re-creates a purged connection', async () => {
    const fresh = await startTestCloud({
      settings: { interconnect: { delays: { deletion: '1m', deletedRetention: '1m' } } },
    });
    try {
      const c = interconnectClient(fresh);
      const gw = (await c.send(new ListAttachPointsCommand({ environmentId: ENV }))).attachPoints[0]!
        .identifier;
      const input = {
        bandwidth: '1Gbps',
        environmentId: ENV,
        attachPoint: { directConnectGateway: gw },
        remoteAccount: { identifier: PROJECT },
        tags: { team: 'net' },
        clientToken: 'tok-nested',
      };
      const first = (await c.send(new CreateConnectionCommand(input))).connection!;
      // Same top-level keys, other nested values: not the same request.
      for (const other of [
        { tags: { team: 'other' } },
        { remoteAccount: { identifier: 'another-project' } },
        {
          attachPoint: {
            directConnectGateway: gw.toLowerCase() === gw ? gw.toUpperCase() : gw.toLowerCase(),
          },
        },
      ]) {
        await expect(c.send(new CreateConnectionCommand({ ...input, ...other }))).rejects.toBeInstanceOf(
          InterconnectClientException,
        );
      }
      // Key order is not part of the request.
      const reordered = Object.fromEntries(Object.entries(input).reverse()) as typeof input;
      expect((await c.send(new CreateConnectionCommand(reordered))).connection!.id).toBe(first.id);
      // Deleted and purged (404) inside the idempotency window: the token answers what it did, and
      // does not create a second connection.
      await c.send(new DeleteConnectionCommand({ identifier: first.id }));
      await fresh.clock.advance(3 * 60_000);
      await expect(c.send(new GetConnectionCommand({ identifier: first.id }))).rejects.toBeInstanceOf(
        ResourceNotFoundException,
      );
      const again = (await c.send(new CreateConnectionCommand(input))).connection!;
      expect(again.id).toBe(first.id);
      expect((await c.send(new ListConnectionsCommand({}))).connections ?? []).toEqual([]);
    } finally {
      await fresh.stop();
    }
  });

  it('paginates ListConnections with maxResults / nextToken, each connection once, filters applied', async () => {
    const fresh = await startTestCloud({ settings: { interconnect: { maxConnections: 50 } } });
    try {
      const c = interconnectClient(fresh);
      const gw = (await c.send(new ListAttachPointsCommand({ environmentId: ENV }))).attachPoints[0]!
        .identifier;
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const out = await c.send(
          new CreateConnectionCommand({
            bandwidth: '1Gbps',
            environmentId: ENV,
            attachPoint: { directConnectGateway: gw },
            remoteAccount: { identifier: PROJECT },
          }),
        );
        ids.push(out.connection!.id);
      }
      await c.send(new DeleteConnectionCommand({ identifier: ids[0]! }));
      const pages: string[][] = [];
      for await (const page of paginateListConnections({ client: c, pageSize: 2 })) {
        pages.push((page.connections ?? []).map((x) => x.id));
      }
      expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
      expect(pages.flat()).toEqual(ids);
      const requested = await c.send(new ListConnectionsCommand({ state: 'requested' }));
      expect(requested.connections?.map((x) => x.id)).toEqual(ids.slice(1));
      expect(requested.connections?.[0]).not.toHaveProperty('activationKey');
      const first = await c.send(new ListConnectionsCommand({ maxResults: 2 }));
      await expect(
        c.send(new ListConnectionsCommand({ maxResults: 2, nextToken: first.nextToken, state: 'deleting' })),
      ).rejects.toBeInstanceOf(InterconnectValidationException);
      await expect(c.send(new ListConnectionsCommand({ maxResults: 101 }))).rejects.toThrow(
        /at 'maxResults'/,
      );
    } finally {
      await fresh.stop();
    }
  });

  it('updates the description at once and the bandwidth through updating, on the clock', async () => {
    const c = await create();
    await admin(cloud, 'POST', '/aws/interconnect/redeem-key', { activationKey: c.activationKey });
    await expect(
      client.send(new UpdateConnectionCommand({ identifier: c.id, bandwidth: '5Gbps' })),
    ).rejects.toThrow(/pending/);
    await cloud.clock.advance(5 * 60_000);
    const renamed = await client.send(
      new UpdateConnectionCommand({ identifier: c.id, description: 'renamed' }),
    );
    expect(renamed.connection).toMatchObject({ description: 'renamed', state: 'available' });
    const resized = await client.send(new UpdateConnectionCommand({ identifier: c.id, bandwidth: '5Gbps' }));
    expect(resized.connection).toMatchObject({ state: 'updating', bandwidth: '1Gbps' });
    await cloud.clock.advance(2 * 60_000);
    expect((await client.send(new GetConnectionCommand({ identifier: c.id }))).connection).toMatchObject({
      state: 'available',
      bandwidth: '5Gbps',
    });
    await expect(
      client.send(new UpdateConnectionCommand({ identifier: c.id, bandwidth: '100Gbps' })),
    ).rejects.toThrow(/not currently available/);
    await expect(
      client.send(new UpdateConnectionCommand({ identifier: c.id, bandwidth: '3Gbps' })),
    ).rejects.toThrow(/not supported/);
  });

  it('tags, lists and untags by ARN; refuses another account ARN and an unknown connection', async () => {
    const c = await create({ tags: { a: '1' } });
    await client.send(new TagResourceCommand({ arn: c.arn, tags: { b: '2', c: '3' } }));
    await client.send(new UntagResourceCommand({ arn: c.arn, tagKeys: ['a', 'c'] }));
    expect((await client.send(new ListTagsForResourceCommand({ arn: c.arn }))).tags).toEqual({ b: '2' });
    await expect(
      client.send(new ListTagsForResourceCommand({ arn: c.arn.replace('000000000000', '111111111111') })),
    ).rejects.toBeInstanceOf(AccessDeniedException);
    await expect(
      client.send(new TagResourceCommand({ arn: c.arn.replace(c.id, 'mcc-zzzzzzzz'), tags: { x: 'y' } })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(client.send(new ListTagsForResourceCommand({ arn: 'arn:aws:s3:::bucket' }))).rejects.toThrow(
      /at 'arn'/,
    );
  });

  it('deletes through deleting to deleted (waiter), then the connection is gone (404)', async () => {
    const c = await create();
    const out = await client.send(new DeleteConnectionCommand({ identifier: c.id }));
    expect(out.connection.state).toBe('deleting');
    // Deleting again changes nothing (idempotent).
    expect((await client.send(new DeleteConnectionCommand({ identifier: c.id }))).connection.state).toBe(
      'deleting',
    );
    await waitUntilConnectionDeleted({ ...onVirtualClock(), maxWaitTime: 3600 }, { identifier: c.id });
    expect((await client.send(new GetConnectionCommand({ identifier: c.id }))).connection?.state).toBe(
      'deleted',
    );
    await expect(
      client.send(new UpdateConnectionCommand({ identifier: c.id, description: 'x' })),
    ).rejects.toBeInstanceOf(InterconnectClientException);
    // ConnectionAvailable fails on deleted, as the model's acceptors say.
    const failed = await waitForConnectionAvailable(
      { ...onVirtualClock(), maxWaitTime: 600 },
      { identifier: c.id },
    );
    expect(failed.state).toBe('FAILURE');
    await cloud.clock.advance(24 * 3600_000);
    await expect(client.send(new GetConnectionCommand({ identifier: c.id }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });
});

describe('Interconnect: environments, attach points and input errors', () => {
  it('lists the environments of the calling region only, and gets one', async () => {
    const east = await client.send(new ListEnvironmentsCommand({}));
    expect(east.environments.map((e) => e.environmentId)).toEqual(['mce-aws-gcp-iad', 'mce-aws-oci-iad']);
    const west = interconnectClient(cloud, { region: 'eu-west-2' });
    const london = await west.send(
      new ListEnvironmentsCommand({ provider: { cloudServiceProvider: 'gcp' } }),
    );
    expect(london.environments).toHaveLength(1);
    expect(london.environments[0]).toMatchObject({
      environmentId: 'mce-aws-gcp-lhr',
      location: 'europe-west2',
      state: 'available',
      type: 'Multicloud',
      remoteIdentifierType: 'account',
    });
    const env = await client.send(new GetEnvironmentCommand({ id: ENV }));
    expect(env.environment.bandwidths.supported).toContain('100Gbps');
    await expect(client.send(new GetEnvironmentCommand({ id: 'mce-aws-gcp-lhr' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it("an environment is the region's own: another region's is not found there, for create, get, attach points and a partner's key", async () => {
    // Prepare: the Oregon environment, seen from Oregon and from Virginia
    const oregon = interconnectClient(cloud, { region: 'us-west-2' });
    const pdx = { environmentId: 'mce-aws-gcp-pdx' };
    // Act / Assess: Virginia knows no mce-aws-gcp-pdx, whatever the call
    await expect(create(pdx)).rejects.toThrow(/Environment mce-aws-gcp-pdx not found in us-east-1/);
    await expect(create(pdx)).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(client.send(new GetEnvironmentCommand({ id: 'mce-aws-gcp-pdx' }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(client.send(new ListAttachPointsCommand(pdx))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    const { activationKey } = await admin(cloud, 'POST', '/aws/interconnect/issue-key', {
      ...pdx,
      bandwidth: '1Gbps',
      destinationAccountId: '000000000000',
    });
    await expect(
      client.send(
        new AcceptConnectionProposalCommand({
          attachPoint: { directConnectGateway: gateway },
          activationKey,
        }),
      ),
    ).rejects.toThrow(/Environment mce-aws-gcp-pdx not found in us-east-1/);
    // Oregon makes it, and the connection is Oregon's alone.
    const made = (
      await oregon.send(
        new CreateConnectionCommand({
          bandwidth: '1Gbps',
          ...pdx,
          attachPoint: { directConnectGateway: gateway },
          remoteAccount: { identifier: PROJECT },
        }),
      )
    ).connection!;
    expect(made.arn).toMatch(/^arn:aws:interconnect:us-west-2:/);
    expect(made.location).toBe('us-west1');
    await expect(client.send(new GetConnectionCommand({ identifier: made.id }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    const accepted = await oregon.send(
      new AcceptConnectionProposalCommand({ attachPoint: { directConnectGateway: gateway }, activationKey }),
    );
    expect(accepted.connection?.arn).toMatch(/^arn:aws:interconnect:us-west-2:/);
    await oregon.send(new DeleteConnectionCommand({ identifier: made.id }));
    await oregon.send(new DeleteConnectionCommand({ identifier: accepted.connection!.id }));
  });

  it('names the offending field in InterconnectValidationException', async () => {
    await expect(create({ bandwidth: '1gbps' })).rejects.toThrow(
      "Value '1gbps' at 'bandwidth' failed to satisfy constraint: Member must satisfy regular expression pattern: ^\\d+[MG]bps$",
    );
    await expect(create({ description: 'semi;colon' })).rejects.toThrow(/at 'description'/);
    await expect(create({ attachPoint: { directConnectGateway: 'not-a-uuid' } })).rejects.toThrow(
      /at 'attachPoint.directConnectGateway'/,
    );
    await expect(
      client.send(new GetConnectionCommand({ identifier: 'mcc-UPPER123' })),
    ).rejects.toBeInstanceOf(InterconnectValidationException);
    await expect(client.send(new CreateConnectionCommand({ bandwidth: '1Gbps' } as never))).rejects.toThrow(
      /2 validation errors detected: Value null at 'attachPoint'.*Value null at 'environmentId'/,
    );
  });

  it('refuses unknown gateways, environments and connections with ResourceNotFoundException', async () => {
    await expect(
      create({ attachPoint: { directConnectGateway: '90392BE3-219C-47FD-BBA5-03DF76D2542A' } }),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(create({ environmentId: 'mce-nonexistent' })).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    await expect(
      client.send(new GetConnectionCommand({ identifier: 'mcc-00000000' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('refuses bandwidths the environment cannot give, and a missing remote account', async () => {
    await expect(create({ bandwidth: '100Gbps' })).rejects.toThrow(/not currently available/);
    await admin(cloud, 'POST', '/aws/interconnect/set-environment', {
      environmentId: ENV,
      state: 'unavailable',
    });
    try {
      await expect(create()).rejects.toThrow(/unavailable/);
    } finally {
      await admin(cloud, 'POST', '/aws/interconnect/set-environment', {
        environmentId: ENV,
        state: 'available',
      });
    }
    await expect(create({ remoteAccount: undefined })).rejects.toThrow(/remoteAccount is required/);
  });

  it('refuses a connection beyond the quota with ServiceQuotaExceededException (402)', async () => {
    const small = await startTestCloud({ settings: { interconnect: { maxConnections: 2 } } });
    try {
      const c = interconnectClient(small);
      const gw = (await c.send(new ListAttachPointsCommand({ environmentId: ENV }))).attachPoints[0]!
        .identifier;
      const input = {
        bandwidth: '1Gbps',
        environmentId: ENV,
        attachPoint: { directConnectGateway: gw },
        remoteAccount: { identifier: PROJECT },
      };
      await c.send(new CreateConnectionCommand(input));
      await c.send(new CreateConnectionCommand(input));
      const err = await c.send(new CreateConnectionCommand(input)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ServiceQuotaExceededException);
      expect((err as ServiceQuotaExceededException).$metadata.httpStatusCode).toBe(402);
    } finally {
      await small.stop();
    }
  });
});

describe('Interconnect: the activation key stays out of call records and error messages', () => {
  it('redacts activationKey in what observers see, and never echoes a key in an error message', async () => {
    const fresh = await startTestCloud();
    try {
      const c = interconnectClient(fresh);
      const calls: CallRecord[] = [];
      const off = fresh.aws.edge.onCall((call) => calls.push(call));
      const gw = (await c.send(new ListAttachPointsCommand({ environmentId: ENV }))).attachPoints[0]!
        .identifier;
      const created = (
        await c.send(
          new CreateConnectionCommand({
            bandwidth: '1Gbps',
            environmentId: ENV,
            attachPoint: { directConnectGateway: gw },
            remoteAccount: { identifier: PROJECT },
          }),
        )
      ).connection!;
      const key = created.activationKey;
      // The caller still gets its key.
      expect(
        (await c.send(new GetConnectionCommand({ identifier: created.id }))).connection?.activationKey,
      ).toBe(key);
      const tooLong = `SECRET-KEY-${'k'.repeat(2048)}`;
      const messages: string[] = [];
      for (const activationKey of [key, tooLong, 'SECRET-GARBAGE-KEY']) {
        const err = await c
          .send(
            new AcceptConnectionProposalCommand({ activationKey, attachPoint: { directConnectGateway: gw } }),
          )
          .catch((e: unknown) => e as Error);
        messages.push((err as Error).message);
        await c.send(new DescribeConnectionProposalCommand({ activationKey })).catch((e: unknown) => {
          messages.push((e as Error).message);
        });
      }
      off();
      expect(messages.some((m) => m.includes("at 'activationKey' failed to satisfy constraint"))).toBe(true);
      for (const m of messages) {
        expect(m).not.toContain(key);
        expect(m).not.toContain('SECRET');
      }
      const recorded = JSON.stringify(calls);
      expect(calls.length).toBeGreaterThanOrEqual(8);
      expect(recorded).not.toContain(key);
      expect(recorded).not.toContain('SECRET');
      const get = calls.find((x) => x.operation === 'GetConnection');
      expect(get?.output).toMatchObject({ connection: { activationKey: 'HIDDEN_DUE_TO_SECURITY_REASONS' } });
      const accept = calls.find((x) => x.operation === 'AcceptConnectionProposal');
      expect(accept?.input).toMatchObject({ activationKey: 'HIDDEN_DUE_TO_SECURITY_REASONS' });
    } finally {
      await fresh.stop();
    }
  });
});

describe('Interconnect: CloudTrail-style events for the mutating calls', () => {
  it('puts one AWS API Call via CloudTrail event per write on the default bus, the key hidden, reads silent', async () => {
    // IAM off: the events must name an IAM user as the caller, and no local user has Interconnect
    // write grants (alice requests links through the intake; aws-iam-identities.test.ts shows the
    // refusals).
    const fresh = await startTestCloud({ iam: false });
    try {
      const c = interconnectClient(fresh, { credentials: ALICE_CREDENTIALS });
      const gw = (await c.send(new ListAttachPointsCommand({ environmentId: ENV }))).attachPoints[0]!
        .identifier;
      const created = (
        await c.send(
          new CreateConnectionCommand({
            bandwidth: '1Gbps',
            environmentId: ENV,
            attachPoint: { directConnectGateway: gw },
            remoteAccount: { identifier: PROJECT },
          }),
        )
      ).connection!;
      await c.send(new GetConnectionCommand({ identifier: created.id }));
      await c.send(new TagResourceCommand({ arn: created.arn, tags: { team: 'net' } }));
      await c.send(new UntagResourceCommand({ arn: created.arn, tagKeys: ['team'] }));
      const issued = await admin(fresh, 'POST', '/aws/interconnect/issue-key', {
        environmentId: ENV,
        bandwidth: '2Gbps',
        destinationAccountId: '000000000000',
        remoteAccountId: PROJECT,
      });
      await c.send(
        new AcceptConnectionProposalCommand({
          activationKey: issued.activationKey,
          attachPoint: { directConnectGateway: gw },
        }),
      );
      await c.send(new DeleteConnectionCommand({ identifier: created.id }));

      const events = (
        eventsOf(fresh.aws.edge.world, '000000000000', 'us-east-1').recent as {
          source: string;
          'detail-type': string;
          // biome-ignore lint/suspicious/noExplicitAny: CloudTrail detail is read ad hoc.
          detail: Record<string, any>;
        }[]
      ).filter((e) => e['detail-type'] === 'AWS API Call via CloudTrail');
      expect(events.map((e) => e.detail.eventName)).toEqual([
        'CreateConnection',
        'TagResource',
        'UntagResource',
        'AcceptConnectionProposal',
        'DeleteConnection',
      ]);
      for (const e of events) {
        expect(e.source).toBe('aws.interconnect');
        expect(e.detail).toMatchObject({
          eventSource: 'interconnect.amazonaws.com',
          awsRegion: 'us-east-1',
          userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::000000000000:user/alice' },
        });
      }
      const [create, , , accept] = events;
      expect(create?.detail.requestParameters).toMatchObject({ bandwidth: '1Gbps', environmentId: ENV });
      expect(create?.detail.responseElements.connection).toMatchObject({
        id: created.id,
        activationKey: 'HIDDEN_DUE_TO_SECURITY_REASONS',
      });
      expect(accept?.detail.requestParameters.activationKey).toBe('HIDDEN_DUE_TO_SECURITY_REASONS');
      const all = JSON.stringify(events);
      expect(all).not.toContain(created.activationKey);
      expect(all).not.toContain(issued.activationKey);
    } finally {
      await fresh.stop();
    }
  });
});
