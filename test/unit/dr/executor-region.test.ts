/**
 * The region a plan's executor must not run in (functions/core/dr/executor-region.ts): the plan's
 * region on the executor's cloud, the primary's or the standby's. Checked at packaging by
 * config/dr-plan.cjs (the region the deploy names, and the CloudFormation rule it gives the
 * template) and by the deployed drExecutor at its first invocation (AWS_REGION), which pages and
 * refuses to act.
 */
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { DrExecutorMisplaced, drExecutorDepsFromEnv, type ExecutorPage } from '#aws/dr-executor.ts';
import { executorRegionIssue, refusedExecutorRegion } from '#core/dr/executor-region.ts';
import type { DrPlan, DrPlanDocument } from '#core/dr/plan.ts';
import { manualClock } from '../../support/timers.ts';
import { planWith, ROOT } from './helpers.ts';

const requireCjs = createRequire(import.meta.url);
type PolicyDocument = { Statement: { Effect: string; Action: string; Resource: unknown }[] };
const { drPlanValues } = requireCjs(`${ROOT}/config/dr-plan.cjs`) as {
  drPlanValues: (
    file: string | undefined,
    region?: string,
  ) => {
    json: string;
    rules: Record<string, unknown>;
    awsVantageRegion: string;
    executor: string;
    commandedHookPolicy: PolicyDocument;
  };
};

const payments = planWith();
/** The payments plan turned around: the primary on Google, the standby (and ARC) on AWS us-east-1. */
const googlePrimaryArc: DrPlan = planWith((doc: DrPlanDocument) => {
  [doc.primary, doc.standby] = [doc.standby, doc.primary];
  [doc.actions.failover, doc.actions.failback] = [doc.actions.failback, doc.actions.failover];
});

describe('the region the executor must not run in', () => {
  it("is the primary's when the executor is on the primary's cloud", () => {
    expect(refusedExecutorRegion(payments)).toEqual({ cloud: 'aws', region: 'us-east-1', side: 'primary' });
    expect(executorRegionIssue(payments, 'aws', 'us-east-1')).toBe(
      "payments-api's executor runs on aws (it owns the plan's traffic switch) and must not run in us-east-1, the primary's region: a failover moves traffic away from it, and an executor there would fail with the outage it is there to escape; deploy it in another region",
    );
    expect(executorRegionIssue(payments, 'aws', 'us-west-2')).toBeUndefined();
    // Google does not execute this plan: any of its regions is fine.
    expect(executorRegionIssue(payments, 'gcp', 'us-central1')).toBeUndefined();
  });

  it("is the standby's when the executor is on the standby's cloud: it serves after a failover, a failback leaves it", () => {
    expect(refusedExecutorRegion(googlePrimaryArc)).toEqual({
      cloud: 'aws',
      region: 'us-east-1',
      side: 'standby',
    });
    expect(executorRegionIssue(googlePrimaryArc, 'aws', 'us-east-1')).toMatch(
      /must not run in us-east-1, the standby's region: it serves after a failover and a failback moves traffic away from it/,
    );
    expect(executorRegionIssue(googlePrimaryArc, 'gcp', 'us-central1')).toBeUndefined();
  });

  it('is the Google primary’s for a Cloud-DNS-switched plan', () => {
    const parsed = JSON.parse(drPlanValues('config/dr-plans/example-ledger.yaml').json) as DrPlan;
    expect(refusedExecutorRegion(parsed)).toEqual({ cloud: 'gcp', region: 'europe-west1', side: 'primary' });
    expect(executorRegionIssue(parsed, 'aws', 'eu-west-1')).toBeUndefined();
  });
});

describe('at packaging (config/dr-plan.cjs)', () => {
  it('refuses the region the deploy names when the AWS executor must not run there, naming it and the plan', () => {
    expect(() => drPlanValues('config/dr-plans/example-payments.yaml', 'us-east-1')).toThrow(
      "--region us-east-1: payments-api's executor runs on aws (it owns the plan's traffic switch) and must not run in us-east-1",
    );
    expect(() => drPlanValues('config/dr-plans/example-payments.yaml', 'us-east-1')).toThrow(
      '(CROSSLINK_DR_PLAN_FILE=config/dr-plans/example-payments.yaml)',
    );
    expect(drPlanValues('config/dr-plans/example-payments.yaml', 'us-west-2').awsVantageRegion).toBe(
      'us-west-2',
    );
  });

  it("names the cloud executing the plan (the template routes Google's results to drExecutor only where it is AWS)", () => {
    expect(drPlanValues('config/dr-plans/example-payments.yaml').executor).toBe('aws');
    expect(drPlanValues('config/dr-plans/example-ledger.yaml').executor).toBe('gcp');
    expect(drPlanValues(undefined).executor).toBe('');
  });

  it("gives the template CloudFormation's rule for a plan AWS executes, and none otherwise", () => {
    expect(drPlanValues('config/dr-plans/example-payments.yaml').rules).toEqual({
      DrExecutorRegion: {
        Assertions: [
          {
            Assert: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] }] },
            AssertDescription: expect.stringContaining(
              "The DR executor of payments-api (config/dr-plans/example-payments.yaml) must not run in us-east-1, the primary's region",
            ),
          },
        ],
      },
    });
    // Google executes the ledger plan: the AWS stack may go anywhere, its region included.
    expect(drPlanValues('config/dr-plans/example-ledger.yaml').rules).toEqual({});
    expect(() => drPlanValues('config/dr-plans/example-ledger.yaml', 'eu-west-1')).not.toThrow();
    expect(drPlanValues(undefined).rules).toEqual({});
  });
});

describe("the hooks on AWS at packaging: drCommanded's, whichever cloud executes the plan", () => {
  const allow = (names: string[]) => [
    {
      Effect: 'Allow',
      Action: 'lambda:InvokeFunction',
      Resource: names.map((name) => ({
        'Fn::Sub': `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${name}`,
      })),
    },
  ];

  it("lets drCommanded invoke the hooks on AWS of a plan AWS executes (its own executor's commands) and of one Google executes (Google's)", () => {
    const payments = drPlanValues('config/dr-plans/example-payments.yaml');
    const ledger = drPlanValues('config/dr-plans/example-ledger.yaml');
    expect(payments.commandedHookPolicy.Statement).toEqual(
      allow(['payments-fence-aurora', 'payments-promote-aurora', 'payments-scale-ecs-service']),
    );
    expect(ledger.commandedHookPolicy.Statement).toEqual(
      allow(['ledger-fence-aurora', 'ledger-promote-aurora', 'ledger-scale-ecs']),
    );
    // drExecutor invokes no hook: the packaging writes no policy for it.
    expect(Object.keys(payments)).not.toContain('executorHookPolicy');
  });

  it('denies drCommanded every invocation with no plan', () => {
    expect(drPlanValues(undefined).commandedHookPolicy.Statement).toEqual([
      { Effect: 'Deny', Action: 'lambda:InvokeFunction', Resource: '*' },
    ]);
  });
});

describe('the deployed drExecutor (defence in depth)', () => {
  const env = {
    CROSSLINK_TABLE: 'crosslink-links-dev',
    CROSSLINK_BUS: 'crosslink-dev',
    CROSSLINK_ACCOUNT_ID: '123456789012',
    CROSSLINK_DR_ARC_ENDPOINTS: JSON.stringify([{ Endpoint: 'https://a.example/v1', Region: 'us-west-2' }]),
  };
  const embedded = globalThis as { CROSSLINK_DR_PLAN?: DrPlan };
  afterEach(() => {
    delete embedded.CROSSLINK_DR_PLAN;
  });

  it('pages and refuses every invocation in the primary’s region, then starts in another', () => {
    // The packaging's esbuild `define`, as the bundle has it.
    embedded.CROSSLINK_DR_PLAN = payments;
    const pages: ExecutorPage[] = [];
    const clock = manualClock(Date.parse('2026-06-01T10:00:00Z'));
    for (let i = 0; i < 2; i++) {
      let thrown: unknown;
      try {
        drExecutorDepsFromEnv({ ...env, AWS_REGION: 'us-east-1' }, (p) => pages.push(p), clock);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(DrExecutorMisplaced);
      expect((thrown as Error).name).toBe('DrExecutorMisplaced');
      expect((thrown as Error).message).toMatch(
        /^AWS_REGION us-east-1: payments-api's executor runs on aws .* must not run in us-east-1, the primary's region/,
      );
    }
    expect(pages).toEqual([
      {
        time: '2026-06-01T10:00:00.000Z',
        reason: 'executor-misplaced',
        message: expect.stringContaining('AWS_REGION us-east-1'),
      },
      {
        time: '2026-06-01T10:00:00.000Z',
        reason: 'executor-misplaced',
        message: expect.stringContaining('AWS_REGION us-east-1'),
      },
    ]);
    const deps = drExecutorDepsFromEnv({ ...env, AWS_REGION: 'us-west-2' }, (p) => pages.push(p), clock);
    expect(deps.origin).toEqual({ cloud: 'aws', accountId: '123456789012', region: 'us-west-2' });
    expect(pages).toHaveLength(2);
  });
});
