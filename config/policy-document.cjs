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

const FILE = join(__dirname, 'policy.yaml');

module.exports = () => {
  const { document } = loadPolicy(parse(readFileSync(FILE, 'utf8')));
  return { json: JSON.stringify(document) };
};
