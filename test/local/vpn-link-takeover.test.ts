/**
 * The acceptance story end to end on one local cloud: an HA VPN carries traffic between a VPC and a
 * VPC network; a real link (Interconnect connection + TransportManager transport, through our
 * clients) comes up with the same prefixes and wins the effective routes on both sides, so the
 * VPN's counters drop to zero; when the link goes down (world fault), BGP falls back to the VPN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateConnectionCommand, ListAttachPointsCommand } from '#aws/interconnect-client.ts';
import { jwtClient } from '#gcp/google-credentials.ts';
import { TransportClient } from '#gcp/transport-client.ts';
import type { LocalCloud } from '#local/index.ts';
import { counterKey, gcpNetworkId } from '#local/world/network.ts';
import { type BuiltVpn, buildVpn } from '#local/world/vpn-builder.ts';
import { admin, interconnectClient, startTestCloud } from '../support/local-cloud.ts';

const ENV = 'mce-aws-gcp-iad';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('a link takes over from a VPN', () => {
  let cloud: LocalCloud;
  let vpn: BuiltVpn;

  beforeAll(async () => {
    cloud = await startTestCloud();
  });
  afterAll(async () => {
    await cloud?.stop();
  });

  /** Bytes the VPN carried in both directions over [from, to). */
  const vpnBytes = (from: number, to: number) => {
    const v = cloud.network.vpnConnections.get(vpn.vpnConnectionId);
    return (v?.tunnels ?? []).reduce(
      (sum, t) =>
        sum +
        cloud.network.counter(counterKey.awsTunnelIn(vpn.vpnConnectionId, t.outsideIpAddress), from, to) +
        cloud.network.counter(counterKey.awsTunnelOut(vpn.vpnConnectionId, t.outsideIpAddress), from, to),
      0,
    );
  };

  it('VPN traffic moves to the link when it is up and back when it goes down', async () => {
    // Prepare: two networks joined by an HA VPN, traffic both ways.
    const w = cloud.network;
    const project = cloud.gcp.project;
    const vpc = w.addVpc({
      accountId: cloud.aws.accountId,
      region: 'us-east-1',
      cidrBlocks: ['10.0.0.0/16'],
    });
    w.addGcpNetwork({
      project,
      name: 'core',
      subnets: [{ name: 'app', region: 'us-east4', ipCidrRange: '10.128.0.0/20' }],
    });
    vpn = buildVpn(w, {
      name: 'legacy',
      aws: { vpcId: vpc.vpcId },
      gcp: { project, region: 'us-east4', network: 'core' },
    });
    w.addFlow({ name: 'a2g', from: vpc.vpcId, to: '10.128.3.3', bytesPerSecond: 2_000 });
    w.addFlow({ name: 'g2a', from: gcpNetworkId(project, 'core'), to: '10.0.3.3', bytesPerSecond: 1_000 });
    const t0 = cloud.clock.now();
    await cloud.clock.advance(HOUR);
    expect(vpnBytes(t0, t0 + HOUR)).toBe(3_000 * 3600);

    // Act: a link between the same networks, AWS first, through our clients.
    const aws = interconnectClient(cloud);
    const gcp = new TransportClient({
      project,
      location: 'us-east4',
      endpoint: cloud.gcp.endpoint,
      auth: jwtClient(cloud.gcp.auth.keyFile('crosslink')),
      sleep: (ms) => cloud.clock.advance(ms),
      retryBaseDelayMs: 1,
    });
    const gateway = (await aws.send(new ListAttachPointsCommand({ environmentId: ENV }))).attachPoints[0]!
      .identifier;
    w.associateDxGateway(gateway, vpn.vpnGatewayId as string);
    cloud.world.setAllowedPrefixes(cloud.aws.accountId, gateway, ['10.0.0.0/16']);
    const conn = (
      await aws.send(
        new CreateConnectionCommand({
          bandwidth: '1Gbps',
          environmentId: ENV,
          attachPoint: { directConnectGateway: gateway },
          remoteAccount: { identifier: project },
          description: 'takeover test',
        }),
      )
    ).connection!;
    await gcp.createTransport('lk-01jtakeover00000000000000', {
      network: gcpNetworkId(project, 'core'),
      providedActivationKey: conn.activationKey,
      advertisedRoutes: ['10.128.0.0/20'],
    });
    await cloud.clock.advance(15 * MINUTE);
    expect(cloud.world.isUp(conn.sharedId as string)).toBe(true);
    const up = cloud.clock.now();
    await cloud.clock.advance(HOUR);

    // Assess: both directions ride the link; the VPN is idle but its BGP sessions stay up.
    expect(vpnBytes(up, up + HOUR)).toBe(0);
    expect(w.flow('a2g').path.via).toEqual({ kind: 'link', linkId: 'lk-01jtakeover00000000000000' });
    expect(w.flow('g2a').path.via).toEqual({ kind: 'link', linkId: 'lk-01jtakeover00000000000000' });
    expect(w.counter(counterKey.linkAwsToGcp('lk-01jtakeover00000000000000'), up, up + HOUR)).toBe(
      2_000 * 3600,
    );
    expect(w.vgwTelemetry(vpn.vpnConnectionId).map((t) => t.status)).toEqual(['UP', 'UP']);

    // Act: the link goes down.
    await admin(cloud, 'POST', '/world/link-down', { sharedId: conn.sharedId });
    await cloud.clock.advance(2 * MINUTE);
    const down = cloud.clock.now();
    await cloud.clock.advance(HOUR);

    // Assess: BGP falls back to the VPN.
    expect(vpnBytes(down, down + HOUR)).toBe(3_000 * 3600);
    expect(w.flow('a2g').path.via.kind).toBe('vpn');
  });
});
