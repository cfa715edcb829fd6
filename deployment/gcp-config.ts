/**
 * `gcp.yml`, the declarative Google wiring: its types, its parser and its validator. Pure (reads a
 * file, imports only the core): the local cloud (local/gcp/plumbing.ts) and scripts/deploy-gcp both
 * load the file through here, so both see the same resources and the same refusals. The shape is
 * config/gcp.schema.json; `validateGcpConfig` adds what a schema cannot say (references between
 * resources, unique names, dead-letter topics that have a subscription). docs/google-plumbing.md
 * documents every field.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { type Issue, ValidationError } from '#core/errors.ts';
import { schemaIssues } from '#core/schema.ts';
import schema from '../config/gcp.schema.json' with { type: 'json' };

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
  runtime?: 'nodejs24';
  serviceAccount?: string;
  memory?: string;
  timeoutSeconds?: number;
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

/** The functions' variable naming the network projects (functions/gcp/network-projects.ts reads it). */
export const NETWORK_PROJECTS_VARIABLE = 'CROSSLINK_NETWORK_PROJECTS';

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
  comparison?: 'COMPARISON_GT' | 'COMPARISON_LT';
  threshold: number;
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
  workflows: WorkflowSpec[];
  alertPolicies: AlertPolicySpec[];
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

/** Every problem of a parsed gcp.yml: schema first, then references between resources. */
export function gcpConfigIssues(value: unknown): Issue[] {
  const issues = schemaIssues(schema, value);
  // The cross-references are checked even when the schema found problems, so that one run lists
  // every problem; a file too malformed to follow its references shows the schema's alone.
  let references: Issue[] = [];
  try {
    references = crossReferenceIssues(value as GcpConfigFile);
  } catch {
    references = [];
  }
  const seen = new Set(issues.map((i) => i.path));
  return [...issues, ...references.filter((i) => !seen.has(i.path))];
}

/** Names that must match across the file (accounts, roles, topics, ...), on a file shaped as the schema says. */
function crossReferenceIssues(c: GcpConfigFile): Issue[] {
  const out: Issue[] = [];
  const names = (kind: string, list: { name?: string; id?: string }[] | undefined) => {
    const seen = new Set<string>();
    (list ?? []).forEach((r, i) => {
      const n = (r.name ?? r.id) as string;
      if (seen.has(n)) out.push({ path: `${kind}[${i}]`, reason: `repeats the name ${n}` });
      seen.add(n);
    });
    return seen;
  };
  const accounts = names('serviceAccounts', c.serviceAccounts);
  const customRoles = new Set<string>();
  (c.customRoles ?? []).forEach((r, i) => {
    if (customRoles.has(r.id)) out.push({ path: `customRoles[${i}]`, reason: `repeats the id ${r.id}` });
    customRoles.add(r.id);
  });
  const role = (path: string, ref: string) => {
    if (!ref.startsWith('roles/') && !customRoles.has(ref))
      out.push({ path, reason: `names the custom role ${ref}, which customRoles does not list` });
  };
  /** A predefined role of `service`, or a custom role whose permissions are all of it. */
  const serviceRole = (ref: string, service: string) =>
    ref.startsWith(`roles/${service}.`) ||
    (c.customRoles ?? []).find((r) => r.id === ref)?.permissions.every((p) => p.startsWith(`${service}.`)) ===
      true;
  (c.serviceAccounts ?? []).forEach((sa, i) => {
    sa.roles.forEach((r, j) => {
      const path = `serviceAccounts[${i}].roles[${j}]`;
      role(path, r);
      const why = projectWideRefusal(r, c.customRoles ?? []);
      if (why) out.push({ path, reason: why });
    });
    const seen = new Set<string>();
    (sa.grants ?? []).forEach((g, j) => {
      const path = `serviceAccounts[${i}].grants[${j}]`;
      role(`${path}.role`, g.role);
      const key = `${g.role} ${g.secrets ?? ''} ${g.cryptoKey ?? ''}`;
      if (seen.has(key)) out.push({ path, reason: 'repeats an earlier grant' });
      seen.add(key);
      const known = g.role.startsWith('roles/') || customRoles.has(g.role);
      if (known && g.secrets !== undefined && !serviceRole(g.role, 'secretmanager'))
        out.push({
          path: `${path}.role`,
          reason: `${g.role} is not a Secret Manager role: a secrets grant carries only secretmanager permissions`,
        });
      if (known && g.cryptoKey !== undefined && !serviceRole(g.role, 'cloudkms'))
        out.push({
          path: `${path}.role`,
          reason: `${g.role} is not a Cloud KMS role: a cryptoKey grant carries only cloudkms permissions`,
        });
    });
  });
  const functions = new Map((c.functions ?? []).map((f) => [f.name, f]));
  names('functions', c.functions);
  const topics = names('topics', c.topics);
  names('subscriptions', c.subscriptions);
  const sinks = names('logSinks', c.logSinks);
  const logMetrics = names('logMetrics', c.logMetrics);
  names('schedulerJobs', c.schedulerJobs);
  const workflows = names('workflows', c.workflows);
  names('alertPolicies', c.alertPolicies);

  const account = (path: string, ref: string | undefined) => {
    if (ref !== undefined && !ref.includes('@') && !accounts.has(ref))
      out.push({ path, reason: `names the service account ${ref}, which serviceAccounts does not list` });
  };
  const topic = (path: string, name: string) => {
    if (!topics.has(name)) out.push({ path, reason: `names the topic ${name}, which topics does not list` });
  };
  const httpFunction = (path: string, name: string) => {
    const f = functions.get(name);
    if (!f) out.push({ path, reason: `names the function ${name}, which functions does not list` });
    else if (!f.trigger.http)
      out.push({ path, reason: `names the function ${name}, which is not an HTTP function` });
  };

  (c.functions ?? []).forEach((f, i) => {
    account(`functions[${i}].serviceAccount`, f.serviceAccount);
    if (f.trigger.topic) {
      topic(`functions[${i}].trigger.topic.name`, f.trigger.topic.name);
      account(`functions[${i}].trigger.topic.serviceAccount`, f.trigger.topic.serviceAccount);
    }
    if (f.trigger.eventarc)
      account(`functions[${i}].trigger.eventarc.serviceAccount`, f.trigger.eventarc.serviceAccount);
    f.trigger.http?.invokers.forEach((m, j) => {
      const sa = /^serviceAccount:([^@]+)$/.exec(m);
      if (sa) account(`functions[${i}].trigger.http.invokers[${j}]`, sa[1]);
    });
  });
  (c.topics ?? []).forEach((t, i) => {
    t.publishers?.forEach((m, j) => {
      const sa = /^serviceAccount:([^@]+)$/.exec(m);
      if (sa) account(`topics[${i}].publishers[${j}]`, sa[1]);
    });
    const seen = new Set<string>();
    t.awsPublishers?.forEach((p, j) => {
      const key = `${p.pool} ${p.role}`;
      if (seen.has(key))
        out.push({ path: `topics[${i}].awsPublishers[${j}]`, reason: 'repeats an earlier entry' });
      seen.add(key);
    });
  });
  const deadLetterTopics = new Set<string>();
  (c.subscriptions ?? []).forEach((s, i) => {
    topic(`subscriptions[${i}].topic`, s.topic);
    if (s.push) {
      account(`subscriptions[${i}].push.serviceAccount`, s.push.serviceAccount);
      if (s.push.function) httpFunction(`subscriptions[${i}].push.function`, s.push.function);
    }
    if (s.deadLetter) {
      topic(`subscriptions[${i}].deadLetter.topic`, s.deadLetter.topic);
      if (s.deadLetter.topic === s.topic)
        out.push({
          path: `subscriptions[${i}].deadLetter.topic`,
          reason: 'must differ from the subscription topic',
        });
      deadLetterTopics.add(s.deadLetter.topic);
    }
    const min = s.retryPolicy?.minimumBackoff;
    const max = s.retryPolicy?.maximumBackoff;
    if (min && Number.parseFloat(min) > 600)
      out.push({ path: `subscriptions[${i}].retryPolicy.minimumBackoff`, reason: 'must be at most 600s' });
    if (max && Number.parseFloat(max) > 600)
      out.push({ path: `subscriptions[${i}].retryPolicy.maximumBackoff`, reason: 'must be at most 600s' });
    if (min && max && Number.parseFloat(min) > Number.parseFloat(max))
      out.push({
        path: `subscriptions[${i}].retryPolicy`,
        reason: 'minimumBackoff must not exceed maximumBackoff',
      });
  });
  // A dead-letter topic without a subscription loses what it receives (docs/reference/platform-semantics.md, "Event delivery").
  for (const t of deadLetterTopics) {
    if (topics.has(t) && !(c.subscriptions ?? []).some((s) => s.topic === t)) {
      const i = (c.topics ?? []).findIndex((x) => x.name === t);
      out.push({
        path: `topics[${i}]`,
        reason: `is a dead-letter topic without a subscription: its messages would be lost`,
      });
    }
  }
  (c.logSinks ?? []).forEach((s, i) => {
    topic(`logSinks[${i}].topic`, s.topic);
  });
  const networkProjects = new Set<string>();
  (c.networkProjects ?? []).forEach((n, i) => {
    const path = `networkProjects[${i}]`;
    if (networkProjects.has(n.project)) out.push({ path, reason: `repeats the project ${n.project}` });
    networkProjects.add(n.project);
    if (!n.serviceAccount.endsWith(`@${n.project}.iam.gserviceaccount.com`))
      out.push({ path: `${path}.serviceAccount`, reason: `must be a service account of ${n.project}` });
    n.impersonators.forEach((a, j) => {
      account(`${path}.impersonators[${j}]`, a);
    });
    if (!sinks.has(n.logSink))
      out.push({
        path: `${path}.logSink`,
        reason: `names the log sink ${n.logSink}, which logSinks does not list`,
      });
  });
  if (networkProjects.size > 0)
    (c.functions ?? []).forEach((f, i) => {
      if (f.environment?.[NETWORK_PROJECTS_VARIABLE] !== undefined)
        out.push({
          path: `functions[${i}].environment.${NETWORK_PROJECTS_VARIABLE}`,
          reason: 'is set from networkProjects: remove it here',
        });
    });
  (c.schedulerJobs ?? []).forEach((j, i) => {
    if (j.http) {
      account(`schedulerJobs[${i}].http.serviceAccount`, j.http.serviceAccount);
      if (j.http.function) httpFunction(`schedulerJobs[${i}].http.function`, j.http.function);
    }
    if (j.pubsub) topic(`schedulerJobs[${i}].pubsub.topic`, j.pubsub.topic);
    if (j.workflow) {
      account(`schedulerJobs[${i}].workflow.serviceAccount`, j.workflow.serviceAccount);
      if (!workflows.has(j.workflow.name))
        out.push({
          path: `schedulerJobs[${i}].workflow.name`,
          reason: `names the workflow ${j.workflow.name}, which workflows does not list`,
        });
    }
    if (j.timeZone !== undefined && !validTimeZone(j.timeZone))
      out.push({
        path: `schedulerJobs[${i}].timeZone`,
        reason: `must be an IANA time zone (got ${j.timeZone})`,
      });
  });
  (c.workflows ?? []).forEach((w, i) => {
    account(`workflows[${i}].serviceAccount`, w.serviceAccount);
  });
  (c.logMetrics ?? []).forEach((m, i) => {
    out.push(...logMetricIssues(m, `logMetrics[${i}]`));
  });
  (c.alertPolicies ?? []).forEach((a, i) => {
    for (const name of userMetricsOf(a.filter))
      if (!logMetrics.has(name))
        out.push({
          path: `alertPolicies[${i}].filter`,
          reason: `names the log-based metric ${USER_METRIC}${name}, which logMetrics does not list`,
        });
    const aligner = a.aggregation?.perSeriesAligner;
    const distribution = userMetricsOf(a.filter).some(
      (n) => c.logMetrics?.find((m) => m.name === n)?.metricDescriptor?.valueType === 'DISTRIBUTION',
    );
    if (distribution && !aligner?.startsWith('ALIGN_PERCENTILE_'))
      out.push({
        path: `alertPolicies[${i}].aggregation.perSeriesAligner`,
        reason: `must be an ALIGN_PERCENTILE_* aligner: the filter names a distribution metric (got ${aligner ?? 'the default ALIGN_MAX'})`,
      });
  });
  return out;
}

/**
 * Roles a resource can carry are refused project-wide (why, or undefined): publishing goes on the
 * topic, Secret Manager access on the secrets (a name condition), KMS use on the key. Only
 * `secretmanager.secrets.create` may be project-wide, in a custom role: creating needs a
 * project-level grant, and creating a secret gives no access to any.
 */
/** Roles that belong on one resource, never on the project (roles/owner and roles/editor are refused outright). */
const BROAD_ROLES: Record<string, string> = {
  'roles/run.invoker': "invokers go on the function (its trigger's invokers)",
  'roles/cloudfunctions.invoker': "invokers go on the function (its trigger's invokers)",
  'roles/iam.serviceAccountUser': 'grant it on the service account acted as',
  'roles/iam.serviceAccountTokenCreator':
    'grant it on the service account impersonated (networkProjects[].impersonators)',
};

function projectWideRefusal(ref: string, customRoles: CustomRoleSpec[]): string | undefined {
  const broad = BROAD_ROLES[ref];
  if (broad) return `${ref} is refused project-wide: ${broad}`;
  if (/^roles\/(secretmanager\.|cloudkms\.|pubsub\.(publisher|editor|admin)$)/.test(ref))
    return `${ref} is refused project-wide: ${
      ref.startsWith('roles/pubsub.')
        ? 'publishers go on the topic (topics[].publishers)'
        : ref.startsWith('roles/secretmanager.')
          ? 'grant it on a secret-name prefix (grants: {role, secrets})'
          : 'grant it on the key (grants: {role, cryptoKey})'
    }`;
  const bad = customRoles
    .find((r) => r.id === ref)
    ?.permissions.filter(
      (p) =>
        p === 'pubsub.topics.publish' ||
        p.startsWith('cloudkms.') ||
        (p.startsWith('secretmanager.') && p !== 'secretmanager.secrets.create'),
    );
  if (bad && bad.length > 0)
    return `the custom role ${ref} carries ${bad.join(', ')}, refused project-wide: grant it on the topic, a secret-name prefix or the key`;
  return undefined;
}

/** The Monitoring metric type prefix of log-based metrics. */
export const USER_METRIC = 'logging.googleapis.com/user/';

/** The log-based metric names an alert filter refers to (`metric.type="logging.googleapis.com/user/<name>"`). */
export function userMetricsOf(filter: string): string[] {
  return [...filter.matchAll(/metric\.type\s*=\s*"logging\.googleapis\.com\/user\/([^"]+)"/g)].map(
    (m) => m[1] as string,
  );
}

/** What the Logging API refuses in a LogMetric beyond its shape (projects.metrics reference). */
function logMetricIssues(m: LogMetricSpec, at: string): Issue[] {
  const out: Issue[] = [];
  const distribution = m.metricDescriptor?.valueType === 'DISTRIBUTION';
  if (distribution && !m.valueExtractor)
    out.push({ path: `${at}.valueExtractor`, reason: 'is required for a DISTRIBUTION metric' });
  if (distribution && !m.bucketOptions)
    out.push({ path: `${at}.bucketOptions`, reason: 'is required for a DISTRIBUTION metric' });
  if (!distribution && m.valueExtractor)
    out.push({
      path: `${at}.valueExtractor`,
      reason: 'is only for a DISTRIBUTION metric (a counter counts entries)',
    });
  if (!distribution && m.bucketOptions)
    out.push({ path: `${at}.bucketOptions`, reason: 'is only for a DISTRIBUTION metric' });
  const bounds = m.bucketOptions?.explicitBuckets?.bounds ?? [];
  if (bounds.some((b, j) => j > 0 && b <= (bounds[j - 1] as number)))
    out.push({ path: `${at}.bucketOptions.explicitBuckets.bounds`, reason: 'must be strictly increasing' });
  const labels = (m.metricDescriptor?.labels ?? []).map((l) => l.key);
  const extractors = Object.keys(m.labelExtractors ?? {});
  labels.forEach((k, j) => {
    if (labels.indexOf(k) !== j)
      out.push({ path: `${at}.metricDescriptor.labels[${j}].key`, reason: `repeats the label ${k}` });
    else if (!extractors.includes(k))
      out.push({
        path: `${at}.labelExtractors`,
        reason: `has no extractor for the label ${k} that metricDescriptor.labels declares`,
      });
  });
  for (const k of extractors)
    if (!labels.includes(k))
      out.push({
        path: `${at}.labelExtractors.${k}`,
        reason: `extracts a label metricDescriptor.labels does not declare`,
      });
  return out;
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Parses gcp.yml text; throws ValidationError naming each bad field. */
export function parseGcpConfig(text: string, options: { file?: string; root?: string } = {}): GcpConfig {
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
  return {
    file: options.file,
    root: options.root ?? (options.file ? dirname(options.file) : process.cwd()),
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
    schedulerJobs: c.schedulerJobs ?? [],
    workflows: c.workflows ?? [],
    alertPolicies: c.alertPolicies ?? [],
  };
}

/** Reads and validates a gcp.yml file. */
export function loadGcpConfig(file: string): GcpConfig {
  const path = resolve(file);
  return parseGcpConfig(readFileSync(path, 'utf8'), { file: path });
}

/**
 * A value known only at deploy time, taken from the deploying environment: `${env:NAME}` as a push
 * endpoint (e.g. the AWS relay route) or as a function's environment value (e.g. the peer's public
 * key).
 */
export const ENDPOINT_VARIABLE_RE = /^\$\{env:([A-Z][A-Z0-9_]*)\}$/;

/**
 * Replaces every function `environment` value `${env:NAME}` with the variable's value, and every
 * `invokers` entry `${env:NAME}` with the members it lists. A variable that is not set (or is
 * empty) is one issue, naming the first field that needs it and the variable: a function cannot
 * start without a value its gcp.yml requires, and an intake nobody may call serves nobody.
 */
export function substituteFunctionVariables(
  config: GcpConfig,
  variables: Record<string, string | undefined>,
): GcpConfig {
  const missing = new Map<string, { path: string; functions: number }>();
  const issues: Issue[] = [];
  const functions = config.functions.map((f, i) => {
    const invoked = withInvokers(f, i, variables, missing, issues);
    return invoked.environment ? withEnvironment(invoked, i) : invoked;
  });
  function withEnvironment(f: FunctionSpec, i: number): FunctionSpec {
    const environment: Record<string, string> = {};
    for (const [key, value] of Object.entries(f.environment ?? {})) {
      const name = ENDPOINT_VARIABLE_RE.exec(value)?.[1];
      if (!name) {
        environment[key] = value;
        continue;
      }
      const given = variables[name];
      if (given) environment[key] = given;
      else {
        const m = missing.get(name) ?? { path: `functions[${i}].environment.${key}`, functions: 0 };
        m.functions++;
        missing.set(name, m);
      }
    }
    return { ...f, environment };
  }
  if (missing.size > 0 || issues.length > 0)
    throw new ValidationError(
      [
        ...[...missing].map(([name, m]) => ({
          path: m.path,
          reason: `needs the environment variable ${name} (set it where the deploy runs${m.functions > 1 ? `; ${m.functions} functions use it` : ''})`,
        })),
        ...issues,
      ],
      config.file ?? 'gcp.yml',
    );
  return { ...config, functions };
}

// Named members only: allUsers and allAuthenticatedUsers would open the intake to callers Cloud Run does not
// verify, and the intake names its caller from the token Cloud Run verified (functions/gcp/intake-http.ts).
const MEMBER_RE = /^(user|serviceAccount|group|domain):[-a-zA-Z0-9_.+@]+$/;

/**
 * An HTTP function's `invokers` with each `${env:NAME}` entry replaced by the members the variable
 * lists (comma-separated): who may call the intake is the deployer's to say, not the file's.
 */
function withInvokers(
  f: FunctionSpec,
  i: number,
  variables: Record<string, string | undefined>,
  missing: Map<string, { path: string; functions: number }>,
  issues: Issue[],
): FunctionSpec {
  const http = f.trigger.http;
  if (!http?.invokers.some((m) => ENDPOINT_VARIABLE_RE.test(m))) return f;
  const invokers = http.invokers.flatMap((m, j) => {
    const name = ENDPOINT_VARIABLE_RE.exec(m)?.[1];
    if (!name) return [m];
    const path = `functions[${i}].trigger.http.invokers[${j}]`;
    const members = (variables[name] ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
    if (members.length === 0) {
      const had = missing.get(name);
      if (had) had.functions++;
      else missing.set(name, { path, functions: 1 });
      return [];
    }
    for (const bad of members.filter((x) => !MEMBER_RE.test(x)))
      issues.push({
        path,
        reason: `${name} lists "${bad.slice(0, 80)}", which is not an IAM member (user:<email>, group:<email>, serviceAccount:<email>, domain:<domain>)`,
      });
    return members;
  });
  return { ...f, trigger: { ...f.trigger, http: { ...http, invokers } } };
}

/**
 * Replaces every `push.endpoint: ${env:NAME}` with the variable's value. A variable that is not
 * set is an issue naming the field and the variable (`missing: 'error'`, the deploy script), or
 * leaves that subscription out (`missing: 'drop'`, the local cloud without the peer half: nothing
 * to push to); a value that is not an http(s) URL is an issue either way.
 */
export function substituteEndpoints(
  config: GcpConfig,
  variables: Record<string, string | undefined>,
  missing: 'error' | 'drop' = 'error',
): { config: GcpConfig; dropped: { subscription: string; variable: string }[] } {
  const issues: Issue[] = [];
  const dropped: { subscription: string; variable: string }[] = [];
  const subscriptions: SubscriptionSpec[] = [];
  config.subscriptions.forEach((s, i) => {
    const name = s.push?.endpoint ? ENDPOINT_VARIABLE_RE.exec(s.push.endpoint)?.[1] : undefined;
    if (!s.push || !name) {
      subscriptions.push(s);
      return;
    }
    const value = variables[name];
    const path = `subscriptions[${i}].push.endpoint`;
    if (!value) {
      if (missing === 'drop') dropped.push({ subscription: s.name, variable: name });
      else issues.push({ path, reason: `needs the environment variable ${name} (the push endpoint URL)` });
      return;
    }
    if (!/^https?:\/\/\S+$/.test(value)) {
      issues.push({ path, reason: `${name} must be an http(s) URL, got "${value.slice(0, 80)}"` });
      return;
    }
    subscriptions.push({ ...s, push: { ...s.push, endpoint: value } });
  });
  if (issues.length > 0) throw new ValidationError(issues, config.file ?? 'gcp.yml');
  return { config: { ...config, subscriptions }, dropped };
}

/** An AWS IAM role ARN (what `awsPublishers[].role` resolves to). */
export const AWS_ROLE_ARN_RE = /^arn:aws:iam::(\d{12}):role\/([\w+=,.@-]{1,64})$/;

/**
 * Replaces every `awsPublishers[].role: ${env:NAME}` with the variable's value: a variable that is
 * not set, or a value that is not an IAM role ARN, is an issue naming the field and the variable.
 */
export function substituteAwsPublishers(
  config: GcpConfig,
  variables: Record<string, string | undefined>,
): GcpConfig {
  const issues: Issue[] = [];
  const topics = config.topics.map((t, i) =>
    t.awsPublishers
      ? {
          ...t,
          awsPublishers: t.awsPublishers.map((p, j) => {
            const name = ENDPOINT_VARIABLE_RE.exec(p.role)?.[1];
            if (!name) return p;
            const value = variables[name];
            const path = `topics[${i}].awsPublishers[${j}].role`;
            if (!value)
              issues.push({ path, reason: `needs the environment variable ${name} (the AWS role ARN)` });
            else if (!AWS_ROLE_ARN_RE.test(value))
              issues.push({
                path,
                reason: `${name} must be an AWS IAM role ARN (arn:aws:iam::<account>:role/<name>), got "${value.slice(0, 80)}"`,
              });
            return { ...p, role: value ?? p.role };
          }),
        }
      : t,
  );
  if (issues.length > 0) throw new ValidationError(issues, config.file ?? 'gcp.yml');
  return { ...config, topics };
}
