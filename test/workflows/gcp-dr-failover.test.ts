/**
 * The dr-failover workflow (workflows/gcp/dr-failover.workflows.yaml) on the local Workflows
 * interpreter, Google executing the ledger plan (its traffic switch a Cloud DNS failover policy):
 * the run and its epoch in the store, Cloud SQL's fence (Google's own hook), the promotion and the
 * scaling commanded on AWS across the relay (AWS's fence admits them), the Cloud DNS flip's hook
 * called on Google with the command, in
 * order, each within its timeout; the Dr* events; a duplicate or stale start refused and recorded;
 * a partition stalls the run before the flip and pages; a failed hook stops it (stop-and-page) or
 * fails forward as the plan says; a hook that never answers stalls the run at its deadline, called
 * once; a move pending approval waits for the approved decision, or times out and pages.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import { drExecutorStep } from '#core/dr/executor-steps.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import { drWorld, eventLine } from '../support/dr-failover-engine.ts';
import { ledgerPlan, moveOf } from '../support/dr-ledger.ts';
import { MemoryDrRuns } from '../support/memory-dr-runs.ts';

const T0 = '2026-03-02T10:00:00.000Z';
const MIN = 60_000;
const ok = { status: 200, body: { detail: 'primary targets drained' } };
const FENCE = 'ledger-fence-cloudsql';
const fenced = { status: 200, body: { detail: 'Cloud SQL writes revoked' } };
/** The hooks on Google other than the fence's (the flip's), as a test's `hook` sees them. */
const flipCalls = (w: { hookCalls: { hook: string }[] }) => w.hookCalls.filter((h) => h.hook !== FENCE);

let store: MemoryDrRuns;
beforeEach(() => {
  store = new MemoryDrRuns();
});

function world(
  plan: DrPlan,
  o: { hook?: Parameters<typeof drWorld>[0]['hook']; aws?: Parameters<typeof drWorld>[0]['aws'] } = {},
) {
  return drWorld({
    plan,
    store,
    start: T0,
    // The fence of Cloud SQL answers as it does in every test; `hook` answers the flip's.
    hook: (name, command) => (name === FENCE ? fenced : (o.hook ?? (() => ok))(name, command)),
    aws:
      o.aws ??
      ((c) => ({ outcome: 'succeeded', afterMs: c.action.type === 'promote-replica' ? 40_000 : 25_000 })),
  });
}

describe('the dr-failover workflow, Google executing a Cloud-DNS-switched plan', () => {
  it('fails over in order under one epoch: the fence on Google, promote and scale on AWS across the relay, then the DNS flip on Google', async () => {
    // Arrange
    const plan = ledgerPlan();
    const w = world(plan);
    // Act
    const out = await w.run({ decision: moveOf(plan, 4, T0) });
    // Assess
    expect(out.state).toBe('SUCCEEDED');
    expect(out.result).toMatchObject({ status: 'succeeded', epoch: 4, finished: true });
    expect(w.published.map(eventLine)).toEqual([
      'DrDecisionMade e4',
      'DrActionStarted #0 local e4',
      'DrActionFinished #0 succeeded e4',
      'DrActionStarted #1 relay e4',
      'DrActionFinished #1 succeeded e4',
      'DrActionStarted #2 relay e4',
      'DrActionFinished #2 succeeded e4',
      'DrActionStarted #3 local e4',
      'DrActionFinished #3 succeeded e4',
      'DrFailedOver e4',
    ]);
    // Google's hook fenced Cloud SQL first; AWS ran the promotion then the scaling, each once,
    // under the epoch; Google's hook drained the primary targets with the command of the flip.
    expect(w.ran.map((r) => [r.command.index, r.command.action.type, r.command.epoch])).toEqual([
      [1, 'promote-replica', 4],
      [2, 'scale-standby', 4],
    ]);
    expect(w.fence().epoch).toBe(4);
    expect(w.hookCalls.map((h) => [h.hook, h.command.index])).toEqual([
      [FENCE, 0],
      ['ledger-drain-primary-targets', 3],
    ]);
    expect(w.hookCalls[1]).toMatchObject({
      command: {
        service: 'ledger',
        epoch: 4,
        index: 3,
        action: { type: 'cloud-dns-failover-policy', serve: 'backup', recordName: 'api.ledger.example.com.' },
      },
    });
    const stored = await store.current('ledger');
    expect(stored?.run.steps.map((s) => s.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    expect(stored?.run.steps[0]?.detail).toBe('Cloud SQL writes revoked');
    expect(stored?.run.steps[3]?.detail).toBe('primary targets drained');
    // The relayed results were taken at their time: 40 s, then 25 s, each polled within 10 s.
    const moved = w.published.at(-1)?.data as { startedAt: string; finishedAt: string };
    const tookMs = Date.parse(moved.finishedAt) - Date.parse(moved.startedAt);
    expect(tookMs).toBeGreaterThanOrEqual(65_000);
    expect(tookMs).toBeLessThanOrEqual(65_000 + 2 * 10_000);
  });

  it('refuses a second start of the same decision and a stale one, records both, and does nothing twice', async () => {
    // Arrange
    const plan = ledgerPlan();
    const w = world(plan);
    await w.run({ decision: moveOf(plan, 4, T0) }, { execution: 'exec-1' });
    const before = w.published.length;
    // Act
    const duplicate = await w.run({ decision: moveOf(plan, 4, T0) }, { execution: 'exec-2' });
    const stale = await w.run({ decision: moveOf(plan, 3, T0) }, { execution: 'exec-3' });
    // Assess
    expect(duplicate.state).toBe('SUCCEEDED');
    expect(JSON.stringify(duplicate.result)).toContain('epoch 4 is not above the claimed epoch 4');
    expect(JSON.stringify(stale.result)).toContain('epoch 3 is not above the claimed epoch 4');
    expect(store.refused.map((r) => r.epoch)).toEqual([4, 3]);
    expect(w.published.length).toBe(before);
    expect(w.ran).toHaveLength(2);
    expect(w.hookCalls).toHaveLength(2);
  });

  it('stalls and pages when the clouds are cut apart: the promotion gives no result by its deadline, and the DNS flip never runs', async () => {
    // Arrange: the relay drops every command to AWS
    const plan = ledgerPlan();
    const w = world(plan, { aws: () => 'lost' });
    // Act
    const out = await w.run({ decision: moveOf(plan, 4, T0) });
    // Assess
    expect(out.state).toBe('FAILED');
    expect(out.error?.payload).toContain('DrRunStalled');
    expect(out.error?.payload).toContain('gave no result within 900s');
    expect(flipCalls(w)).toEqual([]);
    expect(w.published.map(eventLine)).toEqual([
      'DrDecisionMade e4',
      'DrActionStarted #0 local e4',
      'DrActionFinished #0 succeeded e4',
      'DrActionStarted #1 relay e4',
      'DrActionFinished #1 timed-out e4',
    ]);
    // The run stalled at the promotion's deadline (15 m after it started), not before.
    const stalled = (await store.current('ledger'))?.run;
    const promotion = stalled?.steps[1];
    expect(stalled?.status).toBe('stalled');
    expect(Date.parse(promotion?.deadline as string) - Date.parse(promotion?.startedAt as string)).toBe(
      15 * MIN,
    );
    expect(Date.parse(stalled?.finishedAt as string) - Date.parse(T0)).toBeGreaterThanOrEqual(15 * MIN);
    expect(Date.parse(stalled?.finishedAt as string)).toBeLessThan(
      Date.parse(promotion?.deadline as string) + 11_000,
    );
  });

  it('stops and pages when the DNS hook answers an error (stop-and-page): no DrFailedOver', async () => {
    // Arrange
    const plan = ledgerPlan();
    const w = world(plan, { hook: () => ({ status: 500, body: { error: 'health check update failed' } }) });
    // Act
    const out = await w.run({ decision: moveOf(plan, 4, T0) });
    // Assess
    expect(out.state).toBe('FAILED');
    expect(out.error?.payload).toContain('DrRunFailed');
    expect(out.error?.payload).toContain('hook ledger-drain-primary-targets answered 500');
    expect(w.published.map(eventLine).slice(-2)).toEqual([
      'DrActionStarted #3 local e4',
      'DrActionFinished #3 failed e4',
    ]);
    expect(flipCalls(w)).toHaveLength(1);
  });

  it('fails forward past a failed scaling when the plan says so, flips, and ends failed without DrFailedOver', async () => {
    // Arrange
    const plan = ledgerPlan((d) => {
      d.execution = { onFailure: 'fail-forward' };
    });
    const w = world(plan, {
      aws: (c) =>
        c.action.type === 'scale-standby'
          ? { outcome: 'failed', afterMs: 5_000, detail: 'capacity unavailable' }
          : { outcome: 'succeeded', afterMs: 5_000 },
    });
    // Act
    const out = await w.run({ decision: moveOf(plan, 4, T0) });
    // Assess
    expect(out.state).toBe('FAILED');
    expect(out.error?.payload).toContain('DrRunFailed');
    expect(out.error?.payload).toContain('failing forward');
    expect(w.hookCalls.map((h) => h.hook)).toEqual([FENCE, 'ledger-drain-primary-targets']);
    expect(w.published.map(eventLine)).not.toContain('DrFailedOver e4');
  });

  it('stops at a failed fence even when the plan fails forward: nothing commanded on AWS, no flip', async () => {
    // Arrange: the fence's hook answers an error
    const plan = ledgerPlan((d) => {
      d.execution = { onFailure: 'fail-forward' };
    });
    const w = drWorld({
      plan,
      store,
      start: T0,
      hook: (name) => (name === FENCE ? { status: 500, body: { error: 'credentials not revoked' } } : ok),
      aws: () => ({ outcome: 'succeeded', afterMs: 5_000 }),
    });
    // Act
    const out = await w.run({ decision: moveOf(plan, 4, T0) });
    // Assess
    expect(out.state).toBe('FAILED');
    expect(out.error?.payload).toContain('DrRunFailed');
    expect(out.error?.payload).toContain('the run stops');
    expect(w.ran).toEqual([]);
    expect(w.hookCalls.map((h) => h.hook)).toEqual([FENCE]);
    expect(w.published.map(eventLine)).toEqual([
      'DrDecisionMade e4',
      'DrActionStarted #0 local e4',
      'DrActionFinished #0 failed e4',
    ]);
  });

  it('stalls at the deadline when the DNS hook never answers, having called it once', async () => {
    // Arrange
    const plan = ledgerPlan();
    const w = world(plan, { hook: () => 'no-answer' });
    // Act
    const out = await w.run({ decision: moveOf(plan, 4, T0) });
    // Assess
    expect(out.state).toBe('FAILED');
    expect(out.error?.payload).toContain('DrRunStalled');
    expect(flipCalls(w)).toHaveLength(1);
    expect(w.published.map(eventLine).at(-1)).toBe('DrActionFinished #3 timed-out e4');
    // The flip's timeout is the plan's actionTimeout (5m), counted from its start.
    const run = (await store.current('ledger'))?.run;
    const flip = run?.steps[3];
    expect(Date.parse(run?.finishedAt as string)).toBeGreaterThanOrEqual(
      Date.parse(flip?.deadline as string),
    );
    expect(Date.parse(flip?.deadline as string) - Date.parse(flip?.startedAt as string)).toBe(5 * MIN);
  });

  it('waits for approval: the approved decision (next epoch) starts the actions under it', async () => {
    // Arrange: the executor's function as the decider reaches it with the approved move
    const plan = ledgerPlan();
    const w = world(plan);
    w.clock.after(20 * MIN, () =>
      drExecutorStep(w.deps, {
        step: 'decision',
        decision: moveOf(plan, 5, new Date(w.clock.now()).toISOString()),
      }),
    );
    // Act
    const out = await w.run({ decision: moveOf(plan, 4, T0, { approval: 'pending' }) });
    // Assess
    expect(out.state).toBe('SUCCEEDED');
    expect(w.published.map(eventLine)).toEqual([
      'DrDecisionMade e4',
      'DrDecisionMade e5',
      'DrActionStarted #0 local e5',
      'DrActionFinished #0 succeeded e5',
      'DrActionStarted #1 relay e5',
      'DrActionFinished #1 succeeded e5',
      'DrActionStarted #2 relay e5',
      'DrActionFinished #2 succeeded e5',
      'DrActionStarted #3 local e5',
      'DrActionFinished #3 succeeded e5',
      'DrFailedOver e5',
    ]);
    expect(w.hookCalls[0]?.command.epoch).toBe(5);
  });

  it('gives up and pages when no approval comes within the approval timeout: nothing was done', async () => {
    // Arrange
    const plan = ledgerPlan();
    const w = world(plan);
    // Act
    const out = await w.run({ decision: moveOf(plan, 4, T0, { approval: 'pending' }) });
    // Assess
    expect(out.state).toBe('FAILED');
    expect(out.error?.payload).toContain('DrApprovalTimedOut');
    expect(w.ran).toEqual([]);
    expect(w.hookCalls).toEqual([]);
    expect(w.clock.now() - Date.parse(T0)).toBeGreaterThanOrEqual(60 * MIN);
  });

  it('refuses a malformed start naming the field', async () => {
    // Arrange
    const plan = ledgerPlan();
    const w = world(plan);
    const clock = new ManualClock(T0);
    // Act
    const out = await w.run({ decision: { ...moveOf(plan, 0, T0), service: 'payments-api' } });
    const direct = drExecutorStep(
      { ...w.deps, clock },
      { step: 'local-result', service: 'ledger', epoch: 4 },
    );
    // Assess
    expect(out.state).toBe('FAILED');
    expect(out.error?.payload).toContain('decision.service: must be the plan');
    expect(out.error?.payload).toContain('decision.epoch: must be a positive integer');
    await expect(direct).rejects.toThrow(
      /index: must be an action index.*outcome: must be succeeded or failed/s,
    );
  });
});
