/**
 * Google's VPN traffic for a run Google coordinates (functions/core/vpn/run-traffic.ts,
 * functions/gcp/vpn-traffic.ts): each HA VPN tunnel named by the AWS VPN whose tunnel is its peer
 * (over the acme exports), Monitoring's series turned into the metrics file's samples, and the reads
 * asked for whole 5-minute periods of the window, per project and counter; a drained VPN's tunnels
 * named from its drain record.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  drainedGcpTunnels,
  pairedGcpTunnels,
  type TunnelSeries,
  trafficOfSeries,
} from '#core/vpn/run-traffic.ts';
import { readGcpTraffic } from '#gcp/vpn-traffic.ts';

const acme = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../examples/vpn/acme/${name}.json`, import.meta.url), 'utf8'));

const series = (tunnel: string, type: string, bytes: number[]): TunnelSeries => ({
  metric: { type: `vpn.googleapis.com/network/${type}`, labels: { tunnel_name: tunnel } },
  resource: { labels: { project_id: 'acme-net-prod', region: 'us-east4', gateway_id: '123' } },
  points: bytes.map((b, i) => ({
    interval: {
      startTime: new Date(Date.parse('2026-11-20T11:00:00Z') - (i + 1) * 300_000).toISOString(),
      endTime: new Date(Date.parse('2026-11-20T11:00:00Z') - i * 300_000).toISOString(),
    },
    value: { int64Value: String(b) },
  })),
});

describe("Google's VPN traffic", () => {
  it('names each Google tunnel by the AWS VPN its peer IP belongs to, leaving out unpaired ones', () => {
    // Act
    const paired = pairedGcpTunnels(acme('aws'), acme('gcp'));
    const none = pairedGcpTunnels({ VpnConnections: [] }, acme('gcp'));
    // Assess
    expect(paired).toContainEqual({
      project: 'acme-net-prod',
      region: 'us-east4',
      name: 'shared-to-gcp-1-t0',
      vpnConnectionId: 'vpn-0a1d7e3c9b2f40aa1',
    });
    expect(new Set(paired.map((p) => p.vpnConnectionId)).size).toBeGreaterThan(1);
    expect(none).toEqual([]);
  });

  it('turns the series of paired tunnels into samples by VPN, with the counter’s short name', () => {
    // Arrange
    const paired = pairedGcpTunnels(acme('aws'), acme('gcp'));
    // Act
    const samples = trafficOfSeries(
      'acme-net-prod',
      [
        series('shared-to-gcp-1-t0', 'received_bytes_count', [1500, 0]),
        series('not-paired', 'sent_bytes_count', [9]),
      ],
      paired,
    );
    // Assess
    expect(samples).toEqual([
      {
        vpnConnectionId: 'vpn-0a1d7e3c9b2f40aa1',
        metric: 'received_bytes_count',
        start: '2026-11-20T10:55:00.000Z',
        end: '2026-11-20T11:00:00.000Z',
        bytes: 1500,
      },
      {
        vpnConnectionId: 'vpn-0a1d7e3c9b2f40aa1',
        metric: 'received_bytes_count',
        start: '2026-11-20T10:50:00.000Z',
        end: '2026-11-20T10:55:00.000Z',
        bytes: 0,
      },
    ]);
  });

  it('reads both counters of each project once, over whole 5-minute periods ending before now', async () => {
    // Arrange
    const paired = pairedGcpTunnels(acme('aws'), acme('gcp'));
    const calls: [string, Record<string, string>][] = [];
    const monitoring = {
      timeSeries: async (project: string, params: Record<string, string>) => {
        calls.push([project, params]);
        return [
          series(
            'shared-to-gcp-1-t0',
            params.filter?.includes('received') ? 'received_bytes_count' : 'sent_bytes_count',
            [10],
          ),
        ];
      },
    };
    // Act
    const out = await readGcpTraffic(monitoring, paired, Date.parse('2026-11-20T11:03:20Z'), 3_600_000);
    // Assess
    const projects = [...new Set(paired.map((p) => p.project))].sort();
    expect(calls.map(([p, q]) => [p, q.filter])).toEqual(
      projects.flatMap((p) => [
        [p, 'metric.type = "vpn.googleapis.com/network/sent_bytes_count" AND resource.type = "vpn_gateway"'],
        [
          p,
          'metric.type = "vpn.googleapis.com/network/received_bytes_count" AND resource.type = "vpn_gateway"',
        ],
      ]),
    );
    expect(calls[0]?.[1]).toMatchObject({
      'interval.startTime': '2026-11-20T10:00:00.000Z',
      'interval.endTime': '2026-11-20T11:00:00.000Z',
      'aggregation.alignmentPeriod': '300s',
      'aggregation.perSeriesAligner': 'ALIGN_SUM',
    });
    expect((out.traffic as { metric: string }[]).map((t) => t.metric)).toContain('received_bytes_count');
  });

  it("names the drained VPNs' Google tunnels from their drain records, paths or URLs", () => {
    // Arrange
    const drain = {
      vpnConnectionId: 'vpn-0aaaaaaaaaaaaaaa1',
      runId: 'vpn-dev-20261120T030000Z',
      drainedAt: '2026-11-20T03:00:00.000Z',
      method: 'gcp-bgp-peers' as const,
      prefixes: [],
      links: [],
      gcpTunnels: [
        'projects/acme-net-prod/regions/us-east4/vpnTunnels/t-0',
        'https://www.googleapis.com/compute/v1/projects/acme-net-prod/regions/us-east4/vpnTunnels/t-1',
      ],
      awsRegion: 'us-east-1',
    };
    // Act
    const tunnels = drainedGcpTunnels([drain]);
    // Assess
    expect(tunnels).toEqual(
      ['t-0', 't-1'].map((name) => ({
        project: 'acme-net-prod',
        region: 'us-east4',
        name,
        vpnConnectionId: 'vpn-0aaaaaaaaaaaaaaa1',
      })),
    );
  });
});
