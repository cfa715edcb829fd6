/**
 * EC2 VPN and routing against the edge with the standard client, on the shared network model:
 * VPN connections (BGP on a VGW, static, on a Transit Gateway), customer gateways, static routes,
 * route tables and VGW propagation (whole-gateway: the link's routes go too), Transit Gateway
 * route search and per-attachment propagation, tags, pagination and EC2's errors.
 */
import {
  CreateTagsCommand,
  CreateVpnConnectionRouteCommand,
  DeleteCustomerGatewayCommand,
  DeleteTagsCommand,
  DeleteVpnConnectionCommand,
  DeleteVpnConnectionRouteCommand,
  DescribeCustomerGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeTagsCommand,
  DescribeTransitGatewayAttachmentsCommand,
  DescribeTransitGatewayRouteTablesCommand,
  DescribeVpnConnectionsCommand,
  DescribeVpnGatewaysCommand,
  DisableTransitGatewayRouteTablePropagationCommand,
  DisableVgwRoutePropagationCommand,
  EC2Client,
  EnableTransitGatewayRouteTablePropagationCommand,
  EnableVgwRoutePropagationCommand,
  GetTransitGatewayRouteTablePropagationsCommand,
  SearchTransitGatewayRoutesCommand,
} from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkOf } from '#local/aws/common/network.ts';
import type { LocalCloud } from '#local/index.ts';
import { StaticLinks } from '#local/world/network.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';

const ACCOUNT = '000000000000';
const PROJECT = 'net-prod';
let cloud: LocalCloud;
let ec2: EC2Client;
const gcp = { project: PROJECT, region: 'us-east4', network: 'core' };
let bgp: { vpnConnectionId: string; customerGatewayId: string; vpnGatewayId: string };
let stat: { vpnConnectionId: string; customerGatewayId: string };
let viaTgw: { vpnConnectionId: string };
let vpcBgp: { vpcId: string; mainRouteTableId: string };
let tgw: { transitGatewayId: string; propagationDefaultRouteTableId: string };

beforeAll(async () => {
  cloud = await startTestCloud();
  ec2 = new EC2Client({
    region: 'us-east-1',
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
    maxAttempts: 1,
  });
  await admin(cloud, 'POST', '/aws/ec2/add-gcp-network', {
    project: PROJECT,
    name: 'core',
    subnets: [{ name: 'app', region: 'us-east4', ipCidrRange: '10.128.0.0/20' }],
  });
  vpcBgp = (await admin(cloud, 'POST', '/aws/ec2/add-vpc', { cidrBlocks: ['10.0.0.0/16'] })).vpc;
  const vpcStatic = (await admin(cloud, 'POST', '/aws/ec2/add-vpc', { cidrBlocks: ['10.1.0.0/16'] })).vpc;
  const vpcTgw = (await admin(cloud, 'POST', '/aws/ec2/add-vpc', { cidrBlocks: ['10.2.0.0/16'] })).vpc;
  bgp = (
    await admin(cloud, 'POST', '/aws/ec2/build-vpn', {
      name: 'vpn-bgp',
      aws: { vpcId: vpcBgp.vpcId, tags: { team: 'net' } },
      gcp,
    })
  ).vpn;
  stat = (
    await admin(cloud, 'POST', '/aws/ec2/build-vpn', {
      name: 'vpn-static',
      routing: 'static',
      aws: { vpcId: vpcStatic.vpcId, tags: { 'managed-by': 'terraform' } },
      gcp,
    })
  ).vpn;
  tgw = (await admin(cloud, 'POST', '/aws/ec2/add-transit-gateway', { vpcIds: [vpcTgw.vpcId] }))
    .transitGateway;
  await admin(cloud, 'POST', '/aws/ec2/add-route', {
    routeTableId: vpcTgw.mainRouteTableId,
    destinationCidrBlock: '10.128.0.0/9',
    transitGatewayId: tgw.transitGatewayId,
  });
  viaTgw = (
    await admin(cloud, 'POST', '/aws/ec2/build-vpn', {
      name: 'vpn-tgw',
      aws: { vpcId: vpcTgw.vpcId, transitGatewayId: tgw.transitGatewayId },
      gcp,
    })
  ).vpn;
});
afterAll(async () => {
  await cloud?.stop();
});

async function errorOf(
  p: Promise<unknown>,
): Promise<Error & { Code?: string; $metadata: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { $metadata: { httpStatusCode?: number } };
  }
  throw new Error('expected the call to fail');
}

const vpn = async (id: string) =>
  (await ec2.send(new DescribeVpnConnectionsCommand({ VpnConnectionIds: [id] }))).VpnConnections?.[0];
const mainTable = async (vpcId: string) =>
  (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })))
    .RouteTables?.[0];

describe('EC2: VPN connections and customer gateways', () => {
  it('describes VPN connections with options, tunnels, telemetry, routes and tags', async () => {
    // Act
    const all = await ec2.send(new DescribeVpnConnectionsCommand({}));
    const b = await vpn(bgp.vpnConnectionId);
    const s = await vpn(stat.vpnConnectionId);
    // Assess
    expect(all.VpnConnections?.map((v) => v.VpnConnectionId).sort()).toEqual(
      [bgp.vpnConnectionId, stat.vpnConnectionId, viaTgw.vpnConnectionId].sort(),
    );
    expect(b).toMatchObject({
      State: 'available',
      Type: 'ipsec.1',
      Category: 'VPN',
      CustomerGatewayId: bgp.customerGatewayId,
      VpnGatewayId: bgp.vpnGatewayId,
      Options: { StaticRoutesOnly: false },
      Tags: [{ Key: 'team', Value: 'net' }],
    });
    expect(b?.Options?.TunnelOptions).toHaveLength(2);
    expect(b?.VgwTelemetry?.map((t) => t.Status)).toEqual(['UP', 'UP']);
    expect(b?.VgwTelemetry?.[0]?.StatusMessage).toMatch(/BGP ROUTES/);
    expect(b?.VgwTelemetry?.[0]?.LastStatusChange?.toISOString()).toBe('2026-06-01T00:00:00.000Z');
    expect(b?.CustomerGatewayConfiguration).toContain(`<vpn_connection id="${bgp.vpnConnectionId}">`);
    expect(s?.Options?.StaticRoutesOnly).toBe(true);
    expect(s?.Routes).toEqual([
      { DestinationCidrBlock: '10.128.0.0/20', Source: 'Static', State: 'available' },
    ]);
    expect((await vpn(viaTgw.vpnConnectionId))?.TransitGatewayId).toBe(tgw.transitGatewayId);
  });

  it('filters VPN connections (static routing, tags, gateway) and refuses unknown ids and filters', async () => {
    const statics = await ec2.send(
      new DescribeVpnConnectionsCommand({
        Filters: [{ Name: 'option.static-routes-only', Values: ['true'] }],
      }),
    );
    const terraform = await ec2.send(
      new DescribeVpnConnectionsCommand({ Filters: [{ Name: 'tag:managed-by', Values: ['terra*'] }] }),
    );
    const onTgw = await ec2.send(
      new DescribeVpnConnectionsCommand({
        Filters: [{ Name: 'transit-gateway-id', Values: [tgw.transitGatewayId] }],
      }),
    );
    const unknown = await errorOf(
      ec2.send(new DescribeVpnConnectionsCommand({ VpnConnectionIds: ['vpn-0123456789abcdef0'] })),
    );
    const badFilter = await errorOf(
      ec2.send(new DescribeVpnConnectionsCommand({ Filters: [{ Name: 'color', Values: ['red'] }] })),
    );
    expect(statics.VpnConnections?.map((v) => v.VpnConnectionId)).toEqual([stat.vpnConnectionId]);
    expect(terraform.VpnConnections?.map((v) => v.VpnConnectionId)).toEqual([stat.vpnConnectionId]);
    expect(onTgw.VpnConnections?.map((v) => v.VpnConnectionId)).toEqual([viaTgw.vpnConnectionId]);
    expect(unknown.name).toBe('InvalidVpnConnectionID.NotFound');
    expect(unknown.message).toBe("The vpnConnection ID 'vpn-0123456789abcdef0' does not exist");
    expect(unknown.$metadata.httpStatusCode).toBe(400);
    expect(badFilter.name).toBe('InvalidParameterValue');
  });

  it('static routes: only on static VPNs; create, delete (listed as deleted), delete again is InvalidRoute.NotFound', async () => {
    const onBgp = await errorOf(
      ec2.send(
        new CreateVpnConnectionRouteCommand({
          VpnConnectionId: bgp.vpnConnectionId,
          DestinationCidrBlock: '10.129.0.0/16',
        }),
      ),
    );
    await ec2.send(
      new CreateVpnConnectionRouteCommand({
        VpnConnectionId: stat.vpnConnectionId,
        DestinationCidrBlock: '10.129.0.0/16',
      }),
    );
    const added = (await vpn(stat.vpnConnectionId))?.Routes;
    await ec2.send(
      new DeleteVpnConnectionRouteCommand({
        VpnConnectionId: stat.vpnConnectionId,
        DestinationCidrBlock: '10.129.0.0/16',
      }),
    );
    const removed = (await vpn(stat.vpnConnectionId))?.Routes;
    const again = await errorOf(
      ec2.send(
        new DeleteVpnConnectionRouteCommand({
          VpnConnectionId: stat.vpnConnectionId,
          DestinationCidrBlock: '10.129.0.0/16',
        }),
      ),
    );
    const badCidr = await errorOf(
      ec2.send(
        new CreateVpnConnectionRouteCommand({
          VpnConnectionId: stat.vpnConnectionId,
          DestinationCidrBlock: 'nope',
        }),
      ),
    );
    expect(onBgp.name).toBe('IncorrectState');
    expect(added).toContainEqual({
      DestinationCidrBlock: '10.129.0.0/16',
      Source: 'Static',
      State: 'available',
    });
    expect(removed).toContainEqual({
      DestinationCidrBlock: '10.129.0.0/16',
      Source: 'Static',
      State: 'deleted',
    });
    expect(again.name).toBe('InvalidRoute.NotFound');
    expect(badCidr.name).toBe('InvalidParameterValue');
  });

  it('customer gateways: described; in use while its VPN lives; deleted after it', async () => {
    const cgws = await ec2.send(
      new DescribeCustomerGatewaysCommand({ CustomerGatewayIds: [stat.customerGatewayId] }),
    );
    const inUse = await errorOf(
      ec2.send(new DeleteCustomerGatewayCommand({ CustomerGatewayId: stat.customerGatewayId })),
    );
    expect(cgws.CustomerGateways?.[0]).toMatchObject({
      CustomerGatewayId: stat.customerGatewayId,
      State: 'available',
      Type: 'ipsec.1',
    });
    expect(cgws.CustomerGateways?.[0]?.IpAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(inUse.name).toBe('IncorrectState');
  });
});

describe('EC2: route tables and VGW propagation', () => {
  it('a VPC route table shows local and propagated routes with origin and state, and its propagating VGW', async () => {
    const t = await mainTable(vpcBgp.vpcId);
    expect(t?.PropagatingVgws).toEqual([{ GatewayId: bgp.vpnGatewayId }]);
    expect(t?.Associations?.[0]).toMatchObject({ Main: true, RouteTableId: vpcBgp.mainRouteTableId });
    expect(t?.Routes).toEqual(
      expect.arrayContaining([
        {
          DestinationCidrBlock: '10.0.0.0/16',
          GatewayId: 'local',
          Origin: 'CreateRouteTable',
          State: 'active',
        },
        {
          DestinationCidrBlock: '10.128.0.0/20',
          GatewayId: bgp.vpnGatewayId,
          Origin: 'EnableVgwRoutePropagation',
          State: 'active',
        },
      ]),
    );
  });

  it("DisableVgwRoutePropagation withdraws every route of the gateway, the link's included; Enable brings them back", async () => {
    // Prepare: a link on the Direct Connect gateway associated with this VGW, carrying a Google /16.
    const dxgw = (
      await admin(cloud, 'POST', '/aws/directconnect/associate', {
        gatewayId: bgp.vpnGatewayId,
        allowedPrefixes: ['10.0.0.0/16'],
      })
    ).association.directConnectGatewayId;
    const links = new StaticLinks();
    networkOf(cloud.aws.edge.world).setLinkSource(links);
    links.set({
      linkId: 'lk-01',
      up: true,
      aws: { accountId: ACCOUNT, dxGatewayId: dxgw },
      gcp: { project: PROJECT, network: 'core' },
      toGcp: ['10.0.0.0/16'],
      toAws: ['10.128.0.0/16'],
    });
    const before = (await mainTable(vpcBgp.vpcId))?.Routes?.map((r) => r.DestinationCidrBlock);
    // Act
    await ec2.send(
      new DisableVgwRoutePropagationCommand({
        RouteTableId: vpcBgp.mainRouteTableId,
        GatewayId: bgp.vpnGatewayId,
      }),
    );
    const disabled = await mainTable(vpcBgp.vpcId);
    await ec2.send(
      new EnableVgwRoutePropagationCommand({
        RouteTableId: vpcBgp.mainRouteTableId,
        GatewayId: bgp.vpnGatewayId,
      }),
    );
    const enabled = await mainTable(vpcBgp.vpcId);
    // Assess
    expect(before).toEqual(expect.arrayContaining(['10.128.0.0/16', '10.128.0.0/20']));
    expect(disabled?.PropagatingVgws).toEqual([]);
    expect(disabled?.Routes?.map((r) => r.DestinationCidrBlock)).toEqual(['10.0.0.0/16']);
    expect(enabled?.Routes?.map((r) => r.DestinationCidrBlock)).toEqual(
      expect.arrayContaining(['10.128.0.0/16', '10.128.0.0/20']),
    );
    networkOf(cloud.aws.edge.world).setLinkSource(new StaticLinks());
  });

  it("refuses a VGW not attached to the table's VPC and unknown tables", async () => {
    const other = await mainTable(
      (await admin(cloud, 'POST', '/aws/ec2/add-vpc', { cidrBlocks: ['10.3.0.0/16'] })).vpc.vpcId,
    );
    const notAttached = await errorOf(
      ec2.send(
        new EnableVgwRoutePropagationCommand({
          RouteTableId: other?.RouteTableId,
          GatewayId: bgp.vpnGatewayId,
        }),
      ),
    );
    const unknown = await errorOf(
      ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: ['rtb-00000000000000000'] })),
    );
    const unknownVgw = await errorOf(
      ec2.send(
        new DisableVgwRoutePropagationCommand({
          RouteTableId: other?.RouteTableId,
          GatewayId: 'vgw-00000000000000000',
        }),
      ),
    );
    expect(notAttached.name).toBe('Gateway.NotAttached');
    expect(unknown.name).toBe('InvalidRouteTableID.NotFound');
    expect(unknownVgw.name).toBe('InvalidVpnGatewayID.NotFound');
  });

  it('pages route tables with MaxResults / NextToken, and refuses ids with MaxResults', async () => {
    for (const c of ['10.4.0.0/16', '10.5.0.0/16', '10.6.0.0/16'])
      await admin(cloud, 'POST', '/aws/ec2/add-vpc', { cidrBlocks: [c] });
    const first = await ec2.send(new DescribeRouteTablesCommand({ MaxResults: 5 }));
    const second = await ec2.send(
      new DescribeRouteTablesCommand({ MaxResults: 5, NextToken: first.NextToken }),
    );
    const both = await errorOf(
      ec2.send(new DescribeRouteTablesCommand({ MaxResults: 5, RouteTableIds: [vpcBgp.mainRouteTableId] })),
    );
    const tooSmall = await errorOf(ec2.send(new DescribeRouteTablesCommand({ MaxResults: 2 })));
    const badToken = await errorOf(
      ec2.send(new DescribeRouteTablesCommand({ MaxResults: 5, NextToken: 'garbage' })),
    );
    expect(first.RouteTables).toHaveLength(5);
    expect(first.NextToken).toBeDefined();
    expect(second.RouteTables).toHaveLength(2);
    expect(second.NextToken).toBeUndefined();
    expect(
      new Set([...(first.RouteTables ?? []), ...(second.RouteTables ?? [])].map((t) => t.RouteTableId)).size,
    ).toBe(7);
    expect(both.name).toBe('InvalidParameterCombination');
    expect(tooSmall.name).toBe('InvalidParameterValue');
    expect(badToken.name).toBe('InvalidNextToken');
  });
});

describe('EC2: Transit Gateway', () => {
  async function vpnAttachment() {
    const out = await ec2.send(
      new DescribeTransitGatewayAttachmentsCommand({
        Filters: [{ Name: 'resource-id', Values: [viaTgw.vpnConnectionId] }],
      }),
    );
    return out.TransitGatewayAttachments?.[0]?.TransitGatewayAttachmentId as string;
  }
  const search = (filters: { Name: string; Values: string[] }[]) =>
    ec2.send(
      new SearchTransitGatewayRoutesCommand({
        TransitGatewayRouteTableId: tgw.propagationDefaultRouteTableId,
        Filters: filters,
      }),
    );

  it('SearchTransitGatewayRoutes shows propagated routes with their attachments', async () => {
    const propagated = await search([{ Name: 'type', Values: ['propagated'] }]);
    const fromVpn = await search([{ Name: 'attachment.resource-id', Values: [viaTgw.vpnConnectionId] }]);
    const longest = await search([{ Name: 'route-search.longest-prefix-match', Values: ['10.128.1.0/24'] }]);
    const noFilter = await errorOf(
      ec2.send(
        new SearchTransitGatewayRoutesCommand({
          TransitGatewayRouteTableId: tgw.propagationDefaultRouteTableId,
          Filters: [],
        }),
      ),
    );
    expect(propagated.Routes?.map((r) => r.DestinationCidrBlock)).toEqual(['10.128.0.0/20', '10.2.0.0/16']);
    expect(fromVpn.Routes).toEqual([
      {
        DestinationCidrBlock: '10.128.0.0/20',
        Type: 'propagated',
        State: 'active',
        TransitGatewayAttachments: [
          {
            ResourceId: viaTgw.vpnConnectionId,
            ResourceType: 'vpn',
            TransitGatewayAttachmentId: await vpnAttachment(),
          },
        ],
      },
    ]);
    expect(longest.Routes?.map((r) => r.DestinationCidrBlock)).toEqual(['10.128.0.0/20']);
    expect(propagated.AdditionalRoutesAvailable).toBe(false);
    expect(noFilter.name).toBe('MissingParameter');
  });

  it("disabling one attachment's propagation drains that VPN only; enabling restores it", async () => {
    const att = await vpnAttachment();
    const off = await ec2.send(
      new DisableTransitGatewayRouteTablePropagationCommand({
        TransitGatewayRouteTableId: tgw.propagationDefaultRouteTableId,
        TransitGatewayAttachmentId: att,
      }),
    );
    const drained = await search([{ Name: 'type', Values: ['propagated'] }]);
    const twice = await errorOf(
      ec2.send(
        new DisableTransitGatewayRouteTablePropagationCommand({
          TransitGatewayRouteTableId: tgw.propagationDefaultRouteTableId,
          TransitGatewayAttachmentId: att,
        }),
      ),
    );
    const on = await ec2.send(
      new EnableTransitGatewayRouteTablePropagationCommand({
        TransitGatewayRouteTableId: tgw.propagationDefaultRouteTableId,
        TransitGatewayAttachmentId: att,
      }),
    );
    const restored = await search([{ Name: 'type', Values: ['propagated'] }]);
    const unknown = await errorOf(
      ec2.send(
        new EnableTransitGatewayRouteTablePropagationCommand({
          TransitGatewayRouteTableId: tgw.propagationDefaultRouteTableId,
          TransitGatewayAttachmentId: 'tgw-attach-00000000000000000',
        }),
      ),
    );
    expect(off.Propagation).toMatchObject({
      TransitGatewayAttachmentId: att,
      ResourceId: viaTgw.vpnConnectionId,
      ResourceType: 'vpn',
      State: 'disabled',
    });
    expect(drained.Routes?.map((r) => r.DestinationCidrBlock)).toEqual(['10.2.0.0/16']);
    expect(twice.name).toBe('IncorrectState');
    expect(on.Propagation?.State).toBe('enabled');
    expect(restored.Routes?.map((r) => r.DestinationCidrBlock)).toEqual(['10.128.0.0/20', '10.2.0.0/16']);
    expect(unknown.name).toBe('InvalidTransitGatewayAttachmentID.NotFound');
  });

  it('lists the route tables of a Transit Gateway and which attachments propagate to one', async () => {
    const att = await vpnAttachment();
    const tables = await ec2.send(
      new DescribeTransitGatewayRouteTablesCommand({
        Filters: [{ Name: 'transit-gateway-id', Values: [tgw.transitGatewayId] }],
      }),
    );
    const props = await ec2.send(
      new GetTransitGatewayRouteTablePropagationsCommand({
        TransitGatewayRouteTableId: tgw.propagationDefaultRouteTableId,
      }),
    );
    await ec2.send(
      new DisableTransitGatewayRouteTablePropagationCommand({
        TransitGatewayRouteTableId: tgw.propagationDefaultRouteTableId,
        TransitGatewayAttachmentId: att,
      }),
    );
    const drained = await ec2.send(
      new GetTransitGatewayRouteTablePropagationsCommand({
        TransitGatewayRouteTableId: tgw.propagationDefaultRouteTableId,
        Filters: [{ Name: 'resource-type', Values: ['vpn'] }],
      }),
    );
    await ec2.send(
      new EnableTransitGatewayRouteTablePropagationCommand({
        TransitGatewayRouteTableId: tgw.propagationDefaultRouteTableId,
        TransitGatewayAttachmentId: att,
      }),
    );
    expect(tables.TransitGatewayRouteTables).toEqual([
      expect.objectContaining({
        TransitGatewayRouteTableId: tgw.propagationDefaultRouteTableId,
        DefaultPropagationRouteTable: true,
        State: 'available',
      }),
    ]);
    expect(props.TransitGatewayRouteTablePropagations?.map((p) => p.ResourceType).sort()).toEqual([
      'vpc',
      'vpn',
    ]);
    expect(drained.TransitGatewayRouteTablePropagations).toEqual([]);
  });
});

describe('EC2: tags, deletion and accounts', () => {
  it('tags any resource (crosslink:keep on a VPN, a route table) and describes them with pagination', async () => {
    await ec2.send(
      new CreateTagsCommand({
        Resources: [bgp.vpnConnectionId, vpcBgp.mainRouteTableId],
        Tags: [{ Key: 'crosslink:keep', Value: 'true' }],
      }),
    );
    const keep = await ec2.send(
      new DescribeVpnConnectionsCommand({ Filters: [{ Name: 'tag-key', Values: ['crosslink:keep'] }] }),
    );
    const tagged = await ec2.send(
      new DescribeTagsCommand({ Filters: [{ Name: 'key', Values: ['crosslink:keep'] }] }),
    );
    await ec2.send(
      new CreateTagsCommand({
        Resources: [bgp.customerGatewayId],
        Tags: [
          { Key: 'owner', Value: 'net' },
          { Key: 'env', Value: 'prod' },
        ],
      }),
    );
    const firstPage = await ec2.send(new DescribeTagsCommand({ MaxResults: 5 }));
    const secondPage = await ec2.send(
      new DescribeTagsCommand({ MaxResults: 5, NextToken: firstPage.NextToken }),
    );
    await ec2.send(
      new DeleteTagsCommand({ Resources: [vpcBgp.mainRouteTableId], Tags: [{ Key: 'crosslink:keep' }] }),
    );
    const after = await ec2.send(
      new DescribeTagsCommand({ Filters: [{ Name: 'key', Values: ['crosslink:keep'] }] }),
    );
    const unknown = await errorOf(
      ec2.send(
        new CreateTagsCommand({ Resources: ['vpn-00000000000000000'], Tags: [{ Key: 'a', Value: 'b' }] }),
      ),
    );
    expect(keep.VpnConnections?.map((v) => v.VpnConnectionId)).toEqual([bgp.vpnConnectionId]);
    expect(tagged.Tags?.map((t) => [t.ResourceId, t.ResourceType]).sort()).toEqual(
      [
        [bgp.vpnConnectionId, 'vpn-connection'],
        [vpcBgp.mainRouteTableId, 'route-table'],
      ].sort(),
    );
    expect((await mainTable(vpcBgp.vpcId))?.Tags).toEqual([]);
    expect(firstPage.Tags).toHaveLength(5);
    expect(secondPage.Tags).toHaveLength(1);
    expect(after.Tags?.map((t) => t.ResourceId)).toEqual([bgp.vpnConnectionId]);
    expect(unknown.name).toBe('InvalidVpnConnectionID.NotFound');
  });

  it('another account (assumed role) sees none of these resources', async () => {
    // The other account's role may describe and delete its VPNs.
    await admin(cloud, 'POST', '/aws/sts/put-role', {
      accountId: '111111111111',
      roleName: 'crosslink-hub-access',
      trust: ['000000000000'],
      policies: {
        vpn: {
          Version: '2012-10-17',
          Statement: {
            Effect: 'Allow',
            Action: ['ec2:DescribeVpnConnections', 'ec2:DescribeVpnGateways', 'ec2:DeleteVpnConnection'],
            Resource: '*',
          },
        },
      },
    });
    const sts = new STSClient({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    const { Credentials: c } = await sts.send(
      new AssumeRoleCommand({
        RoleArn: 'arn:aws:iam::111111111111:role/crosslink-hub-access',
        RoleSessionName: 'ec2',
      }),
    );
    const spoke = new EC2Client({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: {
        accessKeyId: c?.AccessKeyId as string,
        secretAccessKey: c?.SecretAccessKey as string,
        sessionToken: c?.SessionToken as string,
      },
    });
    expect((await spoke.send(new DescribeVpnConnectionsCommand({}))).VpnConnections).toEqual([]);
    expect((await spoke.send(new DescribeVpnGatewaysCommand({}))).VpnGateways).toEqual([]);
    const notHers = await errorOf(
      spoke.send(new DeleteVpnConnectionCommand({ VpnConnectionId: bgp.vpnConnectionId })),
    );
    expect(notHers.name).toBe('InvalidVpnConnectionID.NotFound');
  });

  it('DeleteVpnConnection: deleted, tunnels down, listed for an hour of virtual time, then gone; its customer gateway can go', async () => {
    await ec2.send(new DeleteVpnConnectionCommand({ VpnConnectionId: stat.vpnConnectionId }));
    const deleted = await vpn(stat.vpnConnectionId);
    const twice = await errorOf(
      ec2.send(new DeleteVpnConnectionCommand({ VpnConnectionId: stat.vpnConnectionId })),
    );
    await ec2.send(new DeleteCustomerGatewayCommand({ CustomerGatewayId: stat.customerGatewayId }));
    const cgw = await ec2.send(
      new DescribeCustomerGatewaysCommand({ CustomerGatewayIds: [stat.customerGatewayId] }),
    );
    await cloud.clock.advance(60 * 60_000);
    const gone = await errorOf(
      ec2.send(new DescribeVpnConnectionsCommand({ VpnConnectionIds: [stat.vpnConnectionId] })),
    );
    expect(deleted?.State).toBe('deleted');
    expect(deleted?.VgwTelemetry?.map((t) => t.Status)).toEqual(['DOWN', 'DOWN']);
    expect(twice.name).toBe('InvalidVpnConnectionID.NotFound');
    expect(cgw.CustomerGateways?.[0]?.State).toBe('deleted');
    expect(gone.name).toBe('InvalidVpnConnectionID.NotFound');
  });
});
