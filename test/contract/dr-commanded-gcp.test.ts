/**
 * Google's commanded side (functions/gcp/dr-commanded.ts) with its fence in the Firestore emulator:
 * the executor's DrActionStarted (as the relay delivers it) runs the plan's hook once and answers
 * DrActionFinished, which the AWS executor takes as its result; a redelivery gets the recorded result
 * and runs nothing; a lower epoch is refused, recorded and answered `refused`; a failing hook answers
 * `failed`; an event naming another action than the plan's is refused naming the field. The hook
 * runner is the test's (it records what it was asked to run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultOfFinished } from '#aws/dr-executor.ts';
import { HookNotCalled } from '#core/dr/commanded.ts';
import { advance, startRun } from '#core/dr/executor.ts';
import { runEvents } from '#core/dr/executor-events.ts';
import type { Action } from '#core/dr/plan.ts';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import type { DrActionStartedData } from '#core/events/catalog.ts';
import { onCommand } from '#gcp/dr-commanded.ts';
import { FirestoreDrFence } from '#gcp/dr-fence.ts';
import { commandedHarness, finishedData } from '../support/dr-commanded-harness.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';
import { failoverDecision, planWith } from '../unit/dr/helpers.ts';

let firestore: TestFirestore;
beforeAll(async () => {
  firestore = await startTestFirestore();
}, 120_000);
afterAll(async () => {
  await firestore?.stop();
});

const plan = planWith();
const T0 = Date.parse('2026-03-02T10:06:03Z');
const aws = { cloud: 'aws' as const, accountId: '000000000000', region: 'us-west-2' };

const decision = (epoch: number) => failoverDecision(plan, { epoch, time: new Date(T0).toISOString() });

/**
 * The executor's DrActionStarted of a failover's promotion at `epoch` (action 1, once the fence of
 * AWS's database, the executor's own action 0, succeeded), as the relay delivers it.
 */
function promoteCommand(epoch: number): CloudEvent {
  const opened = startRun(plan, decision(epoch));
  const time = new Date(T0).toISOString();
  const fenced = advance(opened.run, {
    type: 'result',
    result: { service: plan.service, epoch, index: 0, outcome: 'succeeded', time },
  });
  const started = runEvents(plan, fenced.run, fenced.effects).find((e) => e.name === 'DrActionStarted');
  return buildEvent({
    name: 'DrActionStarted',
    origin: aws,
    subject: plan.service,
    data: started?.data,
    clock: { now: () => T0 },
  });
}

/** `command` as the executor sends it again: the same epoch and action, a new deadline `minutes` after T0. */
const sentAgain = (command: CloudEvent, minutes: number): CloudEvent => ({
  ...command,
  id: `${command.id}-again`,
  data: { ...(command.data as DrActionStartedData), deadline: new Date(T0 + minutes * 60_000).toISOString() },
});

const harness = (hook?: (a: Action) => Promise<{ detail?: string }>) =>
  commandedHarness({
    plan,
    fence: new FirestoreDrFence(firestore.db()),
    origin: { cloud: 'gcp', project: 'crosslink-test', region: 'us-west1' },
    now: T0 + 2_000,
    ...(hook && { hook }),
  });

const finished = finishedData;

// Every test works on its own epochs: the fence is one document per service, shared here.
describe("Google's commanded side", () => {
  it('runs the hook once and answers DrActionFinished; a redelivery gets the recorded result', async () => {
    // Prepare
    const h = harness();
    const command = promoteCommand(10);

    // Act
    const first = await onCommand(h.deps, command);
    const again = await onCommand(h.deps, command);

    // Assess
    expect(first).toMatchObject({ outcome: 'ran', result: { epoch: 10, index: 1, outcome: 'succeeded' } });
    expect(again).toMatchObject({
      outcome: 'duplicate',
      result: { epoch: 10, index: 1, outcome: 'succeeded' },
    });
    expect(h.ran).toEqual(['promote-replica']);
    expect(h.sent.map((e) => [e.crosslinkorigin, finished(e).outcome, finished(e).epoch])).toEqual([
      ['gcp', 'succeeded', 10],
      ['gcp', 'succeeded', 10],
    ]);
    // What the executor on AWS takes as the action's result, naming the copy of the command it answers.
    expect(resultOfFinished(finished(h.sent[0]))).toEqual({
      service: plan.service,
      epoch: 10,
      index: 1,
      outcome: 'succeeded',
      time: new Date(T0 + 2_000).toISOString(),
      detail: 'done',
      deadline: (command.data as { deadline: string }).deadline,
    });
  });

  it('refuses a lower epoch than one admitted, records it, answers refused, runs nothing', async () => {
    // Prepare
    const h = harness();
    await onCommand(h.deps, promoteCommand(20));
    h.ran.length = 0;

    // Act
    const stale = await onCommand(h.deps, promoteCommand(19));

    // Assess
    expect(stale).toMatchObject({ outcome: 'refused', result: { epoch: 19, outcome: 'refused' } });
    expect(h.ran).toEqual([]);
    expect(finished(h.sent.at(-1))).toMatchObject({ epoch: 19, outcome: 'refused' });
    expect((await h.deps.fence.read(plan.service)).refused.map((r) => r.epoch)).toContain(19);
  });

  it('runs a command sent again once, after its first copy came late; an earlier copy is answered for itself', async () => {
    // Prepare: the first copy of the promotion (deadline T0 + 10 min) and the executor's copy sent
    // again at that deadline, until T0 + 20 min
    const h = harness();
    const first = promoteCommand(50);
    const firstDeadline = (first.data as DrActionStartedData).deadline;
    const again = sentAgain(first, 20);

    // Act: the first copy arrives after its deadline, then the copy sent again, then the first again
    h.now.ms = Date.parse(firstDeadline) + 30_000;
    const late = await onCommand(h.deps, first);
    const ran = await onCommand(h.deps, again);
    const twice = await onCommand(h.deps, again);
    const lateAgain = await onCommand(h.deps, first);

    // Assess: the hook ran once, for the copy sent again; each answer names the copy it answers
    expect(late).toMatchObject({ outcome: 'refused', result: { outcome: 'refused' } });
    expect(ran).toMatchObject({ outcome: 'ran', result: { outcome: 'succeeded' } });
    expect(twice).toMatchObject({ outcome: 'duplicate', result: { outcome: 'succeeded' } });
    expect(lateAgain).toMatchObject({ outcome: 'duplicate', result: { outcome: 'succeeded' } });
    expect(h.ran).toEqual(['promote-replica']);
    expect(h.sent.map((e) => [finished(e).outcome, finished(e).deadline])).toEqual([
      ['refused', firstDeadline],
      ['succeeded', (again.data as DrActionStartedData).deadline],
      ['succeeded', (again.data as DrActionStartedData).deadline],
      ['succeeded', firstDeadline],
    ]);
  });

  it('answers refused, not failed, when the hook was never called (its deadline passed first); the copy sent again runs', async () => {
    // Prepare: the first call finds the command's deadline passed (as hookTimeLeftMs does when time
    // passed between the admission and the call), the next calls the hook
    const asked: string[] = [];
    const h = harness(async (a) => {
      asked.push(a.type);
      if (asked.length === 1) throw new HookNotCalled('payments-promote not called: the deadline passed');
      return { detail: 'done' };
    });
    const first = promoteCommand(60);
    const firstDeadline = (first.data as DrActionStartedData).deadline;
    const again = sentAgain(first, 30);

    // Act: the first copy admitted just before its deadline; the copy sent again after it
    h.now.ms = Date.parse(firstDeadline) - 1_000;
    const notCalled = await onCommand(h.deps, first);
    h.now.ms = Date.parse(firstDeadline) + 60_000;
    const lateAgain = await onCommand(h.deps, first);
    const ran = await onCommand(h.deps, again);

    // Assess: refused (nothing ran), the action free for the copy sent again, which ran it once
    expect(notCalled).toMatchObject({
      outcome: 'refused',
      result: {
        outcome: 'refused',
        detail: 'HookNotCalled: payments-promote not called: the deadline passed',
      },
    });
    expect(finished(h.sent[0])).toMatchObject({ outcome: 'refused', deadline: firstDeadline });
    expect(lateAgain).toMatchObject({ outcome: 'refused' });
    expect(ran).toMatchObject({ outcome: 'ran', result: { outcome: 'succeeded' } });
    expect(asked).toEqual(['promote-replica', 'promote-replica']);
    expect((await h.deps.fence.read(plan.service)).results[`60#1`]).toMatchObject({ outcome: 'succeeded' });
  });

  it('answers failed when the hook fails', async () => {
    // Prepare
    const h = harness(async () => {
      throw Object.assign(new Error('the replica is not caught up'), { name: 'HookFailed' });
    });

    // Act
    const out = await onCommand(h.deps, promoteCommand(30));

    // Assess
    expect(out).toMatchObject({
      outcome: 'ran',
      result: { outcome: 'failed', detail: 'HookFailed: the replica is not caught up' },
    });
    expect(finished(h.sent[0])).toMatchObject({ outcome: 'failed', epoch: 30 });
  });

  it("refuses an event naming another action than the plan's at that place, and ignores other events", async () => {
    // Prepare
    const h = harness();
    const forged = promoteCommand(40);
    (forged.data as DrActionStartedData).action = { type: 'scale-standby', cloud: 'gcp' };
    const own = buildEvent({
      name: 'DrActionStarted',
      origin: { cloud: 'gcp', project: 'crosslink-test', region: 'us-west1' },
      subject: plan.service,
      data: promoteCommand(41).data,
      clock: { now: () => T0 },
    });

    // Act
    const refused = await onCommand(h.deps, forged).catch((e: unknown) => e);
    const ignored = await onCommand(h.deps, own);
    // Google's own command to itself (via: commanded) for a plan AWS executes: not this plan's.
    const ownCommanded = await onCommand(h.deps, {
      ...own,
      data: { ...(own.data as DrActionStartedData), via: 'commanded' },
    });

    // Assess
    expect((refused as { issues?: { path: string }[] }).issues?.[0]?.path).toBe('data.action');
    expect(ignored).toEqual({ outcome: 'ignored', reason: 'an action the executor runs itself' });
    expect(ownCommanded).toEqual({
      outcome: 'ignored',
      reason: 'a commanded command, but AWS executes the deployed plan',
    });
    expect(h.ran).toEqual([]);
    expect(h.sent).toEqual([]);
  });
});
