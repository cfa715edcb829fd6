/**
 * `crosslink vpn plan` with no --aws/--gcp reads the running local cloud (handshake in
 * .crosslink/local.json): EC2 and CloudWatch on the AWS edge, compute on the Google edge, as the
 * `--as` identity. An HA VPN on a virtual private gateway whose traffic a healthy link has taken over
 * passes every drain gate, its AWS traffic judged from CloudWatch.
 */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '#core/vpn/planner.ts';
import type { LocalCloud } from '#local/index.ts';
import { gcpNetworkId, StaticLinks } from '#local/world/network.ts';
import { type BuiltVpn, buildVpn } from '#local/world/vpn-builder.ts';
import { main } from '#scripts/cli/main.ts';
import { startTestCloud } from '../support/local-cloud.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('crosslink vpn plan against the local cloud', () => {
  let cloud: LocalCloud;
  let home: string;
  let vpn: BuiltVpn;
  let network: string;

  const cli = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: home, env: {} });
    return { code, out: out.join('\n'), err };
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'crosslink-home-'));
    mkdirSync(join(home, 'config'));
    mkdirSync(join(home, '.crosslink'));
    cpSync(join(repo, 'config', 'local-identities.yaml'), join(home, 'config', 'local-identities.yaml'));
    cloud = await startTestCloud({ gcp: { keysDir: join(home, '.crosslink', 'keys') } });
    writeFileSync(join(home, '.crosslink', 'local.json'), JSON.stringify(cloud.handshake()));

    // An HA VPN between a VPC and a VPC network, traffic both ways, then a link between the same
    // networks carrying the same prefixes.
    const w = cloud.network;
    const project = cloud.gcp.project;
    const region = cloud.gcp.region;
    const links = new StaticLinks();
    w.setLinkSource(links);
    const vpc = w.addVpc({
      accountId: cloud.aws.accountId,
      region: 'us-east-1',
      cidrBlocks: ['10.0.0.0/16'],
    });
    w.addGcpNetwork({
      project,
      name: 'core',
      subnets: [{ name: 'app', region, ipCidrRange: '10.128.0.0/20' }],
    });
    vpn = buildVpn(w, {
      name: 'legacy',
      aws: { vpcId: vpc.vpcId },
      gcp: { project, region, network: 'core' },
    });
    network = gcpNetworkId(project, 'core');
    w.addFlow({ name: 'a2g', from: vpc.vpcId, to: '10.128.3.3', bytesPerSecond: 2_000 });
    w.addFlow({ name: 'g2a', from: network, to: '10.0.3.3', bytesPerSecond: 1_000 });
    await cloud.clock.advance(HOUR);
    links.set({
      linkId: 'lk-01',
      up: true,
      aws: { accountId: cloud.aws.accountId, dxGatewayId: 'dxgw-1', gateways: [vpn.vpnGatewayId as string] },
      gcp: { project, network: 'core' },
      toGcp: ['10.0.0.0/16'],
      toAws: ['10.128.0.0/20'],
    });
    await cloud.clock.advance(DAY + HOUR);
    const start = new Date(cloud.clock.now() - 5 * DAY).toISOString();
    writeFileSync(
      join(home, 'links.json'),
      JSON.stringify({
        links: [
          {
            linkId: 'lk-01',
            state: 'ACTIVE',
            aws: {
              gatewayId: vpn.vpnGatewayId,
              directConnectGatewayId: 'dxgw-1',
              allowedPrefixes: ['10.0.0.0/16'],
            },
            gcp: { network, peering: 'lk-01', advertisedRoutes: ['10.128.0.0/20'] },
            health: [{ at: start, status: 'healthy' }],
          },
        ],
      }),
    );
  });

  afterAll(async () => {
    await cloud?.stop();
  });

  it('reads the VPN from both edges and plans its drain, every drain gate passing', async () => {
    // Act
    const r = await cli(['vpn', 'plan', '--links', 'links.json', '--json']);
    // Assess
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.out) as Plan;
    expect(plan.at).toBe(new Date(cloud.clock.now()).toISOString());
    expect(plan.unpaired).toEqual([]);
    expect(plan.vpns).toHaveLength(1);
    const v = plan.vpns[0]!;
    expect(v).toMatchObject({ vpnConnectionId: vpn.vpnConnectionId, state: 'active', action: 'drain' });
    expect(v.networks.aws).toBe(vpn.vpnGatewayId);
    const verdicts = Object.fromEntries(v.gates.map((g) => [g.gate, g.verdict]));
    expect(verdicts).toMatchObject({
      paired: 'pass',
      covered: 'pass',
      'effective-routes': 'pass',
      'drain-method': 'pass',
      soak: 'pass',
      'last-path': 'pass',
    });
    // AWS side judged from CloudWatch's TunnelDataOut: the link carried the last day's traffic.
    expect(v.gates.find((g) => g.gate === 'effective-routes')?.reason).toContain(
      'virtual private gateway: route tables cannot show the path, judged by the VPN BGP state and traffic; AWS sends at most 0 B/h',
    );
  });

  it('without --links nothing is covered: the VPN is kept', async () => {
    // Act
    const r = await cli(['vpn', 'plan', '--json']);
    // Assess
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.out) as Plan;
    expect(plan.vpns.map((v) => [v.vpnConnectionId, v.action])).toEqual([[vpn.vpnConnectionId, 'keep']]);
    expect(plan.vpns[0]?.gates.find((g) => g.gate === 'covered')?.verdict).toBe('fail');
  });
});
