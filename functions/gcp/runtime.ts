/**
 * The Google half's dependencies built from what the platform gives a deployed function, once per
 * instance. Entry points take them as a parameter with this as the default, so a test passes its
 * own without mocking modules.
 *
 * - The metadata server (metadata.ts): the project id and the region, and the function's identity
 *   (google-auth-library's Compute credentials: access tokens of the function's service account).
 * - The function's environment, as gcp.yml `environment` and scripts/deploy-gcp set it:
 *   `CROSSLINK_EVENTS_TOPIC`, `CROSSLINK_KMS_KEY` (`<keyRing>/<key>`, version
 *   `CROSSLINK_KMS_KEY_VERSION`, default 1), `CROSSLINK_PEER_PUBLIC_KEY_PEM` + `CROSSLINK_PEER_KEY_ID`
 *   (the AWS key Google seals to), `CROSSLINK_PROVISIONING_WORKFLOW` /
 *   `CROSSLINK_DECOMMISSIONING_WORKFLOW` (workflow ids), optional `CROSSLINK_NETWORK_PROJECTS` (JSON:
 *   network project id -> the service account impersonated there, network-projects.ts),
 *   `CROSSLINK_COST_TAGS` (JSON), the approval and drain durations as on AWS.
 * - The policy and config/pricing.yaml's VPN prices, embedded in the bundle when it is built
 *   (deployment/gcp-function-build.ts): the function runs under exactly the policy its package was
 *   built and hashed with. `CROSSLINK_INSTALLATION` names the installation in VPN run ids (vpn-run).
 *
 * Pointers at the local cloud's network, never set on Google: `CROSSLINK_GCP_ENDPOINT` sends every
 * Google API call to the local edge; Firestore and Pub/Sub use their emulator variables; the
 * metadata server is `GCE_METADATA_HOST`.
 */

import { Firestore } from '@google-cloud/firestore';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { PubSub } from '@google-cloud/pubsub';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { GoogleAuth } from 'google-auth-library';
import { systemClock } from '#core/clock.ts';
import type { DecisionHookDeps } from '#core/dr/decision-hook.ts';
import type { DrExecutorDeps } from '#core/dr/executor-steps.ts';
import type { IntakeDeps } from '#core/link/intake.ts';
import { costTags, need, stepSettings } from '#core/link/settings.ts';
import { resumeWaiting } from '#core/link/waits.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import type { InventoryExchangeDeps } from '#core/vpn/inventory-exchange.ts';
import { readVpnPrices, readVpnRunSettings, type VpnPrices } from '#core/vpn/run-policy.ts';
import type { VpnRunDeps, VpnRunEventDeps } from '#core/vpn/run-steps.ts';
import { drainedGcpTunnels } from '#core/vpn/run-traffic.ts';
import type { VpnTrafficDeps } from '#core/vpn/traffic-return.ts';
import { approvalLogMetrics } from './approval-metrics.ts';
import { callbackTokens } from './callback-tokens.ts';
import { ComputeRest } from './compute-rest.ts';
import { buildGcpDrCommandedDeps, type CommandedDeps } from './dr-commanded.ts';
import { buildGcpDrControlDeps, type GcpDrControlDeps } from './dr-control.ts';
import { gcpDecisionHookFromEnv } from './dr-decide.ts';
import { buildGcpDrExecutorDeps } from './dr-executor.ts';
import { buildGcpDrSignalsDeps, type GcpDrSignalsDeps } from './dr-signals.ts';
import { PubSubSink } from './event-sink.ts';
import { isStageRunning, type StarterDeps, startStage } from './execution-starter.ts';
import { CLOUD_PLATFORM } from './google-credentials.ts';
import { kmsUnwrap } from './kms-unwrap.ts';
import { FirestoreLinkStore } from './link-store.ts';
import { type Placement, placementFromMetadata, serviceAccountEmail } from './metadata.ts';
import {
  NETWORK_PROJECTS_VARIABLE,
  parseNetworkProjects,
  projectClients,
  projectPlacement,
} from './network-projects.ts';
import { SecretManagerStore } from './secret-store.ts';
import type { AccessTokenSource } from './transport-client.ts';
import { FirestoreVpnApprovals } from './vpn-approvals.ts';
import { buildVpnHalfDeps, type GcpVpnHalfDeps } from './vpn-half.ts';
import { buildVpnInventoryDeps } from './vpn-inventory.ts';
import { buildVpnRunDeps } from './vpn-run.ts';
import { FirestoreVpnRuns } from './vpn-run-store.ts';
import { MonitoringRest, readGcpTraffic } from './vpn-traffic.ts';
import type { GoogleWatchDeps } from './watcher.ts';
import { WorkflowExecutionsClient } from './workflow-executions.ts';

/** Everything the Google entry points use: the intake's and steps' deps, the starter's and the watcher's. */
export interface GoogleDeps extends IntakeDeps {
  starter: StarterDeps;
  watch: GoogleWatchDeps;
  /** The VPN half (the `vpnHalf` function) and the workflow that calls it. */
  vpn: GcpVpnHalfDeps;
  vpnHalfWorkflow: string;
  /** The VPN inventory exchange (the `vpnInventory` function). */
  vpnInventory: InventoryExchangeDeps;
  /** The VPN run when Google coordinates (the `vpnRun` function), built on its first call. */
  vpnRun: () => VpnRunDeps;
  /** The DR plan's Google vantage point (the `drSignals` function), built on its first call. */
  drSignals: () => GcpDrSignalsDeps;
  /** Google as the executor of a Cloud-DNS-switched plan (the `drFailover` function), built on its first call. */
  drExecutor: () => DrExecutorDeps;
  /** The executor's decision hook (dr-decide.ts), where Google executes the plan; built on its first call. */
  drDecide: () => DecisionHookDeps | undefined;
  /** Google's commanded side of a plan AWS executes (the `drCommanded` function), built on its first call. */
  drCommanded: () => CommandedDeps;
  /** The operators' controls of a plan Google executes (the `drControl` function), built on its first call. */
  drControl: () => GcpDrControlDeps;
  /** The run's reactions to events (the `vpnRunEvents` function), built on its first call. */
  vpnRunEvents: () => Promise<VpnRunEventDeps>;
  /** The check of the drained VPNs' traffic (the `vpnRun` function's `traffic-check`), built on its first call. */
  vpnTraffic: () => Promise<VpnTrafficDeps>;
  /** The vpn-run workflow a scheduled firing starts (its full name). */
  vpnRunWorkflow: string;
}

/** The policy document the build embeds (esbuild `define`); absent when running from source. */
declare const CROSSLINK_POLICY_DOCUMENT: unknown;

/** config/pricing.yaml's `{currency, vpn}`, embedded by the build like the policy. */
declare const CROSSLINK_PRICING_DOCUMENT: unknown;

/** The embedded VPN prices, checked; an Error when the build embedded none. */
export function embeddedVpnPrices(): VpnPrices {
  if (typeof CROSSLINK_PRICING_DOCUMENT === 'undefined')
    throw new Error(
      'no prices embedded: the Google functions run from the package deployment/gcp-function-build.ts makes',
    );
  return readVpnPrices(CROSSLINK_PRICING_DOCUMENT);
}

/** The embedded policy; an Error when this module was not built by deployment/gcp-function-build.ts. */
export function embeddedPolicy() {
  if (typeof CROSSLINK_POLICY_DOCUMENT === 'undefined')
    throw new Error(
      'no policy embedded: the Google functions run from the package deployment/gcp-function-build.ts makes',
    );
  return loadPolicy(CROSSLINK_POLICY_DOCUMENT);
}

/** The function's own credentials: the metadata server's tokens of its service account. */
function credentials(): {
  auth: AccessTokenSource;
  clientAuth: GoogleAuth;
  idToken: (audience: string) => Promise<string>;
} {
  const auth = new GoogleAuth({ scopes: [CLOUD_PLATFORM] });
  return {
    auth: { getAccessToken: async () => ({ token: await auth.getAccessToken() }) },
    clientAuth: auth,
    // An ID token of the function's account for `audience` (the metadata server's identity).
    idToken: async (audience) =>
      (await auth.getIdTokenClient(audience)).idTokenProvider.fetchIdToken(audience),
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

/** `make`'s value, made on the first call. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}

/** `make`'s promise, kept once it resolved; a failure is tried again by the next call. */
function onceResolved<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    const p = made ?? make();
    made = p;
    p.catch(() => {
      if (made === p) made = undefined;
    });
    return p;
  };
}

let cached: Promise<GoogleDeps> | undefined;

/** Builds (once per instance) the dependencies every entry point uses; see the module comment. */
export function depsFromPlatform(env: NodeJS.ProcessEnv = process.env): Promise<GoogleDeps> {
  if (cached) return cached;
  const building = placementFromMetadata().then((placement) => buildDeps(env, placement));
  // A failed build (the metadata server did not answer) is tried again by the next request.
  building.catch(() => {
    if (cached === building) cached = undefined;
  });
  cached = building;
  return building;
}

/** Starts a link's stage (its workflow execution), and says whether one runs. */
function stagesOf(starter: StarterDeps): GoogleDeps['stages'] {
  return {
    start: async (stage, input, attempt) => {
      const out = await startStage(starter, stage, input, attempt);
      return { executionName: out.executionName, started: out.started };
    },
    running: (stage, linkId, attempt) => isStageRunning(starter, stage, linkId, attempt),
  };
}

/** One structured error line per failed route (Cloud Logging reads `severity`). */
function logRouteError(route: string, e: unknown): void {
  process.stderr.write(
    `${JSON.stringify({ severity: 'ERROR', service: 'crosslink-gcp', route, error: { name: (e as Error).name, message: (e as Error).message } })}\n`,
  );
}

/**
 * The VPN parts of a function's dependencies: its half's commands, the run (built when first used)
 * and the inventory exchange, reading the hub's and the network projects' VPNs.
 */
function vpnParts(
  env: NodeJS.ProcessEnv,
  { project, region }: Placement,
  parts: {
    firestore: Firestore;
    events: PubSubSink;
    store: FirestoreLinkStore;
    policy: ReturnType<typeof embeddedPolicy>;
    networks: ReturnType<typeof parseNetworkProjects>;
    projects: ReturnType<typeof projectClients>;
    workflow: (id: string) => string;
  },
): Pick<
  GoogleDeps,
  'vpn' | 'vpnHalfWorkflow' | 'vpnRun' | 'vpnRunEvents' | 'vpnTraffic' | 'vpnRunWorkflow' | 'vpnInventory'
> {
  const { firestore, events, projects } = parts;
  const endpoint = env.CROSSLINK_GCP_ENDPOINT;
  const vpnReads = {
    compute: new ComputeRest({ authFor: projects.authFor, ...(endpoint ? { endpoint } : {}) }),
    projects: [project, ...parts.networks.keys()],
    firestore,
    bus: events,
    clock: systemClock,
  };
  const vpnRunEvents = onceResolved(async () => ({
    runs: new FirestoreVpnRuns(firestore),
    bus: events,
    clock: systemClock,
    origin: { cloud: 'gcp' as const, project, region },
    installation: need(env, 'CROSSLINK_INSTALLATION'),
    // A link-state or traffic undrain is requested by the function's own account.
    principal: await serviceAccountEmail(),
  }));
  return {
    vpn: buildVpnHalfDeps(
      env,
      { project, region },
      { firestore, bus: events, clock: systemClock, authFor: projects.authFor },
    ),
    vpnHalfWorkflow: parts.workflow(need(env, 'CROSSLINK_VPN_HALF_WORKFLOW')),
    vpnRunWorkflow: parts.workflow(env.CROSSLINK_VPN_RUN_WORKFLOW ?? 'vpn-run'),
    vpnRun: once(() =>
      buildVpnRunDeps(
        { project, region },
        {
          ...vpnReads,
          monitoring: new MonitoringRest({ authFor: projects.authFor, ...(endpoint ? { endpoint } : {}) }),
          links: parts.store,
          installation: need(env, 'CROSSLINK_INSTALLATION'),
          settings: readVpnRunSettings(parts.policy.document.vpn),
          prices: embeddedVpnPrices(),
        },
      ),
    ),
    vpnRunEvents,
    // Cloud Monitoring's counters of the drained VPNs' tunnels, each in its project as that
    // project's account, and the policy's limit.
    vpnTraffic: onceResolved(async () => {
      const monitoring = new MonitoringRest({ authFor: projects.authFor, ...(endpoint ? { endpoint } : {}) });
      return {
        ...(await vpnRunEvents()),
        traffic: (drains, from, now) =>
          readGcpTraffic(monitoring, drainedGcpTunnels(drains), now, now - from),
        idleMaxBytesPerHour: readVpnRunSettings(parts.policy.document.vpn).planner.idleMaxBytesPerHour,
      };
    }),
    vpnInventory: buildVpnInventoryDeps({ project, region }, vpnReads),
  };
}

type DrParts = Pick<GoogleDeps, 'drSignals' | 'drExecutor' | 'drDecide' | 'drControl' | 'drCommanded'>;

/** The DR functions' dependencies, each built on its first call. */
function drParts(
  env: NodeJS.ProcessEnv,
  placement: Placement,
  clients: {
    firestore: Firestore;
    bus: PubSubSink;
    clock: typeof systemClock;
    executions: WorkflowExecutionsClient;
    idToken: (audience: string) => Promise<string>;
  },
): DrParts {
  return {
    drSignals: once(() => buildGcpDrSignalsDeps(env, placement, clients)),
    drExecutor: once(() => buildGcpDrExecutorDeps(env, placement, clients)),
    drDecide: once(() => gcpDecisionHookFromEnv(env, placement, clients)),
    drControl: once(() => buildGcpDrControlDeps(env, placement, clients)),
    drCommanded: once(() => buildGcpDrCommandedDeps(env, placement, clients)),
  };
}

/** The dependencies of a function placed in `project` / `region`, configured by `env`. */
export function buildDeps(env: NodeJS.ProcessEnv, { project, region }: Placement): GoogleDeps {
  const endpoint = env.CROSSLINK_GCP_ENDPOINT;
  const policy = embeddedPolicy();
  const { auth, clientAuth, idToken } = credentials();
  const tags = costTags(env);
  const firestore = new Firestore({ projectId: project });
  const store = new FirestoreLinkStore(firestore, systemClock);
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
  const events = new PubSubSink(new PubSub({ projectId: project }), need(env, 'CROSSLINK_EVENTS_TOPIC'));
  const base = {
    store,
    events,
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
  const tokens = callbackTokens({ auth, ...(endpoint ? { origin: endpoint } : {}) });
  // Recording a VPN delete's approval answers the vpn-half execution waiting for it.
  const vpnApprovals = new FirestoreVpnApprovals(firestore, {
    clock: systemClock,
    resume: (callback, output) => tokens.success(callback, output),
  });
  const settings = stepSettings(env);
  const deps: GoogleDeps = {
    ...base,
    vpnApprovals,
    halves: projects.halves(region, secrets),
    secrets,
    tokens,
    metrics: approvalLogMetrics(),
    ownKeyId: keyVersion,
    unwrap: kmsUnwrap(new KeyManagementServiceClient(clientOptions(env, clientAuth)), keyVersion),
    settings,
    stages: stagesOf(starter),
    logError: logRouteError,
    starter,
    ...vpnParts(env, { project, region }, { firestore, events, store, policy, networks, projects, workflow }),
    ...drParts(env, { project, region }, { firestore, bus: events, clock: systemClock, executions, idToken }),
    watch: {
      ...base,
      projects: projects.projects,
      transports: projects.transports,
      bgp: projects.bgp,
      resume: (link, phases) => resumeWaiting(deps, link, phases),
      ...(settings.orphanSweepEveryMs !== undefined
        ? { orphanSweepEveryMs: settings.orphanSweepEveryMs }
        : {}),
    },
  };
  return deps;
}
