/**
 * The DR plan the packaging embeds in the DR functions' bundles (esbuild `define` of
 * CROSSLINK_DR_PLAN from config/dr-plan.cjs, which validates it and derives the decider's settings),
 * so that they carry no YAML parser and no schema compiler; null when the deployment protects none.
 */
import type { DrPlan } from '#core/dr/plan.ts';

declare const CROSSLINK_DR_PLAN: DrPlan | null | undefined;

/** The embedded DR plan; undefined when none was embedded or when running from source. */
export function embeddedDrPlan(): DrPlan | undefined {
  return typeof CROSSLINK_DR_PLAN === 'undefined' || CROSSLINK_DR_PLAN === null
    ? undefined
    : CROSSLINK_DR_PLAN;
}
