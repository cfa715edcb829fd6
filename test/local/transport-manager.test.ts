/**
 * TransportManager v1beta on the Google edge through our TransportClient: profiles, requestId
 * idempotency, transportId rules, the four updatable fields, pagination, key flows per profile,
 * retries of 429 / 503 with backoff, typed errors, and a token refresh after a long clock jump.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateConnectionCommand,
  GetConnectionCommand,
  ListAttachPointsCommand,
} from '#aws/interconnect-client.ts';
import { jwtClient } from '#gcp/google-credentials.ts';
import {
  Aborted,
  AlreadyExists,
  FailedPrecondition,
  InvalidArgument,
  NotFound,
  Unauthenticated,
  Unavailable,
} from '#gcp/google-errors.ts';
import { requestIdFor } from '#gcp/halves.ts';
import { type TransportClient as Client, TransportClient } from '#gcp/transport-client.ts';
import type { LocalCloud } from '#local/index.ts';
import { admin, interconnectClient, startTestCloud } from '../support/local-cloud.ts';

const NETWORK = 'projects/crosslink-local/global/networks/core';
let cloud: LocalCloud;
let gcp: Client;
let sleeps: number[];

function client(extra: Partial<ConstructorParameters<typeof TransportClient>[0]> = {}): Client {
  return new TransportClient({
    project: cloud.gcp.project,
    location: 'us-east4',
    endpoint: cloud.gcp.endpoint,
    auth: jwtClient(cloud.gcp.auth.keyFile('crosslink')),
    sleep: async (ms) => {
      sleeps.push(ms);
      await cloud.clock.advance(ms);
    },
    ...extra,
  });
}

async function rawCall(method: string, path: string, body?: unknown) {
  const token = (await jwtClient(cloud.gcp.auth.keyFile('crosslink')).getAccessToken()).token;
  const res = await fetch(`${cloud.gcp.endpoint}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: res.status,
    body: (await res.json()) as { error?: { status: string; message: string } } & Record<string, unknown>,
  };
}

const googleFirst = (extra: Record<string, unknown> = {}) => ({
  network: NETWORK,
  remoteProfile: `projects/${cloud.gcp.project}/locations/us-east4/remoteTransportProfiles/aws-us-east-1`,
  bandwidth: 'BPS_1G',
  remoteAccountId: '000000000000',
  ...extra,
});

beforeAll(async () => {
  cloud = await startTestCloud();
  sleeps = [];
  gcp = client();
});
afterAll(async () => {
  await cloud?.stop();
});

describe('remote transport profiles', () => {
  it('lists the profile each region pair offers in its location (toward its AWS region), and gets one by name or id', async () => {
    const page = await gcp.listRemoteTransportProfiles();
    expect(page.items.map((p) => p.name)).toEqual([
      'projects/crosslink-local/locations/us-east4/remoteTransportProfiles/aws-us-east-1',
    ]);
    expect(page.items[0]).toMatchObject({
      provider: 'Amazon Web Services',
      providerSite: 'us-east-1',
      flow: 'INPUT_OR_OUTPUT',
      orderState: 'OPEN',
      sla: 'MAXIMUM',
    });
    expect(page.items[0]?.supportedBandwidths).toContain('BPS_10G');
    expect((await gcp.getRemoteTransportProfile('aws-us-east-1')).name).toBe(page.items[0]?.name);
    await expect(gcp.getRemoteTransportProfile('azure-eastus')).rejects.toBeInstanceOf(NotFound);
  });
});

describe('create: transportId, requestId, validation', () => {
  it('replays a create with the same requestId as the same operation, creating one transport', async () => {
    // Prepare
    const requestId = '6f1c1a3e-8f57-4d2b-9d0e-4a4e2b1c9a01';
    // Act
    const first = await gcp.createTransport('lk-idem', googleFirst(), { requestId, wait: false });
    const second = await gcp.createTransport('lk-idem', googleFirst(), { requestId, wait: false });
    // Assess
    expect(second.operation).toBe(first.operation);
    expect(
      (
        await gcp.listAllTransports({
          filter: 'name = "projects/crosslink-local/locations/us-east4/transports/lk-idem"',
        })
      ).items,
    ).toHaveLength(1);
    // A new requestId is a new request: the transport exists
    await expect(gcp.createTransport('lk-idem', googleFirst())).rejects.toBeInstanceOf(AlreadyExists);
  });

  it('refuses the zero UUID, a non-UUID requestId, a bad transportId, and missing fields', async () => {
    const base = '/v1beta/projects/crosslink-local/locations/us-east4/transports';
    const zero = await rawCall(
      'POST',
      `${base}?transportId=lk-zero&requestId=00000000-0000-0000-0000-000000000000`,
      googleFirst(),
    );
    expect(zero.status).toBe(400);
    expect(zero.body.error?.status).toBe('INVALID_ARGUMENT');
    expect(
      (await rawCall('POST', `${base}?transportId=lk-x&requestId=not-a-uuid`, googleFirst())).status,
    ).toBe(400);
    expect((await rawCall('POST', `${base}?transportId=Bad_Id`, googleFirst())).status).toBe(400);
    expect((await rawCall('POST', base, googleFirst())).status).toBe(400);
    await expect(
      gcp.createTransport('lk-no-network', googleFirst({ network: undefined })),
    ).rejects.toBeInstanceOf(InvalidArgument);
    await expect(
      gcp.createTransport('lk-no-bandwidth', googleFirst({ bandwidth: undefined })),
    ).rejects.toBeInstanceOf(InvalidArgument);
    await expect(
      gcp.createTransport('lk-bad-bandwidth', googleFirst({ bandwidth: 'BPS_7G' })),
    ).rejects.toBeInstanceOf(InvalidArgument);
    await expect(
      gcp.createTransport('lk-bad-route', googleFirst({ advertisedRoutes: ['10.0.0.0/33'] })),
    ).rejects.toBeInstanceOf(InvalidArgument);
    await expect(gcp.getTransport('lk-zero')).rejects.toBeInstanceOf(NotFound);
  });
});

describe('create: the fields as transport_manager.proto and gcloud take them', () => {
  /** The field a refusal names (google.rpc.BadRequest fieldViolations) and its status. */
  async function refusal(body: Record<string, unknown>, location = 'us-east4', id = 'lk-refused') {
    const r = await rawCall(
      'POST',
      `/v1beta/projects/crosslink-local/locations/${location}/transports?transportId=${id}`,
      body,
    );
    const details = (r.body.error as { details?: { fieldViolations?: { field: string }[] }[] } | undefined)
      ?.details;
    return {
      status: r.status,
      code: r.body.error?.status,
      message: r.body.error?.message ?? '',
      fields: (details ?? []).flatMap((d) => (d.fieldViolations ?? []).map((v) => v.field)),
    };
  }

  async function awsKey(environmentId = 'mce-aws-gcp-iad', region = 'us-east-1') {
    const aws = interconnectClient(cloud, { region });
    const gateway = (await aws.send(new ListAttachPointsCommand({ environmentId }))).attachPoints[0]!
      .identifier;
    return (
      await aws.send(
        new CreateConnectionCommand({
          bandwidth: '1Gbps',
          environmentId,
          attachPoint: { directConnectGateway: gateway },
          remoteAccount: { identifier: cloud.gcp.project },
        }),
      )
    ).connection!;
  }

  it("remoteProfile is the profile's resource name: a bare id is INVALID_ARGUMENT naming the field", async () => {
    const bare = await refusal(googleFirst({ remoteProfile: 'aws-us-east-1' }));
    expect(bare).toMatchObject({
      status: 400,
      code: 'INVALID_ARGUMENT',
      fields: ['transport.remote_profile'],
    });
    expect(bare.message).toMatch(
      /must be a resource name: projects\/\{project\}\/locations\/\{location\}\/remoteTransportProfiles\//,
    );
    await expect(gcp.getTransport('lk-refused')).rejects.toBeInstanceOf(NotFound);
  });

  it("a transport only in its profile's location (and project)", async () => {
    // The us-west1 profile (toward AWS us-west-2) named for a transport in us-east4.
    const west = `projects/crosslink-local/locations/us-west1/remoteTransportProfiles/aws-us-west-2`;
    const elsewhere = await refusal(googleFirst({ remoteProfile: west }));
    expect(elsewhere).toMatchObject({ status: 400, fields: ['transport.remote_profile'] });
    expect(elsewhere.message).toMatch(
      /is a profile of us-west1: a transport in us-east4 can only use a profile of us-east4/,
    );
    const otherProject = await refusal(
      googleFirst({
        remoteProfile: 'projects/someone-else/locations/us-east4/remoteTransportProfiles/aws-us-east-1',
      }),
    );
    expect(otherProject).toMatchObject({ status: 400, fields: ['transport.remote_profile'] });
    // The same profile in its own location is taken.
    const created = await client({ location: 'us-west1' }).createTransport(
      'lk-west',
      googleFirst({ remoteProfile: west }),
    );
    expect(created.transport).toMatchObject({
      name: 'projects/crosslink-local/locations/us-west1/transports/lk-west',
      remoteProfile: west,
      state: 'PENDING_KEY',
    });
    await client({ location: 'us-west1' }).deleteTransport('lk-west');
  });

  it('with providedActivationKey, remoteProfile, bandwidth and remoteAccountId are refused (the key names them); nothing is redeemed', async () => {
    const conn = await awsKey();
    const withKey = { network: NETWORK, providedActivationKey: conn.activationKey };
    for (const [extra, field] of [
      [
        {
          remoteProfile: `projects/crosslink-local/locations/us-east4/remoteTransportProfiles/aws-us-east-1`,
        },
        'transport.remote_profile',
      ],
      [{ bandwidth: 'BPS_1G' }, 'transport.bandwidth'],
      [{ remoteAccountId: '000000000000' }, 'transport.remote_account_id'],
    ] as const) {
      const r = await refusal({ ...withKey, ...extra });
      expect(r, field).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', fields: [field] });
      expect(r.message).toMatch(/must not be set with providedActivationKey/);
    }
    // The AWS half was not touched: the key is still unredeemed, and the key alone is taken.
    const aws = interconnectClient(cloud);
    expect((await aws.send(new GetConnectionCommand({ identifier: conn.id }))).connection?.state).toBe(
      'requested',
    );
    const created = await gcp.createTransport('lk-key-alone', withKey);
    expect(created.transport).toMatchObject({
      remoteProfile: 'projects/crosslink-local/locations/us-east4/remoteTransportProfiles/aws-us-east-1',
      bandwidth: 'BPS_1G',
      state: 'PENDING_CONFIG',
    });
    await gcp.deleteTransport('lk-key-alone');
  });

  it('a key for another region pair is refused in this location, naming the key', async () => {
    const conn = await awsKey('mce-aws-gcp-pdx', 'us-west-2');
    const r = await refusal({ network: NETWORK, providedActivationKey: conn.activationKey });
    expect(r).toMatchObject({ status: 400, fields: ['transport.provided_activation_key'] });
    expect(r.message).toMatch(
      /for AWS us-west-2 to Google us-west1, which no remote transport profile of us-east4 serves/,
    );
    expect(r.message).not.toContain(conn.activationKey);
  });

  it('requestId: a non-zero UUID version 4, the same for a retry of one call and attempt, another for the next attempt', async () => {
    const id = requestIdFor('lk-01jgcpretry00000000000000', 'create');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(requestIdFor('lk-01jgcpretry00000000000000', 'create', 1)).toBe(id);
    expect(requestIdFor('lk-01jgcpretry00000000000000', 'create', 2)).not.toBe(id);
    expect(requestIdFor('lk-01jgcpretry00000000000000', 'delete', 1)).not.toBe(id);
    // The edge takes it, and replays the retry as the same operation.
    const first = await gcp.createTransport('lk-replayed', googleFirst(), { requestId: id, wait: false });
    const again = await gcp.createTransport('lk-replayed', googleFirst(), { requestId: id, wait: false });
    expect(again.operation).toBe(first.operation);
    // A UUID of another version is refused, as the proto's UUID4 format says.
    const v1 = await rawCall(
      'POST',
      '/v1beta/projects/crosslink-local/locations/us-east4/transports?transportId=lk-v1&requestId=6f1c1a3e-8f57-1d2b-9d0e-4a4e2b1c9a01',
      googleFirst(),
    );
    expect(v1.status).toBe(400);
  });
});

describe('update: exactly the four updatable fields', () => {
  it('changes description, advertisedRoutes and adminEnabled after the operation, refuses anything else', async () => {
    // Prepare
    await gcp.createTransport('lk-update', googleFirst());
    // Act
    const updated = await gcp.updateTransport('lk-update', {
      description: 'new words',
      advertisedRoutes: ['10.9.0.0/16'],
    });
    // Assess
    expect(updated).toMatchObject({ description: 'new words', advertisedRoutes: ['10.9.0.0/16'] });
    expect(updated).not.toHaveProperty('generatedActivationKey');
    const mask = await rawCall(
      'PATCH',
      '/v1beta/projects/crosslink-local/locations/us-east4/transports/lk-update?updateMask=bandwidth',
      { bandwidth: 'BPS_10G' },
    );
    expect(mask.status).toBe(400);
    expect(mask.body.error?.message).toMatch(/cannot be updated/);
    const noMask = await rawCall(
      'PATCH',
      '/v1beta/projects/crosslink-local/locations/us-east4/transports/lk-update',
      {
        network: 'projects/x/global/networks/y',
      },
    );
    expect(noMask.status).toBe(400);
    expect((await gcp.getTransport('lk-update')).bandwidth).toBe('BPS_1G');
  });

  it('takes providedActivationKey only in PENDING_KEY, and only where the profile allows input', async () => {
    // Prepare: an INPUT_ONLY profile waits for a key
    await admin(cloud, 'POST', '/gcp/networkconnectivity/set-profile', {
      location: 'us-east4',
      profile: 'aws-us-east-1',
      flow: 'INPUT_ONLY',
    });
    const created = await gcp.createTransport('lk-input-only', {
      network: NETWORK,
      remoteProfile: `projects/${cloud.gcp.project}/locations/us-east4/remoteTransportProfiles/aws-us-east-1`,
      bandwidth: 'BPS_1G',
    });
    expect(created.transport?.state).toBe('PENDING_KEY');
    expect(created.activationKey).toBeUndefined();
    const aws = interconnectClient(cloud);
    const gateway = (await aws.send(new ListAttachPointsCommand({ environmentId: 'mce-aws-gcp-iad' })))
      .attachPoints[0]!.identifier;
    const conn = (
      await aws.send(
        new CreateConnectionCommand({
          bandwidth: '1Gbps',
          environmentId: 'mce-aws-gcp-iad',
          attachPoint: { directConnectGateway: gateway },
          remoteAccount: { identifier: cloud.gcp.project },
        }),
      )
    ).connection!;
    // Act
    const patched = await gcp.updateTransport('lk-input-only', { providedActivationKey: conn.activationKey });
    // Assess
    expect(patched.state).toBe('PENDING_CONFIG');
    await expect(
      gcp.updateTransport('lk-input-only', { providedActivationKey: conn.activationKey }),
    ).rejects.toBeInstanceOf(FailedPrecondition);
    // OUTPUT_ONLY refuses a provided key at creation
    await admin(cloud, 'POST', '/gcp/networkconnectivity/set-profile', {
      location: 'us-east4',
      profile: 'aws-us-east-1',
      flow: 'OUTPUT_ONLY',
    });
    await expect(
      gcp.createTransport('lk-output-only', {
        network: NETWORK,
        providedActivationKey: conn.activationKey,
      }),
    ).rejects.toBeInstanceOf(InvalidArgument);
    await admin(cloud, 'POST', '/gcp/networkconnectivity/set-profile', {
      location: 'us-east4',
      profile: 'aws-us-east-1',
      flow: 'INPUT_OR_OUTPUT',
    });
  });
});

describe('operations in flight', () => {
  it('refuses an update while the create runs, and a delete overtakes the create (its operation is ABORTED)', async () => {
    // Prepare
    const created = await gcp.createTransport('lk-inflight', googleFirst(), { wait: false });
    // Act / Assess
    await expect(gcp.updateTransport('lk-inflight', { description: 'too early' })).rejects.toBeInstanceOf(
      FailedPrecondition,
    );
    await gcp.deleteTransport('lk-inflight');
    const err = await gcp.waitOperation({ name: created.operation }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Aborted);
    await expect(gcp.getTransport('lk-inflight')).rejects.toBeInstanceOf(NotFound);
  });
});

describe('lists', () => {
  it('paginates with pageSize / pageToken and refuses a foreign token', async () => {
    for (const i of [1, 2, 3, 4, 5])
      await gcp.createTransport(`lk-page-${i}`, googleFirst(), { wait: false });
    const filter = 'remoteAccountId = "000000000000"';
    const first = await gcp.listTransports({ pageSize: 2, filter, orderBy: 'name' });
    expect(first.items).toHaveLength(2);
    expect(first.nextPageToken).toBeDefined();
    const all = await gcp.listAllTransports({ pageSize: 2, filter, orderBy: 'name' });
    const names = all.items.map((t) => t.name);
    expect(names).toEqual([...names].sort());
    expect(names.filter((n) => n.includes('/lk-page-'))).toHaveLength(5);
    expect(all.unreachable).toEqual([]);
    expect(JSON.stringify(all)).not.toMatch(/ActivationKey/);
    await expect(
      gcp.listTransports({ pageSize: 2, pageToken: first.nextPageToken!, orderBy: 'createTime desc' }),
    ).rejects.toBeInstanceOf(InvalidArgument);
  });
});

describe('our client under faults', () => {
  it('retries 429 and 503 with growing, jittered backoff, then surfaces a typed error in a storm', async () => {
    // Prepare
    await gcp.createTransport('lk-retry', googleFirst());
    const c = client({ random: () => 0.999, retryBaseDelayMs: 100, maxRetries: 3 });
    await admin(cloud, 'POST', '/faults', {
      edge: 'gcp',
      service: 'networkconnectivity',
      operation: 'GetTransport',
      kind: 'throttle',
      count: 2,
    });
    sleeps = [];
    // Act
    const t = await c.getTransport('lk-retry');
    // Assess
    expect(t.name).toContain('lk-retry');
    expect(sleeps).toEqual([99, 199]);
    await admin(cloud, 'POST', '/faults', {
      edge: 'gcp',
      service: 'networkconnectivity',
      operation: 'GetTransport',
      kind: 'error',
      count: 10,
    });
    sleeps = [];
    const err = await c.getTransport('lk-retry').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Unavailable);
    expect((err as Unavailable).httpStatus).toBe(503);
    expect(sleeps).toHaveLength(3);
    await admin(cloud, 'DELETE', '/faults');
  });

  it('refreshes its token once when the server no longer takes a cached one (401)', async () => {
    // A token the client still believes valid (its expiry is ahead) that the server refuses, as
    // after a revocation or clock skew: the library alone would not refresh it.
    const auth = jwtClient(cloud.gcp.auth.keyFile('crosslink'));
    await auth.getAccessToken();
    auth.setCredentials({ ...auth.credentials, access_token: 'ya29.stale' });
    expect((await client({ auth }).getTransport('lk-retry')).name).toContain('lk-retry');
    expect(auth.credentials.access_token).not.toBe('ya29.stale');
  });

  it('without valid credentials: Unauthenticated', async () => {
    const bad = client({ auth: { getAccessToken: async () => ({ token: 'ya29.nope' }) } });
    await expect(bad.getTransport('lk-retry')).rejects.toBeInstanceOf(Unauthenticated);
  });
});
