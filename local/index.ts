/**
 * The local cloud as a library: `startLocalCloud()` boots the shared virtual clock, the fault
 * registry, the seeded random and the AWS edge (the Google edge and the emulators join
 * here), and returns their endpoints and a `stop()`. `npm start` (scripts/start.ts) and the tests
 * (test/support/) both use it.
 */

import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createAdmin } from './admin.ts';
import { CredentialStore } from './aws/credentials.ts';
import { AwsEdge } from './aws/edge.ts';
import { LocalIam } from './aws/iam/local-policies.ts';
import { route53DnsOf } from './aws/route53/dns.ts';
import { healthChecksOf } from './aws/route53/health-checks.ts';
import type { AnyAwsService } from './aws/service.ts';
import { advertisedByGateway, onAllowedPrefixesChange } from './aws/services/directconnect.ts';
import { awsServices } from './aws/services/index.ts';
import {
  type AwsHalfDeployment,
  deployAwsHalf,
  googleSealingKey,
  LOCAL_STAGE,
  relayRoleArn,
  type SealingKey,
} from './aws-half.ts';
import { type ClockMode, DEFAULT_SCALE, VirtualClock } from './clock.ts';
import { applyEstateSettings, type Estate, loadEstate, seedAwsEstate } from './estate.ts';
import { FaultRegistry } from './faults.ts';
import { DEFAULT_CACHE_DIR } from './gcp/emulator-jvm.ts';
import {
  checkEmulatorBinaries,
  EmulatorMissingError,
  type EmulatorOptions,
  type Emulators,
  type LaunchedEmulators,
  launchEmulators,
} from './gcp/emulators.ts';
import type { InstanceStart } from './gcp/functions-host.ts';
import { recordIamUse } from './gcp/iam/record.ts';
import { DEFAULT_HUB_PROJECT, type GcpCloudOptions, type GcpLocal, gcpPort, startGcp } from './gcp/index.ts';
import { PubsubFront } from './gcp/pubsub-front.ts';
import { PushProxy } from './gcp/push-proxy.ts';
import { GooglePlumbing } from './gcp/wiring.ts';
import {
  accountOf,
  DEFAULT_IDENTITIES_FILE,
  drOperators,
  intakeInvokers,
  loadIdentities,
} from './identities.ts';
import { ProcessGroup } from './processes.ts';
import { seededRandom } from './random.ts';
import { Parts } from './stop-parts.ts';
import { ServiceHealthServer } from './world/health-server.ts';
import { WorldLinkRoutes } from './world/link-routes.ts';
import type { NetworkWorld } from './world/network.ts';
import { serviceWorldOf } from './world/protected-service.ts';
import { networkOf } from './world/registry.ts';
import { World } from './world.ts';

export const DEFAULT_AWS_PORT = 4566;
export { IAM_USED_DIR_VARIABLE, type IamUseRecord } from './gcp/iam/record.ts';
export { type AccountReport, formatReport, leastPrivilegeReport } from './gcp/iam/report.ts';

export interface LocalCloudOptions {
  /**
   * 0 = free ports for every edge (tests); or per edge. Default: 4566 / CROSSLINK_AWS_ENDPOINT.
   * `awsEndpoints`: the AWS edge's endpoints of their own (ARC's cluster endpoints), in the order
   * they are opened (local/aws/edge.ts `endpointPorts`); free ones by default.
   */
  ports?: 0 | { aws?: number; gcp?: number; awsEndpoints?: readonly number[] };
  /** `manual` for tests; `scaled` (default) with `scale` (default 60). */
  clock?: ClockMode | { mode?: ClockMode; scale?: number; start?: number | string };
  /**
   * The port of the service health endpoints (`serviceHealth`); default a free one. A caller that
   * deploys one cloud after another (seeded chaos) names the same port each time, so what it packages
   * with the endpoints' address is the same package.
   */
  serviceHealthPort?: number;
  /** Seed of the local cloud's randomness (faults, ids). Default 1 / CROSSLINK_SEED. */
  seed?: number;
  /** The region `npm start` reports (default us-east-1 / AWS_REGION). */
  region?: string;
  identitiesFile?: string;
  /** Per-service settings, e.g. `{interconnect: {delays: {provisioning: '2m'}}}`. */
  settings?: Record<string, unknown>;
  /** Extra / replacement AWS service modules (tests of the edge itself). */
  awsServices?: readonly AnyAwsService[];
  /** The Google side (project, region, issuer, key files, modules): local/gcp/index.ts. */
  gcp?: GcpCloudOptions;
  /**
   * The real Pub/Sub and Firestore emulators (and the push proxy): `true` starts both on free
   * ports, an options object tunes them, an `Emulators` handle reuses running ones (shared by several
   * clouds in one test file; the cloud does not stop them). Default off; `npm start` turns them on.
   */
  emulators?: boolean | EmulatorOptions | Emulators;
  /**
   * gcp.yml to wire (functions, topics, subscriptions, scheduler jobs, workflows, log sinks:
   * local/gcp/wiring.ts, docs/google-plumbing.md). Default none. `watchGcpConfig` reloads it
   * when it or a function's files change.
   */
  gcpConfig?: string;
  watchGcpConfig?: boolean;
  /**
   * When each gcp.yml function's instance starts (local/gcp/functions-host.ts `InstanceStart`):
   * `deploy` (default) before the local cloud is ready; `request`, at the first request that
   * reaches it, as Cloud Run starts one (`npm start`).
   */
  functionInstances?: InstanceStart;
  /**
   * Environment for every function of gcp.yml over its `environment` (e.g. a test's short approval
   * deadlines).
   */
  gcpEnvironment?: Record<string, string>;
  /**
   * Values of gcp.yml's `${env:NAME}`, as the deploy's environment gives them. When the AWS half
   * is deployed, the cloud gives its relay route (`CROSSLINK_AWS_RELAY_URL`) and sealing key
   * (`CROSSLINK_PEER_PUBLIC_KEY_PEM`, `CROSSLINK_PEER_KEY_ID`); a test that plays the AWS half
   * passes its own here (these win).
   */
  gcpVariables?: Record<string, string>;
  /**
   * Deploy the AWS half (serverless.yml in `repoDir`) into this cloud once it is up: its intake is
   * the handshake's `intakes.aws`, its and the Google side's sealing keys its `keys` (local/aws-half.ts).
   */
  /**
   * The AWS half to deploy: `repoDir`'s serverless.yml; `packaging`, variables of its packaging
   * beyond AWS_HALF_PACKAGING (a test's schedule, `CROSSLINK_VPN_RUN_SCHEDULE`).
   */
  awsHalf?: { repoDir: string; intakePort?: number; packaging?: Record<string, string> };
  /**
   * The estate to put in the accounts and projects at start (config/local-estate.yaml: Direct
   * Connect gateways, network projects; local/estate.ts): a file or a loaded one. Default none;
   * `npm start` loads config/local-estate.yaml.
   */
  estate?: string | Estate;
  /**
   * IAM at the AWS edge (docs/local-aws-iam.md): every call is authorized against the caller's
   * policies and the resource's, as in AWS. Default on; `false` turns it off (a test that does says
   * why in a comment).
   */
  iam?: boolean;
  /**
   * A directory where the AWS edge's IAM decisions (per principal, action, resource, outcome) are
   * written at stop, one JSON-lines file per cloud: what `npm run iam-report` reads. Default the
   * CROSSLINK_IAM_DECISIONS variable, else none; `false`: none (a test whose refusals are deliberate).
   */
  iamDecisionsDir?: string | false;
  /**
   * Where the local cloud keeps what makes its next start faster (default `.crosslink/cache` in the
   * repository): the emulators' class-data archives (`jvm/`) and the function processes' Node
   * compile cache (`node/`), each keyed by what it was made from.
   */
  cacheDir?: string;
  log?: (message: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** `.crosslink/local.json` (docs/architecture.md, "Local cloud handshake"). */
export interface LocalHandshake {
  version: 1;
  pid: number;
  clock: { mode: ClockMode; scale: number };
  aws: { endpoint: string; region: string; accountId: string };
  gcp: { endpoint: string; project: string; region: string; tokenUri: string; jwksUri: string } | null;
  pubsubEmulatorHost: string | null;
  firestoreEmulatorHost: string | null;
  intakes: { aws: string | null; gcp: string | null };
  /** The `dr-control` function's URL (the operators' controls of a plan Google executes), when gcp.yml deployed it. */
  drControls: { gcp: string | null };
  /** The public keys each side seals activation keys to (null until that side is deployed). */
  keys: { aws: SealingKey | null; gcp: SealingKey | null };
  admin: string;
  /** Base URL of the protected services' health endpoints (docs/protected-service.md). */
  serviceHealth: string;
}

export interface LocalCloud {
  clock: VirtualClock;
  faults: FaultRegistry;
  aws: { endpoint: string; port: number; region: string; accountId: string; edge: AwsEdge };
  /** The Google edge (default port 4580 / CROSSLINK_GCP_ENDPOINT), its auth and key files. */
  gcp: GcpLocal;
  /** Child processes (emulators, function hosts): each in its own process group, all stopped by `stop()`. */
  processes: ProcessGroup;
  /** The network between the clouds (VPNs, routes, traffic): local/world/network.ts. */
  network: NetworkWorld;
  /** The running emulators (null when not started) and the push proxy delivering their push subscriptions. */
  emulators: Emulators | null;
  pushProxy: PushProxy | null;
  /** The IAM front of the Pub/Sub emulator's REST API (clients outside the plumbing publish there). */
  pubsubFront: PubsubFront | null;
  /** What gcp.yml wired (null without `gcpConfig`). */
  plumbing: GooglePlumbing | null;
  /** The deployed AWS half (null without `awsHalf`). */
  awsHalf: AwsHalfDeployment | null;
  /** The world between the clouds: links, their faults and the routes they carry (local/world.ts). */
  world: World;
  /** Base URL of the admin API (`<aws endpoint>/_crosslink`). */
  admin: string;
  /** Base URL of the protected services' health endpoints (local/world/health-server.ts). */
  serviceHealth: string;
  /** The AWS edge's IAM policies and decisions (null when IAM is off). */
  iam: LocalIam | null;
  handshake(): LocalHandshake;
  stop(): Promise<void>;
}

function awsPort(options: LocalCloudOptions, env: NodeJS.ProcessEnv): number {
  if (options.ports === 0) return 0;
  if (options.ports?.aws !== undefined) return options.ports.aws;
  const override = env.CROSSLINK_AWS_ENDPOINT;
  if (override) {
    const url = new URL(override);
    if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
      throw new Error(`CROSSLINK_AWS_ENDPOINT must point at 127.0.0.1 or localhost (got ${override})`);
    }
    return Number(url.port || 80);
  }
  return DEFAULT_AWS_PORT;
}

/** Writes the cloud's IAM decisions to a file of its own in `dir` (created if absent). */
function writeDecisions(iam: LocalIam, world: AwsEdge['world'], dir: string): void {
  mkdirSync(dir, { recursive: true });
  iam.writeDecisions(
    join(dir, `decisions-${process.pid}-${Date.now()}-${randomUUID().slice(0, 8)}.jsonl`),
    world,
  );
}

export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const env = options.env ?? process.env;
  const clockOpt = typeof options.clock === 'string' ? { mode: options.clock } : (options.clock ?? {});
  const start = typeof clockOpt.start === 'string' ? Date.parse(clockOpt.start) : clockOpt.start;
  const clock = new VirtualClock({
    mode: clockOpt.mode ?? 'scaled',
    scale: clockOpt.scale ?? DEFAULT_SCALE,
    ...(start === undefined ? {} : { start }),
  });
  const random = seededRandom(options.seed ?? (env.CROSSLINK_SEED ? Number(env.CROSSLINK_SEED) : 1));
  const faults = new FaultRegistry(random);
  const identities = loadIdentities(options.identitiesFile ?? DEFAULT_IDENTITIES_FILE);
  const credentials = new CredentialStore(identities);
  const region = options.region ?? env.AWS_REGION ?? 'us-east-1';
  const admin = identities.find((i) => i.name === 'admin')?.aws ?? identities.find((i) => i.aws)?.aws;
  if (!admin) throw new Error('config/local-identities.yaml has no AWS identity');

  const estate = typeof options.estate === 'string' ? loadEstate(options.estate) : options.estate;
  const settings: Record<string, unknown> = { ...options.settings };
  // The Google IAM's impersonation bindings, live: the AWS half binds its relay's role (aws-half.ts).
  settings.iamcredentials = { ...(settings.iamcredentials as object | undefined) };
  const hubProject = options.gcp?.project ?? DEFAULT_HUB_PROJECT;
  const estateEnvironment = estate ? applyEstateSettings(estate, settings, hubProject) : {};
  const iam = options.iam === false ? null : new LocalIam(identities.flatMap((i) => (i.aws ? [i.aws] : [])));
  const decisionsDir =
    options.iamDecisionsDir === false ? undefined : (options.iamDecisionsDir ?? env.CROSSLINK_IAM_DECISIONS);
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const edge = new AwsEdge({
    clock,
    faults,
    random,
    credentials,
    services: options.awsServices ?? awsServices,
    defaultRegion: region,
    settings,
    log,
    ...(iam && { iam }),
    ...(options.ports !== 0 && options.ports?.awsEndpoints && { endpointPorts: options.ports.awsEndpoints }),
  });
  const emuOpt = options.emulators ?? false;
  const shared = typeof emuOpt === 'object' && 'stop' in emuOpt ? emuOpt : undefined;
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  let emulatorOptions: EmulatorOptions | undefined;
  if (emuOpt !== false && !shared) {
    emulatorOptions = { env, log, cacheDir, ...(emuOpt === true ? {} : emuOpt) };
    const missing = checkEmulatorBinaries(emulatorOptions);
    if (missing.length > 0)
      throw new EmulatorMissingError(
        missing[0]?.emulator ?? 'pubsub',
        missing.map((m) => m.message).join('\n'),
      );
  }

  // Each part is added as it starts; a part that fails to start stops those before it, last first.
  const parts = new Parts();
  try {
    // The emulators take seconds (their JVMs): start them first, beside the edges. Their hosts are
    // known once they are spawned (what needs only the addresses starts then); `emulatorStart`
    // resolves once they answer.
    const emulatorLaunch: Promise<LaunchedEmulators | Emulators | null> = emulatorOptions
      ? launchEmulators(emulatorOptions)
      : Promise.resolve(shared ?? null);
    const emulatorStart: Promise<Emulators | null> = emulatorLaunch.then(async (e) => {
      if (e && 'ready' in e) await e.ready;
      return e;
    });
    // Surface the failure where it is awaited, not as an unhandled rejection meanwhile.
    emulatorStart.catch(() => undefined);
    if (!shared) parts.add('emulators', async () => (await emulatorLaunch.catch(() => null))?.stop());
    const gcp = await startGcp({
      clock,
      faults,
      random,
      identities,
      port: options.ports === 0 ? 0 : (options.ports?.gcp ?? gcpPort(env)),
      options: options.gcp ?? {},
      settings,
      log,
    });
    parts.add('Google edge', () => gcp.edge.close());
    if (estate) {
      for (const n of estate.gcp.networkProjects) await gcp.auth.addServiceAccount(n.serviceAccount);
    }
    const world = new World({ aws: edge, gcp: gcp.edge });
    const adminHandler = createAdmin({ clock, faults, random, aws: edge, gcp: gcp.edge, world });
    edge.setAdmin(adminHandler);
    gcp.edge.setAdmin(adminHandler);
    const port = await edge.listen(awsPort(options, env));
    parts.add('AWS edge', () => edge.close());
    const processes = new ProcessGroup();
    parts.add('child processes', () => processes.stopAll());
    // Written once the AWS half and the Google functions have stopped, so every call is in them.
    parts.add('IAM decisions', () =>
      iam && decisionsDir ? writeDecisions(iam, edge.world, decisionsDir) : undefined,
    );
    const endpoint = `http://127.0.0.1:${port}`;
    // Lambda handlers run with the service identity's keys against this edge, never real AWS.
    const fnKeys = identities.find((i) => i.name === 'crosslink')?.aws ?? admin;
    const lambdaSettings = (settings.lambda ?? {}) as { environment?: Record<string, string> };
    settings.lambda = {
      ...lambdaSettings,
      environment: {
        AWS_ENDPOINT_URL: endpoint,
        AWS_ACCESS_KEY_ID: fnKeys.accessKeyId,
        AWS_SECRET_ACCESS_KEY: fnKeys.secretAccessKey,
        ...lambdaSettings.environment,
      },
    };
    const accountId = accountOf(admin.principalArn);
    // The emulator sees no caller: clients from outside the local cloud's plumbing (the AWS relay)
    // publish through this IAM front (local/gcp/pubsub-front.ts), which listens before the
    // emulator answers (nothing publishes before the cloud is ready).
    const pubsubFrontStart: Promise<PubsubFront | null> = emulatorLaunch
      .then(async (e) => {
        if (!e?.pubsubHost) return null;
        const front = new PubsubFront({
          pubsubHost: e.pubsubHost,
          auth: gcp.auth,
          iam: gcp.iam,
          clock,
          // The AWS relay publishes here: a relay partition between the clouds cuts it.
          partitioned: () => serviceWorldOf(clock).relayPartitioned,
          faults,
        });
        await front.start();
        return front;
      })
      .catch((err: unknown) => {
        log?.(`gcp: the Pub/Sub IAM front did not start: ${(err as Error).message}`);
        return null;
      });
    parts.add('Pub/Sub IAM front', async () => (await pubsubFrontStart)?.stop());
    const network = networkOf(clock);
    parts.add('network', () => network.close());
    // Route 53 answers the world's clients from the start (its DNS resolver); its checkers stop
    // with the cloud.
    route53DnsOf(clock);
    parts.add('Route 53 health checks', () => healthChecksOf(clock).stop());
    parts.add('clock', () => clock.stop());
    parts.add('link world', () => world.stop());
    const serviceHealth = new ServiceHealthServer(clock);
    await serviceHealth.start(options.serviceHealthPort ?? 0);
    parts.add('service health endpoints', () => serviceHealth.stop());
    if (estate) seedAwsEstate(estate, edge.world, network);
    const linkRoutes = new WorldLinkRoutes(world, clock);
    parts.add('link routes', () => linkRoutes.stop());
    network.setLinkSource(linkRoutes);
    // The Direct Connect module owns the allowed prefixes; the link world advertises them over links.
    // Fed once now (the estate's associations were made above, before anyone listened) and on every change.
    const feedAllowedPrefixes = () => {
      for (const g of advertisedByGateway(edge.world))
        world.setAllowedPrefixes(g.accountId, g.dxGatewayId, g.prefixes);
      linkRoutes.check();
    };
    const stopAllowedPrefixFeed = onAllowedPrefixesChange(edge.world, feedAllowedPrefixes);
    feedAllowedPrefixes();
    parts.add('allowed-prefix feed', stopAllowedPrefixFeed);
    // A link fault (down, flap, BGP sessions) reaches the networks' routes at once, not at the next poll.
    parts.add(
      'link fault feed',
      world.onCarriedChange(() => linkRoutes.check()),
    );
    // The push proxy starts once the Pub/Sub emulator answers; the Google half below starts its
    // functions meanwhile and applies its topics and subscriptions after the proxy. Both stop
    // after the AWS half, whose relay may still publish to them.
    const pushProxyStart: Promise<PushProxy | null> = emulatorStart.then(async (e) => {
      if (!e?.pubsubHost) return null;
      const proxy = new PushProxy({
        pubsubHost: e.pubsubHost,
        projects: [gcp.project],
        sign: (r) => gcp.auth.mintIdToken(r),
        faults,
        log,
        clock,
        // Pushes that leave Google (the relay's to the AWS half's HTTP API, which listens on a
        // port of its own, not the edge's) do not get through a relay partition; pushes to this
        // project's functions, served at the Google edge, do.
        unreachable: (url) => serviceWorldOf(clock).relayPartitioned && !url.startsWith(gcp.endpoint),
      });
      await proxy.start();
      return proxy;
    });
    pushProxyStart.catch(() => undefined);
    let plumbing: GooglePlumbing | null = null;
    parts.add('Pub/Sub push proxy', async () => (await pushProxyStart.catch(() => null))?.stop());
    parts.add('Google half (gcp.yml)', () => plumbing?.stop());
    // The AWS half deploys (packaging when its inputs changed) while the emulators start; it
    // stops first of all, before the clock and the link world, as its functions may still be running.
    // A stop while the AWS half still packages ends `osls package` rather than waiting for it.
    const awsHalfAbort = new AbortController();
    const awsHalfStart: Promise<AwsHalfDeployment | null> = options.awsHalf
      ? deployAwsHalf({ aws: { endpoint, port, region, accountId, edge }, gcp }, options.awsHalf.repoDir, {
          log,
          signal: awsHalfAbort.signal,
          // The relay to Google publishes through the emulator's IAM front once it answers (the
          // deploy runs meanwhile).
          pubsubHost: pubsubFrontStart.then((f) => f?.host ?? null).catch(() => null),
          ...(options.awsHalf.intakePort !== undefined ? { intakePort: options.awsHalf.intakePort } : {}),
          ...(options.awsHalf.packaging ? { packaging: options.awsHalf.packaging } : {}),
        })
      : Promise.resolve(null);
    awsHalfStart.catch(() => undefined);
    parts.add('AWS half', async () => {
      awsHalfAbort.abort('the local cloud stopped');
      return (await awsHalfStart.catch(() => null))?.stop();
    });
    // The role the relay runs as: gcp.yml's awsPublishers role (CROSSLINK_AWS_RELAY_ROLE_ARN).
    const awsRelayRole = awsHalfStart.then((half) =>
      half ? relayRoleArn({ aws: { endpoint, port, region, accountId, edge } }) : undefined,
    );
    awsRelayRole.catch(() => undefined);
    const launched = await emulatorLaunch;
    if (options.gcpConfig) {
      const googleAt = performance.now();
      plumbing = await GooglePlumbing.start({
        configFile: options.gcpConfig,
        gcp,
        clock,
        processes,
        emulators: launched,
        pushProxy: pushProxyStart,
        compileCache: join(cacheDir, 'node'),
        watch: options.watchGcpConfig ?? false,
        ...(options.functionInstances ? { functionInstances: options.functionInstances } : {}),
        // The Google half's functions need both sealing keys: Google's own (Cloud KMS
        // crosslink/activation, created here when the AWS half does not) and the AWS key it seals
        // to (a gcp.yml `${env:NAME}` value, below).
        functionEnvironment: async () => {
          const half = await awsHalfStart.catch(() => null);
          if (!half && gcp.auth.accountByName('crosslink')) await googleSealingKey(gcp);
          return { ...estateEnvironment, ...options.gcpEnvironment };
        },
        // What the deploy's environment gives gcp.yml's `${env:NAME}`: the AWS half's relay route
        // (the Google -> AWS relay pushes there), its sealing key and its stage (the installation,
        // as deploy-gcp --from-aws-stack reads them); the local people as the intake's invokers.
        // Without the AWS half, the installation is the stage it would be packaged with.
        variables: async (): Promise<Record<string, string>> => {
          const half = await awsHalfStart.catch(() => null);
          const relayRole = await awsRelayRole.catch(() => undefined);
          const installation = half?.deployment.stack.outputs.find((o) => o.OutputKey === 'Installation');
          return {
            CROSSLINK_INTAKE_INVOKERS: intakeInvokers(identities),
            CROSSLINK_DR_OPERATORS: drOperators(identities),
            CROSSLINK_INSTALLATION: installation?.OutputValue ?? LOCAL_STAGE,
            ...(half
              ? {
                  CROSSLINK_AWS_RELAY_URL: half.relayUrl,
                  ...(relayRole ? { CROSSLINK_AWS_RELAY_ROLE_ARN: relayRole } : {}),
                  CROSSLINK_PEER_PUBLIC_KEY_PEM: half.keys.aws.publicKeyPem,
                  CROSSLINK_PEER_KEY_ID: half.keys.aws.keyId,
                }
              : {}),
            ...options.gcpVariables,
          };
        },
        log,
      });
      log(
        options.functionInstances === 'request'
          ? `google half: ${plumbing.functions.deployments().length} functions deployed in ${Math.round(performance.now() - googleAt)} ms (each instance starts at its first request)`
          : `google half: ${plumbing.functions.list().length} functions running in ${Math.round(performance.now() - googleAt)} ms`,
      );
    }
    const emulators = await emulatorStart;
    const pubsubFront = await pubsubFrontStart;
    const pushProxy = await pushProxyStart;
    const awsHalf = await awsHalfStart;
    let stopped = false;
    return {
      clock,
      faults,
      aws: { endpoint, port, region, accountId, edge },
      gcp,
      processes,
      network,
      emulators,
      pushProxy,
      pubsubFront,
      plumbing,
      awsHalf,
      world,
      admin: `${endpoint}/_crosslink`,
      serviceHealth: serviceHealth.url,
      iam,
      handshake: () => ({
        version: 1,
        pid: process.pid,
        clock: { mode: clock.mode, scale: clock.scale },
        aws: { endpoint, region, accountId },
        gcp: {
          endpoint: gcp.endpoint,
          project: gcp.project,
          region: gcp.region,
          tokenUri: gcp.tokenUri,
          jwksUri: gcp.jwksUri,
        },
        pubsubEmulatorHost: emulators?.pubsubHost ?? null,
        firestoreEmulatorHost: emulators?.firestoreHost ?? null,
        intakes: {
          aws: awsHalf?.intake ?? null,
          gcp: plumbing?.functions.deployment('intake') ? plumbing.functions.url('intake') : null,
        },
        drControls: {
          gcp: plumbing?.functions.deployment('dr-control') ? plumbing.functions.url('dr-control') : null,
        },
        keys: { aws: awsHalf?.keys.aws ?? null, gcp: awsHalf?.keys.gcp ?? null },
        admin: `${endpoint}/_crosslink`,
        serviceHealth: serviceHealth.url,
      }),
      async stop() {
        if (stopped) return;
        stopped = true;
        recordIamUse(gcp, env);
        await parts.stop();
      },
    };
  } catch (err) {
    // Nothing may outlive a failed start: timers, servers, function hosts, emulators.
    await parts
      .stop()
      .catch((stopErr: unknown) =>
        log(`local cloud: stopping after a failed start: ${(stopErr as Error).message}`),
      );
    throw err;
  }
}
