/**
 * The EC2 edge's answers, written out as `aws ec2 ... --output json` would (the SDK's output
 * objects as JSON), import into the VPN planner unchanged: VPN halves on a VGW and on a
 * Transit Gateway with its attachment, static routes, tunnel telemetry, ownership tags, VGW
 * propagation per VPC and the Transit Gateway routes with their attachments.
 */
import {
  DescribeCustomerGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeTransitGatewayAttachmentsCommand,
  DescribeTransitGatewayRouteTablesCommand,
  DescribeVpnConnectionsCommand,
  EC2Client,
  SearchTransitGatewayRoutesCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importAwsExport } from '#core/vpn/import-aws.ts';
import type { LocalCloud } from '#local/index.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';

let cloud: LocalCloud;
beforeAll(async () => {
  cloud = await startTestCloud();
});
afterAll(async () => {
  await cloud?.stop();
});

/** What the CLI prints: the output object without `$metadata`, dates as ISO strings. */
const exported = <T extends object>(out: T) => {
  const { $metadata: _, ...rest } = out as T & { $metadata?: unknown };
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
};

describe('EC2 answers as planner inventory', () => {
  it('imports VPN connections, customer gateways, route tables and Transit Gateway routes', async () => {
    // Prepare
    const gcp = { project: 'net-prod', region: 'us-east4', network: 'core' };
    await admin(cloud, 'POST', '/aws/ec2/add-gcp-network', {
      project: 'net-prod',
      name: 'core',
      subnets: [{ name: 'app', region: 'us-east4', ipCidrRange: '10.128.0.0/20' }],
    });
    const a = (await admin(cloud, 'POST', '/aws/ec2/add-vpc', { cidrBlocks: ['10.0.0.0/16'] })).vpc;
    const b = (await admin(cloud, 'POST', '/aws/ec2/add-vpc', { cidrBlocks: ['10.1.0.0/16'] })).vpc;
    const c = (await admin(cloud, 'POST', '/aws/ec2/add-vpc', { cidrBlocks: ['10.2.0.0/16'] })).vpc;
    const bgp = (
      await admin(cloud, 'POST', '/aws/ec2/build-vpn', { name: 'bgp', aws: { vpcId: a.vpcId }, gcp })
    ).vpn;
    const stat = (
      await admin(cloud, 'POST', '/aws/ec2/build-vpn', {
        name: 'static',
        routing: 'static',
        aws: { vpcId: b.vpcId, tags: { 'managed-by': 'terraform' } },
        gcp,
      })
    ).vpn;
    const { transitGateway: tgw } = await admin(cloud, 'POST', '/aws/ec2/add-transit-gateway', {
      vpcIds: [c.vpcId],
    });
    const viaTgw = (
      await admin(cloud, 'POST', '/aws/ec2/build-vpn', {
        name: 'tgw',
        aws: { vpcId: c.vpcId, transitGatewayId: tgw.transitGatewayId },
        gcp,
      })
    ).vpn;
    const ec2 = new EC2Client({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    const rtb = tgw.propagationDefaultRouteTableId as string;
    // Act: the exports, merged as `jq -s add` would
    const inventory = {
      ...exported(await ec2.send(new DescribeVpnConnectionsCommand({}))),
      ...exported(await ec2.send(new DescribeCustomerGatewaysCommand({}))),
      ...exported(await ec2.send(new DescribeRouteTablesCommand({}))),
      ...exported(await ec2.send(new DescribeTransitGatewayAttachmentsCommand({}))),
      ...exported(await ec2.send(new DescribeTransitGatewayRouteTablesCommand({}))),
      TransitGatewayRoutes: {
        [rtb]: exported(
          await ec2.send(
            new SearchTransitGatewayRoutesCommand({
              TransitGatewayRouteTableId: rtb,
              Filters: [{ Name: 'state', Values: ['active'] }],
            }),
          ),
        ),
      },
    };
    const imported = importAwsExport(inventory);
    // Assess
    const byId = new Map(imported.vpnConnections.map((v) => [v.vpnConnectionId, v]));
    expect(byId.get(bgp.vpnConnectionId)).toMatchObject({
      state: 'available',
      gateway: { kind: 'vgw', id: bgp.vpnGatewayId },
      staticRoutesOnly: false,
    });
    expect(byId.get(bgp.vpnConnectionId)?.tunnels.map((t) => t.status)).toEqual(['UP', 'UP']);
    expect(byId.get(stat.vpnConnectionId)).toMatchObject({
      staticRoutesOnly: true,
      tags: { 'managed-by': 'terraform' },
    });
    expect(imported.staticRoutes.get(stat.vpnConnectionId)?.map((r) => r.text)).toEqual(['10.128.0.0/20']);
    expect(byId.get(viaTgw.vpnConnectionId)).toMatchObject({
      gateway: { kind: 'tgw', id: tgw.transitGatewayId },
      transitGatewayAttachmentId: viaTgw.transitGatewayAttachmentId,
    });
    expect(imported.customerGateways).toHaveLength(3);
    expect(imported.vgwVpcs.get(bgp.vpnGatewayId)).toEqual([a.vpcId]);
    expect(imported.observedTransitGateways).toEqual([tgw.transitGatewayId]);
    expect(imported.tgwRoutes.map((r) => [r.prefix.text, r.attachments.map((x) => x.resourceType)])).toEqual([
      ['10.128.0.0/20', ['vpn']],
      ['10.2.0.0/16', ['vpc']],
    ]);
  });
});
