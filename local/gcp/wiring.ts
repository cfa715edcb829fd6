/**
 * Google's event plumbing of the local cloud, wired from gcp.yml (docs/google-plumbing.md):
 * functions hosted under functions-framework behind the edge's IAM check (functions-host.ts),
 * topics and subscriptions on the real Pub/Sub emulator with push delivered by the signing push
 * proxy (retry policy and dead-lettering in wall-clock time), Cloud Scheduler jobs on the virtual
 * clock (scheduler.ts), workflows deployed to the Executions API mounted on the edge, and log sinks
 * that publish the edge's Admin Activity audit entries (audit-log.ts) matching their filter
 * (log-filter.ts) to their topic. `reload()` re-reads gcp.yml and applies the difference; with
 * `watch`, a change to gcp.yml or to a function's files reloads by itself. Topics and
 * subscriptions reach the emulator through wiring/pubsub.ts.
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { ValidationError } from '#core/errors.ts';
import { drExecutorRegionIssues } from '#deployment/dr-executor-region.ts';
import { type GcpConfig, loadGcpConfig, serviceAccountEmail } from '#deployment/gcp-config.ts';
import { substituteAwsPublishers, substituteFunctionVariables } from '#deployment/gcp-config-substitute.ts';
import type { VirtualClock } from '#local/clock.ts';
import type { ProcessGroup } from '#local/processes.ts';
import { defaultIsInternalUrl, fetchHttp, viaLocalGoogleEdge } from '#local/workflows/ports.ts';
import type { AuditLogEntry } from './audit-log.ts';
import type { Emulators } from './emulators.ts';
import { FunctionHosts, type InstanceStart } from './functions-host.ts';
import { configPolicy, networkProjectCustomRoles } from './iam/grants.ts';
import type { GcpLocal } from './index.ts';
import { type LogFilter, LogFilterError, matchesLogFilter, parseLogFilter } from './log-filter.ts';
import type { PushProxy } from './push-proxy.ts';
import { Scheduler } from './scheduler.ts';
import { schedulerApi } from './scheduler-api.ts';
import { PlumbingError, PubsubTopology } from './wiring/pubsub.ts';
import { WorkflowsService } from './workflows-api.ts';

export interface GooglePlumbingOptions {
  /** Path of gcp.yml. */
  configFile: string;
  gcp: GcpLocal;
  clock: VirtualClock;
  processes: ProcessGroup;
  /** The emulators' hosts (the function processes reach them through their fronts). */
  emulators: Emulators | null;
  /**
   * The push proxy, or its start: it starts once the Pub/Sub emulator answers, and the topics and
   * subscriptions are applied after it. The functions start meanwhile.
   */
  pushProxy: PushProxy | null | Promise<PushProxy | null>;
  /** Node's compile cache for the function processes (functions-host.ts). */
  compileCache?: string;
  /** When a function's instance starts (functions-host.ts `InstanceStart`; default `deploy`). */
  functionInstances?: InstanceStart;
  /**
   * Environment a test or the local estate gives every function over gcp.yml's `environment`
   * (e.g. short approval deadlines; the estate's network projects). Resolved before the functions
   * start.
   */
  functionEnvironment?: () => Promise<Record<string, string>> | Record<string, string>;
  /**
   * The deploying environment's variables, the values of gcp.yml's `${env:NAME}` (as
   * scripts/deploy-gcp takes them from its own environment): CROSSLINK_AWS_RELAY_URL (the local
   * AWS half's relay route), CROSSLINK_PEER_PUBLIC_KEY_PEM / CROSSLINK_PEER_KEY_ID (its sealing
   * key). A push subscription whose variable is not given is not created (logged: its push target
   * is not in this local cloud); a function whose variable is not given is refused, as the deploy
   * refuses it.
   */
  variables?: () => Promise<Record<string, string>> | Record<string, string>;
  /** Reload when gcp.yml or a function's files change (default false; `npm start` turns it on). */
  watch?: boolean;
  log?: (message: string) => void;
}

interface Sink {
  name: string;
  /** The project whose log the sink reads (a project sink sees its own project's entries only). */
  project: string;
  topic: string;
  filter: LogFilter;
  published: number;
}

export class GooglePlumbing {
  readonly functions: FunctionHosts;
  readonly scheduler: Scheduler;
  readonly #o: GooglePlumbingOptions;
  readonly #log: (m: string) => void;
  readonly #workflows = new Map<string, WorkflowsService>();
  readonly #workflowAccounts = new Map<string, string>();
  readonly #pubsub: PubsubTopology;
  readonly #appliedFunctions = new Map<string, string>();
  readonly #unsubscribe: (() => void)[] = [];
  readonly #watchers: FSWatcher[] = [];
  readonly #sinkPublishes = new Set<Promise<void>>();
  #sinks: Sink[] = [];
  #config: GcpConfig | undefined;
  #reloading: Promise<void> = Promise.resolve();
  #reloadTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #reloads = 0;
  #functionEnv: Record<string, string> = {};

  constructor(options: GooglePlumbingOptions) {
    this.#o = options;
    this.#log = options.log ?? (() => {});
    const { gcp } = options;
    this.functions = new FunctionHosts({
      processes: options.processes,
      clock: options.clock,
      auth: gcp.auth,
      project: gcp.project,
      region: gcp.region,
      edgeUrl: () => gcp.endpoint,
      env: () => ({
        CROSSLINK_GCP_ENDPOINT: gcp.endpoint,
        ...this.#functionEnv,
      }),
      emulators: () => ({
        firestoreHost: options.emulators?.firestoreHost ?? null,
        pubsubHost: options.emulators?.pubsubHost ?? null,
      }),
      iam: gcp.iam,
      log: this.#log,
      ...(options.compileCache ? { compileCache: options.compileCache } : {}),
      ...(options.functionInstances ? { instances: options.functionInstances } : {}),
    });
    this.scheduler = new Scheduler({
      clock: options.clock,
      auth: gcp.auth,
      project: gcp.project,
      region: gcp.region,
      edgeUrl: () => gcp.endpoint,
      pubsubHost: () => options.emulators?.pubsubHost ?? null,
      functionUrl: (name) => this.functions.url(name),
      log: this.#log,
    });
    this.#unsubscribe.push(gcp.edge.mount(this.functions.handler()));
    this.#unsubscribe.push(gcp.edge.mount((req, res) => this.#routeWorkflows(req, res)));
    this.#unsubscribe.push(
      gcp.edge.mount(
        schedulerApi({
          project: gcp.project,
          region: gcp.region,
          auth: gcp.auth,
          iam: gcp.iam,
          scheduler: this.scheduler,
        }),
      ),
    );
    this.#pubsub = new PubsubTopology({
      project: gcp.project,
      pushProxy: options.pushProxy,
      ...(options.variables ? { variables: options.variables } : {}),
      functionUrl: (name) => this.functions.url(name),
      log: this.#log,
    });
    this.#unsubscribe.push(gcp.auditLog.subscribe((e) => this.#sink(e)));
  }

  /** Loads gcp.yml and wires everything it declares. */
  static async start(options: GooglePlumbingOptions): Promise<GooglePlumbing> {
    const plumbing = new GooglePlumbing(options);
    try {
      await plumbing.#apply(loadGcpConfig(options.configFile));
      if (options.watch) plumbing.#watch();
    } catch (err) {
      await plumbing.stop();
      throw err;
    }
    return plumbing;
  }

  get config(): GcpConfig {
    if (!this.#config) throw new Error('gcp.yml is not loaded');
    return this.#config;
  }

  /** How many reloads applied so far. */
  get reloads(): number {
    return this.#reloads;
  }

  /** The Executions API of a deployed workflow (tests, `sim`). */
  workflow(name: string): WorkflowsService | undefined {
    return this.#workflows.get(name);
  }

  /** What each sink has published so far. */
  sinks(): { name: string; project: string; topic: string; published: number }[] {
    return this.#sinks.map(({ name, project, topic, published }) => ({ name, project, topic, published }));
  }

  /** Resolves when every sink publish started so far is done (tests). */
  async idle(): Promise<void> {
    while (this.#sinkPublishes.size > 0) await Promise.allSettled([...this.#sinkPublishes]);
    await this.scheduler.idle();
  }

  /**
   * Re-reads gcp.yml and applies the difference; functions whose spec or package (rebuilt when a
   * source it bundles changed) changed restart. An invalid file changes nothing and rejects with
   * its problems.
   */
  reload(): Promise<void> {
    const next = this.#reloading.then(async () => {
      if (this.#stopped) return;
      await this.#apply(loadGcpConfig(this.#o.configFile));
      this.#reloads++;
      if (this.#o.watch && !this.#stopped) this.#watch(); // the sources may be other files now
    });
    this.#reloading = next.catch(() => undefined);
    return next;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reloadTimer);
    for (const w of this.#watchers) w.close();
    this.#watchers.length = 0;
    await this.#reloading;
    this.scheduler.clear();
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe.length = 0;
    await Promise.allSettled([...this.#sinkPublishes]);
    await this.functions.stopAll();
  }

  async #apply(written: GcpConfig): Promise<void> {
    const { gcp } = this.#o;
    const variables = this.#o.variables ? await this.#o.variables() : {};
    let config: GcpConfig;
    try {
      config = substituteFunctionVariables(written, variables);
    } catch (err) {
      // A missing value is the caller's input, reported one problem each (npm start: exit 2).
      if (err instanceof ValidationError) throw err;
      throw new PlumbingError((err as Error).message);
    }
    // Everything that can be refused is checked before anything changes: first Google's DR executor
    // placed in the region its plan refuses (deployment/dr-executor-region.ts), as scripts/deploy-gcp.
    const misplaced = drExecutorRegionIssues(config, gcp.region);
    if (misplaced.length > 0) throw new ValidationError(misplaced, written.file ?? 'gcp.yml');
    const policy = this.#policy(config, variables);
    // The hub's sinks, then each network project's copy of its sink (feeding the hub's topic).
    const placed = [
      ...config.logSinks.map((s) => ({ spec: s, project: gcp.project })),
      ...config.networkProjects.flatMap((n) =>
        config.logSinks.filter((s) => s.name === n.logSink).map((s) => ({ spec: s, project: n.project })),
      ),
    ];
    const sinks = placed.map(({ spec: s, project }) => {
      try {
        return { name: s.name, project, topic: s.topic, filter: parseLogFilter(s.filter), published: 0 };
      } catch (err) {
        if (err instanceof LogFilterError) throw new PlumbingError(`log sink ${s.name}: ${err.message}`);
        throw err;
      }
    });
    // Log-based metrics are not evaluated locally (function output is not a Cloud Logging store
    // here), but a filter the local query language refuses is refused now, as for sinks.
    for (const m of config.logMetrics) {
      try {
        parseLogFilter(m.filter);
      } catch (err) {
        if (err instanceof LogFilterError) throw new PlumbingError(`log metric ${m.name}: ${err.message}`);
        throw err;
      }
    }
    for (const f of config.functions) {
      if (
        f.trigger.eventarc &&
        f.trigger.eventarc.eventType !== 'google.cloud.pubsub.topic.v1.messagePublished'
      ) {
        throw new PlumbingError(
          `function ${f.name}: the local cloud supports Pub/Sub triggers only (eventType google.cloud.pubsub.topic.v1.messagePublished or trigger.topic), not ${f.trigger.eventarc.eventType}`,
        );
      }
      if (f.trigger.eventarc)
        throw new PlumbingError(`function ${f.name}: write a Pub/Sub trigger as trigger.topic`);
    }
    const needsPubsub =
      config.topics.length + config.subscriptions.length + config.logSinks.length > 0 ||
      config.functions.some((f) => f.trigger.topic) ||
      config.schedulerJobs.some((j) => j.pubsub);
    const host = this.#o.emulators?.pubsubHost;
    if (needsPubsub && !host) {
      throw new PlumbingError(
        `${config.file ?? 'gcp.yml'} declares Pub/Sub resources: start the local cloud with the emulators (startLocalCloud({emulators: true}))`,
      );
    }
    // Every package is built (only what changed) before anything stops: a source that does not
    // build leaves the running functions as they are.
    const root = config.root;
    this.functions.forgetBundles();
    const built = new Map<string, string>();
    for (const f of config.functions) {
      try {
        built.set(f.name, (await this.functions.build(f, root)).dir);
      } catch (err) {
        throw new PlumbingError(`function ${f.name}: ${(err as Error).message}`);
      }
    }
    const previous = this.#config;
    this.#config = config;
    // IAM: exactly the grants deploy-gcp makes, in place before anything runs as the accounts.
    gcp.iam.setCustomRoles({
      ...policy.customRoles,
      ...networkProjectCustomRoles(policy.customRoles, gcp.project, gcp.iam.bindings()),
    });
    gcp.iam.setBindings('gcp.yml', policy.bindings);

    if (this.#o.functionEnvironment) this.#functionEnv = await this.#o.functionEnvironment();
    // Functions first: push subscriptions deliver to them as soon as they exist.
    const wanted = new Map(config.functions.map((f) => [f.name, f]));
    for (const name of [...this.#appliedFunctions.keys()]) {
      if (!wanted.has(name)) {
        await this.functions.stop(name);
        this.#appliedFunctions.delete(name);
      }
    }
    // A function restarts when its spec or its package (its bundled sources, the policy) changed.
    await Promise.all(
      config.functions.map(async (f) => {
        const key = JSON.stringify({ f, root });
        const deployed = this.functions.deployment(f.name);
        if (this.#appliedFunctions.get(f.name) === key && deployed?.packageDir === built.get(f.name)) return;
        await this.functions.start(f, root);
        this.#appliedFunctions.set(f.name, key);
      }),
    );

    if (host) await this.#pubsub.apply(config, host);

    // Workflows: one Executions API per workflow (each runs as its own service account).
    for (const w of config.workflows) {
      const { readFile } = await import('node:fs/promises');
      const source = await readFile(resolve(root, w.source), 'utf8');
      let service = this.#workflows.get(w.name);
      if (!service) {
        service = new WorkflowsService({
          clock: this.#o.clock,
          baseUrl: gcp.endpoint,
          ports: {
            // Google API and function URLs (https://<region>-<project>.cloudfunctions.net/<name>)
            // reach the local edge, so the project's workflows run unchanged.
            http: viaLocalGoogleEdge(gcp.endpoint, fetchHttp),
            isInternalUrl: (url) => defaultIsInternalUrl(url) || url.startsWith(gcp.endpoint),
            tokens: {
              accessToken: async () =>
                gcp.auth.issueAccessToken({
                  email: this.#workflowAccounts.get(w.name) as string,
                  kind: 'service-account',
                }).token,
              idToken: async (audience) =>
                gcp.auth.mintIdToken({ email: this.#workflowAccounts.get(w.name) as string, audience }),
            },
          },
          authorize: (req, action) => {
            const r = gcp.auth.authenticate(
              typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined,
            );
            if ('reason' in r) return 'unauthenticated';
            const permission =
              action === 'callback' ? 'workflows.callbacks.send' : `workflows.executions.${action}`;
            gcp.iam.check(
              r,
              permission,
              `projects/${gcp.project}/locations/${gcp.region}/workflows/${w.name}`,
              'workflowexecutions.googleapis.com',
            );
            return true;
          },
        });
        this.#workflows.set(w.name, service);
      }
      this.#workflowAccounts.set(w.name, serviceAccountEmail(w.serviceAccount, gcp.project));
      try {
        service.deploy(gcp.project, gcp.region, w.name, source, w.env ?? {});
      } catch (err) {
        throw new PlumbingError((err as Error).message);
      }
    }
    for (const name of [...this.#workflows.keys()]) {
      if (!config.workflows.some((w) => w.name === name)) this.#workflows.delete(name);
    }

    this.scheduler.set(config.schedulerJobs);
    this.#sinks = sinks;
    if (previous) this.#log(`gcp.yml reloaded (${config.file})`);
  }

  #sink(entry: AuditLogEntry): void {
    const host = this.#o.emulators?.pubsubHost;
    if (!host) return;
    const project = /^projects\/([^/]+)\//.exec(entry.logName)?.[1];
    for (const sink of this.#sinks) {
      if (sink.project !== project || !matchesLogFilter(sink.filter, entry)) continue;
      const url = `http://${host}/v1/projects/${this.#o.gcp.project}/topics/${sink.topic}:publish`;
      const p = fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          messages: [
            {
              data: Buffer.from(JSON.stringify(entry)).toString('base64'),
              attributes: { 'logging.googleapis.com/timestamp': entry.timestamp },
            },
          ],
        }),
        signal: AbortSignal.timeout(30_000),
      })
        .then(async (res) => {
          if (res.ok) sink.published++;
          else
            this.#log(
              `log sink ${sink.name}: publish to ${sink.topic} failed: ${res.status} ${await res.text()}`,
            );
        })
        .catch((err: unknown) => this.#log(`log sink ${sink.name}: ${(err as Error).message}`))
        .finally(() => this.#sinkPublishes.delete(p));
      this.#sinkPublishes.add(p);
    }
  }

  /**
   * gcp.yml's allow policies in the hub project. An `awsPublishers` role whose variable is not
   * given (no AWS half in this local cloud) grants nothing: there is no relay to publish.
   */
  #policy(config: GcpConfig, variables: Record<string, string>) {
    const { gcp } = this.#o;
    const given = {
      ...config,
      topics: config.topics.map((t) => {
        if (!t.awsPublishers) return t;
        const kept = t.awsPublishers.filter((p) => {
          const name = /^\$\{env:([A-Za-z0-9_]+)\}$/.exec(p.role)?.[1];
          return name === undefined || (variables[name] ?? '') !== '';
        });
        if (kept.length < t.awsPublishers.length)
          this.#log(`gcp.yml: topic ${t.name}: an AWS publisher's role is not given; it is not granted`);
        return { ...t, awsPublishers: kept };
      }),
    };
    let resolved: GcpConfig;
    try {
      resolved = substituteAwsPublishers(given, variables);
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      throw new PlumbingError((err as Error).message);
    }
    return configPolicy(resolved, gcp.project, gcp.iam.projectNumber(gcp.project), gcp.region);
  }

  #routeWorkflows(
    req: Parameters<WorkflowsService['handle']>[0],
    res: Parameters<WorkflowsService['handle']>[1],
  ) {
    const m = /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/workflows\/([^/:?]+)\/executions/.exec(
      req.url ?? '',
    );
    if (!m) return false;
    const service = this.#workflows.get(m[1] as string);
    if (!service) return false;
    return service.handle(req, res);
  }

  /**
   * Watches gcp.yml and the files the functions' packages were built from (the build records
   * them), each directory without recursion: a recursive watch of gcp.yml's directory would walk
   * node_modules (about a second, blocking) and fire on every build output and log written there.
   * Called again after each reload, since the sources may have changed.
   */
  #watch(): void {
    for (const w of this.#watchers) w.close();
    this.#watchers.length = 0;
    const config = this.config;
    const files = new Set<string>();
    if (config.file) files.add(resolve(config.file));
    for (const f of this.functions.deployments())
      for (const input of f.inputs) files.add(resolve(config.root, input));
    const byDir = new Map<string, Set<string>>();
    for (const file of files) {
      const names = byDir.get(dirname(file)) ?? new Set<string>();
      names.add(basename(file));
      byDir.set(dirname(file), names);
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, (_event, name) => {
          if (!name || !names.has(name.toString())) return;
          clearTimeout(this.#reloadTimer);
          this.#reloadTimer = setTimeout(() => {
            this.reload().catch((err: unknown) =>
              this.#log(`gcp.yml not reloaded: ${(err as Error).message}`),
            );
          }, 300);
        });
        this.#watchers.push(w);
      } catch (err) {
        this.#log(`cannot watch ${dir}: ${(err as Error).message}`);
      }
    }
  }
}
