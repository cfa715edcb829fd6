/**
 * The hook runner of Google's commanded side (docs/dr-executor.md, "The commanded side on Google"):
 * an action's hook (`hook.function`) is a Cloud Function of this project in the plan's Google
 * region (the plan's side on Google, primary or standby), except a fence's (`fence-writer`), which
 * is in the commanded function's own region: the fence must work while the side's region is out,
 * so its hook is deployed outside it. Called once over HTTPS at
 * `https://<region>-<project>.cloudfunctions.net/<function>` with an OIDC ID token of the commanded
 * function's own service account for that URL (Cloud Run checks the token and that the account is
 * among the hook's invokers), and the command as its JSON body (`service`, `decision`, `epoch`,
 * `index`, `action`, `deadline`), as Google's executor calls its hooks.
 *
 * - A 2xx answer is success (its body's `detail`, when a string, is the result's detail), unless the
 *   body says `{"outcome": "failed"}`.
 * - An error status is a failure naming the status and the start of the body (a 403 is Cloud Run
 *   refusing the caller: the hook's invokers do not name the commanded side's account; a 401 is its
 *   ID token refused).
 * - No answer within the time left before the command's deadline (at most the action's timeout) is a
 *   failure (`HookTimedOut`): the executor stops waiting at the deadline, so a later answer could
 *   only page there.
 *
 * `CROSSLINK_GCP_ENDPOINT` (the local cloud's edge, never set on Google) is where the request goes;
 * the token's audience stays the function's cloud URL, which the local edge verifies as Cloud Run does.
 */
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
import type { Action, DrPlan } from '#core/dr/plan.ts';

export { HookFailed } from '#core/dr/commanded.ts';

/** Mints an ID token for `audience` as the function's service account. */
export type IdTokenSource = (audience: string) => Promise<string>;

export interface HookRunnerOptions {
  plan: DrPlan;
  project: string;
  /** The commanded function's own region, outside the plan's side on Google: where a fence's hook runs. */
  region: string;
  clock: Clock;
  idToken: IdTokenSource;
  /** The local cloud's edge (CROSSLINK_GCP_ENDPOINT); Google's own URL when unset. */
  endpoint?: string;
  fetch?: typeof fetch;
  /**
   * The longest this process may wait for a hook (default `HOOK_MAX_WAIT_MS`: the function's own
   * timeout less a margin), so that a hook slower than that is answered HookTimedOut rather than
   * the instance being stopped with no answer sent.
   */
  maxWaitMs?: number;
}

/** The plan's region on Google: where its hooks run. */
export function googleRegionOf(plan: DrPlan): string {
  const side = [plan.primary, plan.standby].find((s) => s.cloud === 'gcp');
  if (!side) throw new HookFailed(`${plan.service} has no side on Google, so no hook runs here`);
  return side.region;
}

/** The hook's cloud URL (the token's audience) and where the request goes. */
export function hookTarget(
  o: Pick<HookRunnerOptions, 'plan' | 'project' | 'endpoint' | 'region'>,
  action: Action,
  name: string,
): { audience: string; url: string } {
  const region = action.type === 'fence-writer' ? o.region : googleRegionOf(o.plan);
  const host = `${region}-${o.project}.cloudfunctions.net`;
  const audience = `https://${host}/${name}`;
  const url = o.endpoint ? `${o.endpoint.replace(/\/$/, '')}/${host}/${name}` : audience;
  return { audience, url };
}

/** Cloud Run's refusals of the caller, before the hook runs. */
const REFUSALS: Record<number, string> = {
  401: " (its ID token was refused: the commanded side's account token for the hook's URL)",
  403: ' (the caller is not among its invokers)',
};

/** The runner dr-commanded.ts takes (its `HookRunner`). */
export function httpHookRunner(o: HookRunnerOptions): HookRunner {
  const send = o.fetch ?? fetch;
  return async (action, command) => {
    const hook = hookOf(action, 'Google');
    const left = Math.min(
      hookTimeLeftMs(o.plan, action, command, o.clock.now()),
      o.maxWaitMs ?? HOOK_MAX_WAIT_MS,
    );
    const { audience, url } = hookTarget(o, action, hook.function);
    const token = await o.idToken(audience);
    let res: Response;
    try {
      res = await send(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(command),
        signal: AbortSignal.timeout(left),
      });
    } catch (e) {
      if (isTimeout(e)) throw hookTimedOut(hook.function, left);
      throw new HookFailed(`${hook.function} could not be called: ${(e as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok)
      throw new HookFailed(
        `${hook.function} answered ${res.status}${REFUSALS[res.status] ?? ''}: ${text.slice(0, 400)}`,
      );
    return hookAnswer(hook.function, text);
  };
}
