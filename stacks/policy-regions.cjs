// A serverless.yml variable source (`${file(./stacks/policy-regions.cjs):connectionArns}`): the IAM
// resources that name a region, one per AWS region of config/policy.yaml's regionPairs, because a
// link's connection lives in its request's AWS region, whichever region the hub runs in. Derived
// from the policy so that a new pair there is covered here without a second list to keep.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { parse } = require('yaml');

function policyRegions() {
  const policy = parse(readFileSync(join(__dirname, '..', 'config', 'policy.yaml'), 'utf8'));
  return [...new Set(policy.regionPairs.map((p) => p.aws))].sort();
}

/** The Interconnect connections of this account in every AWS region of the policy. */
module.exports.connectionArns = () =>
  policyRegions().map((region) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:interconnect:${region}:\${AWS::AccountId}:connection/*`,
  }));

/**
 * The Interconnect environments of every AWS region of the policy (GetEnvironment's resource type).
 * Environments are the provider's, so the account is left open.
 */
module.exports.environmentArns = () =>
  policyRegions().map((region) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:interconnect:${region}:*:environment/*`,
  }));
