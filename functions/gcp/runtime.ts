/**
 * The Google half's dependencies built from the function's environment (gcp.yml `environment`, plus
 * what Cloud Run and the deploy set), once per instance. Entry points take them as a parameter with
 * this as the default, so a test passes its own without mocking modules.
 *
 * Environment: `GOOGLE_CLOUD_PROJECT`, `CROSSLINK_REGION` (or `FUNCTION_REGION`),
 * `CROSSLINK_EVENTS_TOPIC`, `CROSSLINK_KMS_KEY` (`<keyRing>/<key>`, version `CROSSLINK_KMS_KEY_VERSION`,
 * default 1), `CROSSLINK_PEER_PUBLIC_KEY_PEM` + `CROSSLINK_PEER_KEY_ID` (the AWS key Google seals to),
 * `CROSSLINK_PROVISIONING_WORKFLOW` / `CROSSLINK_DECOMMISSIONING_WORKFLOW` (workflow ids), optional
 * `CROSSLINK_NETWORK_PROJECTS` (JSON: network project id -> the service account impersonated there,
 * network-projects.ts), `CROSSLINK_COST_TAGS` (JSON), the approval and drain
 * durations as on AWS, `CROSSLINK_POLICY_FILE`. Credentials: `GOOGLE_APPLICATION_CREDENTIALS` (a key
 * file: the local cloud's) or the metadata server (Cloud Run). `CROSSLINK_GCP_ENDPOINT` sends every
 * Google API call to the local edge (Firestore and Pub/Sub use their emulator variables).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { PubSub } from '@google-cloud/pubsub';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { GoogleAuth } from 'google-auth-library';
import { parse as parseYaml } from 'yaml';
import { systemClock } from '#core/clock.ts';
import type { IntakeDeps } from '#core/link/intake.ts';
import { costTags, need, stepSettings } from '#core/link/settings.ts';
import { resumeWaiting } from '#core/link/steps.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { approvalLogMetrics } from './approval-metrics.ts';
import { callbackTokens } from './callback-tokens.ts';
import { isStageRunning, type StarterDeps, startStage } from './execution-starter.ts';
import { FirestoreLinkStore } from './firestore-link-store.ts';
import { CLOUD_PLATFORM, googleAuth, jwtClient, type ServiceAccountKey } from './google-credentials.ts';
import { kmsUnwrap } from './kms-unwrap.ts';
import {
  NETWORK_PROJECTS_VARIABLE,
  parseNetworkProjects,
  projectClients,
  projectPlacement,
} from './network-projects.ts';
import { PubSubSink } from './pubsub-sink.ts';
import { SecretManagerStore } from './secret-store.ts';
import type { AccessTokenSource } from './transport-client.ts';
import type { GoogleWatchDeps } from './watcher.ts';
import { WorkflowExecutionsClient } from './workflow-executions.ts';

/** Everything the Google entry points use: the intake's and steps' deps, the starter's and the watcher's. */
export interface GoogleDeps extends IntakeDeps {
  starter: StarterDeps;
  watch: GoogleWatchDeps;
}

/** The function's own credentials: the key file the local cloud gives, else Cloud Run's metadata server. */
function credentials(env: NodeJS.ProcessEnv): { auth: AccessTokenSource; clientAuth: GoogleAuth } {
  const file = env.GOOGLE_APPLICATION_CREDENTIALS;
  if (file) {
    const key = JSON.parse(readFileSync(file, 'utf8')) as ServiceAccountKey;
    return { auth: jwtClient(key), clientAuth: googleAuth(key) };
  }
  const auth = new GoogleAuth({ scopes: [CLOUD_PLATFORM] });
  return {
    auth: { getAccessToken: async () => ({ token: await auth.getAccessToken() }) },
    clientAuth: auth,
  };
}

/** Options of the @google-cloud REST clients (KMS, Secret Manager): the local edge when configured. */
function clientOptions(env: NodeJS.ProcessEnv, auth: GoogleAuth) {
  const local = env.CROSSLINK_GCP_ENDPOINT;
  if (!local) return { auth };
  const u = new URL(local);
  return {
    auth,
    apiEndpoint: u.hostname,
    port: Number(u.port),
    protocol: u.protocol.replace(':', ''),
    fallback: true as const,
  };
}

let cached: GoogleDeps | undefined;

/** Builds (once) the dependencies every entry point uses. */
export function depsFromEnv(env: NodeJS.ProcessEnv = process.env): GoogleDeps {
  if (cached) return cached;
  const project = need(env, 'GOOGLE_CLOUD_PROJECT');
  const region = env.CROSSLINK_REGION ?? need(env, 'FUNCTION_REGION');
  const endpoint = env.CROSSLINK_GCP_ENDPOINT;
  const policyFile = env.CROSSLINK_POLICY_FILE ?? join(process.cwd(), 'config/policy.yaml');
  const policy = loadPolicy(parseYaml(readFileSync(policyFile, 'utf8')));
  const { auth, clientAuth } = credentials(env);
  const tags = costTags(env);
  const store = new FirestoreLinkStore(new Firestore({ projectId: project }), systemClock);
  const secrets = new SecretManagerStore(new SecretManagerServiceClient(clientOptions(env, clientAuth)), {
    project,
    labels: tags,
  });
  // Each network project's TransportManager calls carry its configured account's impersonated
  // tokens; the hub's carry the function's own.
  const networks = parseNetworkProjects(env[NETWORK_PROJECTS_VARIABLE], project);
  const projects = projectClients({
    hub: project,
    hubAuth: auth,
    sourceAuth: clientAuth,
    networks,
    ...(endpoint ? { endpoint } : {}),
  });
  const [ring, key] = need(env, 'CROSSLINK_KMS_KEY').split('/');
  const keyVersion = `projects/${project}/locations/${region}/keyRings/${ring}/cryptoKeys/${key}/cryptoKeyVersions/${env.CROSSLINK_KMS_KEY_VERSION ?? '1'}`;
  const workflow = (id: string) => `projects/${project}/locations/${region}/workflows/${id}`;
  const executions = new WorkflowExecutionsClient({ auth, ...(endpoint ? { endpoint } : {}) });
  const base = {
    store,
    events: new PubSubSink(new PubSub({ projectId: project }), need(env, 'CROSSLINK_EVENTS_TOPIC')),
    policy,
    clock: systemClock,
    origin: { cloud: 'gcp' as const, project, region },
    placement: projectPlacement(project, networks),
  };
  const starter: StarterDeps = {
    starts: store,
    executions,
    workflows: {
      provisioning: workflow(need(env, 'CROSSLINK_PROVISIONING_WORKFLOW')),
      decommissioning: workflow(need(env, 'CROSSLINK_DECOMMISSIONING_WORKFLOW')),
    },
    clock: systemClock,
    labels: tags,
  };
  const deps: GoogleDeps = {
    ...base,
    halves: projects.halves(region, secrets),
    secrets,
    tokens: callbackTokens({ auth, ...(endpoint ? { origin: endpoint } : {}) }),
    metrics: approvalLogMetrics(),
    ownKeyId: keyVersion,
    unwrap: kmsUnwrap(new KeyManagementServiceClient(clientOptions(env, clientAuth)), keyVersion),
    settings: stepSettings(env),
    stages: {
      start: async (stage, input, attempt) => {
        const out = await startStage(starter, stage, input, attempt);
        return { executionName: out.executionName, started: out.started };
      },
      running: (stage, linkId, attempt) => isStageRunning(starter, stage, linkId, attempt),
    },
    logError: (route, e) =>
      process.stderr.write(
        `${JSON.stringify({ severity: 'ERROR', service: 'crosslink-gcp', route, error: { name: (e as Error).name, message: (e as Error).message } })}\n`,
      ),
    starter,
    watch: {
      ...base,
      projects: projects.projects,
      transports: projects.transports,
      resume: (link, phases) => resumeWaiting(deps, link, phases),
    },
  };
  cached = deps;
  return deps;
}
