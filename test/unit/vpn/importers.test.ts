import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors.ts';
import { importAwsExport } from '#core/vpn/import-aws.ts';
import { importGcpExport } from '#core/vpn/import-gcp.ts';
import { importLinksFile, importMetricsFile } from '#core/vpn/import-state.ts';
import { buildInventory } from '#core/vpn/inventory.ts';

function issuesOf(f: () => unknown): { path: string; reason: string }[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ValidationError) return [...e.issues];
    throw e;
  }
  throw new Error('expected a ValidationError');
}

const awsVpn = (over: Record<string, unknown> = {}) => ({
  CustomerGatewayId: 'cgw-01',
  State: 'available',
  Type: 'ipsec.1',
  VpnConnectionId: 'vpn-01',
  VpnGatewayId: 'vgw-01',
  Options: {
    StaticRoutesOnly: false,
    TunnelOptions: [{ OutsideIpAddress: '3.1.1.1' }, { OutsideIpAddress: '3.1.1.2' }],
  },
  Routes: [],
  Tags: [{ Key: 'Name', Value: 'to-gcp' }],
  VgwTelemetry: [
    {
      AcceptedRouteCount: 1,
      LastStatusChange: '2026-11-01T10:00:00.000Z',
      OutsideIpAddress: '3.1.1.1',
      Status: 'UP',
      StatusMessage: '1 BGP ROUTES',
    },
    {
      AcceptedRouteCount: 1,
      LastStatusChange: '2026-11-01T10:00:00.000Z',
      OutsideIpAddress: '3.1.1.2',
      Status: 'UP',
      StatusMessage: '1 BGP ROUTES',
    },
  ],
  ...over,
});

const G = 'https://www.googleapis.com/compute/v1/projects/p';
const gcpExport = (enable = 'TRUE', withStatus = true) => ({
  vpnTunnels: [0, 1].map((i) => ({
    kind: 'compute#vpnTunnel',
    name: `t${i}`,
    peerIp: `3.1.1.${i + 1}`,
    status: 'ESTABLISHED',
    region: `${G}/regions/us-east4`,
    router: `${G}/regions/us-east4/routers/cr`,
    selfLink: `${G}/regions/us-east4/vpnTunnels/t${i}`,
    peerExternalGateway: `${G}/global/externalVpnGateways/aws-gw`,
  })),
  routers: [
    {
      name: 'cr',
      network: `${G}/global/networks/prod`,
      region: `${G}/regions/us-east4`,
      interfaces: [0, 1].map((i) => ({
        name: `if-t${i}`,
        linkedVpnTunnel: `${G}/regions/us-east4/vpnTunnels/t${i}`,
      })),
      bgpPeers: [0, 1].map((i) => ({ name: `bgp-t${i}`, interfaceName: `if-t${i}`, enable, peerAsn: 64512 })),
    },
  ],
  routerStatus: withStatus
    ? {
        cr: {
          kind: 'compute#routerStatusResponse',
          result: {
            network: `${G}/global/networks/prod`,
            bestRoutes: [
              {
                destRange: '10.20.0.0/16',
                nextHopVpnTunnel: `${G}/regions/us-east4/vpnTunnels/t0`,
                routeType: 'BGP',
              },
            ],
            bgpPeerStatus: [
              { name: 'bgp-t0', status: 'UP', advertisedRoutes: [{ destRange: '10.128.0.0/16' }] },
            ],
          },
        },
      }
    : undefined,
});

describe('importers: field paths in errors', () => {
  it('names each bad AWS field by its path', () => {
    // Prepare
    const bad = {
      VpnConnections: [
        awsVpn({ VpnGatewayId: undefined }),
        awsVpn({
          VgwTelemetry: [{ OutsideIpAddress: '3.1.1.1', Status: 'MAYBE' }],
          Routes: [{ DestinationCidrBlock: '10.1.2.3/16' }],
        }),
      ],
    };
    // Act
    const issues = issuesOf(() => importAwsExport(bad));
    // Assess
    expect(issues).toEqual([
      { path: 'VpnConnections[0]', reason: 'has neither VpnGatewayId nor TransitGatewayId' },
      { path: 'VpnConnections[1].VgwTelemetry[0].Status', reason: 'expected UP or DOWN' },
      {
        path: 'VpnConnections[1].Routes[0].DestinationCidrBlock',
        reason: '"10.1.2.3/16" has host bits set; did you mean 10.1.0.0/16?',
      },
    ]);
  });

  it('says which export is missing', () => {
    // Act / Assess
    expect(issuesOf(() => importAwsExport({ CustomerGateways: [] }))[0]?.reason).toContain(
      'aws ec2 describe-vpn-connections',
    );
    expect(issuesOf(() => importGcpExport({ routers: [] }))[0]).toEqual({
      path: 'vpnTunnels',
      reason: 'missing: `gcloud compute vpn-tunnels list --format=json`',
    });
    expect(issuesOf(() => importAwsExport([]))[0]).toEqual({
      path: '',
      reason: 'expected an object, got a list',
    });
  });

  it('names bad gcloud fields, and a status for a router it was not given', () => {
    // Prepare
    const g = gcpExport('yes');
    (g.routerStatus as Record<string, unknown>).ghost = { result: {} };
    // Act
    const issues = issuesOf(() => importGcpExport(g));
    // Assess
    expect(issues).toEqual([
      { path: 'routers[0].bgpPeers[0].enable', reason: 'expected "TRUE" or "FALSE"' },
      { path: 'routers[0].bgpPeers[1].enable', reason: 'expected "TRUE" or "FALSE"' },
      { path: 'routerStatus.ghost', reason: 'no router of that name in routers' },
    ]);
  });

  it('names bad fields of the links, drains, policy and metrics files', () => {
    // Prepare
    const links = {
      links: [
        {
          linkId: 'lk-1',
          state: 'ACTIVE',
          aws: { gatewayId: 'vgw-01', allowedPrefixes: ['10.20.0.1/16'] },
          gcp: { network: 'n', advertisedRoutes: [] },
          health: [{ at: 'yesterday', status: 'fine' }],
        },
      ],
      drains: [
        {
          vpnConnectionId: 'vpn-01',
          drainedAt: '2026-11-01T00:00:00Z',
          method: 'DisableVgwRoutePropagation',
          prefixes: [],
        },
      ],
      policy: {
        soak: '3 days',
        changeWindows: [{ days: ['Fri'], start: '25:00', end: '01:00' }],
        colingOff: '7d',
      },
    };
    // Act
    const issues = issuesOf(() => importLinksFile(links));
    const metrics = issuesOf(() =>
      importMetricsFile({
        traffic: [
          {
            vpnConnectionId: 'vpn-01',
            metric: 'TunnelDataOut',
            start: '2026-11-01T01:00:00Z',
            end: '2026-11-01T00:00:00Z',
            bytes: -1,
          },
        ],
      }),
    );
    // Assess
    expect(issues.map((i) => i.path)).toEqual([
      'links[0].aws.allowedPrefixes[0]',
      'links[0].health[0].at',
      'links[0].health[0].status',
      'drains[0].method',
      'policy.colingOff',
      'policy.changeWindows[0].start',
      'policy.soak',
    ]);
    expect(issues.find((i) => i.path === 'policy.soak')?.reason).toContain('is not a duration');
    expect(metrics.map((i) => i.path)).toEqual(['traffic[0].bytes', 'traffic[0].end']);
  });
});

describe('building the inventory', () => {
  it('pairs halves by tunnel IPs and gathers the prefixes from routes and BGP status', () => {
    // Prepare
    const aws = importAwsExport({
      VpnConnections: [awsVpn({ Routes: [{ DestinationCidrBlock: '10.130.0.0/16', State: 'available' }] })],
    });
    // Act
    const inv = buildInventory({ aws, gcp: importGcpExport(gcpExport()) });
    // Assess
    const v = inv.vpns[0];
    expect(v?.networks).toEqual({ aws: 'vgw-01', gcp: 'projects/p/global/networks/prod' });
    expect(v?.gcp?.tunnels.map((t) => t.name)).toEqual(['t0', 't1']);
    expect(v?.prefixes.map((p) => `${p.toward} ${p.prefix.text}`).sort()).toEqual([
      'aws 10.20.0.0/16',
      'gcp 10.128.0.0/16',
      'gcp 10.130.0.0/16',
    ]);
    expect(v?.drain).toBeUndefined();
    expect(inv.effectiveRoutes).toEqual([
      expect.objectContaining({
        side: 'gcp',
        network: 'projects/p/global/networks/prod',
        via: [{ kind: 'vpn', id: 'vpn-01' }],
      }),
    ]);
  });

  it('sees a drain done outside crosslink from disabled peers, dated by the tunnels going down', () => {
    // Prepare
    const down = awsVpn({
      VgwTelemetry: [
        { OutsideIpAddress: '3.1.1.1', Status: 'DOWN', LastStatusChange: '2026-11-10T08:00:00.000Z' },
        { OutsideIpAddress: '3.1.1.2', Status: 'DOWN', LastStatusChange: '2026-11-10T08:00:05.000Z' },
      ],
    });
    // Act
    const inv = buildInventory({
      aws: importAwsExport({ VpnConnections: [down] }),
      gcp: importGcpExport(gcpExport('FALSE', false)),
    });
    // Assess
    expect(inv.vpns[0]?.drain).toEqual({ since: Date.parse('2026-11-10T08:00:05Z'), recorded: false });
    expect(inv.vpns[0]?.gcp?.statusObserved).toBe(false);
  });

  it('leaves an AWS VPN without Google tunnels unpaired, and skips deleted connections', () => {
    // Prepare
    const aws = importAwsExport({
      VpnConnections: [
        awsVpn({
          VpnConnectionId: 'vpn-02',
          Options: { TunnelOptions: [{ OutsideIpAddress: '9.9.9.9' }] },
          VgwTelemetry: [],
        }),
        awsVpn({ VpnConnectionId: 'vpn-03', State: 'deleted' }),
      ],
    });
    // Act
    const inv = buildInventory({ aws, gcp: importGcpExport(gcpExport()) });
    // Assess
    expect(inv.vpns.map((v) => [v.id, v.gcp === undefined])).toEqual([['vpn-02', true]]);
    expect(inv.unpaired.map((u) => u.id)).toEqual([
      'projects/p/regions/us-east4/vpnTunnels/t0',
      'projects/p/regions/us-east4/vpnTunnels/t1',
    ]);
  });
});
