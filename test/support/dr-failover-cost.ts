/**
 * What one failover costs each executor, measured on the local cloud as the world tests run it
 * (test/local/dr-executor-aws.test.ts, dr-failover-world.test.ts, dr-failover-dns-world.test.ts):
 * an outage of the primary region seen by the two probe vantage points (the real probe run against
 * the service's health endpoints every 30 s of virtual time), each observation to the decider, and its
 * failover decision carried out by the executor as deployed on its cloud.
 *
 * - AWS (the payments plan, ARC-switched): the decision starts the real `dr-failover` ASL on the local
 *   Step Functions, `drExecutor` an in-process Lambda over the links table on the local DynamoDB, the
 *   ARC flip under the executor's role. The commanded sides are played as the world tests play them:
 *   each commanded `DrActionStarted` (the fence of Aurora by AWS's drCommanded, the promotion and
 *   scaling by Google across the relay) runs the world's admin action (`service-fence`,
 *   `service-promote`, `service-scale`) and its `DrActionFinished` comes back 1 s later. Counted: the execution
 *   history's `StateEntered` events, the transitions Step Functions bills.
 * - Google (the ledger plan, Cloud-DNS-switched): the `dr-failover` workflow on the local Workflows
 *   interpreter over the Firestore store on the emulator (test/support/dr-ledger-world.ts). Counted:
 *   the execution's steps, as Workflows bills them, and its polls for AWS's results.
 *
 * Times: from the decision to the flip landing and to the clients served again (by the standby), in
 * virtual time; and the wall time the executor took from being handed the decision to the flip.
 * Figures only: a bench prints them; the world tests assert the bounds.
 */
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { Firestore } from '@google-cloud/firestore';
import { flipRoutingControls } from '#aws/arc-switch.ts';
import { applyExecutorInput, type DrExecutorDeps, resultOfFinished } from '#aws/dr-executor.ts';
import { DynamoDbDrExecutorStore } from '#aws/dr-executor-store.ts';
import { parseDuration } from '#core/clock.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import type { CloudEvent } from '#core/envelope.ts';
import type { DrActionStartedData } from '#core/events/catalog.ts';
import { startEmulators } from '#local/gcp/emulators.ts';
import { type LocalCloud, startLocalCloud } from '#local/index.ts';
import type { ExecutionOutcome } from '#local/workflows/outcome.ts';
import { LEDGER, ledgerDnsWorld } from './dr-ledger-world.ts';
import {
  createPaymentsAtArcAddresses,
  deployPaymentsWorld,
  drFailoverStateMachine,
  executorSession,
  failoverPlanOf,
  type ProbedDecider,
  primaryCellOn,
  probedDecider,
  probeRound,
  startPaymentsClients,
  PROBE_VANTAGES as VANTAGES,
} from './dr-world.ts';
import type { TestFirestore } from './firestore.ts';
import { createLinksTable } from './links-table.ts';
import { ADMIN_CREDENTIALS, admin } from './local-cloud.ts';

const PROBE_INTERVAL_MS = 30_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** One failover measured. Times in ms. */
export interface FailoverCost {
  plan: string;
  rtoMs: number;
  /** State transitions (AWS) or Workflows steps (Google) of the execution that ran the failover. */
  count: number;
  /** Google's polls for AWS's results (Google only). */
  polls?: number;
  /** How the execution ended. */
  status: string;
  /** Virtual time from the decision to the flip's result (ARC's states set, Cloud DNS's targets drained). */
  decisionToFlipMs: number;
  /** Virtual time from the decision to the clients served again, by the standby. */
  decisionToServedMs: number;
  /**
   * Wall time from the executor handed the decision to the flip landing (AWS), or to the end of the
   * workflow execution, whose last action is the flip (Google).
   */
  wallToFlipMs: number;
}

const cloudOptions = {
  ports: 0 as const,
  clock: { mode: 'manual' as const, start: '2026-06-01T00:00:00Z' },
  seed: 42,
  log: () => {},
};

/** Wall-time polls until `what` holds (at most `ms`); false if it never did. */
async function until(what: () => Promise<boolean> | boolean, ms = 30_000): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await what()) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

/**
 * Probe rounds every 30 s of virtual time: 2 minutes of a healthy primary, then `outage()`, until the
 * decider's first move (handed to `onMove` inside the round). Returns the move.
 */
async function untilDecided(
  cloud: LocalCloud,
  plan: DrPlan,
  vantages: readonly string[],
  outage: () => Promise<unknown>,
  onMove: (move: Decision) => Promise<void>,
): Promise<Decision> {
  const decider: ProbedDecider = probedDecider(plan);
  let move: Decision | undefined;
  const round = () =>
    probeRound(cloud, plan, decider, vantages, async (m) => {
      if (move) return;
      move = m;
      await onMove(m);
    });
  for (let i = 0; i < 4; i++) {
    await round();
    await cloud.clock.advance(PROBE_INTERVAL_MS);
  }
  const outageAt = cloud.clock.now();
  await outage();
  while (!move && cloud.clock.now() - outageAt < 30 * 60_000) {
    await round();
    if (!move) await cloud.clock.advance(PROBE_INTERVAL_MS);
  }
  if (!move) throw new Error('the decider made no move within 30 minutes of the outage');
  if (move.decision !== 'failover')
    throw new Error(`the decider's first move is ${move.decision}, not failover`);
  return move;
}

/** When the world's clients of `service` were last served again, once served by `side`; else undefined. */
async function servedAgainAt(cloud: LocalCloud, service: string, side: string): Promise<number | undefined> {
  const c = await admin(cloud, 'POST', '/world/clients', { service });
  const last = (c.transitions as { at: string; ok: boolean }[]).at(-1);
  return (c.bySide[side] ?? 0) > 0 && last?.ok ? Date.parse(last.at) : undefined;
}

/** The payments failover through the real dr-failover ASL on the local Step Functions. */
export async function awsFailoverCost(): Promise<FailoverCost> {
  const cloud = await startLocalCloud(cloudOptions);
  const dynamo = new DynamoDBClient({
    region: 'us-west-2',
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
  });
  const sfn = new SFNClient({
    region: 'us-west-2',
    endpoint: cloud.aws.endpoint,
    credentials: ADMIN_CREDENTIALS,
  });
  try {
    await createPaymentsAtArcAddresses(cloud, { rpo: '1m' });
    const world = await deployPaymentsWorld(cloud);
    const executor = await executorSession(cloud);
    const plan = failoverPlanOf(cloud, world);
    await cloud.clock.advance(10_000);
    await primaryCellOn(world, executor);
    await cloud.clock.advance(10_000);
    await startPaymentsClients(cloud);

    // drExecutor over the links table, driven by the state machine as serverless.yml deploys it.
    const TableName = 'crosslink-links-bench';
    await createLinksTable(dynamo, TableName);
    const events: CloudEvent[] = [];
    const pages: unknown[] = [];
    const deps: DrExecutorDeps = {
      plan,
      runs: new DynamoDbDrExecutorStore(dynamo, TableName),
      bus: { put: async (e) => void events.push(...e) },
      origin: { cloud: 'aws', accountId: cloud.aws.accountId, region: 'us-west-2' },
      clock: cloud.clock,
      flip: (action) =>
        flipRoutingControls({ credentials: executor }, { endpoints: world.endpoints, action }),
      page: (p) => void pages.push(p),
    };
    const stateMachineArn = await drFailoverStateMachine(cloud, sfn, deps, 'crosslink-dr-failover-bench');

    // The outage, the decision, the execution started with it (as the decision hook starts it).
    let t0 = 0;
    let executionArn = '';
    const move = await untilDecided(
      cloud,
      plan,
      VANTAGES,
      () => admin(cloud, 'POST', '/world/region-outage', { cloud: 'aws', region: 'us-east-1', on: true }),
      async (m) => {
        t0 = performance.now();
        const started = await sfn.send(
          new StartExecutionCommand({
            stateMachineArn,
            name: `${plan.service}-${m.epoch}`,
            input: JSON.stringify({ decision: m }),
          }),
        );
        executionArn = started.executionArn as string;
      },
    );

    // Each commanded action answered as the bus rule would deliver its DrActionFinished: the fence
    // of Aurora (action 0) by AWS's drCommanded, 1 and 2 by Google across the relay.
    const started = () =>
      events.filter((e) => e.type.includes('DrActionStarted')).map((e) => e.data as DrActionStartedData);
    for (const index of [0, 1, 2]) {
      if (!(await until(() => started().at(-1)?.index === index)))
        throw new Error(`the executor did not start action ${index}: ${JSON.stringify(pages)}`);
      const s = started().at(-1) as DrActionStartedData;
      const action = plan.actions.failover[index];
      const on = { name: plan.service, cloud: s.action.cloud };
      if (action?.type === 'fence-writer') await admin(cloud, 'POST', '/world/service-fence', on);
      else if (action?.type === 'promote-replica') await admin(cloud, 'POST', '/world/service-promote', on);
      else if (action?.type === 'scale-standby')
        await admin(cloud, 'POST', '/world/service-scale', { ...on, capacity: action.capacity });
      await cloud.clock.advance(1_000); // the bus's or the relay's crossing
      await applyExecutorInput(deps, {
        drExecutor: 'result',
        result: resultOfFinished({
          ...s,
          outcome: 'succeeded',
          ...(s.via === 'commanded' && { reportedBy: 'commanded' as const }),
          finishedAt: iso(cloud.clock.now()),
        }),
      });
    }
    const run = (await deps.runs.current(plan.service))?.run;
    const flipped = run?.steps[3]?.finishedAt;
    if (run?.steps[3]?.status !== 'succeeded' || !flipped)
      throw new Error(`the flip did not succeed: run ${run?.status}, ${JSON.stringify(pages)}`);
    const wallToFlipMs = performance.now() - t0;

    // The execution's next look ends it; the clients follow Route 53 to the standby.
    const decidedAt = Date.parse(move.time);
    let served: number | undefined;
    let status = 'RUNNING';
    while (cloud.clock.now() - decidedAt < parseDuration(plan.objectives.rto)) {
      await cloud.clock.advance(1_000);
      await new Promise((r) => setTimeout(r, 10));
      served ??= await servedAgainAt(cloud, plan.service, 'gcp');
      status = (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status as string;
      if (served !== undefined && status !== 'RUNNING') break;
    }
    const history: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const out = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }),
      );
      history.push(...(out.events ?? []));
      nextToken = out.nextToken;
    } while (nextToken);
    if (served === undefined) throw new Error('the clients were not served by the standby within the RTO');
    if (status !== 'SUCCEEDED') throw new Error(`the dr-failover execution is ${status}, not SUCCEEDED`);
    return {
      plan: plan.service,
      rtoMs: parseDuration(plan.objectives.rto),
      count: history.filter((e) => e.type?.endsWith('StateEntered')).length,
      status,
      decisionToFlipMs: Date.parse(flipped) - decidedAt,
      decisionToServedMs: served - decidedAt,
      wallToFlipMs,
    };
  } finally {
    sfn.destroy();
    dynamo.destroy();
    await cloud.stop();
  }
}

/** A Firestore emulator of its own (the bench's: no test run leases one), and its clients. */
async function ownFirestore(): Promise<TestFirestore> {
  delete process.env.FIRESTORE_EMULATOR_HOST;
  process.env.METADATA_SERVER_DETECTION = 'none';
  const emulators = await startEmulators({ pubsub: false, log: () => {} });
  process.env.FIRESTORE_EMULATOR_HOST = emulators.firestoreHost as string;
  const clients: Firestore[] = [];
  return {
    emulators,
    db() {
      const db = new Firestore({ projectId: `bench-dr-${clients.length + 1}` });
      clients.push(db);
      return db;
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.terminate()));
      await emulators.stop();
      delete process.env.FIRESTORE_EMULATOR_HOST;
    },
  };
}

/**
 * The ledger failover by the dr-failover workflow on the interpreter, over `leased` Firestore (a
 * test's) or an emulator of its own.
 */
export async function googleFailoverCost(leased?: TestFirestore): Promise<FailoverCost> {
  const firestore = leased ?? (await ownFirestore());
  const cloud = await startLocalCloud(cloudOptions);
  try {
    const world = await ledgerDnsWorld(cloud, firestore);
    const { plan } = world;
    const executions: ExecutionOutcome[] = [];
    let wallToFlipMs = 0;
    const move = await untilDecided(
      cloud,
      plan,
      LEDGER.vantages,
      () => admin(cloud, 'POST', '/world/region-outage', { cloud: 'gcp', region: 'europe-west1', on: true }),
      async (m) => {
        const t0 = performance.now();
        executions.push(await world.executor.run({ decision: m }, { execution: `exec-${m.epoch}` }));
        wallToFlipMs = performance.now() - t0;
      },
    );
    const decidedAt = Date.parse(move.time);
    let served = await servedAgainAt(cloud, plan.service, 'aws');
    while (served === undefined && cloud.clock.now() - decidedAt < parseDuration(plan.objectives.rto)) {
      await cloud.clock.advance(1_000);
      served = await servedAgainAt(cloud, plan.service, 'aws');
    }
    if (served === undefined) throw new Error('the clients were not served by the standby within the RTO');
    const run = (await world.store.current(plan.service))?.run;
    const flipped = run?.steps[3]?.finishedAt;
    if (run?.steps[3]?.status !== 'succeeded' || !flipped)
      throw new Error(`the flip did not succeed: run ${run?.status}`);
    const execution = executions[0] as ExecutionOutcome;
    if (execution.state !== 'SUCCEEDED')
      throw new Error(`the dr-failover workflow is ${execution.state}, not SUCCEEDED`);
    return {
      plan: plan.service,
      rtoMs: parseDuration(plan.objectives.rto),
      count: execution.stepCount.total,
      polls: world.executor.calls.poll ?? 0,
      status: execution.state,
      decisionToFlipMs: Date.parse(flipped) - decidedAt,
      decisionToServedMs: served - decidedAt,
      wallToFlipMs,
    };
  } finally {
    await cloud.stop();
    if (!leased) await firestore.stop();
  }
}
