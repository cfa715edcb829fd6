/**
 * The policy (config/policy.yaml) as the JSON document the Lambda bundles embed
 * (`${file(config/policy-document.cjs):json}`, esbuild `define` of CROSSLINK_POLICY_DOCUMENT in
 * serverless.yml): parsed and validated here, at packaging, as the functions validate it again at
 * load (functions/core/policy/policy.ts `loadPolicy`, the same precompiled validator), so an invalid
 * policy stops the packaging with each problem named and never reaches a function. The functions
 * carry no YAML parser.
 *
 * CommonJS: the serverless framework loads variable files with require().
 */
'use strict';

const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { parse } = require('yaml');
const { loadPolicy } = require('../functions/core/policy/policy.ts');

/** The policy document of `file`, validated, as JSON; throws ValidationError naming each problem. */
function policyJson(file) {
  return JSON.stringify(loadPolicy(parse(readFileSync(file, 'utf8'))).document);
}

module.exports = () => ({ json: policyJson(join(__dirname, 'policy.yaml')) });
module.exports.policyJson = policyJson;
