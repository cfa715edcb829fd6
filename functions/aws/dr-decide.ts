/**
 * The decision hook of the executor's side on AWS (docs/dr-executor.md, "The deployed executor on
 * AWS"): after drSignals records what it observed or received (and drControl an operator's control),
 * the decider runs on the signals and controls this side's log holds, from its kept state
 * (functions/core/dr/failover-decider.ts `decisionsSince`: the state at `now - staleAfter`, so each
 * invocation reads a bounded window, not the whole log), and each decision newer than the last
 * one handed on is published (`DrDecisionMade`) and, when it is a move, given to the
 * `crosslink-dr-failover-<stage>` state machine as an execution named `<service>-<epoch>` (so a
 * decision handed on twice starts one execution). Only where the plan's traffic switch is on AWS
 * (ARC): there this side executes; otherwise Google does.
 *
 * The decided time (dr-executor-store.ts `DECIDED`) moves forward only after the decisions were
 * handed on, conditionally on the value read: two invocations racing hand the same decisions on, and
 * the execution names and the claim's fence make that harmless. A late observation whose time is
 * before the decided time changes no decision already handed on.
 */
import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Clock } from '#core/clock.ts';
import { executorCloud } from '#core/dr/executor.ts';
import { decisionMade } from '#core/dr/executor-events.ts';
import { type DeciderCheckpoint, decisionsSince } from '#core/dr/failover-decider.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import type { DrRecord } from '#core/dr/signal-log.ts';
import { buildEvent, type Origin } from '#core/envelope.ts';
import type { EventSink } from '#core/link/ports.ts';
import { need } from '#core/link/settings.ts';
import { DynamoDbDrExecutorStore } from './dr-executor-store.ts';

export interface DecideDeps {
  plan: DrPlan;
  /** This side's log: observations and operator controls, in time order (signal-log.ts `records`). */
  log: { records(service: string, since?: number): Promise<DrRecord[]> };
  runs: DynamoDbDrExecutorStore;
  bus: EventSink;
  origin: Origin;
  clock: Clock;
  /** Starts the state machine's execution `name` (an existing one of that name is not an error). */
  startExecution: (name: string, input: { decision: Decision }) => Promise<void>;
}

export interface DecideOutcome {
  /** The decisions handed on by this call. */
  decisions: Decision[];
  /** The executions started for the moves among them. */
  started: string[];
}

/** An execution's name: the service and the decision's epoch (at most 80 characters, as Step Functions allows). */
export const executionName = (d: Decision) => `${d.service}-${d.epoch}`.slice(-80);

/** Runs the decider on the log and hands the new decisions on; nothing where Google executes. */
export async function decideAndStart(deps: DecideDeps): Promise<DecideOutcome> {
  if (executorCloud(deps.plan) !== 'aws') return { decisions: [], started: [] };
  const service = deps.plan.service;
  const decidedAt = await deps.runs.decidedAt(service);
  const fingerprint = planFingerprint(deps.plan);
  const kept = await deps.runs.checkpoint(service, fingerprint);
  const records = await deps.log.records(service, kept ? kept.at + 1 : 0);
  const { decisions: all, checkpoint } = decisionsSince(
    deps.plan,
    kept,
    records,
    deps.clock.now(),
    deps.plan.settings.staleAfterMs,
  );
  const fresh = all.filter((d) => decidedAt === null || Date.parse(d.time) > Date.parse(decidedAt));
  if (fresh.length === 0) {
    await keep(deps, fingerprint, kept, checkpoint);
    return { decisions: [], started: [] };
  }
  await deps.bus.put(
    fresh.map((d) => {
      const e = decisionMade(d);
      return buildEvent({
        name: e.name,
        origin: deps.origin,
        subject: service,
        data: e.data,
        clock: deps.clock,
      });
    }),
  );
  const started: string[] = [];
  for (const d of fresh) {
    // A hold moves nothing; it matters only to a move awaiting approval, which it withdraws.
    if (d.decision === 'hold' && (await deps.runs.current(service))?.run.status !== 'awaiting-approval')
      continue;
    const name = executionName(d);
    await deps.startExecution(name, { decision: d });
    started.push(name);
  }
  await deps.runs.markDecided(service, decidedAt, (fresh.at(-1) as Decision).time);
  await keep(deps, fingerprint, kept, checkpoint);
  return { decisions: fresh, started };
}

/**
 * Keeps the decider's state once the decisions up to it were handed on: a checkpoint kept before a
 * failed hand-on would let the next invocation skip them.
 */
async function keep(
  deps: DecideDeps,
  plan: string,
  kept: DeciderCheckpoint | null,
  next: DeciderCheckpoint | null,
) {
  if (next && next.at !== kept?.at) await deps.runs.keepCheckpoint(deps.plan.service, plan, next);
}

/** The plan as deployed, as a short hash: a checkpoint kept under another plan is not taken. */
export const planFingerprint = (plan: DrPlan) =>
  createHash('sha256').update(JSON.stringify(plan)).digest('hex').slice(0, 32);

/** StartExecution through the SDK: an execution already started under that name is the same decision. */
export function sfnStarter(client: SFNClient, stateMachineArn: string): DecideDeps['startExecution'] {
  return async (name, input) => {
    try {
      await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    } catch (e) {
      if ((e as Error).name !== 'ExecutionAlreadyExists') throw e;
    }
  };
}

/**
 * The decision hook as a deployed function wires it: where a plan is embedded and
 * CROSSLINK_DR_FAILOVER_ARN names the state machine; undefined otherwise (no hook runs).
 */
export function decisionHookFromEnv(
  env: NodeJS.ProcessEnv,
  parts: Omit<DecideDeps, 'plan' | 'runs' | 'startExecution'> & {
    plan: DrPlan | undefined;
    dynamo: DynamoDBClient;
  },
): DecideDeps | undefined {
  const { plan, dynamo, ...rest } = parts;
  if (!plan || !env.CROSSLINK_DR_FAILOVER_ARN) return undefined;
  return {
    ...rest,
    plan,
    runs: new DynamoDbDrExecutorStore(dynamo, need(env, 'CROSSLINK_TABLE')),
    startExecution: sfnStarter(
      new SFNClient({ region: need(env, 'AWS_REGION') }),
      env.CROSSLINK_DR_FAILOVER_ARN,
    ),
  };
}
