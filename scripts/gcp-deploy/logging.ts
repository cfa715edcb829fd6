/**
 * The Cloud Logging phases of a converge: log sinks (this project's, then each network project's
 * copy of its sink) with their writers' publisher grants and the impersonators' token-creator
 * grants on each network project's account, and log-based metrics.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import type { LogMetricSpec, LogSinkSpec } from '#deployment/gcp-config.ts';
import type { Policy } from '#deployment/gcp-grants.ts';
import { type Converge, last, listed, marked, members, resourceBinding, same } from './converge-context.ts';

const TOKEN_CREATOR = 'roles/iam.serviceAccountTokenCreator';

interface SinkJson {
  name: string;
  destination: string;
  filter?: string;
  description?: string;
  writerIdentity?: string;
}
/**
 * One project's log sinks, each sending to this project's topic (a network project's sink feeds
 * the hub), then each sink's writer identity's publisher grant on that topic.
 */
async function convergeSinks(
  c: Converge,
  project: string,
  projectNumber: string,
  specs: LogSinkSpec[],
): Promise<void> {
  const { o, project: P, readJson, readOrNull, exec, mut } = c;
  if (specs.length === 0) return;
  const list = async () =>
    new Map(
      listed(await readJson<SinkJson[]>(['logging', 'sinks', 'list'], project)).map((s) => [s.name, s]),
    );
  const have = await list();
  const cmds: string[][] = [];
  for (const s of specs) {
    const h = have.get(s.name);
    // Always this project's topic: a network project's sink feeds the hub.
    const destination = `pubsub.googleapis.com/projects/${P}/topics/${s.topic}`;
    const description = marked(s.description);
    const flags = [
      `--log-filter=${s.filter}`,
      `--description=${description}`,
      `--project=${project}`,
      '--quiet',
    ];
    if (!h) cmds.push(['logging', 'sinks', 'create', s.name, destination, ...flags]);
    else if (h.destination !== destination || (h.filter ?? '') !== s.filter || h.description !== description)
      cmds.push(['logging', 'sinks', 'update', s.name, destination, ...flags]);
  }
  await exec(cmds);
  const after = o.dryRun ? have : await list();
  const grants: string[][] = [];
  for (const s of specs) {
    // A new sink's writer identity is its project's Logging service agent (known after create).
    const writer =
      after.get(s.name)?.writerIdentity ??
      `serviceAccount:service-${projectNumber}@gcp-sa-logging.iam.gserviceaccount.com`;
    const p = await readOrNull<Policy>(['pubsub', 'topics', 'get-iam-policy', s.topic]);
    if (!members(p, 'roles/pubsub.publisher').has(writer))
      grants.push(
        mut(...resourceBinding('add', ['pubsub', 'topics'], s.topic, writer, 'roles/pubsub.publisher')),
      );
  }
  await exec(grants);
}

/**
 * Log sinks and their writers' grants: this project's, then each network project's copy of its
 * sink, and the impersonators' token-creator grants on the network project's service account.
 */
export async function convergeLogSinks(c: Converge): Promise<void> {
  const { config, email, readJson, exec } = c;
  await convergeSinks(c, c.project, c.projectNumber, config.logSinks);
  for (const n of config.networkProjects) {
    const N = n.project;
    await convergeSinks(
      c,
      N,
      c.networkNumbers.get(N) as string,
      config.logSinks.filter((s) => s.name === n.logSink),
    );
    // The file's accounts are authoritative on the network account's token-creator role: the
    // listed impersonators hold it, the file's other accounts do not (nobody else's is touched).
    const policy = await readJson<Policy>(['iam', 'service-accounts', 'get-iam-policy', n.serviceAccount], N);
    const held = members(policy, TOKEN_CREATOR);
    const wanted = new Set(n.impersonators.map((a) => `serviceAccount:${email(a)}`));
    const cmds: string[][] = [];
    const binding = (op: 'add' | 'remove', member: string) => [
      ...resourceBinding(op, ['iam', 'service-accounts'], n.serviceAccount, member, TOKEN_CREATOR),
      `--project=${N}`,
      '--quiet',
    ];
    for (const m of wanted) if (!held.has(m)) cmds.push(binding('add', m));
    for (const sa of config.serviceAccounts) {
      const m = `serviceAccount:${email(sa.id)}`;
      if (held.has(m) && !wanted.has(m)) cmds.push(binding('remove', m));
    }
    await exec(cmds);
  }
}

// 9. Log-based metrics (before the alert policies that read them). gcloud takes a distribution
//    metric, labels and bucket options only as a LogMetric file (`--config-from-file`), so every
//    metric is written to <build-dir>/log-metrics/<name>.json (in a dry run too: the printed
//    commands then run as printed). No labels: managed = the description's mark.
export async function convergeLogMetrics(c: Converge): Promise<void> {
  const { o, config, note, readJson, exec, mut } = c;
  if (config.logMetrics.length === 0) return;
  const metrics = await readJson<LogMetricJson[]>(['logging', 'metrics', 'list']);
  const have = new Map(listed(metrics).map((m) => [last(m.name), m]));
  const cmds: string[][] = [];
  for (const m of config.logMetrics) {
    const w = logMetric(m, marked(m.description));
    const j = have.get(m.name);
    const named = m.metricDescriptor?.displayName !== undefined;
    if (j && same(comparableMetric(j, named), comparableMetric(w, named))) continue;
    const file = resolve(o.buildDir, 'log-metrics', `${m.name}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(w, null, 2)}\n`);
    const from = `--config-from-file=${relative(o.cwd, file)}`;
    const kind = (x: LogMetricJson) =>
      `${x.metricDescriptor?.metricKind ?? 'DELTA'} ${x.metricDescriptor?.valueType ?? 'INT64'}`;
    if (j && kind(j) !== kind(w)) {
      note(`log metric ${m.name}: its kind or value type cannot change in place; deleting and recreating it`);
      cmds.push(mut('logging', 'metrics', 'delete', m.name));
    }
    cmds.push(mut('logging', 'metrics', j && kind(j) === kind(w) ? 'update' : 'create', m.name, from));
  }
  await exec(cmds);
}

interface LogMetricJson {
  name: string;
  description?: string;
  filter?: string;
  metricDescriptor?: {
    metricKind?: string;
    valueType?: string;
    unit?: string;
    displayName?: string;
    labels?: { key: string; valueType?: string; description?: string }[];
  };
  valueExtractor?: string;
  labelExtractors?: Record<string, string>;
  bucketOptions?: unknown;
}

/** The LogMetric a gcp.yml metric is (the file `--config-from-file` reads); defaults written out. */
export function logMetric(m: LogMetricSpec, description: string): LogMetricJson {
  const d = m.metricDescriptor ?? {};
  const valueType = d.valueType ?? 'INT64';
  return {
    name: m.name,
    description,
    filter: m.filter,
    metricDescriptor: {
      metricKind: d.metricKind ?? 'DELTA',
      valueType,
      unit: d.unit ?? '1',
      ...(d.displayName ? { displayName: d.displayName } : {}),
      labels: (d.labels ?? []).map((l) => ({
        key: l.key,
        valueType: l.valueType ?? 'STRING',
        ...(l.description ? { description: l.description } : {}),
      })),
    },
    ...(m.valueExtractor ? { valueExtractor: m.valueExtractor } : {}),
    ...(m.labelExtractors ? { labelExtractors: m.labelExtractors } : {}),
    ...(m.bucketOptions ? { bucketOptions: m.bucketOptions } : {}),
  };
}

/**
 * The fields this script sets, with the API's defaults filled in: the service adds the descriptor's
 * name, type and timestamps, and proto3 JSON drops a label's default value type (STRING).
 */
function comparableMetric(j: LogMetricJson, displayName: boolean) {
  const d = j.metricDescriptor ?? {};
  return {
    description: j.description ?? '',
    filter: j.filter ?? '',
    metricKind: d.metricKind ?? 'DELTA',
    valueType: d.valueType ?? 'INT64',
    unit: d.unit ?? '1',
    // Compared only when gcp.yml names one (the service may fill in its own).
    displayName: displayName ? (d.displayName ?? '') : '',
    labels: (d.labels ?? [])
      .map((l) => ({ key: l.key, valueType: l.valueType ?? 'STRING', description: l.description ?? '' }))
      .sort((a, b) => a.key.localeCompare(b.key)),
    valueExtractor: j.valueExtractor ?? '',
    labelExtractors: j.labelExtractors ?? {},
    bucketOptions: j.bucketOptions ?? null,
  };
}
