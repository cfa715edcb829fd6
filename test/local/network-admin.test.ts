/** Laying out networks, a VPN and traffic through the admin API, as `crosslink sim` and e2e tests do. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import { admin, startTestCloud } from '../support/local-cloud.ts';

describe('the network admin actions', () => {
  let cloud: LocalCloud;
  beforeAll(async () => {
    cloud = await startTestCloud();
  });
  afterAll(async () => {
    await cloud?.stop();
  });

  it('builds a VPN between two networks and reports its traffic', async () => {
    // Prepare
    const vpc = await admin(cloud, 'POST', '/gcp/compute/add-vpc', { cidrBlocks: ['10.0.0.0/16'] });
    const net = await admin(cloud, 'POST', '/gcp/compute/add-network', {
      name: 'core',
      subnets: [{ name: 'app', region: 'us-east4', ipCidrRange: '10.128.0.0/20' }],
    });
    const vpn = await admin(cloud, 'POST', '/gcp/compute/build-vpn', {
      name: 'legacy',
      aws: { vpcId: vpc.vpcId },
      gcp: { network: 'core' },
    });

    // Act
    await admin(cloud, 'POST', '/gcp/compute/add-flow', {
      name: 'g2a',
      from: net.id,
      to: '10.0.0.5',
      bytesPerSecond: 10,
    });
    await admin(cloud, 'POST', '/clock/advance', { by: '1h' });

    // Assess
    const status = await admin(cloud, 'POST', '/gcp/compute/network-status', {});
    expect(status.vpnConnections[0].telemetry.map((t: { status: string }) => t.status)).toEqual(['UP', 'UP']);
    expect(status.flows[0].path).toMatchObject({
      delivered: true,
      via: { kind: 'vpn', vpnConnectionId: vpn.vpnConnectionId },
    });
    const bytes = await admin(cloud, 'POST', '/gcp/compute/counter', {
      key: `gcp-tunnel/${cloud.gcp.project}/us-east4/legacy-tunnel-0/sent`,
    });
    expect(bytes.bytes).toBe(18_000);
    await expect(
      admin(cloud, 'POST', '/gcp/compute/add-flow', { from: 'vpc-nope', to: '10.0.0.5', bytesPerSecond: 1 }),
    ).rejects.toMatchObject({
      status: 404,
    });
  });
});
