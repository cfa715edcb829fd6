/**
 * AWS's commanded side (functions/aws/dr-commanded.ts) with its fence in dynalite: Google's
 * executor's DrActionStarted for the ledger plan's promotion on AWS, as EventBridge delivers it
 * from the bus, runs the plan's hook once and answers DrActionFinished, which Google's executor
 * keeps as the action's result; a redelivery gets the recorded result and runs nothing; one that
 * arrives while the hook runs fails the invocation (retried later); a lower epoch is refused,
 * recorded and answered `refused`; a failing hook answers `failed`; an event naming another action
 * than the plan's, or malformed, is dropped naming the field. The hook runner is the test's (it
 * records what it was asked to run). The same cases as Google's (dr-commanded-gcp.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { drCommandedStep } from '#aws/dr-commanded.ts';
import { DynamoDbDrFence } from '#aws/dr-fence.ts';
import type { EventBridgeEvent } from '#aws/envelope.ts';
import { advance, startRun } from '#core/dr/executor.ts';
import { runEvents } from '#core/dr/executor-events.ts';
import { keepRelayedResult } from '#core/dr/executor-steps.ts';
import type { Action } from '#core/dr/plan.ts';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import type { DrActionStartedData } from '#core/events/catalog.ts';
import { commandedHarness, finishedData } from '../support/dr-commanded-harness.ts';
import { ledgerPlan, moveOf } from '../support/dr-ledger.ts';
import { useDynalite } from '../support/dynalite.ts';
import { MemoryDrRuns } from '../support/memory-dr-runs.ts';

const db = useDynalite();
const plan = ledgerPlan();
const T0 = Date.parse('2026-03-02T10:06:03Z');
const gcp = { cloud: 'gcp' as const, project: 'crosslink-test', region: 'us-west1' };

/**
 * Google's executor's DrActionStarted of the ledger failover's promotion on AWS at `epoch` (action 1,
 * once its own action 0, the fence of Cloud SQL, succeeded).
 */
function promoteCommand(epoch: number, origin: CloudEvent['crosslinkorigin'] = 'gcp'): CloudEvent {
  const time = new Date(T0).toISOString();
  const opened = startRun(plan, moveOf(plan, epoch, time));
  const fenced = advance(opened.run, {
    type: 'result',
    result: { service: plan.service, epoch, index: 0, outcome: 'succeeded', time },
  });
  const started = runEvents(plan, fenced.run, fenced.effects).find((e) => e.name === 'DrActionStarted');
  return buildEvent({
    name: 'DrActionStarted',
    origin: origin === 'gcp' ? gcp : { cloud: 'aws', accountId: '000000000000', region: 'eu-west-1' },
    subject: plan.service,
    data: started?.data,
    clock: { now: () => T0 },
  });
}

/** The event as the bus delivers it to the function (DrCommandedRule's target). */
const delivered = (e: CloudEvent): EventBridgeEvent => ({
  version: '0',
  id: `ev-${e.id}`,
  'detail-type': 'DrActionStarted',
  source: 'crosslink',
  detail: e,
});

const harness = async (hook?: (a: Action) => Promise<{ detail?: string }>) =>
  commandedHarness({
    plan,
    fence: new DynamoDbDrFence(db.client, await db.linksTable()),
    origin: { cloud: 'aws', accountId: '000000000000', region: 'eu-west-1' },
    now: T0 + 2_000,
    ...(hook && { hook }),
  });

const finished = finishedData;

describe("AWS's commanded side", () => {
  it("runs the hook once and answers DrActionFinished, which Google's executor keeps; a redelivery gets the recorded result", async () => {
    // Prepare
    const h = await harness();
    const command = delivered(promoteCommand(10));
    const google = new MemoryDrRuns();

    // Act
    const first = await drCommandedStep(h.deps, command);
    const again = await drCommandedStep(h.deps, command);
    const kept = await keepRelayedResult(
      { plan, runs: google, clock: { now: () => T0 + 3_000 } },
      finished(h.sent[0]) as unknown as Record<string, unknown>,
    );

    // Assess
    expect(first).toMatchObject({ outcome: 'ran', result: { epoch: 10, index: 1, outcome: 'succeeded' } });
    expect(again).toMatchObject({
      outcome: 'duplicate',
      result: { epoch: 10, index: 1, outcome: 'succeeded' },
    });
    expect(h.ran).toEqual(['promote-replica']);
    expect(h.sent.map((e) => [e.crosslinkorigin, finished(e).outcome, finished(e).epoch])).toEqual([
      ['aws', 'succeeded', 10],
      ['aws', 'succeeded', 10],
    ]);
    expect(kept).toEqual({
      service: 'ledger',
      epoch: 10,
      index: 1,
      outcome: 'succeeded',
      time: new Date(T0 + 2_000).toISOString(),
      detail: 'done',
    });
  });

  it('fails the invocation while the hook runs (retried later), runs the hook once', async () => {
    // Prepare
    let release: () => void = () => {};
    const h = await harness(() => new Promise((r) => (release = () => r({ detail: 'promoted' }))));
    const command = delivered(promoteCommand(12));

    // Act
    const first = drCommandedStep(h.deps, command);
    await expect.poll(() => h.ran.length).toBe(1);
    const meanwhile = await drCommandedStep(h.deps, command).catch((e: unknown) => e);
    release();
    await first;
    const after = await drCommandedStep(h.deps, command);

    // Assess
    expect((meanwhile as Error).name).toBe('UnavailableError');
    expect(after).toMatchObject({
      outcome: 'duplicate',
      result: { outcome: 'succeeded', detail: 'promoted' },
    });
    expect(h.ran).toEqual(['promote-replica']);
  });

  it('refuses a lower epoch than one admitted, records it, answers refused, runs nothing', async () => {
    // Prepare
    const h = await harness();
    await drCommandedStep(h.deps, delivered(promoteCommand(20)));
    h.ran.length = 0;

    // Act
    const stale = await drCommandedStep(h.deps, delivered(promoteCommand(19)));

    // Assess
    expect(stale).toMatchObject({ outcome: 'refused', result: { epoch: 19, outcome: 'refused' } });
    expect(h.ran).toEqual([]);
    expect(finished(h.sent.at(-1))).toMatchObject({ epoch: 19, outcome: 'refused' });
    expect((await h.deps.fence.read(plan.service)).refused.map((r) => r.epoch)).toEqual([19]);
  });

  it('answers failed when the hook fails', async () => {
    // Prepare
    const h = await harness(async () => {
      throw Object.assign(new Error('ledger-promote-aurora failed (Unhandled): the replica lags'), {
        name: 'HookFailed',
      });
    });

    // Act
    const out = await drCommandedStep(h.deps, delivered(promoteCommand(30)));

    // Assess
    expect(out).toMatchObject({
      outcome: 'ran',
      result: {
        outcome: 'failed',
        detail: 'HookFailed: ledger-promote-aurora failed (Unhandled): the replica lags',
      },
    });
    expect(finished(h.sent[0])).toMatchObject({ outcome: 'failed', epoch: 30 });
  });

  it("drops an event naming another action than the plan's, or malformed, naming the field; ignores AWS's own relayed or commanded one for a plan Google executes", async () => {
    // Prepare
    const h = await harness();
    const forged = promoteCommand(40);
    (forged.data as DrActionStartedData).action = { type: 'scale-standby', cloud: 'aws' };
    const malformed = promoteCommand(41);
    (malformed.data as Record<string, unknown>).epoch = 'forty-one';
    const own = promoteCommand(42, 'aws');

    // Act
    const dropped = await drCommandedStep(h.deps, delivered(forged));
    const bad = await drCommandedStep(h.deps, delivered(malformed));
    const ignored = await drCommandedStep(h.deps, delivered(own));
    // AWS's own executor's command (via: commanded) for a plan Google executes: not this plan's.
    const ownCommanded = await drCommandedStep(
      h.deps,
      delivered({ ...own, data: { ...(own.data as DrActionStartedData), via: 'commanded' } }),
    );

    // Assess
    expect(dropped).toMatchObject({
      outcome: 'dropped',
      reason: expect.stringMatching(
        /^data\.action: scale-standby on aws is not the plan's action 1 of its failover \(promote-replica on aws\)/,
      ),
    });
    expect(bad).toMatchObject({ outcome: 'dropped', reason: expect.stringContaining('epoch') });
    expect(ignored).toEqual({ outcome: 'ignored', reason: 'an action the executor runs itself' });
    expect(ownCommanded).toEqual({
      outcome: 'ignored',
      reason: 'a commanded command, but Google executes the deployed plan',
    });
    expect(h.ran).toEqual([]);
    expect(h.sent).toEqual([]);
  });
});
