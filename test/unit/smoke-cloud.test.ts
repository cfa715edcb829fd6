/**
 * `npm run smoke:cloud` offline: it refuses to start without every explicit setting (one line
 * each, exit 2, nothing run), never in CI, and with them `--plan` prints the runbook's commands for
 * the stage, the teardown last and marked to run even after a failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main, smokePlan, smokeSettings } from '#scripts/smoke-cloud.ts';

const SETTINGS = {
  CROSSLINK_SMOKE_STAGE: 'smoke1',
  CROSSLINK_SMOKE_AWS_REGION: 'us-east-1',
  CROSSLINK_SMOKE_GCP_PROJECT: 'net-smoke-1',
  CROSSLINK_SMOKE_REQUEST: 'smoke-request.yaml',
  CROSSLINK_SMOKE_CONFIRM: 'spend-money-on-smoke1',
  AWS_PROFILE: 'smoke',
  GOOGLE_APPLICATION_CREDENTIALS: '/keys/smoke.json',
};

async function run(env: Record<string, string | undefined>, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env,
    cwd: '/tmp/smoke-home',
  });
  return { code, out, err };
}

describe('smoke:cloud settings', () => {
  it('refuses without its settings: every missing one named, exit 2, nothing run', async () => {
    const r = await run({});
    expect(r.code).toBe(2);
    expect(r.err).toEqual([
      'smoke:cloud refused (nothing ran):',
      '  CROSSLINK_SMOKE_STAGE: required (a stage name of lower-case letters and digits)',
      '  CROSSLINK_SMOKE_AWS_REGION: required (an AWS region such as us-east-1)',
      '  CROSSLINK_SMOKE_GCP_PROJECT: required (a Google project id)',
      '  CROSSLINK_SMOKE_REQUEST: required (a link request file (.yaml or .json))',
      '  AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID (the default chain is not guessed here)',
      '  Google credentials: set GOOGLE_APPLICATION_CREDENTIALS or CLOUDSDK_AUTH_ACCESS_TOKEN',
    ]);
    expect(r.out).toEqual([]);
  });

  it('refuses in CI, a confirmation for another stage, and malformed values', () => {
    const refused = (env: Record<string, string | undefined>) => {
      const s = smokeSettings(env);
      return 'refused' in s ? s.refused : [];
    };
    expect(refused({ ...SETTINGS, CI: 'true' })).toEqual([
      'CI is set: the smoke test never runs in CI (it deploys to real accounts and spends money)',
    ]);
    expect(refused({ ...SETTINGS, CROSSLINK_SMOKE_CONFIRM: 'yes' })).toEqual([
      'CROSSLINK_SMOKE_CONFIRM: must be exactly spend-money-on-smoke1 (this run deploys to real accounts and pays for it)',
    ]);
    expect(
      refused({ ...SETTINGS, CROSSLINK_SMOKE_STAGE: 'Prod', CROSSLINK_SMOKE_CONFIRM: 'spend-money-on-Prod' }),
    ).toEqual(['CROSSLINK_SMOKE_STAGE: must be a stage name of lower-case letters and digits, got "Prod"']);
    expect(smokeSettings(SETTINGS)).toEqual({
      stage: 'smoke1',
      awsRegion: 'us-east-1',
      gcpProject: 'net-smoke-1',
      request: 'smoke-request.yaml',
    });
  });

  it('--plan prints the runbook for the stage and runs nothing; an unknown argument is refused', async () => {
    const r = await run(SETTINGS, '--plan');
    expect(r.code).toBe(0);
    expect(r.out).toEqual([
      'AWS, first phase: CROSSLINK_DEPLOY_PHASE=aws-first npx osls deploy --stage smoke1 --region us-east-1',
      'Google, from the AWS stack: npx crosslink-deploy-gcp --project net-smoke-1 --from-aws-stack crosslink-smoke1 --aws-region us-east-1 --aws-env-out /tmp/smoke-home/.crosslink/smoke-smoke1/google-values.env',
      "AWS, second phase (Google's values): bash -c set -a; . '/tmp/smoke-home/.crosslink/smoke-smoke1/google-values.env'; set +a; exec npx osls deploy --stage smoke1 --region us-east-1",
      'doctor: npx crosslink doctor --target cloud --stage smoke1 --region us-east-1 --project net-smoke-1',
      'a link up to its first provider state on both sides, then decommissioned: npx crosslink link request smoke-request.yaml --target cloud --json',
      '(always) Google teardown (--prune with nothing listed): npx crosslink-deploy-gcp --project net-smoke-1 --config /tmp/smoke-home/.crosslink/smoke-smoke1/teardown.yml --prune',
      '(always) AWS teardown: npx osls remove --stage smoke1 --region us-east-1',
    ]);
    expect((await run(SETTINGS, '--go')).code).toBe(2);
    expect(smokePlan(smokeSettings(SETTINGS) as never, '/w').filter((s) => s.always)).toHaveLength(2);
  });
});

describe('smoke:cloud teardown', () => {
  /** A run whose steps are the injected `outcome` (an exit code or a throw); the steps attempted. */
  async function runWith(outcome: (name: string) => number) {
    const attempted: string[] = [];
    const err: string[] = [];
    const cwd = mkdtempSync(join(tmpdir(), 'smoke-'));
    try {
      const code = await main([], {
        out: () => {},
        err: (l) => err.push(l),
        env: SETTINGS,
        cwd,
        runStep: async (step) => {
          attempted.push(step.name);
          return outcome(step.name);
        },
      });
      return { code, attempted, err };
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }

  it('a step that throws skips what follows but the teardown, which runs; a failing teardown is reported', async () => {
    const r = await runWith((name) => {
      if (name === 'Google, from the AWS stack') throw new Error('describe-stacks: ExpiredToken\nmore');
      if (name === 'AWS teardown') return 3;
      return 0;
    });
    expect(r.attempted).toEqual([
      'AWS, first phase',
      'Google, from the AWS stack',
      'Google teardown (--prune with nothing listed)',
      'AWS teardown',
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('smoke:cloud: Google, from the AWS stack failed (describe-stacks: ExpiredToken)');
    expect(r.err).toContain('smoke:cloud: AWS teardown failed (exit 3)');
    expect(r.err.slice(-2)).toEqual([
      'smoke:cloud: the teardown failed: AWS teardown (exit 3): the stage smoke1 may still hold resources in us-east-1 and net-smoke-1; run that step again by hand (docs/deploy.md "Teardown")',
      'smoke:cloud: failed at Google, from the AWS stack; the teardown was attempted',
    ]);
  });

  it('every step passing: all seven run, exit 0; a teardown that throws alone still fails the run', async () => {
    const ok = await runWith(() => 0);
    expect(ok.attempted).toHaveLength(7);
    expect(ok.code).toBe(0);
    expect(ok.err.at(-1)).toBe('smoke:cloud: done, torn down');
    const late = await runWith((name) => {
      if (name.startsWith('Google teardown')) throw new Error('gcloud: not found');
      return 0;
    });
    expect(late.attempted).toHaveLength(7);
    expect(late.code).toBe(1);
    expect(late.err.at(-1)).toBe('smoke:cloud: done, but the teardown failed');
  });
});
