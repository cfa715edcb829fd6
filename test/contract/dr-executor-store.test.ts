/**
 * The DR executor's state on AWS (functions/aws/dr-executor-store.ts) against dynalite, the engine
 * behind the local AWS edge's DynamoDB: the claim only above the stored epoch and only once the run
 * before is finished, every refusal recorded, each advance conditional on the version it was read at
 * (two writers racing: one wins), an approval's higher epoch stored with the run, finished runs kept;
 * and the contract both clouds' executor stores share (test/support/dr-run-store-contract.ts): the
 * claiming execution's retry finds its run again, any other's claim of the same epoch is refused.
 */
import { describe, expect, it } from 'vitest';
import { DynamoDbDrExecutorStore, RunVersionConflict } from '#aws/dr-executor-store.ts';
import { advance, type Run, startRun } from '#core/dr/executor.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import { drExecutorStoreContract } from '../support/dr-run-store-contract.ts';
import { useDynalite } from '../support/dynalite.ts';
import { failoverDecision, planWith } from '../unit/dr/helpers.ts';

const db = useDynalite();
const plan = planWith();
const T0 = Date.parse('2026-03-02T10:06:03Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString().replace('.000Z', 'Z');

async function freshStore(): Promise<DynamoDbDrExecutorStore> {
  return new DynamoDbDrExecutorStore(db.client, await db.linksTable());
}

const decision = (p: DrPlan, over: Partial<Decision> = {}) => failoverDecision(p, { time: at(0), ...over });

const runOf = (over: Partial<Decision> = {}, p: DrPlan = plan): Run => startRun(p, decision(p, over)).run;

/** Drives a run to its end: every action succeeds. */
function succeeded(run: Run): Run {
  let r = run;
  for (const step of r.steps)
    r = advance(r, {
      type: 'result',
      result: { service: r.service, epoch: r.epoch, index: step.index, outcome: 'succeeded', time: at(10) },
    }).run;
  return r;
}

// The contract Google's Firestore store is held to as well (functions/core/dr/executor-store.ts).
drExecutorStoreContract('DynamoDB', async () => {
  const store = await freshStore();
  return { store, refusals: (service) => store.refusals(service) };
});

describe('the DR executor store on DynamoDB', () => {
  it('claims an epoch once: the same decision again is refused and the refusal recorded', async () => {
    // Arrange
    const store = await freshStore();
    // Act
    const first = await store.claim(runOf(), at(0), 'exec-a');
    const again = await store.claim(runOf(), at(1), 'exec-b');
    // Assess
    expect(first).toEqual({
      claimed: true,
      stored: { run: expect.objectContaining({ epoch: 3 }), version: 1 },
    });
    expect(again).toEqual({
      claimed: false,
      refusal: {
        service: plan.service,
        epoch: 3,
        time: at(1),
        reason: 'epoch 3 is not above the claimed epoch 3: a duplicate or stale decision',
      },
    });
    expect(await store.epoch(plan.service)).toBe(3);
    expect(await store.refusals(plan.service)).toEqual([again.claimed ? undefined : again.refusal]);
  });

  it('refuses a lower epoch after a finished run, and a higher one while a run is open', async () => {
    // Arrange
    const store = await freshStore();
    const claimed = await store.claim(runOf(), at(0), 'exec-a');
    if (!claimed.claimed) throw new Error('first claim refused');
    // Act
    const whileOpen = await store.claim(runOf({ epoch: 4, time: at(5) }), at(5), 'exec-b');
    await store.save(succeeded(claimed.stored.run), 1);
    const stale = await store.claim(runOf({ epoch: 2, time: at(20) }), at(20), 'exec-c');
    const failback = await store.claim(
      runOf({
        epoch: 5,
        time: at(30),
        decision: 'failback',
        active: 'primary',
        actions: plan.actions.failback,
      }),
      at(30),
      'exec-d',
    );
    // Assess
    expect(whileOpen.claimed).toBe(false);
    expect(stale.claimed).toBe(false);
    expect(failback.claimed).toBe(true);
    expect((await store.refusals(plan.service)).map((r) => [r.epoch, r.reason])).toEqual([
      [4, 'the run of epoch 3 is running: one run at a time, the decision is not taken'],
      [2, 'epoch 2 is not above the claimed epoch 3: a duplicate or stale decision'],
    ]);
    expect(await store.epoch(plan.service)).toBe(5);
    expect((await store.current(plan.service))?.run.decision).toBe('failback');
    expect((await store.finishedRuns(plan.service)).map((r) => [r.epoch, r.status])).toEqual([
      [3, 'succeeded'],
    ]);
  });

  it('stores each advance over the version it read: of two writers from one version, one wins', async () => {
    // Arrange
    const store = await freshStore();
    const claimed = await store.claim(runOf(), at(0), 'exec-a');
    if (!claimed.claimed) throw new Error('first claim refused');
    const { run } = claimed.stored;
    const promoted = advance(run, {
      type: 'result',
      result: { service: run.service, epoch: 3, index: 0, outcome: 'succeeded', time: at(5) },
    }).run;
    const timedOut = advance(run, { type: 'tick', time: at(3600) }).run;
    // Act
    const outcomes = await Promise.allSettled([store.save(promoted, 1), store.save(timedOut, 1)]);
    // Assess
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(RunVersionConflict);
    const stored = await store.current(plan.service);
    expect(stored?.version).toBe(2);
    expect(stored?.run).toEqual((won[0] as PromiseFulfilledResult<{ run: Run }>).value.run);
  });

  it("stores the approved decision's epoch with the run, so the claim after it must be higher", async () => {
    // Arrange
    const approvalPlan = planWith((d) => {
      d.decider = { ...d.decider, approval: 'required' };
    });
    const store = await freshStore();
    const pending = runOf({ approval: 'pending', actions: undefined }, approvalPlan);
    await store.claim(pending, at(0), 'exec-a');
    const approved = advance(pending, {
      type: 'decision',
      decision: decision(approvalPlan, {
        epoch: 4,
        approval: 'approved',
        by: 'carol@example.com',
        time: at(60),
      }),
    }).run;
    // Act
    const saved = await store.save(approved, 1);
    // Assess
    expect(saved.version).toBe(2);
    expect(await store.epoch(plan.service)).toBe(4);
    expect((await store.current(plan.service))?.run).toMatchObject({ status: 'running', epoch: 4 });
  });

  it('refuses a save that would lower the stored epoch, and a claim of a non-positive epoch', async () => {
    // Arrange
    const store = await freshStore();
    await store.claim(runOf({ epoch: 7 }), at(0), 'exec-a');
    // Act
    const lower = await store.save(runOf({ epoch: 6 }), 1).catch((e: unknown) => e);
    const zero = await store.claim(runOf({ epoch: 0 }), at(1), 'exec-b');
    // Assess
    expect(lower).toBeInstanceOf(RunVersionConflict);
    expect(zero).toMatchObject({ claimed: false, refusal: { reason: 'epoch 0 is not a positive integer' } });
    expect(await store.epoch(plan.service)).toBe(7);
  });
});
