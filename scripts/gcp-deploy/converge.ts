/**
 * Converges a Google project to a gcp.yml through gcloud (docs/deploy-gcp.md). Each phase reads
 * what exists (`list` / `describe` / `get-iam-policy --format=json`), then issues the commands that
 * create what is missing and update what changed; `prune` ends with deleting what this script
 * manages and the file no longer lists. Phases run in dependency order, and each reads the project
 * after the previous one ran, so a second run finds nothing to do. A dry run prints the same
 * commands without running them (later phases then see the project as it is: a resource a dry run
 * would create reads as absent, which is what the real run will find before creating it).
 *
 * What "managed" means (only managed resources are ever pruned): the label `crosslink-managed=true`
 * on topics, subscriptions, functions, workflows and alert policies (`userLabels`); a description
 * ending in `(managed by crosslink)` on service accounts, custom roles, log sinks and scheduler
 * jobs, which have no labels. KMS key rings and keys and workload identity pools are never pruned:
 * grants name them, and they must exist first (made by bootstrap.ts when gcp.yml has a `bootstrap`
 * section, by their owners otherwise). The IAM phases are in iam.ts.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import canonicalizeModule from 'canonicalize';
import { stringify as stringifyYaml } from 'yaml';
import { ValidationError } from '#core/errors.ts';
import { keyValues } from '#deployment/gcloud-flags.ts';
import {
  type AlertPolicySpec,
  type FunctionSpec,
  type GcpConfig,
  type LogMetricSpec,
  type LogSinkSpec,
  memberOf,
  type SchedulerJobSpec,
  type SubscriptionSpec,
  serviceAccountEmail,
} from '#deployment/gcp-config.ts';
import { type FunctionPackage, packageFunction, writePackage } from '#deployment/gcp-function-build.ts';
import {
  checkIamPrerequisites,
  convergeAccountGrants,
  convergeCustomRoles,
  convergeTopicPublishers,
  type IamContext,
  type Policy,
  projectBinding,
  pruneCustomRoles,
} from '#deployment/gcp-grants.ts';
import { bootstrapProject } from './bootstrap.ts';
import { type Gcloud, gcloudSession } from './gcloud.ts';

const canonicalize = canonicalizeModule as unknown as (v: unknown) => string | undefined;

export const MANAGED_LABEL = 'crosslink-managed';
export const MANAGED_MARK = '(managed by crosslink)';
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const PUBSUB_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';
/** Labels gcloud or the platform adds by itself: never a difference, never removed. */
const PLATFORM_LABELS = new Set(['deployment-tool', 'goog-managed-by']);
/** Environment variables Cloud Functions (2nd gen) sets by itself. */
const PLATFORM_ENV = new Set(['LOG_EXECUTION_ID']);

export interface DeployOptions {
  config: GcpConfig;
  project: string;
  /** The config's region unless overridden. */
  region?: string;
  gcloud: Gcloud;
  dryRun: boolean;
  prune: boolean;
  /** Where function packages are written (`--source` of the deploys). */
  buildDir: string;
  /** Paths in printed commands are relative to this directory. */
  cwd: string;
  /** Receives every command line, run or (dry run) not. */
  out: (line: string) => void;
  /** Receives notes (skipped kinds, why a resource is replaced). */
  note?: (line: string) => void;
}

export interface DeployResult {
  /** The commands run (or, dry run, that would run), in order. */
  commands: string[][];
}

type Labels = Record<string, string>;

const same = (a: unknown, b: unknown) => canonicalize(a) === canonicalize(b);
const last = (name: string) => name.slice(name.lastIndexOf('/') + 1);
const managedLabels = (labels: Labels | undefined): Labels => ({ ...labels, [MANAGED_LABEL]: 'true' });
const isManaged = (labels: Labels | undefined) => labels?.[MANAGED_LABEL] === 'true';
const marked = (description: string | undefined) =>
  description ? `${description} ${MANAGED_MARK}` : MANAGED_MARK;
const isMarked = (description: string | undefined) => description?.endsWith(MANAGED_MARK) ?? false;
const seconds = (d: string) => `${Number.parseFloat(d)}s`;
const without = (map: Labels | undefined, drop: Set<string>): Labels =>
  Object.fromEntries(Object.entries(map ?? {}).filter(([k]) => !drop.has(k)));

/** A retry policy with the API's defaults for an unset bound (10s and 600s). */
function retryOf(p: { minimumBackoff?: string; maximumBackoff?: string } | undefined) {
  return p ? { min: seconds(p.minimumBackoff ?? '10s'), max: seconds(p.maximumBackoff ?? '600s') } : null;
}

/** Memory as MiB: 256M, 256Mi -> 256; 1G, 1Gi -> 1024 (the platform reports either form). */
function mebibytes(m: string): number {
  const x = /^(\d+)(M|Mi|G|Gi)$/.exec(m);
  if (!x) return Number.NaN;
  return Number(x[1]) * (x[2]?.startsWith('G') ? 1024 : 1);
}

/** `--update-labels` for what differs and `--remove-labels` for what is not wanted. */
function labelFlags(want: Labels, have: Labels | undefined, prefix = 'labels'): string[] {
  const h = without(have, PLATFORM_LABELS);
  const flags: string[] = [];
  if (Object.keys(want).some((k) => h[k] !== want[k])) flags.push(`--update-${prefix}=${keyValues(want)}`);
  const extra = Object.keys(h).filter((k) => !(k in want));
  if (extra.length > 0) flags.push(`--remove-${prefix}=${extra.sort().join(',')}`);
  return flags;
}

function members(policy: Policy | null, role: string): Set<string> {
  return new Set(
    (policy?.bindings ?? []).filter((b) => b.role === role && !b.condition).flatMap((b) => b.members),
  );
}

/** Runs (or prints) converge phases for one project; see the module comment. */
export async function deployGcp(o: DeployOptions): Promise<DeployResult> {
  const { config, project: P, gcloud } = o;
  const region = o.region ?? config.region;
  if (region === undefined)
    throw new ValidationError(
      [
        {
          path: 'region',
          reason:
            'is required to deploy (or pass --region): functions, workflows and scheduler jobs live in one',
        },
      ],
      config.file ?? 'gcp.yml',
    );
  const note = o.note ?? (() => {});
  const email = (ref: string) => serviceAccountEmail(ref, P);
  const session = gcloudSession({ gcloud, project: P, dryRun: o.dryRun, out: o.out });
  const { commands, enabling, readJson, readOrNull, exec, mut } = session;

  const projectInfo = await readJson<{ projectNumber: string }>(['projects', 'describe', P], false);
  const PN = projectInfo.projectNumber;
  // Each network project is described first: one the caller cannot reach stops the run before
  // anything changed.
  const networkNumbers = new Map<string, string>();
  for (const n of config.networkProjects)
    networkNumbers.set(
      n.project,
      (await readJson<{ projectNumber: string }>(['projects', 'describe', n.project], false)).projectNumber,
    );
  const iam: IamContext = {
    config,
    project: P,
    projectNumber: PN,
    region,
    prune: o.prune,
    readJson: (args) => readJson(args),
    readOrNull: (args) => readOrNull(args),
    exec: (cmds) => exec(cmds),
    mut,
    marked,
    isMarked,
  };
  // 0. What the project needs first (gcp.yml `bootstrap`): APIs, Firestore, KMS keys, pools.
  const planned = await bootstrapProject({
    config,
    project: P,
    region,
    dryRun: o.dryRun,
    enabling,
    readJson: (args) => readJson(args),
    readOrNull: (args) => readOrNull(args),
    exec: (cmds) => exec(cmds),
    mut,
  });
  // The KMS keys and workload identity pools the grants name must exist (or, in a dry run, be
  // planned by the bootstrap).
  await checkIamPrerequisites(iam, planned);
  const pubsubAgent = `serviceAccount:service-${PN}@gcp-sa-pubsub.iam.gserviceaccount.com`;
  const functionUrls = new Map<string, string>();
  const functionUrl = (name: string) =>
    functionUrls.get(name) ?? `https://${region}-${P}.cloudfunctions.net/${name}`;
  const listed = <T>(list: T[] | null | undefined): T[] => list ?? [];

  // 1. Service accounts, custom roles, then the accounts' project roles and narrowed grants (iam.ts).
  {
    const accounts = await readJson<{ email: string; displayName?: string; description?: string }[]>([
      'iam',
      'service-accounts',
      'list',
    ]);
    const have = new Map(accounts.map((a) => [a.email, a]));
    const cmds: string[][] = [];
    for (const sa of config.serviceAccounts) {
      const a = have.get(email(sa.id));
      const display = sa.displayName ? [`--display-name=${sa.displayName}`] : [];
      if (!a)
        cmds.push(
          mut('iam', 'service-accounts', 'create', sa.id, ...display, `--description=${MANAGED_MARK}`),
        );
      else if ((a.displayName ?? '') !== (sa.displayName ?? '') || a.description !== MANAGED_MARK)
        cmds.push(
          mut(
            'iam',
            'service-accounts',
            'update',
            email(sa.id),
            `--display-name=${sa.displayName ?? ''}`,
            `--description=${MANAGED_MARK}`,
          ),
        );
    }
    await exec(cmds);
    await convergeCustomRoles(iam);
    await convergeAccountGrants(iam);
  }

  // 2. Topics.
  {
    const topics = await readJson<{ name: string; labels?: Labels; messageRetentionDuration?: string }[]>([
      'pubsub',
      'topics',
      'list',
    ]);
    const have = new Map(listed(topics).map((t) => [last(t.name), t]));
    const cmds: string[][] = [];
    for (const t of config.topics) {
      const h = have.get(t.name);
      const labels = managedLabels(t.labels);
      const retention = t.messageRetentionDuration && seconds(t.messageRetentionDuration);
      if (!h) {
        cmds.push(
          mut(
            'pubsub',
            'topics',
            'create',
            t.name,
            `--labels=${keyValues(labels)}`,
            ...(retention ? [`--message-retention-duration=${retention}`] : []),
          ),
        );
        continue;
      }
      const flags = labelFlags(labels, h.labels);
      const hadRetention = h.messageRetentionDuration && seconds(h.messageRetentionDuration);
      if (retention && retention !== hadRetention) flags.push(`--message-retention-duration=${retention}`);
      if (!retention && hadRetention) flags.push('--clear-message-retention-duration');
      if (flags.length > 0) cmds.push(mut('pubsub', 'topics', 'update', t.name, ...flags));
    }
    await exec(cmds);
    await convergeTopicPublishers(iam);
  }

  // 3. Subscriptions that do not push to a function (dead-letter topics and their subscriptions
  //    included) with the Pub/Sub service agent's dead-letter grants; 5 repeats this after functions.
  interface SubJson {
    name: string;
    topic: string;
    ackDeadlineSeconds?: number;
    pushConfig?: { pushEndpoint?: string; oidcToken?: { serviceAccountEmail?: string; audience?: string } };
    deadLetterPolicy?: { deadLetterTopic?: string; maxDeliveryAttempts?: number };
    retryPolicy?: { minimumBackoff?: string; maximumBackoff?: string };
    labels?: Labels;
  }
  async function convergeSubscriptions(specs: SubscriptionSpec[]): Promise<void> {
    if (specs.length === 0) return;
    const subs = await readJson<SubJson[]>(['pubsub', 'subscriptions', 'list']);
    const have = new Map(listed(subs).map((s) => [last(s.name), s]));
    const want = (s: SubscriptionSpec) => {
      const endpoint = s.push ? (s.push.endpoint ?? functionUrl(s.push.function as string)) : undefined;
      return {
        topic: `projects/${P}/topics/${s.topic}`,
        ack: s.ackDeadlineSeconds ?? 10,
        push: s.push
          ? { endpoint, account: email(s.push.serviceAccount), audience: s.push.audience ?? endpoint }
          : null,
        deadLetter: s.deadLetter
          ? {
              topic: `projects/${P}/topics/${s.deadLetter.topic}`,
              max: s.deadLetter.maxDeliveryAttempts ?? 5,
            }
          : null,
        retry: retryOf(s.retryPolicy),
      };
    };
    const actual = (j: SubJson): ReturnType<typeof want> => ({
      topic: j.topic,
      ack: j.ackDeadlineSeconds ?? 10,
      push: j.pushConfig?.pushEndpoint
        ? {
            endpoint: j.pushConfig.pushEndpoint,
            account: j.pushConfig.oidcToken?.serviceAccountEmail ?? '',
            audience: j.pushConfig.oidcToken?.audience ?? j.pushConfig.pushEndpoint,
          }
        : null,
      deadLetter: j.deadLetterPolicy?.deadLetterTopic
        ? { topic: j.deadLetterPolicy.deadLetterTopic, max: j.deadLetterPolicy.maxDeliveryAttempts ?? 5 }
        : null,
      retry: retryOf(j.retryPolicy),
    });
    const pushFlags = (w: ReturnType<typeof want>) =>
      w.push
        ? [
            `--push-endpoint=${w.push.endpoint}`,
            `--push-auth-service-account=${w.push.account}`,
            `--push-auth-token-audience=${w.push.audience}`,
          ]
        : [];
    const deadLetterFlags = (s: SubscriptionSpec, w: ReturnType<typeof want>) =>
      s.deadLetter && w.deadLetter
        ? [`--dead-letter-topic=${s.deadLetter.topic}`, `--max-delivery-attempts=${w.deadLetter.max}`]
        : [];
    const retryFlags = (w: ReturnType<typeof want>) =>
      w.retry ? [`--min-retry-delay=${w.retry.min}`, `--max-retry-delay=${w.retry.max}`] : [];

    const cmds: string[][] = [];
    const fresh = new Set<string>();
    for (const s of specs) {
      const w = want(s);
      const j = have.get(s.name);
      const labels = managedLabels(s.labels);
      if (j && j.topic !== w.topic) {
        note(`subscription ${s.name}: its topic cannot change in place; deleting and recreating it`);
        cmds.push(mut('pubsub', 'subscriptions', 'delete', s.name));
      }
      if (!j || j.topic !== w.topic) {
        fresh.add(s.name);
        cmds.push(
          mut(
            'pubsub',
            'subscriptions',
            'create',
            s.name,
            `--topic=${s.topic}`,
            `--ack-deadline=${w.ack}`,
            ...pushFlags(w),
            ...deadLetterFlags(s, w),
            ...retryFlags(w),
            `--labels=${keyValues(labels)}`,
          ),
        );
        continue;
      }
      const h = actual(j);
      const flags: string[] = [];
      if (h.ack !== w.ack) flags.push(`--ack-deadline=${w.ack}`);
      if (!same(h.push, w.push) && w.push) flags.push(...pushFlags(w));
      if (!same(h.deadLetter, w.deadLetter))
        flags.push(...(w.deadLetter ? deadLetterFlags(s, w) : ['--clear-dead-letter-policy']));
      if (!same(h.retry, w.retry)) flags.push(...(w.retry ? retryFlags(w) : ['--clear-retry-policy']));
      flags.push(...labelFlags(labels, j.labels));
      if (flags.length > 0) cmds.push(mut('pubsub', 'subscriptions', 'update', s.name, ...flags));
      if (h.push && !w.push)
        cmds.push(mut('pubsub', 'subscriptions', 'modify-push-config', s.name, '--push-endpoint='));
    }
    // The Pub/Sub service agent publishes dead letters to the topic and acks them on the source.
    const topicPolicies = new Map<string, Set<string>>();
    for (const s of specs) {
      if (!s.deadLetter) continue;
      const t = s.deadLetter.topic;
      if (!topicPolicies.has(t)) {
        const p = await readOrNull<Policy>(['pubsub', 'topics', 'get-iam-policy', t]);
        topicPolicies.set(t, members(p, 'roles/pubsub.publisher'));
      }
      const publishers = topicPolicies.get(t) as Set<string>;
      if (!publishers.has(pubsubAgent)) {
        publishers.add(pubsubAgent);
        cmds.push(
          mut(...resourceBinding('add', ['pubsub', 'topics'], t, pubsubAgent, 'roles/pubsub.publisher')),
        );
      }
      const p = fresh.has(s.name)
        ? null
        : await readOrNull<Policy>(['pubsub', 'subscriptions', 'get-iam-policy', s.name]);
      if (!members(p, 'roles/pubsub.subscriber').has(pubsubAgent))
        cmds.push(
          mut(
            ...resourceBinding(
              'add',
              ['pubsub', 'subscriptions'],
              s.name,
              pubsubAgent,
              'roles/pubsub.subscriber',
            ),
          ),
        );
    }
    await exec(cmds);
  }
  const pushesToFunction = (s: SubscriptionSpec) => s.push?.function !== undefined;
  await convergeSubscriptions(config.subscriptions.filter((s) => !pushesToFunction(s)));

  // 4. Functions (packaged first: the package hash is the `crosslink-source` label) and invokers.
  if (config.functions.length > 0) {
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
      };
      eventTrigger?: {
        eventType?: string;
        pubsubTopic?: string;
        serviceAccountEmail?: string;
        retryPolicy?: string;
        eventFilters?: { attribute: string; value: string }[];
      };
    }
    const fns = await readJson<FnJson[]>(['functions', 'list', `--regions=${region}`, '--v2']);
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
      const ev = eventSpec(f);
      let replace = false;
      if (j && actualTrigger(j) !== triggerOf(f)) {
        note(`function ${f.name}: its trigger cannot change in place; deleting and redeploying it`);
        cmds.push(mut('functions', 'delete', f.name, `--region=${region}`));
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
          `--region=${region}`,
          '--runtime=nodejs24',
          `--source=${shown(sourceDir(f.name))}`,
          `--entry-point=${f.entryPoint}`,
          ...trigger,
          ...(f.serviceAccount ? [`--service-account=${email(f.serviceAccount)}`] : []),
          '--ingress-settings=all',
          `--memory=${memory}`,
          `--timeout=${timeout}s`,
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
        : await readOrNull<Policy>(['run', 'services', 'get-iam-policy', f.name, `--region=${region}`]);
      const held = members(p, 'roles/run.invoker');
      const wanted = invokersOf(f);
      for (const m of [...wanted].sort())
        if (!held.has(m))
          invokerCmds.push(
            mut('functions', 'add-invoker-policy-binding', f.name, `--region=${region}`, `--member=${m}`),
          );
      for (const m of [...held].sort())
        if (!wanted.has(m))
          invokerCmds.push(
            mut('functions', 'remove-invoker-policy-binding', f.name, `--region=${region}`, `--member=${m}`),
          );
    }
    await exec(invokerCmds);
    if (!o.dryRun) {
      // A function deployed just now has its URL only now.
      const after = await readJson<FnJson[]>(['functions', 'list', `--regions=${region}`, '--v2']);
      for (const j of listed(after)) if (j.url) functionUrls.set(last(j.name), j.url);
    }
  }

  // 5. Push subscriptions pointing at function URLs.
  await convergeSubscriptions(config.subscriptions.filter(pushesToFunction));

  // 6. Log sinks, then their writer identities' publisher grant on the destination topic: this
  //    project's, then each network project's copy of its sink (destination: this project's topic)
  //    and the impersonators' token-creator grants on the network project's service account.
  interface SinkJson {
    name: string;
    destination: string;
    filter?: string;
    description?: string;
    writerIdentity?: string;
  }
  async function convergeSinks(project: string, projectNumber: string, specs: LogSinkSpec[]): Promise<void> {
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
      else if (
        h.destination !== destination ||
        (h.filter ?? '') !== s.filter ||
        h.description !== description
      )
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
  await convergeSinks(P, PN, config.logSinks);
  const TOKEN_CREATOR = 'roles/iam.serviceAccountTokenCreator';
  for (const n of config.networkProjects) {
    const N = n.project;
    await convergeSinks(
      N,
      networkNumbers.get(N) as string,
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

  // 7. Workflows.
  interface WorkflowJson {
    name: string;
    sourceContents?: string;
    serviceAccount?: string;
    userEnvVars?: Record<string, string>;
    labels?: Labels;
  }
  if (config.workflows.length > 0) {
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

  // 8. Scheduler jobs.
  if (config.schedulerJobs.length > 0) {
    const jobs = await readJson<JobJson[]>(['scheduler', 'jobs', 'list', `--location=${region}`]);
    const have = new Map(listed(jobs).map((j) => [last(j.name), j]));
    const cmds: string[][] = [];
    for (const s of config.schedulerJobs) {
      const w = wantJob(s, P, region, functionUrl);
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
      cmds.push(
        mut('scheduler', 'jobs', 'update', w.kind, s.name, ...common, ...targetFlags(w, 'update', h)),
      );
    }
    await exec(cmds);
  }

  // 9. Log-based metrics (before the alert policies that read them). gcloud takes a distribution
  //    metric, labels and bucket options only as a LogMetric file (`--config-from-file`), so every
  //    metric is written to <build-dir>/log-metrics/<name>.json (in a dry run too: the printed
  //    commands then run as printed). No labels: managed = the description's mark.
  if (config.logMetrics.length > 0) {
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
        note(
          `log metric ${m.name}: its kind or value type cannot change in place; deleting and recreating it`,
        );
        cmds.push(mut('logging', 'metrics', 'delete', m.name));
      }
      cmds.push(mut('logging', 'metrics', j && kind(j) === kind(w) ? 'update' : 'create', m.name, from));
    }
    await exec(cmds);
  }

  // 10. Alert policies (server-assigned ids: matched by the `crosslink-name` user label).
  interface AlertJson {
    name: string;
    displayName?: string;
    combiner?: string;
    enabled?: boolean;
    userLabels?: Labels;
    notificationChannels?: string[];
    conditions?: { displayName?: string; conditionThreshold?: Record<string, unknown> }[];
  }
  const alerts = ['alpha', 'monitoring', 'policies'];
  if (config.alertPolicies.length > 0) {
    const policies = await readJson<AlertJson[]>([...alerts, 'list']);
    const byName = new Map(listed(policies).map((p) => [p.userLabels?.['crosslink-name'], p]));
    const cmds: string[][] = [];
    for (const a of config.alertPolicies) {
      const w = alertPolicy(a);
      const j = byName.get(a.name);
      if (!j) {
        cmds.push(mut(...alerts, 'create', `--policy=${JSON.stringify(w)}`));
        continue;
      }
      const h = {
        displayName: j.displayName,
        combiner: j.combiner,
        enabled: j.enabled ?? false,
        userLabels: j.userLabels ?? {},
        notificationChannels: j.notificationChannels ?? [],
        conditions: (j.conditions ?? []).map((c) => {
          // Only the fields this script sets (the API adds defaults and drops a zero threshold).
          const t = c.conditionThreshold ?? {};
          return {
            displayName: c.displayName,
            conditionThreshold: {
              filter: t.filter,
              comparison: t.comparison,
              thresholdValue: t.thresholdValue ?? 0,
              duration: t.duration,
              aggregations: t.aggregations,
            },
          };
        }),
      };
      if (!same(h, w)) cmds.push(mut(...alerts, 'update', j.name, `--policy=${JSON.stringify(w)}`));
    }
    await exec(cmds);
  }

  // 11. Prune: what this script manages and the file no longer lists, dependents first.
  if (o.prune) {
    const names = (list: { name: string }[]) => new Set(list.map((x) => x.name));
    const cmds: string[][] = [];
    // [list command, names gcp.yml keeps, is it ours, its delete command]
    type Listed = { name: string; labels?: Labels; userLabels?: Labels; description?: string };
    const kinds: [
      string[],
      Set<string>,
      (x: Listed) => string,
      (x: Listed) => boolean,
      (n: string) => string[],
    ][] = [
      [
        [...alerts, 'list'],
        new Set(config.alertPolicies.map((a) => a.name)),
        (x) => x.userLabels?.['crosslink-name'] ?? '',
        (x) => isManaged(x.userLabels),
        (n) => [...alerts, 'delete', n],
      ],
      [
        ['logging', 'metrics', 'list'],
        names(config.logMetrics),
        (x) => last(x.name),
        (x) => isMarked(x.description),
        (n) => ['logging', 'metrics', 'delete', last(n)],
      ],
      [
        ['scheduler', 'jobs', 'list', `--location=${region}`],
        names(config.schedulerJobs),
        (x) => last(x.name),
        (x) => isMarked(x.description),
        (n) => ['scheduler', 'jobs', 'delete', last(n), `--location=${region}`],
      ],
      [
        ['workflows', 'list', `--location=${region}`],
        names(config.workflows),
        (x) => last(x.name),
        (x) => isManaged(x.labels),
        (n) => ['workflows', 'delete', last(n), `--location=${region}`],
      ],
      [
        ['logging', 'sinks', 'list'],
        names(config.logSinks),
        (x) => x.name,
        (x) => isMarked(x.description),
        (n) => ['logging', 'sinks', 'delete', n],
      ],
      [
        ['pubsub', 'subscriptions', 'list'],
        names(config.subscriptions),
        (x) => last(x.name),
        (x) => isManaged(x.labels),
        (n) => ['pubsub', 'subscriptions', 'delete', last(n)],
      ],
      [
        ['functions', 'list', `--regions=${region}`, '--v2'],
        names(config.functions),
        (x) => last(x.name),
        (x) => isManaged(x.labels),
        (n) => ['functions', 'delete', last(n), `--region=${region}`],
      ],
      [
        ['pubsub', 'topics', 'list'],
        names(config.topics),
        (x) => last(x.name),
        (x) => isManaged(x.labels),
        (n) => ['pubsub', 'topics', 'delete', last(n)],
      ],
    ];
    for (const [list, keep, key, ours, remove] of kinds)
      for (const x of listed(await readJson<Listed[]>(list)))
        if (ours(x) && !keep.has(key(x))) cmds.push(mut(...remove(x.name)));
    // A listed network project's sinks crosslink made and no longer wants (a project dropped from
    // networkProjects is not read at all: its sink stays, to be removed by its owners).
    for (const n of config.networkProjects)
      for (const x of listed(await readJson<Listed[]>(['logging', 'sinks', 'list'], n.project)))
        if (isMarked(x.description) && x.name !== n.logSink)
          cmds.push(['logging', 'sinks', 'delete', x.name, `--project=${n.project}`, '--quiet']);
    const accounts = await readJson<{ email: string; description?: string }[]>([
      'iam',
      'service-accounts',
      'list',
    ]);
    const accountEmails = new Set(config.serviceAccounts.map((s) => email(s.id)));
    const policy = await readJson<Policy>(['projects', 'get-iam-policy', P], false);
    for (const a of accounts ?? [])
      if (isMarked(a.description) && !accountEmails.has(a.email)) {
        const member = `serviceAccount:${a.email}`;
        for (const b of policy.bindings ?? [])
          if (b.members.includes(member)) cmds.push(projectBinding('remove', P, member, b.role, b.condition));
        cmds.push(mut('iam', 'service-accounts', 'delete', a.email));
      }
    await exec(cmds);
    // Custom roles last: the bindings that named them are gone.
    await pruneCustomRoles(iam);
  }
  return { commands };
}

function resourceBinding(
  op: 'add' | 'remove',
  group: string[],
  name: string,
  member: string,
  role: string,
): string[] {
  return [...group, `${op}-iam-policy-binding`, name, `--member=${member}`, `--role=${role}`];
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

/** The AlertPolicy JSON of one gcp.yml alert (one metric-threshold condition). */
export function alertPolicy(a: AlertPolicySpec) {
  const comparison = a.comparison ?? 'COMPARISON_GT';
  return {
    displayName: a.displayName,
    combiner: 'OR',
    enabled: true,
    userLabels: { 'crosslink-name': a.name, [MANAGED_LABEL]: 'true' },
    notificationChannels: a.notificationChannels ?? [],
    conditions: [
      {
        displayName: `${comparison === 'COMPARISON_GT' ? 'above' : 'below'} ${a.threshold}`,
        conditionThreshold: {
          filter: a.filter,
          comparison,
          thresholdValue: a.threshold,
          duration: seconds(a.duration ?? '60s'),
          aggregations: [
            {
              alignmentPeriod: seconds(a.aggregation?.alignmentPeriod ?? '60s'),
              perSeriesAligner: a.aggregation?.perSeriesAligner ?? 'ALIGN_MAX',
            },
          ],
        },
      },
    ],
  };
}
