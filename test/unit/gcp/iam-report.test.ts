/**
 * The Google least-privilege report (local/gcp/iam/report.ts) on the repository's gcp.yml: a role
 * none of whose permissions was used is unused, with gcp.yml's reason or without one; a role gcp.yml
 * gives a reason for that the calls did use is noted, so a reason that no longer holds shows.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadGcpConfig } from '#deployment/gcp-config.ts';
import { formatReport, leastPrivilegeReport } from '#local/gcp/iam/report.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const P = 'crosslink-local';
const sa = (id: string) => `serviceAccount:${id}@${P}.iam.gserviceaccount.com`;

function report(used: Record<string, string[]>) {
  const written = loadGcpConfig(join(ROOT, 'gcp.yml'));
  const config = { ...written, topics: written.topics.map(({ awsPublishers: _, ...t }) => t) };
  const calls = new Map(Object.entries(used).map(([p, perms]) => [p, new Map(perms.map((x) => [x, 1]))]));
  return leastPrivilegeReport(config, P, '100000000001', 'us-east4', calls);
}

describe('the Google least-privilege report', () => {
  it("counts the functions' Firestore and Pub/Sub permissions, and notes a reason given for a role that was used", () => {
    // Act: the steps account read Firestore, published and sent a callback; the intake called nothing
    const r = report({
      [sa('crosslink-steps')]: [
        'datastore.entities.get',
        'pubsub.topics.publish',
        'workflows.callbacks.send',
      ],
    });
    // Assess
    const steps = r.find((a) => a.account.startsWith('crosslink-steps@'))!;
    const intake = r.find((a) => a.account.startsWith('crosslink-intake@'))!;
    const unusedRoles = steps.unused.map((u) => u.role);
    expect(unusedRoles).not.toContain('roles/datastore.user');
    expect(unusedRoles).not.toContain('roles/pubsub.publisher');
    expect(steps.reasonedButUsed).toEqual(['roles/workflows.invoker']);
    expect(intake.unused).toContainEqual({ role: 'roles/datastore.user', reason: undefined });
    expect(intake.reasonedButUsed).toEqual([]);
    expect(formatReport(r)).toMatch(
      /note {5}roles\/workflows\.invoker: gcp\.yml gives a reason it is unused locally, but these calls used it/,
    );
  });
});
