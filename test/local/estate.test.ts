/**
 * The estate (config/local-estate.yaml, local/estate.ts): every problem named by its field; the
 * Google side as local IAM settings and CROSSLINK_NETWORK_PROJECTS; the AWS side seeded into a
 * running local cloud (the Direct Connect gateway associated, its allowed prefixes the VPC's CIDRs).
 */
import {
  DescribeTransitGatewayAttachmentsCommand,
  DescribeVpnConnectionsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { applyEstateSettings, checkEstate, EstateError, loadEstate } from '#local/estate.ts';
import type { LocalCloud } from '#local/index.ts';
import { gcpNetworkId } from '#local/world/network.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud, upLink } from '../support/local-cloud.ts';

const DX = '90392BE3-219C-47FD-BBA5-03DF76D2542A';

/** A Google REST read as the local admin identity. */
async function gcpGet(cloud: LocalCloud, path: string) {
  const account = cloud.gcp.auth.accountByName('crosslink');
  const { token } = cloud.gcp.auth.issueAccessToken({
    email: account?.email as string,
    kind: 'service-account',
  });
  const res = await fetch(`${cloud.gcp.endpoint}${path}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { items?: { peerIp: string }[] };
}

const NET_SA = 'crosslink-net@payments-prod.iam.gserviceaccount.com';

describe('checkEstate', () => {
  it('accepts the shipped estate', () => {
    const e = loadEstate();
    expect(e.aws.directConnectGateways.map((g) => `${g.region} ${g.id}`)).toEqual([
      'us-east-1 90392BE3-219C-47FD-BBA5-03DF76D2542A',
      'us-west-2 5B2E8C41-7D3A-4F6B-9E10-2C4D6A8B0F13',
      'eu-central-1 8E4A1C27-3B5D-4A9F-B6C2-7D1E3F5A9B24',
    ]);
    expect(e.gcp.networkProjects.map((n) => n.project)).toEqual(['payments-prod']);
    expect(e.aws.vpns.map((v) => `${v.name} ${v.attach}`)).toEqual([
      'payments-vpn-vgw vpn-gateway',
      'payments-vpn-vgw-2 vpn-gateway',
      'payments-vpn-tgw transit-gateway',
    ]);
  });

  it('names every bad network and VPN field', () => {
    const gw = {
      accountId: '000000000000',
      region: 'us-east-1',
      id: DX,
      name: 'p',
      vpcCidrs: ['10.10.0.0/16'],
    };
    const bad = {
      version: 1,
      aws: {
        directConnectGateways: [gw],
        vpns: [
          {
            name: 'Bad Name',
            directConnectGateway: 'nope',
            attach: 'vgw',
            gcp: { project: 'x', network: 'y' },
          },
          {
            name: 'ok',
            directConnectGateway: DX,
            tags: { a: 1 },
            gcp: { project: 'payments-prod', network: 'core' },
          },
        ],
      },
      gcp: {
        networks: [
          {
            project: 'payments-prod',
            name: 'core',
            subnets: [{ name: 'a', region: 'east', ipCidrRange: '10.0.0.1/8' }],
          },
        ],
      },
    };
    expect(() => checkEstate(bad, 'estate.yaml')).toThrow(EstateError);
    const message = (() => {
      try {
        checkEstate(bad, 'estate.yaml');
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    })();
    for (const field of [
      'gcp.networks[0].subnets[0].region',
      'gcp.networks[0].subnets[0].ipCidrRange',
      'aws.vpns[0].name',
      'aws.vpns[0].directConnectGateway: must be the id of one of aws.directConnectGateways',
      'aws.vpns[0].attach: must be vpn-gateway or transit-gateway',
      'aws.vpns[0].gcp: project and network must name one of gcp.networks',
      'aws.vpns[1].tags: must map keys to strings',
      'aws.vpns[1].gcp.region: must be a Google region',
    ])
      expect(message).toContain(field);
  });

  it('names every bad field and why', () => {
    const bad = {
      version: 2,
      aws: {
        directConnectGateways: [
          { accountId: 12, region: 'nowhere', id: 'gw', name: '', vpcCidrs: ['10.0.0.1/8'] },
        ],
      },
      gcp: {
        networkProjects: [
          { project: 'Payments', serviceAccount: 'someone@example.com', impersonators: ['X'] },
          { project: 'payments-prod', serviceAccount: NET_SA, impersonators: [] },
          { project: 'payments-prod', serviceAccount: NET_SA, impersonators: [] },
        ],
      },
    };
    let error: unknown;
    try {
      checkEstate(bad, 'estate.yaml');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EstateError);
    const message = (error as Error).message;
    for (const field of [
      'version: must be 1',
      'aws.directConnectGateways[0].accountId',
      'aws.directConnectGateways[0].region',
      'aws.directConnectGateways[0].id: must be a UUID',
      'aws.directConnectGateways[0].name: is required',
      'aws.directConnectGateways[0].vpcCidrs[0]',
      'gcp.networkProjects[0].project',
      'gcp.networkProjects[0].serviceAccount',
      'gcp.networkProjects[0].impersonators[0]',
      'gcp.networkProjects[2].project: payments-prod is listed twice',
    ])
      expect(message).toContain(field);
    expect(message.startsWith('estate.yaml: ')).toBe(true);
  });
});

describe('applyEstateSettings', () => {
  it("limits the network project's TransportManager to its account and lets the hub identities impersonate it", () => {
    const settings: Record<string, unknown> = {
      iamcredentials: {
        bindings: [{ member: 'a@x.iam.gserviceaccount.com', serviceAccount: 'b@x.iam.gserviceaccount.com' }],
      },
    };
    const env = applyEstateSettings(loadEstate(), settings, 'crosslink-local');
    expect(JSON.parse(env.CROSSLINK_NETWORK_PROJECTS as string)).toEqual({ 'payments-prod': NET_SA });
    expect(settings.networkconnectivity).toEqual({ members: { 'payments-prod': [NET_SA] } });
    const bindings = (settings.iamcredentials as { bindings: { member: string; serviceAccount: string }[] })
      .bindings;
    expect(bindings[0]).toEqual({
      member: 'a@x.iam.gserviceaccount.com',
      serviceAccount: 'b@x.iam.gserviceaccount.com',
    });
    expect(bindings.slice(1)).toContainEqual({
      member: 'crosslink-steps@crosslink-local.iam.gserviceaccount.com',
      serviceAccount: NET_SA,
    });
  });

  it('changes nothing without network projects', () => {
    const settings: Record<string, unknown> = {};
    expect(
      applyEstateSettings(
        { aws: { directConnectGateways: [], vpns: [] }, gcp: { networkProjects: [], networks: [] } },
        settings,
        'p',
      ),
    ).toEqual({});
    expect(settings).toEqual({});
  });
});

describe('a local cloud started with the estate', () => {
  it('holds the Direct Connect gateways, associated, allowing the VPC CIDRs of their regions', async () => {
    const cloud = await startTestCloud({ estate: loadEstate() });
    try {
      const { associations } = await admin(cloud, 'POST', '/aws/directconnect/associations', {
        accountId: '000000000000',
      });
      expect(associations).toEqual([
        expect.objectContaining({
          directConnectGatewayId: '90392BE3-219C-47FD-BBA5-03DF76D2542A',
          associationState: 'associated',
          advertised: ['10.10.0.0/16', '10.11.0.0/16'],
        }),
        expect.objectContaining({
          directConnectGatewayId: '5B2E8C41-7D3A-4F6B-9E10-2C4D6A8B0F13',
          associationState: 'associated',
          advertised: ['10.30.0.0/16'],
        }),
        expect.objectContaining({
          directConnectGatewayId: '8E4A1C27-3B5D-4A9F-B6C2-7D1E3F5A9B24',
          associationState: 'associated',
          advertised: ['10.40.0.0/16'],
        }),
      ]);
      expect(cloud.gcp.auth.accounts.has(NET_SA)).toBe(true);
    } finally {
      await cloud.stop();
    }
  });

  it('holds the three VPNs beside the example link: two on the VGW (prod, nonprod), one on a Transit Gateway, each with its Google tunnels and BGP peers', async () => {
    const cloud = await startTestCloud({ estate: loadEstate() });
    try {
      const ec2 = new EC2Client({
        region: 'us-east-1',
        endpoint: cloud.aws.endpoint,
        credentials: ADMIN_CREDENTIALS,
      });
      const vpns = (await ec2.send(new DescribeVpnConnectionsCommand({}))).VpnConnections ?? [];
      expect(
        vpns
          .map((v) => [
            v.State,
            v.VpnGatewayId ? 'vgw' : 'tgw',
            v.Tags?.find((t) => t.Key === 'crosslink:environment')?.Value,
          ])
          .sort(),
      ).toEqual([
        ['available', 'tgw', 'nonprod'],
        ['available', 'vgw', undefined],
        ['available', 'vgw', 'nonprod'],
      ]);
      const tgwVpn = vpns.find((v) => v.TransitGatewayId) as {
        VpnConnectionId: string;
        TransitGatewayId: string;
      };
      const att = (
        await ec2.send(
          new DescribeTransitGatewayAttachmentsCommand({
            Filters: [{ Name: 'resource-id', Values: [tgwVpn.VpnConnectionId] }],
          }),
        )
      ).TransitGatewayAttachments?.[0];
      expect(att?.State).toBe('available');
      // The Google halves: each VPN's two tunnels, to the AWS tunnels' outside addresses.
      const outside = vpns.flatMap((v) => v.VgwTelemetry?.map((t) => t.OutsideIpAddress) ?? []).sort();
      const tunnels =
        (await gcpGet(cloud, '/compute/v1/projects/payments-prod/regions/us-east4/vpnTunnels')).items ?? [];
      expect(tunnels.map((t: { peerIp: string }) => t.peerIp).sort()).toEqual(outside);
      expect(outside).toHaveLength(6);
      ec2.destroy();
    } finally {
      await cloud.stop();
    }
  });

  it("gives the Google network a route to the VPC over a link on the estate's Direct Connect gateway (the gateway's allowed prefixes, learned from the start) and takes it away as soon as the link fails", async () => {
    const cloud = await startTestCloud({ estate: loadEstate() });
    try {
      // Arrange: an up link from the example link's Direct Connect gateway to payments-vpc.
      const link = await upLink(cloud, 'lk-estate', {
        directConnectGateway: DX,
        network: 'projects/payments-prod/global/networks/payments-vpc',
        advertisedRoutes: ['10.20.0.0/16'],
      });

      // Act: traffic from Google to the VPC (the network looks at the links again when it changes).
      const flow = cloud.network.addFlow({
        name: 'gcp-to-aws',
        from: gcpNetworkId('payments-prod', 'payments-vpc'),
        to: '10.10.1.10',
        bytesPerSecond: 1500,
      });

      // Assess: the link is up and carries the gateway's prefixes to Google as its peering routes.
      expect(cloud.world.isUp(link.sharedId)).toBe(true);
      expect(cloud.network.flow(flow.id).path.delivered).toBe(true);
      const peering = cloud.network
        .gcpEffectiveRoutes('payments-prod', 'payments-vpc')
        .filter((r) => r.routeType === 'PEERING')
        .map((r) => r.destRange)
        .sort();
      expect(peering).toEqual(['10.10.0.0/16', '10.11.0.0/16']);

      // Act: the link fails (no virtual time passes).
      await cloud.world.admin['link-down']?.({ sharedId: link.sharedId });

      // Assess: its routes are gone from Google at once; the flow takes the VPNs.
      expect(
        cloud.network
          .gcpEffectiveRoutes('payments-prod', 'payments-vpc')
          .filter((r) => r.routeType === 'PEERING'),
      ).toEqual([]);
      expect(cloud.network.flow(flow.id).path).toMatchObject({ delivered: true, via: { kind: 'vpn' } });
    } finally {
      await cloud.stop();
    }
  });
});
