/**
 * The decision hook of Google's executor (docs/dr-executor.md "On Google: the decision hook"): where
 * the plan's traffic switch is a Cloud DNS failover policy, the `dr-signals` function runs it after
 * each scheduled probe run and each observation it records from a push. The rules are
 * functions/core/dr/decision-hook.ts's (shared with AWS's functions/aws/dr-decide.ts); here:
 *
 * - the log is Google's copy in Firestore (signal-log.ts): the observations from the decider's
 *   checkpoint on and the operators' controls (dr-control.ts records them);
 * - the decided time and the checkpoint are kept in `drDeciders/<service>` (dr-executor-store.ts);
 * - a move starts an execution of the `dr-failover` workflow (Workflow Executions API,
 *   workflow-executions.ts, the function's own credentials) with `{decision}`; a decision for a run
 *   awaiting approval (its approved move, or the hold that withdraws it) is that run's `decision`
 *   step, applied here (the execution that opened the run keeps watching it).
 *
 * Workflows executions cannot be named, so a decision's start is guarded as the link workflows' are
 * (execution-starter.ts `startOnce`: a create-if-absent record `drDeciders/<service>/starts/<epoch>`,
 * the execution labelled with its key and adopted by a later starter): the invocations of one minute
 * (the schedule's and each relayed line's) racing on the same decision start one execution, and one
 * still being started by another invocation answers StartInProgressError (the push is redelivered,
 * the decided time is not moved). Should two executions of a decision ever run (the guard's lease
 * run out while the first starter was still creating), the second's claim in Firestore names
 * another execution and is refused and recorded, and that execution ends `refused` having done
 * nothing. `DrDecisionMade` of a decision the executor takes is published by
 * its claim (or decision) step; the hook publishes the others.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { Clock } from '#core/clock.ts';
import type { DecisionHookDeps } from '#core/dr/decision-hook.ts';
import { executorCloud } from '#core/dr/executor.ts';
import { type DrExecutorDeps, drExecutorStep } from '#core/dr/executor-steps.ts';
import type { EventSink } from '#core/link/ports.ts';
import { buildGcpDrExecutorDeps } from './dr-executor.ts';
import { FirestoreDrExecutorStore } from './dr-executor-store.ts';
import { readDrPlanVariable } from './dr-signals.ts';
import { type StageExecutions, startOnce } from './execution-starter.ts';
import { FirestoreSignalLog } from './signal-log.ts';

/** The labels of a started execution: the plan's service and the decision's epoch. */
export const DR_SERVICE_LABEL = 'crosslink-dr-service';
export const DR_EPOCH_LABEL = 'crosslink-dr-epoch';

export interface GcpDecideParts {
  executor: DrExecutorDeps;
  runs: FirestoreDrExecutorStore;
  /** Google's copy of the signal log: observations and operators' controls (signal-log.ts `records`). */
  log: Pick<FirestoreSignalLog, 'records'>;
  executions: StageExecutions;
  /** The dr-failover workflow's full name, `projects/{p}/locations/{l}/workflows/{id}`. */
  workflow: string;
}

/** The hook's dependencies over Firestore and the Workflow Executions API. */
export function gcpDecisionHook(parts: GcpDecideParts): DecisionHookDeps {
  const { executor, runs, log, executions, workflow } = parts;
  return {
    plan: executor.plan,
    log: { records: (service, since) => log.records(service, since) },
    ledger: runs,
    bus: executor.bus,
    origin: executor.origin,
    clock: executor.clock,
    cloud: 'gcp',
    executorPublishes: true,
    handOn: async (decision) => {
      const stored = await runs.current(decision.service);
      if (stored?.run.status === 'awaiting-approval') {
        const next = await drExecutorStep(executor, { step: 'decision', decision });
        return `the run of epoch ${stored.run.epoch}: ${next.status} at epoch ${next.epoch}`;
      }
      const key = `dr-${decision.service}-${decision.epoch}`;
      const { execution } = await startOnce(
        {
          executions,
          clock: executor.clock,
          record: runs.decisionStart(decision.service, decision.epoch, key, executor.clock.now()),
        },
        workflow,
        key,
        {
          argument: { decision },
          labels: { [DR_SERVICE_LABEL]: decision.service, [DR_EPOCH_LABEL]: String(decision.epoch) },
        },
      );
      return execution;
    },
  };
}

/**
 * The hook as the deployed function wires it: where CROSSLINK_DR_PLAN is a plan Google executes and
 * CROSSLINK_DR_FAILOVER_WORKFLOW names the workflow (its id, in CROSSLINK_DR_FAILOVER_LOCATION, else
 * the function's region); undefined otherwise (no hook runs). The executor's dependencies are built
 * with it, so the hook refuses to run where the executor may not (its region check).
 */
export function gcpDecisionHookFromEnv(
  env: NodeJS.ProcessEnv,
  placement: { project: string; region: string },
  clients: {
    firestore: Firestore;
    bus: EventSink;
    clock: Clock;
    executions: StageExecutions;
  },
): DecisionHookDeps | undefined {
  const plan = readDrPlanVariable(env);
  const id = env.CROSSLINK_DR_FAILOVER_WORKFLOW;
  if (!plan || executorCloud(plan) !== 'gcp' || !id) return undefined;
  const executor = buildGcpDrExecutorDeps(env, placement, clients);
  const location = env.CROSSLINK_DR_FAILOVER_LOCATION || placement.region;
  return gcpDecisionHook({
    executor,
    runs: new FirestoreDrExecutorStore(clients.firestore),
    log: new FirestoreSignalLog(clients.firestore),
    executions: clients.executions,
    workflow: `projects/${placement.project}/locations/${location}/workflows/${id}`,
  });
}
