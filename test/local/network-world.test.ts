import { describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import { RateHistory } from '#local/world/counters.ts';
import { counterKey, gcpNetworkId, NetworkError, NetworkWorld, StaticLinks } from '#local/world/network.ts';
import { buildVpn } from '#local/world/vpn-builder.ts';

const HOUR = 3_600_000;
const ACCOUNT = '111122223333';
const PROJECT = 'net-prod';
const REGION = 'us-east4';

/** Two networks, a VPN between them, traffic both ways, and a link that is not up yet. */
function world(routing: 'bgp' | 'static' = 'bgp', transit = false) {
  const clock = new ManualClock('2026-06-01T00:00:00Z');
  const links = new StaticLinks();
  const w = new NetworkWorld({ clock, links });
  const vpc = w.addVpc({ accountId: ACCOUNT, region: 'us-east-1', cidrBlocks: ['10.0.0.0/16'] });
  w.addGcpNetwork({
    project: PROJECT,
    name: 'core',
    subnets: [{ name: 'app', region: REGION, ipCidrRange: '10.128.0.0/20' }],
  });
  const gnet = gcpNetworkId(PROJECT, 'core');
  let tgw: ReturnType<NetworkWorld['createTransitGateway']> | undefined;
  if (transit) {
    tgw = w.createTransitGateway({ accountId: ACCOUNT, region: 'us-east-1' });
    w.attachVpcToTransitGateway(tgw.transitGatewayId, vpc.vpcId);
    w.createRoute(vpc.mainRouteTableId, {
      destinationCidrBlock: '10.128.0.0/9',
      transitGatewayId: tgw.transitGatewayId,
    });
  }
  const vpn = buildVpn(w, {
    name: 'vpn-a',
    routing,
    aws: { vpcId: vpc.vpcId, ...(tgw ? { transitGatewayId: tgw.transitGatewayId } : {}) },
    gcp: { project: PROJECT, region: REGION, network: 'core' },
  });
  const dxGatewayId = 'dxgw-1';
  links.set({
    linkId: 'lk-01',
    up: false,
    aws: {
      accountId: ACCOUNT,
      dxGatewayId,
      gateways: [tgw?.transitGatewayId ?? (vpn.vpnGatewayId as string)],
    },
    gcp: { project: PROJECT, network: 'core' },
    toGcp: ['10.0.0.0/16'],
    toAws: ['10.128.0.0/20'],
  });
  if (tgw) w.associateDxGateway(dxGatewayId, tgw.transitGatewayId);
  w.addFlow({ name: 'a2g', from: vpc.vpcId, to: '10.128.1.10', bytesPerSecond: 1000 });
  w.addFlow({ name: 'g2a', from: gnet, to: '10.0.5.5', bytesPerSecond: 500 });
  const at = (h: number) => Date.parse('2026-06-01T00:00:00Z') + h * HOUR;
  const sum = (keys: string[], from: number, to: number) =>
    keys.reduce((s, k) => s + w.counter(k, from, to), 0);
  const awsOut = (from: number, to: number) =>
    sum(
      w.vpnConnections
        .get(vpn.vpnConnectionId)!
        .tunnels.map((t) => counterKey.awsTunnelOut(vpn.vpnConnectionId, t.outsideIpAddress)),
      from,
      to,
    );
  const awsIn = (from: number, to: number) =>
    sum(
      w.vpnConnections
        .get(vpn.vpnConnectionId)!
        .tunnels.map((t) => counterKey.awsTunnelIn(vpn.vpnConnectionId, t.outsideIpAddress)),
      from,
      to,
    );
  const gcpReceived = (from: number, to: number) =>
    sum(
      vpn.gcp.tunnels.map((t) => counterKey.gcpTunnelReceived(PROJECT, REGION, t)),
      from,
      to,
    );
  const gcpSent = (from: number, to: number) =>
    sum(
      vpn.gcp.tunnels.map((t) => counterKey.gcpTunnelSent(PROJECT, REGION, t)),
      from,
      to,
    );
  return { w, clock, links, vpc, vpn, tgw, at, awsOut, awsIn, gcpReceived, gcpSent };
}

describe('the network world: a VPN between two networks', () => {
  it('brings the HA VPN up by its own configuration and carries traffic both ways', () => {
    // Prepare
    const { w, clock, vpn, at, awsOut, awsIn, gcpReceived, gcpSent } = world();

    // Act
    clock.advance(HOUR);

    // Assess
    expect(w.vgwTelemetry(vpn.vpnConnectionId).map((t) => t.status)).toEqual(['UP', 'UP']);
    expect(w.vgwTelemetry(vpn.vpnConnectionId)[0]?.statusMessage).toBe('1 BGP ROUTES');
    const status = w.routerStatus(PROJECT, REGION, vpn.gcp.router as string);
    expect(status.bgpPeerStatus.map((p) => [p.status, p.state, p.numLearnedRoutes])).toEqual([
      ['UP', 'Established', 1],
      ['UP', 'Established', 1],
    ]);
    expect(status.bestRoutes.map((r) => r.destRange)).toEqual(['10.0.0.0/16', '10.0.0.0/16']);
    expect(w.gcpTunnelStatus(PROJECT, REGION, vpn.gcp.tunnels[0] as string).status).toBe('ESTABLISHED');
    // AWS -> Google: 1000 B/s for an hour, on one tunnel (a VGW does not spread across tunnels).
    expect(awsOut(at(0), at(1))).toBe(3_600_000);
    expect(gcpReceived(at(0), at(1))).toBe(3_600_000);
    // Google -> AWS: 500 B/s, ECMP across both tunnels.
    expect(gcpSent(at(0), at(1))).toBe(1_800_000);
    expect(awsIn(at(0), at(1))).toBe(1_800_000);
    expect(w.flow('a2g').path).toMatchObject({ delivered: true, via: { kind: 'vpn' } });
  });

  it('carries traffic until the link wins the effective routes on both sides, then its counters drop to zero', () => {
    // Prepare
    const { w, clock, links, vpc, vpn, at, awsOut, gcpSent } = world();
    clock.advance(HOUR);

    // Act: the link comes up with the same prefixes.
    links.update('lk-01', { up: true });
    clock.advance(2 * HOUR);

    // Assess
    expect(awsOut(at(0), at(1))).toBe(3_600_000);
    expect(awsOut(at(1), at(3))).toBe(0);
    expect(gcpSent(at(1), at(3))).toBe(0);
    expect(w.counter(counterKey.linkAwsToGcp('lk-01'), at(1), at(3))).toBe(7_200_000);
    expect(w.counter(counterKey.linkGcpToAws('lk-01'), at(1), at(3))).toBe(3_600_000);
    // AWS: the VGW prefers the Direct Connect route; the VPC table still just points at the VGW.
    const vgwRoutes = w.vgwRoutes(vpn.vpnGatewayId as string);
    expect(vgwRoutes.filter((r) => r.best).map((r) => r.origin)).toEqual(['dx']);
    expect(vgwRoutes.find((r) => r.origin === 'vpn-bgp')?.best).toBe(false);
    expect(w.vpcRoutes(vpc.mainRouteTableId)).toContainEqual({
      destinationCidrBlock: '10.128.0.0/20',
      gatewayId: vpn.vpnGatewayId,
      origin: 'EnableVgwRoutePropagation',
      state: 'active',
    });
    // Google: the peering route (priority 0) beats the BGP routes (priority = AWS MED 100).
    const effective = w.gcpEffectiveRoutes(PROJECT, 'core').filter((r) => r.destRange === '10.0.0.0/16');
    expect(effective.map((r) => r.routeType)).toEqual(['PEERING']);
    expect(w.routerStatus(PROJECT, REGION, vpn.gcp.router as string).bestRoutes).toEqual([]);
    // The BGP sessions stay up: the VPN is a standby path, not gone.
    expect(w.vgwTelemetry(vpn.vpnConnectionId).map((t) => t.status)).toEqual(['UP', 'UP']);
  });

  it('keeps a more-specific VPN prefix on the VPN even when the link is up (longest prefix first)', () => {
    // Prepare
    const { w, clock, links, vpn, at, awsOut } = world();
    const router = w.router(PROJECT, REGION, vpn.gcp.router as string);
    w.patchRouter(PROJECT, REGION, router.name, {
      bgp: {
        advertiseMode: 'CUSTOM',
        advertisedGroups: ['ALL_SUBNETS'],
        advertisedIpRanges: [{ range: '10.128.1.0/24' }],
      },
    });

    // Act
    links.update('lk-01', { up: true });
    clock.advance(HOUR);

    // Assess
    expect(awsOut(at(0), at(1))).toBe(3_600_000);
    expect(w.flow('a2g').path.via.kind).toBe('vpn');
  });

  it('a subnet added to a Google network is advertised over the VPN and reached through it; an overlapping one is refused', () => {
    // Prepare
    const { w, clock, vpn, vpc } = world();
    w.addFlow({ name: 'a2new', from: vpc.vpcId, to: '10.30.0.10', bytesPerSecond: 1000 });
    const before = w.flow('a2new').path.delivered;
    // Act
    w.addGcpSubnet(PROJECT, 'core', { name: 'batch', region: REGION, ipCidrRange: '10.30.0.0/24' });
    clock.advance(HOUR);
    const overlapping = () =>
      w.addGcpSubnet(PROJECT, 'core', { name: 'other', region: REGION, ipCidrRange: '10.30.0.128/25' });
    // Assess
    expect(before).toBe(false);
    expect(w.vpcRoutes(vpc.mainRouteTableId).map((r) => r.destinationCidrBlock)).toContain('10.30.0.0/24');
    expect(w.flow('a2new').path).toMatchObject({
      delivered: true,
      via: { kind: 'vpn', vpnConnectionId: vpn.vpnConnectionId },
    });
    expect(overlapping).toThrow(NetworkError);
    expect(overlapping).toThrow(/overlaps batch's 10.30.0.0\/24/);
  });

  it('disabling the BGP peers withdraws the VPN routes in both directions; enabling them restores them', () => {
    // Prepare
    const { w, clock, vpn, vpc, at, awsOut, gcpSent } = world();
    clock.advance(HOUR);

    // Act: drain with no link up.
    w.setBgpPeersEnabled(PROJECT, REGION, vpn.gcp.router as string, vpn.gcp.bgpPeers, false);
    clock.advance(HOUR);

    // Assess: both directions lose their routes; nothing crosses the tunnels.
    const status = w.routerStatus(PROJECT, REGION, vpn.gcp.router as string);
    expect(status.bgpPeerStatus.map((p) => [p.enable, p.status, p.state])).toEqual([
      ['FALSE', 'DOWN', 'Idle'],
      ['FALSE', 'DOWN', 'Idle'],
    ]);
    expect(w.gcpEffectiveRoutes(PROJECT, 'core').some((r) => r.routeType === 'BGP')).toBe(false);
    expect(w.vpcRoutes(vpc.mainRouteTableId).map((r) => r.destinationCidrBlock)).toEqual(['10.0.0.0/16']);
    expect(w.vgwTelemetry(vpn.vpnConnectionId).map((t) => t.status)).toEqual(['DOWN', 'DOWN']);
    expect(w.gcpTunnelStatus(PROJECT, REGION, vpn.gcp.tunnels[0] as string).status).toBe('ESTABLISHED');
    expect(awsOut(at(1), at(2))).toBe(0);
    expect(gcpSent(at(1), at(2))).toBe(0);
    expect(w.flow('a2g').path).toMatchObject({ delivered: false, via: { kind: 'none' } });
    expect(w.counter(counterKey.flowDropped('a2g'), at(1), at(2))).toBe(3_600_000);

    // Act: undo.
    w.setBgpPeersEnabled(PROJECT, REGION, vpn.gcp.router as string, vpn.gcp.bgpPeers, true);
    clock.advance(HOUR);

    // Assess
    expect(awsOut(at(2), at(3))).toBe(3_600_000);
    expect(gcpSent(at(2), at(3))).toBe(1_800_000);
  });

  it('a static VPN: deleting the AWS static route withdraws only AWS -> Google; re-creating it restores it', () => {
    // Prepare
    const { w, clock, vpn, vpc, at, awsOut, awsIn } = world('static');
    clock.advance(HOUR);
    expect(awsOut(at(0), at(1))).toBe(3_600_000);
    expect(awsIn(at(0), at(1))).toBe(1_800_000);
    expect(w.vgwTelemetry(vpn.vpnConnectionId).map((t) => t.status)).toEqual(['UP', 'UP']);

    // Act
    w.deleteVpnConnectionRoute(vpn.vpnConnectionId, '10.128.0.0/20');
    clock.advance(HOUR);

    // Assess: the route leaves the VPC table; Google keeps sending over its static routes.
    expect(w.vpnConnections.get(vpn.vpnConnectionId)?.routes).toEqual([
      { destinationCidrBlock: '10.128.0.0/20', source: 'Static', state: 'deleted' },
    ]);
    expect(w.vpcRoutes(vpc.mainRouteTableId).map((r) => r.destinationCidrBlock)).toEqual(['10.0.0.0/16']);
    expect(awsOut(at(1), at(2))).toBe(0);
    expect(awsIn(at(1), at(2))).toBe(1_800_000);

    // Act: undo.
    w.createVpnConnectionRoute(vpn.vpnConnectionId, '10.128.0.0/20');
    clock.advance(HOUR);

    // Assess
    expect(awsOut(at(2), at(3))).toBe(3_600_000);
  });

  it('refuses static routes on a BGP VPN, and deleting what is still in use', () => {
    const { w, vpn } = world();
    expect(() => w.createVpnConnectionRoute(vpn.vpnConnectionId, '10.128.0.0/20')).toThrow(NetworkError);
    expect(() => w.deleteExternalVpnGateway(PROJECT, vpn.gcp.externalVpnGateway as string)).toThrow(
      /already being used/,
    );
    expect(() => w.deleteCustomerGateway(vpn.customerGatewayId)).toThrow(/is used by/);
    // Delete in the documented order: tunnels, then the external gateway; the VPN, then its customer gateway.
    for (const t of vpn.gcp.tunnels) w.deleteVpnTunnel(PROJECT, REGION, t);
    w.deleteExternalVpnGateway(PROJECT, vpn.gcp.externalVpnGateway as string);
    w.deleteVpnConnection(vpn.vpnConnectionId);
    w.deleteCustomerGateway(vpn.customerGatewayId);
    expect(w.vpnConnections.get(vpn.vpnConnectionId)?.state).toBe('deleted');
  });

  it('DisableVgwRoutePropagation withdraws the link routes too when the DX gateway uses the same VGW', () => {
    // Prepare
    const { w, clock, links, vpn, vpc, at } = world();
    links.update('lk-01', { up: true });

    // Act
    w.disableVgwRoutePropagation(vpc.mainRouteTableId, vpn.vpnGatewayId as string);
    clock.advance(HOUR);

    // Assess: AWS -> Google has no path at all (neither link nor VPN).
    expect(w.counter(counterKey.linkAwsToGcp('lk-01'), at(0), at(1))).toBe(0);
    expect(w.counter(counterKey.flowDropped('a2g'), at(0), at(1))).toBe(3_600_000);
  });

  it('a Transit Gateway: DX beats the VPN in its route table; disabling the VPN propagation drains AWS -> Google', () => {
    // Prepare
    const { w, clock, links, vpn, tgw, at, awsOut, gcpSent } = world('bgp', true);
    const rtb = tgw?.associationDefaultRouteTableId as string;
    clock.advance(HOUR);
    expect(awsOut(at(0), at(1))).toBe(3_600_000);
    expect(gcpSent(at(0), at(1))).toBe(1_800_000);
    // ECMP on a Transit Gateway with vpnEcmpSupport.
    expect(w.flow('a2g').path.via).toMatchObject({ kind: 'vpn', awsTunnels: expect.any(Array) });
    expect((w.flow('a2g').path.via as { awsTunnels: string[] }).awsTunnels).toHaveLength(2);

    // Act: per-VPN drain on the AWS side only.
    w.disableTgwPropagation(rtb, vpn.transitGatewayAttachmentId as string);
    clock.advance(HOUR);

    // Assess: AWS stops sending over the VPN; Google still sends (its BGP sessions are up).
    expect(awsOut(at(1), at(2))).toBe(0);
    expect(gcpSent(at(1), at(2))).toBe(1_800_000);

    // Act: the link comes up.
    links.update('lk-01', { up: true });
    clock.advance(HOUR);

    // Assess: SearchTransitGatewayRoutes shows the DX attachment for the Google prefix.
    const route = w.tgwRoutes(rtb).find((r) => r.destinationCidrBlock === '10.128.0.0/20');
    expect(route).toMatchObject({ origin: 'dx', type: 'propagated', state: 'active' });
    expect(gcpSent(at(2), at(3))).toBe(0);
    expect(w.counter(counterKey.linkAwsToGcp('lk-01'), at(2), at(3))).toBe(3_600_000);
  });

  it("logs what was applied to each VPN's resources, once per change: a repeat that changes nothing is not logged", () => {
    // Prepare
    const bgp = world();
    const tgw = world('bgp', true);
    const rtb = tgw.tgw?.associationDefaultRouteTableId as string;
    const router = bgp.vpn.gcp.router as string;
    const kinds = (w: NetworkWorld, id: string) => w.vpnChangesOf(id).map((c) => `${c.side} ${c.kind}`);

    // Act: drain twice, undrain, drain, then delete on both clouds (Google's tunnels after AWS's VPN,
    // its peers after its tunnels); on the Transit Gateway, the propagation off and on.
    bgp.w.setBgpPeersEnabled(PROJECT, REGION, router, bgp.vpn.gcp.bgpPeers, false);
    bgp.w.setBgpPeersEnabled(PROJECT, REGION, router, bgp.vpn.gcp.bgpPeers, false);
    bgp.w.setBgpPeersEnabled(PROJECT, REGION, router, bgp.vpn.gcp.bgpPeers, true);
    bgp.w.setBgpPeersEnabled(PROJECT, REGION, router, bgp.vpn.gcp.bgpPeers, false);
    bgp.w.deleteVpnConnection(bgp.vpn.vpnConnectionId);
    for (const t of bgp.vpn.gcp.tunnels) bgp.w.deleteVpnTunnel(PROJECT, REGION, t);
    bgp.w.patchRouter(PROJECT, REGION, router, { bgpPeers: [], interfaces: [] });
    tgw.w.disableTgwPropagation(rtb, tgw.vpn.transitGatewayAttachmentId as string);
    tgw.w.enableTgwPropagation(rtb, tgw.vpn.transitGatewayAttachmentId as string);
    tgw.w.enableTgwPropagation(rtb, tgw.vpn.transitGatewayAttachmentId as string);

    // Assess: each peer and tunnel (two of each) by the VPN it pairs with, even once gone.
    expect(kinds(bgp.w, bgp.vpn.vpnConnectionId)).toEqual([
      ...Array(2).fill('gcp bgp-peer-disabled'),
      ...Array(2).fill('gcp bgp-peer-enabled'),
      ...Array(2).fill('gcp bgp-peer-disabled'),
      'aws vpn-connection-deleted',
      ...Array(2).fill('gcp vpn-tunnel-deleted'),
      ...Array(2).fill('gcp bgp-peer-removed'),
    ]);
    expect(bgp.w.vpnChangesOf(bgp.vpn.vpnConnectionId)[0]?.resource).toMatch(
      new RegExp(`^projects/${PROJECT}/regions/${REGION}/routers/${router}/bgpPeers/`),
    );
    expect(kinds(tgw.w, tgw.vpn.vpnConnectionId)).toEqual([
      'aws tgw-propagation-disabled',
      'aws tgw-propagation-enabled',
    ]);
  });

  it('a BGP session needs matching ASNs and keys: a wrong pre-shared key keeps IPsec down', () => {
    const { w, vpn } = world();
    const t = w.vpnTunnel(PROJECT, REGION, vpn.gcp.tunnels[0] as string);
    t.sharedSecret = 'wrong';
    w.refresh();
    expect(w.gcpTunnelStatus(PROJECT, REGION, t.name).status).toBe('AUTHORIZATION_ERROR');
    expect(w.vgwTelemetry(vpn.vpnConnectionId).map((x) => x.status)).toEqual(['DOWN', 'UP']);
  });
});

describe('rate histories', () => {
  it('integrate exactly over any window and bucket per period', () => {
    const h = new RateHistory(0, 10);
    h.set(1000, 0);
    h.set(3000, 5);
    expect(h.integrate(0, 4000)).toBe(15);
    expect(h.integrate(500, 1500)).toBe(5);
    expect(h.buckets(0, 4000, 1000).map((b) => b.value)).toEqual([10, 0, 0, 5]);
    expect(h.integrate(-1000, 0)).toBe(0);
  });
});

describe('link routes from the link world', () => {
  it('become one view per link, and a change reaches the counters within a virtual minute', async () => {
    // Prepare
    const { VirtualClock } = await import('#local/clock.ts');
    const { WorldLinkRoutes } = await import('#local/world/link-routes.ts');
    const clock = new VirtualClock({ mode: 'manual', start: Date.parse('2026-06-01T00:00:00Z') });
    type R = ReturnType<InstanceType<typeof WorldLinkRoutes>['links']>;
    let up = false;
    const route = (prefix: string) => ({
      prefix,
      sharedId: 'S',
      transport: `projects/${PROJECT}/locations/${REGION}/transports/lk-01`,
      network: `projects/${PROJECT}/global/networks/core`,
      accountId: ACCOUNT,
      directConnectGatewayId: 'ABCD-DXGW',
    });
    const source = new WorldLinkRoutes(
      {
        routesToGcp: () => (up ? [route('10.0.0.0/16')] : []),
        routesToAws: () => (up ? [route('10.128.0.0/20')] : []),
      },
      clock,
    );
    const w = new NetworkWorld({ clock, links: source });
    const vpc = w.addVpc({ accountId: ACCOUNT, region: 'us-east-1', cidrBlocks: ['10.0.0.0/16'] });
    w.addGcpNetwork({
      project: PROJECT,
      name: 'core',
      subnets: [{ name: 'app', region: REGION, ipCidrRange: '10.128.0.0/20' }],
    });
    const vpn = buildVpn(w, {
      name: 'v',
      aws: { vpcId: vpc.vpcId },
      gcp: { project: PROJECT, region: REGION, network: 'core' },
    });
    w.associateDxGateway('abcd-dxgw', vpn.vpnGatewayId as string);
    w.addFlow({ name: 'a2g', from: vpc.vpcId, to: '10.128.0.9', bytesPerSecond: 100 });
    const t0 = clock.now();

    // Act
    up = true;
    await clock.advance(HOUR);

    // Assess
    expect(w.links()).toEqual<R>([
      {
        linkId: 'lk-01',
        up: true,
        aws: { accountId: ACCOUNT, dxGatewayId: 'ABCD-DXGW' },
        gcp: { project: PROJECT, network: 'core' },
        toGcp: ['10.0.0.0/16'],
        toAws: ['10.128.0.0/20'],
      },
    ]);
    expect(w.flow('a2g').path.via).toEqual({ kind: 'link', linkId: 'lk-01' });
    // At most the first minute still went over the VPN.
    expect(w.counter(counterKey.linkAwsToGcp('lk-01'), t0, t0 + HOUR)).toBe(100 * 3540);
    source.stop();
    clock.stop();
  });
});

describe('CloudWatch AWS/VPN datapoints', () => {
  it('sum the bytes of 5-minute samples per period and show TunnelState', () => {
    // Prepare
    const { w, clock, vpn } = world();
    const t0 = clock.now();
    const ip = w.vpnConnections.get(vpn.vpnConnectionId)?.tunnels[0]?.outsideIpAddress as string;
    clock.advance(HOUR);
    w.setBgpPeersEnabled(PROJECT, REGION, vpn.gcp.router as string, vpn.gcp.bgpPeers, false);
    clock.advance(HOUR);

    // Act
    const q = {
      vpnConnectionId: vpn.vpnConnectionId,
      tunnelIpAddress: ip,
      start: t0,
      end: t0 + 2 * HOUR,
      periodSeconds: 3600,
    };
    const out = w.awsVpnMetric({ ...q, metric: 'TunnelDataOut', stat: 'Sum' });
    const state = w.awsVpnMetric({ ...q, metric: 'TunnelState', stat: 'Maximum' });
    const samples = w.awsVpnMetric({ ...q, metric: 'TunnelDataOut', stat: 'SampleCount' });

    // Assess: 1000 B/s on tunnel 0 for the first hour (its first sample is 5 minutes in), none after the drain.
    expect(out.map((p) => p.value)).toEqual([1000 * 3600, 0]);
    expect(state.map((p) => p.value)).toEqual([1, 0]);
    expect(samples.map((p) => p.value)).toEqual([12, 12]);
  });
});
