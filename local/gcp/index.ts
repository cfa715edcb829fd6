/**
 * Boots the Google side of the local cloud on the shared clock, faults and random: the auth
 * (generated service-account keys, tokens, JWKS) and the Google edge with its service modules.
 * `startLocalCloud()` (local/index.ts) calls this; the result is `cloud.gcp`.
 */
import type { VirtualClock } from '#local/clock.ts';
import type { FaultRegistry } from '#local/faults.ts';
import type { LocalIdentity } from '#local/identities.ts';
import type { Random } from '#local/random.ts';
import { AuditLog } from './audit-log.ts';
import { GcpAuth } from './auth.ts';
import { DEFAULT_GCP_PORT, GcpEdge } from './edge.ts';
import { identityBindings, transportMemberBindings } from './iam/grants.ts';
import { GcpIam } from './iam/policy.ts';
import type { AnyGcpService } from './service.ts';
import { gcpServices } from './services/index.ts';
import { CROSSLINK_APIS, enableServices } from './services/serviceusage.ts';

export { DEFAULT_GCP_PORT } from './edge.ts';

/** The hub project when none is named: the domain of config/local-identities.yaml's service accounts. */
export const DEFAULT_HUB_PROJECT = 'crosslink-local';

export interface GcpCloudOptions {
  /** Project of the simulated organisation (default DEFAULT_HUB_PROJECT, the identities' domain). */
  project?: string;
  /** Default region (default us-east4, the pair of us-east-1). */
  region?: string;
  /** `iss` of ID tokens (default https://accounts.google.com). */
  issuer?: string;
  /** Writes `<keysDir>/<name>.json` per Google identity (npm start: `.crosslink/keys`). Tests
   *  usually take key files from `cloud.gcp.auth.keyFile(name)` instead. */
  keysDir?: string;
  /** Extra / replacement service modules. */
  services?: readonly AnyGcpService[];
  /**
   * Whether IAM refuses what the caller's roles do not allow (default true: `npm start` and every
   * test). Off, every check is still recorded (the least-privilege report) but nothing is refused;
   * a test that turns it off says why.
   */
  iam?: boolean;
}

export interface GcpLocal {
  endpoint: string;
  port: number;
  project: string;
  region: string;
  tokenUri: string;
  jwksUri: string;
  auth: GcpAuth;
  /** The allow policies and the record of what each principal used (docs/local-gcp-iam.md). */
  iam: GcpIam;
  edge: GcpEdge;
  /** Name -> path of the key files written (empty without keysDir). */
  keyFiles: ReadonlyMap<string, string>;
  /** Admin Activity audit-log entries of the edge's mutating calls (local/gcp/audit-log.ts). */
  auditLog: AuditLog;
}

/** The port of `CROSSLINK_GCP_ENDPOINT`, or the default. */
export function gcpPort(env: NodeJS.ProcessEnv): number {
  const override = env.CROSSLINK_GCP_ENDPOINT;
  if (!override) return DEFAULT_GCP_PORT;
  const url = new URL(override);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') {
    throw new Error(`CROSSLINK_GCP_ENDPOINT must point at 127.0.0.1 or localhost (got ${override})`);
  }
  return Number(url.port || 80);
}

export async function startGcp(deps: {
  clock: VirtualClock;
  faults: FaultRegistry;
  random: Random;
  identities: readonly LocalIdentity[];
  port: number;
  options?: GcpCloudOptions;
  settings?: Record<string, unknown>;
  log?: (message: string) => void;
}): Promise<GcpLocal> {
  const options = deps.options ?? {};
  const project = options.project ?? DEFAULT_HUB_PROJECT;
  const region = options.region ?? 'us-east4';
  const auth = new GcpAuth({
    clock: deps.clock,
    project,
    identities: deps.identities,
    ...(options.issuer ? { issuer: options.issuer } : {}),
  });
  await auth.init();
  const settings = deps.settings ?? {};
  const iam = new GcpIam({
    enforce: options.iam ?? true,
    projectNumber: (p) => projectNumber(p, project, settings),
  });
  iam.setBindings('config/local-identities.yaml', identityBindings(deps.identities));
  iam.setBindings(
    'networkconnectivity members',
    transportMemberBindings(
      (settings.networkconnectivity as { members?: Record<string, string[]> } | undefined)?.members,
    ),
  );
  const edge = new GcpEdge({
    clock: deps.clock,
    faults: deps.faults,
    random: deps.random,
    auth,
    iam,
    services: options.services ?? gcpServices,
    project,
    region,
    settings,
    ...(deps.log ? { log: deps.log } : {}),
  });
  // The boot does for the hub what deploy-gcp's bootstrap does for a new project: its APIs.
  if (edge.services.has('serviceusage')) enableServices(edge.world, project, CROSSLINK_APIS);
  const auditLog = new AuditLog(edge, project);
  const port = await edge.listen(deps.port);
  const keyFiles = options.keysDir ? await auth.writeKeyFiles(options.keysDir) : new Map<string, string>();
  return {
    endpoint: edge.endpoint,
    port,
    project,
    region,
    tokenUri: auth.tokenUri,
    jwksUri: auth.jwksUri,
    auth,
    iam,
    edge,
    keyFiles,
    auditLog,
  };
}

/**
 * A project's number: the hub's is `settings.sts.projectNumber` (default 100000000001, the number
 * the workload identity pool's audience names); any other project's is derived from its id, the
 * same on every run.
 */
export function projectNumber(project: string, hub: string, settings: Record<string, unknown>): string {
  if (project === hub)
    return (settings.sts as { projectNumber?: string } | undefined)?.projectNumber ?? '100000000001';
  let h = 0;
  for (const c of project) h = (h * 31 + c.charCodeAt(0)) % 899_999_999_999;
  return String(100_000_000_000 + h);
}
