/**
 * Google's commanded side of a DR plan that AWS executes (docs/dr-executor.md, "The commanded side on
 * Google"): the executor's `DrActionStarted` for an action on Google (`via: relay`), carried by the
 * relay, is the command. It is admitted through the fence in Firestore (./dr-fence.ts), the plan's
 * hook for the action runs (promote, scale), and the result goes back as `DrActionFinished`, which the
 * relay carries to the executor.
 *
 * - The action is the deployed plan's own (`actions.<decision>[index]`), never one the event
 *   describes: an event naming another type than the plan's at that place is refused.
 * - A lower epoch, or a command past its deadline, is refused and recorded, and the refusal is sent
 *   back (`refused`). A redelivery of a command that ran gets the recorded result again and runs
 *   nothing; one that arrives while its hook is running is retried later.
 */
import type { Firestore } from '@google-cloud/firestore';
import type { Clock } from '#core/clock.ts';
import type { ActionCommand, ActionResult } from '#core/dr/executor.ts';
import type { Action, DrPlan } from '#core/dr/plan.ts';
import { buildEvent, type CloudEvent, type Origin, parseEventType } from '#core/envelope.ts';
import { UnavailableError, ValidationError } from '#core/errors.ts';
import type { DrActionFinishedData, DrActionStartedData } from '#core/events/catalog.ts';
import type { EventSink } from '#core/link/ports.ts';
import { FirestoreDrFence } from './dr-fence.ts';
import { httpHookRunner, type IdTokenSource } from './dr-hook-runner.ts';
import { readDrPlanVariable } from './dr-signals.ts';

/** Runs the plan's hook of an action on Google; throws when the hook reports a failure. */
export type HookRunner = (action: Action, command: ActionCommand) => Promise<{ detail?: string }>;

export interface CommandedDeps {
  plan: DrPlan | undefined;
  fence: FirestoreDrFence;
  bus: EventSink;
  origin: Origin;
  clock: Clock;
  runHook: HookRunner;
}

export type CommandOutcome =
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'ran' | 'duplicate' | 'refused'; result: ActionResult };

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
          clock: clients.clock,
          idToken: clients.idToken,
          ...(endpoint ? { endpoint } : {}),
        })
      : async () => {
          throw new Error('no DR plan deployed (CROSSLINK_DR_PLAN)');
        },
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** One pushed event: a command for this side runs through the fence; every other event is ignored. */
export async function onCommand(deps: CommandedDeps, event: CloudEvent): Promise<CommandOutcome> {
  if (parseEventType(event.type)?.name !== 'DrActionStarted' || event.crosslinkorigin !== 'aws')
    return { outcome: 'ignored', reason: "not the AWS executor's DrActionStarted" };
  const data = event.data as DrActionStartedData;
  if (data.via !== 'relay' || data.action?.cloud !== 'gcp')
    return { outcome: 'ignored', reason: 'an action the executor runs itself' };
  const plan = deps.plan;
  if (!plan) return { outcome: 'ignored', reason: 'no DR plan deployed (CROSSLINK_DR_PLAN)' };
  if (data.service !== plan.service)
    return {
      outcome: 'ignored',
      reason: `"${data.service}" is not the deployed plan's service (${plan.service})`,
    };
  const action = plan.actions[data.decision]?.[data.index];
  if (!action || action.type !== data.action.type || action.cloud !== 'gcp')
    throw new ValidationError(
      [
        {
          path: 'data.action',
          reason: `${data.action.type} on ${data.action.cloud} is not the plan's action ${data.index} of its ${data.decision} (${action ? `${action.type} on ${action.cloud}` : 'none'})`,
        },
      ],
      'DrActionStarted',
    );
  const command: ActionCommand = {
    service: data.service,
    decision: data.decision,
    epoch: data.epoch,
    index: data.index,
    action,
    deadline: data.deadline,
  };
  const admission = await deps.fence.admit(command, iso(deps.clock.now()));
  if (admission.verdict === 'in-progress')
    throw new UnavailableError(
      `${command.service} epoch ${command.epoch} action ${command.index} is running: its result is sent when it ends`,
    );
  if (admission.verdict !== 'run') {
    await reply(deps, data, admission.result);
    return { outcome: admission.verdict, result: admission.result };
  }
  let result: ActionResult;
  try {
    const ran = await deps.runHook(action, command);
    result = {
      ...base(command),
      outcome: 'succeeded',
      time: iso(deps.clock.now()),
      ...(ran.detail && { detail: ran.detail }),
    };
  } catch (e) {
    result = {
      ...base(command),
      outcome: 'failed',
      time: iso(deps.clock.now()),
      detail: `${(e as Error).name}: ${(e as Error).message}`,
    };
  }
  await deps.fence.record(result);
  await reply(deps, data, result);
  return { outcome: 'ran', result };
}

const base = (c: ActionCommand) => ({ service: c.service, epoch: c.epoch, index: c.index });

/** The result as DrActionFinished on this side's topic, which the relay carries to the executor. */
async function reply(deps: CommandedDeps, started: DrActionStartedData, result: ActionResult): Promise<void> {
  const data: DrActionFinishedData = {
    service: result.service,
    decision: started.decision,
    epoch: result.epoch,
    index: result.index,
    action: started.action,
    outcome: result.outcome,
    ...(result.detail && { detail: result.detail }),
    finishedAt: result.time,
  };
  await deps.bus.put([
    buildEvent({
      name: 'DrActionFinished',
      origin: deps.origin,
      subject: result.service,
      data,
      clock: deps.clock,
    }),
  ]);
}
