/**
 * Cloud Run functions of gcp.yml, locally, run as Cloud Run runs them: each from its package (the
 * directory deployment/gcp-function-build.ts makes for `gcloud functions deploy --source`, written once
 * per distinct package under `<gcp.yml dir>/.crosslink/gcp-functions/`; its npm imports resolve
 * from the repository's node_modules, standing in for the buildpack's `npm install`) by
 * functions-framework's own `functions-framework` binary, in its own child process, with only what
 * the platform gives a function:
 * - the platform's variables `K_SERVICE`, `K_REVISION`, `K_CONFIGURATION`, `PORT`,
 *   `FUNCTION_TARGET`, `FUNCTION_SIGNATURE_TYPE`, and gcp.yml's `environment`; `PATH` holds only
 *   the Node.js binary, as the runtime image has no Cloud SDK;
 * - a metadata server (`GCE_METADATA_HOST`, one per function: metadata-server.ts) answering the
 *   project id, the region and the function's service account with its access and ID tokens;
 * - pointers at the local cloud's network, which stand in for Google's: `PUBSUB_EMULATOR_HOST`,
 *   `FIRESTORE_EMULATOR_HOST` (the function's own IAM front of the emulators, emulator-front.ts,
 *   bound to its service account), `CROSSLINK_GCP_ENDPOINT` (every Google API at the local edge)
 *   and `GCE_METADATA_HOST` (docs/local-cloud-gcp.md).
 * A function is up when its port accepts connections (Cloud Run's default TCP startup probe).
 * Its `Date` follows the local cloud's virtual clock: the process starts with the preload
 * `local/virtual-date-preload.ts` and an IPC channel the host sends the clock's anchor over, and
 * a request is forwarded once the process holds the latest anchor (local/virtual-date.ts).
 *
 * Callers reach a function through the Google edge at `<edge>/<region>-<project>.cloudfunctions.net/<name>`,
 * the local form of `https://<region>-<project>.cloudfunctions.net/<name>`, in the function's own
 * region (gcp.yml `functions[].region`, else the file's): the URL of another region is 404, as
 * Google answers for a function that does not exist there, and its metadata server answers that
 * region. The edge does what Cloud Run's IAM check does before forwarding. The ID token is the one in
 * `X-Serverless-Authorization` when the request carries that header (then only that one is
 * checked, even when `Authorization` holds a valid token), else the one in `Authorization`:
 * - no token, a token that is not an ID token signed by the local Google key (JWKS), another
 *   audience than the function URL, or an expired token: 401;
 * - a valid token whose email is not among the function's invokers: 403 (`allUsers` skips the
 *   check, `allAuthenticatedUsers` takes any valid token; `user:` and `serviceAccount:` members
 *   match the token's email);
 * - otherwise the request goes to the function with the verified token's signature replaced by
 *   `SIGNATURE_REMOVED_BY_GOOGLE` in the header it came in, and the other header untouched, as Cloud
 *   Run forwards them; the handler reads the caller's email from the verified token's body.
 * Capacity: a function serves at most `maxInstances` x `concurrency` requests at once (gcp.yml;
 * Cloud Run's defaults 100 and 1); one more, past the IAM check, is answered 429 at once (Cloud Run
 * may hold it a few seconds for an instance first: refusing at once is the stricter reading).
 * An event function (Pub/Sub or Eventarc trigger) with `retry: false` (the default, as on Google)
 * has its failures acknowledged: the push is answered 204 whatever the function said, so Pub/Sub
 * does not redeliver.
 */
import type { ChildProcess } from 'node:child_process';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { type FunctionSpec, memberOf, serviceAccountEmail, signatureType } from '#deployment/gcp-config.ts';
import { type BuiltFunction, builtFunction } from '#deployment/gcp-function-build.ts';
import type { VirtualClock } from '#local/clock.ts';
import type { ProcessGroup } from '#local/processes.ts';
import { ProcessClockFeed } from '#local/virtual-date.ts';
import { decodeJwt, type GcpAuth, isAuthFailure } from './auth.ts';
import type { RawHandler } from './edge.ts';
import { EmulatorFront } from './emulator-front.ts';
import { accepting, frameworkBinary, freePort, stopChild, stopInstance } from './function-process.ts';
import type { GcpIam } from './iam/policy.ts';
import { MetadataServer } from './metadata-server.ts';

/** Starts of a function whose port another process took before it listened. */
const PORT_ATTEMPTS = 3;
const START_TIMEOUT_MS = 30_000;
/** Makes a function process's `Date` follow the anchor its host sends (virtual-date.ts). */
const CLOCK_PRELOAD = pathToFileURL(join(import.meta.dirname, '..', 'virtual-date-preload.ts')).href;
/** Lines of a function's output kept (as many as a Lambda's: tests read whole flows from it). */
const OUTPUT_LINES = 10_000;

/**
 * When a deployed function's instance starts: `deploy`, as it is deployed (its deploy ends once
 * the instance listens, and the instance stays); `request`, at the first request that reaches it,
 * which waits for the instance's cold start (Cloud Run's default, `minInstances` 0). Either way the
 * instance then stays until the function is redeployed or removed or the local cloud stops (Cloud
 * Run keeps an idle instance a while, and may stop it; stopping none is within that).
 */
export type InstanceStart = 'deploy' | 'request';

/** A function as deployed, whether or not an instance of it runs. */
export interface DeployedFunction {
  spec: FunctionSpec;
  signatureType: 'http' | 'cloudevent';
  /** The URL callers use (and the ID token audience). */
  url: string;
  /** The package directory it runs from (the deploy's `--source`). */
  packageDir: string;
  /** The source files its package was built from, relative to gcp.yml's directory. */
  inputs: string[];
  /**
   * Requests being served now (one waiting for its instance's cold start included), the most
   * served at once, and those refused at capacity (429).
   */
  load: { inFlight: number; peak: number; refused: number };
}

interface Deployment extends DeployedFunction {
  built: BuiltFunction;
  revision: number;
  /** Its service account's email (the identity its metadata server answers). */
  email: string | undefined;
  /** Its instance's start while one is under way, or once it has started. */
  starting: Promise<HostedFunction> | undefined;
}

/** A function's running instance, with what it was deployed as. */
export interface HostedFunction extends DeployedFunction {
  /** The private port of the functions-framework server. */
  port: number;
  /** The environment the function's process got (the platform's, gcp.yml's, the local network's). */
  environment: Record<string, string>;
  child: ChildProcess;
  /** Feeds the virtual clock to the process. */
  clock: ProcessClockFeed;
  metadata: MetadataServer;
  /** Its IAM front of the emulators (none when no emulator runs). */
  emulatorFront: EmulatorFront | undefined;
  /** What the function wrote on stdout / stderr (the last OUTPUT_LINES lines). */
  output: string[];
}

/** Cloud Run's defaults for a function: 100 instances, one request each. */
export const DEFAULT_MAX_INSTANCES = 100;
export const DEFAULT_CONCURRENCY = 1;

/** Requests a function serves at once: its maximum instances times each one's concurrency. */
export function capacityOf(spec: FunctionSpec): number {
  return (spec.maxInstances ?? DEFAULT_MAX_INSTANCES) * (spec.concurrency ?? DEFAULT_CONCURRENCY);
}

export interface FunctionHostsOptions {
  processes: ProcessGroup;
  /** The local cloud's clock, which the functions' `Date` follows. */
  clock: VirtualClock;
  auth: GcpAuth;
  project: string;
  /** The region of a function that does not name its own (gcp.yml's `region`). */
  region: string;
  /** The edge's base URL (known once it listens). */
  edgeUrl: () => string;
  /**
   * What points a function's clients at the local cloud's network (the edge), and environment a
   * test or the local estate adds beside gcp.yml's (which it overrides).
   */
  env: () => Record<string, string>;
  /** The emulators (`host:port`, null when one does not run), which each function reaches through its IAM front. */
  emulators: () => { firestoreHost: string | null; pubsubHost: string | null };
  /** The IAM its front checks the function's emulator calls against. */
  iam: GcpIam;
  log: (message: string) => void;
  /** When a function's instance starts (default `deploy`). */
  instances?: InstanceStart;
  /**
   * Node's compile cache for the function processes (`NODE_COMPILE_CACHE`; none when undefined):
   * the modules they load (the Google client libraries above all), compiled once and read back at
   * the next start. Node keys each entry by its source's hash and its own version.
   */
  compileCache?: string;
}

export class FunctionStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FunctionStartError';
  }
}

/** A function's URL in the cloud (2nd gen functions answer on it too). */
export function cloudFunctionUrl(region: string, project: string, name: string): string {
  return `https://${region}-${project}.cloudfunctions.net/${name}`;
}

/** The local URL of a function. */
export function functionUrl(edgeUrl: string, region: string, project: string, name: string): string {
  return `${edgeUrl}/${region}-${project}.cloudfunctions.net/${name}`;
}

export class FunctionHosts {
  readonly #o: FunctionHostsOptions;
  /** Each function deployed, by name. */
  readonly #deployed = new Map<string, Deployment>();
  /** Each function's running instance, by name. */
  readonly #hosted = new Map<string, HostedFunction>();
  readonly #bundles: NonNullable<Parameters<typeof builtFunction>[3]> = new Map();
  #revisions = new Map<string, number>();
  /** Each function's region, as last started. */
  readonly #placed = new Map<string, string>();

  constructor(options: FunctionHostsOptions) {
    this.#o = options;
  }

  /** Where `spec` runs: its own region, else the default. */
  regionOf(spec: FunctionSpec): string {
    return spec.region ?? this.#o.region;
  }

  url(name: string): string {
    return functionUrl(this.#o.edgeUrl(), this.#placed.get(name) ?? this.#o.region, this.#o.project, name);
  }

  get(name: string): HostedFunction | undefined {
    return this.#hosted.get(name);
  }

  /** The functions whose instance runs (with instances started on request, those a request has reached). */
  list(): HostedFunction[] {
    return [...this.#hosted.values()];
  }

  /** A function as deployed, whether or not an instance of it runs. */
  deployment(name: string): DeployedFunction | undefined {
    return this.#deployed.get(name);
  }

  /** Every function deployed, whether or not an instance of it runs. */
  deployments(): DeployedFunction[] {
    return [...this.#deployed.values()];
  }

  /** Forgets bundles made so far (their sources may have changed): the next start rebuilds what changed. */
  forgetBundles(): void {
    this.#bundles.clear();
  }

  /** The package of a function of gcp.yml in `root`, built when its inputs changed. */
  build(spec: FunctionSpec, root: string): Promise<BuiltFunction> {
    return builtFunction(root, spec, join(root, '.crosslink', 'gcp-functions'), this.#bundles);
  }

  /**
   * Builds (when its inputs changed) and deploys (or redeploys) a function from gcp.yml in `root`
   * (whose `source` paths it resolves). With instances started at deploy (the default), resolves
   * once its instance listens; with instances started on request, once it is deployed (undefined:
   * no instance runs until a request reaches it).
   */
  async start(spec: FunctionSpec, root: string): Promise<HostedFunction | undefined> {
    const built = await this.build(spec, root);
    await this.stop(spec.name);
    this.#placed.set(spec.name, this.regionOf(spec));
    const revision = (this.#revisions.get(spec.name) ?? 0) + 1;
    this.#revisions.set(spec.name, revision);
    const email = spec.serviceAccount ? serviceAccountEmail(spec.serviceAccount, this.#o.project) : undefined;
    if (email) await this.#o.auth.addServiceAccount(email);
    const d: Deployment = {
      spec,
      signatureType: signatureType(spec),
      url: this.url(spec.name),
      packageDir: built.dir,
      inputs: built.inputs,
      load: { inFlight: 0, peak: 0, refused: 0 },
      built,
      revision,
      email,
      starting: undefined,
    };
    this.#deployed.set(spec.name, d);
    if (this.#o.instances === 'request') {
      this.#o.log(
        `functions: ${spec.name} (${d.signatureType}) at ${d.url}${built.built ? ' (built)' : ''}; an instance starts at its first request`,
      );
      return undefined;
    }
    return this.#instance(d);
  }

  /**
   * The deployment's instance: the running one, the one starting, or one started now. A start
   * that fails is forgotten, so the next request starts another (as Cloud Run does).
   */
  #instance(d: Deployment): Promise<HostedFunction> {
    const running = this.#hosted.get(d.spec.name);
    if (running) return Promise.resolve(running);
    if (d.starting) return d.starting;
    const t0 = performance.now();
    const starting = this.#launch(d).then(async (hosted) => {
      if (this.#deployed.get(d.spec.name) !== d) {
        // Redeployed or removed while it started: this instance serves nothing.
        await stopInstance(hosted);
        throw new FunctionStartError(
          `function ${d.spec.name} was redeployed or removed while its instance started`,
        );
      }
      this.#hosted.set(d.spec.name, hosted);
      this.#o.log(
        this.#o.instances === 'request'
          ? `functions: ${d.spec.name} instance started for a request in ${Math.round(performance.now() - t0)} ms`
          : `functions: ${d.spec.name} (${hosted.signatureType}) at ${hosted.url}${d.built.built ? ' (built)' : ''}`,
      );
      return hosted;
    });
    d.starting = starting;
    starting.catch(() => {
      if (d.starting === starting) d.starting = undefined;
    });
    return starting;
  }

  /** Starts an instance of the deployment: its metadata server, its emulators' front, its process. */
  async #launch(d: Deployment): Promise<HostedFunction> {
    const { spec, built, revision, email } = d;
    const metadata = new MetadataServer({
      auth: this.#o.auth,
      project: this.#o.project,
      region: this.regionOf(spec),
      serviceAccount: email,
    });
    await metadata.listen();
    const { firestoreHost, pubsubHost } = this.#o.emulators();
    let front: EmulatorFront | undefined;
    if (firestoreHost || pubsubHost) {
      front = new EmulatorFront({
        firestoreHost,
        pubsubHost,
        auth: this.#o.auth,
        iam: this.#o.iam,
        serviceAccount: metadata.serviceAccount,
      });
      try {
        await front.start();
      } catch (err) {
        await metadata.close();
        throw err;
      }
    }
    const closeAll = async () => {
      await metadata.close();
      await front?.stop();
    };
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const environment: Record<string, string> = {
        ...spec.environment,
        ...this.#o.env(),
        ...(front && pubsubHost ? { PUBSUB_EMULATOR_HOST: front.host } : {}),
        ...(front && firestoreHost ? { FIRESTORE_EMULATOR_HOST: front.host } : {}),
        GCE_METADATA_HOST: metadata.host,
        // The runtime image's PATH holds Node.js and no Cloud SDK: google-auth-library must not ask
        // this machine's gcloud for a project (it asks the metadata server instead).
        PATH: dirname(process.execPath),
        K_SERVICE: spec.name,
        K_REVISION: `${spec.name}-${String(revision).padStart(5, '0')}`,
        K_CONFIGURATION: spec.name,
        PORT: String(port),
        FUNCTION_TARGET: spec.entryPoint,
        FUNCTION_SIGNATURE_TYPE: signatureType(spec),
      };
      let child: ChildProcess;
      try {
        child = this.#o.processes.spawn(
          process.execPath,
          ['--import', CLOCK_PRELOAD, frameworkBinary(built.dir)],
          {
            cwd: built.dir,
            // The compile cache is read by Node as it starts, then removed from the function's
            // environment by the preload.
            env: {
              ...environment,
              ...(this.#o.compileCache ? { NODE_COMPILE_CACHE: this.#o.compileCache } : {}),
            },
            stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
          },
        );
      } catch (err) {
        await closeAll();
        throw err;
      }
      const output: string[] = [];
      const keep = (line: string) => {
        output.push(line);
        if (output.length > OUTPUT_LINES) output.shift();
      };
      createInterface({ input: child.stderr! }).on('line', keep);
      // The framework's own line once its server is bound: the port that accepts is the child's, not
      // another process's that took the port between freePort() and the child's listen. (It prints
      // it unless NODE_ENV is production, which nothing here sets.)
      let announce: () => void = () => {};
      const announced = new Promise<void>((ok) => {
        announce = ok;
      });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        keep(line);
        if (line === `URL: http://localhost:${port}/`) announce();
      });
      let timer: NodeJS.Timeout | undefined;
      const stopped = new Promise<never>((_, fail) => {
        timer = setTimeout(() => {
          fail(
            new FunctionStartError(`function ${spec.name} did not start within 30 s: ${output.join(' | ')}`),
          );
        }, START_TIMEOUT_MS);
        child.once('exit', (code, signal) => {
          // Its output may still be arriving: the last lines say why it stopped.
          setTimeout(
            () =>
              fail(
                new FunctionStartError(
                  `function ${spec.name} (${spec.source}, entry point ${spec.entryPoint}) exited ${signal ?? code} before serving: ${output.slice(-5).join(' | ')}`,
                ),
              ),
            50,
          );
        });
      });
      stopped.catch(() => undefined);
      const clock = new ProcessClockFeed(child, this.#o.clock);
      try {
        await Promise.race([announced, stopped]);
        await accepting(port, stopped);
        await Promise.race([clock.synced(), stopped]);
      } catch (err) {
        clock.close();
        await stopChild(child);
        // Another process took the port between freePort() and the child's listen: a new port.
        if (attempt < PORT_ATTEMPTS && output.some((l) => l.includes('EADDRINUSE'))) continue;
        await closeAll();
        throw err;
      } finally {
        clearTimeout(timer);
      }
      const hosted: HostedFunction = {
        spec,
        signatureType: signatureType(spec),
        url: d.url,
        port,
        packageDir: built.dir,
        inputs: built.inputs,
        environment,
        child,
        clock,
        metadata,
        emulatorFront: front,
        output,
        load: d.load,
      };
      return hosted;
    }
  }

  /** Removes the function: its deployment, and its instance (once one starting has started). */
  async stop(name: string): Promise<void> {
    const d = this.#deployed.get(name);
    this.#deployed.delete(name);
    await d?.starting?.catch(() => undefined);
    const h = this.#hosted.get(name);
    if (!h) return;
    this.#hosted.delete(name);
    await stopInstance(h);
  }

  async stopAll(): Promise<void> {
    await Promise.all(
      [...new Set([...this.#deployed.keys(), ...this.#hosted.keys()])].map((n) => this.stop(n)),
    );
  }

  /** The edge's handler for function URLs: IAM check, then forward (see the file comment). */
  handler(): RawHandler {
    const host = new RegExp(
      `^/([a-z]+-[a-z]+\\d+)-${this.#o.project.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.cloudfunctions\\.net/`,
    );
    return (req, res) => {
      const url = req.url ?? '/';
      const at = host.exec(url);
      if (!at) return false;
      const rest = url.slice(at[0].length);
      const m = /^([a-z][a-z0-9-]*)(.*)$/.exec(rest);
      const found = m ? this.#deployed.get(m[1] as string) : undefined;
      // A function answers only at its own region's host.
      const hosted = found && this.regionOf(found.spec) === at[1] ? found : undefined;
      if (!m || !hosted) {
        sendText(res, 404, `Error: Page not found. The requested URL ${url} was not found on this server.`);
        req.resume();
        return true;
      }
      const tail = m[2] as string;
      const path = tail === '' || tail.startsWith('?') ? `/${tail}` : tail;
      void this.#forward(req, res, hosted, path);
      return true;
    };
  }

  async #forward(req: IncomingMessage, res: ServerResponse, hosted: Deployment, path: string): Promise<void> {
    const invokers = (hosted.spec.trigger.http?.invokers ?? []).map((m) => memberOf(m, this.#o.project));
    const trigger = hosted.spec.trigger.topic ?? hosted.spec.trigger.eventarc;
    const headers = { ...req.headers };
    if (!invokers.includes('allUsers')) {
      // Cloud Run checks X-Serverless-Authorization when the request has it, else Authorization.
      const header =
        req.headers['x-serverless-authorization'] !== undefined
          ? 'x-serverless-authorization'
          : 'authorization';
      const token = /^Bearer\s+(\S+)$/i.exec(String(req.headers[header] ?? ''))?.[1];
      // Cloud Run takes the function's URLs as audiences: the local one and the cloud form a
      // workflow or scheduler job names (https://<region>-<project>.cloudfunctions.net/<name>).
      const verify = (t: string) => {
        const local = this.#o.auth.verifyIdToken(t, hosted.url);
        if (!isAuthFailure(local) || local.message !== 'wrong audience') return local;
        return this.#o.auth.verifyIdToken(
          t,
          cloudFunctionUrl(this.regionOf(hosted.spec), this.#o.project, hosted.spec.name),
        );
      };
      const claims = token ? verify(token) : undefined;
      if (!token || !claims || isAuthFailure(claims)) {
        req.resume();
        res.setHeader('www-authenticate', 'Bearer error="invalid_token"');
        sendText(
          res,
          401,
          `Your client does not have permission to the requested URL (${claims && isAuthFailure(claims) ? `${header}: ${claims.message}` : `no ID token in ${header}`}).`,
        );
        return;
      }
      const email = String(claims.email ?? '');
      // An event function's invoker is its trigger's service account (Eventarc's push identity).
      const allowed = trigger
        ? [memberOf(`serviceAccount:${trigger.serviceAccount}`, this.#o.project)]
        : invokers;
      const ok =
        allowed.includes('allAuthenticatedUsers') ||
        allowed.some((member) => member.replace(/^(user|serviceAccount):/, '') === email);
      if (!ok) {
        req.resume();
        sendText(
          res,
          403,
          `Your client does not have permission to get URL ${hosted.url} from this server (${email} is not an invoker).`,
        );
        return;
      }
      const jwt = decodeJwt(token);
      const [head = '', body = ''] = token.split('.');
      if (jwt) headers[header] = `Bearer ${head}.${body}.SIGNATURE_REMOVED_BY_GOOGLE`;
    }
    delete headers.host;
    // Every instance it may have is busy: Cloud Run refuses the request (it does not queue it here).
    const load = hosted.load;
    if (load.inFlight >= capacityOf(hosted.spec)) {
      load.refused++;
      req.resume();
      sendText(
        res,
        429,
        'Rate exceeded. The request was aborted because there was no available instance (the maximum instances are all serving).',
      );
      return;
    }
    load.inFlight++;
    load.peak = Math.max(load.peak, load.inFlight);
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      load.inFlight--;
    };
    res.once('close', release);
    res.once('finish', release);
    // Its instance: the running one, or the one this request waits for (a cold start).
    let instance: HostedFunction;
    try {
      instance = await this.#instance(hosted);
    } catch (err) {
      this.#o.log(`functions: ${hosted.spec.name}: its instance did not start: ${(err as Error).message}`);
      req.resume();
      if (!res.headersSent)
        sendText(res, 503, `function ${hosted.spec.name} is unavailable: its instance did not start`);
      return;
    }
    // The function answers at the time its caller saw: it holds the clock's latest anchor first.
    await instance.clock.synced();
    const retry = trigger?.retry ?? false;
    const upstream = httpRequest(
      { host: '127.0.0.1', port: instance.port, method: req.method, path, headers },
      (answer) => {
        if (trigger && !retry && (answer.statusCode ?? 500) >= 300) {
          answer.resume();
          this.#o.log(
            `functions: ${hosted.spec.name} failed (${answer.statusCode}); retry is off, the event is dropped`,
          );
          res.writeHead(204).end();
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) sendText(res, 503, `function ${hosted.spec.name} is unavailable: ${err.message}`);
      else res.destroy();
    });
    req.pipe(upstream);
  }
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${text}\n`);
}
