/**
 * AWS's commanded side of a DR plan that Google executes (docs/dr-executor.md, "The commanded side on
 * AWS"): Lambda `drCommanded`, triggered by Google's `DrActionStarted` relayed to the bus
 * (`DrCommandedRule`: `via: relay`, an action on AWS). The core's commanded side
 * (functions/core/dr/commanded.ts `onCommand`) over the fence in the links table (./dr-fence.ts) and
 * the plan's hooks as Lambda functions invoked (./dr-hook-runner.ts); its `DrActionFinished` goes on
 * the bus, and the relay carries it to Google's executor.
 *
 * - A command whose hook is still running fails the invocation (`UnavailableError`), so that it is
 *   retried later, when it gets the recorded result.
 * - An event whose data is not a valid `DrActionStarted`, or that names another action than the
 *   plan's at that place, is dropped with the fields named (`dropped`): a retry would not change it.
 * - The plan is the one the packaging embeds (config/dr-plan.cjs, as drSignals and drExecutor); with
 *   none, each command is ignored, said so.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { type Clock, systemClock } from '#core/clock.ts';
import { type CommandedDeps, type CommandOutcome, onCommand } from '#core/dr/commanded.ts';
import type { DrPlan } from '#core/dr/plan.ts';
import { ValidationError } from '#core/errors.ts';
import type { DrActionStartedData } from '#core/events/catalog.ts';
import { DrActionStarted as DrActionStartedCheck } from '#core/events/checks.ts';
import { need } from '#core/link/settings.ts';
import { assertValid } from '#core/validation.ts';
import { DynamoDbDrFence } from './dr-fence.ts';
import { lambdaHookRunner, lambdaInvoke } from './dr-hook-runner.ts';
import { embeddedDrPlan } from './dr-plan.ts';
import { type EventBridgeEvent, fromEventBridgeEvent } from './envelope.ts';
import { EventBridgeSink } from './event-sink.ts';

export type DrCommandedOutcome = CommandOutcome | { outcome: 'dropped'; reason: string };

/** What the SDK clients take beyond the region: none deployed (the role's credentials from the environment). */
export interface SdkConfig {
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/**
 * The function's dependencies: the fence in the links table, the replies on the bus, the hooks
 * invoked under the function's own role (its policy names the plan's hook functions alone).
 */
export function drCommandedDeps(
  plan: DrPlan | undefined,
  env: NodeJS.ProcessEnv,
  clock: Clock = systemClock,
  sdk: SdkConfig = {},
): CommandedDeps {
  const region = need(env, 'AWS_REGION');
  const config = { region, ...sdk };
  return {
    plan,
    fence: new DynamoDbDrFence(new DynamoDBClient(config), need(env, 'CROSSLINK_TABLE')),
    bus: new EventBridgeSink(new EventBridgeClient(config), { busName: need(env, 'CROSSLINK_BUS') }),
    origin: { cloud: 'aws', accountId: need(env, 'CROSSLINK_ACCOUNT_ID'), region },
    clock,
    // The SDK's own retries would invoke a hook twice: an invocation is made once.
    runHook: plan
      ? lambdaHookRunner({
          plan,
          clock,
          invoke: lambdaInvoke(new LambdaClient({ ...config, maxAttempts: 1 })),
        })
      : async () => {
          throw new Error('no DR plan deployed (CROSSLINK_DR_PLAN)');
        },
  };
}

let cached: CommandedDeps | undefined;

/** The deployed function's dependencies, once per cold start, with the embedded plan. */
export function drCommandedDepsFromEnv(env: NodeJS.ProcessEnv = process.env): CommandedDeps {
  cached ??= drCommandedDeps(embeddedDrPlan(), env);
  return cached;
}

/** One event from the bus: Google's command for an action on AWS runs through the fence. */
export async function drCommandedStep(
  deps: CommandedDeps,
  event: EventBridgeEvent,
): Promise<DrCommandedOutcome> {
  const ce = fromEventBridgeEvent(event);
  if (ce.type.includes('DrActionStarted'))
    try {
      assertValid<DrActionStartedData>(DrActionStartedCheck.validate, ce.data, 'DrActionStarted data');
      return await onCommand(deps, ce);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      return {
        outcome: 'dropped',
        reason: e.issues.map((i) => `${i.path}: ${i.reason}`).join('; '),
      };
    }
  return onCommand(deps, ce);
}
