/**
 * A VPN run end to end, both halves deployed as `npm start` runs them (the packaged serverless.yml
 * with IAM on, gcp.yml on the emulators with Google IAM, the estate's three VPNs beside the example
 * link, and one more between us-west-2 and us-west1, in another AWS region of the policy than the
 * hub's), through the CLI: the example link is made ACTIVE, `crosslink vpn run --now` starts the
 * coordinator's `crosslink-vpn-run` state machine, which asks Google for its inventory across the
 * relay, plans the four VPNs (each with its AWS region: the inventory reads every region of the
 * policy) with the link read from its record and the Direct Connect gateway's
 * associations (the Transit Gateway one out of its reach), and reports; the shipped policy runs every environment dry, so nothing is
 * commanded and no VPN changes; `vpn runs show` prints the plan and the saving; `--apply` is
 * refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEntry } from '#core/vpn/run.ts';
import type { VpnRunHeader } from '#core/vpn/run-steps.ts';
import { type BothHalves, dumpOnFailure, startBothHalves, waitFor } from '../support/both-halves.ts';
import { linkFlows } from '../support/link-flows.ts';
import { admin } from '../support/local-cloud.ts';

let both: BothHalves;

beforeAll(async () => {
  both = await startBothHalves();
}, 180_000);

afterAll(async () => {
  await both?.stop();
});

const { awsFirst, expectActive } = linkFlows(() => both);

describe('a VPN run on the local cloud', () => {
  it('plans the estate’s VPNs with the ACTIVE link, dry-run: reported, nothing commanded', async (ctx) => {
    dumpOnFailure(ctx, both, 'vpn-run');
    // Arrange
    const id = await awsFirst();
    await expectActive(id);
    // A VPN in us-west-2 (its own VPC there) to the payments network's us-west1 side.
    const { vpc } = await admin(both.cloud, 'POST', '/aws/ec2/add-vpc', {
      region: 'us-west-2',
      cidrBlocks: ['10.31.0.0/16'],
    });
    const west = (
      await admin(both.cloud, 'POST', '/aws/ec2/build-vpn', {
        name: 'payments-vpn-west',
        aws: { vpcId: vpc.vpcId, tags: { 'crosslink:managed': 'planned' } },
        gcp: { project: 'payments-prod', region: 'us-west1', network: 'payments-vpc' },
      })
    ).vpn.vpnConnectionId as string;
    const vpnsBefore = await both.json<{ vpns: { vpnConnectionId: string; state: string }[] }>('vpn', 'plan');
    // Act
    const started = await both.json<{ runId: string; apply: boolean }>('vpn', 'run', '--now');
    const shown = await waitFor(
      `${started.runId} reported`,
      async () => {
        const r = await both.cli('vpn', 'runs', 'show', started.runId, '--json');
        if (r.code !== 0) return undefined;
        const run = JSON.parse(r.out) as VpnRunHeader & { entries: RunEntry[] };
        return run.status === 'reported' ? run : undefined;
      },
      240_000,
    );
    const refused = await both.cli('vpn', 'run', '--now', '--apply');
    const table = await both.cli('vpn', 'runs', 'show', started.runId);
    const listed = await both.cli('vpn', 'runs', 'ls');
    const vpnsAfter = await both.json<{ vpns: { vpnConnectionId: string; state: string }[] }>('vpn', 'plan');

    // Assess
    expect(started.apply).toBe(false);
    expect(shown.run?.modes).toEqual({ prod: 'dry-run', nonprod: 'dry-run' });
    // The estate's VPNs, paired across the clouds with Google's inventory, planned; none commanded.
    expect(shown.entries.map((e) => e.vpnId).sort()).toEqual(
      vpnsBefore.vpns.map((v) => v.vpnConnectionId).sort(),
    );
    expect(shown.entries).toHaveLength(4);
    // Each with its AWS region: the west one in us-west-2, the estate's in the hub's.
    expect(shown.entries.map((e) => [e.vpnId, e.awsRegion]).sort()).toEqual(
      shown.entries.map((e) => [e.vpnId, e.vpnId === west ? 'us-west-2' : 'us-east-1']).sort(),
    );
    expect(shown.entries.map((e) => e.vpnId)).toContain(west);
    // Every region of the policy answered.
    expect(JSON.stringify(shown.run?.unpaired)).not.toContain('did not answer');
    expect(shown.entries.every((e) => !e.emit && e.mode === 'dry-run')).toBe(true);
    // Paired with Google's tunnels; the link, read from its record, is the one the VPN on its
    // gateway is judged against, and has not soaked yet (the planner's 72 h).
    for (const e of shown.entries) expect(e.gates.find((g) => g.gate === 'paired')?.verdict).toBe('pass');
    expect(shown.entries.some((e) => e.gates.find((g) => g.gate === 'soak')?.reason.includes(id))).toBe(true);
    expect(shown.entries.every((e) => e.action === 'keep')).toBe(true);
    // The link's Direct Connect gateway reaches the virtual private gateway, not the Transit Gateway.
    // No link reaches the west VPN's gateway either.
    expect(shown.entries.map((e) => e.gates.find((g) => g.gate === 'covered')?.verdict).sort()).toEqual([
      'fail',
      'fail',
      'pass',
      'pass',
    ]);
    expect(shown.run?.totals.emitted).toBe(0);
    expect(shown.run?.saving.monthly).toEqual({ aws: 0, gcp: 0 });
    // Nothing changed: the VPNs read as they did.
    expect(vpnsAfter.vpns.map((v) => [v.vpnConnectionId, v.state])).toEqual(
      vpnsBefore.vpns.map((v) => [v.vpnConnectionId, v.state]),
    );
    expect(refused.code).toBe(3);
    expect(refused.err).toContain('--apply refused');
    expect(table.out).toContain('saved per month by its deletes: aws $0.00, gcp $0.00');
    expect(listed.out).toContain(started.runId);
  }, 600_000);
});
