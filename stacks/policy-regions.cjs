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

/**
 * This account's EC2 resources of one type in every AWS region of the policy: the VPN runs read and
 * act on VPNs in each of them (the AWS half acts in the VPN's own region, docs/vpn-runs.md).
 */
const ec2Arns = (type) =>
  policyRegions().map((region) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:ec2:${region}:\${AWS::AccountId}:${type}/*`,
  }));

/** The Transit Gateway route tables and attachments a drain or undrain changes propagation between. */
module.exports.vpnPropagationArns = () => [
  ...ec2Arns('transit-gateway-route-table'),
  ...ec2Arns('transit-gateway-attachment'),
];
/** The Transit Gateway route tables whose routes the inventory searches. */
module.exports.transitGatewayRouteTableArns = () => ec2Arns('transit-gateway-route-table');
/** The VPN connections the AWS half tags and deletes. */
module.exports.vpnConnectionArns = () => ec2Arns('vpn-connection');
/** The customer gateways the AWS half deletes with their last VPN. */
module.exports.customerGatewayArns = () => ec2Arns('customer-gateway');
