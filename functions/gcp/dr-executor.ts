/**
 * Google as the executor of a DR plan whose traffic switch is a Cloud DNS failover policy
 * (docs/dr-executor.md "On Google: the dr-failover workflow"): the `dr-failover` function's
 * dependencies. The plan is CROSSLINK_DR_PLAN (as for dr-signals); the run and the epoch are kept in
 * Firestore (dr-executor-store.ts), the operators' controls read from Google's signal log
 * (signal-log.ts, recorded by dr-control.ts); events go on the events topic, which the relay carries to AWS (a
 * `DrActionStarted` with `via: relay` is AWS's command). A hook is a Cloud Function of this project
 * and region, called by the workflow at `https://<region>-<project>.cloudfunctions.net/<hook>`
 * (CROSSLINK_DR_HOOK_BASE_URL replaces the base, as on the local cloud). In the region the plan's
 * executor must not run in (functions/core/dr/executor-region.ts), it refuses to build.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { Clock } from '#core/clock.ts';
import { executorCloud } from '#core/dr/executor.ts';
import { executorRegionIssue } from '#core/dr/executor-region.ts';
import type { DrExecutorDeps } from '#core/dr/executor-steps.ts';
import { ValidationError } from '#core/errors.ts';
import type { EventSink } from '#core/link/ports.ts';
import { FirestoreDrExecutorStore } from './dr-executor-store.ts';
import { readDrPlanVariable } from './dr-signals.ts';
import { FirestoreSignalLog } from './signal-log.ts';

export function buildGcpDrExecutorDeps(
  env: NodeJS.ProcessEnv,
  placement: { project: string; region: string },
  clients: { firestore: Firestore; bus: EventSink; clock: Clock },
): DrExecutorDeps {
  const plan = readDrPlanVariable(env);
  if (!plan)
    throw new ValidationError(
      [
        {
          path: 'CROSSLINK_DR_PLAN',
          reason: 'is not set: no DR plan is deployed, so there is nothing to execute',
        },
      ],
      'dr-failover',
    );
  if (executorCloud(plan) !== 'gcp')
    throw new ValidationError(
      [
        {
          path: 'CROSSLINK_DR_PLAN',
          reason: `${plan.service}'s traffic switch is on ${executorCloud(plan)}: that cloud executes the plan, Google acts only when commanded`,
        },
      ],
      'dr-failover',
    );
  // Defence in depth behind the deploy's check (deployment/dr-executor-region.ts): an executor in the
  // region its moves leave acts on nothing.
  const misplaced = executorRegionIssue(plan, 'gcp', placement.region);
  if (misplaced)
    throw new ValidationError(
      [{ path: 'region', reason: `${placement.region}: ${misplaced}` }],
      'dr-failover',
    );
  const log = new FirestoreSignalLog(clients.firestore);
  const base = (
    env.CROSSLINK_DR_HOOK_BASE_URL ?? `https://${placement.region}-${placement.project}.cloudfunctions.net`
  ).replace(/\/$/, '');
  return {
    plan,
    runs: new FirestoreDrExecutorStore(clients.firestore),
    bus: clients.bus,
    origin: { cloud: 'gcp', project: placement.project, region: placement.region },
    clock: clients.clock,
    hookUrl: (name) => `${base}/${name}`,
    controls: async (service) => (await log.controls(service)).map((c) => c.record),
  };
}
