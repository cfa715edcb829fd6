/**
 * Where gcp.yml may place Google's DR executor (deployment/dr-executor-region.ts): for a plan Google
 * executes (Cloud DNS, the ledger plan: primary europe-west1), neither the `dr-signals` function that
 * answers the workflow's steps, nor the `dr-control` function whose decision hook moves the run, nor
 * the `dr-failover` workflow, nor the region its steps are sent to may be europe-west1; a plan AWS executes places nothing; an invalid plan is named.
 */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { drExecutorRegionIssues } from '#deployment/dr-executor-region.ts';
import { parseGcpConfig } from '#deployment/gcp-config.ts';
import { ledgerDoc } from '../../support/dr-ledger.ts';
import { exampleDoc } from '../dr/helpers.ts';

/** A gcp.yml with the DR function (its own region, if given) and the dr-failover workflow. */
function configWith(plan: unknown, o: { fnRegion?: string; stepsRegion?: string } = {}) {
  return parseGcpConfig(
    stringify({
      version: 1,
      region: 'us-east4',
      serviceAccounts: [
        { id: 'crosslink-dr-signals', roles: [] },
        { id: 'crosslink-workflows', roles: [] },
      ],
      functions: [
        {
          name: 'dr-signals',
          source: 'functions/gcp/handlers/index.ts',
          entryPoint: 'drSignals',
          ...(o.fnRegion ? { region: o.fnRegion } : {}),
          runtime: 'nodejs24',
          serviceAccount: 'crosslink-dr-signals',
          environment: { CROSSLINK_DR_PLAN: JSON.stringify(plan) },
          trigger: { http: { invokers: ['serviceAccount:crosslink-workflows'] } },
        },
      ],
      workflows: [
        {
          name: 'dr-failover',
          source: 'workflows/gcp/dr-failover.workflows.yaml',
          serviceAccount: 'crosslink-workflows',
          env: { CROSSLINK_DR_EXECUTOR_REGION: o.stepsRegion ?? o.fnRegion ?? 'us-west1' },
        },
      ],
    }),
  );
}

describe("Google's DR executor's region in gcp.yml", () => {
  it('is fine outside the primary’s region, and anywhere for a plan AWS executes', () => {
    expect(drExecutorRegionIssues(configWith(ledgerDoc(), { fnRegion: 'europe-west4' }), 'us-east4')).toEqual(
      [],
    );
    expect(drExecutorRegionIssues(configWith(exampleDoc(), { fnRegion: 'us-east1' }), 'us-central1')).toEqual(
      [],
    );
  });

  it('refuses the function, the workflow and the steps’ region in the primary’s region, by field', () => {
    const primary =
      "ledger's executor runs on gcp (it owns the plan's traffic switch) and must not run in europe-west1, the primary's region";
    expect(drExecutorRegionIssues(configWith(ledgerDoc(), { fnRegion: 'europe-west1' }), 'us-east4')).toEqual(
      [
        {
          path: 'functions[0].region',
          reason: expect.stringContaining(
            `function dr-signals (the dr-failover workflow's steps) would run in europe-west1: ${primary}`,
          ),
        },
        {
          path: 'workflows[0].env.CROSSLINK_DR_EXECUTOR_REGION',
          reason: expect.stringContaining(
            `names europe-west1, where workflow dr-failover would have its steps answered: ${primary}`,
          ),
        },
      ],
    );
    // The function and the workflow in the deploy's region, the primary's.
    expect(
      drExecutorRegionIssues(configWith(ledgerDoc(), { stepsRegion: 'europe-west4' }), 'europe-west1').map(
        (i) => [i.path, i.reason.split(':')[0]],
      ),
    ).toEqual([
      ['region', "function dr-signals (the dr-failover workflow's steps) would run in europe-west1"],
      ['region', 'workflow dr-failover would be deployed in europe-west1'],
    ]);
  });

  it("refuses the standby's region when Google executes a plan whose primary is on AWS", () => {
    const turned = ledgerDoc();
    [turned.primary, turned.standby] = [turned.standby, turned.primary];
    [turned.actions.failover, turned.actions.failback] = [turned.actions.failback, turned.actions.failover];
    for (const a of turned.actions.failover) if (a.type === 'cloud-dns-failover-policy') a.serve = 'backup';
    for (const a of turned.actions.failback) if (a.type === 'cloud-dns-failover-policy') a.serve = 'primary';
    expect(drExecutorRegionIssues(configWith(turned, { fnRegion: 'europe-west1' }), 'us-east4')[0]).toEqual({
      path: 'functions[0].region',
      reason: expect.stringContaining(
        "must not run in europe-west1, the standby's region: it serves after a failover and a failback moves traffic away from it",
      ),
    });
  });

  it("refuses the operators' controls (dr-control) in the primary's region, checking the workflow once", () => {
    // Arrange: gcp.yml with dr-control beside dr-signals, dr-control in the primary's region
    const config = configWith(ledgerDoc(), { fnRegion: 'europe-west4' });
    const signals = config.functions[0] as (typeof config.functions)[number];
    config.functions.push({
      ...signals,
      name: 'dr-control',
      entryPoint: 'drControl',
      region: 'europe-west1',
    });

    // Act
    const issues = drExecutorRegionIssues(config, 'us-east4');

    // Assess
    expect(issues).toEqual([
      {
        path: 'functions[1].region',
        reason: expect.stringMatching(
          /^function dr-control \(the operators' controls, which move the run\) would run in europe-west1: ledger's executor runs on gcp/,
        ),
      },
    ]);
  });

  it('names a plan that is not valid', () => {
    expect(drExecutorRegionIssues(configWith({ version: 1, service: 'x' }), 'us-east4')).toEqual([
      {
        path: 'functions[0].environment.CROSSLINK_DR_PLAN',
        reason: expect.stringMatching(/^is not a valid DR plan's JSON: /),
      },
    ]);
  });
});
