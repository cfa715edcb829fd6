/**
 * One coordinator per installation: for each value of config/policy.yaml's `vpn.coordinator`, exactly
 * one side has the VPN run's schedule. AWS's `VpnRunSchedule` exists under the condition
 * `VpnRunCoordinatedHere`, which compares config/policy-document.cjs's reading with `aws`
 * (serverless-template.test.ts checks the template's side of it); Google's job `crosslink-vpn-run`
 * has `when: {vpnCoordinator: gcp}`, which the gcp.yml loader resolves against the same policy, so
 * the job is neither run locally nor deployed otherwise, and says why. Its minute's traffic check
 * (`crosslink-vpn-traffic`) has the same condition.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { loadGcpConfig, parseGcpConfig } from '#deployment/gcp-config.ts';

const requireCjs = createRequire(import.meta.url);
const awsCoordinator = (file: string): string =>
  requireCjs('../../config/policy-document.cjs').vpnCoordinator(file);
const SHIPPED = parseYaml(readFileSync('config/policy.yaml', 'utf8'));
const GCP_YML = readFileSync('gcp.yml', 'utf8');

/** The shipped policy with `vpn.coordinator` set, as a document and as a file. */
function policyWith(coordinator: 'aws' | 'gcp') {
  const document = { ...SHIPPED, vpn: { ...SHIPPED.vpn, coordinator } };
  const dir = mkdtempSync(join(tmpdir(), 'crosslink-coordinator-'));
  const file = join(dir, 'policy.yaml');
  writeFileSync(file, stringifyYaml(document));
  return { document, file };
}

describe('the VPN run has one schedule, on the side the policy names', () => {
  for (const coordinator of ['aws', 'gcp'] as const)
    it(`with vpn.coordinator ${coordinator}: ${coordinator === 'aws' ? "AWS's schedule, no Google job" : "Google's job, no AWS schedule"}`, () => {
      // Arrange
      const policy = policyWith(coordinator);
      // Act
      const google = parseGcpConfig(GCP_YML, { policy: policy.document });
      const awsScheduled = awsCoordinator(policy.file) === 'aws'; // VpnRunCoordinatedHere
      // Assess
      const job = google.schedulerJobs.find((j) => j.name === 'crosslink-vpn-run');
      expect(google.vpnCoordinator).toBe(coordinator);
      expect(awsScheduled).toBe(coordinator === 'aws');
      expect(job !== undefined).toBe(coordinator === 'gcp');
      expect(awsScheduled !== (job !== undefined)).toBe(true);
      // The watcher's job has no condition: it is there either way.
      expect(google.schedulerJobs.map((j) => j.name)).toContain('crosslink-watcher');
      if (coordinator === 'aws')
        expect(google.omittedSchedulerJobs).toEqual(
          ['crosslink-vpn-run', 'crosslink-vpn-traffic'].map((name) => ({
            name,
            reason: "the policy's vpn.coordinator is aws, the job runs only when it is gcp",
          })),
        );
      else expect(google.omittedSchedulerJobs).toEqual([]);
    });

  it('fires the vpn-run function as its own account, which may invoke only that function; the function starts the workflow', () => {
    // Act
    const google = parseGcpConfig(GCP_YML, { policy: policyWith('gcp').document });
    // Assess: an HTTP target, so the firing's scheduled time reaches the function as a header.
    const job = google.schedulerJobs.find((j) => j.name === 'crosslink-vpn-run');
    expect(job?.workflow).toBeUndefined();
    expect(job?.http).toMatchObject({
      function: 'vpn-run',
      method: 'POST',
      body: { step: 'start-scheduled' },
      serviceAccount: 'crosslink-vpn-scheduler',
    });
    expect(google.workflows.map((w) => w.name)).toContain('vpn-run');
    const account = google.serviceAccounts.find((a) => a.id === 'crosslink-vpn-scheduler');
    expect(account?.roles).toEqual([]);
    expect(account?.grants).toBeUndefined();
    const fn = google.functions.find((f) => f.name === 'vpn-run');
    expect(fn?.trigger.http?.invokers).toEqual([
      'serviceAccount:crosslink-workflows',
      'serviceAccount:crosslink-vpn-scheduler',
    ]);
    expect(google.serviceAccounts.find((a) => a.id === 'crosslink-vpn-run')?.roles).toContain(
      'roles/workflows.invoker',
    );
  });

  it("checks the drained VPNs' traffic every minute where Google coordinates: the vpn-run function, as the schedule's account", () => {
    // Act
    const google = parseGcpConfig(GCP_YML, { policy: policyWith('gcp').document });
    // Assess: as often as the watcher, an HTTP target (the firing's time names the check).
    const job = google.schedulerJobs.find((j) => j.name === 'crosslink-vpn-traffic');
    const watcher = google.schedulerJobs.find((j) => j.name === 'crosslink-watcher');
    expect(job?.schedule).toBe(watcher?.schedule);
    expect(job?.http).toMatchObject({
      function: 'vpn-run',
      method: 'POST',
      body: { step: 'traffic-check' },
      serviceAccount: 'crosslink-vpn-scheduler',
    });
    // The function's account reads the counters (crosslinkVpnTraffic: monitoring.timeSeries.list).
    expect(google.serviceAccounts.find((a) => a.id === 'crosslink-vpn-run')?.roles).toContain(
      'crosslinkVpnTraffic',
    );
  });

  it('reads the policy beside gcp.yml, which the repository ships with AWS coordinating', () => {
    // Act
    const google = loadGcpConfig('gcp.yml');
    // Assess
    expect(google.vpnCoordinator).toBe(awsCoordinator('config/policy.yaml'));
    expect(google.schedulerJobs.some((j) => j.name === 'crosslink-vpn-run')).toBe(
      google.vpnCoordinator === 'gcp',
    );
  });

  it('refuses a job whose condition names no side, and a condition without a policy to read', () => {
    // Arrange
    const bad = GCP_YML.replace('when: { vpnCoordinator: gcp }', 'when: { vpnCoordinator: azure }');
    const root = mkdtempSync(join(tmpdir(), 'crosslink-no-policy-'));
    // Act
    const badSide = () => parseGcpConfig(bad, { policy: SHIPPED });
    const noPolicy = () => parseGcpConfig(GCP_YML, { root });
    // Assess
    expect(badSide).toThrow(/schedulerJobs\[1\]\.when\.vpnCoordinator: must be one of "aws", "gcp"/);
    expect(noPolicy).toThrow(
      /a job's when reads vpn.coordinator from .*config\/policy.yaml, which does not exist/,
    );
  });
});
