/**
 * The DR plan the AWS half's `drSignals` function embeds (`${file(config/dr-plan.cjs):json}`,
 * esbuild `define` of CROSSLINK_DR_PLAN in serverless.yml), and the region of the plan's AWS vantage
 * point (the condition that schedules its probe only there). The plan is the file
 * CROSSLINK_DR_PLAN_FILE names (config/dr-plans/<service>.yaml), validated here at packaging
 * (functions/core/dr/plan.ts) and embedded with the decider's settings it derives, so the function
 * needs no schema compiler; none: `null`, and no probe.
 *
 * CommonJS: the serverless framework loads variable files with require().
 */
'use strict';

const { readFileSync } = require('node:fs');
const { resolve } = require('node:path');
const { parseDrPlan } = require('../functions/core/dr/plan.ts');

/**
 * The plan of `file` as JSON, its AWS vantage point's region ('' when it has none), and its
 * staleAfter in seconds as a CloudWatch period (a multiple of 60, rounded up): the staleness alarms'.
 */
function drPlanValues(file) {
  if (!file) return { json: 'null', awsVantageRegion: '', staleAfterSeconds: 300 };
  const path = resolve(__dirname, '..', file);
  const plan = parseDrPlan(readFileSync(path, 'utf8'), file);
  const aws = plan.vantagePoints.find((vp) => vp.cloud === 'aws');
  return {
    json: JSON.stringify(plan),
    awsVantageRegion: aws ? aws.region : '',
    staleAfterSeconds: Math.max(60, Math.ceil(plan.settings.staleAfterMs / 60_000) * 60),
  };
}

module.exports = () => drPlanValues(process.env.CROSSLINK_DR_PLAN_FILE);
module.exports.drPlanValues = drPlanValues;
