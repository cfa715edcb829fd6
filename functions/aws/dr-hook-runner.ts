/**
 * The hook runner of AWS's commanded side (docs/dr-executor.md, "The commanded side on AWS"): an
 * action's hook (`hook.function`) is a Lambda function of this account in the commanded function's
 * region, invoked once (`lambda:InvokeFunction`, `RequestResponse`) with the command as its payload
 * (`service`, `decision`, `epoch`, `index`, `action`, `deadline`), under the commanded function's own
 * role, whose policy names the plan's hook functions alone.
 *
 * - An answer without `FunctionError` is success (its payload's `detail`, when a string, is the
 *   result's detail), unless the payload says `{"outcome": "failed"}`.
 * - A `FunctionError` (the hook threw, or Lambda ended it: `Unhandled`) is a failure naming the
 *   error's type and message from the payload.
 * - Lambda refusing the call (the role may not invoke it, no such function, throttled) is a failure
 *   naming Lambda's error.
 * - No answer within the time left before the command's deadline (at most the action's timeout, and
 *   at most `HOOK_MAX_WAIT_MS`: the function's own 900 s less the time to answer) is `HookTimedOut`:
 *   the call is abandoned, and the executor stops waiting at the deadline. Without that cap a 15m
 *   hook would outlive the function, which Lambda would end with no answer sent.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { Clock } from '#core/clock.ts';
import {
  HOOK_MAX_WAIT_MS,
  HookFailed,
  type HookRunner,
  hookAnswer,
  hookOf,
  hookTimedOut,
  hookTimeLeftMs,
  isTimeout,
} from '#core/dr/commanded.ts';
import type { DrPlan } from '#core/dr/plan.ts';

/** Lambda's answer to a RequestResponse invocation: its FunctionError, if any, and its payload (text). */
export interface InvokeAnswer {
  functionError?: string;
  payload: string;
}

/** Invokes a function by name with a JSON payload, abandoning the call when `signal` aborts. */
export type LambdaInvoke = (
  functionName: string,
  payload: unknown,
  signal: AbortSignal,
) => Promise<InvokeAnswer>;

/** `lambda:InvokeFunction` (RequestResponse) through the SDK client. */
export function lambdaInvoke(client: LambdaClient): LambdaInvoke {
  return async (functionName, payload, signal) => {
    const out = await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify(payload)),
      }),
      { abortSignal: signal },
    );
    return {
      ...(out.FunctionError && { functionError: out.FunctionError }),
      payload: out.Payload ? new TextDecoder().decode(out.Payload) : '',
    };
  };
}

/** The error a failed function's payload names (`{"errorType", "errorMessage"}`), else its start. */
function functionErrorOf(payload: string): string {
  try {
    const v = JSON.parse(payload) as { errorType?: unknown; errorMessage?: unknown };
    if (typeof v?.errorMessage === 'string')
      return `${typeof v.errorType === 'string' ? `${v.errorType}: ` : ''}${v.errorMessage}`;
  } catch {
    // not JSON: said as it is
  }
  return payload.slice(0, 400);
}

/** The runner the AWS commanded side takes (its `HookRunner`). */
export function lambdaHookRunner(o: {
  plan: DrPlan;
  clock: Clock;
  invoke: LambdaInvoke;
  /**
   * The longest this invocation may wait for a hook (default `HOOK_MAX_WAIT_MS`), or how to know it
   * at each call (the invocation's time left less the time to answer).
   */
  maxWaitMs?: number | (() => number);
}): HookRunner {
  return async (action, command) => {
    const hook = hookOf(action, 'AWS');
    const cap = typeof o.maxWaitMs === 'function' ? o.maxWaitMs() : (o.maxWaitMs ?? HOOK_MAX_WAIT_MS);
    const left = Math.max(1, Math.min(hookTimeLeftMs(o.plan, action, command, o.clock.now()), cap));
    let answer: InvokeAnswer;
    try {
      answer = await o.invoke(hook.function, command, AbortSignal.timeout(left));
    } catch (e) {
      if (isTimeout(e)) throw hookTimedOut(hook.function, left);
      const err = e as Error;
      throw new HookFailed(`${hook.function} could not be invoked: ${err.name}: ${err.message}`);
    }
    if (answer.functionError)
      throw new HookFailed(
        `${hook.function} failed (${answer.functionError}): ${functionErrorOf(answer.payload)}`,
      );
    return hookAnswer(hook.function, answer.payload);
  };
}
