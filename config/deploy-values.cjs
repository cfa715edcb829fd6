/**
 * The values serverless.yml takes from the deploying environment that only the Google side knows
 * (`${file(config/deploy-values.cjs):<field>}`), checked before anything is packaged, so that no
 * placeholder ever reaches a cloud (docs/deploy.md).
 *
 * The first deploy has two phases. AWS goes first, before Google exists: with
 * `CROSSLINK_DEPLOY_PHASE=aws-first` the Google values may be unset and the functions get them
 * empty (the intake then refuses links naming the missing values, `crosslink doctor` says why).
 * Every other deploy (`CROSSLINK_DEPLOY_PHASE` unset or `complete`) needs them all: each missing
 * one is a line naming it and where it comes from, and the packaging stops.
 *
 * CommonJS: the serverless framework loads variable files with require().
 */
'use strict';

const PHASES = ['aws-first', 'complete'];

/** The Google values: variable, what it is, and where the deployer gets it. */
const GOOGLE_VALUES = [
  ['CROSSLINK_GCP_PROJECT', 'the Google project id', 'the project deploy-gcp converged'],
  [
    'CROSSLINK_PEER_PUBLIC_KEY_PEM',
    "Google's sealing key (SPKI PEM)",
    'gcloud kms keys versions get-public-key 1 --key=activation --keyring=crosslink --location=<region>',
  ],
  [
    'CROSSLINK_PEER_KEY_ID',
    "that key version's name",
    'projects/<project>/locations/<region>/keyRings/crosslink/cryptoKeys/activation/cryptoKeyVersions/1',
  ],
  [
    'CROSSLINK_GCP_EXTERNAL_ACCOUNT',
    "the relay's credential configuration (JSON)",
    'gcloud iam workload-identity-pools create-cred-config ... --aws',
  ],
];

const PROJECT = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** The checked values; throws one Error with a line per problem. */
function resolve(env = process.env) {
  const phase = env.CROSSLINK_DEPLOY_PHASE || 'complete';
  const problems = [];
  if (!PHASES.includes(phase))
    problems.push(`CROSSLINK_DEPLOY_PHASE: must be one of ${PHASES.join(', ')}, got "${phase}"`);
  // Each read spelt out: the local cloud hashes the variables a packaging reads (env.NAME).
  const given = {
    CROSSLINK_GCP_PROJECT: env.CROSSLINK_GCP_PROJECT,
    CROSSLINK_PEER_PUBLIC_KEY_PEM: env.CROSSLINK_PEER_PUBLIC_KEY_PEM,
    CROSSLINK_PEER_KEY_ID: env.CROSSLINK_PEER_KEY_ID,
    CROSSLINK_GCP_EXTERNAL_ACCOUNT: env.CROSSLINK_GCP_EXTERNAL_ACCOUNT,
    CROSSLINK_RELAY_SERVICE_ACCOUNT: env.CROSSLINK_RELAY_SERVICE_ACCOUNT,
  };
  const value = (name) => given[name] ?? '';
  if (phase === 'complete')
    for (const [name, what, from] of GOOGLE_VALUES)
      if (value(name) === '') problems.push(`${name}: required (${what}; from: ${from})`);
  const project = value('CROSSLINK_GCP_PROJECT');
  if (project !== '' && !PROJECT.test(project))
    problems.push(`CROSSLINK_GCP_PROJECT: must be a Google project id, got "${project.slice(0, 80)}"`);
  const pem = value('CROSSLINK_PEER_PUBLIC_KEY_PEM');
  if (pem !== '' && !pem.includes('-----BEGIN PUBLIC KEY-----'))
    problems.push('CROSSLINK_PEER_PUBLIC_KEY_PEM: must be a PEM public key (-----BEGIN PUBLIC KEY-----)');
  const external = value('CROSSLINK_GCP_EXTERNAL_ACCOUNT');
  if (external !== '') {
    try {
      if (JSON.parse(external).type !== 'external_account') throw new Error('type');
    } catch {
      problems.push(
        'CROSSLINK_GCP_EXTERNAL_ACCOUNT: must be an external_account credential configuration (JSON)',
      );
    }
  }
  // The Google -> AWS relay's pushes are signed for gcp.yml's crosslink-relay account.
  const relay =
    value('CROSSLINK_RELAY_SERVICE_ACCOUNT') ||
    (project === '' ? '' : `crosslink-relay@${project}.iam.gserviceaccount.com`);
  if (relay !== '' && !EMAIL.test(relay))
    problems.push(
      `CROSSLINK_RELAY_SERVICE_ACCOUNT: must be a service account email, got "${relay.slice(0, 80)}"`,
    );
  if (problems.length > 0)
    throw new Error(
      `the deploy's Google values are incomplete (the first AWS deploy, before Google exists, sets CROSSLINK_DEPLOY_PHASE=aws-first):\n${problems.join('\n')}`,
    );
  return {
    phase,
    gcpProject: project,
    peerPublicKeyPem: pem,
    peerKeyId: value('CROSSLINK_PEER_KEY_ID'),
    externalAccount: external,
    relayServiceAccount: relay,
  };
}

module.exports = () => resolve();
module.exports.resolve = resolve;
module.exports.GOOGLE_VALUES = GOOGLE_VALUES;
