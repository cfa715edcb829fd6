/**
 * The operators' controls of a plan Google executes, through both deployed halves
 * (docs/dr-executor.md "Operations"): the ledger plan (its traffic switch a Cloud DNS failover
 * policy) with its own `decider.approval: required`, deployed by `deployLedgerHalves`
 * (test/support/dr-halves.ts) on a local cloud with IAM enforced and a manual clock stepped a minute
 * at a time: the AWS half in eu-central-1 (`drSignals` probing and relaying, `drCommanded` behind its
 * fence, the plan's hook Lambdas), gcp.yml's `dr-signals`, `dr-control` and the `dr-failover`
 * workflow in europe-west4, the relay both ways, the ledger's Cloud DNS record set and its clients.
 *
 * The CLI is driven as an operator runs it: `crosslink dr pause | resume | approve plan.yaml ... --as
 * <identity>` goes to Google's deployed `dr-control` (the handshake's `drControls.gcp`) with an ID
 * token of the identity; carol is among its invokers (the local cloud's DR operators), alice is not.
 *
 * 1. Paused by carol, then europe-west1 out: minutes of holds, no execution, nothing commanded to
 *    AWS, AWS's fence untouched; alice's pause refused (exit 3), recording nothing.
 * 2. Resumed: the failover decided pending approval, its run awaiting approval, nothing commanded; a
 *    wrong epoch refused (exit 3); approved by carol: the run proceeds at the next epoch, AWS promotes
 *    and scales through its fence under that epoch, the Cloud DNS drain, `DrFailedOver` once; the
 *    world read as it is: one writable database, the one that serves, and Cloud DNS answering it.
 */
import { resolve } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrActionFinishedData, DrActionStartedData, DrDecisionMadeData } from '#core/events/catalog.ts';
import { FirestoreSignalLog } from '#gcp/signal-log.ts';
import { PACKAGING_BUDGET_MS } from '../support/dr-deployed.ts';
import { type DeployedHalves, deployLedgerHalves, type LedgerWorld } from '../support/dr-halves.ts';
import { LEDGER } from '../support/dr-ledger-world.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVICE = 'ledger';
const CAROL = 'carol@example.com';

let d: DeployedHalves<LedgerWorld>;
let db: Firestore;
let log: FirestoreSignalLog;

beforeAll(async () => {
  d = await deployLedgerHalves(ROOT, 'crosslink-dr-controls-gcp-e2e-', (doc) => {
    doc.decider = { ...doc.decider, approval: 'required' };
  });
  db = new Firestore({ projectId: d.cloud.gcp.project });
  log = new FirestoreSignalLog(db);
}, PACKAGING_BUDGET_MS + 60_000);

afterAll(async () => {
  await db?.terminate();
  await d?.stop();
});

const minutes = async (n: number) => {
  for (let i = 0; i < n; i++) await d.minute();
};
const decisions = () => d.named<DrDecisionMadeData>('gcp', 'DrDecisionMade');
/** The moves decided (a decision may be published more than once: one move is one epoch). */
const moves = () => [
  ...new Set(
    decisions()
      .filter((e) => e.data.decision !== 'hold')
      .map((e) => `${e.data.decision} ${e.data.epoch} ${e.data.approval}`),
  ),
];
const controls = async () => (await log.controls(SERVICE)).map((c) => [c.record.control, c.record.by]);

/** Nothing commanded to AWS or carried out: no action, no hook Lambda invoked, AWS's fence untouched, AWS's database not promoted. */
async function nothingCommanded(): Promise<void> {
  expect(d.named('gcp', 'DrActionStarted')).toEqual([]);
  expect(d.named('aws', 'DrActionFinished')).toEqual([]);
  expect(d.named('gcp', 'DrFailedOver')).toEqual([]);
  expect(d.world.hookCalls).toEqual([]);
  expect(d.world.bus.arrived.filter((a) => a.detailType === 'DrActionStarted')).toEqual([]);
  const fence = await d.aws.fence.read(SERVICE);
  expect([fence.epoch, fence.results, fence.refused]).toEqual([0, {}, []]);
  const service = await d.act('service', { name: SERVICE });
  expect(service.database.promotions).toEqual([]);
  expect(service.database.aws.role).toBe('replica');
}

describe("the operators' controls of a plan Google executes, through both deployed halves", () => {
  it('paused by an operator: an outage of the primary moves nothing; a caller who is not an operator is refused', async () => {
    // Prepare: three healthy minutes
    await minutes(3);
    expect((await d.act('clients', { service: SERVICE })).failures).toEqual({});

    // Act: paused by carol; alice, not an operator, tries to pause
    const paused = await d.cli('dr', 'pause', 'plan.yaml', '--as', 'carol');
    const stranger = await d.cli('dr', 'pause', 'plan.yaml', '--as', 'alice');

    // Assess: carol's pause recorded by the deployed route, alice's refused by the platform
    expect(paused, paused.err.join('\n')).toMatchObject({ code: 0, err: [] });
    expect(paused.out[0]).toMatch(
      /^ledger: paused: .*\(by carol@example\.com at .*\), recorded in the deployed Google signal log$/,
    );
    expect(stranger.code).toBe(3);
    expect(stranger.err.join('\n')).toMatch(/refused the caller's credentials/);
    expect(await controls()).toEqual([['pause', CAROL]]);

    // Act: europe-west1 out for eight minutes (detection and hysteresis take four)
    await d.act('region-outage', { cloud: 'gcp', region: 'europe-west1', on: true });
    await minutes(8);

    // Assess: holds, saying the plan is paused; no execution; nothing commanded to AWS
    expect(moves()).toEqual([]);
    expect(decisions().length).toBeGreaterThan(0);
    const codes = new Set(decisions().flatMap((e) => e.data.reasons.map((r) => r.code)));
    expect(codes.has('paused')).toBe(true);
    expect(d.world.executions()).toEqual([]);
    expect(await d.gcpRuns.current(SERVICE)).toBeUndefined();
    await nothingCommanded();
  }, 300_000);

  it('resumed: the failover awaits approval; approved by an operator through the deployed route: AWS promotes and scales under the next epoch, then the DNS drain', async () => {
    // Act: resumed by carol while the outage lasts
    const resumed = await d.cli('dr', 'resume', 'plan.yaml', '--as', 'carol');
    await d.minute();

    // Assess: the failover decided pending approval, one execution, its run awaiting approval, nothing commanded
    expect(resumed, resumed.err.join('\n')).toMatchObject({ code: 0, err: [] });
    expect(resumed.out.join('\n')).toMatch(/FAILOVER pending approval/);
    const [move] = moves();
    expect(moves()).toEqual([move]);
    expect(move).toMatch(/^failover \d+ pending$/);
    const epoch = Number(move?.split(' ')[1]);
    expect(d.world.executions()).toHaveLength(1);
    const waiting = (await d.gcpRuns.current(SERVICE))?.run;
    expect([waiting?.epoch, waiting?.status]).toEqual([epoch, 'awaiting-approval']);
    await nothingCommanded();

    // Act: an approval naming another epoch, then carol's of the one awaiting
    const wrong = await d.cli('dr', 'approve', 'plan.yaml', String(epoch + 1), '--as', 'carol');
    expect(await controls()).toEqual([
      ['pause', CAROL],
      ['resume', CAROL],
    ]);
    const approved = await d.cli('dr', 'approve', 'plan.yaml', String(epoch), '--as', 'carol');
    let done = false;
    for (let i = 0; i < 10 && !done; i++) {
      await d.minute();
      const c = await d.act('clients', { service: SERVICE });
      done = d.named('gcp', 'DrFailedOver').length > 0 && c.transitions.at(-1)?.ok === true;
    }

    // Assess: the wrong epoch refused, recording nothing; the approval moved the run to the next epoch
    expect(wrong.code).toBe(3);
    expect(wrong.err.join('\n')).toMatch(/^ledger: epoch: /);
    expect(approved, approved.err.join('\n')).toMatchObject({ code: 0, err: [] });
    expect(approved.out[0]).toMatch(
      new RegExp(`^ledger: approved the failover of epoch ${epoch} \\(by carol@example\\.com at `),
    );
    expect(done).toBe(true);
    expect(await controls()).toEqual([
      ['pause', CAROL],
      ['resume', CAROL],
      ['approve', CAROL],
    ]);
    const next = epoch + 1;
    expect(moves()).toEqual([`failover ${epoch} pending`, `failover ${next} approved`]);
    // The one execution succeeded; Google's run under the approved epoch, approved by carol
    expect(d.world.executions().map((e) => e.state)).toEqual(['SUCCEEDED']);
    const run = (await d.gcpRuns.current(SERVICE))?.run;
    expect([run?.epoch, run?.status, run?.approval.by]).toEqual([next, 'succeeded', CAROL]);
    expect(await d.gcpRuns.refusals(SERVICE)).toEqual([]);
    // The actions in order under that epoch: Cloud SQL's fence on Google, two commanded across the
    // relay, then the flip on Google
    const started = d.named<DrActionStartedData>('gcp', 'DrActionStarted');
    expect(started.map((e) => [e.data.epoch, e.data.index, e.data.action.type, e.data.via])).toEqual([
      [next, 0, 'fence-writer', 'local'],
      [next, 1, 'promote-replica', 'relay'],
      [next, 2, 'scale-standby', 'relay'],
      [next, 3, 'cloud-dns-failover-policy', 'local'],
    ]);
    // AWS ran each command once, through its hook Lambda and its fence, under that epoch
    expect(d.world.hookCalls.map((c) => [c.hook, c.command.epoch, c.command.index])).toEqual([
      ['ledger-promote-aurora', next, 1],
      ['ledger-scale-ecs', next, 2],
    ]);
    const fence = await d.aws.fence.read(SERVICE);
    expect(fence.epoch).toBe(next);
    expect(Object.keys(fence.results).sort()).toEqual([`${next}#1`, `${next}#2`]);
    expect(fence.refused).toEqual([]);
    const answered = d.named<DrActionFinishedData>('aws', 'DrActionFinished');
    expect(answered.map((e) => [e.data.epoch, e.data.index, e.data.outcome])).toEqual([
      [next, 1, 'succeeded'],
      [next, 2, 'succeeded'],
    ]);
    const taken = d.named<DrActionFinishedData>('gcp', 'DrActionFinished');
    expect(taken.map((e) => [e.data.epoch, e.data.index, e.data.outcome])).toEqual([
      [next, 0, 'succeeded'],
      [next, 1, 'succeeded'],
      [next, 2, 'succeeded'],
      [next, 3, 'succeeded'],
    ]);
    expect(taken[3]?.data.detail).toBe(`primary targets of ${LEDGER.name} drained`);
    // DrFailedOver once, reaching AWS's bus
    const failedOver = d.named<{ epoch: number }>('gcp', 'DrFailedOver');
    expect(failedOver.map((e) => e.data.epoch)).toEqual([next]);
    const onAws = (await d.world.bus.drain()).filter((a) => a.detailType === 'DrFailedOver');
    expect(onAws.map((a) => a.id)).toEqual([failedOver[0]?.id]);

    // The world, read as it is: one writable database (AWS's, promoted once), the side that serves,
    // Cloud DNS answering it alone, the clients served there
    await d.minute();
    const service = await d.act('service', { name: SERVICE });
    const db = service.database as Record<'aws' | 'gcp', { role: string; available: boolean }>;
    const writable = (['aws', 'gcp'] as const).filter((c) => db[c].role === 'writer' && db[c].available);
    expect(writable).toEqual(['aws']);
    expect(service.database.promotions).toHaveLength(1);
    expect(service.aws.desired).toBe(6);
    expect(d.world.answers()).toEqual([LEDGER.standbyIp]);
    const clients = await d.act('clients', { service: SERVICE });
    expect(clients.bySide.aws).toBeGreaterThan(0);
    expect(clients.transitions.at(-1)?.ok).toBe(true);
  }, 480_000);

  it("ran Google's side as its accounts, IAM enforced: dr-control, dr-signals and the workflow refused nothing", () => {
    const account = (id: string) => `serviceAccount:${id}@${d.cloud.gcp.project}.iam.gserviceaccount.com`;
    const ours = ['crosslink-dr-control', 'crosslink-dr-signals', 'crosslink-workflows'].map(account);
    const used = [...(d.cloud.gcp.iam.used().get(account('crosslink-dr-control'))?.keys() ?? [])];
    expect(used).toEqual(expect.arrayContaining(['datastore.entities.update']));
    expect(d.cloud.gcp.iam.refused().filter((r) => ours.includes(r.principal))).toEqual([]);
  });
});
