/**
 * `crosslink dr pause | resume | approve` reaching the deployed AWS executor, on the local cloud with
 * IAM enforced: the CLI signs as the `--as` identity and calls `POST /dr/{service}/controls` on the
 * local HTTP API with IAM auth, which invokes `drControl` (functions/aws/dr-control.ts); that
 * function's DynamoDB calls run under a session of its role as serverless.yml writes it
 * (`DrControlRole`), and the executor's (functions/aws/dr-executor.ts) under `DrExecutorRole`'s.
 *
 * What stands in for deployed parts: the observations are written to the log as drSignals records
 * them (and its decision hook run after them); the commanded sides' `DrActionFinished` (AWS's
 * drCommanded's for the fence of Aurora, Google's for the promotion and scaling) is given to the
 * executor by the test; the ARC flip is recorded, not performed (test/local/dr-arc-switch.test.ts flips the
 * world's cells under the executor's role). In all but the last test the state machine is played
 * by the decision hook's `startExecution` (the decision handed to the executor, as its `Decide`
 * task does) and the test's ticks; the last runs the real `dr-failover` ASL on the local Step
 * Functions, its Lambda tasks invoking drExecutor.
 *
 * Proved: an approval-required failover starts no action until `dr approve` through the deployed
 * path, at the next epoch; a wrong epoch is refused and nothing is recorded; a pause during the run
 * holds it between actions and a resume finishes it (the state machine's look while paused starts
 * nothing, its look after the resume goes on); a decision taken after a pause opens its run paused;
 * a request retried with the same key records one control; a caller without the route's permission
 * is refused by IAM.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateStateMachineCommand, DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { drControlRoute } from '#aws/dr-control.ts';
import { decideAndStart, sfnStarter } from '#aws/dr-decide.ts';
import {
  applyExecutorInput,
  type DrExecutorDeps,
  drExecutorStep,
  type ExecutorPage,
  resultOfFinished,
} from '#aws/dr-executor.ts';
import { DynamoDbDrExecutorStore } from '#aws/dr-executor-store.ts';
import type { HttpApiEvent } from '#aws/intake.ts';
import { DynamoDbSignalLog } from '#aws/signal-log.ts';
import type { Observation } from '#core/dr/observations.ts';
import { type DrPlan, parseDrPlan } from '#core/dr/plan.ts';
import type { CloudEvent } from '#core/envelope.ts';
import type { DrActionStartedData } from '#core/events/catalog.ts';
import { HttpApi } from '#local/aws/http-api.ts';
import { lambdaRuntime } from '#local/aws/services/lambda.ts';
import type { LocalCloud } from '#local/index.ts';
import { IntakeClient } from '#scripts/cli/intake-client.ts';
import { main } from '#scripts/cli/main.ts';
import { resolveDefinition } from '../support/aws-half.ts';
import { roleSession } from '../support/dr-world.ts';
import { IDENTITIES } from '../support/intake.ts';
import { createLinksTable } from '../support/links-table.ts';
import { ADMIN_CREDENTIALS, letServiceCall, putServiceRole, startTestCloud } from '../support/local-cloud.ts';
import { failoverDecision } from '../unit/dr/helpers.ts';

const repo = resolve(import.meta.dirname, '..', '..');
const BOB = 'arn:aws:iam::000000000000:user/bob';
/** The payments plan with failover approval required. */
const PLAN_TEXT = readFileSync(join(repo, 'config/dr-plans/example-payments.yaml'), 'utf8').replace(
  /^(decider:[\s\S]*?approval: )none/m,
  '$1required',
);
const plan: DrPlan = parseDrPlan(PLAN_TEXT);

let cloud: LocalCloud;
let home: string;
let api: HttpApi;
let runtime: ReturnType<typeof lambdaRuntime>;
let admin: DynamoDBClient;
let tables = 0;
let world: World;

/** One test's deployment: its own table, the two functions' deps under their roles' sessions. */
interface World {
  table: string;
  log: DynamoDbSignalLog;
  executor: DrExecutorDeps;
  control: Parameters<typeof drControlRoute>[0];
  events: CloudEvent[];
  pages: ExecutorPage[];
  flips: number;
  started: string[];
  clients: DynamoDBClient[];
}

/**
 * A role's first policy as serverless.yml writes it, its references resolved to this test's
 * resources (the table, the account, the region), so the sessions hold exactly the deployed grants.
 */
function rolePolicy(roleId: string, tableArn: string): unknown {
  const sub = (v: string) =>
    v
      .replace(/\$\{LinksTable\.Arn\}/g, tableArn)
      .replace(/\$\{AWS::Partition\}/g, 'aws')
      .replace(/\$\{AWS::Region\}/g, cloud.aws.region)
      .replace(/\$\{AWS::AccountId\}/g, cloud.aws.accountId)
      .replace(/\$\{sls:stage\}/g, 'dev');
  const tags = [
    { tag: '!GetAtt', resolve: (v: string) => (v === 'LinksTable.Arn' ? tableArn : `unresolved:${v}`) },
    { tag: '!Sub', resolve: sub },
    {
      tag: '!Ref',
      resolve: (v: string) => `arn:aws:states:${cloud.aws.region}:${cloud.aws.accountId}:stateMachine:${v}`,
    },
  ];
  const doc = parse(readFileSync(join(repo, 'serverless.yml'), 'utf8'), {
    customTags: tags,
    logLevel: 'silent',
  });
  return doc.resources.Resources[roleId].Properties.Policies[0].PolicyDocument;
}

async function session(roleId: string, tableArn: string): Promise<DynamoDBClient> {
  const credentials = await roleSession(cloud, `${roleId}-${tables}`, rolePolicy(roleId, tableArn));
  return new DynamoDBClient({ region: cloud.aws.region, endpoint: cloud.aws.endpoint, credentials });
}

async function deploy(): Promise<World> {
  const table = `crosslink-links-dr-${++tables}`;
  await createLinksTable(admin, table);
  const tableArn = `arn:aws:dynamodb:${cloud.aws.region}:${cloud.aws.accountId}:table/${table}`;
  const [asControl, asExecutor] = [
    await session('DrControlRole', tableArn),
    await session('DrExecutorRole', tableArn),
  ];
  const w = {
    table,
    events: [],
    pages: [],
    flips: 0,
    started: [],
    clients: [asControl, asExecutor],
    log: new DynamoDbSignalLog(admin, table),
  } as unknown as World;
  const origin = { cloud: 'aws' as const, accountId: cloud.aws.accountId, region: cloud.aws.region };
  const bus = { put: async (events: CloudEvent[]) => void w.events.push(...events) };
  const executorLog = new DynamoDbSignalLog(asExecutor, table);
  w.executor = {
    plan,
    runs: new DynamoDbDrExecutorStore(asExecutor, table),
    bus,
    origin,
    clock: cloud.clock,
    flip: async () => {
      w.flips++;
      return { region: 'us-west-2', passed: [] } as never;
    },
    page: (p) => void w.pages.push(p),
    controls: async (service) => (await executorLog.controls(service)).map((c) => c.record),
  };
  const controlLog = new DynamoDbSignalLog(asControl, table);
  w.control = {
    plan,
    log: controlLog,
    clock: cloud.clock,
    decide: {
      plan,
      log: controlLog,
      runs: new DynamoDbDrExecutorStore(asControl, table),
      bus,
      origin,
      clock: cloud.clock,
      // The state machine's Decide task: the decision to the executor.
      startExecution: async (name, input) => {
        w.started.push(name);
        await applyExecutorInput(w.executor, {
          drExecutor: 'decision',
          decision: input.decision,
          execution: `arn:aws:states:us-west-2:000000000000:execution:crosslink-dr-failover-dev:${name}`,
        });
      },
    },
  };
  return w;
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'crosslink-dr-controls-'));
  mkdirSync(join(home, 'config'));
  mkdirSync(join(home, '.crosslink'));
  cpSync(join(repo, 'config', 'local-identities.yaml'), join(home, 'config', 'local-identities.yaml'));
  writeFileSync(join(home, 'plan.yaml'), PLAN_TEXT);
  cloud = await startTestCloud();
  admin = new DynamoDBClient({
    region: cloud.aws.region,
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
  });
  runtime = lambdaRuntime(cloud.aws.edge.world, cloud.aws.accountId, cloud.aws.region);
  const fn = runtime.register({
    name: 'drControl',
    timeout: 30,
    handler: (e: unknown) => drControlRoute(world.control, e as HttpApiEvent),
  });
  await letServiceCall(cloud, fn.arn, 'apigateway.amazonaws.com');
  api = new HttpApi(cloud.aws.edge.world, { accountId: cloud.aws.accountId, region: cloud.aws.region });
  for (const routeKey of ['POST /dr/{service}/controls', 'GET /dr/{service}/run'])
    api.addRoute({ routeKey, functionName: 'drControl', auth: { type: 'AWS_IAM' } });
  await api.listen(0);
  writeFileSync(
    join(home, '.crosslink', 'local.json'),
    JSON.stringify({ ...cloud.handshake(), intakes: { aws: api.endpoint, gcp: null } }),
  );
}, 90_000);

afterAll(async () => {
  for (const c of world?.clients ?? []) c.destroy();
  await api?.close();
  runtime?.remove('drControl');
  admin?.destroy();
  await cloud?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd: home, env: {} });
  return { code, out, err };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The primary down and the standby ready, seen by both probes, recorded as drSignals records them. */
async function outage(): Promise<void> {
  const time = iso(cloud.clock.now());
  const seen = (vantage: string, signal: string, status: Observation['status']): Observation =>
    ({ time, service: plan.service, vantage, signal, status }) as Observation;
  await world.log.record([
    seen('aws-us-west-2', 'standby-readiness', 'healthy'),
    seen('gcp-us-west1', 'standby-readiness', 'healthy'),
    seen('aws-us-west-2', 'api-availability', 'unhealthy'),
    seen('gcp-us-west1', 'api-availability', 'unhealthy'),
  ]);
  await decideAndStart(world.control.decide as NonNullable<typeof world.control.decide>);
  // Past the hysteresis: the next minute's run of drSignals decides the failover, pending approval.
  await cloud.clock.advance(90_000);
  await decideAndStart(world.control.decide as NonNullable<typeof world.control.decide>);
}

const run = async () => (await world.executor.runs.current(plan.service))?.run;
const startedActions = () =>
  world.events.filter((e) => e.type.includes('DrActionStarted')).map((e) => e.data as DrActionStartedData);

/**
 * The DrActionFinished of the action under way, as the bus brings it to drExecutor: AWS's
 * drCommanded's for the fence of Aurora (`via: commanded`), Google's for the promotion and scaling.
 */
async function commandedFinishes(): Promise<void> {
  const started = startedActions().at(-1) as DrActionStartedData;
  await cloud.clock.advance(1_000);
  await applyExecutorInput(world.executor, {
    drExecutor: 'result',
    result: resultOfFinished({
      ...started,
      outcome: 'succeeded',
      ...(started.via === 'commanded' && { reportedBy: 'commanded' as const }),
      finishedAt: iso(cloud.clock.now()),
    }),
  });
}

/** The intake client signed as bob, who may record controls and read the run. */
const bobClient = () =>
  new IntakeClient({ url: api.endpoint, region: cloud.aws.region, credentials: async () => IDENTITIES.bob });

const tick = () => applyExecutorInput(world.executor, { drExecutor: 'tick', service: plan.service });

describe('dr controls reaching the deployed AWS executor', () => {
  it('starts an approval-required failover only once `dr approve` names the pending epoch; a wrong epoch records nothing', async () => {
    // Prepare
    world = await deploy();
    await outage();
    const pending = await run();

    // Act
    const wrong = await cli('dr', 'approve', 'plan.yaml', String((pending?.epoch ?? 0) - 1), '--as', 'bob');
    const afterWrong = await world.log.controls(plan.service);
    const right = await cli('dr', 'approve', 'plan.yaml', String(pending?.epoch), '--as', 'bob');

    // Assess
    expect(pending).toMatchObject({ status: 'awaiting-approval', decision: 'failover' });
    expect(world.started).toEqual([
      `payments-api-${pending?.epoch}`,
      `payments-api-${(pending?.epoch ?? 0) + 1}`,
    ]);
    expect(wrong.code).toBe(3);
    expect(wrong.err.join('\n')).toContain(
      `payments-api: epoch: epoch ${(pending?.epoch ?? 0) - 1} is not the one awaiting approval (the failover of epoch ${pending?.epoch} is)`,
    );
    expect(afterWrong).toEqual([]);
    expect(right.err).toEqual([]);
    expect(right.code).toBe(0);
    expect(right.out[0]).toMatch(
      new RegExp(
        `^payments-api: approved the failover of epoch ${pending?.epoch} \\(by ${BOB} at .*\\), recorded in the deployed AWS signal log$`,
      ),
    );
    expect(right.out.join('\n')).toMatch(
      `epoch ${(pending?.epoch ?? 0) + 1}  FAILOVER approved by ${BOB} -> standby`,
    );
    expect(
      (await world.log.controls(plan.service)).map((c) => [c.sequence, c.record.control, c.record.by]),
    ).toEqual([[1, 'approve', BOB]]);
    expect(await run()).toMatchObject({ status: 'running', epoch: (pending?.epoch ?? 0) + 1 });
    // The fence of Aurora commanded on AWS's bus first (drCommanded runs it), under the next epoch.
    const moved = (pending?.epoch ?? 0) + 1;
    expect(startedActions().map((s) => [s.index, s.epoch, s.via])).toEqual([[0, moved, 'commanded']]);
  });

  it('holds a run under way between actions on `dr pause`, and finishes it on `dr resume`', async () => {
    // Prepare: a failover approved and under way, Aurora fenced, its promotion started on Google
    world = await deploy();
    await outage();
    const epoch = ((await run())?.epoch ?? 0) as number;
    expect((await cli('dr', 'approve', 'plan.yaml', String(epoch), '--as', 'bob')).code).toBe(0);
    await commandedFinishes(); // the fence of Aurora, by drCommanded; the promotion commanded

    // Act
    const paused = await cli('dr', 'pause', 'plan.yaml', '--as', 'bob');
    const twice = await cli('dr', 'pause', 'plan.yaml', '--as', 'bob');
    await commandedFinishes(); // the promotion under way finishes
    await cloud.clock.advance(10_000);
    await tick(); // the state machine's next look
    const held = await run();
    const startedWhilePaused = startedActions().length;
    const resumed = await cli('dr', 'resume', 'plan.yaml', '--as', 'bob');
    await tick();
    await commandedFinishes(); // the scaling; then the flip runs in the executor

    // Assess
    expect(paused.code).toBe(0);
    expect(paused.out[0]).toMatch(/^payments-api: paused: the decider holds this plan/);
    expect(twice.code).toBe(3);
    expect(twice.err.join('\n')).toContain('payments-api: control: already paused');
    expect(held?.paused).toMatchObject({ by: BOB });
    expect(held?.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'pending', 'pending']);
    expect(startedWhilePaused).toBe(2);
    expect(resumed.code).toBe(0);
    expect(startedActions().map((s) => s.index)).toEqual([0, 1, 2, 3]);
    expect(world.flips).toBe(1);
    const done = await run();
    expect(done).toMatchObject({ status: 'succeeded', epoch: epoch + 1, paused: null });
    expect(done?.history.map((h) => h.note)).toEqual(
      expect.arrayContaining([`paused by ${BOB}`, `resumed by ${BOB}`]),
    );
    expect(world.events.at(-1)?.type).toMatch(/DrFailedOver/);
    expect(world.pages).toEqual([]);
  });

  it('records a retried request once, and refuses a caller without the permission by IAM', async () => {
    // Prepare
    world = await deploy();
    const asBob = bobClient();

    // Act
    const first = await asBob.drControl(plan.service, { control: 'pause' }, 'retry-1');
    const retried = await asBob.drControl(plan.service, { control: 'pause' }, 'retry-1');
    const malformed = await asBob
      .drControl(plan.service, { control: 'approve', epoch: 0 }, 'bad-1')
      .catch((e) => e);
    const alice = await cli('dr', 'resume', 'plan.yaml', '--as', 'alice');

    // Assess
    expect(first).toMatchObject({ recorded: true, control: { control: 'pause', by: BOB } });
    expect(retried).toMatchObject({ recorded: false, control: first.control });
    expect(malformed.issues?.map((i: { path: string }) => i.path)).toEqual(['epoch']);
    expect(alice.code).toBe(3);
    expect(alice.err.join('\n')).toMatch(/user\/alice is not authorized to perform: execute-api:Invoke/);
    expect((await world.log.controls(plan.service)).map((c) => c.record.control)).toEqual(['pause']);
  });

  it("runs a drill's start and end through the route as bob: each move with the plan's approval, the run read back, the end refused before the start", async () => {
    // Prepare: both sides seen healthy by both probes
    world = await deploy();
    const asBob = bobClient();
    const time = iso(cloud.clock.now());
    const seen = (vantage: string, signal: string): Observation =>
      ({ time, service: plan.service, vantage, signal, status: 'healthy' }) as Observation;
    await world.log.record(
      ['aws-us-west-2', 'gcp-us-west1'].flatMap((v) => [
        seen(v, 'standby-readiness'),
        seen(v, 'api-availability'),
      ]),
    );
    await cloud.clock.advance(1_000);

    // Act: an end before any start; the start, approved (this plan's failover requires it); the
    // fence answered by drCommanded, Google's two actions, the flip; then the end, whose failback waits for its own approval
    const before = await asBob.drRun(plan.service);
    const early = await asBob
      .drControl(plan.service, { control: 'drill', phase: 'end' }, 'drill-early')
      .catch((e) => e);
    const start = await asBob.drControl(plan.service, { control: 'drill', phase: 'start' }, 'drill-start');
    const again = await asBob
      .drControl(plan.service, { control: 'drill', phase: 'start' }, 'drill-again')
      .catch((e) => e);
    const pending = (await asBob.drRun(plan.service)).run;
    const approved = await asBob.drControl(
      plan.service,
      { control: 'approve', epoch: pending?.epoch },
      'drill-approve',
    );
    for (let i = 0; i < 3; i++) await commandedFinishes(); // the fence on AWS, Google's promotion and scaling
    const failedOver = await asBob.drRun(plan.service);
    await cloud.clock.advance(60_000);
    const end = await asBob.drControl(plan.service, { control: 'drill', phase: 'end' }, 'drill-end');
    const failback = (await asBob.drRun(plan.service)).run;

    // Assess
    expect(before).toEqual({ run: null });
    expect(early.message).toContain('payments-api: phase: no drill is under way to end');
    expect(start).toMatchObject({ recorded: true, control: { control: 'drill', side: 'standby', by: BOB } });
    expect(start.decisions.at(-1)).toMatchObject({ decision: 'failover', approval: 'pending' });
    expect(start.decisions.at(-1)?.reasons[0]?.code).toBe('drill-commanded');
    expect(again.message).toContain('a drill is under way (started by');
    expect(pending).toMatchObject({ decision: 'failover', status: 'awaiting-approval' });
    const moved = approved.decisions.filter((d) => d.decision !== 'hold');
    expect(moved).toMatchObject([{ decision: 'failover', approval: 'approved', by: BOB, active: 'standby' }]);
    expect(failedOver.run).toMatchObject({
      decision: 'failover',
      epoch: moved[0]?.epoch,
      status: 'succeeded',
    });
    expect(failedOver.run?.steps.map((s) => s.status)).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'succeeded',
    ]);
    expect(world.flips).toBe(1);
    expect(end).toMatchObject({ recorded: true, control: { control: 'drill', side: 'primary', by: BOB } });
    // The payments plan's failback requires an approval: the run waits for it at the epoch decided
    expect(failback).toMatchObject({ decision: 'failback', status: 'awaiting-approval' });
    expect((failback?.epoch ?? 0) > (moved[0]?.epoch ?? 0)).toBe(true);
    expect((await world.log.controls(plan.service)).map((c) => [c.record.control, c.record.side])).toEqual([
      ['drill', 'standby'],
      ['approve', undefined],
      ['drill', 'primary'],
    ]);
  });

  it('opens a run paused when its decision is taken after `dr pause`, and starts it on `dr resume`', async () => {
    // Prepare: a failover decided before the pause, its execution starting after it
    world = await deploy();
    const decision = failoverDecision(plan, { epoch: 5, time: iso(cloud.clock.now()) });
    await cloud.clock.advance(1_000);
    expect((await cli('dr', 'pause', 'plan.yaml', '--as', 'bob')).code).toBe(0);

    // Act
    const opened = await applyExecutorInput(world.executor, {
      drExecutor: 'decision',
      decision,
      execution: 'arn:aws:states:us-west-2:000000000000:execution:crosslink-dr-failover-dev:paused-first',
    });
    const startedWhilePaused = startedActions().length;
    const resumed = await cli('dr', 'resume', 'plan.yaml', '--as', 'bob');
    await tick();

    // Assess
    expect(opened).toMatchObject({ status: 'running', epoch: 5, finished: false });
    expect(startedWhilePaused).toBe(0);
    expect(resumed.code).toBe(0);
    expect(startedActions().map((s) => [s.index, s.epoch])).toEqual([[0, 5]]);
    expect((await run())?.paused).toBeNull();
  });

  it('drives the real dr-failover ASL: its look while paused starts nothing, its look after the resume goes on', async () => {
    // Prepare: the state machine as serverless.yml deploys it, started by the decision hook; drExecutor as a Lambda
    world = await deploy();
    let ticks = 0;
    const region = cloud.aws.region;
    const arnOf = (fn: string) => `arn:aws:lambda:${region}:${cloud.aws.accountId}:function:${fn}`;
    runtime.register({
      name: 'drExecutor',
      timeout: 60,
      handler: (event: unknown) => {
        if ((event as { drExecutor?: string }).drExecutor === 'tick') ticks++;
        return drExecutorStep(world.executor, event as Record<string, unknown>);
      },
    });
    const roleArn = await putServiceRole(
      cloud,
      `crosslink-dr-states-${tables}`,
      'states.amazonaws.com',
      ['lambda:InvokeFunction'],
      [arnOf('drExecutor')],
    );
    const sfn = new SFNClient({ region, endpoint: cloud.aws.endpoint, credentials: ADMIN_CREDENTIALS });
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: `crosslink-dr-failover-${tables}`,
        definition: resolveDefinition(join(repo, 'workflows/aws/dr-failover.asl.json'), arnOf),
        roleArn,
      }),
    );
    (world.control.decide as { startExecution: unknown }).startExecution = sfnStarter(
      sfn,
      stateMachineArn as string,
    );
    const until = async (what: () => Promise<boolean>) => {
      for (let i = 0; i < 200 && !(await what()); i++) await new Promise((r) => setTimeout(r, 50));
    };
    await outage();
    await until(async () => (await run())?.status === 'awaiting-approval');
    const epoch = ((await run())?.epoch ?? 0) as number;
    const opener = `${stateMachineArn?.replace(':stateMachine:', ':execution:')}:payments-api-${epoch}`;
    const status = async () =>
      (await sfn.send(new DescribeExecutionCommand({ executionArn: opener }))).status;

    // Act
    expect((await cli('dr', 'approve', 'plan.yaml', String(epoch), '--as', 'bob')).code).toBe(0);
    await until(async () => startedActions().length === 1); // the fence commanded on AWS's bus
    await commandedFinishes(); // drCommanded's answer; the promotion commanded across the relay
    await until(async () => startedActions().length === 2);
    expect((await cli('dr', 'pause', 'plan.yaml', '--as', 'bob')).code).toBe(0);
    await commandedFinishes();
    const ticksBefore = ticks;
    await cloud.clock.advance(10_000); // the execution's next look, while paused
    await until(async () => ticks > ticksBefore);
    const whilePaused = { ticked: ticks > ticksBefore, started: startedActions().length, run: await run() };
    expect((await cli('dr', 'resume', 'plan.yaml', '--as', 'bob')).code).toBe(0);
    await cloud.clock.advance(10_000); // its next look takes the resume
    await until(async () => startedActions().length === 3);
    await commandedFinishes();
    await cloud.clock.advance(10_000);
    await until(async () => (await status()) !== 'RUNNING');

    // Assess
    expect(whilePaused.ticked).toBe(true);
    expect(whilePaused.started).toBe(2);
    expect(whilePaused.run?.paused).toMatchObject({ by: BOB });
    expect(startedActions().map((a) => a.index)).toEqual([0, 1, 2, 3]);
    expect(await status()).toBe('SUCCEEDED');
    expect(await run()).toMatchObject({ status: 'succeeded', epoch: epoch + 1 });
    expect(world.flips).toBe(1);
    runtime.remove('drExecutor');
    sfn.destroy();
  });
});
