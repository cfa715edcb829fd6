import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type DrPlanDocument, parseDrPlan, validateDrPlan } from '#core/dr/plan.ts';
import { EXAMPLE_PLAN, exampleDoc, issuesOf, planFiles, planWith, ROOT } from './helpers.ts';

describe('DR plan loader', () => {
  it('accepts every shipped plan and applies the decider defaults', () => {
    // Prepare
    const files = planFiles();

    // Act
    const plans = files.map((f) => parseDrPlan(readFileSync(f, 'utf8'), f));

    // Assess
    expect(files.length).toBeGreaterThan(0);
    const payments = parseDrPlan(readFileSync(EXAMPLE_PLAN, 'utf8'));
    expect(plans.map((p) => p.service).sort()).toEqual(['ledger', 'payments-api']);
    expect(payments.settings).toEqual({
      quorum: 2,
      hysteresisMs: 60_000,
      dampeningMs: 1_800_000,
      staleAfterMs: 300_000,
      failoverApproval: 'none',
      stablePeriodMs: 1_800_000,
      failbackApproval: 'required',
      onFailure: 'stop-and-page',
      actionTimeoutMs: 300_000,
      approvalTimeoutMs: 3_600_000,
    });
  });

  it('takes the execution settings and refuses a traffic switch split between the clouds', () => {
    // Prepare / Act
    const plan = planWith((d) => {
      d.execution = { onFailure: 'fail-forward', actionTimeout: '2m', approvalTimeout: '20m' };
    });
    const split = issuesOf(() =>
      planWith((d) => {
        d.actions.failback[3] = {
          cloud: 'gcp',
          type: 'cloud-dns-failover-policy',
          managedZone: 'payments',
          recordName: 'api.payments.example.com.',
          serve: 'primary',
          hook: { function: 'payments-restore' },
        };
      }),
    );
    const tooShort = issuesOf(() => planWith((d) => (d.execution = { approvalTimeout: '500ms' })));

    // Assess
    expect(plan.settings).toMatchObject({
      onFailure: 'fail-forward',
      actionTimeoutMs: 120_000,
      approvalTimeoutMs: 1_200_000,
    });
    expect(split).toEqual([
      {
        path: 'actions.failback[3].cloud',
        reason: expect.stringContaining('the traffic switch is on aws (actions.failover[3])'),
      },
    ]);
    expect(tooShort).toEqual([{ path: 'execution.approvalTimeout', reason: 'must be at least 1s' }]);
  });

  it('uses 60s hysteresis, 30m dampening and a quorum of 2 when the plan does not say', () => {
    // Prepare / Act
    const plan = planWith((d) => {
      delete d.decider;
    });

    // Assess
    expect(plan.settings.quorum).toBe(2);
    expect(plan.settings.hysteresisMs).toBe(60_000);
    expect(plan.settings.dampeningMs).toBe(30 * 60_000);
    expect(plan.settings.failoverApproval).toBe('none');
  });

  it('refuses a Route 53 ChangeResourceRecordSets action as a control-plane call, with a reason', () => {
    // Prepare
    const doc = exampleDoc() as unknown as { actions: { failover: unknown[]; failback: unknown[] } };
    doc.actions.failover[3] = {
      cloud: 'aws',
      type: 'route53-record',
      hostedZoneId: 'Z123',
      name: 'pay.example.com.',
    };
    doc.actions.failback.unshift({
      cloud: 'aws',
      type: 'scale-standby',
      capacity: 2,
      hook: { function: 'ChangeResourceRecordSets' },
    });

    // Act
    const issues = issuesOf(() => validateDrPlan(doc));

    // Assess
    expect(issues).toEqual([
      {
        path: 'actions.failover[3].type',
        reason: expect.stringMatching(/ChangeResourceRecordSets.*control-plane.*arc-routing-control/),
      },
      { path: 'actions.failback[0]', reason: expect.stringMatching(/control-plane/) },
      // with the record edit refused, the failover has no traffic flip left
      { path: 'actions.failover', reason: expect.stringMatching(/needs a traffic flip/) },
    ]);
  });

  it('refuses a Cloud DNS record-set edit the same way', () => {
    // Prepare
    const doc = exampleDoc() as unknown as { actions: { failover: unknown[] } };
    doc.actions.failover[3] = {
      cloud: 'gcp',
      type: 'cloud-dns-record-set',
      managedZone: 'pay',
      rrdatas: ['10.0.0.1'],
    };

    // Act
    const issues = issuesOf(() => validateDrPlan(doc));

    // Assess
    expect(issues).toEqual([
      {
        path: 'actions.failover[3].type',
        reason: expect.stringMatching(/a Cloud DNS record-set change \(.*control-plane/),
      },
      { path: 'actions.failover', reason: expect.stringMatching(/needs a traffic flip/) },
    ]);
  });

  it('needs three independent vantage points: one in the primary region does not count', () => {
    // Prepare: the AWS observer sits inside the primary's region
    const doc = exampleDoc();
    doc.vantagePoints[0] = { id: 'aws-us-west-2', cloud: 'aws', region: 'us-east-1' };

    // Act
    const issues = issuesOf(() => validateDrPlan(doc));

    // Assess
    expect(issues).toContainEqual({
      path: 'vantagePoints',
      reason: expect.stringMatching(
        /at least 3 independent.*found 2, missing aws.*aws-us-west-2 in the primary's region do not count/,
      ),
    });
  });

  it('counts two vantage points in the same region as one observer', () => {
    // Prepare: the external checker is replaced by a second Google probe in us-west1
    const doc = exampleDoc();
    doc.vantagePoints[2] = { id: 'gcp-us-west1-b', cloud: 'gcp', region: 'us-west1' };
    for (const s of doc.signals)
      s.vantagePoints = s.vantagePoints.map((v) => (v === 'route53-checkers' ? 'gcp-us-west1-b' : v));

    // Act
    const issues = issuesOf(() => validateDrPlan(doc));

    // Assess
    expect(issues.map((i) => i.path)).toContain('vantagePoints');
    expect(issues.find((i) => i.path === 'vantagePoints')?.reason).toMatch(/found 2, missing external/);
  });

  it('refuses a quorum that is not a strict majority, and a standby on the primary cloud', () => {
    // Prepare
    const doc = exampleDoc();
    doc.decider = { quorum: 4 };
    doc.standby = { cloud: 'aws', region: 'us-west-1' };

    // Act
    const issues = issuesOf(() => validateDrPlan(doc));

    // Assess
    expect(issues).toContainEqual({
      path: 'decider.quorum',
      reason: expect.stringMatching(/strict majority of the 3/),
    });
    expect(issues).toContainEqual({
      path: 'standby.cloud',
      reason: expect.stringMatching(/must differ from the primary's cloud/),
    });
  });

  it('refuses a traffic flip before the replica is promoted, and a flip that turns every side off', () => {
    // Prepare
    const doc = exampleDoc();
    const [fence, promote, scale, flip] = doc.actions.failover;
    doc.actions.failover = [fence!, flip!, promote!, scale!];
    const back = doc.actions.failback[3]!;
    if (back.type === 'arc-routing-control') for (const s of back.states) s.state = 'Off';

    // Act
    const issues = issuesOf(() => validateDrPlan(doc));

    // Assess
    expect(issues).toEqual([
      {
        path: 'actions.failover[2].type',
        reason: expect.stringMatching(/promote-replica must come before the traffic flip/),
      },
      {
        path: 'actions.failover[3].type',
        reason: expect.stringMatching(/scale-standby must come before the traffic flip/),
      },
      {
        path: 'actions.failback[3].states',
        reason: expect.stringMatching(/at least one side must stay serving/),
      },
    ]);
  });

  it('checks that a Cloud DNS failover policy serves the backup on failover and the primary on failback', () => {
    // Prepare
    const doc = parse(
      readFileSync(join(ROOT, 'config', 'dr-plans', 'example-ledger.yaml'), 'utf8'),
    ) as DrPlanDocument;
    const flip = doc.actions.failover[3]!;
    if (flip.type === 'cloud-dns-failover-policy') flip.serve = 'primary';

    // Act
    const issues = issuesOf(() => validateDrPlan(doc));

    // Assess
    expect(issues).toEqual([{ path: 'actions.failover[3].serve', reason: 'must be "backup" on failover' }]);
  });

  it('refuses a phase that promotes with no fence of the old writer: two writers once its region returns', () => {
    // Prepare
    const doc = exampleDoc();
    doc.actions.failover.shift();
    doc.actions.failback.shift();

    // Act
    const issues = issuesOf(() => validateDrPlan(doc));

    // Assess
    expect(issues).toEqual([
      {
        path: 'actions.failover',
        reason:
          'promotes a database (promote-replica at [0]) with no fence-writer before it: the old writer on aws would take writes again when its region returns, and the two databases would both be writers',
      },
      {
        path: 'actions.failback',
        reason: expect.stringMatching(/no fence-writer before it: the old writer on gcp .* both be writers/),
      },
    ]);
  });

  it('refuses a fence after the promotion, and a fence on the side taking traffic', () => {
    // Prepare
    const doc = exampleDoc();
    const [fence, promote, ...rest] = doc.actions.failover;
    doc.actions.failover = [promote!, fence!, ...rest];
    const back = doc.actions.failback[0]!;
    back.cloud = 'aws';

    // Act
    const issues = issuesOf(() => validateDrPlan(doc));

    // Assess
    expect(issues).toEqual([
      {
        path: 'actions.failover[1].type',
        reason: expect.stringMatching(
          /^fence-writer must come before the promotion \(promote-replica at \[0\]\)/,
        ),
      },
      {
        path: 'actions.failback[0].cloud',
        reason: expect.stringMatching(/^fence-writer on failback acts on the side giving up traffic \(gcp\)/),
      },
    ]);
  });

  it('accepts a phase that fences with no promotion, and refuses a fence after the flip', () => {
    // Prepare / Act
    const fenceOnly = planWith((d) => {
      d.actions.failover.splice(1, 1);
    });
    const late = issuesOf(() =>
      planWith((d) => {
        const [fence, ...rest] = d.actions.failover;
        d.actions.failover = [...rest, fence!];
        d.actions.failover.splice(0, 1);
      }),
    );

    // Assess
    expect(fenceOnly.actions.failover.map((a) => a.type)).toEqual([
      'fence-writer',
      'scale-standby',
      'arc-routing-control',
    ]);
    expect(late).toEqual([
      {
        path: 'actions.failover[2].type',
        reason: expect.stringMatching(/^fence-writer must come before the traffic flip/),
      },
    ]);
  });

  it('names every bad field of a malformed plan with a reason', () => {
    // Prepare
    const doc = exampleDoc() as unknown as Record<string, unknown> & { signals: Record<string, unknown>[] };
    delete doc.objectives;
    doc.primary = { cloud: 'azure', region: 'us-east-1' };
    (doc.signals[0] as Record<string, unknown>).observes = 'everything';
    doc.signals[1]!.vantagePoints = ['nowhere'];
    doc.failback = { stablePeriod: 'soon', approval: 'required' };
    doc.colour = 'blue';

    // Act
    const issues = issuesOf(() => validateDrPlan(doc));

    // Assess
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'objectives', reason: 'is required' },
        { path: 'primary.cloud', reason: 'must be one of "aws", "gcp"' },
        { path: 'signals[0].observes', reason: 'must be one of "primary", "standby", "replication"' },
        { path: 'failback.stablePeriod', reason: 'must be a duration such as 90s, 5m or 1h30m' },
        { path: 'colour', reason: 'is not a known field' },
      ]),
    );
  });

  it('checks cross references once the shape is right: unknown vantage points, duplicates, too short a stable period', () => {
    // Prepare
    const doc = exampleDoc();
    doc.signals[1]!.vantagePoints = ['nowhere'];
    doc.signals[2]!.name = doc.signals[0]!.name;
    doc.failback.stablePeriod = '10s';

    // Act
    const issues = issuesOf(() => validateDrPlan(doc));

    // Assess
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'signals[1].vantagePoints[0]', reason: expect.stringMatching(/names no vantage point/) },
        { path: 'signals[2].name', reason: 'duplicates signals[0].name "api-availability"' },
        { path: 'failback.stablePeriod', reason: 'must be at least 60s' },
        { path: 'vantagePoints', reason: expect.stringMatching(/found 2, missing external/) },
      ]),
    );
  });

  it('reports YAML syntax errors with their line', () => {
    // Act
    const issues = issuesOf(() => parseDrPlan('version: 1\nservice: payments\nservice: ledger\n'));

    // Assess
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toMatch(/^line 3:\d+$/);
    expect(issues[0]?.reason).toMatch(/not valid YAML/);
  });
});
