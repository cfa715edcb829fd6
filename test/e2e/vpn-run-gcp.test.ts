/**
 * A VPN run with Google as the coordinator, end to end on the local cloud as `npm start` runs it
 * (the packaged serverless.yml with IAM on, gcp.yml on the emulators with Google IAM, the estate's
 * two VPNs beside the example link), through the CLI: the example link is made ACTIVE; the CLI's
 * policy names Google as coordinator, so `crosslink vpn run --now` starts the `vpn-run` workflow,
 * whose function asks AWS for its inventory across the relay (AWS's responder answers in pages with
 * its gateways' Direct Connect associations, which Google's inventory function stores), plans both
 * VPNs paired across the clouds with the link read from Google's record, and reports. The policy
 * runs every environment dry: nothing is commanded and no VPN changes.
 *
 * Both halves are packaged from a copy of their inputs (`.crosslink/vpn-run-gcp`) whose policy is
 * the shipped one with Google coordinating (so Google has the schedule and AWS none): the run is
 * started by hand, which is what this test checks; the schedule's presence on each side by the
 * policy is test/contract/vpn-run-coordinator.test.ts's, a scheduled run Google coordinates
 * test/e2e/vpn-run-apply-gcp.test.ts's.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEntry } from '#core/vpn/run.ts';
import type { VpnRunHeader } from '#core/vpn/run-steps.ts';
import { type BothHalves, dumpOnFailure, startBothHalves, waitFor } from '../support/both-halves.ts';
import { linkFlows } from '../support/link-flows.ts';
import { halvesCopy, policyCoordinatedBy } from '../support/vpn-run-apply.ts';

let both: BothHalves;

beforeAll(async () => {
  const policy = policyCoordinatedBy('gcp');
  const dir = halvesCopy('vpn-run-gcp', policy);
  both = await startBothHalves({ gcpConfig: join(dir, 'gcp.yml'), awsHalf: { repoDir: dir } });
  // The CLI reads the same policy as the halves.
  writeFileSync(join(both.home, 'config', 'policy.yaml'), policy);
}, 900_000);

afterAll(async () => {
  await both?.stop();
});

const { awsFirst, expectActive } = linkFlows(() => both);

describe('a VPN run with Google coordinating, on the local cloud', () => {
  it('plans the estate’s VPNs paired across the clouds with the ACTIVE link, dry-run, through the CLI', async (ctx) => {
    dumpOnFailure(ctx, both, 'vpn-run-gcp');
    // Arrange
    const id = await awsFirst();
    await expectActive(id);
    const vpnsBefore = await both.json<{ vpns: { vpnConnectionId: string; state: string }[] }>('vpn', 'plan');
    // Act
    const started = await both.json<{ runId: string; apply: boolean; execution: string }>(
      'vpn',
      'run',
      '--now',
    );
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
    const table = await both.cli('vpn', 'runs', 'show', started.runId);
    const listed = await both.cli('vpn', 'runs', 'ls');
    const vpnsAfter = await both.json<{ vpns: { vpnConnectionId: string; state: string }[] }>('vpn', 'plan');

    // Assess
    expect(started.execution).toContain('/workflows/vpn-run/executions/');
    expect(started.apply).toBe(false);
    expect(started.execution.endsWith(`/executions/${shown.execution}`)).toBe(true);
    expect(shown.requestedBy).toMatch(/@/);
    expect(shown.run?.modes).toEqual({ prod: 'dry-run', nonprod: 'dry-run' });
    // The estate's three VPNs, paired with AWS's inventory that crossed the relay; none commanded.
    expect(shown.entries.map((e) => e.vpnId).sort()).toEqual(
      vpnsBefore.vpns.map((v) => v.vpnConnectionId).sort(),
    );
    expect(shown.entries).toHaveLength(3);
    for (const e of shown.entries) expect(e.gates.find((g) => g.gate === 'paired')?.verdict).toBe('pass');
    // The link's Direct Connect gateway reaches the virtual private gateway, not the Transit Gateway.
    expect(shown.entries.map((e) => e.gates.find((g) => g.gate === 'covered')?.verdict).sort()).toEqual([
      'fail',
      'pass',
      'pass',
    ]);
    expect(shown.entries.every((e) => !e.emit && e.mode === 'dry-run')).toBe(true);
    // The link, read from Google's record with its AWS gateway from AWS's Direct Connect
    // associations, is the one the VPN on that gateway is judged against (not soaked yet).
    expect(shown.entries.some((e) => e.gates.find((g) => g.gate === 'soak')?.reason.includes(id))).toBe(true);
    expect(shown.run?.totals.emitted).toBe(0);
    expect(vpnsAfter.vpns.map((v) => [v.vpnConnectionId, v.state])).toEqual(
      vpnsBefore.vpns.map((v) => [v.vpnConnectionId, v.state]),
    );
    expect(table.out).toContain('saved per month by its deletes: aws $0.00');
    expect(listed.out).toContain(started.runId);
  }, 600_000);
});
