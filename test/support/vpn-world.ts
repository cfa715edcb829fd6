/**
 * The two ends of IPsec VPNs in a local cloud, through its admin API: a Google network
 * (`net-prod/core`, subnet 10.128.0.0/20 in us-east4) and an AWS VPC (10.2.0.0/16) with a Transit
 * Gateway attached, then VPNs between them (`build-vpn`: both halves, their tunnels and BGP).
 */
import type { LocalCloud } from '#local/index.ts';
import { admin } from './local-cloud.ts';

export interface VpnWorld {
  vpc: { vpcId: string; mainRouteTableId: string };
  tgw: { transitGatewayId: string; propagationDefaultRouteTableId: string };
  /** A VPN from the VPC (on the Transit Gateway when `aws.transitGatewayId` is given) to net-prod/core. */
  buildVpn(name: string, aws?: object): Promise<{ vpnConnectionId: string; customerGatewayId: string }>;
}

export async function vpnWorld(cloud: LocalCloud): Promise<VpnWorld> {
  await admin(cloud, 'POST', '/aws/ec2/add-gcp-network', {
    project: 'net-prod',
    name: 'core',
    subnets: [{ name: 'app', region: 'us-east4', ipCidrRange: '10.128.0.0/20' }],
  });
  const { vpc } = await admin(cloud, 'POST', '/aws/ec2/add-vpc', { cidrBlocks: ['10.2.0.0/16'] });
  const tgw = (await admin(cloud, 'POST', '/aws/ec2/add-transit-gateway', { vpcIds: [vpc.vpcId] }))
    .transitGateway;
  return {
    vpc,
    tgw,
    buildVpn: async (name, aws = {}) =>
      (
        await admin(cloud, 'POST', '/aws/ec2/build-vpn', {
          name,
          aws: { vpcId: vpc.vpcId, ...aws },
          gcp: { project: 'net-prod', region: 'us-east4', network: 'core' },
        })
      ).vpn,
  };
}
