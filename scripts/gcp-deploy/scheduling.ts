/**
 * The orchestration phases of a converge: workflows (deployed when their source, account,
 * environment or labels differ) and Cloud Scheduler jobs (HTTP, workflow or Pub/Sub targets,
 * compared in the API's terms; a job whose target type changes is replaced).
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { keyValues } from '#deployment/gcloud-flags.ts';
import { type SchedulerJobSpec, serviceAccountEmail } from '#deployment/gcp-config.ts';
import {
  type Converge,
  functionUrl,
  type Labels,
  labelFlags,
  last,
  listed,
  managedLabels,
  marked,
  PLATFORM_LABELS,
  same,
  without,
} from './converge-context.ts';

const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

interface WorkflowJson {
  name: string;
  sourceContents?: string;
  serviceAccount?: string;
  userEnvVars?: Record<string, string>;
  labels?: Labels;
}

/** Deploys each gcp.yml workflow that is missing or differs. */
export async function convergeWorkflows(c: Converge): Promise<void> {
  const { o, config, project: P, region, email, readOrNull, exec, mut } = c;
  if (config.workflows.length === 0) return;
  const cmds: string[][] = [];
  for (const w of config.workflows) {
    const file = resolve(config.root, w.source);
    const source = readFileSync(file, 'utf8');
    const labels = managedLabels(w.labels);
    const env = w.env ?? {};
    const j = await readOrNull<WorkflowJson>(['workflows', 'describe', w.name, `--location=${region}`]);
    const account = `projects/${P}/serviceAccounts/${email(w.serviceAccount)}`;
    if (
      j &&
      j.sourceContents === source &&
      j.serviceAccount === account &&
      same(j.userEnvVars ?? {}, env) &&
      same(without(j.labels, PLATFORM_LABELS), labels)
    )
      continue;
    const envFlags =
      Object.keys(env).length > 0
        ? [`--set-env-vars=${keyValues(env)}`]
        : Object.keys(j?.userEnvVars ?? {}).length > 0
          ? ['--clear-env-vars']
          : [];
    cmds.push(
      mut(
        'workflows',
        'deploy',
        w.name,
        `--location=${region}`,
        `--source=${relative(o.cwd, file)}`,
        `--service-account=${email(w.serviceAccount)}`,
        `--labels=${keyValues(labels)}`,
        ...envFlags,
      ),
    );
  }
  await exec(cmds);
}

/** Creates, updates or replaces each gcp.yml scheduler job. */
export async function convergeSchedulerJobs(c: Converge): Promise<void> {
  const { config, project: P, region, note, readJson, exec, mut } = c;
  if (config.schedulerJobs.length === 0) return;
  const jobs = await readJson<JobJson[]>(['scheduler', 'jobs', 'list', `--location=${region}`]);
  const have = new Map(listed(jobs).map((j) => [last(j.name), j]));
  const cmds: string[][] = [];
  for (const s of config.schedulerJobs) {
    const w = wantJob(s, P, region, (name) => functionUrl(c, name));
    const j = have.get(s.name);
    const kind = j?.pubsubTarget ? 'pubsub' : 'http';
    const common = [
      `--location=${region}`,
      `--schedule=${s.schedule}`,
      `--time-zone=${w.timeZone}`,
      `--description=${marked(s.description)}`,
    ];
    if (j && kind !== w.kind) {
      note(`scheduler job ${s.name}: its target type cannot change in place; deleting and recreating it`);
      cmds.push(mut('scheduler', 'jobs', 'delete', s.name, `--location=${region}`));
    }
    if (!j || kind !== w.kind) {
      cmds.push(mut('scheduler', 'jobs', 'create', w.kind, s.name, ...common, ...targetFlags(w, 'create')));
      continue;
    }
    const h = actualJob(j);
    if (
      j.schedule === s.schedule &&
      (j.timeZone ?? 'Etc/UTC') === w.timeZone &&
      j.description === marked(s.description) &&
      same(h, w.target)
    )
      continue;
    cmds.push(mut('scheduler', 'jobs', 'update', w.kind, s.name, ...common, ...targetFlags(w, 'update', h)));
  }
  await exec(cmds);
}

interface JobJson {
  name: string;
  description?: string;
  schedule?: string;
  timeZone?: string;
  httpTarget?: {
    uri?: string;
    httpMethod?: string;
    headers?: Record<string, string>;
    body?: string;
    oidcToken?: { serviceAccountEmail?: string; audience?: string };
    oauthToken?: { serviceAccountEmail?: string; scope?: string };
  };
  pubsubTarget?: { topicName?: string; data?: string; attributes?: Record<string, string> };
}

interface HttpTarget {
  kind: 'http';
  uri: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
  auth: { oidc: string; audience: string } | { oauth: string; scope: string };
}
interface PubsubTarget {
  kind: 'pubsub';
  topic: string;
  data: string;
  attributes: Record<string, string>;
}

/** What a scheduler job's target should be, in the API's terms (body and data base64). */
function wantJob(
  s: SchedulerJobSpec,
  project: string,
  region: string,
  functionUrl: (name: string) => string,
): { kind: 'http' | 'pubsub'; timeZone: string; target: HttpTarget | PubsubTarget } {
  const timeZone = s.timeZone ?? 'Etc/UTC';
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  if (s.pubsub) {
    const data = typeof s.pubsub.data === 'string' ? s.pubsub.data : JSON.stringify(s.pubsub.data ?? null);
    return {
      kind: 'pubsub',
      timeZone,
      target: {
        kind: 'pubsub',
        topic: `projects/${project}/topics/${s.pubsub.topic}`,
        data: b64(data),
        attributes: s.pubsub.attributes ?? {},
      },
    };
  }
  if (s.workflow) {
    const uri = `https://workflowexecutions.googleapis.com/v1/projects/${project}/locations/${region}/workflows/${s.workflow.name}/executions`;
    return {
      kind: 'http',
      timeZone,
      target: {
        kind: 'http',
        uri,
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: b64(JSON.stringify({ argument: JSON.stringify(s.workflow.argument ?? null) })),
        auth: { oauth: serviceAccountEmail(s.workflow.serviceAccount, project), scope: CLOUD_PLATFORM },
      },
    };
  }
  const h = s.http as NonNullable<SchedulerJobSpec['http']>;
  const uri = h.uri ?? functionUrl(h.function as string);
  const method = h.method ?? 'POST';
  const body = h.body === undefined || method === 'GET' ? null : h.body;
  const contentType: Record<string, string> =
    body === null
      ? {}
      : { 'Content-Type': typeof body === 'string' ? 'application/octet-stream' : 'application/json' };
  return {
    kind: 'http',
    timeZone,
    target: {
      kind: 'http',
      uri,
      method,
      headers: { ...contentType, ...h.headers },
      body: body === null ? null : b64(typeof body === 'string' ? body : JSON.stringify(body)),
      auth: { oidc: serviceAccountEmail(h.serviceAccount, project), audience: uri },
    },
  };
}

function actualJob(j: JobJson): HttpTarget | PubsubTarget {
  if (j.pubsubTarget)
    return {
      kind: 'pubsub',
      topic: j.pubsubTarget.topicName ?? '',
      data: j.pubsubTarget.data ?? '',
      attributes: j.pubsubTarget.attributes ?? {},
    };
  const t = j.httpTarget ?? {};
  // The platform adds its own User-Agent header to every job.
  const headers = Object.fromEntries(Object.entries(t.headers ?? {}).filter(([k]) => k !== 'User-Agent'));
  return {
    kind: 'http',
    uri: t.uri ?? '',
    method: t.httpMethod ?? 'POST',
    headers,
    body: t.body ?? null,
    auth: t.oauthToken
      ? { oauth: t.oauthToken.serviceAccountEmail ?? '', scope: t.oauthToken.scope ?? CLOUD_PLATFORM }
      : { oidc: t.oidcToken?.serviceAccountEmail ?? '', audience: t.oidcToken?.audience ?? t.uri ?? '' },
  };
}

function targetFlags(
  w: { target: HttpTarget | PubsubTarget },
  op: 'create' | 'update',
  have?: HttpTarget | PubsubTarget,
): string[] {
  const t = w.target;
  if (t.kind === 'pubsub') {
    const data = Buffer.from(t.data, 'base64').toString('utf8');
    const old = have?.kind === 'pubsub' ? have.attributes : {};
    const attrs =
      op === 'create'
        ? Object.keys(t.attributes).length > 0
          ? [`--attributes=${keyValues(t.attributes)}`]
          : []
        : Object.keys(t.attributes).length > 0
          ? labelFlags(t.attributes, old, 'attributes')
          : Object.keys(old).length > 0
            ? ['--clear-attributes']
            : [];
    return [`--topic=${last(t.topic)}`, `--message-body=${data}`, ...attrs];
  }
  const old = have?.kind === 'http' ? have : undefined;
  const headers =
    op === 'create'
      ? Object.keys(t.headers).length > 0
        ? [`--headers=${keyValues(t.headers)}`]
        : []
      : Object.keys(t.headers).length > 0
        ? labelFlags(t.headers, old?.headers ?? {}, 'headers')
        : Object.keys(old?.headers ?? {}).length > 0
          ? ['--clear-headers']
          : [];
  const body =
    t.body !== null
      ? [`--message-body=${Buffer.from(t.body, 'base64').toString('utf8')}`]
      : op === 'update' && old?.body
        ? ['--clear-message-body']
        : [];
  const auth =
    'oidc' in t.auth
      ? [`--oidc-service-account-email=${t.auth.oidc}`, `--oidc-token-audience=${t.auth.audience}`]
      : [`--oauth-service-account-email=${t.auth.oauth}`, `--oauth-token-scope=${t.auth.scope}`];
  return [`--uri=${t.uri}`, `--http-method=${t.method.toLowerCase()}`, ...headers, ...body, ...auth];
}
