/**
 * AWS's commanded side of a DR plan (docs/dr-executor.md, "The commanded side on AWS"): Lambda
 * `drCommanded`, triggered by `DrCommandedRule`: Google's `DrActionStarted` relayed to the bus
 * (`via: relay`, an action on AWS) where Google executes the plan, and AWS's own executor's for an
 * action with a hook on AWS (`via: commanded`) where AWS does, so that each hook runs in an
 * invocation of its own (its whole timeout, up to Lambda's 900 s) behind the fence. The core's commanded side
 * (functions/core/dr/commanded.ts `onCommand`) over the fence in the links table (./dr-fence.ts) and
 * the plan's hooks as Lambda functions invoked (./dr-hook-runner.ts); its `DrActionFinished`
 * (`reportedBy: commanded`) goes on the bus, where the relay carries it to Google's executor and
 * `DrExecutorRule` hands it to AWS's own.
 *
 * - A command whose hook is still running fails the invocation (`UnavailableError`), so that it is
 *   retried later, when it gets the recorded result.
 * - The hook is given at most the invocation's time left less `HOOK_ANSWER_MARGIN_MS`: one slower
 *   than that is `HookTimedOut` (recorded and answered), never the function killed mid-call with
 *   nothing recorded.
 * - An event whose data is not a valid `DrActionStarted`, or that names another action than the
 *   plan's at that place, is dropped with the fields named (`dropped`): a retry would not change it.
 * - The plan is the one the packaging embeds (config/dr-plan.cjs, as drSignals and drExecutor); with
 *   none, each command is ignored, said so.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { type Clock, systemClock } from '#core/clock.ts';
import {
  COMMANDED_TIMEOUT_S,
  type CommandedDeps,
  type CommandOutcome,
  HOOK_MAX_WAIT_MS,
  onCommand,
} from '#core/dr/commanded.ts';
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

/** Kept of the invocation's time left when a hook is called: to record its result and answer. */
export const HOOK_ANSWER_MARGIN_MS = 30_000;

/** The invocation under way: its time left (read at each hook call), and what is kept of it to answer. */
export interface Invocation {
  remainingMs: () => number;
  marginMs: number;
}

/** An invocation as long as the function's timeout, read at no context (the default). */
const fullInvocation: Invocation = {
  remainingMs: () => COMMANDED_TIMEOUT_S * 1000,
  marginMs: HOOK_ANSWER_MARGIN_MS,
};

/**
 * The function's dependencies: the fence in the links table, the replies on the bus, the hooks
 * invoked under the function's own role (its policy names the plan's hook functions alone), each
 * given at most the invocation's time left at the call less its margin (one hook per invocation).
 */
export function drCommandedDeps(
  plan: DrPlan | undefined,
  env: NodeJS.ProcessEnv,
  clock: Clock = systemClock,
  sdk: SdkConfig = {},
  invocation: Invocation = fullInvocation,
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
          maxWaitMs: () => Math.min(HOOK_MAX_WAIT_MS, invocation.remainingMs() - invocation.marginMs),
        })
      : async () => {
          throw new Error('no DR plan deployed (CROSSLINK_DR_PLAN)');
        },
  };
}

let cached: CommandedDeps | undefined;
/** The invocation under way's time left (a Lambda instance runs one invocation at a time). */
let timeLeft: () => number = () => COMMANDED_TIMEOUT_S * 1000;

/**
 * The deployed function's dependencies, once per cold start, with the embedded plan; `remainingMs`
 * is the invocation's time left (Lambda's context), set at each invocation.
 */
export function drCommandedDepsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  remainingMs?: () => number,
): CommandedDeps {
  if (remainingMs) timeLeft = remainingMs;
  cached ??= drCommandedDeps(
    embeddedDrPlan(),
    env,
    systemClock,
    {},
    {
      remainingMs: () => timeLeft(),
      marginMs: HOOK_ANSWER_MARGIN_MS,
    },
  );
  return cached;
}

/** One event from the bus: a command for an action on AWS (Google's or AWS's executor's) runs through the fence. */
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
