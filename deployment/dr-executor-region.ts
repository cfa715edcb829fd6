/**
 * Where gcp.yml may place Google's DR executor (docs/dr-executor.md, "The region the executor runs
 * in"). For a plan Google executes (its traffic switch is a Cloud DNS failover policy), the executor
 * is the `dr-failover` workflow, the `dr-signals` function that answers its steps and the `dr-control`
 * function whose decision hook moves the run, and none may
 * run in the plan's region on Google (functions/core/dr/executor-region.ts): the primary's, or the
 * standby's when the primary is on AWS. The plan is the function's CROSSLINK_DR_PLAN (its JSON, after
 * `${env:...}` substitution). Checked before anything changes by scripts/deploy-gcp (its converge)
 * and by the local cloud's gcp.yml wiring, each in the region it deploys to.
 */

import { executorCloud } from '#core/dr/executor.ts';
import { executorRegionIssue } from '#core/dr/executor-region.ts';
import { type DrPlan, validateDrPlan } from '#core/dr/plan.ts';
import type { Issue } from '#core/errors.ts';
import { functionRegion, type GcpConfig } from './gcp-config.ts';

/**
 * The entry points of the functions that act as the executor: the one that answers the dr-failover
 * workflow's steps, and the operators' controls (its decision hook applies an approved move to the run).
 */
const EXECUTOR_ENTRIES: Record<string, string> = {
  drSignals: "the dr-failover workflow's steps",
  drControl: "the operators' controls, which move the run",
};
const DR_FAILOVER_WORKFLOW = 'dr-failover';

/**
 * Every placement of Google's executor in the region its plan refuses, `region` being where the
 * deploy puts what names none (functions without their own region, the workflows).
 */
export function drExecutorRegionIssues(config: GcpConfig, region: string | undefined): Issue[] {
  const issues: Issue[] = [];
  config.functions.forEach((f, i) => {
    const text = EXECUTOR_ENTRIES[f.entryPoint] ? f.environment?.CROSSLINK_DR_PLAN : undefined;
    if (!text) return;
    let plan: DrPlan;
    try {
      plan = validateDrPlan(JSON.parse(text), 'CROSSLINK_DR_PLAN');
    } catch (e) {
      issues.push({
        path: `functions[${i}].environment.CROSSLINK_DR_PLAN`,
        reason: `is not a valid DR plan's JSON: ${(e as Error).message}`,
      });
      return;
    }
    if (executorCloud(plan) !== 'gcp') return;
    const at = (r: string | undefined) => (r === undefined ? undefined : executorRegionIssue(plan, 'gcp', r));
    const own = functionRegion(f, { region });
    const fnIssue = at(own);
    if (fnIssue)
      issues.push({
        path: f.region === undefined ? 'region' : `functions[${i}].region`,
        reason: `function ${f.name} (${EXECUTOR_ENTRIES[f.entryPoint]}) would run in ${own}: ${fnIssue}`,
      });
    config.workflows.forEach((w, j) => {
      if (w.name !== DR_FAILOVER_WORKFLOW || f.entryPoint !== 'drSignals') return;
      const wfIssue = at(region);
      if (wfIssue)
        issues.push({
          path: 'region',
          reason: `workflow ${w.name} would be deployed in ${region}: ${wfIssue}`,
        });
      const steps = w.env?.CROSSLINK_DR_EXECUTOR_REGION;
      const stepsIssue = at(steps);
      if (stepsIssue)
        issues.push({
          path: `workflows[${j}].env.CROSSLINK_DR_EXECUTOR_REGION`,
          reason: `names ${steps}, where workflow ${w.name} would have its steps answered: ${stepsIssue}`,
        });
    });
  });
  return issues;
}
