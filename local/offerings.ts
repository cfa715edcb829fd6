/**
 * What the two simulated providers offer between themselves, as the real ones do
 * (reference: docs/regions.md): the AWS / Google region pairs AWS Interconnect multicloud serves.
 * For each pair the AWS side has an Interconnect environment in the AWS region (visible only
 * there) and the Google side a remote transport profile `aws-<aws region>` in the Google region.
 * Provider facts, not crosslink's policy: crosslink discovers them (ListEnvironments,
 * ListRemoteTransportProfiles) and the policy only says which pairs it may use.
 */
export interface PairOffering {
  aws: string;
  gcp: string;
  /** The AWS environment's id (`mce-aws-gcp-<code>`). */
  environmentId: string;
  /** The Google remote transport profile's id (`$provider-$site`, transport_manager.proto). */
  profileId: string;
}

const PAIRS: readonly [aws: string, gcp: string, code: string][] = [
  ['us-east-1', 'us-east4', 'iad'],
  ['us-west-1', 'us-west2', 'sfo'],
  ['us-west-2', 'us-west1', 'pdx'],
  ['eu-west-2', 'europe-west2', 'lhr'],
  ['eu-central-1', 'europe-west3', 'fra'],
  ['ap-southeast-1', 'asia-southeast1', 'sin'],
];

export const GOOGLE_PAIRS: readonly PairOffering[] = PAIRS.map(([aws, gcp, code]) => ({
  aws,
  gcp,
  environmentId: `mce-aws-gcp-${code}`,
  profileId: `aws-${aws}`,
}));

/** Every bandwidth TransportManager knows (transport_manager.proto `Bandwidth`), ascending. */
export const GOOGLE_BANDWIDTHS: readonly string[] = [
  'BPS_50M',
  'BPS_100M',
  'BPS_200M',
  'BPS_300M',
  'BPS_400M',
  'BPS_500M',
  'BPS_1G',
  'BPS_2G',
  'BPS_5G',
  'BPS_10G',
  'BPS_20G',
  'BPS_50G',
  'BPS_100G',
];
