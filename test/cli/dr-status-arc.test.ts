/**
 * `crosslink dr status --arc-endpoints` against the running local cloud: the payments world's ARC
 * cluster (examples/dr/payments-aws-world.yaml), each cell's state read with the SDK client's
 * GetRoutingControlState through the cluster's regional endpoints in turn, as the `--as` identity.
 * One endpoint unavailable (503), the primary's region out (its endpoint drops connections), and
 * every endpoint unavailable.
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalCloud } from '#local/index.ts';
import { cliAgainst } from '../support/cli.ts';
import { deployPaymentsWorld, type PaymentsWorld, switchCells } from '../support/dr-world.ts';
import { admin, startTestCloud } from '../support/local-cloud.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const EXAMPLE_PRIMARY_CELL =
  'arn:aws:route53-recovery-control::123456789012:controlpanel/5f2c8e1a9b7d4c3e/routingcontrol/0f1e2d3c4b5a6978';
const EXAMPLE_STANDBY_CELL =
  'arn:aws:route53-recovery-control::123456789012:controlpanel/5f2c8e1a9b7d4c3e/routingcontrol/a1b2c3d4e5f60718';

let cloud: LocalCloud;
let world: PaymentsWorld;
let home: ReturnType<typeof cliAgainst>;
let plan: string;
let signals: string;
let endpointsFile: string;

const setCells = (aws: 'On' | 'Off', gcp: 'On' | 'Off') => switchCells(world, aws, gcp);

const setEndpoint = (region: string, available: boolean) =>
  admin(cloud, 'POST', '/aws/route53-recovery-cluster/set-endpoint', {
    clusterArn: world.out.ClusterArn,
    region,
    available,
  });

beforeAll(async () => {
  cloud = await startTestCloud();
  world = await deployPaymentsWorld(cloud);
  home = cliAgainst(cloud, 'crosslink-dr-status-');
  mkdirSync(join(home.home, 'config'));
  cpSync(join(repo, 'config', 'local-identities.yaml'), join(home.home, 'config', 'local-identities.yaml'));
  // The example plan with the world's routing controls: the AWS cell is the primary's, Google's the standby's.
  plan = join(home.home, 'plan.yaml');
  writeFileSync(
    plan,
    readFileSync(join(repo, 'config', 'dr-plans', 'example-payments.yaml'), 'utf8')
      .replaceAll(EXAMPLE_PRIMARY_CELL, world.out.AwsCell)
      .replaceAll(EXAMPLE_STANDBY_CELL, world.out.GcpCell),
  );
  signals = join(home.home, 'signals.jsonl');
  writeFileSync(
    signals,
    `${JSON.stringify({ time: '2026-06-01T10:00:00Z', service: 'payments-api', vantage: 'aws-us-west-2', signal: 'api-availability', status: 'healthy' })}\n`,
  );
  // What `aws route53-recovery-control-config describe-cluster` prints.
  endpointsFile = join(home.home, 'cluster.json');
  writeFileSync(endpointsFile, JSON.stringify({ Cluster: { ClusterEndpoints: world.endpoints } }));
  await setCells('On', 'Off');
}, 60_000);

afterAll(async () => {
  home?.remove();
  await cloud?.stop();
});

describe('crosslink dr status reads the serving side from Route 53 ARC', () => {
  it('reads the cells through the next endpoint while the first is unavailable', async () => {
    await setEndpoint('us-east-1', false);
    try {
      const r = await home.cli('dr', 'status', plan, '--signals', signals, '--arc-endpoints', endpointsFile);
      expect([r.code, r.err]).toEqual([0, '']);
      const lines = r.out.split('\n');
      expect(lines[1]).toBe(
        'serving (Route 53 ARC, read at us-west-2; us-east-1 skipped: EndpointTemporarilyUnavailableException (503)): primary (aws us-east-1)',
      );
      expect(lines.slice(2, 4)).toEqual([
        `  standby  Off ${world.out.GcpCell}`,
        `  primary  On  ${world.out.AwsCell}`,
      ]);
    } finally {
      await setEndpoint('us-east-1', true);
    }
  });

  it('after the switch, during an outage of us-east-1 (its endpoint drops connections), says the standby serves', async () => {
    // The safety rule's wait period (5 s) runs on the world's clock since the first switch.
    await cloud.clock.advance(6_000);
    await setCells('Off', 'On');
    await admin(cloud, 'POST', '/world/region-outage', { cloud: 'aws', region: 'us-east-1' });
    try {
      const r = await home.cli(
        'dr',
        'status',
        '--json',
        plan,
        '--signals',
        signals,
        '--arc-endpoints',
        endpointsFile,
      );
      expect([r.code, r.err]).toEqual([0, '']);
      const status = JSON.parse(r.out);
      // The decisions still say primary (the log holds no failover); ARC says the standby serves.
      expect(status.active).toBe('primary');
      expect(status.arc).toEqual({
        switch: 'arc',
        serving: 'standby',
        endpoint: 'us-west-2',
        cells: [
          { side: 'standby', routingControlArn: world.out.GcpCell, state: 'On' },
          { side: 'primary', routingControlArn: world.out.AwsCell, state: 'Off' },
        ],
        skipped: [{ region: 'us-east-1', reason: expect.stringMatching(/^no connection/) }],
      });
    } finally {
      await admin(cloud, 'POST', '/world/region-outage', { cloud: 'aws', region: 'us-east-1', on: false });
    }
  });

  it('says so when no endpoint answers, naming every endpoint tried, and exits 1', async () => {
    const regions = world.endpoints.map((e) => e.Region);
    expect(regions).toHaveLength(5);
    for (const region of regions) await setEndpoint(region, false);
    try {
      const r = await home.cli('dr', 'status', plan, '--signals', signals, '--arc-endpoints', endpointsFile);
      expect(r.code).toBe(1);
      expect(r.err).toBe(
        `payments-api: serving (Route 53 ARC): unknown: no cluster endpoint answered (tried ${regions.map((g) => `${g}: EndpointTemporarilyUnavailableException (503)`).join('; ')})`,
      );
      expect(r.out).toMatch(/^payments-api at .*: primary serving by the decisions/);
    } finally {
      for (const region of regions) await setEndpoint(region, true);
    }
  });

  it('passes on a refusal instead of trying the next endpoint: an identity without ARC permissions', async () => {
    const r = await home.cli(
      'dr',
      'status',
      '--as',
      'alice',
      plan,
      '--signals',
      signals,
      '--arc-endpoints',
      endpointsFile,
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^error: User: \S+:user\/alice is not authorized to perform: route53-recovery-cluster:GetRoutingControlState/,
    );
    expect(r.err).not.toMatch(/no cluster endpoint answered/);
  });

  it('refuses an endpoints file that is not describe-cluster output, naming the field', async () => {
    const bad = join(home.home, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({ Cluster: { ClusterEndpoints: [{ Endpoint: 'x', Region: 'us-west-2' }] } }),
    );
    const r = await home.cli('dr', 'status', plan, '--signals', signals, '--arc-endpoints', bad);
    expect([r.code, r.err]).toEqual([
      2,
      `${bad}: Cluster.ClusterEndpoints[0].Endpoint: expected the endpoint URL (https://...)`,
    ]);
  });
});
