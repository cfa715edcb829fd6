/**
 * The payments failback (AWS executes the plan: ARC) on the local cloud with IAM enforced, its hooks
 * on AWS run by AWS's own commanded side: the executor (functions/aws/dr-executor.ts) puts each hook
 * action's `DrActionStarted` (`via: commanded`) on the bus; `DrCommandedRule` (its pattern read from
 * serverless.yml) delivers it to `drCommanded`, a function of the local Lambda runtime whose
 * dependencies `drCommandedDeps` builds under a session of `DrCommandedRole` with the plan's hook
 * grant (config/dr-plan.cjs), which admits it through the fence in the links table, invokes the hook
 * Lambda and puts `DrActionFinished` (`reportedBy: commanded`) on the bus; `DrExecutorRule` (from
 * serverless.yml) delivers that to `drExecutor`, which advances the run: the next hook, then the ARC
 * flip back under the executor's role.
 *
 * Proved: the failback's two hooks each run in an invocation of their own, so that two hooks taking
 * together more than one invocation allows (`drCommanded`'s limit scaled down to 20 s with a 1 s
 * margin, each hook taking 11 s: 8 s to spare alone on a loaded machine, 3 s over the limit
 * together) both succeed, and the run ends `succeeded` with traffic back on AWS; the executor's own
 * `DrActionFinished` never comes back to it; the state machine's retried Decide sends the hook's
 * command again and the fence runs the hook once; a `drCommanded` invocation that crashes after its
 * hook answered is retried by Lambda's asynchronous retry and answered from the
 * fence: the hook runs once, and the run takes the result once.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ArcAction, flipRoutingControls } from '#aws/arc-switch.ts';
import {
  type DrCommandedOutcome,
  drCommandedDeps,
  drCommandedStep,
  type Invocation,
} from '#aws/dr-commanded.ts';
import {
  applyExecutorInput,
  type DrExecutorDeps,
  drExecutorStep,
  type ExecutorPage,
} from '#aws/dr-executor.ts';
import { DynamoDbDrExecutorStore } from '#aws/dr-executor-store.ts';
import { DynamoDbDrFence } from '#aws/dr-fence.ts';
import type { EventBridgeEvent } from '#aws/envelope.ts';
import { EventBridgeSink } from '#aws/event-sink.ts';
import { isFlip } from '#core/dr/executor.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import type { CloudEvent } from '#core/envelope.ts';
import type { DrActionFinishedData, DrActionStartedData } from '#core/events/catalog.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { LocalCloud } from '#local/index.ts';
import { commandedRolePolicy, serverlessYml } from '../support/dr-commanded-aws.ts';
import {
  cellState,
  type PaymentsWorld,
  paymentsArcCloud,
  roleSession,
  type SessionCredentials,
} from '../support/dr-world.ts';
import { createLinksTable } from '../support/links-table.ts';
import { ADMIN_CREDENTIALS, admin, letServiceCall } from '../support/local-cloud.ts';
import { eventually } from '../support/timers.ts';
import { failoverDecision } from '../unit/dr/helpers.ts';

const TABLE = 'crosslink-links-dev';
const BUS = 'crosslink-dev';
const NAMES = { table: TABLE, bus: BUS };
/** drCommanded's limit, scaled down from Lambda's 900 s, and the margin it keeps to answer. */
const COMMANDED_TIMEOUT_S = 20;
const MARGIN_MS = 1_000;

let cloud: LocalCloud;
let world: PaymentsWorld;
let plan: DrPlan;
let executor: SessionCredentials;
let admins: { dynamo: DynamoDBClient; eb: EventBridgeClient };
let deps: DrExecutorDeps;
/** How long each hook takes (wall time), as a test sets it. */
let hookMs = 0;
const hookCalls: { hook: string; epoch: number; index: number }[] = [];
/** Each drCommanded invocation: its request, the hooks it invoked, what it answered (or its crash). */
const commanded: { requestId: string; hooks: string[]; out?: DrCommandedOutcome }[] = [];
/** Each drExecutor invocation from the bus: the DrActionFinished it was given. */
const fedBack: DrActionFinishedData[] = [];
const events: CloudEvent[] = [];
const pages: ExecutorPage[] = [];
const act = (action: string, body: unknown) => admin(cloud, 'POST', `/world/${action}`, body);
const iso = (ms: number) => new Date(ms).toISOString();

beforeAll(async () => {
  ({ cloud, world, executor, plan } = await paymentsArcCloud());
  const { region, accountId } = cloud.aws;
  const config = { region, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS };
  admins = { dynamo: new DynamoDBClient(config), eb: new EventBridgeClient(config) };
  await createLinksTable(admins.dynamo, TABLE);
  await admins.eb.send(new CreateEventBusCommand({ Name: BUS }));
  const role = await roleSession(
    cloud,
    'crosslink-dev-DrCommandedRole',
    commandedRolePolicy(cloud, NAMES, plan),
  );
  const runtime = lambdaRuntime(cloud.aws.edge.world, accountId, region);

  // The failback's hooks: the service owner's functions doing the world's actions on AWS.
  const hook = (name: string, run: (command: { action: { capacity?: number } }) => Promise<string>) =>
    runtime.register({
      name,
      timeout: 30,
      handler: async (event: unknown) => {
        const command = event as { epoch: number; index: number; action: { capacity?: number } };
        hookCalls.push({ hook: name, epoch: command.epoch, index: command.index });
        const detail = await run(command);
        await new Promise((r) => setTimeout(r, hookMs));
        return { detail };
      },
    });
  hook('payments-promote-aurora', async () => {
    const out = await act('service-promote', { name: plan.service, cloud: 'aws' });
    await act('service-demote', { name: plan.service, cloud: 'gcp' }); // planned: AlloyDB is up
    return `promoted: lost ${out.lostWrites} writes over ${out.lossWindowMs} ms`;
  });
  hook('payments-scale-ecs-service', async (c) => {
    await act('service-scale', { name: plan.service, cloud: 'aws', capacity: c.action.capacity });
    return `scaled to ${c.action.capacity}`;
  });

  // drCommanded as its entry runs it: the invocation's time left read from Lambda's context.
  const invocation: Invocation = { remainingMs: () => 0, marginMs: MARGIN_MS };
  const commandedDeps = drCommandedDeps(
    plan,
    { AWS_REGION: region, CROSSLINK_TABLE: TABLE, CROSSLINK_BUS: BUS, CROSSLINK_ACCOUNT_ID: accountId },
    cloud.clock,
    { endpoint: cloud.aws.endpoint, credentials: role },
    invocation,
  );
  const commandedFn = runtime.register({
    name: 'crosslink-dev-drCommanded',
    timeout: COMMANDED_TIMEOUT_S,
    handler: async (event: unknown, ctx) => {
      invocation.remainingMs = () => ctx.getRemainingTimeInMillis();
      const entry: (typeof commanded)[number] = { requestId: ctx.awsRequestId, hooks: [] };
      commanded.push(entry);
      const before = hookCalls.length;
      entry.out = await drCommandedStep(commandedDeps, event as EventBridgeEvent);
      entry.hooks = hookCalls.slice(before).map((c) => c.hook);
      return entry.out;
    },
  });

  // drExecutor: its store in the links table, its events on the bus, the flip under its role.
  const sink = new EventBridgeSink(admins.eb, { busName: BUS });
  deps = {
    plan,
    runs: new DynamoDbDrExecutorStore(admins.dynamo, TABLE),
    bus: {
      put: async (put) => {
        events.push(...put);
        await sink.put(put);
      },
    },
    origin: { cloud: 'aws', accountId, region },
    clock: cloud.clock,
    flip: (action) => flipRoutingControls({ credentials: executor }, { endpoints: world.endpoints, action }),
    page: (p) => void pages.push(p),
  };
  const executorFn = runtime.register({
    name: 'crosslink-dev-drExecutor',
    timeout: 60,
    handler: (event: unknown) => {
      fedBack.push((event as { detail: { data: DrActionFinishedData } }).detail.data);
      return drExecutorStep(deps, event as EventBridgeEvent);
    },
  });

  // DrCommandedRule and DrExecutorRule as serverless.yml writes them, to the functions.
  const resources = serverlessYml(cloud, NAMES).doc.resources.Resources;
  for (const [rule, fn] of [
    ['DrCommandedRule', commandedFn.arn],
    ['DrExecutorRule', executorFn.arn],
  ] as const) {
    const props = resources[rule].Properties;
    await admins.eb.send(
      new PutRuleCommand({ Name: rule, EventBusName: BUS, EventPattern: JSON.stringify(props.EventPattern) }),
    );
    await letServiceCall(cloud, fn);
    await admins.eb.send(
      new PutTargetsCommand({
        Rule: rule,
        EventBusName: BUS,
        Targets: [{ Id: rule, Arn: fn, RetryPolicy: props.Targets[0].RetryPolicy }],
      }),
    );
  }
}, 120_000);

afterAll(async () => {
  for (const c of Object.values(admins ?? {})) c.destroy();
  await cloud?.stop();
});

/** The world failed over: AlloyDB the writer, Aurora its replica, the standby's cell On. */
async function failedOver(): Promise<void> {
  const before = (await act('service', { name: plan.service })).database;
  if (before.gcp.role !== 'writer') await act('service-promote', { name: plan.service, cloud: 'gcp' });
  if (before.aws.role === 'writer') await act('service-demote', { name: plan.service, cloud: 'aws' });
  await cloud.clock.advance(10_000); // past the safety rule's wait period since the last change
  await flipRoutingControls(
    { credentials: executor },
    { endpoints: world.endpoints, action: plan.actions.failover.find(isFlip) as ArcAction },
  );
  await cloud.clock.advance(10_000);
}

/** The state machine's Decide of the plan's failback under `epoch`. */
const decideFailback = (epoch: number) =>
  applyExecutorInput(deps, {
    drExecutor: 'decision',
    decision: failoverDecision(plan, {
      epoch,
      time: iso(cloud.clock.now()),
      decision: 'failback',
      active: 'primary',
      actions: plan.actions.failback,
    }),
    execution: `payments-api-${epoch}`,
  });

/**
 * Google's side of the failback's first action, as the relay would bring it: AlloyDB fenced (the
 * world's `service-fence` on Google), its result to the executor, which then commands Aurora's
 * promotion on AWS's bus.
 */
async function googleFences(epoch: number): Promise<void> {
  const command = of(epoch).started.find((s) => s.index === 0);
  if (command?.via !== 'relay' || command.action.type !== 'fence-writer')
    throw new Error(`expected the failback's fence relayed to Google first, got ${JSON.stringify(command)}`);
  await act('service-fence', { name: plan.service, cloud: 'gcp' });
  await cloud.clock.advance(1_000); // the relay's crossing
  await applyExecutorInput(deps, {
    drExecutor: 'result',
    result: { service: plan.service, epoch, index: 0, outcome: 'succeeded', time: iso(cloud.clock.now()) },
  });
}

const runOf = async () => (await deps.runs.current(plan.service))?.run;
const finished = async () => {
  const run = await runOf();
  return run && run.status !== 'running' ? run : undefined;
};
/** The DrFailedBack the executor put on the bus for `epoch` (after it stored the run's end). */
const failedBack = (epoch: number) =>
  events.filter((e) => e.type.includes('DrFailedBack') && (e.data as { epoch: number }).epoch === epoch);
/** drCommanded's answers to the promotion's command (index 1, after the fence) since its invocation `from`. */
const promotionAnswers = (from: number) =>
  commanded.slice(from).filter((c) => c.out && 'result' in c.out && c.out.result.index === 1);
/** The hooks on AWS a failback runs: each once, in order. */
const EACH_HOOK_ONCE = [
  ['payments-promote-aurora', 1],
  ['payments-scale-ecs-service', 2],
];
const of = (epoch: number) => ({
  started: events
    .filter((e) => e.type.includes('DrActionStarted') && (e.data as DrActionStartedData).epoch === epoch)
    .map((e) => e.data as DrActionStartedData),
  hooks: hookCalls.filter((c) => c.epoch === epoch),
});

describe("the payments failback's hooks on AWS, through AWS's own commanded side", () => {
  it('runs each hook in an invocation of its own: two hooks longer together than one invocation both succeed, then the flip back', async () => {
    // Prepare: each hook takes 11 s of drCommanded's 20 s (less its 1 s margin): together more than one invocation
    await failedOver();
    hookMs = 11_000;
    const invocations = commanded.length;

    // Act
    const opened = await decideFailback(5);
    await googleFences(5);
    const run = await eventually(finished);

    // Assess
    expect(opened).toMatchObject({ epoch: 5, status: 'running', finished: false });
    expect(run.status).toBe('succeeded');
    expect(run.steps.map((s) => [s.via, s.status])).toEqual([
      ['relay', 'succeeded'],
      ['commanded', 'succeeded'],
      ['commanded', 'succeeded'],
      ['local', 'succeeded'],
    ]);
    expect(run.steps[1]?.detail).toMatch(/^promoted: lost \d+ writes over \d+ ms$/);
    expect(run.steps[2]?.detail).toBe(
      `scaled to ${(plan.actions.failback[2] as { capacity: number }).capacity}`,
    );
    const mine = commanded.slice(invocations);
    expect(mine.map((c) => c.hooks)).toEqual([['payments-promote-aurora'], ['payments-scale-ecs-service']]);
    expect(new Set(mine.map((c) => c.requestId)).size).toBe(2);
    expect(mine.map((c) => c.out?.outcome)).toEqual(['ran', 'ran']);
    expect(of(5).started.map((s) => [s.index, s.via])).toEqual([
      [0, 'relay'],
      [1, 'commanded'],
      [2, 'commanded'],
      [3, 'local'],
    ]);
    // Only drCommanded's results came back: the executor's own DrActionFinished did not.
    expect(fedBack.filter((f) => f.epoch === 5).map((f) => [f.index, f.reportedBy, f.outcome])).toEqual([
      [1, 'commanded', 'succeeded'],
      [2, 'commanded', 'succeeded'],
    ]);
    await eventually(() => failedBack(5).length > 0);
    expect(failedBack(5)).toHaveLength(1);
    const service = await act('service', { name: plan.service });
    expect([service.database.aws.role, service.database.gcp.role]).toEqual(['writer', 'replica']);
    expect([await cellState(world, world.out.AwsCell), await cellState(world, world.out.GcpCell)]).toEqual([
      'On',
      'Off',
    ]);
    expect(pages).toEqual([]);
  }, 120_000);

  it("sends a hook's command again when the state machine retries its Decide, and the fence runs the hook once", async () => {
    // Prepare
    await failedOver();
    hookMs = 0;
    const invocations = commanded.length;

    // Act: the claiming execution's Decide retried (its first attempt's answer lost)
    await decideFailback(7);
    await googleFences(7);
    const retried = await decideFailback(7);
    const run = await eventually(finished);
    // A delivery that found the hook running failed its invocation: Lambda retries it a minute later
    await cloud.clock.advance(60_000);
    await eventually(() => promotionAnswers(invocations).length === 2);

    // Assess
    expect(retried).toMatchObject({ epoch: 7, status: 'running', supervise: true });
    expect(
      of(7)
        .started.filter((s) => s.index === 1)
        .map((s) => [s.via, s.deadline]),
    ).toEqual([
      ['commanded', of(7).started[1]?.deadline],
      ['commanded', of(7).started[1]?.deadline],
    ]);
    expect(run.status).toBe('succeeded');
    expect(of(7).hooks.map((c) => [c.hook, c.index])).toEqual(EACH_HOOK_ONCE);
    expect(promotionAnswers(invocations).map((c) => c.out?.outcome)).toEqual(['ran', 'duplicate']);
    expect(pages).toEqual([]);
  }, 120_000);

  it('answers from the fence a drCommanded retried after it crashed with its hook answered: the hook runs once, the run takes it once', async () => {
    // Prepare: drCommanded's next invocation does its work, then dies before it answers
    await failedOver();
    hookMs = 0;
    cloud.faults.add({ service: 'lambda', operation: 'crosslink-dev-drCommanded', kind: 'crash', count: 1 });
    const invocations = commanded.length;

    // Act: the crashed invocation is retried a minute later (Lambda's asynchronous retry)
    await decideFailback(8);
    await googleFences(8);
    await eventually(() => commanded.length > invocations && commanded[invocations]?.out);
    await cloud.clock.advance(60_000);
    const run = await eventually(finished);
    await eventually(() => fedBack.filter((f) => f.epoch === 8 && f.index === 1).length === 2);

    // Assess
    expect(run.status).toBe('succeeded');
    expect(of(8).hooks.map((c) => [c.hook, c.index])).toEqual(EACH_HOOK_ONCE);
    const promotion = promotionAnswers(invocations);
    expect(promotion.map((c) => [c.out?.outcome, c.hooks])).toEqual([
      ['ran', ['payments-promote-aurora']],
      ['duplicate', []],
    ]);
    const [first, again] = promotion.map((c) => (c.out && 'result' in c.out ? c.out.result : undefined));
    expect(again).toEqual(first);
    const fence = await new DynamoDbDrFence(admins.dynamo, TABLE).read(plan.service);
    expect(Object.keys(fence.results).sort()).toEqual(['8#1', '8#2']);
    expect(run.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    // The second result is refused and noted in the run once the executor has stored it (it may come
    // after the run ended: the retried invocation answers a minute later)
    const noted = await eventually(async () => {
      const r = await runOf();
      return r?.history.some((h) => /result of action 1 under epoch 8 \(succeeded\) not taken/.test(h.note))
        ? r
        : undefined;
    });
    expect(noted.steps.map((s) => s.status)).toEqual(run.steps.map((s) => s.status));
    await eventually(() => failedBack(8).length > 0);
    expect(failedBack(8)).toHaveLength(1);
    expect(pages).toEqual([]);
  }, 120_000);
});
