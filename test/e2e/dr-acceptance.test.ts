/**
 * The DR failover's acceptance through both deployed halves (docs/dr-executor.md "The acceptance
 * through the deployed halves"): one deployment (test/support/dr-halves.ts) of the payments plan
 * with `decider.approval: required`, on a local cloud with IAM enforced and a manual clock stepped a
 * minute at a time, and three scenarios in sequence, the world put back between them:
 *
 * 1. the standby not ready (its replica behind the RPO) while us-east-1 is out: the decider holds,
 *    no move, no run, nothing commanded, no promotion, no flip;
 * 2. `crosslink dr pause --as bob` through the deployed route, then the outage: nothing moves;
 *    `dr resume`: the failover is decided at once (one epoch) and awaits its approval, no action
 *    runs; a wrong epoch's approval is refused; the outage ends and the move is withdrawn;
 * 3. the primary flapping for an hour, an operator approving at once (`dr approve <plan> <epoch>
 *    --as bob`) every move that awaits approval: two-minute outages move nothing (3 probes in a row
 *    and the hysteresis), the one long outage leads to one failover, its actions in order under the
 *    approved epoch (Aurora fenced first, a fenced writer once us-east-1 is back, never a split
 *    brain) and `DrFailedOver`, and the rest of the hour to no other move.
 *
 * Each is asserted from the world (the databases' roles and promotions, the ARC cells, the standby's
 * readiness), from AWS's records (the executor's run in the links table, the controls with their
 * callers) and Google's (the commanded side's fence in Firestore), and from both sides' events.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrActionFinishedData, DrActionStartedData, DrDecisionMadeData } from '#core/events/catalog.ts';
import { PACKAGING_BUDGET_MS } from '../support/dr-deployed.ts';
import { type DeployedHalves, deployDrHalves, SERVICE } from '../support/dr-halves.ts';
import { cellState } from '../support/dr-world.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BOB = 'arn:aws:iam::000000000000:user/bob';

let d: DeployedHalves;

beforeAll(async () => {
  d = await deployDrHalves(ROOT, 'crosslink-dr-acceptance-', (doc) => {
    doc.decider = { ...doc.decider, approval: 'required' };
  });
}, PACKAGING_BUDGET_MS + 60_000);

afterAll(async () => {
  await d?.stop();
});

const minutes = async (n: number) => {
  for (let i = 0; i < n; i++) await d.minute();
};
const outage = (on: boolean) => d.act('region-outage', { cloud: 'aws', region: 'us-east-1', on });
const decisions = (from = 0) => d.named<DrDecisionMadeData>('aws', 'DrDecisionMade').slice(from);
/** The moves decided (a decision may be published more than once: one move is one epoch). */
const moves = (from = 0) => [
  ...new Set(
    decisions(from)
      .filter((e) => e.data.decision !== 'hold')
      .map((e) => `${e.data.decision} ${e.data.epoch} ${e.data.approval}`),
  ),
];
const codes = (from = 0) => new Set(decisions(from).flatMap((e) => e.data.reasons.map((r) => r.code)));
const readyz = async () =>
  (await fetch(`${d.cloud.serviceHealth}/services/${SERVICE}/gcp/us-central1/readyz`)).status;
const cells = async () => ({
  aws: await cellState(d.world, d.world.out.AwsCell),
  gcp: await cellState(d.world, d.world.out.GcpCell),
});

/** Nothing carried out: no action started or answered, Google's fence untouched, the world as it was. */
async function nothingRan(): Promise<void> {
  expect(d.named('aws', 'DrActionStarted')).toEqual([]);
  expect(d.named('aws', 'DrActionFinished')).toEqual([]);
  expect(d.named('gcp', 'DrActionFinished')).toEqual([]);
  expect(d.named('aws', 'DrFailedOver')).toEqual([]);
  const fence = await d.fence.read(SERVICE);
  expect([fence.epoch, fence.results, fence.refused]).toEqual([0, {}, []]);
  const service = await d.act('service', { name: SERVICE });
  expect(service.database.promotions).toEqual([]);
  expect([service.database.aws.role, service.database.gcp.role]).toEqual(['writer', 'replica']);
  expect(await cells()).toEqual({ aws: 'On', gcp: 'Off' });
  // Route 53 never sent the clients to the standby
  expect((await d.act('clients', { service: SERVICE })).bySide.gcp ?? 0).toBe(0);
}

describe('the DR acceptance through the deployed halves (approval required)', () => {
  it('does not fail over while the standby is not ready: the decider holds, nothing runs', async () => {
    // Prepare: three healthy minutes, then the standby's replica falls behind the RPO
    await minutes(3);
    expect((await d.act('clients', { service: SERVICE })).failures).toEqual({});
    await d.act('replication-stall', { name: SERVICE, on: true });
    await minutes(3);
    expect(await readyz()).toBe(503);

    // Act: us-east-1 out for eight minutes (detection and hysteresis take four)
    await outage(true);
    await minutes(8);

    // Assess: holds only, saying why; no run claimed, nothing commanded or promoted, no flip
    expect(moves()).toEqual([]);
    expect([...codes()].some((c) => c === 'no-side-serving' || c === 'standby-not-healthy')).toBe(true);
    expect(await d.aws.runs.current(SERVICE)).toBeUndefined();
    await nothingRan();

    // Reset: the primary back, then the replica caught up; still no move
    await outage(false);
    await minutes(3);
    await d.act('replication-stall', { name: SERVICE, on: false });
    await minutes(3);
    expect(await readyz()).toBe(200);
    expect(moves()).toEqual([]);
  }, 240_000);

  it('moves nothing while paused; after the resume the failover awaits its approval and runs nothing; withdrawn when the primary returns', async () => {
    // Prepare: the plan paused through the deployed route, as bob
    const from = decisions().length;
    const paused = await d.cli('dr', 'pause', 'plan.yaml', '--as', 'bob');
    expect(paused.code, paused.err.join('\n')).toBe(0);

    // Act: us-east-1 out for six minutes
    await outage(true);
    await minutes(6);

    // Assess: held because paused; nothing claimed or run
    expect(moves(from)).toEqual([]);
    expect(codes(from).has('paused')).toBe(true);
    expect(await d.aws.runs.current(SERVICE)).toBeUndefined();
    await nothingRan();

    // Act: resumed, the outage still on
    const resumed = await d.cli('dr', 'resume', 'plan.yaml', '--as', 'bob');
    expect(resumed.code, resumed.err.join('\n')).toBe(0);
    await minutes(2);

    // Assess: one failover decided, awaiting approval; its run opened and no action started
    const [move] = moves(from);
    expect(moves(from)).toEqual([move]);
    expect(move).toMatch(/^failover \d+ pending$/);
    const epoch = Number(move?.split(' ')[1]);
    const waiting = await d.aws.runs.current(SERVICE);
    expect([waiting?.run.epoch, waiting?.run.status]).toEqual([epoch, 'awaiting-approval']);
    expect(waiting?.run.steps.map((s) => s.status)).toEqual(['pending', 'pending', 'pending', 'pending']);
    const controls = await d.aws.log.controls(SERVICE);
    expect(controls.map((c) => [c.record.control, c.record.by])).toEqual([
      ['pause', BOB],
      ['resume', BOB],
    ]);

    // An approval naming another epoch is refused and recorded nothing
    const wrong = await d.cli('dr', 'approve', 'plan.yaml', String(epoch - 1), '--as', 'bob');
    expect(wrong.code).toBe(3);
    expect(wrong.err.join('\n')).toContain(`epoch ${epoch - 1} is not the one awaiting approval`);
    expect(await d.aws.log.controls(SERVICE)).toHaveLength(2);
    await minutes(2);
    await nothingRan();

    // Act: the primary returns before anyone approves
    await outage(false);
    await minutes(4);

    // Assess: the pending move withdrawn, its run ended with nothing done
    const withdrawn = await d.aws.runs.current(SERVICE);
    expect([withdrawn?.run.epoch, withdrawn?.run.status]).toEqual([epoch, 'withdrawn']);
    expect(codes(from).has('approval-withdrawn')).toBe(true);
    expect(moves(from)).toEqual([move]);
    await nothingRan();
  }, 240_000);

  it('fails over at most once in an hour of the primary flapping, an operator approving every move at once', async () => {
    // Prepare: the hour's outages and recoveries in minutes: two-minute outages, one of six
    const flaps = [2, 2, 2, 2, 2, 2, 2, 2, 6, 3, 2, 2, 2, 2, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1];
    expect(flaps.reduce((a, b) => a + b, 0)).toBe(60);
    const from = decisions().length;
    const approved: number[] = [];
    let shortOnly = -1;
    let seen: number | undefined;

    // Act: a minute at a time, approving through the deployed route whatever awaits approval
    for (const [i, span] of flaps.entries()) {
      if (i === 8) shortOnly = decisions().length;
      await outage(i % 2 === 0);
      for (let m = 0; m < span; m++) {
        await d.minute();
        const stored = await d.aws.runs.current(SERVICE);
        const waiting = stored?.run.status === 'awaiting-approval' ? stored.run.epoch : undefined;
        // The operator approves a minute after the move appeared (as a person reads the page).
        const approve = waiting !== undefined && waiting === seen && !approved.includes(waiting);
        seen = waiting;
        if (stored && approve) {
          const r = await d.cli('dr', 'approve', 'plan.yaml', String(stored.run.epoch), '--as', 'bob');
          expect(r.code, r.err.join('\n')).toBe(0);
          approved.push(stored.run.epoch);
        }
      }
    }
    await outage(false);

    // Assess: the two-minute outages moved nothing
    expect(
      decisions(from)
        .slice(0, shortOnly - from)
        .filter((e) => e.data.decision !== 'hold'),
    ).toEqual([]);
    // One failover: awaiting approval, approved by bob at the next epoch, no other move in the hour
    expect(approved).toHaveLength(1);
    const [pending] = approved as [number];
    expect(moves(from)).toEqual([`failover ${pending} pending`, `failover ${pending + 1} approved`]);
    const epoch = pending + 1;
    expect(d.named('aws', 'DrFailedOver')).toHaveLength(1);
    // Its actions in order under the approved epoch: Aurora's fence (by drCommanded on AWS), two
    // across the relay, then the flip
    const started = d.named<DrActionStartedData>('aws', 'DrActionStarted');
    expect(started.map((e) => [e.data.epoch, e.data.index, e.data.action.type, e.data.via])).toEqual([
      [epoch, 0, 'fence-writer', 'commanded'],
      [epoch, 1, 'promote-replica', 'relay'],
      [epoch, 2, 'scale-standby', 'relay'],
      [epoch, 3, 'arc-routing-control', 'local'],
    ]);
    const answered = d.named<DrActionFinishedData>('gcp', 'DrActionFinished');
    expect(answered.map((e) => [e.data.epoch, e.data.index, e.data.outcome])).toEqual([
      [epoch, 1, 'succeeded'],
      [epoch, 2, 'succeeded'],
    ]);
    // AWS's record: the run succeeded under the approved epoch, approved by bob
    const run = (await d.aws.runs.current(SERVICE))?.run;
    expect([run?.epoch, run?.status, run?.approval.by]).toEqual([epoch, 'succeeded', BOB]);
    expect(run?.steps.map((s) => [s.epoch, s.status])).toEqual([
      [epoch, 'succeeded'],
      [epoch, 'succeeded'],
      [epoch, 'succeeded'],
      [epoch, 'succeeded'],
    ]);
    // Google's record: its fence admitted the two commands once each, under that epoch
    const fence = await d.fence.read(SERVICE);
    expect(fence.epoch).toBe(epoch);
    expect(Object.keys(fence.results).sort()).toEqual([`${epoch}#1`, `${epoch}#2`]);
    expect(fence.refused).toEqual([]);
    // The world: one promotion, the standby the writer, the cells flipped once; us-east-1 back,
    // Aurora a fenced writer (it refuses writes), never a split brain
    const service = await d.act('service', { name: SERVICE });
    expect(service.database.promotions).toHaveLength(1);
    expect(service.database.gcp).toMatchObject({ role: 'writer', fenced: false });
    expect(service.database.aws).toMatchObject({ role: 'writer', fenced: true, available: true });
    expect(service.database.splitBrains).toEqual([]);
    expect(await cells()).toEqual({ aws: 'Off', gcp: 'On' });
    // Route 53 serves the standby: the clients' last requests went there and succeeded
    await d.minute();
    const clients = await d.act('clients', { service: SERVICE });
    expect(clients.bySide.gcp).toBeGreaterThan(0);
    expect(clients.transitions.at(-1)?.ok).toBe(true);
  }, 480_000);
});
