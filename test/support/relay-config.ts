/** A relay configuration as the AWS relay reads it from its Lambda environment (unit tests). */
export const EXTERNAL = {
  type: 'external_account',
  audience:
    '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/crosslink-aws/providers/aws',
  subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
  token_url: 'https://sts.googleapis.com/v1/token',
  credential_source: {
    environment_id: 'aws1',
    regional_cred_verification_url:
      'https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15',
  },
};

export const RELAY_ENV = {
  CROSSLINK_GCP_PROJECT: 'payments-prod',
  CROSSLINK_GCP_PEER_TOPIC: 'crosslink-peer-events',
  CROSSLINK_GCP_EXTERNAL_ACCOUNT: JSON.stringify(EXTERNAL),
  CROSSLINK_RELAY_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/crosslink-relay-dlq-dev',
  CROSSLINK_RELAY_MAX_RECEIVES: '5',
};
