/**
 * Google's commanded side of a DR plan that AWS executes (docs/dr-executor.md, "The commanded side on
 * Google"): the core's commanded side (functions/core/dr/commanded.ts `onCommand`) over the fence in
 * Firestore (./dr-fence.ts) and the hooks as Cloud Functions called over HTTPS (./dr-hook-runner.ts),
 * its `DrActionFinished` on this side's topic, which the relay carries to the executor.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { Clock } from '#core/clock.ts';
import type { CommandedDeps } from '#core/dr/commanded.ts';
import type { EventSink } from '#core/link/ports.ts';
import { FirestoreDrFence } from './dr-fence.ts';
import { httpHookRunner, type IdTokenSource } from './dr-hook-runner.ts';
import { readDrPlanVariable } from './dr-signals.ts';

export { type CommandedDeps, type CommandOutcome, type HookRunner, onCommand } from '#core/dr/commanded.ts';

/**
 * The `dr-commanded` function's dependencies: the plan from CROSSLINK_DR_PLAN (as dr-signals reads
 * it), the fence in Firestore, the replies on the events topic, the hooks called with ID tokens of
 * the function's own account (./dr-hook-runner.ts). No plan: every command is ignored, said so.
 */
export function buildGcpDrCommandedDeps(
  env: NodeJS.ProcessEnv,
  placement: { project: string; region: string },
  clients: { firestore: Firestore; bus: EventSink; clock: Clock; idToken: IdTokenSource },
): CommandedDeps {
  const plan = readDrPlanVariable(env);
  const endpoint = env.CROSSLINK_GCP_ENDPOINT;
  return {
    plan,
    fence: new FirestoreDrFence(clients.firestore),
    bus: clients.bus,
    origin: { cloud: 'gcp', project: placement.project, region: placement.region },
    clock: clients.clock,
    runHook: plan
      ? httpHookRunner({
          plan,
          project: placement.project,
          region: placement.region,
          clock: clients.clock,
          idToken: clients.idToken,
          ...(endpoint ? { endpoint } : {}),
        })
      : async () => {
          throw new Error('no DR plan deployed (CROSSLINK_DR_PLAN)');
        },
  };
}
