/**
 * Admin actions on the network world, served by the Google edge's compute module at
 * `POST /_crosslink/gcp/compute/<action>` (either edge's admin port): what `crosslink sim` and
 * end-to-end tests use to lay out networks, VPNs and traffic without an AWS EC2 module.
 *
 *   network-status {}                                  -> VPNs (both halves), links, flows, counters now
 *   add-vpc {accountId?, region?, cidrBlocks, vpcId?}  -> the VPC (main route table id included)
 *   add-network {project?, name, subnets: [{name, region, ipCidrRange}]}
 *   build-vpn {name, routing?, aws: {vpcId, transitGatewayId?}, gcp: {project?, region?, network}}
 *   associate-dx-gateway {dxGatewayId, gatewayId}
 *   add-flow {from, to, bytesPerSecond, name?}  set-flow-rate {flowId, bytesPerSecond}  remove-flow {flowId}
 *   counter {key, from?, to?} (ISO or epoch ms; default: the last hour)
 */
import type { Clock } from '#core/clock.ts';
import { counterKey, gcpNetworkId, NetworkError } from './network.ts';
import { networkOf } from './registry.ts';
import { buildVpn, type VpnBuildOptions } from './vpn-builder.ts';

interface AdminWorld {
  clock: Clock;
  project: string;
  region: string;
}

// biome-ignore lint/suspicious/noExplicitAny: admin bodies are JSON, checked by the model.
type Body = any;

const need = (v: unknown, field: string): void => {
  if (v === undefined || v === null || v === '') throw new NetworkError('Invalid', `${field} is required`);
};

const time = (v: unknown, fallback: number): number =>
  v === undefined ? fallback : typeof v === 'number' ? v : Date.parse(String(v));

export const networkAdmin: Record<string, (body: Body, world: AdminWorld) => unknown> = {
  'network-status': (_b, world) => {
    const w = networkOf(world.clock);
    const now = world.clock.now();
    return {
      vpnConnections: [...w.vpnConnections.values()].map((v) => ({
        vpnConnectionId: v.vpnConnectionId,
        state: v.state,
        staticRoutesOnly: v.staticRoutesOnly,
        telemetry: v.state === 'available' ? w.vgwTelemetry(v.vpnConnectionId) : [],
        paired: w.pairedTunnels(v.vpnConnectionId),
        bytesPerSecond: Object.fromEntries(
          v.tunnels.map((t) => [
            t.outsideIpAddress,
            {
              in: w.rate(counterKey.awsTunnelIn(v.vpnConnectionId, t.outsideIpAddress)),
              out: w.rate(counterKey.awsTunnelOut(v.vpnConnectionId, t.outsideIpAddress)),
            },
          ]),
        ),
      })),
      links: w.links().map((l) => ({
        ...l,
        bytesPerSecond: {
          awsToGcp: w.rate(counterKey.linkAwsToGcp(l.linkId)),
          gcpToAws: w.rate(counterKey.linkGcpToAws(l.linkId)),
        },
      })),
      flows: [...w.flows.keys()].map((id) => w.flow(id)),
      now: new Date(now).toISOString(),
    };
  },
  'add-vpc': (b, world) => {
    need(b.cidrBlocks, 'cidrBlocks');
    return networkOf(world.clock).addVpc({
      accountId: b.accountId ?? '000000000000',
      region: b.region ?? 'us-east-1',
      cidrBlocks: b.cidrBlocks,
      ...(b.vpcId ? { vpcId: b.vpcId } : {}),
    });
  },
  'add-network': (b, world) => {
    need(b.name, 'name');
    need(b.subnets, 'subnets');
    const net = networkOf(world.clock).addGcpNetwork({
      project: b.project ?? world.project,
      name: b.name,
      subnets: b.subnets,
    });
    return { id: gcpNetworkId(net.project, net.name), ...net };
  },
  'build-vpn': (b, world) => {
    need(b.name, 'name');
    need(b.aws?.vpcId, 'aws.vpcId');
    need(b.gcp?.network, 'gcp.network');
    const opts: VpnBuildOptions = {
      name: b.name,
      ...(b.routing ? { routing: b.routing } : {}),
      aws: b.aws,
      gcp: {
        project: b.gcp.project ?? world.project,
        region: b.gcp.region ?? world.region,
        network: b.gcp.network,
      },
    };
    try {
      return buildVpn(networkOf(world.clock), opts);
    } catch (err) {
      if (err instanceof NetworkError) throw err;
      throw new NetworkError('Invalid', (err as Error).message);
    }
  },
  'associate-dx-gateway': (b, world) => {
    need(b.dxGatewayId, 'dxGatewayId');
    need(b.gatewayId, 'gatewayId');
    networkOf(world.clock).associateDxGateway(b.dxGatewayId, b.gatewayId);
    return { associated: true };
  },
  'add-flow': (b, world) => networkOf(world.clock).addFlow(b),
  'set-flow-rate': (b, world) => {
    networkOf(world.clock).setFlowRate(b.flowId, b.bytesPerSecond);
    return networkOf(world.clock).flow(b.flowId);
  },
  'remove-flow': (b, world) => {
    networkOf(world.clock).removeFlow(b.flowId);
    return { removed: b.flowId };
  },
  counter: (b, world) => {
    need(b.key, 'key');
    const to = time(b.to, world.clock.now());
    const from = time(b.from, to - 3_600_000);
    return {
      key: b.key,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      bytes: networkOf(world.clock).counter(b.key, from, to),
    };
  },
};
