/**
 * Google's DR executor as its function serves it (functions/gcp/handlers/dr-signals.ts through
 * functions-framework, over HTTP), its dependencies built as deployed (functions/gcp/dr-executor.ts:
 * the plan from CROSSLINK_DR_PLAN, the Firestore store on the emulator): the dr-failover workflow's
 * claim answered with its own hook to call (the fence of Cloud SQL), its result answered with the
 * wait for AWS, AWS's relayed DrActionFinished kept from the peer-events push
 * and taken by the next poll, the next action commanded; a malformed step answered 400 naming the
 * field; and a plan that is not Google's to execute, or none, refused naming the variable.
 */
import type { AddressInfo } from 'node:net';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import type { DrExecutorDeps } from '#core/dr/executor-steps.ts';
import { buildEvent, type CloudEvent } from '#core/envelope.ts';
import { buildGcpDrExecutorDeps } from '#gcp/dr-executor.ts';
import { toPubSubMessage } from '#gcp/envelope.ts';
import { drSignals } from '#gcp/handlers/dr-signals.ts';
import type { GoogleDeps } from '#gcp/runtime.ts';
import { ledgerDoc, moveOf } from '../support/dr-ledger.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';
import { exampleDoc } from '../unit/dr/helpers.ts';

const T0 = '2026-03-02T10:00:00.000Z';
const AWS = { cloud: 'aws' as const, accountId: '000000000000', region: 'eu-west-1' };

let firestore: TestFirestore;
let server: ReturnType<typeof getTestServer>;
let base: string;
let deps: DrExecutorDeps;
const published: CloudEvent[] = [];
const clock = new ManualClock(T0);

beforeAll(async () => {
  firestore = await startTestFirestore();
  deps = buildGcpDrExecutorDeps(
    { CROSSLINK_DR_PLAN: JSON.stringify(ledgerDoc()) },
    { project: 'crosslink-hub', region: 'europe-west4' },
    { firestore: firestore.db(), bus: { put: async (events) => void published.push(...events) }, clock },
  );
  http(
    'dr-signals-under-test',
    drSignals(async () => ({ drExecutor: () => deps }) as unknown as GoogleDeps),
  );
  server = getTestServer('dr-signals-under-test');
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await firestore?.stop();
});

const post = async (body: unknown) => {
  const r = await fetch(base, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: r.status === 204 ? undefined : await r.json() };
};

const pushOf = (ce: CloudEvent) => {
  const m = toPubSubMessage(ce);
  return {
    message: { data: m.data.toString('base64'), attributes: m.attributes, messageId: '1' },
    subscription: 'projects/crosslink-hub/subscriptions/crosslink-dr-signals-peer-push',
  };
};

describe("Google's DR executor behind its function", () => {
  it("claims the move, takes AWS's relayed result from the push at the next poll, and commands the next action", async () => {
    // Arrange
    const plan = deps.plan;
    // Act
    const claimed = await post({ step: 'claim', decision: moveOf(plan, 4, T0), execution: 'exec-1' });
    clock.advance(5_000);
    const fenced = await post({
      step: 'local-result',
      service: 'ledger',
      epoch: 4,
      index: 0,
      outcome: 'succeeded',
      detail: 'Cloud SQL writes revoked',
    });
    clock.advance(30_000);
    const finished = buildEvent({
      name: 'DrActionFinished',
      origin: AWS,
      subject: 'ledger',
      clock,
      data: {
        service: 'ledger',
        decision: 'failover',
        epoch: 4,
        index: 1,
        action: { type: 'promote-replica', cloud: 'aws' },
        outcome: 'succeeded',
        finishedAt: new Date(clock.now()).toISOString(),
      },
    });
    const pushed = await post(pushOf(finished));
    const redelivered = await post(pushOf(finished));
    clock.advance(5_000);
    const polled = await post({ step: 'poll', service: 'ledger' });
    // Assess
    expect(claimed).toMatchObject({
      status: 200,
      body: {
        status: 'running',
        epoch: 4,
        local: { index: 0, type: 'fence-writer', hook: 'ledger-fence-cloudsql', timeoutSeconds: 120 },
      },
    });
    expect(fenced).toMatchObject({ status: 200, body: { status: 'running', waitSeconds: 10 } });
    expect([pushed.status, redelivered.status]).toEqual([204, 204]);
    expect(polled).toMatchObject({ status: 200, body: { status: 'running', waitSeconds: 10 } });
    const stored = await deps.runs.current('ledger');
    expect(stored?.run.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'started', 'pending']);
    expect(published.map((e) => `${e.type} ${(e.data as { index?: number }).index ?? ''}`.trim())).toEqual([
      'crosslink.DrDecisionMade.v1',
      'crosslink.DrActionStarted.v1 0',
      'crosslink.DrActionFinished.v1 0',
      'crosslink.DrActionStarted.v1 1',
      'crosslink.DrActionFinished.v1 1',
      'crosslink.DrActionStarted.v1 2',
    ]);
  });

  it("starts the action under way again on its own execution's retried claim; another execution's claim is refused and starts nothing", async () => {
    // Arrange: the run above, its scaling (index 2) commanded across the relay
    const commands = () => published.filter((e) => e.type === 'crosslink.DrActionStarted.v1');
    const sent = commands().at(-1);
    const before = published.length;
    // Act
    const retried = await post({ step: 'claim', decision: moveOf(deps.plan, 4, T0), execution: 'exec-1' });
    const other = await post({ step: 'claim', decision: moveOf(deps.plan, 4, T0), execution: 'exec-2' });
    // Assess
    expect(retried).toMatchObject({ status: 200, body: { status: 'running', epoch: 4 } });
    expect(other).toMatchObject({ status: 200, body: { refused: expect.stringMatching(/not above/) } });
    const again = published.slice(before);
    expect(again.map((e) => e.type)).toEqual(['crosslink.DrActionStarted.v1']);
    expect(again[0]?.data).toEqual(sent?.data);
    expect((await deps.runs.current('ledger'))?.run.steps.map((s) => s.status)).toEqual([
      'succeeded',
      'succeeded',
      'started',
      'pending',
    ]);
  });

  it('answers a malformed step 400 naming the field', async () => {
    // Act
    const bad = await post({ step: 'claim', decision: { ...moveOf(deps.plan, 5, T0), epoch: -1 } });
    // Assess
    expect(bad.status).toBe(400);
    expect((bad.body as { error: { message: string } }).error.message).toMatch(
      /decision\.epoch: must be a positive integer.*execution: must name/s,
    );
  });

  it("refuses to build without a plan, for a plan whose switch is on AWS, or in the plan's primary region", () => {
    // Act
    const build =
      (env: NodeJS.ProcessEnv, region = 'europe-west4') =>
      () =>
        buildGcpDrExecutorDeps(
          env,
          { project: 'p', region },
          {
            firestore: firestore.db(),
            bus: { put: async () => {} },
            clock,
          },
        );
    // Assess
    expect(build({})).toThrow(/CROSSLINK_DR_PLAN: is not set/);
    expect(build({ CROSSLINK_DR_PLAN: JSON.stringify(exampleDoc()) })).toThrow(
      /CROSSLINK_DR_PLAN: payments-api's traffic switch is on aws/,
    );
    expect(build({ CROSSLINK_DR_PLAN: JSON.stringify(ledgerDoc()) }, 'europe-west1')).toThrow(
      /region: europe-west1: ledger's executor runs on gcp .*must not run in europe-west1, the primary's region/,
    );
  });
});
