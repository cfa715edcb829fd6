import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import type { Plan } from '#core/vpn/planner.ts';
import { main } from '#scripts/cli/main.ts';
import { vpnPlan } from '#scripts/commands/vpn.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const F = 'examples/vpn/acme';
const FILES = [
  '--aws',
  `${F}/aws.json`,
  '--gcp',
  `${F}/gcp.json`,
  '--links',
  `${F}/links.json`,
  '--metrics',
  `${F}/metrics.json`,
];

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: repo, env: {} });
  return { code, out: out.join('\n'), err };
}

function file(name: string, text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'crosslink-vpn-')), name);
  writeFileSync(p, text);
  return p;
}

describe('crosslink vpn plan', () => {
  it('prints the table, the totals and every gate with its reason, exit 0', async () => {
    // Act
    const r = await cli(['vpn', 'plan', ...FILES, '--at', '2026-11-20T12:00:00Z']);
    // Assess
    expect(r.err).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^VPN decommission plan at 2026-11-20T12:00:00.000Z \(dry run/);
    expect(r.out).toMatch(/\nVPN\s+NETWORKS\s+STATE\s+GATES\s+ACTION\s+SAVING\/MONTH\n/);
    expect(r.out).toMatch(
      /vpn-0d4a0b6f2e5c73dd4\s+vgw-0d7e8f9a0b1c2d3e4 <-> data-vpc\s+drained\s+11 pass\s+DELETE\s+\$109\.50/,
    );
    expect(r.out).toMatch(/vpn-0b2e8f4d0c3a51bb2 .* fail: covered, effective-routes\s+KEEP/);
    expect(r.out).toContain('keep 4, drain 2, undrain 1, delete 1; saves $109.50/month now');
    expect(r.out).toContain('  FAIL iac-ownership    owned by Terraform');
    expect(r.out).toContain('  deletes aws: customer gateway cgw-00000000000005a04 (no other VPN uses it)');
    expect(r.out).toContain(
      '  gcp projects/acme-net-prod/regions/us-east4/vpnTunnels/office-fra-t0: no AWS VPN tunnel has outside IP 203.0.113.10',
    );
  });

  it('--json prints the plan', async () => {
    // Act
    const r = await cli(['vpn', 'plan', ...FILES, '--at', '2026-11-20T12:00:00Z', '--json']);
    // Assess
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.out) as Plan;
    expect(plan.vpns.map((v) => v.action)).toEqual([
      'keep',
      'drain',
      'drain',
      'keep',
      'keep',
      'delete',
      'undrain',
      'keep',
    ]);
    expect(plan.vpns[0]?.gates).toHaveLength(11);
    expect(plan.totals.monthlySaving).toBe(109.5);
  });

  it('plans as of the clock when no --at is given (defaults apply without a links file)', async () => {
    // Prepare
    const out: string[] = [];
    const clock = new ManualClock('2026-11-20T12:00:00Z');
    // Act
    const code = await vpnPlan(
      { aws: `${F}/aws.json`, gcp: `${F}/gcp.json`, json: true, cwd: repo },
      { out: (l) => out.push(l), err: () => {} },
      clock,
    );
    // Assess
    expect(code).toBe(0);
    const plan = JSON.parse(out.join('\n')) as Plan;
    expect(plan.at).toBe('2026-11-20T12:00:00.000Z');
    // without the links file no link covers anything: nothing is drained or deleted
    expect(plan.vpns.filter((v) => v.action === 'drain' || v.action === 'delete')).toEqual([]);
  });

  it('without files and no local cloud running (or --target cloud) says what to do, exit 2', async () => {
    // Act
    const r = await cli(['vpn', 'plan']);
    const real = await cli(['vpn', 'plan', '--target', 'cloud']);
    // Assess
    expect(r.code).toBe(2);
    expect(r.err.join('\n')).toContain('no local cloud is running');
    expect(real.code).toBe(2);
    expect(real.err.join('\n')).toContain('reading the VPN inventories from real accounts is not built yet');
    expect((await cli(['vpn', 'plan', '--aws', `${F}/aws.json`])).err).toEqual([
      '--gcp <file> is missing: a plan needs both halves of every VPN',
    ]);
  });

  it('exits 2 naming a file that does not exist', async () => {
    // Act
    const r = await cli(['vpn', 'plan', '--aws', `${F}/aws.json`, '--gcp', 'nope/gcp.json']);
    // Assess
    expect(r.code).toBe(2);
    expect(r.err).toEqual(['nope/gcp.json: no such file (--gcp)']);
  });

  it('exits 2 on malformed input: syntax with its position, fields with their path', async () => {
    // Prepare
    const broken = file('aws.json', '{"VpnConnections": [\n  {"VpnConnectionId": "vpn-1",,}\n]}');
    const bad = file(
      'metrics.json',
      JSON.stringify({
        traffic: [
          {
            vpnConnectionId: 'vpn-1',
            metric: 'BytesOut',
            start: '2026-11-20T10:00:00Z',
            end: '2026-11-20T11:00:00Z',
            bytes: 5,
          },
        ],
      }),
    );
    // Act
    const a = await cli(['vpn', 'plan', '--aws', broken, '--gcp', `${F}/gcp.json`]);
    const b = await cli(['vpn', 'plan', ...FILES.slice(0, 6), '--metrics', bad]);
    const c = await cli(['vpn', 'plan', ...FILES, '--at', 'yesterday']);
    // Assess
    expect(a.code).toBe(2);
    expect(a.err[0]).toMatch(new RegExp(`^${broken.replaceAll('.', '\\.')}:2:\\d+: `));
    expect(b.code).toBe(2);
    expect(b.err).toEqual([
      `${bad}: traffic[0].metric: expected one of TunnelDataIn, TunnelDataOut, sent_bytes_count, received_bytes_count`,
    ]);
    expect(c.code).toBe(2);
    expect(c.err[0]).toContain('--at: "yesterday" is not an ISO 8601 time');
  });

  it('honours a backup rule naming its networks in any form the clouds print, and refuses one that matches nothing', async () => {
    // Prepare: the acme backup rule keeps one analytics VPN up; the same rule in other forms.
    const links = JSON.parse(readFileSync(join(repo, F, 'links.json'), 'utf8'));
    const withRule = (aws: string, gcp: string) =>
      file(
        'links.json',
        JSON.stringify({ ...links, policy: { ...links.policy, backup: [{ aws, gcp, minVpns: 1 }] } }),
      );
    const tgw = 'tgw-0c4d1e2f3a4b5c6d7';
    const forms = [
      [tgw, 'https://www.googleapis.com/compute/v1/projects/acme-net-prod/global/networks/analytics-vpc'],
      [tgw, 'projects/acme-net-prod/global/networks/analytics-vpc'],
      [`arn:aws:ec2:us-east-1:123456789012:transit-gateway/${tgw}`, 'analytics-vpc'],
    ];
    const at = ['--at', '2026-11-20T12:00:00Z', '--json'];
    const args = (l: string) => ['vpn', 'plan', ...FILES.slice(0, 4), '--links', l, ...FILES.slice(6), ...at];
    // Act
    const plans = await Promise.all(forms.map(([a, g]) => cli(args(withRule(a as string, g as string)))));
    const nowhere = await cli(args(withRule(tgw, 'analytics')));
    const malformed = await cli(args(withRule('tgw-', 'global/networks/analytics-vpc')));
    // Assess
    for (const r of plans) {
      expect(r.err).toEqual([]);
      const vpn = (JSON.parse(r.out) as Plan).vpns.find((v) => v.vpnConnectionId === 'vpn-0710b2c3d4e5f6071');
      expect(vpn?.gates.find((g) => g.gate === 'last-path')?.reason).toBe(
        'backup policy keeps 1 VPN(s) up between tgw-0c4d1e2f3a4b5c6d7 and projects/acme-net-prod/global/networks/analytics-vpc',
      );
    }
    expect(nowhere.code).toBe(2);
    expect(nowhere.err).toEqual([
      expect.stringMatching(
        /links\.json: policy\.backup\[0\]\.gcp: network "analytics" matches no Google network/,
      ),
    ]);
    expect(malformed.code).toBe(2);
    expect(malformed.err).toEqual([
      expect.stringMatching(/policy\.backup\[0\]\.aws: "tgw-" is not a virtual private or transit gateway/),
      expect.stringMatching(
        /policy\.backup\[0\]\.gcp: "global\/networks\/analytics-vpc" is not a Google network/,
      ),
    ]);
  });

  it('reports a truncated JSON export as one line at the point it ends, whatever its name', async () => {
    // Prepare
    const text = readFileSync(join(repo, F, 'aws.json'), 'utf8');
    const cut = text.slice(0, Math.floor(text.length / 2));
    const lines = cut.split('\n');
    const named = file('aws.json', cut);
    const unnamed = file('aws-export', cut);
    // Act
    const r = await Promise.all(
      [named, unnamed].map((f) => cli(['vpn', 'plan', '--aws', f, '--gcp', `${F}/gcp.json`])),
    );
    // Assess
    for (const [i, f] of [named, unnamed].entries()) {
      expect(r[i]?.code).toBe(2);
      expect(r[i]?.err).toHaveLength(1);
      expect(r[i]?.err[0]).toMatch(
        new RegExp(
          `^${f.replaceAll('.', '\\.')}:${lines.length}:${(lines.at(-1)?.length ?? 0) + 1}: unexpected end of the file: expected .+ \\(truncated\\?\\)$`,
        ),
      );
    }
  });

  it('is listed in the help, and its own help gives its arguments', async () => {
    // Act
    const all = await cli(['--help']);
    const own = await cli(['vpn', 'plan', '--help']);
    // Assess
    expect(all.out).toMatch(/vpn plan\s+plan which IPsec VPNs/);
    expect(own.out).toMatch(
      /^usage: crosslink vpn plan \[--aws <file> --gcp <file>\] \[--links <file>\] \[--metrics <file>\]/,
    );
  });
});

describe('crosslink vpn approve', () => {
  it('--help names its flags and an example', async () => {
    const r = await cli(['vpn', 'approve', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--run/);
    expect(r.out).toMatch(/--side/);
    // The run and the VPN as `crosslink vpn runs show` names them.
    expect(r.out).toMatch(/crosslink vpn approve vpn-[\w-]+ vpn-[0-9a-f]+ --side aws/);
  });

  it('refuses a missing or unknown --side, a missing run or one given twice, before calling anything: exit 2', async () => {
    const noSide = await cli(['vpn', 'approve', 'vpn-0a1b2c3d', '--run', 'run-1']);
    const badSide = await cli(['vpn', 'approve', 'vpn-0a1b2c3d', '--run', 'run-1', '--side', 'azure']);
    const noRun = await cli(['vpn', 'approve', 'vpn-0a1b2c3d', '--side', 'gcp']);
    const twice = await cli(['vpn', 'approve', 'run-1', 'vpn-0a1b2c3d', '--run', 'run-1', '--side', 'gcp']);
    expect(noSide).toMatchObject({ code: 2, err: [expect.stringMatching(/--side is required: aws or gcp/)] });
    expect(badSide).toMatchObject({
      code: 2,
      err: [expect.stringMatching(/--side must be aws or gcp, got "azure"/)],
    });
    expect(noRun).toMatchObject({ code: 2, err: [expect.stringMatching(/the run is required/)] });
    expect(twice).toMatchObject({ code: 2, err: [expect.stringMatching(/give the run once/)] });
  });
});
