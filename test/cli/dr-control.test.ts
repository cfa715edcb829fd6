/**
 * `crosslink dr pause|resume <plan>` and `crosslink dr approve <plan> <epoch>` through the CLI entry:
 * each control checked against the decisions the signal log leads to, then recorded in it.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crosslinkInRepo } from '../support/cli.ts';

const ROOT = join(import.meta.dirname, '..', '..');

const crosslink = crosslinkInRepo;

const approve = (plan: string, log: string, epoch: string, at: string) =>
  crosslink('dr', 'approve', plan, epoch, '--signals', log, '--by', 'carol@example.com', '--at', at);
const control = (verb: 'pause' | 'resume', plan: string, log: string, at: string) =>
  crosslink('dr', verb, plan, '--signals', log, '--by', 'ops@example.com', '--at', at);

const signal = (time: string, vantage: string, name: string, status: string) =>
  JSON.stringify({ time, service: 'payments-api', vantage, signal: name, status });

/** The payments plan with failover approval required, and a log in which a failover waits at epoch 3. */
function setUp(): { plan: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), 'crosslink-dr-control-'));
  const plan = join(dir, 'plan.yaml');
  writeFileSync(
    plan,
    readFileSync(join(ROOT, 'config/dr-plans/example-payments.yaml'), 'utf8').replace(
      /^(decider:[\s\S]*?approval: )none/m,
      '$1required',
    ),
  );
  const log = join(dir, 'signals.jsonl');
  writeFileSync(
    log,
    [
      signal('2026-03-02T10:00:00Z', 'aws-us-west-2', 'standby-readiness', 'healthy'),
      signal('2026-03-02T10:00:00Z', 'gcp-us-west1', 'standby-readiness', 'healthy'),
      signal('2026-03-02T10:00:00Z', 'aws-us-west-2', 'api-availability', 'unhealthy'),
      signal('2026-03-02T10:00:00Z', 'gcp-us-west1', 'api-availability', 'unhealthy'),
      signal('2026-03-02T10:01:30Z', 'gcp-us-west1', 'api-availability', 'unhealthy'),
    ].join('\n'),
  );
  return { plan, log };
}

const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n');

describe('crosslink dr approve', () => {
  it('refuses an epoch that is not the one waiting and records nothing; records the right one', async () => {
    // Prepare
    const { plan, log } = setUp();
    const before = lines(log);

    // Act
    const wrong = await approve(plan, log, '2', '2026-03-02T10:02:00Z');
    const right = await approve(plan, log, '3', '2026-03-02T10:02:00Z');
    const again = await approve(plan, log, '3', '2026-03-02T10:03:00Z');

    // Assess
    expect(wrong).toMatchObject({
      code: 3,
      err: ['payments-api: epoch: epoch 2 is not the one awaiting approval (the failover of epoch 3 is)'],
    });
    expect(right.code).toBe(0);
    expect(right.out[0]).toBe(
      `payments-api: approved the failover of epoch 3 (by carol@example.com at 2026-03-02T10:02:00Z), recorded in ${log}`,
    );
    expect(right.out[1]).toMatch(/epoch 4 {2}FAILOVER approved by carol@example.com -> standby/);
    expect(lines(log)).toEqual([
      ...before,
      '{"time":"2026-03-02T10:02:00Z","control":"approve","service":"payments-api","by":"carol@example.com","decision":"failover","epoch":3}',
    ]);
    expect(again).toMatchObject({
      code: 3,
      err: ['payments-api: epoch: no payments-api move is awaiting approval (the run of epoch 4 is running)'],
    });
  });

  it("refuses an approval after the plan's approval timeout", async () => {
    // Prepare
    const { plan, log } = setUp();

    // Act
    const late = await approve(plan, log, '3', '2026-03-02T11:01:00Z');

    // Assess
    expect(late).toMatchObject({
      code: 3,
      err: [
        'payments-api: epoch: no payments-api move is awaiting approval (the run of epoch 3 is approval-timed-out)',
      ],
    });
  });

  it('names a bad epoch and a missing principal as usage errors', async () => {
    const { plan, log } = setUp();

    expect((await crosslink('dr', 'approve', plan, 'three', '--signals', log, '--by', 'c')).code).toBe(2);
    expect((await crosslink('dr', 'approve', plan, '3', '--signals', log)).code).toBe(2);
  });
});

describe('crosslink dr pause and resume', () => {
  it('holds the plan in the decider until resumed, and refuses a second pause', async () => {
    // Prepare
    const { plan, log } = setUp();
    writeFileSync(log, `${signal('2026-03-02T09:59:00Z', 'aws-us-west-2', 'api-availability', 'healthy')}\n`);

    // Act
    const paused = await control('pause', plan, log, '2026-03-02T09:59:30Z');
    const twice = await control('pause', plan, log, '2026-03-02T09:59:40Z');
    writeFileSync(
      log,
      `${readFileSync(log, 'utf8')}${[
        signal('2026-03-02T10:00:00Z', 'aws-us-west-2', 'standby-readiness', 'healthy'),
        signal('2026-03-02T10:00:00Z', 'gcp-us-west1', 'standby-readiness', 'healthy'),
        signal('2026-03-02T10:00:00Z', 'aws-us-west-2', 'api-availability', 'unhealthy'),
        signal('2026-03-02T10:00:00Z', 'gcp-us-west1', 'api-availability', 'unhealthy'),
      ].join('\n')}\n`,
    );
    const held = await crosslink('dr', 'evaluate', '--plan', plan, '--signals', log);
    const resumed = await control('resume', plan, log, '2026-03-02T10:03:00Z');
    const early = await control('resume', plan, log, '2026-03-02T10:02:30Z');

    // Assess
    expect(paused.code).toBe(0);
    expect(paused.out[0]).toMatch(/^payments-api: paused: the decider holds this plan/);
    expect(twice).toMatchObject({ code: 3, err: ['payments-api: already paused'] });
    expect(held.out.join('\n')).toMatch(/paused: the plan's pause is on \(set by ops@example.com/);
    expect(held.out.join('\n')).not.toMatch(/FAILOVER/);
    expect(resumed.code).toBe(0);
    expect(resumed.out.join('\n')).toMatch(/FAILOVER pending approval/);
    expect(early.code).toBe(2);
  });
});

describe('crosslink dr pause | resume | approve on the deployed log', () => {
  it("sends a plan Google executes to Google's dr-control route, a plan AWS executes to the AWS intake", async () => {
    // Prepare: the ledger plan (Cloud DNS: Google executes it) and the payments plan (ARC: AWS does)
    const ledger = join(ROOT, 'config/dr-plans/example-ledger.yaml');
    const payments = join(ROOT, 'config/dr-plans/example-payments.yaml');

    // Act: --target cloud without the routes' URLs
    const google = await crosslink('dr', 'pause', ledger, '--target', 'cloud');
    const aws = await crosslink('dr', 'approve', payments, '3', '--target', 'cloud');
    const as = await crosslink('dr', 'resume', ledger, '--target', 'cloud', '--as', 'carol');
    const by = await crosslink('dr', 'pause', ledger, '--target', 'cloud', '--by', 'carol@example.com');

    // Assess: each names what its cloud's route needs; the deployed log records its own caller
    expect(google).toMatchObject({ code: 2, err: [expect.stringContaining('CROSSLINK_GCP_DR_CONTROL_URL')] });
    expect(aws).toMatchObject({ code: 2, err: [expect.stringContaining('CROSSLINK_AWS_INTAKE_URL')] });
    expect(as).toMatchObject({ code: 2, err: [expect.stringMatching(/--as is for the local cloud only/)] });
    expect(by).toMatchObject({ code: 2, err: [expect.stringMatching(/^--by is for a signal log file/)] });
  });
});
