/**
 * Direct Connect against the edge with the standard client: gateways, associations with a VGW
 * and a TGW of the network model, allowed prefixes updated on the virtual clock (and what the
 * link world reads through `allowedPrefixes`), pagination and errors.
 */
import {
  CreateDirectConnectGatewayAssociationCommand,
  CreateDirectConnectGatewayCommand,
  DeleteDirectConnectGatewayAssociationCommand,
  DescribeDirectConnectGatewayAssociationsCommand,
  DescribeDirectConnectGatewaysCommand,
  DirectConnectClient,
  UpdateDirectConnectGatewayAssociationCommand,
} from '@aws-sdk/client-direct-connect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkOf } from '#local/aws/common/network.ts';
import {
  allowedPrefixes,
  associatedGateways,
  onAllowedPrefixesChange,
} from '#local/aws/services/directconnect.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';

const ACCOUNT = '000000000000';
let cloud: LocalCloud;
let dx: DirectConnectClient;
let dxgw: string;
beforeAll(async () => {
  cloud = await startTestCloud();
  dx = new DirectConnectClient({
    region: 'us-east-1',
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
    maxAttempts: 1,
  });
  const gws = await dx.send(new DescribeDirectConnectGatewaysCommand({}));
  dxgw = gws.directConnectGateways?.[0]?.directConnectGatewayId as string;
});
afterAll(async () => {
  await cloud?.stop();
});

async function errorOf(p: Promise<unknown>): Promise<Error & { $metadata: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { $metadata: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

/** A VPC with an attached virtual private gateway, in the shared network model. */
function vpcWithVgw(cidr: string) {
  const net = networkOf(cloud.aws.edge.world);
  const vpc = net.addVpc({ accountId: ACCOUNT, region: 'us-east-1', cidrBlocks: [cidr] });
  const vgw = net.createVpnGateway({ accountId: ACCOUNT, region: 'us-east-1' });
  net.attachVpnGateway(vgw.vpnGatewayId, vpc.vpcId);
  return { vpc, vgw };
}

const describeAssoc = async (associationId: string) =>
  (await dx.send(new DescribeDirectConnectGatewayAssociationsCommand({ associationId })))
    .directConnectGatewayAssociations?.[0];

describe('Direct Connect', () => {
  it('lists the account default gateway and creates more', async () => {
    const created = await dx.send(
      new CreateDirectConnectGatewayCommand({ directConnectGatewayName: 'hub', amazonSideAsn: 64600 }),
    );
    const one = await dx.send(
      new DescribeDirectConnectGatewaysCommand({
        directConnectGatewayId: created.directConnectGateway?.directConnectGatewayId,
      }),
    );
    const badAsn = await errorOf(
      dx.send(new CreateDirectConnectGatewayCommand({ directConnectGatewayName: 'x', amazonSideAsn: 100 })),
    );
    expect(dxgw).toMatch(/^[0-9A-F-]{36}$/);
    expect(one.directConnectGateways).toEqual([
      expect.objectContaining({
        directConnectGatewayName: 'hub',
        amazonSideAsn: 64600,
        ownerAccount: ACCOUNT,
        directConnectGatewayState: 'available',
      }),
    ]);
    expect(badAsn.name).toBe('DirectConnectClientException');
  });

  it('associates a VGW (default prefixes: its VPC CIDR): associating, then associated on the virtual clock', async () => {
    // Prepare
    const { vgw } = vpcWithVgw('10.10.0.0/16');
    // Act
    const created = await dx.send(
      new CreateDirectConnectGatewayAssociationCommand({
        directConnectGatewayId: dxgw,
        gatewayId: vgw.vpnGatewayId,
      }),
    );
    const a = created.directConnectGatewayAssociation;
    const before = allowedPrefixes(cloud.aws.edge.world, ACCOUNT, dxgw);
    await cloud.clock.advance(3 * 60_000);
    const after = await describeAssoc(a?.associationId as string);
    // Assess
    expect(a).toMatchObject({
      associationState: 'associating',
      directConnectGatewayId: dxgw,
      associatedGateway: {
        id: vgw.vpnGatewayId,
        type: 'virtualPrivateGateway',
        ownerAccount: ACCOUNT,
        region: 'us-east-1',
      },
      virtualGatewayId: vgw.vpnGatewayId,
      allowedPrefixesToDirectConnectGateway: [{ cidr: '10.10.0.0/16' }],
    });
    expect(before).toEqual([]);
    expect(after?.associationState).toBe('associated');
    expect(allowedPrefixes(cloud.aws.edge.world, ACCOUNT, dxgw)).toEqual(['10.10.0.0/16']);
    expect(associatedGateways(cloud.aws.edge.world, dxgw)).toContain(vgw.vpnGatewayId);
    expect(
      networkOf(cloud.aws.edge.world).dxAssociations.get(dxgw.toUpperCase())?.has(vgw.vpnGatewayId),
    ).toBe(true);
  });

  it('updates allowed prefixes: listed at once, advertised when the update completes', async () => {
    // Prepare
    const { vgw } = vpcWithVgw('10.20.0.0/16');
    const { association } = await admin(cloud, 'POST', '/aws/directconnect/associate', {
      gatewayId: vgw.vpnGatewayId,
      allowedPrefixes: ['10.20.0.0/16'],
    });
    let notified = 0;
    const off = onAllowedPrefixesChange(cloud.aws.edge.world, () => notified++);
    // Act
    const updated = await dx.send(
      new UpdateDirectConnectGatewayAssociationCommand({
        associationId: association.associationId,
        addAllowedPrefixesToDirectConnectGateway: [{ cidr: '10.21.0.0/16' }],
        removeAllowedPrefixesToDirectConnectGateway: [{ cidr: '10.20.0.0/16' }],
      }),
    );
    const during = allowedPrefixes(cloud.aws.edge.world, ACCOUNT, dxgw);
    const busy = await errorOf(
      dx.send(
        new UpdateDirectConnectGatewayAssociationCommand({
          associationId: association.associationId,
          addAllowedPrefixesToDirectConnectGateway: [{ cidr: '10.22.0.0/16' }],
        }),
      ),
    );
    await cloud.clock.advance(2 * 60_000);
    const after = allowedPrefixes(cloud.aws.edge.world, ACCOUNT, dxgw);
    off();
    // Assess
    expect(updated.directConnectGatewayAssociation).toMatchObject({
      associationState: 'updating',
      allowedPrefixesToDirectConnectGateway: [{ cidr: '10.21.0.0/16' }],
    });
    expect(during).toContain('10.20.0.0/16');
    expect(during).not.toContain('10.21.0.0/16');
    expect(busy.name).toBe('DirectConnectClientException');
    expect((await describeAssoc(association.associationId))?.associationState).toBe('associated');
    expect(after).toContain('10.21.0.0/16');
    expect(after).not.toContain('10.20.0.0/16');
    expect(notified).toBe(1);
  });

  it('a stuck fault holds an update in updating until it is removed', async () => {
    const { vgw } = vpcWithVgw('10.30.0.0/16');
    const { association } = await admin(cloud, 'POST', '/aws/directconnect/associate', {
      gatewayId: vgw.vpnGatewayId,
    });
    const { fault } = await admin(cloud, 'POST', '/faults', {
      service: 'directconnect',
      kind: 'stuck',
      resource: association.associationId,
      state: 'updating',
    });
    await dx.send(
      new UpdateDirectConnectGatewayAssociationCommand({
        associationId: association.associationId,
        addAllowedPrefixesToDirectConnectGateway: [{ cidr: '10.31.0.0/16' }],
      }),
    );
    await cloud.clock.advance(30 * 60_000);
    expect((await describeAssoc(association.associationId))?.associationState).toBe('updating');
    await admin(cloud, 'DELETE', `/faults/${fault.id}`);
    await cloud.clock.advance(2 * 60_000);
    expect((await describeAssoc(association.associationId))?.associationState).toBe('associated');
  });

  it('TGW associations need explicit prefixes; deleting disassociates on the virtual clock', async () => {
    // Prepare
    const net = networkOf(cloud.aws.edge.world);
    const tgw = net.createTransitGateway({ accountId: ACCOUNT, region: 'us-east-1' });
    // Act
    const noPrefixes = await errorOf(
      dx.send(
        new CreateDirectConnectGatewayAssociationCommand({
          directConnectGatewayId: dxgw,
          gatewayId: tgw.transitGatewayId,
        }),
      ),
    );
    const created = await dx.send(
      new CreateDirectConnectGatewayAssociationCommand({
        directConnectGatewayId: dxgw,
        gatewayId: tgw.transitGatewayId,
        addAllowedPrefixesToDirectConnectGateway: [{ cidr: '10.40.0.0/14' }],
      }),
    );
    const id = created.directConnectGatewayAssociation?.associationId as string;
    const twice = await errorOf(
      dx.send(
        new CreateDirectConnectGatewayAssociationCommand({
          directConnectGatewayId: dxgw,
          gatewayId: tgw.transitGatewayId,
          addAllowedPrefixesToDirectConnectGateway: [{ cidr: '10.40.0.0/14' }],
        }),
      ),
    );
    await cloud.clock.advance(3 * 60_000);
    const deleting = await dx.send(new DeleteDirectConnectGatewayAssociationCommand({ associationId: id }));
    await cloud.clock.advance(2 * 60_000);
    const disassociated = await describeAssoc(id);
    await cloud.clock.advance(2 * 60_000);
    const gone = await describeAssoc(id);
    // Assess
    expect(noPrefixes.name).toBe('DirectConnectClientException');
    expect(created.directConnectGatewayAssociation?.associatedGateway?.type).toBe('transitGateway');
    expect(created.directConnectGatewayAssociation?.virtualGatewayId).toBeUndefined();
    expect(twice.name).toBe('DirectConnectClientException');
    expect(deleting.directConnectGatewayAssociation?.associationState).toBe('disassociating');
    expect(disassociated?.associationState).toBe('disassociated');
    expect(allowedPrefixes(cloud.aws.edge.world, ACCOUNT, dxgw)).not.toContain('10.40.0.0/14');
    expect(gone).toBeUndefined();
  });

  it('pages associations, refuses unknown ones, bad CIDRs, and a token reused with other filters', async () => {
    const first = await dx.send(
      new DescribeDirectConnectGatewayAssociationsCommand({ directConnectGatewayId: dxgw, maxResults: 1 }),
    );
    const second = await dx.send(
      new DescribeDirectConnectGatewayAssociationsCommand({
        directConnectGatewayId: dxgw,
        maxResults: 1,
        nextToken: first.nextToken,
      }),
    );
    const badToken = await errorOf(
      dx.send(
        new DescribeDirectConnectGatewayAssociationsCommand({ maxResults: 1, nextToken: first.nextToken }),
      ),
    );
    const unknown = await errorOf(
      dx.send(new UpdateDirectConnectGatewayAssociationCommand({ associationId: 'nope' })),
    );
    const { associations } = await admin(cloud, 'POST', '/aws/directconnect/associations', {
      accountId: ACCOUNT,
    });
    const someId = associations[0].associationId;
    const badCidr = await errorOf(
      dx.send(
        new UpdateDirectConnectGatewayAssociationCommand({
          associationId: someId,
          addAllowedPrefixesToDirectConnectGateway: [{ cidr: '10.0.0.1/16' }],
        }),
      ),
    );
    expect(first.directConnectGatewayAssociations).toHaveLength(1);
    expect(first.nextToken).toBeDefined();
    expect(second.directConnectGatewayAssociations?.[0]?.associationId).not.toBe(
      first.directConnectGatewayAssociations?.[0]?.associationId,
    );
    expect(badToken.name).toBe('DirectConnectClientException');
    expect(unknown.name).toBe('DirectConnectClientException');
    expect(unknown.$metadata.httpStatusCode).toBe(400);
    expect(badCidr.name).toBe('DirectConnectClientException');
  });
});
