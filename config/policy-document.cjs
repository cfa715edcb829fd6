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
const { readVpnRunSettings } = require('../functions/core/vpn/run-policy.ts');

/** The policy document of `file`, validated, as JSON; throws ValidationError naming each problem. */
function policyJson(file) {
  const { document } = loadPolicy(parse(readFileSync(file, 'utf8')));
  // The VPN runs' section whole, the planner's keys included (the schema checks only its shape).
  readVpnRunSettings(document.vpn);
  return JSON.stringify(document);
}

/**
 * The side that coordinates the VPN runs (`vpn.coordinator`, aws when unset): serverless.yml's
 * condition `VpnRunCoordinatedHere` compares it with `aws`, so the run's schedule exists only there.
 */
function vpnCoordinator(file) {
  const doc = loadPolicy(parse(readFileSync(file, 'utf8'))).document;
  return readVpnRunSettings(doc.vpn).coordinator;
}

module.exports = () => {
  const file = join(__dirname, 'policy.yaml');
  return { json: policyJson(file), vpnCoordinator: vpnCoordinator(file) };
};
module.exports.policyJson = policyJson;
module.exports.vpnCoordinator = vpnCoordinator;
