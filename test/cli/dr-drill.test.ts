/**
 * `crosslink dr drill <plan>` through the CLI entry: without --apply it prints the game day (the
 * executor, each move's actions in order with where they run and their timeouts, the hold) and the
 * RTO budget, and changes nothing; its usage errors name the flag and the reason.
 */
import { describe, expect, it } from 'vitest';
import { crosslinkInRepo } from '../support/cli.ts';

const crosslink = crosslinkInRepo;

describe('crosslink dr drill (dry run)', () => {
  it('prints the ledger drill: Google executes, AWS is commanded across the relay, the flip last, and the budget against the RTO', async () => {
    // Act
    const { code, out, err } = await crosslink(
      'dr',
      'drill',
      'config/dr-plans/example-ledger.yaml',
      '--hold',
      '15m',
    );
    // Assess
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out).toEqual([
      'ledger: drill of config/dr-plans/example-ledger.yaml (dry run: nothing changed)',
      "executor: gcp (it owns the plan's traffic switch)",
      '1. fail over to aws eu-west-1 (approval required)',
      '   1. gcp fence-writer (ledger-fence-cloudsql)  on gcp  timeout 2m',
      '   2. aws promote-replica (ledger-promote-aurora)  across the relay  timeout 15m',
      '   3. aws scale-standby to 6 (ledger-scale-ecs)  across the relay  timeout 10m',
      '   4. gcp cloud-dns-failover-policy api.ledger.example.com. serve backup (ledger-drain-primary-targets)  on gcp  timeout 5m',
      '2. hold on the standby for 15m',
      '3. fail back to gcp europe-west1 (approval required)',
      '   1. aws fence-writer (ledger-fence-aurora)  across the relay  timeout 2m',
      '   2. gcp promote-replica (ledger-promote-cloudsql)  on gcp  timeout 15m',
      '   3. gcp scale-standby to 6 (ledger-scale-run)  on gcp  timeout 10m',
      '   4. gcp cloud-dns-failover-policy api.ledger.example.com. serve primary (ledger-restore-primary-targets)  on gcp  timeout 5m',
      "RTO budget: detection 3m (3 probes, one every 1m) + hysteresis 1m + actions at most 32m + the record's TTL = 36m + TTL; plan RTO 30m: over it if every action takes its whole timeout",
    ]);
  });

  it('prints the payments drill with AWS executing, within its RTO budget', async () => {
    // Act
    const { code, out } = await crosslink('dr', 'drill', 'config/dr-plans/example-payments.yaml');
    // Assess
    expect(code).toBe(0);
    expect(out[1]).toBe("executor: aws (it owns the plan's traffic switch)");
    expect(out).toContain('2. hold on the standby for 10m');
    // The failover's promotion and scaling on Google, the failback's fence of AlloyDB.
    expect(out.filter((l) => l.includes('across the relay'))).toHaveLength(3);
    expect(out.at(-1)).toMatch(/^RTO budget: .* = \d+m\d*s? \+ TTL; plan RTO 15m/);
  });

  it('prints the drill as JSON with --json', async () => {
    // Act
    const { code, out } = await crosslink('--json', 'dr', 'drill', 'config/dr-plans/example-ledger.yaml');
    // Assess
    expect(code).toBe(0);
    const d = JSON.parse(out.join('\n'));
    expect(d).toMatchObject({
      service: 'ledger',
      executor: 'gcp',
      holdMs: 600_000,
      budget: { detectionMs: 180_000, hysteresisMs: 60_000, actionsMs: 1_920_000, rtoMs: 1_800_000 },
    });
    expect(d.failover.actions.map((a: { via: string }) => a.via)).toEqual([
      'local',
      'relay',
      'relay',
      'local',
    ]);
  });

  it('names the flag and the reason on a usage error, and a bad plan by field (exit 2)', async () => {
    // Act
    const short = await crosslink('dr', 'drill', 'config/dr-plans/example-ledger.yaml', '--hold', '30s');
    const notDuration = await crosslink(
      'dr',
      'drill',
      'config/dr-plans/example-ledger.yaml',
      '--hold',
      'soon',
    );
    const apply = await crosslink(
      'dr',
      'drill',
      'config/dr-plans/example-ledger.yaml',
      '--apply',
      '--report',
      'drill.json',
      '--client-url',
      'https://api.ledger.example.com/health',
    );
    const missing = await crosslink('dr', 'drill', 'no-such-plan.yaml');
    // Assess
    expect([short.code, notDuration.code, apply.code, missing.code]).toEqual([2, 2, 2, 2]);
    expect(short.err.join('\n')).toContain('--hold: 30s is under 1m');
    expect(notDuration.err.join('\n')).toContain('--hold: "soon" is not a duration');
    expect(apply.err.join('\n')).toContain(
      "--apply: config/dr-plans/example-ledger.yaml: ledger's traffic switch is on gcp, which executes it",
    );
    expect(apply.out).toEqual([]);
    expect(missing.err).toEqual(['no-such-plan.yaml: no such file']);
  });

  it('names each --apply flag that is missing or wrong, and a flag of --apply given without it (exit 2)', async () => {
    // Prepare
    const plan = 'config/dr-plans/example-payments.yaml';
    const url = 'https://api.payments.example.com/health';
    const drill = (...args: string[]) => crosslink('dr', 'drill', plan, ...args);
    // Act
    const runs = [
      await drill('--apply', '--client-url', url),
      await drill('--apply', '--report', 'no-such-folder/drill.json', '--client-url', url),
      await drill('--apply', '--report', 'config', '--client-url', url),
      await drill('--apply', '--report', 'drill.json'),
      await drill('--apply', '--report', 'drill.json', '--client-url', 'ftp://api.payments.example.com/'),
      await drill('--apply', '--report', 'drill.json', '--client-url', 'http://198.51.100.10/health'),
      await drill('--report', 'drill.json'),
      await drill('--apply', '--end', '--hold', '5m'),
    ];
    // Assess
    expect(runs.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2, 2, 2]);
    expect(runs.map((r) => r.err.join('\n'))).toEqual([
      expect.stringContaining("missing --report <file>: where the drill's report (JSON) is written"),
      expect.stringContaining(
        '--report: no-such-folder/drill.json: the folder no-such-folder does not exist',
      ),
      expect.stringContaining('--report: config is a folder, not a file'),
      expect.stringContaining('missing --client-url <url>'),
      expect.stringContaining('--client-url: ftp://api.payments.example.com/: must be http or https'),
      expect.stringContaining('--client-url: http://198.51.100.10/health: name the service by its DNS name'),
      expect.stringContaining('--report is for --apply: without it the drill is printed and nothing changes'),
      expect.stringContaining("--hold: --end only records the drill's end"),
    ]);
  });
});
