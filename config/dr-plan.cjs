/**
 * The DR plan the AWS half's DR functions embed (`${file(config/dr-plan.cjs):json}`,
 * esbuild `define` of CROSSLINK_DR_PLAN in serverless.yml), the region of the plan's AWS vantage
 * point (the condition that schedules its probe only there), and the CloudFormation rule that
 * refuses a stack in the region the plan's AWS executor must not run in. The plan is the file
 * CROSSLINK_DR_PLAN_FILE names (config/dr-plans/<service>.yaml), validated here at packaging
 * (functions/core/dr/plan.ts) and embedded with the decider's settings it derives, so the function
 * needs no schema compiler; none: `null`, and no probe.
 *
 * The executor's region (functions/core/dr/executor-region.ts) is checked twice: here, against the
 * region the deploy names (`osls deploy --region <r>` or `osls package --region <r>`), with an error
 * naming the region and the plan; and by CloudFormation itself at deploy, whatever region the stack
 * lands in (a package made without `--region` names none): the template's `Rules`
 * (stacks/cloudformation-rules.cjs puts `custom.cloudFormationRules` there) assert that
 * `AWS::Region` is not the refused one before anything is created.
 *
 * CommonJS: the serverless framework loads variable files with require(), and calls the function
 * exported with `{ options }` (the CLI's options: `region`).
 */
'use strict';

const { readFileSync } = require('node:fs');
const { resolve } = require('node:path');
const { parseDrPlan } = require('../functions/core/dr/plan.ts');
const { executorRegionIssue, refusedExecutorRegion } = require('../functions/core/dr/executor-region.ts');
const { executorCloud } = require('../functions/core/dr/executor.ts');

/**
 * The policy of the hooks drCommanded (DrCommandedRole) runs: `lambda:InvokeFunction` on the Lambda
 * functions the plan names as hooks of its actions on AWS, in the stack's own account and region,
 * whichever cloud executes the plan: Google's executor commands them across the relay, AWS's own
 * commands them on its bus (`via: commanded`, each hook in an invocation of its own behind the
 * fence). drExecutor invokes none. No plan, or none on AWS: an explicit Deny of invoking any
 * function, since a policy document holds at least one statement.
 */
function commandedHookPolicy(plan) {
  const hooks = plan
    ? [
        ...new Set(
          [...plan.actions.failover, ...plan.actions.failback]
            .filter((a) => a.cloud === 'aws' && a.hook)
            .map((a) => a.hook.function),
        ),
      ].sort()
    : [];
  const statement =
    hooks.length === 0
      ? { Effect: 'Deny', Action: 'lambda:InvokeFunction', Resource: '*' }
      : {
          Effect: 'Allow',
          Action: 'lambda:InvokeFunction',
          Resource: hooks.map((name) => ({
            // CloudFormation's Fn::Sub: its ${...} are the stack's pseudo parameters.
            'Fn::Sub': `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${name}`,
          })),
        };
  return { Version: '2012-10-17', Statement: [statement] };
}

/** The template's Rules for `plan`: none unless AWS executes it. */
function executorRegionRules(plan, file) {
  const refused = refusedExecutorRegion(plan);
  if (refused.cloud !== 'aws') return {};
  return {
    DrExecutorRegion: {
      Assertions: [
        {
          Assert: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AWS::Region' }, refused.region] }] },
          AssertDescription: `The DR executor of ${plan.service} (${file}) must not run in ${refused.region}, the ${refused.side}'s region: it would fail with the outage it is there to escape. Deploy this stack in another region.`,
        },
      ],
    },
  };
}

/**
 * The plan of `file` as JSON, its AWS vantage point's region ('' when it has none), the cloud that
 * executes it (`aws` or `gcp`: the one owning its traffic switch; '' without a plan), its staleAfter
 * in seconds as a CloudWatch period (a multiple of 60, rounded up): the staleness alarms', and the
 * template's Rules. `region`, when given, is the region the deploy names: refused with an error
 * naming it and the plan when the plan's AWS executor must not run there.
 */
function drPlanValues(file, region) {
  if (!file)
    return {
      json: 'null',
      awsVantageRegion: '',
      executor: '',
      staleAfterSeconds: 300,
      rules: {},
      commandedHookPolicy: commandedHookPolicy(null),
    };
  const path = resolve(__dirname, '..', file);
  const plan = parseDrPlan(readFileSync(path, 'utf8'), file);
  const issue = region ? executorRegionIssue(plan, 'aws', region) : undefined;
  if (issue) throw new Error(`--region ${region}: ${issue} (CROSSLINK_DR_PLAN_FILE=${file})`);
  const aws = plan.vantagePoints.find((vp) => vp.cloud === 'aws');
  return {
    json: JSON.stringify(plan),
    awsVantageRegion: aws ? aws.region : '',
    executor: executorCloud(plan),
    staleAfterSeconds: Math.max(60, Math.ceil(plan.settings.staleAfterMs / 60_000) * 60),
    rules: executorRegionRules(plan, file),
    commandedHookPolicy: commandedHookPolicy(plan),
  };
}

module.exports = ({ options } = {}) => drPlanValues(process.env.CROSSLINK_DR_PLAN_FILE, options?.region);
module.exports.drPlanValues = drPlanValues;
module.exports.commandedHookPolicy = commandedHookPolicy;
