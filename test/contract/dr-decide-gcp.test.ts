/**
 * The decision hook of Google's executor (functions/gcp/dr-decide.ts over functions/core/dr/
 * decision-hook.ts) on the Firestore emulator, with Google's signal log and the executor's store as
 * deployed and the Workflow Executions API's `create` recorded: an outage of the ledger plan's
 * primary (europe-west1) hands the failover on once (one execution started with the decision, the
 * holds published as DrDecisionMade, the move's left to the executor's claim); a second call hands
 * nothing on; a decision handed on twice starts one execution (the start guarded by a record in
 * Firestore, invocations racing too), and a claim by another execution is refused and recorded; the reads are bounded by the kept checkpoint; a hold
 * while a move awaits approval withdraws that run through its decision step, starting nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import { handOnDecisions, planFingerprint } from '#core/dr/decision-hook.ts';
import { drExecutorStep } from '#core/dr/executor-steps.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import type { CloudEvent } from '#core/envelope.ts';
import { DR_EPOCH_LABEL, gcpDecisionHook } from '#gcp/dr-decide.ts';
import { buildGcpDrExecutorDeps } from '#gcp/dr-executor.ts';
import { FirestoreDrExecutorStore } from '#gcp/dr-executor-store.ts';
import { FirestoreSignalLog } from '#gcp/signal-log.ts';
import { ledgerDoc, ledgerMinute } from '../support/dr-ledger.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const WORKFLOW = 'projects/crosslink-hub/locations/us-east4/workflows/dr-failover';

let firestore: TestFirestore;
beforeAll(async () => {
  firestore = await startTestFirestore();
}, 120_000);
afterAll(async () => {
  await firestore?.stop();
});

/** The hook as deployed, over one fresh database; `create` recorded with the argument it was given. */
function harness(approval: 'none' | 'required' = 'none') {
  const doc = ledgerDoc();
  doc.decider = { approval };
  const db = firestore.db();
  const clock = new ManualClock(new Date(T0).toISOString());
  const events: CloudEvent[] = [];
  const executor = buildGcpDrExecutorDeps(
    { CROSSLINK_DR_PLAN: JSON.stringify(doc) },
    { project: 'crosslink-hub', region: 'us-west1' },
    { firestore: db, bus: { put: async (e) => void events.push(...e) }, clock },
  );
  const created: { name: string; decision: Decision; labels?: Record<string, string> }[] = [];
  const log = new FirestoreSignalLog(db);
  const reads: number[] = [];
  const runs = new FirestoreDrExecutorStore(db);
  const hook = gcpDecisionHook({
    executor,
    runs,
    log: {
      records: async (service: string, since?: number) => {
        const records = await log.records(service, since);
        reads.push(records.length);
        return records;
      },
    },
    executions: {
      create: async (workflow, body) => {
        expect(workflow).toBe(WORKFLOW);
        const name = `${WORKFLOW}/executions/exec-${created.length + 1}`;
        created.push({
          name,
          decision: (body.argument as { decision: Decision }).decision,
          ...(body.labels && { labels: body.labels }),
        });
        return { name, state: 'ACTIVE', ...(body.labels && { labels: body.labels }) };
      },
      list: async (_workflow, filter) =>
        created
          .filter((c) => filter === `labels.crosslink-key="${c.labels?.['crosslink-key']}"`)
          .map((c) => ({ name: c.name, state: 'ACTIVE', ...(c.labels && { labels: c.labels }) }))
          .reverse(),
      cancel: async (name) => ({ name, state: 'CANCELLED' }),
    },
    workflow: WORKFLOW,
  });
  const plan: DrPlan = executor.plan;
  return { hook, plan, executor, runs, clock, events, created, log, reads };
}

const decisionsOf = (events: CloudEvent[]) =>
  events
    .filter((e) => e.type === 'crosslink.DrDecisionMade.v1')
    .map((e) => [(e.data as { epoch: number }).epoch, (e.data as { decision: string }).decision]);

/** Records the minutes from `from` to `to` (exclusive) and calls the hook at each, as the schedule does. */
async function everyMinute(h: ReturnType<typeof harness>, from: number, to: number, outageAt: number) {
  const handed: Decision[] = [];
  for (let at = from; at < to; at += 60_000) {
    h.clock.set(at);
    await h.log.record(ledgerMinute(at, at >= outageAt ? 'unhealthy' : 'healthy'));
    handed.push(...(await handOnDecisions(h.hook)).decisions);
  }
  return handed;
}

describe("the decision hook of Google's executor", () => {
  it('hands an outage of the primary on once: one dr-failover execution with the failover, the holds published', async () => {
    // Arrange
    const h = harness();
    const outageAt = T0 + 5 * 60_000;

    // Act: the schedule's minute, for a quarter of an hour, then once more at the same time
    const handed = await everyMinute(h, T0, T0 + 15 * 60_000, outageAt);
    const again = await handOnDecisions(h.hook);

    // Assess
    const moves = handed.filter((d) => d.decision !== 'hold');
    expect(moves.map((d) => [d.decision, d.approval])).toEqual([['failover', 'not-required']]);
    expect(h.created.map((c) => [c.decision.epoch, c.decision.decision, c.labels?.[DR_EPOCH_LABEL]])).toEqual(
      [[moves[0]?.epoch, 'failover', String(moves[0]?.epoch)]],
    );
    expect(again).toEqual({ decisions: [], started: [] });
    // The holds are published by the hook; the move's DrDecisionMade is its claim's (below).
    expect(decisionsOf(h.events)).toEqual(
      handed.filter((d) => d.decision === 'hold').map((d) => [d.epoch, 'hold']),
    );

    // Act: the workflow's claim of what it was started with
    const claim = await drExecutorStep(h.executor, {
      step: 'claim',
      decision: h.created[0]?.decision,
      execution: h.created[0]?.name,
    });

    // Assess: the run opened under the decision's epoch, its DrDecisionMade published once
    expect(claim).toMatchObject({ epoch: moves[0]?.epoch, status: 'running', finished: false });
    expect(decisionsOf(h.events).filter(([, d]) => d === 'failover')).toEqual([
      [moves[0]?.epoch, 'failover'],
    ]);
  });

  it('reads only the records after its kept state: a bounded window each minute', async () => {
    // Arrange
    const h = harness();

    // Act: half an hour of a healthy primary, the hook every minute
    await everyMinute(h, T0, T0 + 30 * 60_000, Number.POSITIVE_INFINITY);

    // Assess: the settling time's minutes and one more at most, never the whole log
    const window = (h.plan.settings.staleAfterMs + 60_000) / 60_000 + 1;
    expect(Math.max(...h.reads)).toBeLessThanOrEqual(window * 6);
    expect(h.reads.at(-1)).toBeLessThan(30 * 6);
    expect((await h.runs.checkpoint('ledger', planFingerprint(h.plan)))?.at).toBe(
      T0 + 29 * 60_000 - h.plan.settings.staleAfterMs,
    );
    expect(h.created).toEqual([]);
  });

  it('makes a decision handed on twice harmless: one execution; a second one’s claim is refused and recorded', async () => {
    // Arrange: the failover handed on, then the same decision handed on again (a racing invocation,
    // or a crash before the decided time was written)
    const h = harness();
    await everyMinute(h, T0, T0 + 10 * 60_000, T0 + 2 * 60_000);
    const move = h.created[0]?.decision as Decision;

    // Act: handed on again; then claims by its execution and by another (one started past the guard)
    const again = await h.hook.handOn(move);
    const first = await drExecutorStep(h.executor, {
      step: 'claim',
      decision: move,
      execution: h.created[0]?.name,
    });
    const duplicate = await drExecutorStep(h.executor, {
      step: 'claim',
      decision: move,
      execution: `${WORKFLOW}/executions/a-stranger`,
    });

    // Assess: the start guarded (the same execution answered), the stranger's claim refused
    expect(again).toBe(h.created[0]?.name);
    expect(h.created.map((c) => c.decision.epoch)).toEqual([move.epoch]);
    expect(first.refused).toBeUndefined();
    expect(duplicate.refused).toMatch(/epoch/);
    expect(await h.runs.refusals('ledger')).toEqual([expect.objectContaining({ epoch: move.epoch })]);
    expect((await h.runs.current('ledger'))?.run).toMatchObject({ epoch: move.epoch, status: 'running' });
  });

  it('starts one execution when invocations race on the same decision', async () => {
    // Arrange: the outage's signals recorded, no hook run yet
    const h = harness();
    for (let at = T0; at < T0 + 10 * 60_000; at += 60_000)
      await h.log.record(ledgerMinute(at, at >= T0 + 2 * 60_000 ? 'unhealthy' : 'healthy'));
    h.clock.set(T0 + 10 * 60_000);

    // Act: three invocations at once (the schedule's and two relayed lines')
    const outcomes = await Promise.allSettled([1, 2, 3].map(() => handOnDecisions(h.hook)));

    // Assess: each that handed the failover on answered the one execution; any other was told to retry
    expect(h.created).toHaveLength(1);
    for (const o of outcomes)
      if (o.status === 'fulfilled') expect(o.value.started).toEqual([h.created[0]?.name]);
      else expect(o.reason).toMatchObject({ name: 'StartInProgressError' });
    expect(outcomes.some((o) => o.status === 'fulfilled')).toBe(true);
  });

  it('withdraws a move awaiting approval with the hold that follows it, through the run’s decision step', async () => {
    // Arrange: approval required; the outage's failover pending, its execution's claim opening the run
    const h = harness('required');
    await everyMinute(h, T0, T0 + 6 * 60_000, T0 + 60_000);
    const pending = h.created[0]?.decision as Decision;
    expect(pending.approval).toBe('pending');
    await drExecutorStep(h.executor, { step: 'claim', decision: pending, execution: h.created[0]?.name });

    // Act: the primary recovers before anyone approves
    const after = await everyMinute(h, T0 + 6 * 60_000, T0 + 12 * 60_000, Number.POSITIVE_INFINITY);

    // Assess: the hold went to the open run (withdrawn), no second execution
    expect(after.some((d) => d.decision === 'hold')).toBe(true);
    expect(h.created).toHaveLength(1);
    expect((await h.runs.current('ledger'))?.run.status).toBe('withdrawn');
  });
});
