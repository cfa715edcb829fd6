/**
 * The local cloud's gcp.yml wiring refuses Google's DR executor in the region its plan fails over
 * away from, before anything changes, as scripts/deploy-gcp does (deployment/dr-executor-region.ts):
 * the ledger plan (Cloud DNS, executed by Google, primary europe-west1) with the dr-failover
 * workflow in a local cloud whose region is europe-west1. The reload rejects naming the region and
 * the plan, and the workflow is not deployed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { LocalCloud } from '#local/index.ts';
import { ledgerDoc } from '../support/dr-ledger.ts';
import { startTestCloud } from '../support/local-cloud.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let cloud: LocalCloud;
let dir: string;
const variables: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'crosslink-gcp-dr-region-'));
  writeFileSync(join(dir, 'gcp.yml'), stringify({ version: 1 }));
  cloud = await startTestCloud({
    gcp: { region: 'europe-west1' },
    gcpConfig: join(dir, 'gcp.yml'),
    gcpVariables: variables,
  });
}, 60_000);

afterAll(async () => {
  await cloud?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("Google's DR executor on the local cloud", () => {
  it("refuses the dr-failover workflow in the plan's primary region, changing nothing", async () => {
    // Prepare: the DR function and the workflow, the ledger plan given at deploy
    variables.CROSSLINK_DR_PLAN = JSON.stringify(ledgerDoc());
    writeFileSync(
      join(dir, 'gcp.yml'),
      stringify({
        version: 1,
        serviceAccounts: [
          { id: 'crosslink-dr-signals', roles: [] },
          { id: 'crosslink-workflows', roles: [] },
        ],
        functions: [
          {
            name: 'dr-signals',
            source: relative(dir, join(ROOT, 'functions/gcp/handlers/index.ts')),
            entryPoint: 'drSignals',
            region: 'us-west1',
            runtime: 'nodejs24',
            serviceAccount: 'crosslink-dr-signals',
            // gcp.yml's own variable, substituted from the deploy's values.
            environment: { CROSSLINK_DR_PLAN: `\${env:CROSSLINK_DR_PLAN}` },
            trigger: { http: { invokers: ['serviceAccount:crosslink-workflows'] } },
          },
        ],
        workflows: [
          {
            name: 'dr-failover',
            source: relative(dir, join(ROOT, 'workflows/gcp/dr-failover.workflows.yaml')),
            serviceAccount: 'crosslink-workflows',
            env: { CROSSLINK_DR_EXECUTOR_REGION: 'us-west1' },
          },
        ],
      }),
    );
    // Act
    const reload = cloud.plumbing?.reload();
    // Assess
    await expect(reload).rejects.toThrow(
      /region: workflow dr-failover would be deployed in europe-west1: ledger's executor runs on gcp \(it owns the plan's traffic switch\) and must not run in europe-west1, the primary's region/,
    );
    expect(cloud.plumbing?.workflow('dr-failover')).toBeUndefined();
  });
});
