/**
 * `crosslink vpn run --now [--apply]` and `vpn runs ls | show` refuse what the policy and the command
 * line do not allow before anything is started: `--apply` where no environment's `vpn.mode` is
 * apply (exit 3), a missing `--now` or run id (exit 2), and go to the side the policy's
 * `vpn.coordinator` names (Google's needs its project). No cloud is needed to refuse.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { main } from '#scripts/cli/main.ts';

const repo = resolve(import.meta.dirname, '..', '..');

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: repo, env: {} });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function policyWith(vpn: unknown): string {
  const doc = parse(readFileSync(join(repo, 'config', 'policy.yaml'), 'utf8'));
  const p = join(mkdtempSync(join(tmpdir(), 'crosslink-vpn-runs-')), 'policy.yaml');
  writeFileSync(p, stringify({ ...doc, vpn }));
  return p;
}

describe('crosslink vpn run', () => {
  it('refuses --apply when the policy runs every environment dry, saying which setting allows it, exit 3', async () => {
    // Act
    const r = await cli(['vpn', 'run', '--now', '--apply']);
    // Assess
    expect(r.code).toBe(3);
    expect(r.err).toContain("--apply refused: the policy's vpn.mode is dry-run for prod and nonprod");
    expect(r.err).toContain('vpn.mode.<environment>: apply');
  });

  it('starts on Google when the policy names it as coordinator: its project and region are needed, exit 2', async () => {
    // Arrange
    const policy = policyWith({ coordinator: 'gcp', mode: { nonprod: 'apply' } });
    // Act
    const run = await cli([
      'vpn',
      'run',
      '--now',
      '--policy',
      policy,
      '--target',
      'cloud',
      '--region',
      'us-east4',
    ]);
    const ls = await cli(['vpn', 'runs', 'ls', '--policy', policy, '--target', 'cloud']);
    // Assess
    for (const r of [run, ls]) {
      expect(r.code).toBe(2);
      expect(r.err).toContain('--project and --region are required with --target cloud');
    }
  });

  it('names the bad policy field, exit 2', async () => {
    // Arrange
    const policy = policyWith({ coordinator: 'aws', mode: { prod: 'sometimes' } });
    // Act
    const r = await cli(['vpn', 'run', '--now', '--apply', '--policy', policy]);
    // Assess
    expect(r.code).toBe(2);
    expect(r.err).toContain('vpn.mode.prod');
  });

  it('needs --now, exit 2', async () => {
    // Act
    const r = await cli(['vpn', 'run']);
    // Assess
    expect(r.code).toBe(2);
    expect(r.err).toContain('vpn run needs --now');
  });
});

describe('crosslink vpn runs', () => {
  it('needs ls, or show with a run id, exit 2', async () => {
    // Act
    const show = await cli(['vpn', 'runs', 'show']);
    const other = await cli(['vpn', 'runs', 'list']);
    // Assess
    expect(show.code).toBe(2);
    expect(show.err).toContain('crosslink vpn runs show <runId>');
    expect(other.code).toBe(2);
    expect(other.err).toContain('vpn runs ls | vpn runs show <runId>');
  });

  it('has help within 100 columns with an example', async () => {
    // Act
    const r = await cli(['vpn', 'runs', '--help']);
    const run = await cli(['vpn', 'run', '--help']);
    // Assess
    for (const h of [r, run]) {
      expect(h.code).toBe(0);
      expect(h.out).toContain('crosslink vpn run');
      for (const line of h.out.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
    }
  });
});
