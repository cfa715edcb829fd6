/**
 * The DR executor's AWS adapter (functions/aws/dr-executor.ts) on the local cloud with IAM enforced:
 * its state in the local cloud's DynamoDB (the links table), the ARC flip under the executor's role
 * through the cluster's regional endpoints, the catalog events it puts on the bus (a recording sink
 * here). The commanded sides are played by the test (Google's across the relay, AWS's drCommanded
 * for the failover's fence of Aurora and the failback's hooks on AWS): it performs the world's admin
 * actions the hooks would call (`service-fence`, `service-promote`, `service-scale`) and answers with
 * `DrActionFinished` as the relay or drCommanded would bring it. Proved: a failover run in order under one epoch (Aurora fenced first) to
 * `DrFailedOver` with traffic moved; the
 * same decision again refused and recorded; a relayed action with no result stalls the run at its
 * deadline and pages, and its late success pages; a redelivered result advances the run once; and the
 * real dr-failover ASL on the local Step Functions driving the adapter as the deployed Lambda; a
 * failback's fence of AlloyDB across the relay, then its hooks on AWS commanded on the bus (`via:
 * commanded`, the test playing drCommanded: Aurora, a fenced stale writer, re-seeded before its
 * promotion), never invoked by the executor, then the flip back; a hook's failure taken from
 * drCommanded's `DrActionFinished` (`reportedBy: commanded`) and the executor's own refused as a
 * result (test/local/dr-executor-own-hooks-aws.test.ts runs the hooks through drCommanded).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ArcAction, flipRoutingControls } from '#aws/arc-switch.ts';
import {
  applyExecutorInput,
  type DrExecutorDeps,
  drExecutorStep,
  type ExecutorPage,
  parseExecutorInput,
  resultOfFinished,
} from '#aws/dr-executor.ts';
import { DynamoDbDrExecutorStore } from '#aws/dr-executor-store.ts';
import { ACTION_RESENDS, lateResultsUntil, type Run } from '#core/dr/executor.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import { buildEvent, type CloudEvent, type Origin } from '#core/envelope.ts';
import type { DrActionFinishedData, DrActionStartedData } from '#core/events/catalog.ts';
import type { LocalCloud } from '#local/index.ts';
import {
  cellState,
  createPaymentsAtArcAddresses,
  deployPaymentsWorld,
  drFailoverStateMachine,
  executorSession,
  failoverPlanOf,
  type PaymentsWorld,
  primaryCellOn,
  promoteReseeding,
  type SessionCredentials,
} from '../support/dr-world.ts';
import { createLinksTable } from '../support/links-table.ts';
import { ADMIN_CREDENTIALS, admin, startTestCloud } from '../support/local-cloud.ts';
import { failoverDecision } from '../unit/dr/helpers.ts';

let cloud: LocalCloud;
let world: PaymentsWorld;
let plan: DrPlan;
let executor: SessionCredentials;
let dynamo: DynamoDBClient;
let tables = 0;
const act = (action: string, body: unknown) => admin(cloud, 'POST', `/world/${action}`, body);
const iso = (ms: number) => new Date(ms).toISOString();

beforeAll(async () => {
  cloud = await startTestCloud();
  await createPaymentsAtArcAddresses(cloud, { rpo: '1m' });
  world = await deployPaymentsWorld(cloud);
  executor = await executorSession(cloud);
  plan = failoverPlanOf(cloud, world);
  dynamo = new DynamoDBClient({
    region: 'us-west-2',
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
  });
}, 90_000);

afterAll(async () => {
  dynamo?.destroy();
  await cloud?.stop();
});

/**
 * The primary's cell On, the standby's Off, as before an outage. The executor's session is taken
 * afresh, as each invocation of the function has its role's: the tests share one clock, and runs
 * that stall wait through their actions' timeouts, past a session's hour.
 */
beforeEach(async () => {
  await cloud.clock.advance(10_000); // past the safety rule's wait period since the last change
  executor = await executorSession(cloud);
  await primaryCellOn(world, executor);
  await cloud.clock.advance(10_000);
});

interface Harness {
  deps: DrExecutorDeps;
  store: DynamoDbDrExecutorStore;
  events: CloudEvent[];
  pages: ExecutorPage[];
  flips: number;
}

async function harness(): Promise<Harness> {
  const TableName = `crosslink-links-${++tables}`;
  await createLinksTable(dynamo, TableName);
  const store = new DynamoDbDrExecutorStore(dynamo, TableName);
  const h: Harness = { events: [], pages: [], flips: 0, store, deps: undefined as unknown as DrExecutorDeps };
  h.deps = {
    plan,
    runs: store,
    bus: { put: async (events) => void h.events.push(...events) },
    origin: { cloud: 'aws', accountId: cloud.aws.accountId, region: 'us-west-2' },
    clock: cloud.clock,
    flip: async (action) => {
      h.flips++;
      return flipRoutingControls({ credentials: executor }, { endpoints: world.endpoints, action });
    },
    page: (p) => void h.pages.push(p),
  };
  return h;
}

const failover = (epoch: number) => failoverDecision(plan, { epoch, time: iso(cloud.clock.now()) });
/** The state machine's Decide input: the decision and the execution that gives it. */
const decide = (epoch: number, execution = `payments-api-${epoch}`) =>
  ({ drExecutor: 'decision', decision: failover(epoch), execution }) as const;

/** The failback of the plan under `epoch`, approved (the flip back to the primary last). */
const failback = (epoch: number) =>
  failoverDecision(plan, {
    epoch,
    time: iso(cloud.clock.now()),
    decision: 'failback',
    active: 'primary',
    actions: plan.actions.failback,
  });

const names = (events: CloudEvent[]) => events.map((e) => e.type.replace(/^crosslink\.|\.v1$/g, ''));
const lastStarted = (h: Harness) =>
  h.events.filter((e) => e.type.includes('DrActionStarted')).at(-1)?.data as DrActionStartedData;

/** The deadline of the action under way in a run. */
function lastStartedOf(run: { steps: { status: string; deadline?: string }[] } | undefined): string {
  const deadline = run?.steps.find((s) => s.status === 'started')?.deadline;
  if (!deadline) throw new Error('no action under way');
  return deadline;
}

/**
 * Ticks at each deadline of the action under way, no result coming, until the run stalls: its
 * command sent again `ACTION_RESENDS` times first, each with its whole timeout. The last tick's state.
 */
async function tickToStall(h: Harness, opened?: string) {
  let state: Awaited<ReturnType<typeof applyExecutorInput>> | undefined;
  for (let i = 0; i <= ACTION_RESENDS; i++) {
    const run = (await h.deps.runs.current(plan.service))?.run;
    await cloud.clock.advance(Date.parse(lastStartedOf(run)) - cloud.clock.now());
    state = await applyExecutorInput(h.deps, {
      drExecutor: 'tick',
      service: plan.service,
      ...(opened && { opened }),
    });
  }
  return state as NonNullable<typeof state>;
}

/** The world's admin actions on the service's `side`. */
const on = (side: 'aws' | 'gcp') => (action: string, body: Record<string, unknown>) =>
  act(action, { name: 'payments-api', cloud: side, ...body });

/**
 * The commanded side as the test plays it: Google's across the relay (`via: relay`), or AWS's
 * drCommanded for an action with a hook on AWS (`via: commanded`, its result `reportedBy:
 * commanded`): the hook's admin action on the action's cloud, then its DrActionFinished.
 */
async function commandedRuns(started: DrActionStartedData): Promise<DrActionFinishedData> {
  const action = plan.actions[started.decision][started.index];
  const side = started.action.cloud;
  let detail: string | undefined;
  if (action?.type === 'fence-writer') {
    const out = await act('service-fence', { name: 'payments-api', cloud: side });
    detail = `fenced: ${side} ${out.role}, its writes revoked`;
  } else if (action?.type === 'promote-replica') detail = (await promoteReseeding(on(side), side)).detail;
  else if (action?.type === 'scale-standby')
    await act('service-scale', { name: 'payments-api', cloud: side, capacity: action.capacity });
  await cloud.clock.advance(1_000);
  return {
    service: started.service,
    decision: started.decision,
    epoch: started.epoch,
    index: started.index,
    action: started.action,
    outcome: 'succeeded',
    ...(detail !== undefined && { detail }),
    ...(started.via === 'commanded' && { reportedBy: 'commanded' as const }),
    finishedAt: iso(cloud.clock.now()),
  };
}

/** Answers the failover's first command, the fence of Aurora on AWS, as drCommanded does. */
async function answerFence(h: Harness): Promise<void> {
  const fence = lastStarted(h);
  if (fence.action.type !== 'fence-writer' || fence.via !== 'commanded')
    throw new Error(`expected the fence commanded on AWS first, got ${fence.action.type} via ${fence.via}`);
  await applyExecutorInput(h.deps, {
    drExecutor: 'result',
    result: resultOfFinished(await commandedRuns(fence)),
  });
}

const cell = (arn: string) => cellState(world, arn);

describe('the DR executor on AWS', () => {
  it('runs a failover in order under one epoch: its fence of Aurora, two relayed actions, then the ARC flip, to DrFailedOver', async () => {
    // Prepare
    const h = await harness();

    // Act
    const opened = await applyExecutorInput(h.deps, decide(4));
    const fenced = resultOfFinished(await commandedRuns(lastStarted(h)));
    await applyExecutorInput(h.deps, { drExecutor: 'result', result: fenced });
    const promoted = resultOfFinished(await commandedRuns(lastStarted(h)));
    const afterPromote = await applyExecutorInput(h.deps, { drExecutor: 'result', result: promoted });
    const scaled = resultOfFinished(await commandedRuns(lastStarted(h)));
    const done = await applyExecutorInput(h.deps, { drExecutor: 'result', result: scaled });

    // Assess
    expect(opened).toMatchObject({ epoch: 4, status: 'running', finished: false, supervise: true });
    expect(Date.parse(opened.waitUntil as string)).toBeGreaterThan(cloud.clock.now() - 60_000);
    expect(afterPromote).toMatchObject({ status: 'running', finished: false });
    expect(done).toEqual({
      service: plan.service,
      epoch: 4,
      opened: opened.opened,
      status: 'succeeded',
      finished: true,
      supervise: false,
    });
    expect(names(h.events)).toEqual([
      ...Array(4).fill(['DrActionStarted', 'DrActionFinished']).flat(),
      'DrFailedOver',
    ]);
    const started = h.events
      .filter((e) => e.type.includes('DrActionStarted'))
      .map((e) => e.data as DrActionStartedData);
    expect(started.map((s) => [s.index, s.epoch, s.via, s.action.type])).toEqual([
      [0, 4, 'commanded', 'fence-writer'],
      [1, 4, 'relay', 'promote-replica'],
      [2, 4, 'relay', 'scale-standby'],
      [3, 4, 'local', 'arc-routing-control'],
    ]);
    expect(h.events.every((e) => e.crosslinkorigin === 'aws')).toBe(true);
    expect([await cell(world.out.GcpCell), await cell(world.out.AwsCell)]).toEqual(['On', 'Off']);
    expect(h.flips).toBe(1);
    expect(h.pages).toEqual([]);
    const stored = await h.deps.runs.current(plan.service);
    expect(stored?.run.steps.map((s) => [s.status, s.epoch])).toEqual([
      ['succeeded', 4],
      ['succeeded', 4],
      ['succeeded', 4],
      ['succeeded', 4],
    ]);
    expect(stored?.run.steps[0]?.detail).toBe('fenced: aws writer, its writes revoked');
    expect(stored?.run.steps[3]?.detail).toMatch(/^via us-/);
    const db = (await act('service', { name: plan.service })).database;
    expect(db.aws).toMatchObject({ role: 'writer', fenced: true });
    expect(db.gcp).toMatchObject({ role: 'writer', fenced: false });
  });

  it("runs a failback's fence across the relay, then its hooks on AWS commanded on the bus in order (never invoked by the executor), then the flip back, to DrFailedBack", async () => {
    // Prepare: the world failed over (Aurora fenced, AlloyDB the writer, the standby's cell On)
    const h = await harness();
    const before = (await act('service', { name: plan.service })).database;
    if (before.aws.role === 'writer') await act('service-fence', { name: plan.service, cloud: 'aws' });
    if (before.gcp.role !== 'writer') await promoteReseeding(on('gcp'), 'gcp');
    await act('service-scale', { name: plan.service, cloud: 'aws', capacity: 0 });
    await flipRoutingControls(
      { credentials: executor },
      { endpoints: world.endpoints, action: plan.actions.failover[3] as ArcAction },
    );
    await cloud.clock.advance(10_000); // past the safety rule's wait period since the flip

    // Act: each command answered by its commanded side (Google's across the relay, drCommanded's on AWS)
    let out = await applyExecutorInput(h.deps, {
      drExecutor: 'decision',
      decision: failback(5),
      execution: 'payments-api-5',
    });
    const opened = out;
    const commands: DrActionStartedData[] = [];
    while (!out.finished && lastStarted(h).action.type !== 'arc-routing-control') {
      commands.push(lastStarted(h));
      const result = resultOfFinished(await commandedRuns(lastStarted(h)));
      out = await applyExecutorInput(h.deps, { drExecutor: 'result', result });
    }

    // Assess
    expect(opened).toMatchObject({ epoch: 5, status: 'running', finished: false });
    expect(out).toMatchObject({ epoch: 5, status: 'succeeded', finished: true });
    expect(commands.map((c) => [c.index, c.via, c.action.type, c.action.cloud])).toEqual([
      [0, 'relay', 'fence-writer', 'gcp'],
      [1, 'commanded', 'promote-replica', 'aws'],
      [2, 'commanded', 'scale-standby', 'aws'],
    ]);
    expect(names(h.events)).toEqual([
      ...Array(4).fill(['DrActionStarted', 'DrActionFinished']).flat(),
      'DrFailedBack',
    ]);
    const stored = (await h.deps.runs.current(plan.service))?.run;
    expect(stored?.steps.map((s) => [s.status, s.via])).toEqual([
      ['succeeded', 'relay'],
      ['succeeded', 'commanded'],
      ['succeeded', 'commanded'],
      ['succeeded', 'local'],
    ]);
    expect(stored?.steps[1]?.detail).toMatch(
      /^re-seeded \(\d+ stale writes discarded\), promoted: lost 0 writes over 0 ms$/,
    );
    const service = await act('service', { name: plan.service });
    expect(service.database.aws).toMatchObject({ role: 'writer', fenced: false });
    expect(service.database.gcp).toMatchObject({ role: 'writer', fenced: true });
    expect(service.database.splitBrains).toEqual([]);
    expect([await cell(world.out.AwsCell), await cell(world.out.GcpCell)]).toEqual(['On', 'Off']);
    expect(h.pages).toEqual([]);
  });

  it("takes a failback hook's failure on AWS from drCommanded (reportedBy: commanded), refuses the executor's own as a result: the run fails, nothing flipped", async () => {
    // Prepare
    const h = await harness();

    // Act: AlloyDB fenced across the relay, then Aurora's promotion commanded on the bus fails
    const opened = await applyExecutorInput(h.deps, {
      drExecutor: 'decision',
      decision: failback(6),
      execution: 'payments-api-6',
    });
    const fenced = resultOfFinished(await commandedRuns(lastStarted(h)));
    await applyExecutorInput(h.deps, { drExecutor: 'result', result: fenced });
    const command = lastStarted(h);
    const reply = (data: DrActionFinishedData, origin: 'aws' | 'gcp' = 'aws') =>
      drExecutorStep(h.deps, {
        version: '0',
        id: `ev-${data.index}`,
        'detail-type': 'DrActionFinished',
        source: 'crosslink',
        detail: buildEvent({
          name: 'DrActionFinished',
          origin: { ...h.deps.origin, cloud: origin } as Origin,
          subject: data.service,
          data,
          clock: cloud.clock,
        }),
      });
    const failed: DrActionFinishedData = {
      service: command.service,
      decision: command.decision,
      epoch: command.epoch,
      index: command.index,
      action: command.action,
      outcome: 'failed',
      detail: 'HookFailed: payments-promote-aurora failed (Unhandled): ReplicaLagging: not caught up',
      finishedAt: iso(cloud.clock.now()),
    };
    const own = await reply(failed).catch((e: unknown) => e);
    const out = await reply({ ...failed, reportedBy: 'commanded' });

    // Assess
    expect(opened).toMatchObject({ epoch: 6, status: 'running', finished: false });
    expect(command).toMatchObject({
      index: 1,
      via: 'commanded',
      action: { type: 'promote-replica', cloud: 'aws' },
    });
    expect((own as Error).message).toMatch(
      /data\.reportedBy: a DrActionFinished from aws is a result only when its commanded side reports it/,
    );
    expect(out).toMatchObject({ epoch: 6, status: 'failed', finished: true });
    const stored = (await h.deps.runs.current(plan.service))?.run;
    expect(stored?.steps.map((s) => [s.via, s.status])).toEqual([
      ['relay', 'succeeded'],
      ['commanded', 'failed'],
      ['commanded', 'pending'],
      ['local', 'pending'],
    ]);
    expect(stored?.steps[1]?.detail).toBe(failed.detail);
    expect(h.pages.map((p) => p.reason)).toEqual(['action-failed']);
    expect(h.flips).toBe(0);
  });

  it('finds its own claim again when the claiming execution retries, starting the action under way again; refuses and records the same decision from any other, open or finished', async () => {
    // Prepare
    const h = await harness();
    await applyExecutorInput(h.deps, decide(4, 'payments-api-4'));
    await answerFence(h);
    const before = await h.store.current(plan.service);
    // The promotion's command, across the relay (the fence before it answered by drCommanded).
    const firstStart = h.events.filter((e) => e.type.includes('DrActionStarted')).at(-1)?.data;
    h.events.length = 0;

    // Act
    const retried = await applyExecutorInput(h.deps, decide(4, 'payments-api-4'));
    const afterRetry = await h.store.current(plan.service);
    const whileOpen = await applyExecutorInput(h.deps, decide(4, 'payments-api-4-again'));
    const open = await h.store.current(plan.service);
    await tickToStall(h);
    const afterEnd = await applyExecutorInput(h.deps, decide(4, 'payments-api-4-later'));
    await cloud.clock.advance(1_000);
    const stale = await applyExecutorInput(h.deps, decide(3, 'payments-api-3'));

    // Assess
    expect(retried).toMatchObject({ epoch: 4, status: 'running', finished: false, supervise: true });
    expect(afterRetry).toEqual(before);
    expect(whileOpen).toMatchObject({
      status: 'not-taken',
      finished: true,
      supervise: false,
      refused: expect.stringMatching(/epoch 4 is not above the claimed epoch 4/),
    });
    expect(open).toEqual(before);
    expect(afterEnd).toMatchObject({
      status: 'not-taken',
      finished: true,
      refused: expect.stringMatching(/not above the claimed epoch 4/),
    });
    expect(stale).toMatchObject({
      status: 'not-taken',
      refused: expect.stringMatching(/epoch 3 is not above/),
    });
    expect((await h.store.refusals(plan.service)).map((r) => r.epoch)).toEqual([4, 4, 3]);
    expect((await h.store.current(plan.service))?.run).toMatchObject({ epoch: 4, status: 'stalled' });
    // The retry started the action under way again, the same command (its epoch, index and
    // deadline: the fence on Google answers it once), and changed nothing stored; then, with no
    // result, the command sent again at each deadline, and the stall's DrActionFinished. The refused
    // claims started nothing.
    expect(names(h.events)).toEqual([
      'DrActionStarted',
      ...Array(ACTION_RESENDS).fill('DrActionStarted'),
      'DrActionFinished',
    ]);
    expect(h.events[0]?.data).toEqual(firstStart);
    const resent = h.events.slice(1, 1 + ACTION_RESENDS).map((e) => e.data as DrActionStartedData);
    expect(resent.map((d) => [d.epoch, d.index, d.startedAt])).toEqual(
      Array(ACTION_RESENDS).fill([4, 1, (firstStart as DrActionStartedData).startedAt]),
    );
    expect(new Set(resent.map((d) => d.deadline)).size).toBe(ACTION_RESENDS);
    expect(h.flips).toBe(0);
  });

  it('refuses a decision that names no execution, naming the field', () => {
    expect(() => parseExecutorInput({ drExecutor: 'decision', decision: failover(4) })).toThrow(
      /execution: must name the state machine execution that gives the decision/,
    );
  });

  it('stalls at a relayed action deadline with no result and pages, watches the stalled run, and goes on from a late success', async () => {
    // Prepare
    const h = await harness();
    const { opened } = await applyExecutorInput(h.deps, decide(7));
    await answerFence(h);
    const promote = lastStarted(h);

    // Act
    const early = await applyExecutorInput(h.deps, { drExecutor: 'tick', service: plan.service, opened });
    const stalled = await tickToStall(h, opened);
    const run = (await h.deps.runs.current(plan.service))?.run as Run;
    await cloud.clock.advance(60_000);
    const late = await applyExecutorInput(h.deps, {
      drExecutor: 'result',
      result: resultOfFinished({ ...promote, outcome: 'succeeded', finishedAt: promote.deadline }),
    });
    const replaced = await applyExecutorInput(h.deps, {
      drExecutor: 'tick',
      service: plan.service,
      opened: '2026-01-01T00:00:00.000Z',
    });

    // Assess: the stall pages at once, and the execution watches on until the late-result window ends
    expect(early).toMatchObject({ status: 'running', finished: false });
    expect(stalled).toMatchObject({ service: plan.service, epoch: 7, status: 'stalled', finished: false });
    const until = lateResultsUntil(run) as string;
    expect(Date.parse(stalled.waitUntil as string)).toBeLessThanOrEqual(Date.parse(until));
    expect(h.pages.map((p) => p.reason)).toEqual(['action-timed-out']);
    expect(h.pages[0]?.message).toContain(`its result until ${until} lets the run go on`);
    // The late success within it: the run goes on, the scaling commanded with its whole timeout
    expect(late).toMatchObject({ status: 'running', finished: false });
    const scale = lastStarted(h);
    expect(scale.index).toBe(2);
    expect(Date.parse(scale.deadline) - cloud.clock.now()).toBe(run.steps[2]?.timeoutMs);
    expect(
      h.events
        .filter((e) => e.type.includes('DrActionFinished'))
        .map((e) => (e.data as DrActionFinishedData).outcome),
    ).toEqual(['succeeded', 'timed-out', 'succeeded']);
    // A tick from the execution of a run since replaced ends that execution, and changes nothing
    expect(replaced).toMatchObject({ epoch: 7, status: 'running', finished: true });
    expect(h.flips).toBe(0);
  });

  it('pages stale-result for a late success after the late-result window, where the execution stopped watching', async () => {
    // Prepare
    const h = await harness();
    const { opened } = await applyExecutorInput(h.deps, decide(8));
    await answerFence(h);
    const promote = lastStarted(h);
    await tickToStall(h, opened);
    const run = (await h.deps.runs.current(plan.service))?.run as Run;

    // Act
    await cloud.clock.advance(Date.parse(lateResultsUntil(run) as string) - cloud.clock.now());
    const ended = await applyExecutorInput(h.deps, { drExecutor: 'tick', service: plan.service, opened });
    const late = await applyExecutorInput(h.deps, {
      drExecutor: 'result',
      result: resultOfFinished({ ...promote, outcome: 'succeeded', finishedAt: promote.deadline }),
    });

    // Assess
    expect(ended).toEqual({
      service: plan.service,
      epoch: 8,
      opened,
      status: 'stalled',
      finished: true,
      supervise: true,
    });
    expect(late.status).toBe('stalled');
    expect(h.pages.map((p) => p.reason)).toEqual(['action-timed-out', 'stale-result']);
    expect(names(h.events)).toEqual([
      'DrActionStarted',
      'DrActionFinished',
      ...Array(1 + ACTION_RESENDS).fill('DrActionStarted'),
      'DrActionFinished',
    ]);
    expect(h.events.at(-1)?.data).toMatchObject({
      outcome: 'timed-out',
    } satisfies Partial<DrActionFinishedData>);
    expect(h.flips).toBe(0);
    expect([await cell(world.out.AwsCell), await cell(world.out.GcpCell)]).toEqual(['On', 'Off']);
  });

  it('takes a redelivered result once: two deliveries at the same time start the next action once', async () => {
    // Prepare
    const h = await harness();
    await applyExecutorInput(h.deps, decide(9));
    await answerFence(h);
    const promoted = resultOfFinished({
      ...lastStarted(h),
      outcome: 'succeeded',
      finishedAt: iso(cloud.clock.now()),
    });

    // Act
    await Promise.all([
      applyExecutorInput(h.deps, { drExecutor: 'result', result: promoted }),
      applyExecutorInput(h.deps, { drExecutor: 'result', result: promoted }),
    ]);

    // Assess
    const started = h.events
      .filter((e) => e.type.includes('DrActionStarted'))
      .map((e) => (e.data as DrActionStartedData).index);
    expect(started).toEqual([0, 1, 2]);
    const run = (await h.deps.runs.current(plan.service))?.run;
    expect(run?.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'started', 'pending']);
    expect(run?.history.at(-1)?.note).toMatch(/result of action 1 under epoch 9 \(succeeded\) not taken/);
  });

  it('runs a failover through the real dr-failover ASL on the local Step Functions, to Done once the run ends', async () => {
    // Prepare: the state machine as serverless.yml deploys it, drExecutor as an in-process Lambda
    const h = await harness();
    const sfn = new SFNClient({
      region: 'us-west-2',
      endpoint: cloud.aws.endpoint,
      credentials: ADMIN_CREDENTIALS,
    });
    const stateMachineArn = await drFailoverStateMachine(
      cloud,
      sfn,
      h.deps,
      `crosslink-dr-failover-${tables}`,
    );
    const status = async (executionArn: string) =>
      (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status;
    const until = async (what: () => Promise<boolean>) => {
      for (let i = 0; i < 200 && !(await what()); i++) await new Promise((r) => setTimeout(r, 50));
    };

    // Act: started with the decision; drCommanded answers the fence, Google the two relayed actions,
    // as the bus rule delivers them
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name: 'payments-api-12',
        input: JSON.stringify({ decision: failover(12) }),
      }),
    );
    await until(async () => h.events.length >= 1);
    const again = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name: 'payments-api-12-again',
        input: JSON.stringify({ decision: failover(12) }),
      }),
    );
    await until(async () => (await status(again.executionArn as string)) !== 'RUNNING');
    for (const index of [0, 1, 2]) {
      await until(async () => lastStarted(h)?.index === index);
      await applyExecutorInput(h.deps, {
        drExecutor: 'result',
        result: resultOfFinished(await commandedRuns(lastStarted(h))),
      });
    }
    const runningBefore = await status(executionArn as string);
    await cloud.clock.advance(10_000); // the wait for the next look
    await until(async () => (await status(executionArn as string)) !== 'RUNNING');

    // Assess
    expect(runningBefore).toBe('RUNNING');
    expect(await status(executionArn as string)).toBe('SUCCEEDED');
    expect(await status(again.executionArn as string)).toBe('SUCCEEDED');
    expect(names(h.events).at(-1)).toBe('DrFailedOver');
    expect(h.flips).toBe(1);
    const run = (await h.deps.runs.current(plan.service))?.run;
    expect(run).toMatchObject({ epoch: 12, status: 'succeeded' });
    // The second execution's claim of the same epoch (another owner) refused and recorded.
    expect((await h.store.refusals(plan.service)).map((r) => [r.epoch, r.reason])).toEqual([
      [12, 'epoch 12 is not above the claimed epoch 12: a duplicate or stale decision'],
    ]);
    sfn.destroy();
  });
});
