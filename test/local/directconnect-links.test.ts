/**
 * Direct Connect allowed prefixes reach the link world: what the Google side learns over an up
 * link is what UpdateDirectConnectGatewayAssociation left on the link's Direct Connect gateway,
 * once the update completes on the virtual clock (DX admin / standard client on the AWS edge, our
 * TransportManager client on the Google edge).
 */

import {
  CreateDirectConnectGatewayAssociationCommand,
  DirectConnectClient,
  UpdateDirectConnectGatewayAssociationCommand,
} from '@aws-sdk/client-direct-connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateConnectionCommand, ListAttachPointsCommand } from '#aws/interconnect-client.ts';
import { jwtClient } from '#gcp/google-credentials.ts';
import { TransportClient } from '#gcp/transport-client.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, admin, interconnectClient, startTestCloud } from '../support/local-cloud.ts';

const NETWORK = 'projects/crosslink-local/global/networks/core';
let cloud: LocalCloud;

beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud?.stop();
});

describe('Direct Connect allowed prefixes and links', () => {
  it('the Google side learns the association prefixes of the link gateway, after each update completes', async () => {
    // Prepare: an up link on the account's default Direct Connect gateway
    const aws = interconnectClient(cloud);
    const gcp = new TransportClient({
      project: cloud.gcp.project,
      location: 'us-east4',
      endpoint: cloud.gcp.endpoint,
      auth: jwtClient(cloud.gcp.auth.keyFile('crosslink')),
      sleep: (ms) => cloud.clock.advance(ms),
      retryBaseDelayMs: 1,
    });
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
    await gcp.createTransport('lk-dx', {
      network: NETWORK,
      providedActivationKey: conn.activationKey,
      advertisedRoutes: ['10.50.0.0/16'],
    });
    await cloud.clock.advance(10 * 60_000);
    const learned = () =>
      cloud.world
        .routesToGcp({ network: NETWORK })
        .filter((r) => r.sharedId === conn.sharedId)
        .map((r) => r.prefix)
        .sort();
    const { vpc } = await admin(cloud, 'POST', '/aws/ec2/add-vpc', { cidrBlocks: ['10.0.0.0/16'] });
    const { vpnGateway } = await admin(cloud, 'POST', '/aws/ec2/add-vpn-gateway', { vpcId: vpc.vpcId });
    const dx = new DirectConnectClient({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    // Act / Assess: associating advertises the VPC once associated
    const created = await dx.send(
      new CreateDirectConnectGatewayAssociationCommand({
        directConnectGatewayId: gateway,
        gatewayId: vpnGateway.vpnGatewayId,
      }),
    );
    expect(cloud.world.isUp(conn.sharedId)).toBe(true);
    expect(learned()).toEqual([]);
    await cloud.clock.advance(3 * 60_000);
    expect(learned()).toEqual(['10.0.0.0/16']);
    // An update shows in the API at once, on the link only when it completes
    await dx.send(
      new UpdateDirectConnectGatewayAssociationCommand({
        associationId: created.directConnectGatewayAssociation?.associationId,
        addAllowedPrefixesToDirectConnectGateway: [{ cidr: '10.9.0.0/16' }],
      }),
    );
    expect(learned()).toEqual(['10.0.0.0/16']);
    await cloud.clock.advance(2 * 60_000);
    expect(learned()).toEqual(['10.0.0.0/16', '10.9.0.0/16']);
  });
});
