/**
 * The DR executor's core (functions/core/dr/executor.ts): which cloud executes, the epoch fence on
 * both sides, the ordered run with its timeouts, failure policy, pause and approval.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { approvalIssues } from '#core/dr/controls.ts';
import {
  ACTION_RESENDS,
  type ActionResult,
  type Advance,
  advance,
  claimIssue,
  type Effect,
  executorCloud,
  type Run,
  startRun,
  stepVia,
} from '#core/dr/executor.ts';
import { restartEffects, runDeadline } from '#core/dr/executor-supervision.ts';
import { replay } from '#core/dr/failover-decider.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import { admit, FENCE_REFUSALS_KEPT, initialFence, recordResult } from '#core/dr/fence.ts';
import { type DrPlan, parseDrPlan } from '#core/dr/plan.ts';
import { failoverDecision, planWith, ROOT } from './helpers.ts';

const T0 = Date.parse('2026-03-02T10:06:03Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString().replace('.000Z', 'Z');

const decision = (plan: DrPlan, over: Partial<Decision> = {}): Decision =>
  failoverDecision(plan, { time: at(0), reasons: [{ code: 'quorum', message: 'q' }], ...over });

const ok = (run: Run, index: number, s: number, outcome: ActionResult['outcome'] = 'succeeded') =>
  advance(run, {
    type: 'result',
    result: { service: run.service, epoch: run.epoch, index, outcome, time: at(s) },
  });

/**
 * The payments failover's promotion (index 1, 600 s, across the relay) with no result: sent again at
 * 600 s and 1,200 s, each time with its whole timeout, and stalled at 1,800 s (`ACTION_RESENDS`).
 */
const STALL = 1800;
const stallPromotion = (run: Run): Advance => {
  const resent = [600, 1200].reduce((r, s) => advance(r, { type: 'tick', time: at(s) }).run, run);
  return advance(resent, { type: 'tick', time: at(STALL) });
};

/** The payments failover with its promotion (index 1) sent again at 600 s, until 1,200 s. */
const promotionSentAgain = (plan: DrPlan): Advance =>
  advance(ok(startRun(plan, decision(plan)).run, 0, 0).run, { type: 'tick', time: at(600) });

/** An answer to the promotion of `run`, given at `time` and received at `receivedAt` (seconds). */
const promotionAnswer = (
  run: Run,
  outcome: ActionResult['outcome'],
  time: number,
  receivedAt: number,
  over: Partial<ActionResult> = {},
) =>
  advance(run, {
    type: 'result',
    result: { service: run.service, epoch: run.epoch, index: 1, outcome, time: at(time), ...over },
    receivedAt: at(receivedAt),
  });

const started = (effects: Effect[]) =>
  effects.flatMap((e) => (e.type === 'start-action' ? [e.command.index] : []));
const names = (effects: Effect[]) => effects.flatMap((e) => (e.type === 'event' ? [e.name] : []));
/** The commanded side's command for the payments plan's failover action `index`. */
const command = (epoch: number, index = 0) => ({
  service: 'payments-api',
  decision: 'failover' as const,
  epoch,
  index,
  action: planWith().actions.failover[index]!,
  deadline: at(600),
});

describe('the executor of a plan', () => {
  it('is the cloud that owns the traffic switch: ARC on AWS, Cloud DNS on Google', () => {
    // Prepare
    const payments = planWith();
    const ledger = parseDrPlan(readFileSync(join(ROOT, 'config/dr-plans/example-ledger.yaml'), 'utf8'));

    // Act / Assess
    expect(executorCloud(payments)).toBe('aws');
    expect(executorCloud(ledger)).toBe('gcp');
  });

  it('claims an epoch only above the stored one', () => {
    expect(claimIssue(null, 1)).toBeUndefined();
    expect(claimIssue(3, 4)).toBeUndefined();
    expect(claimIssue(4, 4)).toMatch(/not above the claimed epoch 4: a duplicate or stale decision/);
    expect(claimIssue(4, 2)).toMatch(/not above the claimed epoch 4/);
    expect(claimIssue(null, 0)).toMatch(/not a positive integer/);
  });
});

describe('a run', () => {
  it('runs the actions in order, one at a time, each carrying the epoch, across the relay when on the other cloud', () => {
    // Prepare
    const plan = planWith();

    // Act
    const first = startRun(plan, decision(plan));
    const second = ok(first.run, 0, 20);
    const third = ok(second.run, 1, 30);
    const fourth = ok(third.run, 2, 60);
    const done = ok(fourth.run, 3, 62);

    // Assess: the fence on AWS (the executor's side, through AWS's commanded side), the promotion
    // and scaling across the relay on Google, then the flip on AWS.
    expect(started(first.effects)).toEqual([0]);
    expect(first.effects.find((e) => e.type === 'start-action')).toMatchObject({
      via: 'commanded',
      command: { epoch: 3, index: 0, action: { type: 'fence-writer', cloud: 'aws' }, deadline: at(120) },
    });
    expect(started(second.effects)).toEqual([1]);
    expect(second.effects.find((e) => e.type === 'start-action')).toMatchObject({
      via: 'relay',
      command: { epoch: 3, index: 1, action: { type: 'promote-replica', cloud: 'gcp' }, deadline: at(620) },
    });
    expect(started(third.effects)).toEqual([2]);
    expect(started(fourth.effects)).toEqual([3]);
    expect(fourth.effects.find((e) => e.type === 'start-action')).toMatchObject({ via: 'local' });
    expect(names(done.effects)).toEqual(['DrActionFinished', 'DrFailedOver']);
    expect(done.run.status).toBe('succeeded');
    expect(done.run.steps.map((s) => [s.status, s.epoch])).toEqual([
      ['succeeded', 3],
      ['succeeded', 3],
      ['succeeded', 3],
      ['succeeded', 3],
    ]);
  });

  it("runs an action with a hook on AWS through AWS's commanded side when AWS executes, each its own command; Google's own hooks stay the workflow's", () => {
    // Prepare
    const payments = planWith();
    const ledger = parseDrPlan(readFileSync(join(ROOT, 'config/dr-plans/example-ledger.yaml'), 'utf8'));
    const back = decision(payments, {
      decision: 'failback',
      active: 'primary',
      actions: payments.actions.failback,
    });

    // Act: the failback's fence of AlloyDB across the relay, then Aurora's promotion and the scaling
    const first = startRun(payments, back);
    const second = ok(first.run, 0, 0);
    const third = ok(second.run, 1, 30);
    const flip = ok(third.run, 2, 60);

    // Assess
    expect(payments.actions.failback.map((a) => stepVia('aws', a))).toEqual([
      'relay',
      'commanded',
      'commanded',
      'local',
    ]);
    expect(payments.actions.failover.map((a) => stepVia('aws', a))).toEqual([
      'commanded',
      'relay',
      'relay',
      'local',
    ]);
    expect(ledger.actions.failover.map((a) => stepVia('gcp', a))).toEqual([
      'local',
      'relay',
      'relay',
      'local',
    ]);
    expect(first.run.steps.map((s) => s.via)).toEqual(['relay', 'commanded', 'commanded', 'local']);
    expect(second.effects.find((e) => e.type === 'start-action')).toMatchObject({
      via: 'commanded',
      command: { epoch: 3, index: 1, action: { type: 'promote-replica', cloud: 'aws' }, deadline: at(600) },
    });
    expect(third.effects.find((e) => e.type === 'start-action')).toMatchObject({
      via: 'commanded',
      command: { index: 2, action: { type: 'scale-standby', cloud: 'aws' }, deadline: at(30 + 300) },
    });
    expect(flip.effects.find((e) => e.type === 'start-action')).toMatchObject({ via: 'local' });
  });

  it('stops and pages when an action fails, by default', () => {
    // Prepare
    const plan = planWith();
    const first = startRun(plan, decision(plan));

    // Act
    const failed = advance(first.run, {
      type: 'result',
      result: {
        service: plan.service,
        epoch: 3,
        index: 0,
        outcome: 'failed',
        time: at(5),
        detail: 'no replica',
      },
    });

    // Assess
    expect(failed.run.status).toBe('failed');
    expect(started(failed.effects)).toEqual([]);
    expect(failed.effects.find((e) => e.type === 'page')).toMatchObject({
      page: { reason: 'action-failed', message: expect.stringContaining('no replica; the run stops') },
    });
    expect(failed.run.steps[1]?.status).toBe('pending');
  });

  it('fails forward past a failed scaling when the plan says so, never past a failed fence or promotion', () => {
    // Prepare
    const plan = planWith((d) => (d.execution = { onFailure: 'fail-forward' }));
    const first = startRun(plan, decision(plan));

    // Act
    const fenced = ok(first.run, 0, 5);
    const promoted = ok(fenced.run, 1, 10);
    const scaleFailed = ok(promoted.run, 2, 20, 'failed');
    const flipped = ok(scaleFailed.run, 3, 21);
    const fenceFailed = ok(startRun(plan, decision(plan)).run, 0, 5, 'failed');
    const promoteFailed = ok(ok(startRun(plan, decision(plan)).run, 0, 5).run, 1, 10, 'failed');

    // Assess
    expect(started(scaleFailed.effects)).toEqual([3]);
    expect(scaleFailed.effects.some((e) => e.type === 'page')).toBe(true);
    expect(flipped.run.status).toBe('failed');
    expect(names(flipped.effects)).toEqual(['DrActionFinished']);
    // A promotion without the fence would leave two writers once the primary's region returns.
    expect(fenceFailed.run.status).toBe('failed');
    expect(started(fenceFailed.effects)).toEqual([]);
    expect(fenceFailed.run.steps.map((s) => s.status)).toEqual(['failed', 'pending', 'pending', 'pending']);
    expect(fenceFailed.effects.find((e) => e.type === 'page')).toMatchObject({
      page: { message: expect.stringMatching(/fence-writer on aws\) failed; the run stops$/) },
    });
    expect(promoteFailed.run.status).toBe('failed');
    expect(started(promoteFailed.effects)).toEqual([]);
  });

  it('sends an action with no result again twice, each time with its whole timeout, then stalls and pages; never runs the flip after it', () => {
    // Prepare
    const plan = planWith((d) => (d.execution = { onFailure: 'fail-forward' }));
    const fenced = ok(startRun(plan, decision(plan)).run, 0, 0);

    // Act
    const early = advance(fenced.run, { type: 'tick', time: at(599) });
    const first = advance(early.run, { type: 'tick', time: at(600) });
    const second = advance(first.run, { type: 'tick', time: at(1200) });
    const late = advance(second.run, { type: 'tick', time: at(STALL) });
    const refusedAfter = ok(late.run, 1, STALL + 100, 'refused');

    // Assess
    expect(ACTION_RESENDS).toBe(2);
    expect(runDeadline(fenced.run)).toBe(at(600));
    expect(early.run.status).toBe('running');
    // Sent again under the same epoch and index, with a new deadline, and its start recorded again
    for (const [a, n, deadline] of [
      [first, 1, 1200],
      [second, 2, STALL],
    ] as const) {
      expect(a.run.status).toBe('running');
      expect(a.run.steps[1]).toMatchObject({
        status: 'started',
        resent: n,
        deadline: at(deadline),
        epoch: fenced.run.epoch,
      });
      expect(a.effects).toEqual([
        {
          type: 'event',
          name: 'DrActionStarted',
          step: expect.objectContaining({ index: 1, deadline: at(deadline) }),
        },
        {
          type: 'start-action',
          via: 'relay',
          command: expect.objectContaining({ epoch: fenced.run.epoch, index: 1, deadline: at(deadline) }),
        },
      ]);
      expect(a.run.history.at(-1)?.note).toMatch(
        new RegExp(
          `^action 1 \\(promote-replica on gcp\\) gave no result within 600s .*: sent again \\(${n} of 2\\) under epoch ${fenced.run.epoch} until`,
        ),
      );
    }
    expect(runDeadline(first.run)).toBe(at(1200));
    expect(late.run.status).toBe('stalled');
    expect(late.run.steps.map((s) => s.status)).toEqual(['succeeded', 'timed-out', 'pending', 'pending']);
    expect(late.effects.find((e) => e.type === 'page')).toMatchObject({
      page: {
        reason: 'action-timed-out',
        message: expect.stringContaining('across the relay) gave no result within 600s (sent 3 times)'),
      },
    });
    // A refusal says the action never ran: still unknown to nobody, but nothing to go on from.
    expect(refusedAfter.run.status).toBe('stalled');
    expect(started(refusedAfter.effects)).toEqual([]);
    expect(refusedAfter.run.history.at(-1)?.note).toMatch(/\(refused\) not taken/);
  });

  it("a refusal of an earlier copy is recorded only; the copy waited on, refused after its deadline, is sent again; the first copy's late success is taken", () => {
    // Prepare: the promotion sent again at 600 s, until 1,200 s
    const plan = planWith();
    const resent = promotionSentAgain(plan);
    const answer = (outcome: ActionResult['outcome'], time: number, deadline: number, receivedAt: number) =>
      promotionAnswer(resent.run, outcome, time, receivedAt, { deadline: at(deadline) });

    // Act
    const earlierRefused = answer('refused', 650, 600, 660);
    const currentRefusedLate = answer('refused', 1210, 1200, 1215);
    const firstSucceeded = answer('succeeded', 590, 600, 700);

    // Assess
    expect(earlierRefused.run.status).toBe('running');
    expect(earlierRefused.effects).toEqual([]);
    expect(earlierRefused.run.steps[1]).toMatchObject({ status: 'started', deadline: at(1200) });
    expect(earlierRefused.run.history.at(-1)?.note).toMatch(
      /^refusal of action 1's copy with deadline .* recorded, not taken: the copy waited on runs until/,
    );
    expect(currentRefusedLate.run.steps[1]).toMatchObject({
      status: 'started',
      resent: 2,
      deadline: at(1815),
    });
    expect(started(currentRefusedLate.effects)).toEqual([1]);
    expect(currentRefusedLate.run.history.at(-1)?.note).toMatch(
      /^action 1 \(promote-replica on gcp\) was refused/,
    );
    // A result of the first copy (it ran in time; its answer was held up) is the action's outcome.
    expect(firstSucceeded.run.steps.map((s) => s.status)).toEqual([
      'succeeded',
      'succeeded',
      'started',
      'pending',
    ]);
    expect(started(firstSucceeded.effects)).toEqual([2]);
  });

  it('a copy sent again refused in time (an earlier copy admitted and unanswered) stalls the run, not fails it; a refusal naming no copy is taken as the current one only past its deadline', () => {
    // Prepare: the promotion sent again at 600 s, until 1,200 s
    const plan = planWith();
    const resent = promotionSentAgain(plan);
    const refusal = (time: number, deadline?: number) =>
      promotionAnswer(resent.run, 'refused', time, time + 5, {
        detail: 'admitted, but its hook gave no result before its deadline',
        ...(deadline !== undefined && { deadline: at(deadline) }),
      });

    // Act
    const unknown = refusal(610, 1200);
    const unnamedEarly = refusal(650);
    const unnamedLate = refusal(1210);
    const answered = advance(unknown.run, {
      type: 'result',
      result: {
        service: plan.service,
        epoch: resent.run.epoch,
        index: 1,
        outcome: 'succeeded',
        time: at(590),
      },
      receivedAt: at(700),
    });

    // Assess: unknown, so stalled and paged, never failed; the first copy's late answer still taken
    expect(unknown.run.status).toBe('stalled');
    expect(unknown.run.steps[1]?.status).toBe('timed-out');
    expect(unknown.effects.find((e) => e.type === 'page')).toMatchObject({
      page: { reason: 'action-timed-out', message: expect.stringContaining('its outcome is unknown') },
    });
    expect(started(unknown.effects)).toEqual([]);
    expect(answered.run.status).toBe('running');
    expect(started(answered.effects)).toEqual([2]);
    // Naming no copy: before the current deadline it can only be an earlier copy's
    expect(unnamedEarly.run.status).toBe('running');
    expect(unnamedEarly.effects).toEqual([]);
    expect(unnamedEarly.run.history.at(-1)?.note).toMatch(
      /^refusal of action 1's copy with deadline unnamed recorded/,
    );
    expect(unnamedLate.run.steps[1]).toMatchObject({ status: 'started', resent: 2 });
    expect(started(unnamedLate.effects)).toEqual([1]);
  });

  it('sends nothing again where Google executes, while paused, or for an action the executor runs itself', () => {
    // Prepare
    const plan = planWith();
    const fenced = ok(startRun(plan, decision(plan)).run, 0, 0).run;
    const paused = advance(fenced, { type: 'pause', by: 'oncall', time: at(10) }).run;
    const ledger = parseDrPlan(readFileSync(join(ROOT, 'config/dr-plans/example-ledger.yaml'), 'utf8'));
    const ledgerRun = startRun(ledger, failoverDecision(ledger, { time: at(0) })).run;

    // Act
    const whilePaused = advance(paused, { type: 'tick', time: at(600) });
    const onGoogle = advance(ledgerRun, { type: 'tick', time: at(24 * 3600) });

    // Assess
    expect(whilePaused.run.status).toBe('stalled');
    expect(started(whilePaused.effects)).toEqual([]);
    expect(onGoogle.run.status).toBe('stalled');
    expect(onGoogle.run.steps.some((s) => s.resent)).toBe(false);
    expect(started(onGoogle.effects)).toEqual([]);
  });

  it("takes a stalled action's late result within the late-result window: the run goes on from when it came", () => {
    // Prepare: the promotion (index 1, 600 s) stalls at STALL; the window is the move's timeouts summed
    const plan = planWith();
    const stalled = stallPromotion(ok(startRun(plan, decision(plan)).run, 0, 0).run);
    const windowS = stalled.run.steps.reduce((ms, s) => ms + s.timeoutMs, 0) / 1000;
    const late = (s: number, outcome: ActionResult['outcome'] = 'succeeded') =>
      advance(stalled.run, {
        type: 'result',
        result: { service: plan.service, epoch: stalled.run.epoch, index: 1, outcome, time: at(590) },
        receivedAt: at(s),
      });

    // Act
    const inTime = late(STALL + windowS - 1);
    const tooLate = late(STALL + windowS);
    const failedLate = late(STALL + 100, 'failed');
    const closed = advance(stalled.run, { type: 'tick', time: at(STALL + windowS) });
    const afterClose = advance(closed.run, {
      type: 'result',
      result: {
        service: plan.service,
        epoch: stalled.run.epoch,
        index: 1,
        outcome: 'succeeded',
        time: at(590),
      },
      receivedAt: at(STALL + windowS - 1),
    });

    // Assess: the stall's page says until when a result is taken; runDeadline is that end
    expect(runDeadline(stalled.run)).toBe(at(STALL + windowS));
    expect(stalled.run.pages[0]?.message).toContain(
      `its result until ${at(STALL + windowS)} lets the run go on`,
    );
    // Within it: the promotion succeeded, the scaling started with its whole timeout from the receipt
    expect(inTime.run.status).toBe('running');
    expect(inTime.run.finishedAt).toBeUndefined();
    expect(inTime.run.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'started', 'pending']);
    expect(inTime.run.steps[2]?.startedAt).toBe(at(STALL + windowS - 1));
    expect(started(inTime.effects)).toEqual([2]);
    expect(names(inTime.effects)).toEqual(['DrActionFinished', 'DrActionStarted']);
    expect(
      inTime.run.history.some((h) => /came after its deadline .* taken, the run goes on/.test(h.note)),
    ).toBe(true);
    // At its end: recorded, paged stale-result, the run stalled as it was
    expect(tooLate.run.status).toBe('stalled');
    expect(started(tooLate.effects)).toEqual([]);
    expect(tooLate.effects).toEqual([
      expect.objectContaining({ type: 'page', page: expect.objectContaining({ reason: 'stale-result' }) }),
    ]);
    // The tick at the window's end closes it in the run itself: a result that races it is not taken
    expect(runDeadline(closed.run)).toBeNull();
    expect(closed.run.history.at(-1)?.note).toMatch(/^late-result window closed at /);
    expect(afterClose.run.status).toBe('stalled');
    expect(started(afterClose.effects)).toEqual([]);
    // A late failure is known too: the promotion failed, the run stops there and pages
    expect(failedLate.run.status).toBe('failed');
    expect(failedLate.run.steps[1]?.status).toBe('failed');
    expect(failedLate.effects.some((e) => e.type === 'page' && e.page.reason === 'action-failed')).toBe(true);
  });

  it('takes no late result while the plan is paused (an operator took the move over), nor where Google executes', () => {
    // Prepare
    const plan = planWith();
    const stalled = stallPromotion(ok(startRun(plan, decision(plan)).run, 0, 0).run);
    const paused = advance(stalled.run, { type: 'pause', by: 'oncall', time: at(STALL + 10) });
    const ledger = parseDrPlan(readFileSync(join(ROOT, 'config/dr-plans/example-ledger.yaml'), 'utf8'));
    const ledgerRun = startRun(ledger, failoverDecision(ledger, { time: at(0) })).run;
    const ledgerStalled = advance(ledgerRun, { type: 'tick', time: at(24 * 3600) }).run;
    const stuck = ledgerStalled.steps.find((s) => s.status === 'timed-out');

    // Act
    const whilePaused = ok(paused.run, 1, STALL + 20);
    const resumed = advance(paused.run, { type: 'resume', by: 'oncall', time: at(STALL + 30) });
    const afterResume = ok(resumed.run, 1, STALL + 40);
    const onGoogle = advance(ledgerStalled, {
      type: 'result',
      result: {
        service: ledger.service,
        epoch: ledgerStalled.epoch,
        index: stuck?.index ?? -1,
        outcome: 'succeeded',
        time: at(24 * 3600 + 1),
      },
    });

    // Assess
    expect(paused.run.status).toBe('stalled');
    expect(whilePaused.run.status).toBe('stalled');
    expect(whilePaused.effects.map((e) => e.type === 'page' && e.page.reason)).toEqual(['stale-result']);
    // The pause closed the window for good: a resume does not open it again
    expect(paused.run.history.at(-1)?.note).toBe('late-result window closed by the pause');
    expect(resumed.run.status).toBe('stalled');
    expect(runDeadline(resumed.run)).toBeNull();
    expect(afterResume.run.status).toBe('stalled');
    expect(afterResume.effects.map((e) => e.type === 'page' && e.page.reason)).toEqual(['stale-result']);
    expect(ledgerStalled.status).toBe('stalled');
    expect(runDeadline(ledgerStalled)).toBeNull();
    expect(ledgerStalled.pages[0]?.message).not.toContain('lets the run go on');
    expect(onGoogle.run.status).toBe('stalled');
  });

  it('takes no result carrying another epoch', () => {
    // Prepare
    const plan = planWith();
    const first = startRun(plan, decision(plan));

    // Act
    const stale = advance(first.run, {
      type: 'result',
      result: { service: plan.service, epoch: 2, index: 0, outcome: 'succeeded', time: at(3) },
    });

    // Assess
    expect(stale.run.steps[0]?.status).toBe('started');
    expect(stale.run.history.at(-1)?.note).toMatch(/under epoch 2 \(succeeded\) not taken/);
  });

  it('holds between actions while paused: the action under way finishes, the next starts on resume', () => {
    // Prepare
    const plan = planWith();
    const first = startRun(plan, decision(plan));

    // Act
    const paused = advance(first.run, { type: 'pause', by: 'alice@example.com', time: at(5) });
    const finished = ok(paused.run, 0, 30);
    const resumed = advance(finished.run, { type: 'resume', by: 'alice@example.com', time: at(90) });

    // Assess
    expect(started(finished.effects)).toEqual([]);
    expect(finished.run.steps.map((s) => s.status)).toEqual(['succeeded', 'pending', 'pending', 'pending']);
    expect(started(resumed.effects)).toEqual([1]);
    expect(resumed.run.steps[1]?.startedAt).toBe(at(90));
  });
});

describe('a retried claim starting the action under way again', () => {
  it('sends the same command before its deadline, paused or not; nothing after it, nothing once finished', () => {
    // Prepare: the fence commanded on AWS, then the promotion across the relay.
    const plan = planWith();
    const opened = startRun(plan, decision(plan));
    const first = ok(opened.run, 0, 0);
    const second = ok(first.run, 1, 30);
    const paused = advance(second.run, { type: 'pause', by: 'alice@example.com', time: at(40) });
    const done = ok(ok(second.run, 2, 60).run, 3, 90);

    // Act
    const fenceAgain = restartEffects(opened.run, at(1));
    const early = restartEffects(first.run, at(10));
    const atDeadline = restartEffects(first.run, at(600));
    const afterFirst = restartEffects(second.run, at(31));

    // Assess: a commanded action's start effects are those of its advance, unchanged (epoch, index,
    // deadline), the fence on AWS through AWS's commanded side as the promotion across the relay.
    expect(fenceAgain).toEqual(
      opened.effects.filter((e) => e.type !== 'event' || e.name === 'DrActionStarted'),
    );
    expect(started(fenceAgain)).toEqual([0]);
    expect(early).toEqual(first.effects.filter((e) => e.type !== 'event' || e.name === 'DrActionStarted'));
    expect(started(early)).toEqual([1]);
    expect(atDeadline).toEqual([]);
    expect(started(afterFirst)).toEqual([2]);
    expect(afterFirst).toEqual(
      second.effects.filter((e) => e.type !== 'event' || e.name === 'DrActionStarted'),
    );
    expect(paused.run.paused).not.toBeNull();
    expect(restartEffects(paused.run, at(41))).toEqual(afterFirst);
    expect(done.run.status).toBe('succeeded');
    expect(restartEffects(done.run, at(91))).toEqual([]);
  });

  it("sends an action with a hook on AWS again to AWS's commanded side (its fence answers it once), never a hook Google's workflow calls", () => {
    // Prepare: the payments failback (AWS executes: its promotion and scaling through drCommanded),
    // and the ledger failover (Google executes: its fence and Cloud DNS flip hooks the workflow calls)
    const payments = planWith();
    const back = startRun(
      payments,
      decision(payments, { decision: 'failback', active: 'primary', actions: payments.actions.failback }),
    );
    const promotion = ok(back.run, 0, 0);
    const scaling = ok(promotion.run, 1, 30);
    const ledger = parseDrPlan(readFileSync(join(ROOT, 'config/dr-plans/example-ledger.yaml'), 'utf8'));
    const ledgerFence = startRun(ledger, decision(ledger));
    const flip = ok(ok(ok(ledgerFence.run, 0, 10).run, 1, 30).run, 2, 60);

    // Act
    const promotionAgain = restartEffects(promotion.run, at(10));
    const scalingAgain = restartEffects(scaling.run, at(31));
    const ledgerFenceAgain = restartEffects(ledgerFence.run, at(1));
    const flipAgain = restartEffects(flip.run, at(61));

    // Assess
    expect(promotionAgain).toEqual(
      promotion.effects.filter((e) => e.type !== 'event' || e.name === 'DrActionStarted'),
    );
    expect(promotionAgain.find((e) => e.type === 'start-action')).toMatchObject({
      via: 'commanded',
      command: { epoch: 3, index: 1, action: { type: 'promote-replica', cloud: 'aws' }, deadline: at(600) },
    });
    expect(started(scalingAgain)).toEqual([2]);
    expect(scalingAgain.find((e) => e.type === 'start-action')).toMatchObject({ via: 'commanded' });
    // Google's own hooks (the ledger's fence of Cloud SQL, its Cloud DNS flip) are the workflow's
    expect(ledgerFence.run.steps[0]).toMatchObject({ status: 'started', via: 'local' });
    expect(ledgerFenceAgain).toEqual([]);
    expect(flip.run.steps[3]).toMatchObject({ status: 'started', via: 'local' });
    expect(flipAgain).toEqual([]);
  });

  it('starts nothing while a move awaits approval', () => {
    const plan = planWith((d) => (d.decider = { ...d.decider, approval: 'required' }));
    const pending = startRun(plan, decision(plan, { approval: 'pending' }));
    expect(pending.run.status).toBe('awaiting-approval');
    expect(restartEffects(pending.run, at(1))).toEqual([]);
  });
});

describe('approval', () => {
  const plan = planWith((d) => {
    d.decider = { ...d.decider, approval: 'required' };
    d.execution = { approvalTimeout: '15m' };
  });

  it('waits for the approved decision, which raises the run to its epoch', () => {
    // Prepare
    const pending = startRun(plan, decision(plan, { approval: 'pending', epoch: 3 }));

    // Act
    const wrong = approvalIssues(pending.run, plan.service, 2, at(60));
    const right = approvalIssues(pending.run, plan.service, 3, at(60));
    const approved = advance(pending.run, {
      type: 'decision',
      decision: decision(plan, { approval: 'approved', by: 'carol@example.com', epoch: 4, time: at(60) }),
    });

    // Assess
    expect(pending.run.status).toBe('awaiting-approval');
    expect(pending.effects).toEqual([]);
    expect(runDeadline(pending.run)).toBe(at(900));
    expect(wrong).toEqual([
      { path: 'epoch', reason: 'epoch 2 is not the one awaiting approval (the failover of epoch 3 is)' },
    ]);
    expect(right).toEqual([]);
    expect(approved.run).toMatchObject({
      status: 'running',
      epoch: 4,
      approval: { by: 'carol@example.com' },
    });
    expect(approved.effects.find((e) => e.type === 'start-action')).toMatchObject({ command: { epoch: 4 } });
  });

  it('gives up and pages at the timeout; a later approval is refused and moves nothing', () => {
    // Prepare
    const pending = startRun(plan, decision(plan, { approval: 'pending' }));

    // Act
    const expired = advance(pending.run, { type: 'tick', time: at(900) });
    const late = advance(expired.run, {
      type: 'decision',
      decision: decision(plan, { approval: 'approved', epoch: 4, time: at(901) }),
    });

    // Assess
    expect(expired.run.status).toBe('approval-timed-out');
    expect(expired.effects).toEqual([
      expect.objectContaining({
        type: 'page',
        page: expect.objectContaining({ reason: 'approval-timed-out' }),
      }),
    ]);
    expect(approvalIssues(expired.run, plan.service, 3, at(901))).toEqual([
      {
        path: 'epoch',
        reason: 'no payments-api move is awaiting approval (the run of epoch 3 is approval-timed-out)',
      },
    ]);
    expect(late.effects).toEqual([]);
    expect(late.run.status).toBe('approval-timed-out');
  });

  it('is withdrawn when the decider withdraws the pending move', () => {
    // Prepare
    const pending = startRun(plan, decision(plan, { approval: 'pending' }));

    // Act
    const withdrawn = advance(pending.run, {
      type: 'decision',
      decision: decision(plan, {
        decision: 'hold',
        approval: undefined,
        epoch: 4,
        active: 'primary',
        actions: undefined,
        reasons: [{ code: 'no-quorum', message: 'n' }],
      }),
    });

    // Assess
    expect(withdrawn.run.status).toBe('withdrawn');
    expect(withdrawn.effects).toEqual([]);
  });
});

describe('the commanded side', () => {
  it('runs the current or a higher epoch once, and refuses and records a lower one or a late one', () => {
    // Prepare
    let fence = initialFence('payments-api');

    // Act
    const first = admit(fence, command(3), at(1));
    fence = recordResult(first.state, {
      service: 'payments-api',
      epoch: 3,
      index: 0,
      outcome: 'succeeded',
      time: at(2),
    });
    const again = admit(fence, command(3), at(3));
    const newer = admit(fence, command(5), at(4));
    const stale = admit(newer.state, command(4, 1), at(5));
    const late = admit(stale.state, command(5, 1), at(600));

    // Assess
    expect(first.verdict).toBe('run');
    expect(again).toMatchObject({ verdict: 'duplicate', result: { outcome: 'succeeded', epoch: 3 } });
    expect(newer.verdict).toBe('run');
    expect(newer.state.epoch).toBe(5);
    expect(stale).toMatchObject({
      verdict: 'refused',
      result: { outcome: 'refused', epoch: 4, detail: expect.stringContaining('below the current epoch 5') },
    });
    expect(late).toMatchObject({
      verdict: 'refused',
      result: { detail: expect.stringContaining('after its deadline') },
    });
    expect(late.state.refused).toEqual([
      { epoch: 4, index: 1, time: at(5), reason: expect.stringContaining('stale command') },
      { epoch: 5, index: 1, time: at(600), reason: expect.stringContaining('no longer waits for it') },
    ]);
  });
});

describe("the fence's size", () => {
  const done = (epoch: number, index: number): ActionResult => ({
    service: 'payments-api',
    epoch,
    index,
    outcome: 'succeeded',
    time: at(2),
  });

  it("keeps only the current epoch's results, whatever the number of runs, and the latest refusals", () => {
    // Prepare / Act: a thousand runs of two actions, each refused once for a stale command after
    let fence = initialFence('payments-api');
    for (let epoch = 1; epoch <= 1000; epoch++) {
      for (const index of [0, 1])
        fence = recordResult(admit(fence, command(epoch, index), at(1)).state, done(epoch, index));
      fence = admit(fence, command(epoch - 1 || 1, 1), at(3)).state;
    }
    const redelivered = admit(fence, command(1000, 1), at(4));
    const old = admit(fence, command(999, 0), at(4));

    // Assess
    expect(Object.keys(fence.results).sort()).toEqual(['1000#0', '1000#1']);
    expect(fence.refused).toHaveLength(FENCE_REFUSALS_KEPT);
    expect(fence.refused.at(-1)).toMatchObject({ epoch: 999, index: 1 });
    expect(JSON.stringify(fence).length).toBeLessThan(50_000);
    expect(redelivered).toMatchObject({ verdict: 'duplicate', result: { epoch: 1000, index: 1 } });
    expect(old).toMatchObject({
      verdict: 'refused',
      result: { detail: expect.stringContaining('below the current epoch 1000') },
    });
  });
});

describe('a plan paused on its own', () => {
  it('holds that plan in the decider and leaves the others', () => {
    // Prepare
    const plan = planWith((d) => (d.decider = { ...d.decider, hysteresis: '0s' }));
    const down = (s: number, vantage: string, signal: string) => ({
      time: at(s),
      service: plan.service,
      vantage,
      signal,
      status: 'unhealthy' as const,
    });
    const up = (s: number, vantage: string) => ({
      time: at(s),
      service: plan.service,
      vantage,
      signal: 'standby-readiness',
      status: 'healthy' as const,
    });
    const stream = (pauseService: string) => [
      { time: at(0), control: 'pause' as const, service: pauseService, by: 'ops@example.com' },
      up(1, 'aws-us-west-2'),
      up(1, 'gcp-us-west1'),
      down(2, 'aws-us-west-2', 'api-availability'),
      down(2, 'gcp-us-west1', 'api-availability'),
    ];

    // Act
    const mine = replay(plan, stream(plan.service)).decisions;
    const other = replay(plan, stream('ledger')).decisions;

    // Assess
    expect(mine.map((d) => d.decision)).toEqual(['hold']);
    expect(mine[0]?.reasons[0]?.message).toMatch(/^the plan's pause is on \(set by ops@example.com/);
    expect(other.map((d) => d.decision)).toContain('failover');
  });
});
