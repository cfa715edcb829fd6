/**
 * The decommission drain seen through the standard clients, across EC2, Direct Connect and
 * CloudWatch on one network model: a VPN on a Transit Gateway carries a more-specific prefix than
 * the link; disabling the VPN attachment's propagation moves the traffic to the link (route search
 * says so) and the VPN's TunnelDataOut falls to zero while the traffic is still delivered.
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateDirectConnectGatewayAssociationCommand,
  DescribeDirectConnectGatewaysCommand,
  DirectConnectClient,
} from '@aws-sdk/client-direct-connect';
import {
  DescribeTransitGatewayAttachmentsCommand,
  DisableTransitGatewayRouteTablePropagationCommand,
  EC2Client,
  SearchTransitGatewayRoutesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkOf } from '#local/aws/common/network.ts';
import { allowedPrefixes } from '#local/aws/services/directconnect.ts';
import type { LocalCloud } from '#local/index.ts';
import { StaticLinks } from '#local/world/network.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';

const ACCOUNT = '000000000000';
const T0 = Date.parse('2026-06-01T00:00:00Z');
const MIN = 60_000;
let cloud: LocalCloud;
let ec2: EC2Client;
let tgw: { transitGatewayId: string; propagationDefaultRouteTableId: string };
let vpnId: string;

beforeAll(async () => {
  cloud = await startTestCloud();
  const clientConfig = { region: 'us-east-1', endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  ec2 = new EC2Client(clientConfig);
  const dx = new DirectConnectClient(clientConfig);
  await admin(cloud, 'POST', '/aws/ec2/add-gcp-network', {
    project: 'net-prod',
    name: 'core',
    subnets: [{ name: 'app', region: 'us-east4', ipCidrRange: '10.128.0.0/20' }],
  });
  const { vpc } = await admin(cloud, 'POST', '/aws/ec2/add-vpc', { cidrBlocks: ['10.2.0.0/16'] });
  tgw = (await admin(cloud, 'POST', '/aws/ec2/add-transit-gateway', { vpcIds: [vpc.vpcId] })).transitGateway;
  await admin(cloud, 'POST', '/aws/ec2/add-route', {
    routeTableId: vpc.mainRouteTableId,
    destinationCidrBlock: '10.128.0.0/9',
    transitGatewayId: tgw.transitGatewayId,
  });
  vpnId = (
    await admin(cloud, 'POST', '/aws/ec2/build-vpn', {
      name: 'vpn-tgw',
      aws: { vpcId: vpc.vpcId, transitGatewayId: tgw.transitGatewayId },
      gcp: { project: 'net-prod', region: 'us-east4', network: 'core' },
    })
  ).vpn.vpnConnectionId;
  // The link: its Direct Connect gateway associated with the TGW, advertising the VPC to Google and
  // learning a Google /16 (less specific than the VPN's /20).
  const dxgw = (await dx.send(new DescribeDirectConnectGatewaysCommand({}))).directConnectGateways?.[0]
    ?.directConnectGatewayId as string;
  await dx.send(
    new CreateDirectConnectGatewayAssociationCommand({
      directConnectGatewayId: dxgw,
      gatewayId: tgw.transitGatewayId,
      addAllowedPrefixesToDirectConnectGateway: [{ cidr: '10.2.0.0/16' }],
    }),
  );
  await cloud.clock.advance(3 * MIN);
  const links = new StaticLinks();
  networkOf(cloud.aws.edge.world).setLinkSource(links);
  links.set({
    linkId: 'lk-01',
    up: true,
    aws: { accountId: ACCOUNT, dxGatewayId: dxgw },
    gcp: { project: 'net-prod', network: 'core' },
    toGcp: allowedPrefixes(cloud.aws.edge.world, ACCOUNT, dxgw),
    toAws: ['10.128.0.0/16'],
  });
  await admin(cloud, 'POST', '/aws/ec2/add-flow', {
    name: 'a2g',
    from: vpc.vpcId,
    to: '10.128.1.10',
    bytesPerSecond: 1000,
  });
});
afterAll(async () => {
  await cloud?.stop();
});

const bestFor = async (ip: string) =>
  (
    await ec2.send(
      new SearchTransitGatewayRoutesCommand({
        TransitGatewayRouteTableId: tgw.propagationDefaultRouteTableId,
        Filters: [{ Name: 'route-search.longest-prefix-match', Values: [`${ip}/32`] }],
      }),
    )
  ).Routes?.[0];

describe('draining a Transit Gateway VPN behind a link', () => {
  it('moves the traffic from the VPN to the link, and the VPN metrics show it', async () => {
    // Prepare: an hour with the VPN carrying the more-specific route.
    const before = await bestFor('10.128.1.10');
    await cloud.clock.advance(60 * MIN);
    // Act: the per-VPN drain.
    const att = (
      await ec2.send(
        new DescribeTransitGatewayAttachmentsCommand({ Filters: [{ Name: 'resource-id', Values: [vpnId] }] }),
      )
    ).TransitGatewayAttachments?.[0]?.TransitGatewayAttachmentId;
    await ec2.send(
      new DisableTransitGatewayRouteTablePropagationCommand({
        TransitGatewayRouteTableId: tgw.propagationDefaultRouteTableId,
        TransitGatewayAttachmentId: att,
      }),
    );
    const after = await bestFor('10.128.1.10');
    await cloud.clock.advance(60 * MIN + 5 * MIN);
    const cw = new CloudWatchClient({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    const metrics = await cw.send(
      new GetMetricDataCommand({
        StartTime: new Date(T0),
        EndTime: new Date(T0 + 3 * MIN + 2 * 3600_000),
        ScanBy: 'TimestampAscending',
        MetricDataQueries: [
          {
            Id: 'out',
            MetricStat: {
              Metric: {
                Namespace: 'AWS/VPN',
                MetricName: 'TunnelDataOut',
                Dimensions: [{ Name: 'VpnId', Value: vpnId }],
              },
              Period: 3600,
              Stat: 'Sum',
            },
          },
        ],
      }),
    );
    const flow = networkOf(cloud.aws.edge.world).flow('a2g');
    // Assess
    expect(before?.DestinationCidrBlock).toBe('10.128.0.0/20');
    expect(before?.TransitGatewayAttachments?.[0]?.ResourceType).toBe('vpn');
    expect(after?.DestinationCidrBlock).toBe('10.128.0.0/16');
    expect(after?.TransitGatewayAttachments?.[0]?.ResourceType).toBe('direct-connect-gateway');
    const [firstHour, secondHour] = metrics.MetricDataResults?.[0]?.Values ?? [];
    // 1000 B/s from 00:03 (the flow starts) to 01:03 (the drain), nothing after.
    expect(firstHour).toBe(57 * 60 * 1000);
    expect(secondHour).toBe(3 * 60 * 1000);
    expect(flow.path).toMatchObject({ delivered: true, via: { kind: 'link', linkId: 'lk-01' } });
  });
});
