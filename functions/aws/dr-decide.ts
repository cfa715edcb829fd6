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
 * The rules (which decisions are new, which go to the executor, the decided time and the checkpoint
 * kept only after the hand-on) are functions/core/dr/decision-hook.ts's, shared with Google; the
 * decided time and the checkpoint are dr-executor-store.ts's `DECIDED` and `CHECKPOINT` items.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Clock } from '#core/clock.ts';
import { type DecideOutcome, handOnDecisions } from '#core/dr/decision-hook.ts';
import type { Decision } from '#core/dr/failover-state.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import type { DrRecord } from '#core/dr/signal-log.ts';
import type { Origin } from '#core/envelope.ts';
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

export type { DecideOutcome };

/** An execution's name: the service and the decision's epoch (at most 80 characters, as Step Functions allows). */
export const executionName = (d: Decision) => `${d.service}-${d.epoch}`.slice(-80);

/** Runs the decider on the log and hands the new decisions on; nothing where Google executes. */
export function decideAndStart(deps: DecideDeps): Promise<DecideOutcome> {
  const { runs, startExecution: _, ...rest } = deps;
  return handOnDecisions({
    ...rest,
    ledger: runs,
    cloud: 'aws',
    handOn: async (d) => {
      const name = executionName(d);
      // Through the port (not a copy of it): the IAM analysis follows a port's call to its implementations.
      await deps.startExecution(name, { decision: d });
      return name;
    },
  });
}

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
