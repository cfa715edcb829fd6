/**
 * The world between the clouds at the API level, with our clients only: the Interconnect client
 * against the AWS edge and our TransportManager client (google-auth-library JWT flow) against the
 * Google edge, on one local cloud with a manual virtual clock. Both flows to available / ACTIVE,
 * both deletions to their end states, refused keys, link faults and the routes a link carries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AcceptConnectionProposalCommand,
  CreateConnectionCommand,
  DeleteConnectionCommand,
  GetConnectionCommand,
  type InterconnectClient,
  InterconnectClientException,
  ListAttachPointsCommand,
  ListConnectionsCommand,
} from '#aws/interconnect-client.ts';
import { jwtClient } from '#gcp/google-credentials.ts';
import { FailedPrecondition, InvalidArgument, NotFound } from '#gcp/google-errors.ts';
import { TransportClient } from '#gcp/transport-client.ts';
import type { LocalCloud } from '#local/index.ts';
import { admin, interconnectClient, startTestCloud } from '../support/local-cloud.ts';

const ENV = 'mce-aws-gcp-iad';
const AWS_ACCOUNT = '000000000000';
const NETWORK = 'projects/crosslink-local/global/networks/core';
let cloud: LocalCloud;
let aws: InterconnectClient;
let gcp: TransportClient;
let gateway: string;

beforeAll(async () => {
  cloud = await startTestCloud();
  aws = interconnectClient(cloud);
  gcp = new TransportClient({
    project: cloud.gcp.project,
    location: 'us-east4',
    endpoint: cloud.gcp.endpoint,
    auth: jwtClient(cloud.gcp.auth.keyFile('crosslink')),
    // Every poll advances the virtual clock: the operations run on it.
    sleep: (ms) => cloud.clock.advance(ms),
    retryBaseDelayMs: 1,
  });
  gateway = (await aws.send(new ListAttachPointsCommand({ environmentId: ENV }))).attachPoints[0]!.identifier;
});
afterAll(async () => {
  await cloud?.stop();
});

async function awsConnection(id: string) {
  return (await aws.send(new GetConnectionCommand({ identifier: id }))).connection!;
}

async function createAwsFirst(bandwidth = '1Gbps', remote = cloud.gcp.project) {
  return (
    await aws.send(
      new CreateConnectionCommand({
        bandwidth,
        environmentId: ENV,
        attachPoint: { directConnectGateway: gateway },
        remoteAccount: { identifier: remote },
        description: 'world test',
      }),
    )
  ).connection!;
}

describe('AWS first: CreateConnection -> key -> CreateTransport with providedActivationKey', () => {
  it('comes up on both sides through pending / PENDING_CONFIG, then each deletion reaches its end state', async () => {
    // Prepare
    const conn = await createAwsFirst();
    expect(conn.state).toBe('requested');
    // Act: Google redeems the AWS key
    const created = await gcp.createTransport('lk-01jaws0first0000000000000', {
      network: NETWORK,
      providedActivationKey: conn.activationKey,
      advertisedRoutes: ['10.20.0.0/16'],
    });
    // Assess: the transport carries no key; the AWS half is pending
    expect(created.activationKey).toBeUndefined();
    expect(created.transport).toMatchObject({
      state: 'PENDING_CONFIG',
      bandwidth: 'BPS_1G',
      adminEnabled: true,
    });
    expect(JSON.stringify(created.transport)).not.toContain(conn.activationKey);
    expect((await awsConnection(conn.id)).state).toBe('pending');
    // Both halves hold the same shared UUID; after the providers' delays the link is up
    await cloud.clock.advance(10 * 60_000);
    expect((await awsConnection(conn.id)).state).toBe('available');
    expect((await gcp.getTransport('lk-01jaws0first0000000000000')).state).toBe('ACTIVE');
    expect(cloud.world.isUp(conn.sharedId)).toBe(true);

    // Deleting the Google half takes AWS down, never away
    await gcp.deleteTransport('lk-01jaws0first0000000000000');
    await expect(gcp.getTransport('lk-01jaws0first0000000000000')).rejects.toBeInstanceOf(NotFound);
    expect((await awsConnection(conn.id)).state).toBe('down');
    // Then the AWS half is deleted on its own
    await aws.send(new DeleteConnectionCommand({ identifier: conn.id }));
    await cloud.clock.advance(5 * 60_000);
    expect((await awsConnection(conn.id)).state).toBe('deleted');
  });
});

describe('Google first: CreateTransport -> generatedActivationKey in PENDING_KEY -> AcceptConnectionProposal', () => {
  it('comes up on both sides, and deleting AWS first takes the transport out of ACTIVE only', async () => {
    // Act
    const created = await gcp.createTransport('lk-01jgcp0first0000000000000', {
      network: NETWORK,
      remoteProfile: `projects/${cloud.gcp.project}/locations/us-east4/remoteTransportProfiles/aws-us-east-1`,
      bandwidth: 'BPS_2G',
      remoteAccountId: AWS_ACCOUNT,
    });
    // Assess: only this call hands out the key
    expect(created.transport?.state).toBe('PENDING_KEY');
    const key = created.activationKey!;
    expect(JSON.parse(Buffer.from(key, 'base64').toString())).toMatchObject({
      version: 1,
      destinationAccountId: AWS_ACCOUNT,
      connectionSizeMbps: 2000,
      destinationEnvironmentUri: expect.stringMatching(
        /^providers\/aws\/environments\/aws-us-east-1-gcp-us-east4$/,
      ),
    });
    expect(JSON.stringify(await gcp.getTransport('lk-01jgcp0first0000000000000'))).not.toContain(key);
    expect(JSON.stringify(await gcp.listTransports())).not.toContain(key);
    expect(await gcp.fetchGeneratedActivationKey('lk-01jgcp0first0000000000000')).toBe(key);

    const accepted = (
      await aws.send(
        new AcceptConnectionProposalCommand({
          attachPoint: { directConnectGateway: gateway },
          activationKey: key,
        }),
      )
    ).connection!;
    expect(accepted).toMatchObject({ state: 'pending', bandwidth: '2Gbps' });
    await cloud.clock.advance(30_000);
    expect((await gcp.getTransport('lk-01jgcp0first0000000000000')).state).toBe('PENDING_CONFIG');
    await cloud.clock.advance(10 * 60_000);
    expect((await awsConnection(accepted.id)).state).toBe('available');
    expect((await gcp.getTransport('lk-01jgcp0first0000000000000')).state).toBe('ACTIVE');

    // Deleting the AWS half: the transport leaves ACTIVE but stays
    await aws.send(new DeleteConnectionCommand({ identifier: accepted.id }));
    await cloud.clock.advance(5 * 60_000);
    expect((await awsConnection(accepted.id)).state).toBe('deleted');
    expect((await gcp.getTransport('lk-01jgcp0first0000000000000')).state).toBe('PENDING_CONFIG');
    // Then the Google half is deleted: gone (404), AWS stays deleted
    expect(await gcp.deleteTransport('lk-01jgcp0first0000000000000')).toEqual({ alreadyGone: false });
    await expect(gcp.getTransport('lk-01jgcp0first0000000000000')).rejects.toBeInstanceOf(NotFound);
    expect(await gcp.deleteTransport('lk-01jgcp0first0000000000000')).toEqual({ alreadyGone: true });
  });
});

describe("mismatched keys are refused in each provider's shape and nothing is created", () => {
  it('Google refuses an AWS key for another project, another bandwidth, or garbage', async () => {
    // Prepare
    const forOther = await createAwsFirst('1Gbps', 'someone-elses-project');
    const forUs = await createAwsFirst('1Gbps');
    const before = (await gcp.listAllTransports()).items.length;
    // Act / Assess
    await expect(
      gcp.createTransport('lk-wrong-account', {
        network: NETWORK,
        providedActivationKey: forOther.activationKey,
      }),
    ).rejects.toThrow(InvalidArgument);
    const wrongBw = await gcp
      .createTransport('lk-wrong-bandwidth', {
        network: NETWORK,
        providedActivationKey: forUs.activationKey,
        bandwidth: 'BPS_10G',
      })
      .catch((e: unknown) => e);
    expect(wrongBw).toBeInstanceOf(InvalidArgument);
    expect((wrongBw as InvalidArgument).httpStatus).toBe(400);
    expect((wrongBw as InvalidArgument).status).toBe('INVALID_ARGUMENT');
    expect((wrongBw as Error).message).toMatch(/bandwidth must not be set with providedActivationKey/);
    await expect(
      gcp.createTransport('lk-garbage', {
        network: NETWORK,
        providedActivationKey: 'bm90LWEta2V5',
      }),
    ).rejects.toThrow(InvalidArgument);
    // Nothing created on either side
    expect((await gcp.listAllTransports()).items.length).toBe(before);
    await expect(gcp.getTransport('lk-wrong-bandwidth')).rejects.toBeInstanceOf(NotFound);
    expect((await awsConnection(forUs.id)).state).toBe('requested');
    expect((await awsConnection(forOther.id)).state).toBe('requested');
  });

  it('AWS refuses a Google key for another account or garbage, and a withdrawn (expired) key', async () => {
    // Prepare
    const created = await gcp.createTransport('lk-key-for-other', {
      network: NETWORK,
      remoteProfile: `projects/${cloud.gcp.project}/locations/us-east4/remoteTransportProfiles/aws-us-east-1`,
      bandwidth: 'BPS_1G',
      remoteAccountId: '111122223333',
    });
    const countBefore = ((await aws.send(new ListConnectionsCommand({}))).connections ?? []).length;
    // Act / Assess
    await expect(
      aws.send(
        new AcceptConnectionProposalCommand({
          attachPoint: { directConnectGateway: gateway },
          activationKey: created.activationKey!,
        }),
      ),
    ).rejects.toBeInstanceOf(InterconnectClientException);
    await expect(
      aws.send(
        new AcceptConnectionProposalCommand({
          attachPoint: { directConnectGateway: gateway },
          activationKey: 'garbage!',
        }),
      ),
    ).rejects.toThrow();
    const ours = await gcp.createTransport('lk-key-expires', {
      network: NETWORK,
      remoteProfile: `projects/${cloud.gcp.project}/locations/us-east4/remoteTransportProfiles/aws-us-east-1`,
      bandwidth: 'BPS_1G',
      remoteAccountId: AWS_ACCOUNT,
    });
    await admin(cloud, 'POST', '/gcp/networkconnectivity/expire-key', { name: 'lk-key-expires' });
    await expect(
      aws.send(
        new AcceptConnectionProposalCommand({
          attachPoint: { directConnectGateway: gateway },
          activationKey: ours.activationKey!,
        }),
      ),
    ).rejects.toThrow();
    expect(((await aws.send(new ListConnectionsCommand({}))).connections ?? []).length).toBe(countBefore);
    expect((await gcp.getTransport('lk-key-expires')).state).toBe('PENDING_KEY');
  });

  it('an AWS key that expired (world fault) cannot be redeemed', async () => {
    const conn = await createAwsFirst();
    expect(await admin(cloud, 'POST', '/world/expire-key', { sharedId: conn.sharedId })).toEqual({
      sharedId: conn.sharedId,
      expired: 'aws',
    });
    expect((await awsConnection(conn.id)).state).toBe('failed');
    const err = await gcp
      .createTransport('lk-expired-aws-key', {
        network: NETWORK,
        providedActivationKey: conn.activationKey,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailedPrecondition);
    await expect(gcp.getTransport('lk-expired-aws-key')).rejects.toBeInstanceOf(NotFound);
  });
});

describe('faults and routes', () => {
  it('link down / up, flapping, and the routes an up link carries', async () => {
    // Prepare: an up link with routes on both sides
    const conn = await createAwsFirst();
    await gcp.createTransport('lk-routes', {
      network: NETWORK,
      providedActivationKey: conn.activationKey,
      advertisedRoutes: ['10.50.0.0/16', '10.51.0.0/16'],
    });
    cloud.world.setAllowedPrefixes(AWS_ACCOUNT, gateway, ['172.16.0.0/16']);
    await cloud.clock.advance(10 * 60_000);
    expect(cloud.world.isUp(conn.sharedId)).toBe(true);
    expect(
      cloud.world
        .routesToGcp({ network: NETWORK })
        .filter((r) => r.sharedId === conn.sharedId)
        .map((r) => r.prefix),
    ).toEqual(['172.16.0.0/16']);
    expect(
      cloud.world
        .routesToAws({ accountId: AWS_ACCOUNT })
        .filter((r) => r.sharedId === conn.sharedId)
        .map((r) => r.prefix),
    ).toEqual(['10.50.0.0/16', '10.51.0.0/16']);

    // Act: link down
    await admin(cloud, 'POST', '/world/link-down', { sharedId: conn.sharedId });
    await cloud.clock.advance(30_000);
    // Assess
    expect((await awsConnection(conn.id)).state).toBe('down');
    expect((await gcp.getTransport('lk-routes')).state).toBe('PENDING_CONFIG');
    expect(cloud.world.routesToAws().filter((r) => r.sharedId === conn.sharedId)).toEqual([]);
    // Up again: AWS at once, Google after its configuration delay
    await admin(cloud, 'POST', '/world/link-up', { sharedId: conn.sharedId });
    expect((await awsConnection(conn.id)).state).toBe('available');
    await cloud.clock.advance(5 * 60_000);
    expect((await gcp.getTransport('lk-routes')).state).toBe('ACTIVE');

    // Flapping: down, up, down on the period
    await admin(cloud, 'POST', '/world/flap', { sharedId: conn.sharedId, period: '1m' });
    expect((await awsConnection(conn.id)).state).toBe('down');
    await cloud.clock.advance(60_000);
    expect((await awsConnection(conn.id)).state).toBe('available');
    await cloud.clock.advance(60_000);
    expect((await awsConnection(conn.id)).state).toBe('down');
    await admin(cloud, 'POST', '/world/flap-stop', { sharedId: conn.sharedId });
    expect((await awsConnection(conn.id)).state).toBe('available');

    // Disabling the transport withdraws the link (AWS down), enabling brings it back
    await gcp.updateTransport('lk-routes', { adminEnabled: false });
    await cloud.clock.advance(30_000);
    expect((await awsConnection(conn.id)).state).toBe('down');
    expect((await gcp.getTransport('lk-routes')).adminEnabled).toBeUndefined();
    await gcp.updateTransport('lk-routes', { adminEnabled: true });
    await cloud.clock.advance(30_000);
    expect((await awsConnection(conn.id)).state).toBe('available');
  });

  it('a region outage: the transport is missing from the list with unreachable set, and Get says UNAVAILABLE, not 404', async () => {
    const created = await gcp.createTransport('lk-outage', {
      network: NETWORK,
      remoteProfile: `projects/${cloud.gcp.project}/locations/us-east4/remoteTransportProfiles/aws-us-east-1`,
      bandwidth: 'BPS_1G',
      remoteAccountId: AWS_ACCOUNT,
    });
    expect(created.transport?.name).toContain('lk-outage');
    await admin(cloud, 'POST', '/world/region-outage', { gcpRegion: 'us-east4', on: true });
    const all = await gcp.listAllTransports({ location: '-' });
    expect(all.items.map((t) => t.name)).not.toContain(created.transport!.name);
    expect(all.unreachable).toEqual([`projects/${cloud.gcp.project}/locations/us-east4`]);
    const err = await new TransportClient({
      project: cloud.gcp.project,
      location: 'us-east4',
      endpoint: cloud.gcp.endpoint,
      auth: jwtClient(cloud.gcp.auth.keyFile('crosslink')),
      maxRetries: 0,
    })
      .getTransport('lk-outage')
      .catch((e: unknown) => e);
    expect((err as { status: string }).status).toBe('UNAVAILABLE');
    // A watcher confirming the disappearance gets "unknown", never "absent"
    const noRetry = new TransportClient({
      project: cloud.gcp.project,
      location: 'us-east4',
      endpoint: cloud.gcp.endpoint,
      auth: jwtClient(cloud.gcp.auth.keyFile('crosslink')),
      maxRetries: 1,
      sleep: async () => {},
    });
    expect(await noRetry.transportPresence('lk-outage')).toBe('unknown');
    await admin(cloud, 'POST', '/world/region-outage', { gcpRegion: 'us-east4', on: false });
    expect((await gcp.getTransport('lk-outage')).state).toBe('PENDING_KEY');
    expect(await gcp.transportPresence('lk-outage')).toBe('present');
    expect(await gcp.transportPresence('lk-never-made')).toBe('absent');
  });
});
