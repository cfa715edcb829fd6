/**
 * The planner over realistic exported inventories (examples/vpn/acme): AWS CLI and gcloud JSON as
 * those tools print them, plus crosslink's links and metrics files. Four pairs of networks: a VPN ready
 * to drain and one carrying a more-specific prefix (shared-vpc), a Terraform-owned and an expired drained
 * VPN (data-vpc), a flapping link (staging-vpc), and a backup policy over a Transit Gateway (analytics-vpc).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { importAwsExport } from '#core/vpn/import-aws.ts';
import { importGcpExport } from '#core/vpn/import-gcp.ts';
import { importLinksFile, importMetricsFile } from '#core/vpn/import-state.ts';
import { buildInventory } from '#core/vpn/inventory.ts';
import { type Plan, planDecommission } from '#core/vpn/planner.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const read = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../examples/vpn/acme/${name}.json`, import.meta.url), 'utf8'));

function planFrom(files: Record<'aws' | 'gcp' | 'links' | 'metrics', Record<string, unknown>>): Plan {
  const links = importLinksFile(files.links);
  const inv = buildInventory({
    aws: importAwsExport(files.aws),
    gcp: importGcpExport(files.gcp),
    links,
    traffic: importMetricsFile(files.metrics),
  });
  return planDecommission(inv, links.policy, NOW);
}

const files = () => ({ aws: read('aws'), gcp: read('gcp'), links: read('links'), metrics: read('metrics') });
const byId = (p: Plan) => new Map(p.vpns.map((v) => [v.vpnConnectionId, v]));
const gateOf = (p: Plan, id: string, g: string) =>
  byId(p)
    .get(id)
    ?.gates.find((x) => x.gate === g);

describe('planning the acme exports', () => {
  const plan = planFrom(files());

  it('decides every VPN', () => {
    // Assess
    expect(plan.vpns.map((v) => [v.vpnConnectionId, v.state, v.action])).toEqual([
      ['vpn-0710b2c3d4e5f6071', 'active', 'keep'],
      ['vpn-0720b2c3d4e5f6072', 'active', 'drain'],
      ['vpn-0a1d7e3c9b2f40aa1', 'active', 'drain'],
      ['vpn-0b2e8f4d0c3a51bb2', 'active', 'keep'],
      ['vpn-0c3f9a5e1d4b62cc3', 'drained', 'keep'],
      ['vpn-0d4a0b6f2e5c73dd4', 'drained', 'delete'],
      ['vpn-0e5b1c7a3f6d84ee5', 'drained', 'undrain'],
      ['vpn-0f6c2d8b4a7e95ff6', 'active', 'keep'],
    ]);
    expect(plan.totals).toEqual({
      keep: 4,
      drain: 2,
      undrain: 1,
      delete: 1,
      monthlySaving: 109.5,
      monthlySavingPending: 328.5,
    });
  });

  it('keeps the VPN that carries 10.20.5.0/24 inside the link route 10.20.0.0/16', () => {
    // Assess
    expect(gateOf(plan, 'vpn-0b2e8f4d0c3a51bb2', 'covered')?.reason).toContain(
      "10.20.5.0/24 is more specific than lk-01jc6rzt8q4m2n0s9v7w5x3y1a's 10.20.0.0/16",
    );
    expect(gateOf(plan, 'vpn-0b2e8f4d0c3a51bb2', 'effective-routes')?.reason).toContain(
      'routes 10.20.5.0/24 over vpn-0b2e8f4d0c3a51bb2',
    );
  });

  it('drains the covered VPN through its Cloud Router BGP peers, judging the VGW side by traffic', () => {
    // Assess
    const v = byId(plan).get('vpn-0a1d7e3c9b2f40aa1');
    expect(v?.drainMethod).toEqual({
      kind: 'gcp-bgp-peers',
      router: 'cr-shared-aws',
      peers: ['bgp-shared-to-gcp-1-t0', 'bgp-shared-to-gcp-1-t1'],
    });
    expect(gateOf(plan, 'vpn-0a1d7e3c9b2f40aa1', 'effective-routes')?.reason).toMatch(
      /virtual private gateway.*AWS sends at most 2\.9 kB\/h/,
    );
  });

  it('holds back a drain on the flapping link and undrains the VPN drained over it', () => {
    // Assess
    expect(gateOf(plan, 'vpn-0f6c2d8b4a7e95ff6', 'soak')?.reason).toContain('flapping');
    expect(byId(plan).get('vpn-0e5b1c7a3f6d84ee5')?.summary).toBe('undrain: a link is not healthy');
  });

  it('reports the Terraform-owned VPN instead of deleting it', () => {
    // Assess
    expect(gateOf(plan, 'vpn-0c3f9a5e1d4b62cc3', 'iac-ownership')).toMatchObject({ verdict: 'fail' });
    expect(gateOf(plan, 'vpn-0c3f9a5e1d4b62cc3', 'iac-ownership')?.reason).toContain(
      'owned by Terraform (tag on vpn-0c3f9a5e1d4b62cc3 ManagedBy=terraform)',
    );
  });

  it('deletes the expired drained VPN with its unused customer gateway and external VPN gateway', () => {
    // Assess
    expect(byId(plan).get('vpn-0d4a0b6f2e5c73dd4')?.deletes).toEqual([
      'aws: VPN connection vpn-0d4a0b6f2e5c73dd4',
      'aws: customer gateway cgw-00000000000005a04 (no other VPN uses it)',
      'gcp: VPN tunnels data-to-gcp-old-t0, data-to-gcp-old-t1',
      'gcp: router cr-data-aws BGP peers bgp-data-to-gcp-old-t0, bgp-data-to-gcp-old-t1 and interfaces if-data-to-gcp-old-t0, if-data-to-gcp-old-t1',
      'gcp: external VPN gateway aws-vpn-0d4a0b6f2e5c73dd4 (no other tunnel uses it)',
    ]);
  });

  it('keeps one of the two analytics VPNs for the backup policy, over the Transit Gateway routes', () => {
    // Assess
    expect(gateOf(plan, 'vpn-0710b2c3d4e5f6071', 'last-path')?.reason).toBe(
      'backup policy keeps 1 VPN(s) up between tgw-0c4d1e2f3a4b5c6d7 and projects/acme-net-prod/global/networks/analytics-vpc',
    );
    expect(gateOf(plan, 'vpn-0720b2c3d4e5f6072', 'effective-routes')?.reason).toContain(
      'Transit Gateway tgw-0c4d1e2f3a4b5c6d7 routes use the link',
    );
  });

  it('reports the Google tunnel to the office as unpaired', () => {
    // Assess
    expect(plan.unpaired).toEqual([
      {
        side: 'gcp',
        id: 'projects/acme-net-prod/regions/us-east4/vpnTunnels/office-fra-t0',
        reason: 'no AWS VPN tunnel has outside IP 203.0.113.10',
      },
    ]);
  });

  it('deletes the Terraform-owned VPN when the policy allows it', () => {
    // Prepare
    const f = files();
    const links = f.links as { policy: Record<string, unknown> };
    links.policy.allowIacDelete = true;
    // Act
    const p = planFrom(f);
    // Assess
    expect(byId(p).get('vpn-0c3f9a5e1d4b62cc3')?.action).toBe('delete');
  });

  it('plans the same when every exported list comes in reverse order', () => {
    // Prepare
    const f = files();
    const rev = (o: Record<string, unknown>, key: string) => {
      if (Array.isArray(o[key])) o[key] = [...(o[key] as unknown[])].reverse();
    };
    for (const k of ['VpnConnections', 'CustomerGateways', 'RouteTables', 'TransitGatewayAttachments'])
      rev(f.aws, k);
    for (const k of ['vpnTunnels', 'routers', 'externalVpnGateways']) rev(f.gcp, k);
    for (const s of Object.values(f.gcp.routerStatus as Record<string, { result: Record<string, unknown> }>))
      for (const k of ['bestRoutes', 'bestRoutesForRouter', 'bgpPeerStatus']) rev(s.result, k);
    for (const k of ['links', 'drains']) rev(f.links, k);
    rev(f.metrics, 'traffic');
    // Act
    const p = planFrom(f);
    // Assess
    expect(p).toEqual(plan);
  });
});
