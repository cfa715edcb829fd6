/**
 * `gcp.yml`, the declarative Google wiring: its types, its parser and the helpers that turn its
 * references into emails and members. Pure (reads a file, imports only the core): the local cloud
 * (local/gcp/wiring.ts) and scripts/deploy-gcp both load the file through here, so both see the
 * same resources and the same refusals. The shape is config/gcp.schema.json; gcp-config-checks.ts
 * adds what a schema cannot say (references between resources, unique names, dead-letter topics
 * that have a subscription), and gcp-config-substitute.ts fills in the values known only at deploy
 * time. docs/google-plumbing.md documents every field.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { ValidationError } from '#core/errors.ts';
import { loadPolicy } from '#core/policy/policy.ts';
import { readVpnRunSettings } from '#core/vpn/run-policy.ts';
import { gcpConfigIssues, NETWORK_PROJECTS_VARIABLE } from './gcp-config-checks.ts';

export type Member = string;

/**
 * A role reference: a predefined role (`roles/<service>.<role>`) or the id of a `customRoles` entry
 * (the project's `projects/<p>/roles/<id>`).
 */
export type RoleRef = string;

/**
 * A grant narrower than the project: `secrets` (a project binding whose IAM condition limits it to
 * the secrets whose id starts with the prefix) or `cryptoKey` (`<keyRing>/<key>` in the region: a
 * binding on that key's own policy).
 */
export interface GrantSpec {
  role: RoleRef;
  secrets?: string;
  cryptoKey?: string;
}

export interface ServiceAccountSpec {
  id: string;
  displayName?: string;
  /** Project-wide roles (no condition). */
  roles: RoleRef[];
  grants?: GrantSpec[];
  /**
   * Role (or custom role id) -> why no call the local cloud observes uses it (the least-privilege
   * report of local/gcp/iam/report.ts). deploy-gcp ignores it.
   */
  unusedLocally?: Record<string, string>;
}

/** A project custom role: exactly the permissions listed. */
export interface CustomRoleSpec {
  id: string;
  title: string;
  description?: string;
  permissions: string[];
}

export interface HttpTrigger {
  invokers: Member[];
}

export interface TopicTrigger {
  name: string;
  serviceAccount: string;
  retry?: boolean;
}

export interface EventarcTrigger {
  eventType: string;
  filters?: Record<string, string>;
  serviceAccount: string;
  retry?: boolean;
}

export interface FunctionSpec {
  name: string;
  source: string;
  entryPoint: string;
  /**
   * Where the function runs (a Cloud Run functions region; default: the file's `region`): its URL
   * and its metadata server's region are this one's.
   */
  region?: string;
  runtime?: 'nodejs24';
  serviceAccount?: string;
  memory?: string;
  timeoutSeconds?: number;
  /** Cloud Run's maximum instances (`--max-instances`; the platform's default 100). */
  maxInstances?: number;
  /** Requests one instance serves at once (`--concurrency`; the platform's default 1). */
  concurrency?: number;
  environment?: Record<string, string>;
  labels?: Record<string, string>;
  trigger: { http?: HttpTrigger; topic?: TopicTrigger; eventarc?: EventarcTrigger };
}

/**
 * An AWS IAM role whose sessions publish through workload identity federation: the pool's
 * `attribute.aws_role` (the AWS provider's default mapping) is the role's assumed-role ARN.
 */
export interface AwsPublisherSpec {
  /** A workload identity pool of the deployed project. */
  pool: string;
  /** `arn:aws:iam::<account>:role/<name>`, or `${env:NAME}` until deploy-time substitution. */
  role: string;
}

export interface TopicSpec {
  name: string;
  labels?: Record<string, string>;
  messageRetentionDuration?: string;
  /** Members holding roles/pubsub.publisher on this topic (and nowhere else). */
  publishers?: Member[];
  awsPublishers?: AwsPublisherSpec[];
}

export interface SubscriptionSpec {
  name: string;
  topic: string;
  ackDeadlineSeconds?: number;
  push?: { function?: string; endpoint?: string; serviceAccount: string; audience?: string };
  retryPolicy?: { minimumBackoff?: string; maximumBackoff?: string };
  deadLetter?: { topic: string; maxDeliveryAttempts?: number };
  labels?: Record<string, string>;
}

export interface LogSinkSpec {
  name: string;
  filter: string;
  topic: string;
  description?: string;
}

/**
 * A network project: another Google project whose transports crosslink manages by impersonating
 * `serviceAccount` (made there by its owners, with TransportManager roles in it). The deploy grants
 * `impersonators` (this file's service accounts) roles/iam.serviceAccountTokenCreator on it, and
 * creates the `logSink` (a logSinks entry: its name, filter and description) in that project with
 * the hub's topic as destination, the sink's writer identity allowed to publish there. Every
 * function gets `CROSSLINK_NETWORK_PROJECTS` (project -> account) in its environment.
 */
export interface NetworkProjectSpec {
  project: string;
  serviceAccount: string;
  impersonators: string[];
  logSink: string;
}

/** A log-based metric: the fields of the Logging API's `LogMetric` (projects.metrics), as written there. */
export interface LogMetricSpec {
  name: string;
  description?: string;
  filter: string;
  metricDescriptor?: {
    metricKind?: 'DELTA';
    valueType?: 'INT64' | 'DISTRIBUTION';
    unit?: string;
    displayName?: string;
    labels?: { key: string; valueType?: 'STRING' | 'BOOL' | 'INT64'; description?: string }[];
  };
  valueExtractor?: string;
  labelExtractors?: Record<string, string>;
  bucketOptions?: {
    linearBuckets?: { numFiniteBuckets: number; width: number; offset: number };
    exponentialBuckets?: { numFiniteBuckets: number; growthFactor: number; scale: number };
    explicitBuckets?: { bounds: number[] };
  };
}

export interface SchedulerJobSpec {
  name: string;
  description?: string;
  schedule: string;
  timeZone?: string;
  http?: {
    function?: string;
    uri?: string;
    method?: 'POST' | 'GET' | 'PUT' | 'PATCH' | 'DELETE';
    headers?: Record<string, string>;
    body?: unknown;
    serviceAccount: string;
  };
  pubsub?: { topic: string; data?: unknown; attributes?: Record<string, string> };
  workflow?: { name: string; argument?: unknown; serviceAccount: string };
  /**
   * The job exists only when the policy beside gcp.yml (config/policy.yaml) says so:
   * `vpnCoordinator` is the side its `vpn.coordinator` must name (aws when unset); or only when the
   * deploying environment sets `variable` (gcp-config-substitute.ts), e.g. the DR probe's schedule
   * when a DR plan is deployed.
   */
  when?: { vpnCoordinator: 'aws' | 'gcp'; variable?: never } | { variable: string; vpnCoordinator?: never };
}

export interface WorkflowSpec {
  name: string;
  source: string;
  serviceAccount: string;
  env?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface AlertPolicySpec {
  name: string;
  displayName: string;
  filter: string;
  /**
   * A metric-absence condition: the policy fires when no series of the filter reports for
   * `duration` (at least 120 s), as a CloudWatch alarm with missing data breaching does. Takes no
   * `comparison` or `threshold`.
   */
  absent?: boolean;
  comparison?: 'COMPARISON_GT' | 'COMPARISON_LT';
  /** Required unless `absent`. */
  threshold?: number;
  duration?: string;
  /** How each series is aligned before the comparison (default 60s, ALIGN_MAX). */
  aggregation?: { alignmentPeriod?: string; perSeriesAligner?: string };
  notificationChannels?: string[];
}

/** The file as written (defaults not applied). */
/**
 * What a project needs before anything of the file can exist (scripts/gcp-deploy/bootstrap.ts): the
 * APIs to enable, the Firestore database and its TTL policies. With it the deploy also creates the
 * KMS keys `cryptoKey` grants name and the workload identity pools `awsPublishers` name.
 */
export interface BootstrapSpec {
  apis: string[];
  firestore?: { location: string; ttl?: { collectionGroup: string; field: string }[] };
}

/** What `crosslink doctor` holds an installation to (docs/deploy.md "Doctor"). */
export interface DoctorSpec {
  /** The relay is lagging when its oldest waiting event, either way, is older (default 300). */
  relayMaxLagSeconds?: number;
}

export interface GcpConfigFile {
  version: 1;
  bootstrap?: BootstrapSpec;
  doctor?: DoctorSpec;
  region?: string;
  customRoles?: CustomRoleSpec[];
  serviceAccounts?: ServiceAccountSpec[];
  functions?: FunctionSpec[];
  topics?: TopicSpec[];
  subscriptions?: SubscriptionSpec[];
  logSinks?: LogSinkSpec[];
  networkProjects?: NetworkProjectSpec[];
  logMetrics?: LogMetricSpec[];
  schedulerJobs?: SchedulerJobSpec[];
  workflows?: WorkflowSpec[];
  alertPolicies?: AlertPolicySpec[];
}

/** A loaded gcp.yml: every list present, paths resolved against the file's directory. */
export interface GcpConfig {
  /** Absolute path of the file (undefined when parsed from text). */
  file: string | undefined;
  /** Directory `source` paths are relative to. */
  root: string;
  region: string | undefined;
  bootstrap: BootstrapSpec | undefined;
  doctor: DoctorSpec;
  customRoles: CustomRoleSpec[];
  serviceAccounts: ServiceAccountSpec[];
  functions: FunctionSpec[];
  topics: TopicSpec[];
  subscriptions: SubscriptionSpec[];
  logSinks: LogSinkSpec[];
  networkProjects: NetworkProjectSpec[];
  logMetrics: LogMetricSpec[];
  schedulerJobs: SchedulerJobSpec[];
  /** Jobs whose `when` the policy does not meet, with why: they are neither run nor deployed. */
  omittedSchedulerJobs: { name: string; reason: string }[];
  /** The policy's `vpn.coordinator`, read when a job's `when` needs it. */
  vpnCoordinator: 'aws' | 'gcp' | undefined;
  workflows: WorkflowSpec[];
  alertPolicies: AlertPolicySpec[];
}

/** The policy a job's `when` reads, relative to gcp.yml's directory (what the functions embed too). */
export const POLICY_FILE = 'config/policy.yaml';

/**
 * The side `vpn.coordinator` names in `policy` (a parsed document), or in the policy file under
 * `root`; refused naming the file when it is missing or invalid.
 */
function vpnCoordinatorOf(root: string, policy: unknown): 'aws' | 'gcp' {
  let document = policy;
  const file = resolve(root, POLICY_FILE);
  if (document === undefined) {
    if (!existsSync(file))
      throw new ValidationError(
        [
          {
            path: 'schedulerJobs',
            reason: `a job's when reads vpn.coordinator from ${file}, which does not exist`,
          },
        ],
        'gcp.yml',
      );
    try {
      document = parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ValidationError([{ path: '', reason: `is not valid YAML: ${(e as Error).message}` }], file);
    }
  }
  const vpn = (loadPolicy(document).document as { vpn?: unknown }).vpn;
  return readVpnRunSettings(vpn).coordinator;
}

/** The jobs the policy keeps (`when` met), and the others with why. */
function conditionalJobs(
  jobs: SchedulerJobSpec[],
  root: string,
  policy: unknown,
): Pick<GcpConfig, 'schedulerJobs' | 'omittedSchedulerJobs' | 'vpnCoordinator'> {
  if (!jobs.some((j) => j.when?.vpnCoordinator))
    return { schedulerJobs: jobs, omittedSchedulerJobs: [], vpnCoordinator: undefined };
  const coordinator = vpnCoordinatorOf(root, policy);
  const kept = jobs.filter((j) => !j.when?.vpnCoordinator || j.when.vpnCoordinator === coordinator);
  const omitted = jobs
    .filter((j) => j.when?.vpnCoordinator && j.when.vpnCoordinator !== coordinator)
    .map((j) => ({
      name: j.name,
      reason: `the policy's vpn.coordinator is ${coordinator}, the job runs only when it is ${j.when?.vpnCoordinator}`,
    }));
  return { schedulerJobs: kept, omittedSchedulerJobs: omitted, vpnCoordinator: coordinator };
}

/** The region a function runs in: its own, else the file's. */
export function functionRegion(fn: FunctionSpec, config: Pick<GcpConfig, 'region'>): string | undefined {
  return fn.region ?? config.region;
}

/** Which kind of function a trigger makes: `http` (ff.http) or `cloudevent` (ff.cloudEvent). */
export function signatureType(fn: FunctionSpec): 'http' | 'cloudevent' {
  return fn.trigger.http ? 'http' : 'cloudevent';
}

/** A service account reference (an id of this file, or an email) as an email in `project`. */
export function serviceAccountEmail(ref: string, project: string): string {
  return ref.includes('@') ? ref : `${ref}@${project}.iam.gserviceaccount.com`;
}

/** An IAM member with service account ids expanded to emails (`serviceAccount:intake` -> email). */
export function memberOf(member: Member, project: string): Member {
  const m = /^serviceAccount:(.+)$/.exec(member);
  return m ? `serviceAccount:${serviceAccountEmail(m[1] as string, project)}` : member;
}

/** Parses gcp.yml text; throws ValidationError naming each bad field. */
export function parseGcpConfig(
  text: string,
  /** `policy`: the policy document a job's `when` reads (default: config/policy.yaml under `root`). */
  options: { file?: string; root?: string; policy?: unknown } = {},
): GcpConfig {
  const subject = options.file ?? 'gcp.yml';
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    throw new ValidationError(
      [{ path: '', reason: `is not valid YAML: ${(err as Error).message}` }],
      subject,
    );
  }
  const issues = gcpConfigIssues(value);
  if (issues.length > 0) throw new ValidationError(issues, subject);
  const c = value as GcpConfigFile;
  const networkProjects = c.networkProjects ?? [];
  // Every function may act for a link in a network project: all learn them (the same map).
  const networks: Record<string, string> = {
    [NETWORK_PROJECTS_VARIABLE]: JSON.stringify(
      Object.fromEntries(networkProjects.map((n) => [n.project, n.serviceAccount])),
    ),
  };
  const root = options.root ?? (options.file ? dirname(options.file) : process.cwd());
  return {
    file: options.file,
    root,
    region: c.region,
    bootstrap: c.bootstrap,
    doctor: c.doctor ?? {},
    customRoles: c.customRoles ?? [],
    serviceAccounts: c.serviceAccounts ?? [],
    functions: (c.functions ?? []).map((f) =>
      networkProjects.length > 0 ? { ...f, environment: { ...f.environment, ...networks } } : f,
    ),
    topics: c.topics ?? [],
    subscriptions: c.subscriptions ?? [],
    logSinks: c.logSinks ?? [],
    networkProjects,
    logMetrics: c.logMetrics ?? [],
    ...conditionalJobs(c.schedulerJobs ?? [], root, options.policy),
    workflows: c.workflows ?? [],
    alertPolicies: c.alertPolicies ?? [],
  };
}

/** Reads and validates a gcp.yml file. */
export function loadGcpConfig(file: string): GcpConfig {
  const path = resolve(file);
  return parseGcpConfig(readFileSync(path, 'utf8'), { file: path });
}
