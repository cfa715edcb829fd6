/**
 * The Google compute and monitoring modules over HTTP, on the shared network world: what an
 * inventory (gcloud compute vpn-tunnels list, routers get-status, Monitoring) sees while a link
 * takes over from a VPN, and the reversible drain by `routers.patch`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importGcpExport } from '#core/vpn/import-gcp.ts';
import type { LocalCloud } from '#local/index.ts';
import { gcpNetworkId, StaticLinks } from '#local/world/network.ts';
import { type BuiltVpn, buildVpn } from '#local/world/vpn-builder.ts';
import { startTestCloud } from '../support/local-cloud.ts';

const HOUR = 3_600_000;
const PROJECT = 'net-prod';
const REGION = 'us-east4';
const SA = 'crosslink@crosslink-local.iam.gserviceaccount.com';

describe('Google compute and monitoring on the network world', () => {
  let cloud: LocalCloud;
  let token: string;
  let vpn: BuiltVpn;
  const links = new StaticLinks();
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: responses are read ad hoc.
  ): Promise<{ status: number; json: any }> => {
    const res = await fetch(`${cloud.gcp.endpoint}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: await res.json() };
  };
  const compute = (p: string) => `/compute/v1/projects/${PROJECT}${p}`;
  const sentBytes = async (from: number, to: number) => {
    const q = new URLSearchParams({
      filter: 'metric.type = "vpn.googleapis.com/network/sent_bytes_count" AND resource.type = "vpn_gateway"',
      'interval.startTime': new Date(from).toISOString(),
      'interval.endTime': new Date(to).toISOString(),
      'aggregation.alignmentPeriod': `${(to - from) / 1000}s`,
      'aggregation.perSeriesAligner': 'ALIGN_SUM',
      'aggregation.crossSeriesReducer': 'REDUCE_SUM',
    });
    const { status, json } = await call('GET', `/v3/projects/${PROJECT}/timeSeries?${q}`);
    expect(status).toBe(200);
    return Number(json.timeSeries?.[0]?.points?.[0]?.value.int64Value ?? 0);
  };

  beforeAll(async () => {
    cloud = await startTestCloud();
    token = cloud.gcp.auth.issueAccessToken({
      email: SA,
      kind: 'service-account',
      scopes: ['https://www.googleapis.com/auth/cloud-platform'],
      lifetimeMs: 30 * 24 * HOUR,
    }).token;
    const w = cloud.network;
    w.setLinkSource(links);
    const vpc = w.addVpc({
      accountId: cloud.aws.accountId,
      region: 'us-east-1',
      cidrBlocks: ['10.0.0.0/16'],
    });
    w.addGcpNetwork({
      project: PROJECT,
      name: 'core',
      subnets: [{ name: 'app', region: REGION, ipCidrRange: '10.128.0.0/20' }],
    });
    vpn = buildVpn(w, {
      name: 'to-aws',
      aws: { vpcId: vpc.vpcId },
      gcp: { project: PROJECT, region: REGION, network: 'core' },
    });
    links.set({
      linkId: 'lk-01',
      up: false,
      aws: { accountId: cloud.aws.accountId, dxGatewayId: 'dxgw-1', gateways: [vpn.vpnGatewayId as string] },
      gcp: { project: PROJECT, network: 'core' },
      toGcp: ['10.0.0.0/16'],
      toAws: ['10.128.0.0/20'],
    });
    w.addFlow({ name: 'g2a', from: gcpNetworkId(PROJECT, 'core'), to: '10.0.1.1', bytesPerSecond: 1000 });
  });

  afterAll(async () => {
    await cloud?.stop();
  });

  it('refuses a call without a token', async () => {
    const res = await fetch(`${cloud.gcp.endpoint}${compute(`/regions/${REGION}/vpnTunnels`)}`);
    expect(res.status).toBe(401);
  });

  it('lists the HA VPN tunnels, external gateway and router as compute does', async () => {
    const tunnels = await call('GET', compute(`/regions/${REGION}/vpnTunnels`));
    expect(tunnels.status).toBe(200);
    expect(tunnels.json.kind).toBe('compute#vpnTunnelList');
    expect(tunnels.json.items.map((t: { name: string; status: string }) => [t.name, t.status])).toEqual([
      ['to-aws-tunnel-0', 'ESTABLISHED'],
      ['to-aws-tunnel-1', 'ESTABLISHED'],
    ]);
    expect(tunnels.json.items[0].peerExternalGateway).toBe(
      `https://www.googleapis.com/compute/v1/projects/${PROJECT}/global/externalVpnGateways/to-aws-aws`,
    );
    expect(tunnels.json.items[0]).not.toHaveProperty('sharedSecret');
    const aggregated = await call('GET', `/compute/v1/projects/${PROJECT}/aggregated/vpnTunnels`);
    expect(aggregated.json.items[`regions/${REGION}`].vpnTunnels).toHaveLength(2);
    const ext = await call('GET', compute('/global/externalVpnGateways/to-aws-aws'));
    expect(ext.json.redundancyType).toBe('TWO_IPS_REDUNDANCY');
    const router = await call('GET', compute(`/regions/${REGION}/routers/to-aws-router`));
    expect(router.json.bgpPeers.map((p: { enable: string }) => p.enable)).toEqual(['TRUE', 'TRUE']);
    const missing = await call('GET', compute(`/regions/${REGION}/vpnTunnels/nope`));
    expect(missing.status).toBe(404);
    expect(missing.json.error.status).toBe('NOT_FOUND');
  });

  it('shows the VPN carrying traffic, then the link winning: best routes leave the router, counters drop to zero', async () => {
    // Prepare
    const t0 = cloud.clock.now();
    const status = await call('GET', compute(`/regions/${REGION}/routers/to-aws-router/getRouterStatus`));
    expect(status.json.result.bestRoutes.map((r: { destRange: string }) => r.destRange)).toEqual([
      '10.0.0.0/16',
      '10.0.0.0/16',
    ]);
    expect(status.json.result.bgpPeerStatus.map((p: { status: string }) => p.status)).toEqual(['UP', 'UP']);
    await cloud.clock.advance(HOUR);
    expect(await sentBytes(t0, t0 + HOUR)).toBe(3_600_000);

    // Act
    links.update('lk-01', { up: true });
    await cloud.clock.advance(HOUR);

    // Assess
    expect(await sentBytes(t0 + HOUR, t0 + 2 * HOUR)).toBe(0);
    const after = await call('GET', compute(`/regions/${REGION}/routers/to-aws-router/getRouterStatus`));
    expect(after.json.result.bestRoutes).toEqual([]);
    expect(after.json.result.bgpPeerStatus[0].numLearnedRoutes).toBe(1);
    const effective = await call('GET', compute('/global/networks/core/getEffectiveRoutes'));
    expect(
      effective.json.routes
        .filter((r: { destRange: string }) => r.destRange === '10.0.0.0/16')
        .map((r: { routeType: string; nextHopPeering: string }) => [r.routeType, r.nextHopPeering]),
    ).toEqual([['PEERING', 'lk-01']]);
    // Per-minute points, newest first, as Monitoring returns them.
    const q = new URLSearchParams({
      filter: `metric.type = "vpn.googleapis.com/network/sent_bytes_count" AND metric.labels.tunnel_name = "to-aws-tunnel-0"`,
      'interval.startTime': new Date(t0 + HOUR - 2 * 60_000).toISOString(),
      'interval.endTime': new Date(t0 + HOUR + 2 * 60_000).toISOString(),
    });
    const raw = await call('GET', `/v3/projects/${PROJECT}/timeSeries?${q}`);
    expect(raw.json.timeSeries[0].metricKind).toBe('DELTA');
    expect(
      raw.json.timeSeries[0].points.map((p: { value: { int64Value: string } }) => p.value.int64Value),
    ).toEqual(['0', '0', '30000', '30000']);
    links.update('lk-01', { up: false });
  });

  it('drains by routers.patch enable FALSE (routes withdrawn both ways) and undoes it with TRUE', async () => {
    // Prepare
    const t0 = cloud.clock.now();
    const router = (await call('GET', compute(`/regions/${REGION}/routers/to-aws-router`))).json;

    // Act
    const drained = await call('PATCH', compute(`/regions/${REGION}/routers/to-aws-router`), {
      bgpPeers: router.bgpPeers.map((p: object) => ({ ...p, enable: 'FALSE' })),
      fingerprint: router.fingerprint,
    });
    await cloud.clock.advance(HOUR);

    // Assess
    expect(drained.status).toBe(200);
    expect(drained.json).toMatchObject({
      kind: 'compute#operation',
      operationType: 'patch',
      status: 'DONE',
      user: SA,
    });
    const op = await call('POST', `${new URL(drained.json.selfLink).pathname}/wait`);
    expect(op.json.status).toBe('DONE');
    const status = (await call('GET', compute(`/regions/${REGION}/routers/to-aws-router/getRouterStatus`)))
      .json.result;
    expect(status.bgpPeerStatus.map((p: { status: string; state: string }) => [p.status, p.state])).toEqual([
      ['DOWN', 'Idle'],
      ['DOWN', 'Idle'],
    ]);
    expect(status.bestRoutes).toEqual([]);
    expect(await sentBytes(t0, t0 + HOUR)).toBe(0);
    // The AWS half sees it too: no route to Google left in the VPC table, tunnels down.
    expect(cloud.network.vgwTelemetry(vpn.vpnConnectionId).map((t) => t.status)).toEqual(['DOWN', 'DOWN']);

    // Act: undo; a stale fingerprint is refused first.
    const stale = await call('PATCH', compute(`/regions/${REGION}/routers/to-aws-router`), {
      bgpPeers: router.bgpPeers,
      fingerprint: router.fingerprint,
    });
    expect(stale.status).toBe(412);
    const undone = await call('PATCH', compute(`/regions/${REGION}/routers/to-aws-router`), {
      bgpPeers: router.bgpPeers.map((p: object) => ({ ...p, enable: 'TRUE' })),
    });
    await cloud.clock.advance(HOUR);

    // Assess
    expect(undone.status).toBe(200);
    expect(await sentBytes(t0 + HOUR, t0 + 2 * HOUR)).toBe(3_600_000);
  });

  it('answers in shapes the VPN planner imports (as from gcloud ... --format=json)', async () => {
    const tunnels = (await call('GET', compute(`/regions/${REGION}/vpnTunnels`))).json.items;
    const routers = (await call('GET', compute(`/regions/${REGION}/routers`))).json.items;
    const routerStatus = {
      'to-aws-router': (
        await call('GET', compute(`/regions/${REGION}/routers/to-aws-router/getRouterStatus`))
      ).json,
    };
    const externalVpnGateways = (await call('GET', compute('/global/externalVpnGateways'))).json.items;
    const imported = importGcpExport({ vpnTunnels: tunnels, routers, routerStatus, externalVpnGateways });
    expect(imported.tunnels.map((t) => [t.name, t.status, t.router, t.peerExternalGateway])).toEqual([
      ['to-aws-tunnel-0', 'ESTABLISHED', 'to-aws-router', 'to-aws-aws'],
      ['to-aws-tunnel-1', 'ESTABLISHED', 'to-aws-router', 'to-aws-aws'],
    ]);
    const router = imported.routers[0];
    expect(router?.bgpPeers.map((p) => [p.name, p.enabled, p.tunnel])).toEqual([
      ['to-aws-peer-0', true, `projects/${PROJECT}/regions/${REGION}/vpnTunnels/to-aws-tunnel-0`],
      ['to-aws-peer-1', true, `projects/${PROJECT}/regions/${REGION}/vpnTunnels/to-aws-tunnel-1`],
    ]);
    expect(router?.status?.bestRoutes.map((r) => [r.prefix.text, r.nextHopVpnTunnel])).toEqual([
      ['10.0.0.0/16', `projects/${PROJECT}/regions/${REGION}/vpnTunnels/to-aws-tunnel-0`],
      ['10.0.0.0/16', `projects/${PROJECT}/regions/${REGION}/vpnTunnels/to-aws-tunnel-1`],
    ]);
    expect([...(router?.status?.advertised.get('to-aws-peer-0') ?? [])].map((c) => c.text)).toEqual([
      '10.128.0.0/20',
    ]);
  });

  it('refuses an invalid enable value and an external gateway still in use; deletes in order', async () => {
    const router = (await call('GET', compute(`/regions/${REGION}/routers/to-aws-router`))).json;
    const bad = await call('PATCH', compute(`/regions/${REGION}/routers/to-aws-router`), {
      bgpPeers: router.bgpPeers.map((p: object) => ({ ...p, enable: 'OFF' })),
    });
    expect(bad.status).toBe(400);
    const inUse = await call('DELETE', compute('/global/externalVpnGateways/to-aws-aws'));
    expect(inUse.status).toBe(400);
    expect(inUse.json.error.details[0].reason).toBe('resourceInUseByAnotherResource');
    for (const t of vpn.gcp.tunnels) {
      const del = await call('DELETE', compute(`/regions/${REGION}/vpnTunnels/${t}`));
      expect(del.json).toMatchObject({ operationType: 'delete', status: 'DONE' });
    }
    expect((await call('DELETE', compute('/global/externalVpnGateways/to-aws-aws'))).status).toBe(200);
    expect((await call('GET', compute('/global/externalVpnGateways/to-aws-aws'))).status).toBe(404);
    const status = (await call('GET', compute(`/regions/${REGION}/routers/to-aws-router/getRouterStatus`)))
      .json.result;
    expect(status.bgpPeerStatus.map((p: { status: string }) => p.status)).toEqual(['DOWN', 'DOWN']);
  });
});
