/**
 * What a DR plan says of its run, before any run: which cloud executes it (the owner of its traffic
 * switch), who runs each action, and each action's timeout (functions/core/dr/executor.ts re-exports
 * them).
 */
import { parseDuration } from '../clock.ts';
import { ValidationError } from '../errors.ts';
import type { Action, Cloud, DrPlan } from './plan.ts';

const TRAFFIC_FLIPS = new Set<Action['type']>(['arc-routing-control', 'cloud-dns-failover-policy']);

export const isFlip = (action: Action): boolean => TRAFFIC_FLIPS.has(action.type);

/** The cloud that owns the plan's traffic switch, and so executes the plan (plan.ts checks there is one). */
export function executorCloud(plan: DrPlan): Cloud {
  const flip = [...plan.actions.failover, ...plan.actions.failback].find(isFlip);
  if (!flip) throw new ValidationError([{ path: 'actions', reason: 'has no traffic flip' }], 'DR plan');
  return flip.cloud;
}

/**
 * Who runs an action: the other cloud, commanded across the relay (`relay`); on AWS, an action with a
 * hook when AWS executes the plan (a failback's promotion and scaling), through AWS's own commanded
 * side (`commanded`: its fence, one invocation per action, so each hook gets its whole timeout and a
 * redelivered command is answered once); else the executor itself (`local`: a flip, or a hook the
 * Google workflow calls, which waits as long as the hook's timeout). AWS's executor is a Lambda
 * function (900 s at most), which could not give consecutive hooks their timeouts in one invocation.
 */
export function stepVia(executor: Cloud, action: Action): Via {
  if (action.cloud !== executor) return 'relay';
  return executor === 'aws' && 'hook' in action && action.hook ? 'commanded' : 'local';
}

export type Via = 'local' | 'relay' | 'commanded';

/** An action's timeout: its hook's, else the plan's `execution.actionTimeout`. */
export function actionTimeoutMs(plan: DrPlan, action: Action): number {
  const hook = 'hook' in action ? action.hook : undefined;
  if (hook?.timeout) return parseDuration(hook.timeout);
  return plan.settings.actionTimeoutMs;
}
