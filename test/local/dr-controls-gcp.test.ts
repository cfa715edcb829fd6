/**
 * `crosslink dr pause | resume | approve` reaching Google's deployed executor (local cloud, Google IAM
 * enforced, a manual clock stepped a minute at a time): gcp.yml's `dr-signals` and `dr-control`
 * functions, each as its own account, the probe's schedule, the pushes and the `dr-failover`
 * workflow, deployed with the ledger plan (Cloud DNS, so Google executes it; approval required)
 * whose probes point at the service world's health endpoints, both functions in europe-west4 (the
 * plan's Google vantage point's region, outside the primary's). AWS's vantage point's lines arrive as
 * the relay delivers them (DrSignalObserved on crosslink-peer-events). The CLI calls
 * `POST /dr/ledger/controls` on `dr-control` (the handshake's `drControls.gcp`) with an ID token of
 * the `--as` identity: carol is among its invokers (CROSSLINK_DR_OPERATORS), alice is not.
 *
 * Proved: paused, an outage of europe-west1 starts no execution; the resume lets the decider move at
 * once (the failover pending approval: one execution, its run awaiting approval); a wrong epoch is
 * refused (exit 3); the approval through the deployed route moves the run at the next epoch; a
 * caller who is not an operator is refused by the platform (exit 3), recording nothing.
 *
 * What stands in for deployed parts: AWS's half (its vantage point's lines are published as the
 * relay would; the promotion commanded to AWS is not carried out here).
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FirestoreDrExecutorStore } from '#gcp/dr-executor-store.ts';
import { FirestoreSignalLog } from '#gcp/signal-log.ts';
import type { LocalCloud } from '#local/index.ts';
import { main } from '#scripts/cli/main.ts';
import { settle } from '../support/dr-deployed.ts';
import { deployLedgerGoogleHalf, drFailoverExecutions, relayLedgerLines } from '../support/dr-google-half.ts';
import { admin } from '../support/local-cloud.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let cloud: LocalCloud;
let home: string;
let db: Firestore;

/** `minutes` minutes of the schedule's probes and AWS's relayed lines, the primary as `primary` says. */
async function minutes(n: number, primary: 'healthy' | 'unhealthy'): Promise<void> {
  for (let i = 0; i < n; i++) {
    await relayLedgerLines(cloud, cloud.clock.now(), primary);
    await cloud.clock.advance(60_000);
    await settle(cloud, 300);
  }
}

const executions = () => drFailoverExecutions(cloud);

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: home, env: {} });
  return { code, out, err };
}

beforeAll(async () => {
  const deployed = await deployLedgerGoogleHalf(ROOT, 'crosslink-dr-controls-gcp-', {
    approval: 'required',
    functions: ['dr-control'],
  });
  cloud = deployed.cloud;
  const { dir, plan } = deployed;

  // The CLI's home: the plan, the identities' key files, the handshake naming the deployed route.
  home = join(dir, 'home');
  mkdirSync(join(home, 'config'), { recursive: true });
  cpSync(join(ROOT, 'config', 'local-identities.yaml'), join(home, 'config', 'local-identities.yaml'));
  writeFileSync(join(home, 'plan.yaml'), stringify(plan));
  await cloud.gcp.auth.writeKeyFiles(join(home, '.crosslink', 'keys'));
  writeFileSync(join(home, '.crosslink', 'local.json'), JSON.stringify(cloud.handshake()));

  process.env.METADATA_SERVER_DETECTION = 'none';
  process.env.FIRESTORE_EMULATOR_HOST = cloud.emulators?.firestoreHost as string;
  db = new Firestore({ projectId: cloud.gcp.project });
}, 180_000);

afterAll(async () => {
  await db?.terminate();
  await cloud?.stop();
});

describe("the operators' controls reaching Google's deployed executor", () => {
  it('paused: no failover; resumed: decided; approved through the route: the run moves at the next epoch', async () => {
    // Prepare: three healthy minutes
    await minutes(3, 'healthy');
    const log = new FirestoreSignalLog(db);
    const runs = new FirestoreDrExecutorStore(db);

    // Act: paused by carol; a caller who is not an operator tries to resume
    const paused = await cli('dr', 'pause', 'plan.yaml', '--as', 'carol');
    const stranger = await cli('dr', 'resume', 'plan.yaml', '--as', 'alice');

    // Assess
    expect(paused).toMatchObject({ code: 0, err: [] });
    expect(paused.out[0]).toMatch(
      /^ledger: paused: the decider holds this plan, a run under way holds between actions \(by carol@example\.com at .*\), recorded in the deployed Google signal log$/,
    );
    expect(stranger.code).toBe(3);
    expect(stranger.err.join('\n')).toMatch(/refused the caller's credentials/);
    expect((await log.controls('ledger')).map((c) => [c.record.control, c.record.by])).toEqual([
      ['pause', 'carol@example.com'],
    ]);

    // Act: europe-west1 out for ten minutes of probes and relayed lines, paused
    await admin(cloud, 'POST', '/world/region-outage', { cloud: 'gcp', region: 'europe-west1', on: true });
    await minutes(10, 'unhealthy');

    // Assess: no execution while paused
    expect(executions()).toEqual([]);

    // Act: resumed while the outage lasts
    const resumed = await cli('dr', 'resume', 'plan.yaml', '--as', 'carol');
    await settle(cloud, 300);

    // Assess: the decider moved at once: the failover pending approval, one execution, its run awaiting approval
    expect(resumed).toMatchObject({ code: 0, err: [] });
    expect(resumed.out.join('\n')).toMatch(/FAILOVER pending approval/);
    expect(executions()).toHaveLength(1);
    const waiting = (await runs.current('ledger'))?.run;
    expect(waiting?.status).toBe('awaiting-approval');
    const epoch = waiting?.epoch as number;

    // Act: a wrong epoch, then the right one
    const wrong = await cli('dr', 'approve', 'plan.yaml', String(epoch + 1), '--as', 'carol');
    const approved = await cli('dr', 'approve', 'plan.yaml', String(epoch), '--as', 'carol');
    await cloud.clock.advance(10_000);
    await settle(cloud, 300);

    // Assess: the wrong epoch refused, nothing recorded for it; the approval moved the run to the
    // next epoch: its fence of Cloud SQL done by its own hook, the promotion (commanded to AWS)
    // started, in the one execution
    expect(wrong.code).toBe(3);
    expect(wrong.err.join('\n')).toMatch(/^ledger: epoch: /);
    expect(approved).toMatchObject({ code: 0, err: [] });
    expect(approved.out[0]).toMatch(
      new RegExp(`^ledger: approved the failover of epoch ${epoch} \\(by carol@example\\.com at `),
    );
    expect(approved.out.join('\n')).toMatch(
      new RegExp(`epoch ${epoch + 1} {2}FAILOVER approved by carol@example.com`),
    );
    const moved = (await runs.current('ledger'))?.run;
    expect(moved).toMatchObject({ epoch: epoch + 1, status: 'running' });
    expect(moved?.steps[0]).toMatchObject({ status: 'succeeded', epoch: epoch + 1 });
    expect(moved?.steps[1]).toMatchObject({ status: 'started', epoch: epoch + 1 });
    expect((await admin(cloud, 'POST', '/world/service', { name: 'ledger' })).database.gcp).toMatchObject({
      role: 'writer',
      fenced: true,
    });
    expect(executions()).toHaveLength(1);
    expect((await log.controls('ledger')).map((c) => c.record.control)).toEqual([
      'pause',
      'resume',
      'approve',
    ]);
  });
});
