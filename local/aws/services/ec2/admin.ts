/**
 * The admin actions of local EC2, which seed the network model as a test or `crosslink sim` needs
 * it: VPCs, VGWs, TGWs, Google networks, VPNs built from both halves, flows of traffic. Network
 * errors become admin HTTP errors (404 unknown, 409 exists or in use, 400 otherwise).
 */

import { gcpNetworkId, NetworkError } from '#local/world/network.ts';
import { buildVpn, type VpnBuildOptions } from '#local/world/vpn-builder.ts';
import { adminError } from '../../common/admin-error.ts';
import { networkOf } from '../../common/network.ts';
import type { AdminAction } from '../../service.ts';
import type { Tags } from './common.ts';

export const ec2Admin: Record<string, AdminAction> = {
  /** `{accountId?, region?, cidrBlocks, tags?}` → a VPC with its main route table. */
  'add-vpc'(body: { accountId?: string; region?: string; cidrBlocks?: string[]; tags?: Tags }, world) {
    return admin(() => ({
      vpc: networkOf(world).addVpc({
        accountId: body.accountId ?? '000000000000',
        region: body.region ?? world.defaultRegion,
        cidrBlocks: body.cidrBlocks ?? [],
        ...(body.tags ? { tags: body.tags } : {}),
      }),
    }));
  },
  /** `{accountId?, region?, vpcId?, amazonSideAsn?, propagate?}` → a VGW, attached (and propagating to the main table) when vpcId is given. */
  'add-vpn-gateway'(
    body: {
      accountId?: string;
      region?: string;
      vpcId?: string;
      amazonSideAsn?: number;
      propagate?: boolean;
    },
    world,
  ) {
    return admin(() => {
      const n = networkOf(world);
      const vpc = body.vpcId ? n.vpcs.get(body.vpcId) : undefined;
      if (body.vpcId && !vpc) throw new NetworkError('NotFound', `VPC ${body.vpcId} does not exist`);
      const vgw = n.createVpnGateway({
        accountId: vpc?.accountId ?? body.accountId ?? '000000000000',
        region: vpc?.region ?? body.region ?? world.defaultRegion,
        ...(body.amazonSideAsn ? { amazonSideAsn: body.amazonSideAsn } : {}),
      });
      if (vpc) {
        n.attachVpnGateway(vgw.vpnGatewayId, vpc.vpcId);
        if (body.propagate !== false) n.enableVgwRoutePropagation(vpc.mainRouteTableId, vgw.vpnGatewayId);
      }
      return { vpnGateway: vgw };
    });
  },
  /** `{accountId?, region?, vpcIds?}` → a Transit Gateway (VPCs attached). */
  'add-transit-gateway'(
    body: { accountId?: string; region?: string; vpcIds?: string[]; amazonSideAsn?: number },
    world,
  ) {
    return admin(() => {
      const n = networkOf(world);
      const tgw = n.createTransitGateway({
        accountId: body.accountId ?? '000000000000',
        region: body.region ?? world.defaultRegion,
        ...(body.amazonSideAsn ? { amazonSideAsn: body.amazonSideAsn } : {}),
      });
      const attachments = (body.vpcIds ?? []).map((v) =>
        n.attachVpcToTransitGateway(tgw.transitGatewayId, v),
      );
      return { transitGateway: tgw, attachments };
    });
  },
  /** `{routeTableId, destinationCidrBlock, gatewayId? | transitGatewayId?}`. */
  'add-route'(
    body: {
      routeTableId?: string;
      destinationCidrBlock?: string;
      gatewayId?: string;
      transitGatewayId?: string;
    },
    world,
  ) {
    return admin(() => {
      networkOf(world).createRoute(String(body.routeTableId), {
        destinationCidrBlock: String(body.destinationCidrBlock),
        ...(body.gatewayId ? { gatewayId: body.gatewayId } : {}),
        ...(body.transitGatewayId ? { transitGatewayId: body.transitGatewayId } : {}),
      });
      return { ok: true };
    });
  },
  /** `{project, name, subnets: [{name, region, ipCidrRange}]}` → a Google VPC network. */
  'add-gcp-network'(
    body: {
      project?: string;
      name?: string;
      subnets?: { name: string; region: string; ipCidrRange: string }[];
    },
    world,
  ) {
    return admin(() => ({
      network: networkOf(world).addGcpNetwork({
        project: String(body.project),
        name: String(body.name),
        subnets: body.subnets ?? [],
      }),
    }));
  },
  /** Both halves of a VPN (local/world/vpn-builder.ts options). */
  'build-vpn'(body: VpnBuildOptions, world) {
    return admin(() => ({ vpn: buildVpn(networkOf(world), body) }));
  },
  /** `{from: vpcId | "projects/p/global/networks/n", to, bytesPerSecond, name?}` → a flow of traffic. */
  'add-flow'(body: { from?: string; to?: string; bytesPerSecond?: number; name?: string }, world) {
    return admin(() => {
      const from = String(body.from);
      return {
        flow: networkOf(world).addFlow({
          from:
            from.includes('/') || from.startsWith('vpc-')
              ? from
              : gcpNetworkId(from.split(':')[0] as string, from.split(':')[1] ?? ''),
          to: String(body.to),
          bytesPerSecond: Number(body.bytesPerSecond ?? 0),
          ...(body.name ? { name: body.name } : {}),
        }),
      };
    });
  },
  /** `{flowId, bytesPerSecond}`. */
  'set-flow-rate'(body: { flowId?: string; bytesPerSecond?: number }, world) {
    return admin(() => {
      networkOf(world).setFlowRate(String(body.flowId), Number(body.bytesPerSecond));
      return { flow: networkOf(world).flow(String(body.flowId)) };
    });
  },
  /** What a VGW holds (AWS hides this; the simulator shows it for tests and `sim status`). */
  'vgw-routes'(body: { vpnGatewayId?: string }, world) {
    return admin(() => ({ routes: networkOf(world).vgwRoutes(String(body.vpnGatewayId)) }));
  },
};

function admin<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof NetworkError) {
      throw adminError(
        err.code === 'NotFound' ? 404 : err.code === 'AlreadyExists' || err.code === 'InUse' ? 409 : 400,
        err.code,
        err.message,
      );
    }
    if (err instanceof Error && err.name === 'CidrError') throw adminError(400, 'Invalid', err.message);
    throw err;
  }
}
