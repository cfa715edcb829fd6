/**
 * Builds both halves of an AWS <-> Google IPsec VPN in the network model the way an operator
 * would (the addresses, keys and ASNs of one side configured on the other), so tests and the
 * seeded world of `npm start` get VPNs that come up by the model's own rules rather than by fiat.
 *
 * - `bgp` (default): Google HA VPN gateway + Cloud Router with one BGP peer per tunnel, an
 *   external VPN gateway holding the AWS tunnel addresses, and an AWS VPN connection with dynamic
 *   routing on a virtual private gateway (route propagation enabled on the VPC's main route table)
 *   or a Transit Gateway.
 * - `static`: a Classic VPN gateway with static routes to the AWS VPC, and an AWS static VPN
 *   connection whose static routes are the Google subnets (HA VPN cannot peer with a static VPN).
 */
import { gcpNetworkId, type NetworkWorld } from './network.ts';

export interface VpnBuildOptions {
  name: string;
  routing?: 'bgp' | 'static';
  aws: {
    vpcId: string;
    /** Attach through this Transit Gateway instead of a virtual private gateway. */
    transitGatewayId?: string;
    /** Reuse a virtual private gateway (default: create and attach one). */
    vpnGatewayId?: string;
    tags?: Record<string, string>;
    customerGatewayTags?: Record<string, string>;
    bgpMed?: number;
  };
  gcp: {
    project: string;
    region: string;
    network: string;
    /** Cloud Router ASN (default 65000). */
    asn?: number;
    labels?: Record<string, string>;
  };
}

export interface BuiltVpn {
  vpnConnectionId: string;
  customerGatewayId: string;
  vpnGatewayId: string | undefined;
  transitGatewayAttachmentId: string | undefined;
  gcp: {
    project: string;
    region: string;
    tunnels: string[];
    router: string | undefined;
    bgpPeers: string[];
    externalVpnGateway: string | undefined;
    vpnGateway: string;
    staticRoutes: string[];
  };
}

export function buildVpn(world: NetworkWorld, o: VpnBuildOptions): BuiltVpn {
  const vpc = world.vpcs.get(o.aws.vpcId);
  if (!vpc) throw new Error(`VPC ${o.aws.vpcId} does not exist`);
  const net = world.gcpNetworks.get(gcpNetworkId(o.gcp.project, o.gcp.network));
  if (!net) throw new Error(`network ${o.gcp.network} does not exist in ${o.gcp.project}`);
  const { project, region } = o.gcp;
  const asn = o.gcp.asn ?? 65000;
  const isStatic = o.routing === 'static';

  let vpnGatewayId = o.aws.vpnGatewayId;
  if (!o.aws.transitGatewayId && !vpnGatewayId) {
    vpnGatewayId = world.createVpnGateway({ accountId: vpc.accountId, region: vpc.region }).vpnGatewayId;
    world.attachVpnGateway(vpnGatewayId, vpc.vpcId);
    world.enableVgwRoutePropagation(vpc.mainRouteTableId, vpnGatewayId);
  }

  const gwName = `${o.name}-gw`;
  const localIp = isStatic
    ? world.createTargetVpnGateway({ project, region, name: gwName, network: net.name }).ipAddress
    : (world.createHaVpnGateway({
        project,
        region,
        name: gwName,
        network: net.name,
        labels: o.gcp.labels ?? {},
      }).vpnInterfaces[0]?.ipAddress as string);
  const router = isStatic
    ? undefined
    : world.createRouter({ project, region, name: `${o.name}-router`, network: net.name, asn });

  const cgw = world.createCustomerGateway({
    accountId: vpc.accountId,
    region: vpc.region,
    ipAddress: localIp,
    bgpAsn: asn,
    tags: o.aws.customerGatewayTags ?? {},
  });
  const vpn = world.createVpnConnection({
    accountId: vpc.accountId,
    region: vpc.region,
    customerGatewayId: cgw.customerGatewayId,
    ...(o.aws.transitGatewayId ? { transitGatewayId: o.aws.transitGatewayId } : { vpnGatewayId }),
    staticRoutesOnly: isStatic,
    tags: o.aws.tags ?? {},
    ...(o.aws.bgpMed === undefined ? {} : { bgpMed: o.aws.bgpMed }),
  });

  const ext = isStatic
    ? undefined
    : world.createExternalVpnGateway({
        project,
        name: `${o.name}-aws`,
        interfaces: vpn.tunnels.map((t, id) => ({ id, ipAddress: t.outsideIpAddress })),
        labels: o.gcp.labels ?? {},
      });
  const tunnels = vpn.tunnels.map(
    (t, i) =>
      world.createVpnTunnel({
        project,
        region,
        name: `${o.name}-tunnel-${i}`,
        sharedSecret: t.preSharedKey,
        labels: o.gcp.labels ?? {},
        ...(isStatic
          ? { targetVpnGateway: gwName, peerIp: t.outsideIpAddress }
          : {
              vpnGateway: gwName,
              vpnGatewayInterface: 0,
              peerExternalGateway: ext?.name as string,
              peerExternalGatewayInterface: i,
              router: router?.name as string,
            }),
      }).name,
  );

  const bgpPeers: string[] = [];
  const staticRoutes: string[] = [];
  if (router) {
    const amazonAsn = o.aws.transitGatewayId
      ? world.transitGateways.get(o.aws.transitGatewayId)?.amazonSideAsn
      : world.vpnGateways.get(vpnGatewayId as string)?.amazonSideAsn;
    world.patchRouter(project, region, router.name, {
      interfaces: vpn.tunnels.map((t, i) => ({
        name: `${o.name}-if-${i}`,
        linkedVpnTunnel: tunnels[i] as string,
        ipRange: `${t.customerInsideIpAddress}/30`,
      })),
      bgpPeers: vpn.tunnels.map((t, i) => {
        bgpPeers.push(`${o.name}-peer-${i}`);
        return {
          name: `${o.name}-peer-${i}`,
          interfaceName: `${o.name}-if-${i}`,
          ipAddress: t.customerInsideIpAddress,
          peerIpAddress: t.awsInsideIpAddress,
          peerAsn: amazonAsn ?? 64512,
          enable: 'TRUE' as const,
        };
      }),
    });
  } else {
    for (const s of net.subnets) world.createVpnConnectionRoute(vpn.vpnConnectionId, s.ipCidrRange);
    vpc.cidrBlocks.forEach((cidr, n) => {
      tunnels.forEach((tunnel, i) => {
        const name = `${o.name}-route-${n}-${i}`;
        world.createGcpRoute({
          project,
          name,
          network: net.name,
          destRange: cidr,
          nextHopVpnTunnel: tunnel,
          region,
        });
        staticRoutes.push(name);
      });
    });
  }

  return {
    vpnConnectionId: vpn.vpnConnectionId,
    customerGatewayId: cgw.customerGatewayId,
    vpnGatewayId,
    transitGatewayAttachmentId: vpn.transitGatewayAttachmentId,
    gcp: {
      project,
      region,
      tunnels,
      router: router?.name,
      bgpPeers,
      externalVpnGateway: ext?.name,
      vpnGateway: gwName,
      staticRoutes,
    },
  };
}
