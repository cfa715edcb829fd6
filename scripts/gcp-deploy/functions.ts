/**
 * The functions phase of a converge: each gcp.yml function packaged (the package hash is its
 * `crosslink-source` label), deployed when anything about it differs (replaced when its trigger
 * changes, which cannot change in place), then the invoker grants on the Cloud Run service behind
 * it. The URLs read here are what push subscriptions and scheduler jobs target.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { keyValues } from '#deployment/gcloud-flags.ts';
import { type FunctionSpec, functionRegion, memberOf } from '#deployment/gcp-config.ts';
import { type FunctionPackage, packageFunction, writePackage } from '#deployment/gcp-function-build.ts';
import type { Policy } from '#deployment/gcp-grants.ts';
import {
  type Converge,
  type Labels,
  labelFlags,
  last,
  listed,
  managedLabels,
  members,
  PLATFORM_LABELS,
  same,
  without,
} from './converge-context.ts';

const PUBSUB_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';
/** Environment variables Cloud Functions (2nd gen) sets by itself. */
const PLATFORM_ENV = new Set(['LOG_EXECUTION_ID']);

/** Memory as MiB: 256M, 256Mi -> 256; 1G, 1Gi -> 1024 (the platform reports either form). */
function mebibytes(m: string): number {
  const x = /^(\d+)(M|Mi|G|Gi)$/.exec(m);
  if (!x) return Number.NaN;
  return Number(x[1]) * (x[2]?.startsWith('G') ? 1024 : 1);
}

interface FnJson {
  name: string;
  url?: string;
  labels?: Labels;
  buildConfig?: { runtime?: string; entryPoint?: string };
  serviceConfig?: {
    serviceAccountEmail?: string;
    environmentVariables?: Record<string, string>;
    availableMemory?: string;
    timeoutSeconds?: number;
    ingressSettings?: string;
    maxInstanceCount?: number;
    maxInstanceRequestConcurrency?: number;
  };
  eventTrigger?: {
    eventType?: string;
    pubsubTopic?: string;
    serviceAccountEmail?: string;
    retryPolicy?: string;
    eventFilters?: { attribute: string; value: string }[];
  };
}

/** `projects/<p>/locations/<region>/functions/<name>` -> region. */
const locationOf = (name: string) => /\/locations\/([^/]+)\//.exec(name)?.[1];

/**
 * Packages, deploys and grants invokers on gcp.yml's functions, each in its region (its own, else
 * the file's); records their URLs in `c`. A function found in another region than its spec's is
 * deleted there and deployed anew (a function's region cannot change).
 */
export async function convergeFunctions(c: Converge): Promise<void> {
  const { o, config, project: P, region, note, email, functionUrls, readJson, readOrNull, exec, mut } = c;
  if (config.functions.length === 0) return;
  const regionOf = (f: FunctionSpec) => functionRegion(f, { region }) as string;
  // Every region (gcloud's default without --regions): a function moved out of a region is found there.
  const fns = await readJson<FnJson[]>(['functions', 'list', '--v2']);
  const have = new Map(listed(fns).map((f) => [last(f.name), f]));
  const packages = new Map<string, FunctionPackage>();
  const bundles: Parameters<typeof packageFunction>[2] = new Map();
  for (const f of config.functions) packages.set(f.name, await packageFunction(config.root, f, bundles));
  const sourceDir = (name: string) => `${o.buildDir}/${name}`;
  /**
   * An environment with a multi-line value (a PEM key) goes to gcloud as the YAML file of
   * `--env-vars-file`, written now (a dry run's printed command then runs as printed):
   * `--set-env-vars` is a one-line KEY=VALUE list.
   */
  const envFile = (name: string, env: Record<string, string>) => {
    const file = resolve(o.buildDir, 'env', `${name}.yaml`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, stringifyYaml(env));
    return file;
  };
  const shown = (path: string) => relative(o.cwd, path) || '.';

  const triggerOf = (f: FunctionSpec) =>
    f.trigger.http
      ? 'http'
      : f.trigger.topic
        ? `topic projects/${P}/topics/${f.trigger.topic.name}`
        : `event ${f.trigger.eventarc?.eventType} ${keyValues(f.trigger.eventarc?.filters ?? {})}`;
  const actualTrigger = (j: FnJson) => {
    const e = j.eventTrigger;
    if (!e) return 'http';
    if (e.eventType === PUBSUB_PUBLISHED && e.pubsubTopic) return `topic ${e.pubsubTopic}`;
    const filters = Object.fromEntries(
      (e.eventFilters ?? []).filter((x) => x.attribute !== 'type').map((x) => [x.attribute, x.value]),
    );
    return `event ${e.eventType} ${keyValues(filters)}`;
  };
  const eventSpec = (f: FunctionSpec) => f.trigger.topic ?? f.trigger.eventarc;
  const invokersOf = (f: FunctionSpec) => {
    const ev = eventSpec(f);
    // The trigger's identity needs run.invoker on the function (Eventarc delivers with it).
    const list = ev ? [`serviceAccount:${ev.serviceAccount}`] : (f.trigger.http?.invokers ?? []);
    return new Set(list.map((m) => memberOf(m, P)));
  };
  const cmds: string[][] = [];
  const fresh = new Set<string>();
  for (const f of config.functions) {
    const pkg = packages.get(f.name) as FunctionPackage;
    const j = have.get(f.name);
    const labels = { ...managedLabels(f.labels), 'crosslink-source': pkg.hash };
    const env = f.environment ?? {};
    const memory = f.memory ?? '256Mi';
    const timeout = f.timeoutSeconds ?? 60;
    // The platform's defaults: 100 instances, one request each.
    const maxInstances = f.maxInstances ?? 100;
    const concurrency = f.concurrency ?? 1;
    const ev = eventSpec(f);
    const at = regionOf(f);
    let replace = false;
    const was = j ? (locationOf(j.name) ?? at) : at;
    if (j && was !== at) {
      note(
        `function ${f.name}: it runs in ${was}, gcp.yml places it in ${at}; deleting it there and deploying it anew`,
      );
      cmds.push(mut('functions', 'delete', f.name, `--region=${was}`));
      replace = true;
    } else if (j && actualTrigger(j) !== triggerOf(f)) {
      note(`function ${f.name}: its trigger cannot change in place; deleting and redeploying it`);
      cmds.push(mut('functions', 'delete', f.name, `--region=${at}`));
      replace = true;
    }
    const haveEnv = without(j?.serviceConfig?.environmentVariables, PLATFORM_ENV);
    if (j && !replace) {
      const s = j.serviceConfig ?? {};
      const unchanged =
        j.buildConfig?.runtime === 'nodejs24' &&
        j.buildConfig?.entryPoint === f.entryPoint &&
        (f.serviceAccount === undefined || s.serviceAccountEmail === email(f.serviceAccount)) &&
        same(haveEnv, env) &&
        mebibytes(s.availableMemory ?? '256M') === mebibytes(memory) &&
        (s.timeoutSeconds ?? 60) === timeout &&
        (s.maxInstanceCount ?? 100) === maxInstances &&
        (s.maxInstanceRequestConcurrency ?? 1) === concurrency &&
        (s.ingressSettings ?? 'ALLOW_ALL') === 'ALLOW_ALL' &&
        same(without(j.labels, PLATFORM_LABELS), labels) &&
        (!ev ||
          (j.eventTrigger?.serviceAccountEmail === email(ev.serviceAccount) &&
            (j.eventTrigger?.retryPolicy === 'RETRY_POLICY_RETRY') === (ev.retry ?? false)));
      if (unchanged) continue;
    }
    if (!j || replace) fresh.add(f.name);
    const trigger = f.trigger.http
      ? ['--trigger-http', '--no-allow-unauthenticated']
      : [
          f.trigger.topic
            ? `--trigger-topic=${f.trigger.topic.name}`
            : `--trigger-event-filters=${keyValues({ type: f.trigger.eventarc?.eventType as string, ...f.trigger.eventarc?.filters })}`,
          `--trigger-service-account=${email((ev as { serviceAccount: string }).serviceAccount)}`,
          ev?.retry ? '--retry' : '--no-retry',
        ];
    const envFlags =
      Object.keys(env).length > 0
        ? Object.values(env).some((v) => v.includes('\n'))
          ? [`--env-vars-file=${shown(envFile(f.name, env))}`]
          : [`--set-env-vars=${keyValues(env)}`]
        : Object.keys(haveEnv).length > 0
          ? ['--clear-env-vars']
          : [];
    cmds.push(
      mut(
        'functions',
        'deploy',
        f.name,
        '--gen2',
        `--region=${at}`,
        '--runtime=nodejs24',
        `--source=${shown(sourceDir(f.name))}`,
        `--entry-point=${f.entryPoint}`,
        ...trigger,
        ...(f.serviceAccount ? [`--service-account=${email(f.serviceAccount)}`] : []),
        '--ingress-settings=all',
        `--memory=${memory}`,
        `--timeout=${timeout}s`,
        `--max-instances=${maxInstances}`,
        `--concurrency=${concurrency}`,
        ...envFlags,
        ...labelFlags(labels, replace ? undefined : j?.labels),
      ),
    );
  }
  await exec(cmds, (cmd) => {
    if (cmd[1] === 'deploy') {
      const name = cmd[2] as string;
      writePackage(sourceDir(name), packages.get(name) as FunctionPackage);
    }
  });
  for (const f of config.functions) {
    const j = fresh.has(f.name) ? undefined : have.get(f.name);
    if (j?.url) functionUrls.set(f.name, j.url);
  }
  const invokerCmds: string[][] = [];
  for (const f of config.functions) {
    const p = fresh.has(f.name)
      ? null
      : await readOrNull<Policy>(['run', 'services', 'get-iam-policy', f.name, `--region=${regionOf(f)}`]);
    const held = members(p, 'roles/run.invoker');
    const wanted = invokersOf(f);
    for (const m of [...wanted].sort())
      if (!held.has(m))
        invokerCmds.push(
          mut('functions', 'add-invoker-policy-binding', f.name, `--region=${regionOf(f)}`, `--member=${m}`),
        );
    for (const m of [...held].sort())
      if (!wanted.has(m))
        invokerCmds.push(
          mut(
            'functions',
            'remove-invoker-policy-binding',
            f.name,
            `--region=${regionOf(f)}`,
            `--member=${m}`,
          ),
        );
  }
  await exec(invokerCmds);
  if (!o.dryRun) {
    // A function deployed just now has its URL only now.
    const after = await readJson<FnJson[]>(['functions', 'list', '--v2']);
    for (const j of listed(after)) if (j.url) functionUrls.set(last(j.name), j.url);
  }
}
