/**
 * The project's AWS half (serverless.yml) deployed into a running local cloud, as `npm start` and the
 * end-to-end tests run it: each Lambda from its own `osls package` zip in the local Lambda
 * runtime, the state machines, bus, rules, queues, table and KMS key, and the HTTP API (IAM auth)
 * listening. The deploy-time values the local cloud owns are filled in: the peer's public key is
 * the Google side's asymmetric Cloud KMS key (RSA_DECRYPT_OAEP_2048_SHA256), created here in the
 * local Google KMS; the AWS key's public half is read back for the Google half.
 */
import { createPublicKey } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { lambdaRuntime } from './aws/services/lambda.ts';
import { deployLocally, type LocalDeployment } from './aws/wiring.ts';
import type { GcpLocal } from './gcp/index.ts';
import { workloadIdentityAudience } from './gcp/services/sts.ts';
import type { LocalCloud } from './index.ts';

/** What decides whether the AWS half is packaged again (the rest of the repo does not reach the zip). */
export const AWS_HALF_INPUTS = [
  'serverless.yml',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'functions',
  'workflows',
  'config/policy.yaml',
  'config/policy-document.cjs',
  'config/account-roles.cjs',
  'config/deploy-values.cjs',
  // The VPN runs' prices (config/vpn-prices.cjs reads config/pricing.yaml's vpn section).
  'config/vpn-prices.cjs',
  'config/pricing.yaml',
  // The DR plan drSignals embeds (config/dr-plan.cjs reads CROSSLINK_DR_PLAN_FILE's plan).
  'config/dr-plan.cjs',
  'config/dr-plans',
  'stacks/policy-regions.cjs',
  'stacks/esbuild-plugins.cjs',
  // The template's Rules (the DR executor's region), a plugin of the packaging.
  'stacks/cloudformation-rules.cjs',
  // The SDK modules Lambda never runs, replaced in the bundles by the plugins above.
  'stacks/lambda-shims',
  // The DR executor's ARC grants and its Deny of safety-rule overrides (DrExecutorRole).
  'stacks/dr-executor-arc-policy.json',
  // The JSON schemas the handlers' validators are compiled from (functions/*/validators.gen.ts).
  'config/link-request.schema.json',
  'config/policy.schema.json',
  'events',
] as const;

/**
 * The packaging's environment: the first phase of a deploy (config/deploy-values.cjs), so the
 * package does not depend on the Google project of one local cloud (each test cloud has its own)
 * and is made once; the deploy then gives the functions Google's values, as the second phase's
 * deploy does in AWS.
 */
export const AWS_HALF_PACKAGING: Readonly<Record<string, string>> = { CROSSLINK_DEPLOY_PHASE: 'aws-first' };

/** The stage the half is packaged with: `osls package` without `--stage` takes serverless.yml's default. */
export const LOCAL_STAGE = 'dev';

/** A public key one side seals activation keys to (docs/architecture.md, "Activation keys"). */
export interface SealingKey {
  keyId: string;
  publicKeyPem: string;
}

export interface AwsHalfDeployment {
  deployment: LocalDeployment;
  /** The HTTP API's endpoint (IAM auth): `intakes.aws` of the handshake. */
  intake: string;
  /** The Google -> AWS relay's route on that API (JWT auth): gcp.yml's CROSSLINK_AWS_RELAY_URL. */
  relayUrl: string;
  keys: { aws: SealingKey; gcp: SealingKey };
  stop(): Promise<void>;
}

/**
 * Creates (or finds) the Google side's sealing key in the local Cloud KMS: key ring `crosslink`,
 * key `activation`, version 1, through the edge's REST API as the `crosslink` service identity.
 */
export async function googleSealingKey(gcp: GcpLocal, identity = 'crosslink'): Promise<SealingKey> {
  const account = gcp.auth.accountByName(identity);
  if (!account) throw new Error(`no Google identity ${identity} in the local identities`);
  const { token } = gcp.auth.issueAccessToken({ email: account.email, kind: 'service-account' });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gcp.endpoint}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as Record<string, unknown> & {
      error?: { status?: string; message?: string };
    };
    if (!res.ok && json.error?.status !== 'ALREADY_EXISTS')
      throw new Error(`Cloud KMS ${method} ${path}: ${res.status} ${json.error?.message ?? ''}`);
    return json;
  };
  const parent = `projects/${gcp.project}/locations/${gcp.region}`;
  await call('POST', `/v1/${parent}/keyRings?keyRingId=crosslink`, {});
  await call('POST', `/v1/${parent}/keyRings/crosslink/cryptoKeys?cryptoKeyId=activation`, {
    purpose: 'ASYMMETRIC_DECRYPT',
    versionTemplate: { algorithm: 'RSA_DECRYPT_OAEP_2048_SHA256' },
  });
  const version = `${parent}/keyRings/crosslink/cryptoKeys/activation/cryptoKeyVersions/1`;
  const pub = await call('GET', `/v1/${version}/publicKey`);
  return { keyId: version, publicKeyPem: String(pub.pem) };
}

/** The public half of an asymmetric KMS key of the AWS edge, as PEM (SPKI). */
export async function awsPublicKey(
  cloud: Pick<LocalCloud, 'aws'>,
  keyArn: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<SealingKey> {
  const kms = new KMSClient({ region: cloud.aws.region, endpoint: cloud.aws.endpoint, credentials });
  try {
    const out = await kms.send(new GetPublicKeyCommand({ KeyId: keyArn }));
    const der = Buffer.from(out.PublicKey as Uint8Array);
    const pem = createPublicKey({ key: der, format: 'der', type: 'spki' }).export({
      type: 'spki',
      format: 'pem',
    }) as string;
    return { keyId: keyArn, publicKeyPem: pem };
  } finally {
    kms.destroy();
  }
}

/** The Google topic the relay publishes to (gcp.yml's inbound topic). */
export const PEER_EVENTS_TOPIC = 'crosslink-peer-events';
const RELAY_FUNCTION = 'relayToGoogle';

/**
 * The relay's Google configuration in this local cloud (docs/relay.md): the external-account
 * credential configuration of the local workload identity pool's AWS provider (STS on the local
 * Google edge; the AWS source is the function's own keys). The federated token is used as it is,
 * with no service account in between: IAM lets the relay role's principal set publish on
 * crosslink-peer-events (gcp.yml `awsPublishers`). `impersonate` names a local identity whose
 * service account the token is exchanged for instead (tests of impersonation).
 */
export function relayEnvironment(gcp: GcpLocal, impersonate?: string): Record<string, string> {
  const account = impersonate ? gcp.auth.accountByName(impersonate) : undefined;
  if (impersonate && !account) throw new Error(`no Google identity ${impersonate} in the local identities`);
  return {
    CROSSLINK_GCP_PROJECT: gcp.project,
    CROSSLINK_GCP_PEER_TOPIC: PEER_EVENTS_TOPIC,
    CROSSLINK_GCP_EXTERNAL_ACCOUNT: JSON.stringify({
      type: 'external_account',
      audience: workloadIdentityAudience(gcp.edge.world),
      subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
      token_url: `${gcp.endpoint}/v1/token`,
      ...(account
        ? {
            service_account_impersonation_url: `${gcp.endpoint}/v1/projects/-/serviceAccounts/${account.email}:generateAccessToken`,
          }
        : {}),
      credential_source: {
        environment_id: 'aws1',
        regional_cred_verification_url:
          'https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15',
      },
    }),
  };
}

/**
 * The IAM role the deployed relay function runs as: its execution role from the template (its keys
 * are a session of that role, `assumed-role/<role>/<function>`); undefined without a relay.
 */
export function relayRoleArn(cloud: Pick<LocalCloud, 'aws'>): string | undefined {
  return relayFunction(cloud)?.fn.role;
}

/**
 * The local workload identity provider's attribute condition, as docs/relay.md has the pool made:
 * it trusts the sessions of the role the relay runs as, and no other AWS identity. A condition
 * already set (settings `sts.attributeCondition`) is kept.
 */
function trustRelayRole(cloud: Pick<LocalCloud, 'aws' | 'gcp'>): void {
  const world = cloud.gcp.edge.world;
  const role = relayRoleArn(cloud);
  if (!role || world.settings<{ attributeCondition: string }>('sts').attributeCondition !== undefined) return;
  world.updateSettings('sts', { attributeCondition: `attribute.aws_role == '${awsRoleAttribute(role)}'` });
}

/** `attribute.aws_role` of a role's sessions under Google's default AWS mapping. */
export function awsRoleAttribute(roleArn: string): string {
  const m = /^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
  if (!m) throw new Error(`${roleArn} is not an IAM role ARN`);
  return `arn:aws:sts::${m[1]}:assumed-role/${m[2]}`;
}

/** The deployed relay function of `cloud`'s AWS half, if any. */
function relayFunction(cloud: Pick<LocalCloud, 'aws'>) {
  const runtime = lambdaRuntime(cloud.aws.edge.world, cloud.aws.accountId, cloud.aws.region);
  const fn = [...runtime.functions.values()].find((f) => f.name.endsWith(`-${RELAY_FUNCTION}`));
  return fn ? { runtime, fn } : undefined;
}

/**
 * Changes variables of the deployed relay (what UpdateFunctionConfiguration does in AWS: running
 * sandboxes are retired, the next invocation starts with the new environment).
 */
export function updateRelayEnvironment(
  cloud: Pick<LocalCloud, 'aws'>,
  variables: Record<string, string>,
): void {
  const found = relayFunction(cloud);
  if (!found) throw new Error(`the AWS half has no ${RELAY_FUNCTION} function`);
  found.runtime.register({ ...found.fn, environment: { ...found.fn.environment, ...variables } });
}

/**
 * Points the deployed relay at the Pub/Sub emulator (its REST API), or, without one, disables its
 * event source mapping: this side's events then wait in the relay queue, as behind a disabled
 * mapping in AWS, instead of failing into the DLQ for want of a Google side.
 */
function connectRelay(cloud: Pick<LocalCloud, 'aws'>, pubsubHost: string | null, log?: (m: string) => void) {
  const found = relayFunction(cloud);
  if (!found) return;
  if (pubsubHost) {
    updateRelayEnvironment(cloud, { CROSSLINK_PUBSUB_ENDPOINT: `http://${pubsubHost}` });
    return;
  }
  for (const m of found.runtime.mappings.values()) if (m.functionArn === found.fn.arn) m.enabled = false;
  log?.('aws half: relay to Google disabled (no Pub/Sub emulator); events wait in the relay queue');
}

/**
 * Deploys `repoDir`'s serverless.yml into `cloud` (packaging only when AWS_HALF_INPUTS changed),
 * with the Google sealing key as the peer key, and starts its HTTP API.
 */
export async function deployAwsHalf(
  cloud: Pick<LocalCloud, 'aws' | 'gcp'>,
  repoDir: string,
  options: {
    log?: (m: string) => void;
    intakePort?: number;
    /** The Pub/Sub emulator the relay publishes to (`host:port`; may still be starting), or none. */
    pubsubHost?: string | null | Promise<string | null>;
    /** Environment of the relay beyond relayEnvironment's (tests: another pool, identity...). */
    relayEnvironment?: Record<string, string>;
    /** Stops a packaging in progress: `osls package` and its process group end. */
    signal?: AbortSignal;
    /** Variables of the packaging beyond AWS_HALF_PACKAGING (part of the package's hash). */
    packaging?: Record<string, string>;
  } = {},
): Promise<AwsHalfDeployment> {
  const t0 = performance.now();
  const gcp = await googleSealingKey(cloud.gcp);
  const deployment = await deployLocally(cloud, repoDir, {
    inputs: AWS_HALF_INPUTS,
    packaging: { ...AWS_HALF_PACKAGING, ...options.packaging },
    environmentOverrides: {
      CROSSLINK_PEER_PUBLIC_KEY_PEM: gcp.publicKeyPem,
      CROSSLINK_PEER_KEY_ID: gcp.keyId,
      ...relayEnvironment(cloud.gcp),
      ...options.relayEnvironment,
      // The Google -> AWS relay accepts pushes signed for gcp.yml's crosslink-relay account.
      CROSSLINK_RELAY_SERVICE_ACCOUNT: `crosslink-relay@${cloud.gcp.project}.iam.gserviceaccount.com`,
    },
    // The relay route's JWT authorizer trusts https://accounts.google.com: locally the Google edge
    // plays that issuer, with its own signing keys.
    jwks: { [cloud.gcp.auth.issuer]: cloud.gcp.jwksUri },
    ...(options.log ? { log: options.log } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.intakePort !== undefined ? { httpApiPorts: { HttpApi: options.intakePort } } : {}),
  });
  try {
    connectRelay(cloud, (await options.pubsubHost) ?? null, options.log);
    trustRelayRole(cloud);
    const intake = deployment.httpApis.HttpApi;
    const kmsKey = deployment.stack.kmsKeys.ActivationKeyKms;
    if (!intake || !kmsKey)
      throw new Error('serverless.yml: no HttpApi or no ActivationKeyKms in the template');
    // The deployment reads the key's public half as its deployer, the account's root.
    const deployer = cloud.aws.edge.world.credentials.rootKey(cloud.aws.accountId);
    if (!deployer) throw new Error(`no local identity is the root of account ${cloud.aws.accountId}`);
    const aws = await awsPublicKey(cloud, kmsKey.arn, deployer);
    options.log?.(
      `aws half: deployed in ${Math.round(performance.now() - t0)} ms (${deployment.packaged ? 'packaged by osls' : 'package cached'})`,
    );
    return {
      deployment,
      intake,
      relayUrl: `${intake}/relay/google`,
      keys: { aws, gcp },
      stop: () => deployment.stop(),
    };
  } catch (err) {
    await deployment.stop();
    throw err;
  }
}
