/**
 * Google's route for the operators' controls (functions/gcp/dr-control.ts over
 * functions/core/dr/control-taking.ts) on the Firestore emulator, its dependencies built as the
 * deployed `dr-control` function builds them (the ledger plan from CROSSLINK_DR_PLAN, the decision
 * hook starting the dr-failover workflow, the Workflow Executions API's calls recorded): a pause
 * recorded as the verified caller and holding the decider, a resume letting the failover through; an
 * approval required: the run awaiting it, a wrong epoch refused (409 naming the field), the right one
 * letting the move through at the next epoch; a run under way held between actions by a pause and
 * going on after the resume; a malformed body 400 per field; no verified caller 401; racing and
 * retried requests recorded once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '#core/clock.ts';
import { handOnDecisions } from '#core/dr/decision-hook.ts';
import { drExecutorStep } from '#core/dr/executor-steps.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import type { DrPlanDocument } from '#core/dr/plan.ts';
import type { CloudEvent } from '#core/envelope.ts';
import { buildGcpDrControlDeps, type GcpDrControlDeps, handleDrControl } from '#gcp/dr-control.ts';
import { buildGcpDrExecutorDeps } from '#gcp/dr-executor.ts';
import { FirestoreDrExecutorStore } from '#gcp/dr-executor-store.ts';
import { SIGNATURE_REMOVED } from '#gcp/intake.ts';
import { FirestoreSignalLog } from '#gcp/signal-log.ts';
import { ledgerDoc, ledgerMinute } from '../support/dr-ledger.ts';
import { startTestFirestore, type TestFirestore } from '../support/firestore.ts';
import { exampleDoc } from '../unit/dr/helpers.ts';

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const WORKFLOW = 'projects/crosslink-hub/locations/us-east4/workflows/dr-failover';
const CAROL = 'carol@example.com';
const PLACEMENT = { project: 'crosslink-hub', region: 'europe-west4' };

let firestore: TestFirestore;
beforeAll(async () => {
  firestore = await startTestFirestore();
}, 120_000);
afterAll(async () => {
  await firestore?.stop();
});

/** A Google ID token as Cloud Run forwards one it verified: its signature replaced by its mark. */
function verified(email: string, signature = SIGNATURE_REMOVED): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `Bearer ${part({ alg: 'RS256' })}.${part({ email, aud: 'https://dr-control' })}.${signature}`;
}

/** The route as deployed over one fresh database, executions recorded. */
function harness(approval: 'none' | 'required', doc: DrPlanDocument = ledgerDoc()) {
  doc.decider = { approval };
  const db = firestore.db();
  const clock = new ManualClock(new Date(T0).toISOString());
  const events: CloudEvent[] = [];
  const bus = { put: async (e: CloudEvent[]) => void events.push(...e) };
  const created: { name: string; decision: Decision }[] = [];
  const env = {
    CROSSLINK_DR_PLAN: JSON.stringify(doc),
    CROSSLINK_DR_FAILOVER_WORKFLOW: 'dr-failover',
    CROSSLINK_DR_FAILOVER_LOCATION: 'us-east4',
  };
  const executions = {
    create: async (workflow: string, body: { argument?: unknown; labels?: Record<string, string> }) => {
      expect(workflow).toBe(WORKFLOW);
      const name = `${WORKFLOW}/executions/exec-${created.length + 1}`;
      created.push({ name, decision: (body.argument as { decision: Decision }).decision });
      return { name, state: 'ACTIVE', ...(body.labels && { labels: body.labels }) };
    },
    list: async () => [],
    cancel: async (name: string) => ({ name, state: 'CANCELLED' }),
  };
  const deps: GcpDrControlDeps = buildGcpDrControlDeps(env, PLACEMENT, {
    firestore: db,
    bus,
    clock,
    executions,
  });
  const executor = () => buildGcpDrExecutorDeps(env, PLACEMENT, { firestore: db, bus, clock });
  const log = new FirestoreSignalLog(db);
  const post = async (
    body: unknown,
    o: { by?: string; authorization?: string; key?: string; service?: string } = {},
  ) => {
    const answer = await handleDrControl(deps, {
      method: 'POST',
      path: `/dr/${o.service ?? 'ledger'}/controls`,
      headers: {
        authorization: o.authorization ?? verified(o.by ?? CAROL),
        ...(o.key && { 'idempotency-key': o.key }),
      },
      rawBody: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    });
    return { status: answer.statusCode, body: JSON.parse(answer.body) };
  };
  /** The minutes from `from` to `to` (exclusive) recorded, the hook run at each as dr-signals does. */
  const everyMinute = async (from: number, to: number, outageAt: number) => {
    const handed: Decision[] = [];
    for (let at = from; at < to; at += 60_000) {
      clock.set(at);
      await log.record(ledgerMinute(at, at >= outageAt ? 'unhealthy' : 'healthy'));
      handed.push(...(await handOnDecisions(deps.decide as never)).decisions);
    }
    return handed;
  };
  return {
    deps,
    executor,
    runs: new FirestoreDrExecutorStore(db),
    log,
    clock,
    created,
    events,
    post,
    everyMinute,
  };
}

describe("Google's route for the operators' controls", () => {
  it('records a pause as the verified caller at the deployment’s time; the decider holds; the resume lets the failover through', async () => {
    // Arrange
    const h = harness('none');
    await h.everyMinute(T0, T0 + 2 * 60_000, Number.POSITIVE_INFINITY);

    // Act: paused, then an outage of the primary for ten minutes
    const paused = await h.post({ control: 'pause' });
    const again = await h.post({ control: 'pause' });
    const during = await h.everyMinute(T0 + 2 * 60_000, T0 + 12 * 60_000, T0 + 2 * 60_000);

    // Assess: recorded once, as carol, at the clock's time; nothing started while paused
    expect(paused.status).toBe(201);
    expect(paused.body.control).toEqual({
      time: new Date(T0 + 60_000).toISOString(),
      control: 'pause',
      service: 'ledger',
      by: CAROL,
    });
    expect(again.status).toBe(409);
    expect(again.body.error).toEqual({
      code: 'ControlRefusedError',
      message: 'ledger: control: already paused',
    });
    expect(during.filter((d) => d.decision !== 'hold')).toEqual([]);
    expect(h.created).toEqual([]);
    expect((await h.log.controls('ledger')).map((c) => [c.sequence, c.record.control])).toEqual([
      [1, 'pause'],
    ]);

    // Act: resumed while the outage lasts
    const resumed = await h.post({ control: 'resume' });

    // Assess: the decider moves at once, and the dr-failover workflow is started with the failover
    expect(resumed.status).toBe(201);
    expect(resumed.body.decisions.map((d: Decision) => d.decision)).toContain('failover');
    expect(h.created.map((c) => c.decision.decision)).toEqual(['failover']);
    expect((await h.post({ control: 'resume' })).body.error.message).toBe(
      'ledger: control: running (not paused)',
    );
  });

  it('an approval required: a wrong epoch refused naming the field; the right one lets the move through at the next epoch', async () => {
    // Arrange: the outage's failover pending, the workflow's claim opening the run awaiting approval
    const h = harness('required');
    await h.everyMinute(T0, T0 + 8 * 60_000, T0 + 60_000);
    const pending = h.created[0]?.decision as Decision;
    expect(pending.approval).toBe('pending');
    const opened = await drExecutorStep(h.executor(), {
      step: 'claim',
      decision: pending,
      execution: h.created[0]?.name,
    });
    expect(opened.status).toBe('awaiting-approval');

    // Act
    const wrong = await h.post({ control: 'approve', epoch: pending.epoch + 1 });
    const approved = await h.post({ control: 'approve', epoch: pending.epoch });

    // Assess: the wrong epoch refused, nothing recorded for it; the approval recorded and handed on to
    // the open run (no second execution), which now runs the failover at the next epoch
    expect(wrong.status).toBe(409);
    expect(wrong.body.error.code).toBe('ControlRefusedError');
    expect(wrong.body.error.message).toMatch(/^ledger: epoch: /);
    expect(approved.status).toBe(201);
    expect(approved.body.control).toMatchObject({
      control: 'approve',
      by: CAROL,
      decision: 'failover',
      epoch: pending.epoch,
    });
    expect(approved.body.decisions).toEqual([
      expect.objectContaining({ decision: 'failover', approval: 'approved', epoch: pending.epoch + 1 }),
    ]);
    expect((await h.log.controls('ledger')).map((c) => c.record.control)).toEqual(['approve']);
    expect(h.created).toHaveLength(1);
    expect((await h.runs.current('ledger'))?.run).toMatchObject({
      status: 'running',
      epoch: pending.epoch + 1,
    });
  });

  it('holds a run under way between actions while paused, and goes on after the resume', async () => {
    // Arrange: the failover claimed by its execution; its fence of Cloud SQL (Google's own hook, the
    // workflow's call) done; its next action (the promotion, on AWS) started
    const h = harness('none');
    // (up to the decision's minute: the fence's 2m deadline counts from it)
    await h.everyMinute(T0, T0 + 3 * 60_000, T0 + 60_000);
    const move = h.created[0]?.decision as Decision;
    await drExecutorStep(h.executor(), { step: 'claim', decision: move, execution: h.created[0]?.name });
    const fence = (await h.runs.current('ledger'))?.run.steps.find((s) => s.status === 'started');
    expect([fence?.action.type, fence?.via]).toEqual(['fence-writer', 'local']);
    await drExecutorStep(h.executor(), {
      step: 'local-result',
      service: 'ledger',
      epoch: move.epoch,
      index: fence?.index,
      outcome: 'succeeded',
    });
    const promotion = (await h.runs.current('ledger'))?.run.steps.find((s) => s.status === 'started');
    expect([promotion?.action.type, promotion?.via]).toEqual(['promote-replica', 'relay']);

    // Act: paused while the promotion runs; its result relayed back; the workflow polls
    expect((await h.post({ control: 'pause' })).status).toBe(201);
    await h.executor().runs.putResult(
      {
        service: 'ledger',
        epoch: move.epoch,
        index: promotion?.index as number,
        outcome: 'succeeded',
        time: new Date(h.clock.now()).toISOString(),
      },
      new Date(h.clock.now()).toISOString(),
    );
    const held = await drExecutorStep(h.executor(), { step: 'poll', service: 'ledger' });
    const heldRun = (await h.runs.current('ledger'))?.run;

    // Assess: the promotion's result taken, the next action not started
    expect(held).toMatchObject({ status: 'running', finished: false });
    expect(held.waitSeconds).toBeGreaterThan(0);
    expect(held.local).toBeUndefined();
    expect(heldRun?.paused).toMatchObject({ by: CAROL });
    expect(heldRun?.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'pending', 'pending']);

    // Act: resumed; the workflow's next poll
    h.clock.advance(60_000);
    expect((await h.post({ control: 'resume' })).status).toBe(201);
    await drExecutorStep(h.executor(), { step: 'poll', service: 'ledger' });

    // Assess: the next action started
    const after = (await h.runs.current('ledger'))?.run;
    expect(after?.paused).toBeNull();
    expect(after?.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'started', 'pending']);
  });

  it('refuses a malformed body with one issue per field, and answers 401 without a caller Cloud Run verified', async () => {
    // Arrange
    const h = harness('none');

    // Act
    const malformed = await h.post({ control: 'stop', epoch: 'x', by: 'mallory@example.com' });
    const notJson = await h.post('{control');
    const forged = await h.post({ control: 'pause' }, { authorization: verified(CAROL, 'forged-signature') });
    const none = await h.post({ control: 'pause' }, { authorization: '' });
    const otherService = await h.post({ control: 'pause' }, { service: 'payments-api' });
    const drill = await h.post({ control: 'drill', phase: 'start' });
    const badPath = await h.post({ control: 'pause' }, { service: '%E0' });

    // Assess
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.issues.map((i: { path: string }) => i.path)).toEqual([
      'control',
      'epoch',
      'by',
    ]);
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.issues[0].path).toBe('(body)');
    expect(forged.status).toBe(401);
    expect(none.status).toBe(401);
    expect(otherService.status).toBe(404);
    expect(otherService.body.error.message).toMatch(/^service: /);
    expect(drill.status).toBe(400);
    expect(drill.body.error.issues).toEqual([
      { path: 'control', reason: expect.stringMatching(/only for a plan AWS executes/) },
    ]);
    expect(badPath.status).toBe(400);
    expect(badPath.body.error.issues[0].path).toBe('service');
    expect(await h.log.controls('ledger')).toEqual([]);
  });

  it('records one control of racing requests, and a request retried with its key once', async () => {
    // Arrange
    const h = harness('none');

    // Act: two pauses at once; then a resume retried with the same key
    const racing = await Promise.all([h.post({ control: 'pause' }), h.post({ control: 'pause' })]);
    const first = await h.post({ control: 'resume' }, { key: 'k-1' });
    const retried = await h.post({ control: 'resume' }, { key: 'k-1' });
    const stranger = await h.post({ control: 'resume' }, { key: 'k-1', by: 'alice@example.com' });

    // Assess
    expect(racing.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(first.status).toBe(201);
    expect(retried).toMatchObject({ status: 200, body: { recorded: false, control: first.body.control } });
    expect(stranger.status).toBe(409);
    expect((await h.log.controls('ledger')).map((c) => c.record.control)).toEqual(['pause', 'resume']);
  });

  it('refuses a plan AWS executes: its controls are taken in the AWS log', async () => {
    // Arrange: the payments plan, switched by ARC
    const h = harness('none', exampleDoc());

    // Act
    const refused = await h.post({ control: 'pause' }, { service: 'payments-api' });

    // Assess
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/^service: payments-api's traffic switch is on aws/);
    expect(await h.log.controls('payments-api')).toEqual([]);
  });
});
