/**
 * The VPN run's pure core (functions/core/vpn/run.ts, run-policy.ts): its id from the scheduled time,
 * the modes per environment, what it commands, the drain records, and the saving at the prices of
 * config/pricing.yaml, over the realistic acme exports (examples/vpn/acme).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ManualClock } from '#core/clock.ts';
import { ValidationError } from '#core/errors.ts';
import * as checks from '#core/events/checks.ts';
import { checkEventData } from '#core/events/schemas.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { readPolicy } from '#core/vpn/policy.ts';
import {
  environmentOf,
  pagesOf,
  planVpnRun,
  type RunDrain,
  runCommand,
  scheduledAtOf,
  undrainsForLink,
  type VpnRunInput,
  vpnRunId,
} from '#core/vpn/run.ts';
import { applyAllowed, readVpnPrices, readVpnRunSettings, type VpnPrices } from '#core/vpn/run-policy.ts';
import { vpn } from './builders.ts';

const acme = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`../../../examples/vpn/acme/${name}.json`, import.meta.url), 'utf8'));

const AT = Date.parse('2026-11-20T12:00:00Z');
const links = acme('links') as {
  links: unknown[];
  drains: Omit<RunDrain, 'runId' | 'links' | 'gcpTunnels'>[];
  policy: unknown;
};
const PRICES: VpnPrices = {
  currency: 'USD',
  awsConnectionHour: 0.05,
  gcpTunnelHour: null,
  hoursPerMonth: 730,
  source: 'test prices',
};

function input(over: Partial<VpnRunInput> = {}): VpnRunInput {
  const runId = vpnRunId('dev', AT);
  return {
    runId,
    installation: 'dev',
    scheduledAt: AT,
    now: AT,
    trigger: 'schedule',
    requestedBy: 'arn:aws:iam::000000000000:role/crosslink-vpn-run',
    apply: true,
    settings: {
      coordinator: 'aws',
      mode: { prod: 'apply', nonprod: 'apply' },
      planner: readPolicy(links.policy),
    },
    prices: PRICES,
    aws: acme('aws'),
    gcp: acme('gcp'),
    traffic: acme('metrics'),
    links: links.links,
    drains: links.drains.map((d) => ({ ...d, runId: 'vpn-dev-20261101T000000Z', links: [], gcpTunnels: [] })),
    ...over,
  };
}

describe('the run id', () => {
  it('is vpn-<installation>-<scheduled time, ISO 8601 basic>, and names its scheduled time back', () => {
    // Act
    const id = vpnRunId('prod', Date.parse('2026-12-06T03:00:00.250Z'));
    // Assess
    expect(id).toBe('vpn-prod-20261206T030000Z');
    expect(scheduledAtOf(id)).toBe(Date.parse('2026-12-06T03:00:00Z'));
    expect(scheduledAtOf('run-2026')).toBeUndefined();
  });

  it('refuses an installation that cannot name an execution, naming the field', () => {
    // Act
    const bad = () => vpnRunId('Prod Stage', AT);
    // Assess
    expect(bad).toThrow(ValidationError);
    expect(bad).toThrow(/installation: must be lowercase letters, digits and -/);
  });
});

describe('planning a run', () => {
  it("records the planner's verdicts with every gate, and in dry-run commands nothing", () => {
    // Act
    const run = planVpnRun(input({ apply: false }));
    // Assess
    expect(run.modes).toEqual({ prod: 'dry-run', nonprod: 'dry-run' });
    expect(run.totals).toEqual({ keep: 4, drain: 2, undrain: 1, delete: 1, emitted: 0 });
    expect(run.entries.every((e) => !e.emit && e.mode === 'dry-run')).toBe(true);
    const deleted = run.entries.find((e) => e.action === 'delete');
    expect(deleted?.vpnId).toBe('vpn-0d4a0b6f2e5c73dd4');
    expect(deleted?.gates.map((g) => g.gate)).toContain('cooling-off');
    // What applying would have saved: AWS's connection, Google's tunnels unpriced.
    expect(run.saving.dryRunMonthly).toEqual({ aws: 36.5, gcp: null });
    expect(run.saving.monthly).toEqual({ aws: 0, gcp: 0 });
  });

  it('commands what the planner decided where the mode is apply, with the tunnels each half acts on', () => {
    // Act
    const run = planVpnRun(input());
    // Assess
    const emitted = run.entries.filter((e) => e.emit).map((e) => [e.vpnId, e.action]);
    expect(emitted).toEqual([
      ['vpn-0720b2c3d4e5f6072', 'drain'],
      ['vpn-0a1d7e3c9b2f40aa1', 'drain'],
      ['vpn-0d4a0b6f2e5c73dd4', 'delete'],
      ['vpn-0e5b1c7a3f6d84ee5', 'undrain'],
    ]);
    const entry = run.entries.find((e) => e.vpnId === 'vpn-0a1d7e3c9b2f40aa1');
    const clock = new ManualClock(AT);
    const cmd = runCommand(run, entry!, {
      origin: { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' },
      clock,
    });
    expect(cmd.type).toContain('VpnDrainRequested');
    expect(cmd.subject).toBe('vpn-0a1d7e3c9b2f40aa1');
    expect(checkEventData(checks.VpnDrainRequested, cmd.data)).toMatchObject({
      runId: 'vpn-dev-20261120T120000Z',
      requestedAt: '2026-11-20T12:00:00.000Z',
      requestedBy: 'arn:aws:iam::000000000000:role/crosslink-vpn-run',
    });
    expect(cmd.data.gcpTunnels?.length).toBe(2);
    expect(cmd.data.gcpTunnels?.every((t) => t.startsWith('projects/acme-net-prod/regions/'))).toBe(true);
  });

  it("records each drain's prefixes and the links whose coverage allowed it", () => {
    // Act
    const run = planVpnRun(input());
    // Assess
    const drain = run.entries.find((e) => e.vpnId === 'vpn-0a1d7e3c9b2f40aa1')?.drain;
    expect(drain).toMatchObject({
      runId: run.runId,
      drainedAt: '2026-11-20T12:00:00.000Z',
      method: 'gcp-bgp-peers',
      links: ['lk-01jc6rzt8q4m2n0s9v7w5x3y1a'],
    });
    expect(drain?.prefixes.length).toBeGreaterThan(0);
    // Only drains carry a record.
    expect(run.entries.filter((e) => e.drain).map((e) => e.action)).toEqual(['drain', 'drain']);
  });

  it('saves, per month, the deleted VPN at the known prices, and null on a side with no price', () => {
    // Act
    const unpriced = planVpnRun(input());
    const priced = planVpnRun(input({ prices: { ...PRICES, gcpTunnelHour: 0.05 } }));
    // Assess
    expect(unpriced.saving.monthly).toEqual({ aws: 36.5, gcp: null });
    // Two tunnels at 0.05 for 730 h.
    expect(priced.saving.monthly).toEqual({ aws: 36.5, gcp: 73 });
    // Drained now or by this run, not yet deleted: 2 drains and one kept drained.
    expect(priced.saving.pendingMonthly).toEqual({ aws: 109.5, gcp: 219 });
  });

  it('applies per environment: prod dry-run leaves a prod VPN uncommanded while apply elsewhere', () => {
    // Act
    const run = planVpnRun(
      input({ settings: { ...input().settings, mode: { prod: 'dry-run', nonprod: 'apply' } } }),
    );
    // Assess: every acme VPN is prod (no nonprod tag on both halves).
    expect(run.entries.every((e) => e.environment === 'prod' && !e.emit)).toBe(true);
    expect(run.modes).toEqual({ prod: 'dry-run', nonprod: 'apply' });
  });

  it('refuses a malformed export naming the field, before anything is planned', () => {
    // Act
    const bad = () => planVpnRun(input({ aws: { VpnConnections: [{ VpnConnectionId: 7 }] } }));
    // Assess
    expect(bad).toThrow(ValidationError);
    expect(bad).toThrow(/VpnConnections\[0\]/);
  });
});

describe("a run's AWS regions", () => {
  /** The acme export as crosslink's inventory reads it: two regions, one VPN in us-west-2. */
  function multiRegion(missing: { Region: string; Reason: string }[] = []) {
    const { Region: _, ...single } = acme('aws') as { Region: string; VpnConnections: object[] };
    return {
      ...single,
      VpnConnections: single.VpnConnections.map((v) => ({
        ...v,
        Region:
          (v as { VpnConnectionId: string }).VpnConnectionId === 'vpn-0a1d7e3c9b2f40aa1'
            ? 'us-west-2'
            : 'us-east-1',
      })),
      Regions: ['us-east-1', 'us-west-2'],
      RegionsMissing: missing,
    };
  }

  it("gives each entry, drain record and command its VPN's region", () => {
    // Act
    const run = planVpnRun(input({ aws: multiRegion() }));
    // Assess
    const west = run.entries.find((e) => e.vpnId === 'vpn-0a1d7e3c9b2f40aa1');
    expect(west).toMatchObject({ action: 'drain', emit: true, awsRegion: 'us-west-2' });
    expect(west?.drain?.awsRegion).toBe('us-west-2');
    expect(run.entries.filter((e) => e.awsRegion === 'us-east-1')).toHaveLength(run.entries.length - 1);
    const cmd = runCommand(run, west!, {
      origin: { cloud: 'aws', accountId: '000000000000', region: 'us-east-1' },
      clock: new ManualClock(AT),
    });
    expect(checkEventData(checks.VpnDrainRequested, cmd.data).awsRegion).toBe('us-west-2');
    expect(undrainsForLink('lk-01jc6rzt8q4m2n0s9v7w5x3y1a', [west!.drain!])).toEqual([
      { vpnId: 'vpn-0a1d7e3c9b2f40aa1', gcpTunnels: west!.gcpTunnels, awsRegion: 'us-west-2' },
    ]);
  });

  it('reports a region that did not answer, and plans nothing for the VPNs it holds', () => {
    // Arrange: us-west-2 out, so its VPN is absent from the export.
    const exp = multiRegion([{ Region: 'us-west-2', Reason: 'TimeoutError: connect ETIMEDOUT' }]);
    exp.VpnConnections = exp.VpnConnections.filter((v) => (v as { Region: string }).Region !== 'us-west-2');
    exp.Regions = ['us-east-1'];
    // Act
    const run = planVpnRun(input({ aws: exp }));
    // Assess
    expect(run.entries.map((e) => e.vpnId)).not.toContain('vpn-0a1d7e3c9b2f40aa1');
    expect(run.unpaired[0]).toEqual({
      side: 'aws',
      id: 'us-west-2',
      reason:
        'AWS region us-west-2 did not answer (TimeoutError: connect ETIMEDOUT): its VPNs are not in this run',
    });
    // Its Google half has no AWS peer in the export: reported unpaired, never planned.
    expect(run.entries.every((e) => e.awsRegion === 'us-east-1')).toBe(true);
  });

  it("refuses an export that does not say a VPN's region, naming the field", () => {
    // Arrange
    const { Region: _, ...noRegion } = acme('aws');
    // Act
    const bad = () => planVpnRun(input({ aws: noRegion }));
    // Assess
    expect(bad).toThrow(ValidationError);
    expect(bad).toThrow(
      /VpnConnections\[vpn-0710b2c3d4e5f6071\]\.Region: missing: the AWS region the VPN is in/,
    );
  });
});

describe('a VPN environment', () => {
  it('is nonprod only when the AWS connection and every Google tunnel say so', () => {
    // Arrange
    const both = vpn({
      id: 'vpn-00000000000000001',
      tags: { 'crosslink:environment': 'nonprod' },
      labels: { 'crosslink-environment': 'nonprod' },
    });
    const awsOnly = vpn({ id: 'vpn-00000000000000002', tags: { 'crosslink:environment': 'nonprod' } });
    // Act / Assess
    expect(environmentOf(both)).toBe('nonprod');
    expect(environmentOf(awsOnly)).toBe('prod');
  });
});

describe('the policy of the runs', () => {
  it('defaults to AWS coordinating and dry-run everywhere', () => {
    // Act
    const s = readVpnRunSettings(undefined);
    // Assess
    expect(s.coordinator).toBe('aws');
    expect(s.mode).toEqual({ prod: 'dry-run', nonprod: 'dry-run' });
    expect(applyAllowed(s)).toEqual([]);
  });

  it('names every bad field', () => {
    // Act
    let err: ValidationError | undefined;
    try {
      readVpnRunSettings({
        coordinator: 'azure',
        mode: { prod: 'yes', staging: 'apply' },
        planner: { soak: 'soon' },
        when: 1,
      });
    } catch (e) {
      err = e as ValidationError;
    }
    // Assess
    expect(err?.issues.map((i) => i.path).sort()).toEqual([
      'vpn.coordinator',
      'vpn.mode.prod',
      'vpn.mode.staging',
      'vpn.planner.soak',
      'vpn.when',
    ]);
    expect(err?.issues.find((i) => i.path === 'vpn.mode.prod')?.reason).toBe(
      'must be dry-run or apply, got "yes"',
    );
  });

  it('is checked at packaging: the shipped one is valid, a bad planner key stops it by name', () => {
    // Arrange
    const doc = parse(readFileSync('config/policy.yaml', 'utf8'));
    const file = join(mkdtempSync(join(tmpdir(), 'crosslink-policy-')), 'policy.yaml');
    writeFileSync(file, stringify({ ...doc, vpn: { ...doc.vpn, planner: { coolingOff: 3 } } }));
    const { policyJson } = createRequire(import.meta.url)('../../../config/policy-document.cjs') as {
      policyJson: (f: string) => string;
    };
    // Act
    const shipped = readVpnRunSettings(loadPolicy(doc).document.vpn);
    const bad = () => policyJson(file);
    // Assess
    expect(shipped.coordinator).toBe('aws');
    expect(bad).toThrow(/vpn\.planner\.coolingOff: expected a duration/);
    // The shape is the schema's, where the policy loads.
    expect(() => loadPolicy({ ...doc, vpn: { mode: { prod: 'yes' } } })).toThrow(
      /vpn\.mode\.prod: must be one of "dry-run", "apply"/,
    );
  });
});

describe('the prices', () => {
  it('reads config/pricing.yaml, null where unknown', () => {
    // Act
    const p = readVpnPrices(parse(readFileSync('config/pricing.yaml', 'utf8')));
    // Assess
    expect(p.currency).toBe('USD');
    expect(p.awsConnectionHour).toBe(0.05);
    expect(p.gcpTunnelHour).toBeNull();
    expect(p.source).toContain('aws.amazon.com/vpn/pricing');
  });

  it('refuses a negative price or a missing source, naming the field', () => {
    // Act
    const bad = () =>
      readVpnPrices({ currency: 'USD', vpn: { awsConnectionHour: -1, gcpTunnelHour: null, source: '' } });
    // Assess
    expect(bad).toThrow(/vpn\.awsConnectionHour: must be a price per hour/);
    expect(bad).toThrow(/vpn\.source: is required/);
  });
});

describe('pages', () => {
  it('cuts a list into pages of the size, the last one shorter', () => {
    // Act / Assess
    expect(pagesOf([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(pagesOf([], 25)).toEqual([]);
    expect(() => pagesOf([1], 0)).toThrow(RangeError);
  });
});
