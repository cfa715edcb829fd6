/**
 * What gcp.yml's validation says beyond its JSON schema: names that must match across the file
 * (accounts, roles, topics, functions, sinks, metrics), roles refused project-wide, and what the
 * Logging API refuses in a log-based metric. Kept apart from the types and the parser
 * (gcp-config.ts) because it is the longest part and changes with the rules, not the shape.
 */
import type { Issue } from '#core/errors.ts';
import { schemaIssues } from '#core/schema.ts';
import schema from '../config/gcp.schema.json' with { type: 'json' };
import type { AlertPolicySpec, CustomRoleSpec, GcpConfigFile, LogMetricSpec } from './gcp-config.ts';

/**
 * The functions' variable naming the network projects (functions/gcp/network-projects.ts reads it):
 * the parser sets it from networkProjects, so a file may not set it itself.
 */
export const NETWORK_PROJECTS_VARIABLE = 'CROSSLINK_NETWORK_PROJECTS';

/**
 * The regions Cloud Run functions (`gcloud functions deploy --gen2`) deploys to, as Google's
 * locations page lists them (`gcloud functions regions list` prints the live set): a function's
 * `region` outside it is refused, as the deploy would be.
 */
export const CLOUD_RUN_FUNCTION_REGIONS: ReadonlySet<string> = new Set([
  'africa-south1',
  'asia-east1',
  'asia-east2',
  'asia-northeast1',
  'asia-northeast2',
  'asia-northeast3',
  'asia-south1',
  'asia-south2',
  'asia-southeast1',
  'asia-southeast2',
  'australia-southeast1',
  'australia-southeast2',
  'europe-central2',
  'europe-north1',
  'europe-southwest1',
  'europe-west1',
  'europe-west2',
  'europe-west3',
  'europe-west4',
  'europe-west6',
  'europe-west8',
  'europe-west9',
  'europe-west10',
  'europe-west12',
  'me-central1',
  'me-central2',
  'me-west1',
  'northamerica-northeast1',
  'northamerica-northeast2',
  'southamerica-east1',
  'southamerica-west1',
  'us-central1',
  'us-east1',
  'us-east4',
  'us-east5',
  'us-south1',
  'us-west1',
  'us-west2',
  'us-west3',
  'us-west4',
]);

/** The shortest silence a metric-absence condition takes (the Monitoring API refuses less). */
const ABSENCE_MIN_SECONDS = 120;

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
    if (
      f.region !== undefined &&
      /^[a-z]+-[a-z]+\d+$/.test(f.region) &&
      !CLOUD_RUN_FUNCTION_REGIONS.has(f.region)
    )
      out.push({
        path: `functions[${i}].region`,
        reason: `is ${f.region}, where Cloud Run functions does not run (gcloud functions regions list)`,
      });
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
    out.push(...alertConditionIssues(a, `alertPolicies[${i}]`));
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

/** A threshold condition needs its threshold; an absence condition takes none and 120 s or more. */
function alertConditionIssues(a: AlertPolicySpec, at: string): Issue[] {
  if (!a.absent)
    return a.threshold === undefined
      ? [{ path: `${at}.threshold`, reason: 'is required (unless absent: true)' }]
      : [];
  const out: Issue[] = [];
  for (const field of ['threshold', 'comparison'] as const)
    if (a[field] !== undefined)
      out.push({
        path: `${at}.${field}`,
        reason: 'is not allowed with absent: true (no data is the condition)',
      });
  const seconds = Number.parseFloat(a.duration ?? '60s');
  if (seconds < ABSENCE_MIN_SECONDS)
    out.push({
      path: `${at}.duration`,
      reason: `must be at least ${ABSENCE_MIN_SECONDS}s for absent: true (got ${a.duration ?? 'the default 60s'})`,
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
